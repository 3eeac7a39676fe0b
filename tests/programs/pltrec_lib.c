/* The library half of pltrec (see pltrec_main.c). */
int a(int n);

__attribute__((noinline)) int b(int n)
{
	int s = 0;
	for (int i = 0; i < 10; i++)
		s += i * n;
	return n > 0 ? s + a(n - 1) : s;
}

/* Ends in a tail jump (jmp a@plt) when optimized. */
__attribute__((noinline)) int c(int n)
{
	if (n <= 0)
		return 7;
	return a(n - 1);
}
