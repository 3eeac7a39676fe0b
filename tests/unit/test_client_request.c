/* valgrind's client requests: the sequence and the request codes as
 * valgrind's own headers define them (valgrind.h, callgrind.h), and the
 * checks made on a dump's name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client_request.h"

#include <string.h>
#include <valgrind/callgrind.h>

/* The bytes a program built with valgrind.h executes: its own macro. */
__attribute__((noinline)) static void request_in_code(void)
{
	VALGRIND_DO_CLIENT_REQUEST_STMT(VG_USERREQ__RUNNING_ON_VALGRIND, 0, 0, 0, 0, 0);
}

static const uint8_t *find_sequence(const uint8_t *code, size_t n)
{
	for (size_t i = 0; i + CREQ_PREAMBLE_LEN + CREQ_MARKER_LEN <= n; i++)
		if (code[i] == 0x48 && code[i + 1] == 0xc1 && code[i + 2] == 0xc7)
			return code + i;
	return NULL;
}

static void test_sequence_is_valgrinds(void **state)
{
	(void)state;
	const uint8_t *seq = find_sequence((const uint8_t *)(uintptr_t)request_in_code, 1024); /* sanitizers add code before it */
	assert_non_null(seq);
	assert_true(creq_is_sequence(seq));
	uint8_t other[CREQ_PREAMBLE_LEN + CREQ_MARKER_LEN];
	memcpy(other, seq, sizeof other);
	other[sizeof other - 1] = 0xc9; /* xchg rcx, rcx: VALGRIND_GET_NR_CONTEXT, not a request */
	assert_false(creq_is_sequence(other));
	memcpy(other, seq, sizeof other);
	other[3] = 0x04; /* rol rdi, 4 */
	assert_false(creq_is_sequence(other));
}

static void test_codes_are_valgrinds(void **state)
{
	(void)state;
	assert_int_equal(CREQ_RUNNING_ON_VALGRIND, VG_USERREQ__RUNNING_ON_VALGRIND);
	assert_int_equal(CREQ_DISCARD_TRANSLATIONS, VG_USERREQ__DISCARD_TRANSLATIONS);
	assert_int_equal(CREQ_DUMP_STATS, VG_USERREQ__DUMP_STATS);
	assert_int_equal(CREQ_ZERO_STATS, VG_USERREQ__ZERO_STATS);
	assert_int_equal(CREQ_TOGGLE_COLLECT, VG_USERREQ__TOGGLE_COLLECT);
	assert_int_equal(CREQ_DUMP_STATS_AT, VG_USERREQ__DUMP_STATS_AT);
	assert_int_equal(CREQ_START_INSTRUMENTATION, VG_USERREQ__START_INSTRUMENTATION);
	assert_int_equal(CREQ_STOP_INSTRUMENTATION, VG_USERREQ__STOP_INSTRUMENTATION);
	/* cachegrind.h (valgrind 3.22) is VG_USERREQ_TOOL_BASE('C','G') + 0, 1. */
	assert_int_equal(CREQ_CG_START_INSTRUMENTATION, VG_USERREQ_TOOL_BASE('C', 'G'));
	assert_int_equal(CREQ_CG_STOP_INSTRUMENTATION, VG_USERREQ_TOOL_BASE('C', 'G') + 1);
}

static void test_actions(void **state)
{
	(void)state;
	assert_int_equal(creq_action_of(VG_USERREQ__RUNNING_ON_VALGRIND), CREQ_DO_NOTHING);
	assert_int_equal(creq_action_of(VG_USERREQ__DISCARD_TRANSLATIONS), CREQ_DO_DISCARD);
	assert_int_equal(creq_action_of(VG_USERREQ__DUMP_STATS), CREQ_DO_DUMP);
	assert_int_equal(creq_action_of(VG_USERREQ__DUMP_STATS_AT), CREQ_DO_DUMP);
	assert_int_equal(creq_action_of(VG_USERREQ__ZERO_STATS), CREQ_DO_ZERO);
	assert_int_equal(creq_action_of(VG_USERREQ__TOGGLE_COLLECT), CREQ_DO_TOGGLE);
	assert_int_equal(creq_action_of(VG_USERREQ__START_INSTRUMENTATION), CREQ_DO_START);
	assert_int_equal(creq_action_of(VG_USERREQ__STOP_INSTRUMENTATION), CREQ_DO_STOP);
	assert_int_equal(creq_action_of(CREQ_CG_START_INSTRUMENTATION), CREQ_DO_START);
	assert_int_equal(creq_action_of(CREQ_CG_STOP_INSTRUMENTATION), CREQ_DO_STOP);
	/* memcheck's, valgrind's own printf, a code nobody defines */
	assert_int_equal(creq_action_of(VG_USERREQ_TOOL_BASE('M', 'C')), CREQ_DO_UNKNOWN);
	assert_int_equal(creq_action_of(VG_USERREQ__PRINTF), CREQ_DO_UNKNOWN);
	assert_int_equal(creq_action_of(0), CREQ_DO_UNKNOWN);
	assert_int_equal(creq_action_of(VG_USERREQ__STOP_INSTRUMENTATION + 1), CREQ_DO_UNKNOWN);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(creq_check_name("parse", 6), CREQ_NAME_OK);
	assert_int_equal(creq_check_name("", 1), CREQ_NAME_OK);
	assert_int_equal(creq_check_name("abc", 3), CREQ_NAME_UNTERMINATED);
	assert_int_equal(creq_check_name("a\nb", 4), CREQ_NAME_CONTROL);
	assert_int_equal(creq_check_name("a\033[31m", 7), CREQ_NAME_CONTROL);
	/* Bytes past the NUL do not matter; UTF-8 is a name like any other. */
	assert_int_equal(creq_check_name("ok\0\n", 4), CREQ_NAME_OK);
	assert_int_equal(creq_check_name("caf\xc3\xa9", 6), CREQ_NAME_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence_is_valgrinds),
		cmocka_unit_test(test_codes_are_valgrinds),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
