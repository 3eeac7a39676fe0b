/*
 * cxxprog.cpp - C++ names for the demangling tests (prof report shows
 * ns::Widget::spin(int), --no-demangle shows _ZN2ns6Widget4spinEi).
 *
 * Built -O1 -g -fno-inline -fno-exceptions and linked --as-needed, so the
 * program needs no libstdc++ at run time and stays small. One function has
 * a Rust legacy mangled name (asm label) to check Rust demangling:
 * _ZN7mycrate6worker17h0123456789abcdefE is mycrate::worker.
 */
namespace ns {

struct Widget {
	unsigned v;
	unsigned spin(int n);
};

unsigned Widget::spin(int n)
{
	unsigned s = 0;
	for (int i = 0; i < n; i++)
		s += (v ^ (unsigned)i) & 7;
	return s;
}

template <typename T> __attribute__((noinline)) T twice(T x)
{
	return x + x;
}

} // namespace ns

extern "C" unsigned rust_worker(unsigned x) __asm__("_ZN7mycrate6worker17h0123456789abcdefE");
extern "C" unsigned rust_worker(unsigned x)
{
	for (int i = 0; i < 10; i++)
		x = x * 33 + 1;
	return x;
}

int main()
{
	ns::Widget w{3};
	unsigned r = w.spin(1000);
	r += ns::twice<long>(r);
	r += rust_worker(r);
	return r == 12345 ? 1 : 0;
}
