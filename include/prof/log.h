/* Errors and messages: one line on stderr, prefixed with "prof: ". */
#ifndef PROF_LOG_H
#define PROF_LOG_H

#include <stdbool.h>

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug messages appear only when PROF_DEBUG is set in the environment. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* PROF_DEBUG is set: worth gathering what only log_debug would print. */
bool log_debug_enabled(void);
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
