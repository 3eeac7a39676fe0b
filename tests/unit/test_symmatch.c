/* Function names as users type them (report --sym-exact, annotate). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "prof/symmatch.h"

struct name_case {
	const char *want, *shown;
	bool match;
};

static const struct name_case cases[] = {
	{ "main", "main", true },
	{ "main", "dl_main", false },
	{ "dl_main", "main", false },
	{ "ns::Widget::spin", "ns::Widget::spin(int)", true },
	{ "ns::Widget::spin(int)", "ns::Widget::spin(int)", true },
	{ "spin", "ns::Widget::spin(int)", false },
	/* a template function's demangled name starts with its return type */
	{ "ns::twice<long>", "long ns::twice<long>(long)", true },
	{ "ns::twice<long>(long)", "long ns::twice<long>(long)", true },
	{ "long ns::twice<long>(long)", "long ns::twice<long>(long)", true },
	{ "twice", "long ns::twice<long>(long)", false },
	{ "ns::twice<int>", "long ns::twice<long>(long)", false },
	{ "geometry::accumulate_pairs<long, int>",
	  "int geometry::accumulate_pairs<long, int>(long, int)", true },
	{ "geometry::accumulate_pairs<long,int>",
	  "int geometry::accumulate_pairs<long, int>(long, int)", true },
	{ "accumulate_pairs<long, int>", "int geometry::accumulate_pairs<long, int>(long, int)", false },
	{ "std::vector<int, std::allocator<int>>::push_back",
	  "std::vector<int, std::allocator<int> >::push_back(int const&)", true },
	{ "std::allocator<int> >::push_back",
	  "std::vector<int, std::allocator<int> >::push_back(int const&)", false },
	{ "operator new", "operator new(unsigned long)", true },
	{ "new", "operator new(unsigned long)", false },
	{ "ns::Cmp::operator<", "ns::Cmp::operator<(ns::Cmp const&) const", true },
	{ "(anonymous namespace)::helper", "(anonymous namespace)::helper(int)", true },
	{ "helper", "(anonymous namespace)::helper(int)", false },
	{ "std::pair<long, int> f<long>", "std::pair<long, int> f<long>(long)", true },
	{ "f<long>", "std::pair<long, int> f<long>(long)", true },
	{ "int> f<long>", "std::pair<long, int> f<long>(long)", false },
	{ "", "main", false },
};

static void test_names(void **state)
{
	int failures = 0;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct name_case *c = &cases[i];
		if (symbol_name_matches(c->want, c->shown) != c->match) {
			print_error("'%s' against '%s': want %s\n", c->want, c->shown,
				    c->match ? "a match" : "no match");
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_names) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
