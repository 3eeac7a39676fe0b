/* Which of the program's memory a syscall writes: the kernel's stores fail
 * at a page prof protected, so each range found here is opened before the
 * call runs (write_guard_syscall_entry). The iovecs and msghdr are read
 * from this process, as from a tracee. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "syscall_writes.h"

#define PTR(p) ((uint64_t)(uintptr_t)(p))

static void test_read_is_its_buffer(void **state)
{
	static char buf[100], other[8];
	/* past its three arguments, registers hold what the program left */
	const uint64_t args[6] = { 3, PTR(buf), sizeof buf, PTR(other), PTR(other), PTR(other) };
	struct mem_range w[8];
	size_t n = syscall_writes(getpid(), SYS_read, args, w, 8);
	assert_int_equal(n, 1);
	assert_int_equal(w[0].lo, PTR(buf));
	assert_int_equal(w[0].hi, PTR(buf) + sizeof buf);
	/* getrandom's buffer is its first argument */
	const uint64_t g[6] = { PTR(buf), 7 };
	assert_int_equal(syscall_writes(getpid(), SYS_getrandom, g, w, 8), 1);
	assert_int_equal(w[0].hi - w[0].lo, 7);
}

static void test_readv_reads_the_iovecs(void **state)
{
	static char a[10], b[3000];
	struct iovec v[2] = { { a, sizeof a }, { b, sizeof b } };
	const uint64_t args[6] = { 3, PTR(v), 2 };
	struct mem_range w[8];
	assert_int_equal(syscall_writes(getpid(), SYS_readv, args, w, 8), 2);
	assert_int_equal(w[0].lo, PTR(a));
	assert_int_equal(w[1].lo, PTR(b));
	assert_int_equal(w[1].hi, PTR(b) + sizeof b);
	/* Out of room, the last range covers the rest. */
	assert_int_equal(syscall_writes(getpid(), SYS_readv, args, w, 1), 1);
	uint64_t lo = PTR(a) < PTR(b) ? PTR(a) : PTR(b);
	uint64_t hi = PTR(a) < PTR(b) ? PTR(b) + sizeof b : PTR(a) + sizeof a;
	assert_int_equal(w[0].lo, lo);
	assert_int_equal(w[0].hi, hi);
}

static void test_recvmsg_fills_header_name_data_control(void **state)
{
	static char name[16], data[40], control[64];
	struct iovec v = { data, sizeof data };
	struct msghdr m = { .msg_name = name, .msg_namelen = sizeof name, .msg_iov = &v,
			    .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
	const uint64_t args[6] = { 3, PTR(&m), 0 };
	struct mem_range w[8];
	assert_int_equal(syscall_writes(getpid(), SYS_recvmsg, args, w, 8), 4);
	assert_int_equal(w[0].lo, PTR(&m));
	assert_int_equal(w[1].lo, PTR(name));
	assert_int_equal(w[2].lo, PTR(control));
	assert_int_equal(w[3].lo, PTR(data));
	assert_int_equal(w[3].hi, PTR(data) + sizeof data);
}

static void test_reading_calls_write_nothing(void **state)
{
	static char buf[100];
	const uint64_t args[6] = { 1, PTR(buf), sizeof buf };
	struct mem_range w[8];
	assert_int_equal(syscall_writes(getpid(), SYS_write, args, w, 8), 0);
	assert_int_equal(syscall_writes(getpid(), SYS_mprotect, args, w, 8), 0);
	/* a futex wait reads its word; its timeout is no output */
	static int word;
	const uint64_t wait[6] = { PTR(&word), 128 /* FUTEX_WAIT_PRIVATE */, 0, PTR(buf) };
	assert_int_equal(syscall_writes(getpid(), SYS_futex, wait, w, 8), 0);
	const uint64_t lock[6] = { PTR(&word), 6 /* FUTEX_LOCK_PI */ };
	assert_int_equal(syscall_writes(getpid(), SYS_futex, lock, w, 8), 1);
	assert_int_equal(w[0].lo, PTR(&word));
}

static void test_any_other_call_at_its_pointers(void **state)
{
	static struct timespec ts;
	const uint64_t args[6] = { 1 /* CLOCK_MONOTONIC */, PTR(&ts) };
	struct mem_range w[8];
	assert_int_equal(syscall_writes(getpid(), SYS_clock_gettime, args, w, 8), 1);
	assert_int_equal(w[0].lo, PTR(&ts));
	assert_true(w[0].hi >= PTR(&ts) + sizeof ts);
	/* past a call's arguments, registers hold what the program left */
	const uint64_t left[6] = { 1, PTR(&ts), PTR(&ts), PTR(&ts), PTR(&ts), PTR(&ts) };
	assert_int_equal(syscall_writes(getpid(), SYS_clock_gettime, left, w, 8), 1);
	assert_int_equal(syscall_writes(getpid(), SYS_gettid, left, w, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_is_its_buffer),
		cmocka_unit_test(test_readv_reads_the_iovecs),
		cmocka_unit_test(test_recvmsg_fills_header_name_data_control),
		cmocka_unit_test(test_reading_calls_write_nothing),
		cmocka_unit_test(test_any_other_call_at_its_pointers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
