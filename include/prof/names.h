/* The names of what ran, written into the recording at the end of record,
 * while the binaries are the ones that ran (schema 4): every executed pc's
 * function (name, demangled name, DSO, start, size), source file and line
 * where DWARF has them, the targets of executed direct jumps, the names of
 * syscalls and opcode classes. Report uses them before any binary on disk,
 * so a recording reads the same after its binaries are rebuilt or removed,
 * and on another machine. */
#ifndef PROF_NAMES_H
#define PROF_NAMES_H

#include <sqlite3.h>

struct lines_prefetch;

/* Writes them in one transaction (all or nothing); returns 0, or -1 after
 * one error line (the recording stays valid: report then symbolizes from
 * the binaries). Line tables come from lp where it opened them (lp may be
 * NULL). */
int names_write(sqlite3 *db, struct lines_prefetch *lp);

#endif
