/* tracer_lost: what costs a recording its exactness is counted per kind,
 * listed for the summary and the meta, and warned about once per kind. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracer.h"

/* Runs the events with stderr going to a file; returns what was written there. */
static char *stderr_of(struct tracer *tr)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	int saved = dup(2);
	dup2(fileno(f), 2);
	tracer_lost(tr, "counters unreadable", "process %d", 12);
	tracer_lost(tr, "a signal lost", "thread %d, signal %d", 13, 10);
	tracer_lost(tr, "counters unreadable", "process %d", 14);
	dup2(saved, 2);
	close(saved);
	static char buf[2048];
	rewind(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_counted_per_kind_and_warned_once(void **state)
{
	struct tracer tr = { 0 };
	char *list = NULL;
	assert_int_equal(tracer_lost_list(&tr, &list), 0);
	assert_null(list);
	const char *err = stderr_of(&tr);
	assert_int_equal(tracer_lost_list(&tr, &list), 3);
	assert_string_equal(list, "counters unreadable 2, a signal lost 1");
	free(list);
	/* One warning per kind, naming where it happened first. */
	assert_non_null(strstr(err, "prof: warning: counters unreadable (process 12): "));
	assert_non_null(strstr(err, "prof: warning: a signal lost (thread 13, signal 10): "));
	assert_null(strstr(err, "process 14"));
	int lines = 0;
	for (const char *s = err; *s; s++)
		lines += *s == '\n';
	assert_int_equal(lines, 2);
}

static void test_many_kinds_all_counted(void **state)
{
	struct tracer tr = { 0 };
	static const char *const kinds[] = { "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9",
					     "k10", "k11", "k12", "k13", "k14", "k15", "k16", "k17" };
	int saved = dup(2), devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2);
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		tracer_lost(&tr, kinds[i], "here");
	dup2(saved, 2);
	close(saved);
	close(devnull);
	char *list = NULL;
	assert_int_equal(tracer_lost_list(&tr, &list), 18); /* none goes uncounted */
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counted_per_kind_and_warned_once),
		cmocka_unit_test(test_many_kinds_all_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
