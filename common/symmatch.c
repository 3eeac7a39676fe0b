/* Function names as users write them: "ns::twice<long>" for the demangled
 * "long ns::twice<long>(long)". Used by report --sym-exact and annotate. */
#include "prof/symmatch.h"

#include <string.h>

/* a[0..an) equals b[0..bn) when spaces are ignored ("> >" is ">>"). */
static bool equal_ignoring_spaces(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i = 0, j = 0;
	for (;;) {
		while (i < an && a[i] == ' ')
			i++;
		while (j < bn && b[j] == ' ')
			j++;
		if (i == an || j == bn)
			return i == an && j == bn;
		if (a[i++] != b[j++])
			return false;
	}
}

/* Where the parameter list starts: the '(' matching the last ')', or the
 * end of the name when it has none (C functions). */
static size_t parameters_start(const char *s, size_t n)
{
	const char *close = memrchr(s, ')', n);
	if (!close)
		return n;
	int depth = 0;
	for (const char *p = close; p >= s; p--) {
		depth += *p == ')' ? 1 : *p == '(' ? -1 : 0;
		if (depth == 0)
			return (size_t)(p - s);
	}
	return n;
}

static bool follows_operator(const char *s, size_t i)
{
	return i >= 8 && strncmp(s + i - 8, "operator", 8) == 0;
}

/* want against s[0..n) and against each tail of it after a space outside
 * brackets (what follows a template function's return type). */
static bool matches_some_tail(const char *want, const char *s, size_t n, size_t name_end)
{
	size_t wn = strlen(want);
	if (equal_ignoring_spaces(want, wn, s, n))
		return true;
	int depth = 0;
	for (size_t i = 0; i < name_end; i++) {
		char c = s[i];
		if ((c == '<' || c == '(' || c == '[') && !follows_operator(s, i))
			depth++;
		else if ((c == '>' || c == ')' || c == ']') && depth > 0 && !follows_operator(s, i))
			depth--;
		else if (c == ' ' && depth == 0 && !follows_operator(s, i) &&
			 equal_ignoring_spaces(want, wn, s + i + 1, n - i - 1))
			return true;
	}
	return false;
}

bool symbol_name_matches(const char *want, const char *shown)
{
	size_t n = strlen(shown), name_end = parameters_start(shown, n);
	return matches_some_tail(want, shown, n, name_end) ||
	       (name_end < n && matches_some_tail(want, shown, name_end, name_end));
}
