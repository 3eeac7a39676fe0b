/* What a program reads of its maps files: prof's mappings left out, every
 * other entry kept whole, in the three formats. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cache.h"
#include "maps_view.h"

static const struct vm_range prof[] = {
	{ 0x3f0000, 0x400000 },            /* a scratch page */
	{ 0x20400000, 0x20605000 },        /* a code region, as far as it is mapped */
};

static void check(const char *name, const char *in, const char *want)
{
	char buf[2048];
	strcpy(buf, in);
	size_t len = maps_view_filter(buf, strlen(buf), name, prof, 2);
	buf[len] = '\0';
	assert_string_equal(buf, want);
}

static void test_maps(void **state)
{
	check("maps",
	      "003f0000-00400000 r-xp 00000000 00:00 0 \n"
	      "00400000-00401000 r--p 00000000 fe:00 12 /usr/bin/x\n"
	      "20400000-20605000 r-xp 00000000 00:00 0 \n"
	      "20605000-20700000 rw-p 00000000 00:00 0 \n"   /* the program's, next to it */
	      "7ffd0000-7ffd1000 rw-p 00000000 00:00 0 [stack]\n",
	      "00400000-00401000 r--p 00000000 fe:00 12 /usr/bin/x\n"
	      "20605000-20700000 rw-p 00000000 00:00 0 \n"
	      "7ffd0000-7ffd1000 rw-p 00000000 00:00 0 [stack]\n");
}

static void test_straddling_kept(void **state)
{
	/* Merged with a mapping of the program's: not prof's alone, kept. */
	check("maps", "003e0000-00400000 r-xp 00000000 00:00 0 \n",
	      "003e0000-00400000 r-xp 00000000 00:00 0 \n");
}

static void test_smaps(void **state)
{
	check("smaps",
	      "003f0000-00400000 r-xp 00000000 00:00 0 \n"
	      "Size:                 64 kB\n"
	      "VmFlags: rd ex mr mw me ac \n"
	      "00400000-00401000 r--p 00000000 fe:00 12 /usr/bin/x\n"
	      "Size:                  4 kB\n"
	      "VmFlags: rd mr mw me dw \n"
	      "20400000-20605000 r-xp 00000000 00:00 0 \n"
	      "Size:               2068 kB\n",
	      "00400000-00401000 r--p 00000000 fe:00 12 /usr/bin/x\n"
	      "Size:                  4 kB\n"
	      "VmFlags: rd mr mw me dw \n");
}

static void test_numa_maps(void **state)
{
	check("numa_maps",
	      "003f0000 default anon=1 dirty=1 N0=1 kernelpagesize_kB=4\n"
	      "00400000 default file=/usr/bin/x mapped=1 N0=1 kernelpagesize_kB=4\n"
	      "20400000 default anon=2 dirty=2 N0=2 kernelpagesize_kB=4\n",
	      "00400000 default file=/usr/bin/x mapped=1 N0=1 kernelpagesize_kB=4\n");
}

static void test_no_newline_at_end(void **state)
{
	check("maps", "00400000-00401000 r--p 00000000 fe:00 12 /usr/bin/x\n20400000-20401000 r-xp",
	      "00400000-00401000 r--p 00000000 fe:00 12 /usr/bin/x\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_straddling_kept),
		cmocka_unit_test(test_smaps),
		cmocka_unit_test(test_numa_maps),
		cmocka_unit_test(test_no_newline_at_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
