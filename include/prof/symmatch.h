/* Matching a function name as a user types it against a symbol's name. */
#ifndef PROF_SYMMATCH_H
#define PROF_SYMMATCH_H

#include <stdbool.h>

/* Whether want names the function shown (its printed, demangled name): the
 * name itself, or the name without its parameter list, without the return
 * type a demangled template function carries ("long ns::twice<long>(long)"
 * is matched by "ns::twice<long>"), spaces ignored ("pair<long,int>"). */
bool symbol_name_matches(const char *want, const char *shown);

#endif
