"""prof diff: one program built at -O0 and -O2 (tests/programs/diffprog.c),
recorded once each in block mode, compared both ways."""
import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from proftest import EXACT_MODES, PROF, ProfTestCase, fixed_env, program, run


def copy_db(src, dst, mode=None):
    """A copy of a recording (through sqlite, so a WAL is included), with its
    meta mode changed when asked."""
    s, d = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        s.backup(d)
        if mode:
            d.execute("UPDATE meta SET value = ? WHERE key = 'mode'", (mode,))
            d.commit()
    finally:
        s.close()
        d.close()


class DiffTest(ProfTestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(prefix="proftest-diff-")
        cls.o0 = os.path.join(cls.shared, "o0.db")
        cls.o2 = os.path.join(cls.shared, "o2.db")
        # Address randomization off and one environment: ld.so's string
        # functions take as many steps for both (with ASLR, strlen's count
        # follows the alignment of the strings it measures, and a gate at 0 %
        # once failed on strlen +0.88%).
        for db, prog in ((cls.o0, "diffprog_O0"), (cls.o2, "diffprog_O2")):
            r = subprocess.run(["setarch", "-R", PROF, "record", "-q", "-o", db, "--", program(prog)],
                               capture_output=True, text=True, env=fixed_env(), timeout=300)
            if r.returncode != 0:
                raise AssertionError("prof record %s failed: %s" % (prog, r.stderr))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.shared, ignore_errors=True)

    def diff_json(self, base, new, *extra, code=0):
        r = run(["diff", base, new, "--format", "json", "--top", "0", *extra])
        self.assertEqual(r.returncode, code, r.stderr)
        return json.loads(r.stdout)

    @staticmethod
    def row(d, name):
        rows = [f for f in d["functions"] if f["name"] == name]
        assert len(rows) == 1, "%s: %r" % (name, rows)
        return rows[0]

    def test_optimized_build_shrinks_hot_function(self):
        d = self.diff_json(self.o0, self.o2)
        for name in ("checksum", "mix"):
            f = self.row(d, name)
            # matched although the executables are named differently
            self.assertEqual(f["status"], "both")
            self.assertEqual(f["dso"], "diffprog_O2")
            self.assertGreater(f["base"], f["new"])
            self.assertEqual(f["delta"], f["new"] - f["base"])
            self.assertLess(f["delta"], 0)
            self.assertAlmostEqual(f["percent"], 100.0 * f["delta"] / f["base"], places=3)
        # the hot function leads: rows sorted by |delta|
        self.assertEqual(d["functions"][0]["name"], "checksum")
        mags = [abs(f["delta"]) for f in d["functions"]]
        self.assertEqual(mags, sorted(mags, reverse=True))
        t = d["total"]
        self.assertEqual(t["delta"], t["new"] - t["base"])
        self.assertLess(t["delta"], 0)
        self.assertEqual(t["base"], d["base"]["total"])
        self.assertEqual(sum(c["delta"] for c in d["classes"]), t["delta"])

    def test_reverse_grows(self):
        d = self.diff_json(self.o2, self.o0)
        f = self.row(d, "checksum")
        self.assertGreater(f["delta"], 0)
        self.assertEqual(f["dso"], "diffprog_O0")
        self.assertGreater(d["total"]["delta"], 0)

    def test_gate(self):
        r = run(["diff", self.o2, self.o0, "--fail-above", "5"])
        self.assertEqual(r.returncode, 1, r.stderr)
        gate = [l for l in r.stdout.splitlines() if l.startswith("gate:")]
        self.assertEqual(len(gate), 1, r.stdout)
        self.assertIn("FAILED", gate[0])
        r = run(["diff", self.o0, self.o2, "--fail-above", "5"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("gate: passed", r.stdout)
        # JSON: the decision in "gate", exit status the same
        d = self.diff_json(self.o2, self.o0, "--fail-above", "5", code=1)
        self.assertEqual(d["gate"], {"fail_above": 5.0, "fail_above_function": None, "functions_failed": 0,
                                     "passed": False})
        d = self.diff_json(self.o0, self.o2, "--fail-above", "5")
        self.assertEqual(d["gate"], {"fail_above": 5.0, "fail_above_function": None, "functions_failed": 0,
                                     "passed": True})
        # a limit above the growth passes
        r = run(["diff", self.o2, self.o0, "--fail-above", "1000"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_json_shape(self):
        d = self.diff_json(self.o0, self.o2)
        self.assertEqual(set(d), {"base", "new", "total", "functions", "classes", "gate"})
        for side, prog in (("base", "diffprog_O0"), ("new", "diffprog_O2")):
            self.assertTrue({"command", "mode", "total"} <= set(d[side]), d[side])
            self.assertIn(prog, d[side]["command"])
            self.assertIn(d[side]["mode"], EXACT_MODES)
            self.assertIsInstance(d[side]["total"], int)
        self.assertEqual(set(d["total"]), {"base", "new", "delta", "percent"})
        self.assertIsInstance(d["total"]["percent"], float)
        for f in d["functions"]:
            self.assertTrue({"name", "dso", "base", "new", "delta", "percent"} <= set(f), f)
            self.assertIsInstance(f["delta"], int)
            if f["base"] == 0:
                self.assertIsNone(f["percent"])
                self.assertEqual(f["status"], "new")
            elif f["new"] == 0:
                self.assertEqual(f["status"], "gone")
        names = [c["class"] for c in d["classes"]]
        self.assertIn("alu", names)
        for c in d["classes"]:
            self.assertEqual(set(c), {"class", "base", "new", "delta"})
            self.assertEqual(c["delta"], c["new"] - c["base"])
        self.assertEqual(d["gate"], {"fail_above": None, "fail_above_function": None, "functions_failed": 0,
                                     "passed": True})
        # --top limits the rows
        r = run(["diff", self.o0, self.o2, "--format", "json", "--top", "2"])
        self.assertEqual(len(json.loads(r.stdout)["functions"]), 2)

    def test_text(self):
        r = run(["diff", self.o0, self.o2, "--top", "3"])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("# base:") and "diffprog_O0" in lines[0], lines[0])
        self.assertTrue(any(l.startswith("# new:") and "diffprog_O2" in l for l in lines))
        header = next(i for i, l in enumerate(lines) if l.split()[:3] == ["base", "new", "delta"])
        rows = lines[header + 1:header + 4]
        self.assertIn("checksum", rows[0])
        cols = rows[0].split()
        self.assertTrue(cols[2].startswith("-") and "," in cols[2], rows[0])
        self.assertTrue(cols[3].endswith("%"), rows[0])
        self.assertIn("more functions", lines[header + 4])
        self.assertTrue(any(l.split()[-1:] == ["class"] for l in lines))
        self.assertTrue(lines[-1].startswith("total:"), lines[-1])

    def test_csv(self):
        r = run(["diff", self.o0, self.o2, "--format", "csv", "--top", "0", "--sort", "base"])
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        self.assertEqual(list(rows[0])[:6], ["function", "dso", "base", "new", "delta", "percent"])
        bases = [int(x["base"]) for x in rows]
        self.assertEqual(bases, sorted(bases, reverse=True))
        hot = [x for x in rows if x["function"] == "checksum"][0]
        self.assertLess(int(hot["delta"]), 0)

    def test_self_diff_is_zero(self):
        d = self.diff_json(self.o0, self.o0, "--fail-above", "0")
        self.assertTrue(d["functions"])
        self.assertTrue(all(f["delta"] == 0 and f["status"] == "both" for f in d["functions"]))
        self.assertTrue(all(c["delta"] == 0 for c in d["classes"]))
        self.assertEqual(d["total"]["delta"], 0)
        self.assertTrue(d["gate"]["passed"])

    def test_mixed_modes_refused(self):
        sampled = self.db("sampled.db")
        copy_db(self.o2, sampled, mode="sample")
        for args in ([self.o0, sampled], [sampled, self.o0]):
            r = run(["diff", *args])
            self.assertEqual(r.returncode, 2)
            self.assertOneErrorLine(r, "sample")
            self.assertEqual(r.stdout, "")
        # every exact mode counts the same: recordings of two compare
        for other in EXACT_MODES:
            exact = self.db(other + ".db")
            copy_db(self.o2, exact, mode=other)
            self.assertEqual(run(["diff", self.o0, exact]).returncode, 0)

    def test_errors(self):
        r = run(["diff", self.o0, self.db("missing.db")])
        self.assertEqual(r.returncode, 2)
        self.assertOneErrorLine(r, "missing.db")
        junk = self.db("junk.db")
        with open(junk, "w") as f:
            f.write("not a database\n")
        r = run(["diff", junk, self.o0])
        self.assertEqual(r.returncode, 2)
        self.assertOneErrorLine(r, "junk.db")
        r = run(["diff", self.o0])
        self.assertEqual(r.returncode, 2)
        self.assertOneErrorLine(r, "two recordings")
        r = run(["diff", self.o0, self.o2, "--fail-above", "much"])
        self.assertEqual(r.returncode, 2)
        self.assertOneErrorLine(r, "--fail-above")

    # DSO selection, the per-function gate, Markdown

    def test_exclude_dso_and_dso(self):
        full = self.diff_json(self.o0, self.o2)
        d = self.diff_json(self.o0, self.o2, "--exclude-dso", "ld-linux-x86-64.so.2")
        self.assertFalse([f for f in d["functions"] if f["dso"] == "ld-linux-x86-64.so.2"])
        self.assertEqual(len(d["functions"]),
                         len([f for f in full["functions"] if f["dso"] != "ld-linux-x86-64.so.2"]))
        for side in ("base", "new"):
            self.assertEqual(d["total"][side], sum(f[side] for f in d["functions"]))
            self.assertLess(d["total"][side], full["total"][side])
        self.assertEqual(sum(c["delta"] for c in d["classes"]), d["total"]["delta"])
        # The main executable, by the name of either build.
        for name in ("diffprog_O0", "diffprog_O2"):
            own = self.diff_json(self.o0, self.o2, "--dso", name)
            self.assertEqual({f["dso"] for f in own["functions"]}, {"diffprog_O2"})
            self.assertIn("checksum", {f["name"] for f in own["functions"]})
            self.assertEqual(own["total"]["new"], sum(f["new"] for f in own["functions"]))
        both = self.diff_json(self.o0, self.o2, "--dso", "diffprog_O2", "--dso", "libc.so.6")
        self.assertEqual({f["dso"] for f in both["functions"]}, {"diffprog_O2", "libc.so.6"})

    def test_fail_above_function(self):
        grew = run(["diff", self.o2, self.o0, "--fail-above-function", "10"])
        self.assertEqual(grew.returncode, 1, grew.stderr)
        last = grew.stdout.strip().splitlines()[-1]
        self.assertRegex(last, r"^gate: FAILED: 3 functions grew by more than 10\.00% \(most: checksum \+\d+\.\d\d%\)$")
        # checksum grew the most: above its share the gate passes.
        d = self.diff_json(self.o2, self.o0)
        worst = max(f["percent"] for f in d["functions"] if f["status"] == "both")
        ok = run(["diff", self.o2, self.o0, "--fail-above-function", "%.2f" % (worst + 0.01)])
        self.assertEqual(ok.returncode, 0, ok.stdout)
        self.assertIn("gate: passed: no function grew by more than", ok.stdout)
        shrank = run(["diff", self.o0, self.o2, "--fail-above-function", "0", "--format", "json"])
        self.assertEqual(shrank.returncode, 0, shrank.stderr)
        self.assertEqual(json.loads(shrank.stdout)["gate"]["functions_failed"], 0)
        self.assertOneErrorLine(run(["diff", self.o0, self.o2, "--fail-above-function", "x"]),
                                "--fail-above-function wants a number")

    def test_markdown(self):
        r = run(["diff", self.o2, self.o0, "--format", "markdown", "--top", "3",
                 "--exclude-dso", "ld-linux-x86-64.so.2", "--fail-above", "1"])
        self.assertEqual(r.returncode, 1, r.stderr)
        d = self.diff_json(self.o2, self.o0, "--exclude-dso", "ld-linux-x86-64.so.2")
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("### prof diff: +"), lines[0])
        tables, current = [], None
        for line in lines:
            if line.startswith("|"):
                if current is None:
                    current = []
                    tables.append(current)
                current.append([c.strip() for c in line.strip("|").split(" | ")])
            else:
                current = None
        total, funcs, classes = tables
        self.assertEqual(total[2][1:], ["{:,}".format(d["total"]["base"]), "{:,}".format(d["total"]["new"]),
                                        "+{:,}".format(d["total"]["delta"]), "+%.2f%%" % d["total"]["percent"]])
        self.assertEqual(funcs[0], ["function", "dso", "base", "new", "delta", "delta %"])
        self.assertEqual(len(funcs), 2 + 3)
        for row, f in zip(funcs[2:], d["functions"]):
            self.assertEqual(row, ["`%s`" % f["name"], f["dso"].replace("_", "\\_"), "{:,}".format(f["base"]),
                                   "{:,}".format(f["new"]), "{:+,}".format(f["delta"]),
                                   "%+.2f%%" % f["percent"]])
        self.assertEqual({r[0] for r in classes[2:]}, {c["class"] for c in d["classes"]})
        self.assertIn("Without the functions of ld-linux-x86-64.so.2.", r.stdout)
        self.assertRegex(r.stdout, r"\*\*Gate:\*\* \S+ \*\*FAILED\*\*: total \+\d+\.\d\d%, limit \+1\.00%")


if __name__ == "__main__":
    unittest.main()
