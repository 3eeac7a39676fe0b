#ifndef PROF_SYSCALL_NAMES_H
#define PROF_SYSCALL_NAMES_H
/* The x86-64 name of a syscall number; "syscall_N" style for unknown ones
 * is written into buf, which must hold 24 bytes. */
const char *syscall_name(long nr, char buf[24]);
#endif
