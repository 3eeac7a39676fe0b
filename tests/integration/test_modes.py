"""Block mode against step mode: the same counts per instruction, the same
call graph, on every kind of program; and block-mode specifics."""
import os
import subprocess
import unittest

from proftest import (BENCH, PROF, ProfTestCase, expect, fixed_env, functions, program, query, record,
                      report_json, run)


class StepBlockCase(ProfTestCase):
    """Records a program in both modes and compares them."""
    def record_both(self, argv, extra=()):
        """Both modes, ASLR off and one environment, so addresses and paths agree."""
        dbs = {}
        for mode in ("step", "block"):
            db = self.db(mode + ".db")
            r = subprocess.run([PROF, "record", "-q", "--mode", mode, "-o", db, *extra, "--",
                                "setarch", "-R", *argv], capture_output=True, text=True, errors="replace",
                               env=fixed_env(), timeout=600)
            dbs[mode] = (db, r)
        self.assertEqual(dbs["step"][1].returncode, dbs["block"][1].returncode)
        self.assertEqual(dbs["step"][1].stdout, dbs["block"][1].stdout)
        return dbs["step"][0], dbs["block"][0]

    def per_pc(self, db):
        # setarch execs the program: compare the program's image only, not setarch's.
        return query(db, "SELECT i.pc, SUM(i.count), MIN(i.class) FROM insns i"
                         " JOIN threads t ON t.id = i.thread JOIN processes p ON p.id = t.proc"
                         " WHERE p.exe NOT LIKE '%setarch' GROUP BY i.pc ORDER BY i.pc")

    def arcs(self, db):
        return query(db, "SELECT a.caller_pc, a.callee_pc, SUM(a.calls), SUM(a.inclusive),"
                         " SUM(a.outer_inclusive) FROM arcs a JOIN threads t ON t.id = a.thread"
                         " JOIN processes p ON p.id = t.proc WHERE p.exe NOT LIKE '%setarch'"
                         " GROUP BY 1, 2 ORDER BY 1, 2")

    def assertSameRun(self, argv, compare_arcs=True, extra=()):
        step, block = self.record_both(argv, extra)
        s, b = self.per_pc(step), self.per_pc(block)
        self.assertGreater(len(s), 0)
        diff = sorted(set(s) ^ set(b))[:10]
        self.assertEqual(s, b, "per-pc counts differ, e.g. %s" % diff)
        if compare_arcs:
            self.assertEqual(self.arcs(step), self.arcs(block))
        sys = lambda db: sorted((x["name"], x["calls"], x["errors"]) for x in report_json(db)["syscalls"])
        self.assertEqual(sys(step), sys(block))


class StepEqualsBlock(StepBlockCase):
    def test_assembly_programs(self):
        for name in ("loop", "calls", "jumptable", "rep", "pushf", "cpuid", "syscalls", "sighandler", "segv",
                     "farjmp"):
            with self.subTest(program=name):
                self.assertSameRun([program(name)])

    def test_c_program_with_libc(self):
        self.assertSameRun([program("cfuncs")])

    def test_rep_string_heavy(self):
        # glibc uses rep movsb / rep stosb above a size threshold: every
        # iteration counts, in block mode from RCX around the instruction.
        self.assertSameRun([os.path.join(BENCH, "memcpy_heavy"), "30"])

    def test_rep_interrupted_by_a_fault(self):
        # The REP runs out of line; its fault must reach the program at the
        # REP's own address (at_rep=1) and the iterations before and after
        # it count as single-stepping counts them.
        step, block = self.record_both([program("repfault")])
        self.assertEqual(self.per_pc(step), self.per_pc(block))
        out = subprocess.run([program("repfault")], capture_output=True, text=True).stdout
        self.assertIn("faults=1 at_rep=1 left=0", out)

    def test_without_scratch_page(self):
        # Where the kernel refuses the scratch page, REP instructions are
        # single-stepped in place: still exact.
        for argv in ([program("rep")], [program("repfault")], [os.path.join(BENCH, "memcpy_heavy"), "3"]):
            with self.subTest(argv=argv[0]):
                self.assertSameRun(argv, extra=("--no-scratch",))

    def test_scratch_page_refused(self):
        # A W^X policy (here seccomp) refuses the scratch page: one line says
        # so, and the REP instructions are single-stepped, still exact.
        r = record(self.db(), [program("noexec_mmap"), program("rep")], mode="block")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [l for l in r.stderr.splitlines() if "scratch page" in l]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("Operation not permitted", lines[0])
        rep = report_json(self.db())
        exp = expect("rep")
        got = {f["name"]: f["count"] for f in rep["functions"] if f["dso"] == "rep"}
        self.assertEqual(got, exp["functions"])

    def test_fork_and_exec(self):
        loop = program("loop")
        self.assertSameRun(["/bin/sh", "-c", "%s; %s; true" % (loop, loop)])

    def test_threads_own_functions(self):
        # Threads interleave differently in the two modes (lazy binding and
        # futex waits in libc vary); the program's own code may not.
        step, block = self.record_both([program("threads")])
        # PLT stubs (name@plt, and the lazy-binding entry .plt) resolve lazily,
        # in whichever thread comes first: their counts depend on the interleaving.
        own = lambda db: {f["name"]: f["count"] for f in report_json(db)["functions"]
                          if f["dso"] == "threads" and not f["name"].endswith("@plt")
                          and f["name"] != ".plt"}
        s = own(step)
        b = own(block)
        self.assertEqual(s, b)
        self.assertEqual(s["work"], 2 * (500 + 1000 + 2000 + 3000) + 4 * 2)


class SystemPrograms(StepBlockCase):
    """The longest comparison (step mode over a few million instructions):
    its own ctest entry, so it runs beside the others."""

    def test_system_programs(self):
        # Programs nobody here wrote, with glibc's string functions (AVX-512
        # ones on machines that have it) and their REP instructions.
        small = os.path.join(self.dir, "small.txt")
        with open(small, "w") as f:
            f.write("".join("line %d %s\n" % ((i * 7919) % 101, "x" * (i % 13)) for i in range(200)))
        for argv in (["/bin/true"], ["/bin/ls", "-R", "/usr/include/linux"],
                     ["/usr/bin/sha256sum", small], ["/bin/gzip", "-c", small], ["/usr/bin/sort", small],
                     ["/bin/sh", "-c", "echo a | tr a b"]):
            with self.subTest(argv=" ".join(argv)):
                self.assertSameRun(argv)


class BlockMode(ProfTestCase):
    def test_default_mode_is_block(self):
        r = run(["record", "-q", "-o", self.db(), "--", program("loop")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(report_json(self.db())["mode"], "block")

    def test_call_graph_inclusive(self):
        self.assertEqual(record(self.db(), [program("calls")], mode="block").returncode, 0)
        rep = report_json(self.db())
        incl = {f["name"]: f["inclusive"] for f in rep["functions"]}
        # outer: its own 240 + inner 300 (50 calls) + addimm 30 (10 calls).
        self.assertEqual(incl, {"inner": 300, "outer": 570, "addimm": 30, "_start": 605})
        calls = {(c["caller"], c["callee"]): (c["calls"], c["inclusive"]) for c in rep["calls"]}
        self.assertEqual(calls, {("_start", "outer"): (10, 570), ("outer", "inner"): (50, 300),
                                 ("outer", "addimm"): (10, 30)})
        text = run(["report", "-i", self.db(), "--call-graph"]).stdout
        self.assertRegex(text, r"caller\s+50 calls\s+300 instructions\s+outer calls")

    def test_recursion_not_counted_twice(self):
        self.assertEqual(record(self.db(), [program("cfuncs")], mode="block").returncode, 0)
        fib = [f for f in report_json(self.db())["functions"] if f["name"] == "fib"][0]
        # fib has no callees but itself: its inclusive total is its own count.
        self.assertEqual(fib["inclusive"], fib["count"])

    def test_verify(self):
        r = run(["record", "--verify", "-o", self.db(), "--", program("cfuncs")], timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("agree exactly", r.stderr)
        self.assertFalse(os.path.exists(self.db() + ".verify-step"))

    def test_verify_refuses_step_mode(self):
        self.assertOneErrorLine(run(["record", "--verify", "--mode", "step", "--", "/bin/true"]),
                                "--verify")

    def test_untraced_children_lose_the_breakpoints(self):
        # Forked children inherit block mode's int3s: with --no-follow-fork
        # they must be cleaned before running free, or they die of SIGTRAP.
        cf = program("cfuncs")
        r = record(self.db(), ["/bin/sh", "-c", "%s && %s; true" % (cf, cf)], mode="block",
                   extra=("--no-follow-fork",))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("fib=610"), 2, r.stdout)
        self.assertNotIn("cfuncs", {f["dso"] for f in report_json(self.db())["functions"]})


if __name__ == "__main__":
    unittest.main(verbosity=2)
