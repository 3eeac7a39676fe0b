/*
 * cxxexcept.cpp - C++ exceptions thrown through several frames and caught:
 * the unwinder (libgcc's _Unwind_RaiseException, two phases) walks the
 * frames by their return addresses, runs the destructors on the way
 * (landing pads) and resumes in the catch.  A recording mode that changes
 * return addresses on the stack breaks this; one that counts must count
 * the unwinder's work and the landing pads as they run.
 *
 * Four throws of different depths: odd depths throw Odd, which middle()
 * catches and rethrows through main's frames; even depths throw
 * std::runtime_error.  Then a deterministic line on stdout; exit 0.
 * Built -O1 -g -fno-inline: every frame stays a frame; libstdc++ and
 * libgcc linked statically: loading libstdc++.so alone costs 1.7M
 * instructions of relocations, too many for step mode. About 400k
 * instructions, most of them in the unwinder.
 */
#include <cstdio>
#include <stdexcept>

static unsigned long trace;

struct Guard {
	int id;
	explicit Guard(int i) : id(i) {}
	~Guard() { trace = trace * 131 + (unsigned long)id; }
};

struct Odd {
	int depth;
};

static int descend(int depth, int stop)
{
	Guard g(depth);
	if (depth == stop) {
		if (stop % 2)
			throw Odd{depth};
		throw std::runtime_error("even");
	}
	return descend(depth + 1, stop) + 1;
}

static int middle(int stop)
{
	try {
		return descend(0, stop);
	} catch (const Odd &o) {
		trace += (unsigned long)o.depth * 1000;
		throw; /* rethrown: unwinds through main's frames as well */
	}
}

int main()
{
	int caught_odd = 0, caught_even = 0;
	for (int round = 0; round < 4; round++) {
		try {
			middle(3 + round);
			std::puts("not reached: no exception");
			return 1;
		} catch (const Odd &o) {
			caught_odd += o.depth;
		} catch (const std::exception &e) {
			caught_even += e.what()[0] + round;
		}
	}
	std::printf("cxxexcept: odd=%d even=%d trace=%lu\n", caught_odd, caught_even, trace);
	return 0;
}
