/*
 * longnames.c - two functions whose long names differ only at the end, for
 * the report's terminal-width tests (a name cut at a fixed width made both
 * rows look identical).
 */

__attribute__((noinline)) unsigned long
a_rather_long_function_name_that_two_functions_share_until_the_very_end_first(unsigned long x)
{
	for (int i = 0; i < 300; i++)
		x = x * 31 + (unsigned long)i;
	return x;
}

__attribute__((noinline)) unsigned long
a_rather_long_function_name_that_two_functions_share_until_the_very_end_second(unsigned long x)
{
	for (int i = 0; i < 200; i++)
		x = x * 17 + (unsigned long)i;
	return x;
}

int main(int argc, char **argv)
{
	unsigned long x = (unsigned long)argc;
	x = a_rather_long_function_name_that_two_functions_share_until_the_very_end_first(x);
	x = a_rather_long_function_name_that_two_functions_share_until_the_very_end_second(x);
	return x == 42 ? 1 : 0;
}
