"""Code that changes between calls (tests/programs/codechange.c): counted at
the old code before the change and at the new after, in every exact mode,
with and without threads. The code cache stays on, with threads too: no
warning line, and the counts per PC and code generation equal step mode's
(docs/code-cache.md, "Code that changes").

Page A holds caller and f's first block (which runs on into page B); only
B changes, its loop running 100, 300 and 50 times in three rounds of three
calls each."""
import os
import re
import shutil
import subprocess
import unittest

from proftest import EXACT_MODES, ProfTestCase, functions, program, query, report_json, run

CODECHANGE = program("codechange")
PAGE = 4096
ROUNDS = 3
PAGE_A = 24 * 3                       # 3 rounds of 3 calls of (call, ret) and f's 6 in A
PAGE_B = [3 * (2 * n + 2) for n in (100, 300, 50)]  # one code generation per round
WORK = 3 * 50 * (2 * 100 + 2)         # the three workers of "threads"


def in_range(db, lo, hi):
    """[(instructions counted at pc in [lo, hi))]."""
    return query(db, "SELECT SUM(count) FROM insns WHERE pc >= ? AND pc < ?", lo, hi)


class CodeChange(ProfTestCase):
    def record_how(self, how, mode, rewrites=ROUNDS - 1):
        db = self.db("%s-%s.db" % (how, mode))
        # PROF_DEBUG says which translations each change of code killed
        r = run(["record", "-q", "--mode", mode, "-o", db, "--", CODECHANGE, how],
                env=dict(os.environ, PROF_DEBUG="1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        # (a memfd's file cannot be read for names: said once, not ours here)
        warnings = [l for l in r.stderr.splitlines() if ": warning: " in l and "/memfd:" not in l]
        self.assertEqual(warnings, [])
        base = int(r.stdout.strip(), 16)
        if mode == "cache" and rewrites is not None:
            # Each rewrite of B (two; three with a forked child's; each flip
            # of flipunder) kills B's translations of the code before it: the
            # cache stayed on through the first, with threads too (a cache
            # given up invalidates no more).
            killed = [(int(lo, 16), int(hi, 16)) for lo, hi in
                      re.findall(r"translations of ([0-9a-f]+)-([0-9a-f]+) invalidated", r.stderr)]
            in_b = [k for k in killed if k[0] < base + 2 * PAGE and base + PAGE < k[1]]
            self.assertEqual(len(in_b), rewrites, r.stderr[-3000:])
        return db, base

    def per_pc(self, db, base):
        """Per pc, its counts in the order of their code generations. (The
        generations' numbers are a clock, which may move more often in one
        mode: a write through the writable view faults in cache and block
        mode, a new generation, and the DISCARD_TRANSLATIONS that follows
        gives another, where step mode sees only the second.)"""
        rows = query(db, "SELECT pc - ?, gen, SUM(count) FROM insns WHERE pc >= ? AND pc < ?"
                     " GROUP BY pc, gen ORDER BY pc, gen", base, base, base + 2 * PAGE)
        by_pc = {}
        for pc, _, n in rows:
            by_pc.setdefault(pc, []).append(n)
        return sorted(by_pc.items())

    def check(self, how, workers=False, rewrites=ROUNDS - 1):
        seen = {}
        for mode in EXACT_MODES:
            with self.subTest(how=how, mode=mode):
                db, base = self.record_how(how, mode, rewrites)
                a = in_range(db, base, base + PAGE)
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
        self.check("threads", workers=True)

    def test_another_thread_runs_the_code(self):
        self.check("jitthread")

    def test_killed_under_a_thread_in_a_syscall(self):
        # Each of 100 mprotects kills the translation the other thread is in
        # a read from; it returns into it, and on through new translations.
        flips, per_call = 100, 2 * 100 + 5
        seen = {}
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db, base = self.record_how("flipunder", mode, rewrites=flips)
                seen[mode] = query(db, "SELECT pc - ?, SUM(count) FROM insns WHERE pc >= ?"
                                   " AND pc < ? GROUP BY pc ORDER BY pc", base, base, base + 2 * PAGE)
                self.assertEqual(sum(n for _, n in seen[mode]), flips * per_call)
        self.assertEqual(seen["cache"], seen["step"])
        self.assertEqual(seen["block"], seen["step"])

    def test_forked_child_changes_its_copy(self):
        seen = {}
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db, base = self.record_how("fork", mode, rewrites=ROUNDS)
                a = in_range(db, base, base + PAGE)
                b = in_range(db, base + PAGE, base + 2 * PAGE)
                self.assertEqual((a, b), ([(PAGE_A + 24,)], [(sum(PAGE_B) + PAGE_B[1],)]))
                seen[mode] = self.per_pc(db, base)
        self.assertEqual(seen["cache"], seen["step"])
        self.assertEqual(seen["block"], seen["step"])

    def test_discard_translations(self):
        self.check("discard")

    def test_madvise_drops_the_code(self):
        self.check("madvise")

    def test_written_in_place(self):
        # RWX pages, B rewritten with plain stores: no syscall, nothing said
        # to prof. Each rewrite is one write fault at B (write_guard.h).
        self.check("inplace")

    def test_written_through_a_second_mapping(self):
        # A memfd mapped twice, executable at BASE, writable elsewhere: B
        # rewritten through the writable view with plain stores. The write
        # faults at the writable view, which prof protected too.
        self.check("alias")

    def test_written_by_the_kernel(self):
        # B written by read(2), then readv(2), then a timespec filled by the
        # clock_gettime syscall: the kernel's writes fail (EFAULT) at a page
        # prof protected, where natively they succeed; prof opens the pages
        # a call will write before it runs (the program exits 2 on a
        # failure). The timespec is one change of B more for prof.
        self.check("kernelwrite", rewrites=ROUNDS)

    def test_code_that_unmaps_itself(self):
        # The page's code unmaps the page in a syscall; the instruction
        # after it faults natively, and must under prof: a translation of
        # the page running on would return 42 instead.
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db = self.db("unmapself-%s.db" % mode)
                r = run(["record", "-q", "--mode", mode, "-o", db, "--", program("unmapself")])
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertEqual(r.stderr, "")
                m = re.fullmatch(r"fault at \+22 ([0-9a-f]+)\n", r.stdout)
                self.assertIsNotNone(m, r.stdout)
                page = int(m.group(1), 16)
                self.assertEqual(in_range(db, page, page + PAGE), [(4,)])

    def test_programs_own_protection_faults_reach_it(self):
        # B made read-only by the program itself, then written: its own
        # SIGSEGV handler gets the fault once, in every mode, as natively.
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                r = run(["record", "-q", "--mode", mode, "-o", self.db("own-%s.db" % mode), "--",
                         CODECHANGE, "ownfault"])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("own fault\n", r.stderr)
        self.check("ownfault", rewrites=None)

    def test_shared_memory_detached_and_another_attached(self):
        # System V segments attached SHM_EXEC at one address in turn (N =
        # 100, 300, 100): each shmdt kills the translations of the segment
        # that goes (without it, cache mode ran the first's code for the
        # second: 1,818 instructions in one generation).
        seen = {}
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db = self.db("shm-%s.db" % mode)
                r = run(["record", "-q", "--mode", mode, "-o", db, "--", program("shmswap")])
                self.assertEqual(r.returncode, 0, r.stderr)
                # (a segment is no file to read names from: said once)
                self.assertEqual([l for l in r.stderr.splitlines() if "/SYSV" not in l], [])
                at = int(r.stdout, 16)
                seen[mode] = query(db, "SELECT SUM(count) FROM insns WHERE pc >= ? AND pc < ?"
                                   " GROUP BY gen ORDER BY gen", at, at + PAGE)
                self.assertEqual([n for (n,) in seen[mode]], [606, 1806, 606])
        self.assertEqual(seen["cache"], seen["step"])
        self.assertEqual(seen["block"], seen["step"])

    def test_libraries_swapped_while_a_thread_runs(self):
        # dlopen, call, dlclose of libdlswap_a.so then libdlswap_b.so (the
        # same function name, another count), 4 times, while a thread runs:
        # b mapped where a was (the kernel's choice: printed) is b's code
        # in the report, and a's counts stay a's.
        seen = {}
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db = self.db("dlswap-%s.db" % mode)
                r = run(["record", "-q", "--mode", mode, "-o", db, "--", program("dlswap"),
                         os.path.dirname(program("dlswap"))])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr.strip(), "")
                self.assertRegex(r.stdout, r"^same address [0-4]\n$")
                rows = {(f["name"], f["dso"]): f["count"] for f in report_json(db)["functions"]
                        if f["name"] in ("work", "lib_work")}
                self.assertEqual(rows, {("work", "dlswap"): 300 * 202,
                                        ("lib_work", "libdlswap_a.so"): 4 * (2 * 50 + 2),
                                        ("lib_work", "libdlswap_b.so"): 4 * (3 * 50 + 2)})
                seen[mode] = rows
        self.assertEqual(seen["cache"], seen["step"])
        self.assertEqual(seen["block"], seen["step"])

    @unittest.skipUnless(shutil.which("luajit"), "luajit is not installed (make deps)")
    def test_luajit_runs_as_alone(self):
        # LuaJIT compiles the loop to machine code (written in place or by
        # W^X flips): output and exit status as alone, no warning.
        script = "local s=0 for i=1,3000 do s=s+i%7 end print(s)"
        alone = subprocess.run(["luajit", "-e", script], capture_output=True, text=True)
        for mode in ("cache", "block"):
            with self.subTest(mode=mode):
                db = self.db("luajit-%s.db" % mode)
                r = run(["record", "-q", "--mode", mode, "-o", db, "--", "luajit", "-e", script])
                self.assertEqual((r.returncode, r.stdout, r.stderr), (0, alone.stdout, ""))
                self.assertGreater(report_json(db)["total"], 100000)

    @unittest.skipUnless(shutil.which("luajit") and shutil.which("setarch"),
                         "luajit or setarch is not installed (make deps)")
    def test_luajit_cache_equals_block_per_pc(self):
        # LuaJIT places its machine code at addresses drawn from getrandom:
        # with the same bytes every run (tests/programs/fixedrandom.c) and
        # ASLR off, runs are identical, so cache mode must count what block
        # mode counts at every pc of the interpreter, the runtime and the
        # trace it compiled (anonymous memory). setarch's own image is left
        # out: it runs before ASLR is off.
        script = "local s=0 for i=1,3000 do s=s+i%7 end print(s)"
        # (preloaded by env, after prof: not into prof, which may have ASan's runtime to load first)
        argv = ["setarch", "-R", "env", "LD_PRELOAD=" + os.path.abspath(program("libfixedrandom.so")),
                "luajit", "-e", script]
        alone = subprocess.run(argv, capture_output=True, text=True)
        self.assertEqual(alone.returncode, 0, alone.stderr)
        per_pc, anon = {}, {}
        for mode in ("cache", "block"):
            db = self.db("luajit-pc-%s.db" % mode)
            r = run(["record", "-q", "--mode", mode, "-o", db, "--", *argv])
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, alone.stdout, ""))
            per_pc[mode] = query(db, "SELECT i.pc, SUM(i.count) FROM insns i JOIN threads t ON"
                                 " t.id = i.thread JOIN processes p ON p.id = t.proc WHERE p.exe"
                                 " NOT LIKE '%setarch' GROUP BY i.pc ORDER BY i.pc")
            anon[mode] = [f["count"] for f in report_json(db)["functions"] if f["dso"] == "[anon]"]
        self.assertGreater(sum(n for _, n in per_pc["block"]), 100000)
        self.assertGreater(sum(anon["block"]), 1000)  # the trace ran
        self.assertEqual(per_pc["cache"], per_pc["block"])

    def test_written_in_place_while_threads_run(self):
        # Three threads call g, in page B but never rewritten, 200 times
        # each while main rewrites B's loop: how many write faults, and where
        # the threads are at each, depends on timing; the counts do not.
        g_offset, g_count = 2048, 3 * 200 * (2 * 100 + 2)
        seen = {}
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db, base = self.record_how("inplacethreads", mode, rewrites=None)
                a = in_range(db, base, base + PAGE)
                self.assertEqual(a, [(PAGE_A,)])
                # main's loop: one code generation per round, in order
                f = query(db, "SELECT SUM(count) FROM insns WHERE pc >= ? AND pc < ?"
                          " GROUP BY gen ORDER BY gen", base + PAGE, base + PAGE + g_offset)
                self.assertEqual([n for (n,) in f], PAGE_B)
                g = in_range(db, base + PAGE + g_offset, base + 2 * PAGE)
                self.assertEqual(g, [(g_count,)])
                seen[mode] = query(db, "SELECT pc - ?, SUM(count) FROM insns WHERE pc >= ?"
                                   " AND pc < ? GROUP BY pc ORDER BY pc", base, base, base + 2 * PAGE)
        self.assertEqual(seen["cache"], seen["step"])
        self.assertEqual(seen["block"], seen["step"])


if __name__ == "__main__":
    unittest.main()
