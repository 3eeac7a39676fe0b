/* libFuzzer targets read files: each input is written to one temporary file
 * per process, which the code under test then opens by path. */
#ifndef PROF_FUZZ_INPUT_H
#define PROF_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_path[64];

static void fuzz_input_remove(void)
{
	unlink(fuzz_path);
}

static const char *fuzz_input_file(const uint8_t *data, size_t size, const char *suffix)
{
	char *path = fuzz_path;
	if (!path[0]) {
		snprintf(path, sizeof fuzz_path, "/tmp/prof-fuzz-%d%s", (int)getpid(), suffix);
		atexit(fuzz_input_remove);
	}
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	return path;
}

#endif
