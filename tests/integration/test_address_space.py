"""The program's address space as natively: its libraries load where they
would without prof, and what it reads of /proc/self/maps and smaps shows
none of prof's mappings (scratch page, code regions, data areas), in every
exact mode; programs that read it (grep and gawk, through gnulib's c-stack)
then count the same in every mode."""
import subprocess
import unittest

from proftest import PROF, ProfTestCase, fixed_env, program, query

MODES = ("step", "block", "cache")


class AddressSpace(ProfTestCase):
    def native(self, argv):
        r = subprocess.run(["setarch", "-R", *argv], capture_output=True, text=True,
                           env=fixed_env(), timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def traced(self, mode, argv):
        """The program's output under prof (address randomization off) and
        the recording."""
        db = self.db(mode + ".db")
        r = subprocess.run([PROF, "record", "-q", "--no-aslr", "--mode", mode, "-o", db, "--", *argv],
                           capture_output=True, text=True, env=fixed_env(), timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "", "prof said something")
        return r.stdout, db

    def per_pc(self, db):
        return query(db, "SELECT pc, SUM(count) FROM insns GROUP BY pc ORDER BY pc")

    def assertSameMaps(self, name):
        # selfmaps reads its maps with stdio, 7 bytes at a time, pread, readv
        # and after lseeks, checks they agree, and prints them, smaps' range
        # lines and where its own mmap went.
        argv = [program(name)]
        untraced = self.native(argv)
        self.assertIn("its mmap: 0x7", untraced)
        self.assertIn("smaps ", untraced)
        for mode in MODES:
            with self.subTest(mode=mode):
                out, _ = self.traced(mode, argv)
                self.assertEqual(out, untraced)
        return untraced

    def test_own_maps(self):
        # Not PIE: its libraries' places are the kernel's.
        self.assertIn("/libc.so", self.assertSameMaps("selfmaps"))

    def test_own_maps_static(self):
        # No libraries: prof's memory must stay out of its own mmaps' way.
        self.assertSameMaps("selfmaps_static")

    def test_own_maps_static_pie(self):
        # The executable itself is where the kernel's mmaps go.
        self.assertSameMaps("selfmaps_static_pie")

    def assertSameEverywhere(self, argv, modes):
        untraced = self.native(argv)
        counts = None
        for mode in modes:
            with self.subTest(mode=mode):
                out, db = self.traced(mode, argv)
                self.assertEqual(out, untraced)
                if counts is None:
                    counts = self.per_pc(db)
                    self.assertGreater(len(counts), 1000)
                else:
                    self.assertEqual(self.per_pc(db), counts, "counts per instruction, %s" % mode)

    def test_grep_reads_maps(self):
        # gnulib's c-stack in grep reads /proc/self/maps at startup.
        path = self.db("input.txt")
        with open(path, "w") as f:
            f.write("alpha\nbeta\ngamma\n")
        self.assertSameEverywhere(["grep", "-c", "a", path], MODES)

    def test_gawk_reads_maps(self):
        # gawk's too (a million and a half instructions: not single-stepped).
        path = self.db("input.txt")
        with open(path, "w") as f:
            f.write("alpha\nbeta\ngamma\n")
        self.assertSameEverywhere(["gawk", "/a/ { n++ } END { print n }", path], ("block", "cache"))


class CodeCachePlacement(ProfTestCase):
    """Code far from everything: prof finds room for a code region within
    rel32 reach of it, or says once how many blocks ran in block mode."""

    def record(self, mode, argv, env=None):
        db = self.db(mode + ".db")
        r = subprocess.run([PROF, "record", "-q", "--no-aslr", "--mode", mode, "-o", db, "--", *argv],
                           capture_output=True, text=True, env={**fixed_env(), **(env or {})},
                           timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        counts = query(db, "SELECT pc, SUM(count) FROM insns GROUP BY pc ORDER BY pc")
        far = query(db, "SELECT SUM(count) FROM insns WHERE pc >= 0x300000000000"
                        " AND pc < 0x300000001000")[0][0]
        self.assertEqual(far, 1 + 2 * 1000 + 2)
        return r.stderr, counts

    def test_no_room_said_once(self):
        argv = [program("far_code")]
        step_err, step = self.record("step", argv)
        self.assertEqual(step_err, "")
        for mode in ("block", "cache"):
            with self.subTest(mode=mode):
                err, counts = self.record(mode, argv)
                self.assertEqual(counts, step)
                if mode == "block":
                    self.assertEqual(err, "")
                    continue
                lines = err.splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertRegex(lines[0], r"^prof: warning: process \d+: no room for the code cache"
                                 r" .*: 3 blocks of it ran in block mode")

    def test_gap_found(self):
        # The places prof tries first are taken, a gap within reach is not:
        # the loop runs from the cache (PROF_DEBUG names code that does not).
        argv = [program("far_code"), "gap"]
        debug = {"PROF_DEBUG": "1"}  # in both: the environment is the program's too
        _, block = self.record("block", argv, env=debug)
        err, counts = self.record("cache", argv, env=debug)
        self.assertEqual(counts, block)
        self.assertNotIn("warning", err)
        self.assertNotRegex(err, r"30000000[0-9a-f]{4} runs in block mode")


if __name__ == "__main__":
    unittest.main(verbosity=2)
