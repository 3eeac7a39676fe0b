#include "prof/syscall_names.h"

#include <stdio.h>

/* Generated at build time from the kernel's asm/unistd_64.h. */
static const char *const names[] = {
#include "syscall_names.inc"
};

const char *syscall_name(long nr, char buf[24])
{
	if (nr >= 0 && (size_t)nr < sizeof names / sizeof names[0] && names[nr])
		return names[nr];
	snprintf(buf, 24, "syscall_%ld", nr);
	return buf;
}
