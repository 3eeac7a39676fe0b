/* libFuzzer: the recording reader on arbitrary database files. Anything may
 * be refused; nothing may crash, leak or read out of bounds. */
#include "fuzz_input.h"
#include "prof/log.h"
#include "prof/profile.h"
#include "prof/store.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_input_file(data, size, ".db");
	char err[512];
	sqlite3 *db = store_open_read(path, err, sizeof err);
	if (!db)
		return 0;
	struct profile p;
	struct profile_filter all = { 0 };
	if (store_check_state(db, path) == 0 && profile_load(db, &all, &p) == 0)
		profile_load_lines(db, &all, &p);
	profile_free(&p);
	sqlite3_close(db);
	return 0;
}
