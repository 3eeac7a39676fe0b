"""Code that changes between calls (tests/programs/codechange.c): counted at
the old code before the change and at the new after, in every exact mode,
with and without threads. The code cache stays on in a process with one
thread (no warning); with others it goes to block mode at the first change
of code it ran, said in one warning line (until prof write-protects what
it translated: see docs/code-cache.md), and the counts stay exact.

Page A holds caller and f's first block (which runs on into page B); only
B changes, its loop running 100, 300 and 50 times in three rounds of three
calls each."""
import unittest

from proftest import EXACT_MODES, ProfTestCase, functions, program, query, record, report_json

CODECHANGE = program("codechange")
PAGE = 4096
PAGE_A = 24 * 3                       # 3 rounds of 3 calls of (call, ret) and f's 6 in A
PAGE_B = [3 * (2 * n + 2) for n in (100, 300, 50)]  # one code generation per round
WORK = 3 * 50 * (2 * 100 + 2)         # the three workers of "threads"


class CodeChange(ProfTestCase):
    def record_how(self, how, mode, threaded=False):
        db = self.db("%s-%s.db" % (how, mode))
        r = record(db, [CODECHANGE, how], mode=mode)
        self.assertEqual(r.returncode, 0, r.stderr)
        # (a memfd's file cannot be read for names: said once, not ours here)
        warnings = [l.split(": ", 2)[-1].split(" ", 2)[-1]
                    for l in r.stderr.splitlines() if "warning" in l and "/memfd:" not in l]
        want = ["changed code it ran while it has threads: block mode counts it from here"]
        self.assertEqual(warnings, want if threaded and mode == "cache" else [])
        return db, int(r.stdout.strip(), 16)

    def per_pc(self, db, base):
        return query(db, "SELECT pc - ?, gen, SUM(count) FROM insns WHERE pc >= ? AND pc < ?"
                     " GROUP BY pc, gen ORDER BY pc, gen", base, base, base + 2 * PAGE)

    def check(self, how, workers=False, threaded=False):
        seen = {}
        for mode in EXACT_MODES:
            with self.subTest(how=how, mode=mode):
                db, base = self.record_how(how, mode, threaded)
                a = query(db, "SELECT SUM(count) FROM insns WHERE pc >= ? AND pc < ?",
                          base, base + PAGE)
                self.assertEqual(a, [(PAGE_A,)])
                b = query(db, "SELECT SUM(count) FROM insns WHERE pc >= ? AND pc < ?"
                          " GROUP BY gen ORDER BY gen", base + PAGE, base + 2 * PAGE)
                self.assertEqual([n for (n,) in b], PAGE_B)
                if workers:
                    self.assertEqual(functions(report_json(db))["work"], WORK)
                seen[mode] = self.per_pc(db, base)
        self.assertEqual(seen["cache"], seen["step"])
        self.assertEqual(seen["block"], seen["step"])

    def test_munmap(self):
        self.check("munmap")

    def test_wx_flips(self):
        self.check("mprotect")

    def test_while_threads_run(self):
        self.check("threads", workers=True, threaded=True)

    def test_another_thread_runs_the_code(self):
        self.check("jitthread", threaded=True)

    def test_forked_child_changes_its_copy(self):
        seen = {}
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db, base = self.record_how("fork", mode)
                a = query(db, "SELECT SUM(count) FROM insns WHERE pc >= ? AND pc < ?",
                          base, base + PAGE)
                b = query(db, "SELECT SUM(count) FROM insns WHERE pc >= ? AND pc < ?",
                          base + PAGE, base + 2 * PAGE)
                self.assertEqual((a, b), ([(PAGE_A + 24,)], [(sum(PAGE_B) + PAGE_B[1],)]))
                seen[mode] = self.per_pc(db, base)
        self.assertEqual(seen["cache"], seen["step"])
        self.assertEqual(seen["block"], seen["step"])

    def test_discard_translations(self):
        self.check("discard")

    def test_madvise_drops_the_code(self):
        self.check("madvise")


if __name__ == "__main__":
    unittest.main()
