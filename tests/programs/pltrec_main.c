/* pltrec: a in the program and b, c in a shared library (pltrec_lib.c)
 * call each other 50 levels deep through PLT stubs: a calls b@plt, b calls
 * a@plt back, and every other level c ends in a tail jump through a@plt.
 * Inclusive counts must hold through the stubs and the tail jumps: never
 * above the total, the same in every exact mode. */
#include <stdio.h>

int b(int n);
int c(int n);

__attribute__((noinline)) int a(int n)
{
	int s = 0;
	for (int i = 0; i < 20; i++)
		s ^= i + n;
	return s + (n % 2 ? b(n) : c(n));
}

int main(void)
{
	int t = 0;
	for (int k = 0; k < 20; k++)
		t += a(50);
	printf("%d\n", t);
	return 0;
}
