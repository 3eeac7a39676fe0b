/* prof: one binary, subcommands dispatched from one table. */
#include "prof/commands.h"
#include "prof/log.h"
#include "prof/util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "record", cmd_record, "run a program under ptrace and record what it executes" },
	{ "report", cmd_report, "print the hottest functions, DSOs, classes and syscalls" },
	{ "annotate", cmd_annotate, "one function's instructions with their counts and source lines" },
	{ "diff", cmd_diff, "compare two recordings function by function (a CI gate)" },
};

static void usage(FILE *out)
{
	fputs("usage: prof COMMAND [options]\n\ncommands:\n", out);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'prof COMMAND --help' describes each one.\n", out);
}

/* A report that could not be written (a full disk, /dev/full, a closed pipe
 * reader) must not exit 0: one line and exit 1, as coreutils do. */
static int check_stdout(int rc)
{
	errno = 0;
	bool flush_failed = fflush(stdout) != 0;
	int err = errno;
	if (!flush_failed && !ferror(stdout))
		return rc;
	if (rc == 0)
		log_error("write error on standard output%s%s", err ? ": " : "",
			  err ? strerror(err) : "");
	return rc ? rc : 1;
}

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* The command named name; NULL after one error line naming the likely one. */
static const struct command *find_command(const char *name)
{
	const char *names[NCOMMANDS];
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(name, commands[i].name) == 0)
			return &commands[i];
		names[i] = commands[i].name;
	}
	const char *meant = closest_name(name, names, (int)NCOMMANDS);
	if (meant)
		log_error("unknown command '%s': did you mean '%s'? (see 'prof --help')", name, meant);
	else
		log_error("unknown command '%s' (see 'prof --help')", name);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	bool help = strcmp(argv[1], "help") == 0;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || (help && argc == 2)) {
		usage(stdout);
		return check_stdout(0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("prof %s\n", PROF_VERSION);
		return check_stdout(0);
	}
	const struct command *cmd = find_command(argv[help ? 2 : 1]);
	if (!cmd)
		return 2;
	if (help) { /* prof help record = prof record --help, as git help does */
		char *args[] = { argv[2], "--help", NULL };
		return check_stdout(cmd->run(2, args));
	}
	return check_stdout(cmd->run(argc - 1, argv + 1));
}
