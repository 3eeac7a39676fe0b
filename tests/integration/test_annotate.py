"""prof annotate, report --by line, stripped programs and demangled names.

cfuncs (C, -O1 -g) and cxxprog (C++, -O1 -g) are recorded once per class."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from proftest import (ProfTestCase, functions, program, record, report_json, run)

CFUNCS_FUNCTIONS = ("fill_data", "sum_data", "fib", "hash_text", "main")
# count, percent, class, address, instruction
INSN = re.compile(r"^\s*([\d,]+)\s+(\d+\.\d\d)%\s+([a-z]+)\s+(0x[0-9a-f]+)\s\s(.*)$")
ESC = "\033["


def instructions(text):
    """[(count, class, address, instruction)] of an annotate listing."""
    rows = []
    for line in text.splitlines():
        m = INSN.match(line)
        if m:
            rows.append((int(m.group(1).replace(",", "")), m.group(3), int(m.group(4), 16),
                         m.group(5)))
    return rows


def address_range(text):
    m = re.search(r"^# address:\s+0x([0-9a-f]+)\.\.0x([0-9a-f]+)", text, re.M)
    return int(m.group(1), 16), int(m.group(2), 16)


class Recorded(ProfTestCase):
    """A class-wide recording of one program."""
    PROGRAM = None

    @classmethod
    def setUpClass(cls):
        cls.class_tmp = tempfile.TemporaryDirectory(prefix="proftest-annotate-")
        cls.dbpath = os.path.join(cls.class_tmp.name, "prof.db")
        r = record(cls.dbpath, [program(cls.PROGRAM)])
        if r.returncode != 0:
            raise AssertionError("prof record failed: " + r.stderr)

    @classmethod
    def tearDownClass(cls):
        cls.class_tmp.cleanup()

    def annotate(self, *args, db=None, ok=True, **kw):
        r = run(["annotate", "-i", db or self.dbpath, *args], **kw)
        if ok:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r


class AnnotateC(Recorded):
    PROGRAM = "cfuncs"

    def test_sum_data_counts_and_source(self):
        r = self.annotate("sum_data")
        rows = instructions(r.stdout)
        self.assertTrue(rows, r.stdout)
        want = functions(report_json(self.dbpath))["sum_data"]
        self.assertEqual(sum(c for c, _, _, _ in rows), want)
        # The loop runs N_DATA = 2000 times; the whole body is listed, in address order.
        self.assertIn(2000, [c for c, _, _, _ in rows])
        addrs = [a for _, _, a, _ in rows]
        self.assertEqual(addrs, sorted(addrs))
        lo, hi = address_range(r.stdout)
        self.assertEqual(addrs[0], lo)
        self.assertLess(addrs[-1], hi)
        # Source lines from cfuncs.c, with their text.
        self.assertRegex(r.stdout, r"cfuncs\.c:\d+\s+s \+= a\[i\] & 0xffff;")
        self.assertRegex(r.stdout, r"cfuncs\.c:\d+\s+for \(int i = 0; i < n; i\+\+\)")
        self.assertIn("load", [k for _, k, _, _ in rows])
        self.assertNotIn(ESC, r.stdout)  # piped: no colour

    def test_percentages_and_colour(self):
        r = self.annotate("fill_data", "--color", "always")
        self.assertIn(ESC + "1;31m", r.stdout)  # the hot loop
        plain = self.annotate("fill_data", env=dict(os.environ, NO_COLOR="1"))
        self.assertNotIn(ESC, plain.stdout)
        total = sum(c for c, _, _, _ in instructions(plain.stdout))
        pcts = [float(m.group(2)) for m in map(INSN.match, plain.stdout.splitlines()) if m]
        self.assertAlmostEqual(sum(pcts), 100.0, delta=0.2)
        self.assertEqual(total, functions(report_json(self.dbpath))["fill_data"])

    def test_syntax(self):
        intel = instructions(self.annotate("fib").stdout)
        att = instructions(self.annotate("fib", "--syntax", "att").stdout)
        self.assertEqual([(c, a) for c, _, a, _ in intel], [(c, a) for c, _, a, _ in att])
        self.assertFalse(any("%" in t for _, _, _, t in intel))
        self.assertTrue(any("%r" in t or "%e" in t for _, _, _, t in att))
        # A call out of the function names its target.
        main = self.annotate("main").stdout
        self.assertIn("<sum_data>", main)
        r = self.annotate("fib", "--syntax", "arm", ok=False)
        self.assertOneErrorLine(r, "--syntax")

    def test_not_found_suggests(self):
        r = self.annotate("sum_dat", ok=False)
        self.assertOneErrorLine(r, "no function 'sum_dat'")
        self.assertIn("sum_data", r.stderr)
        r = self.annotate("no_such_function_anywhere", ok=False)
        self.assertOneErrorLine(r, "no function 'no_such_function_anywhere'")
        r = self.annotate("sum_data", "--dso", "libc.so.6", ok=False)
        self.assertOneErrorLine(r, "no function 'sum_data'")
        r = run(["annotate", "-i", self.dbpath])
        self.assertOneErrorLine(r, "which function")

    def test_never_executed(self):
        # cfuncs never sorts: qsort (exported by libc) is listed from the file, all zero.
        r = self.annotate("qsort", "--dso", "libc.so.6")
        rows = instructions(r.stdout)
        self.assertTrue(rows, r.stdout)
        self.assertEqual(sum(c for c, _, _, _ in rows), 0)
        self.assertIn(", 0 executed", r.stdout)

    def test_dso_option(self):
        r = self.annotate("sum_data", "--dso", "cfuncs")
        self.assertIn("# function: sum_data in cfuncs", r.stdout)

    def test_by_line(self):
        rep = report_json(self.dbpath, "--by", "line")
        funcs = functions(rep)
        lines = rep["lines"]
        ours = [l for l in lines if l["file"] and l["file"].endswith("/cfuncs.c")]
        self.assertTrue(ours)
        self.assertEqual(sum(l["count"] for l in ours), sum(funcs[f] for f in CFUNCS_FUNCTIONS))
        self.assertTrue({l["function"] for l in ours} <= set(CFUNCS_FUNCTIONS))
        self.assertEqual(sum(l["count"] for l in lines), rep["total"])
        counts = [l["count"] for l in lines]
        self.assertEqual(counts, sorted(counts, reverse=True))
        # fill_data's loop body: 2000 iterations on one line.
        self.assertTrue(any(l["function"] == "fill_data" and l["count"] >= 2000 for l in ours))
        text = run(["report", "-i", self.dbpath, "--by", "line", "--top", "5"])
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertRegex(text.stdout, r"cfuncs\.c:\d+\s+fib\s+cfuncs")
        csv = run(["report", "-i", self.dbpath, "--by", "line", "--format", "csv", "--top", "0"])
        self.assertEqual(csv.returncode, 0, csv.stderr)
        self.assertEqual(csv.stdout.splitlines()[0], "percent,count,file,line,function,dso")
        self.assertEqual(sum(int(l.split(",")[1]) for l in csv.stdout.splitlines()[1:]),
                         rep["total"])


@unittest.skipUnless(shutil.which("strip"), "strip (binutils) is not installed")
class Stripped(Recorded):
    """A stripped copy of cfuncs runs the same code: sub_<address> functions
    from .eh_frame get exactly the counts the named functions get."""
    PROGRAM = "cfuncs"

    def test_sub_names_match_named_functions(self):
        stripped = os.path.join(self.dir, "cfuncs")
        subprocess.run(["strip", "-o", stripped, program("cfuncs")], check=True)
        db = self.db("stripped.db")
        r = record(db, [stripped])
        self.assertEqual(r.returncode, 0, r.stderr)
        named = functions(report_json(self.dbpath))
        rep = report_json(db)
        mine = {f["name"]: f["count"] for f in rep["functions"] if f["dso"] == "cfuncs"}
        self.assertTrue(any(n.startswith("sub_") for n in mine), mine)
        for name in CFUNCS_FUNCTIONS:
            self.assertNotIn(name, mine)
            lo, _ = address_range(self.annotate(name).stdout)
            sub = "sub_%x" % lo
            self.assertIn(sub, mine)
            self.assertEqual(mine[sub], named[name], name)
        # annotate works on a sub_ name; without DWARF there are no source lines.
        lo, _ = address_range(self.annotate("sum_data").stdout)
        out = self.annotate("sub_%x" % lo, db=db).stdout
        self.assertEqual(sum(c for c, _, _, _ in instructions(out)), named["sum_data"])
        self.assertNotIn("cfuncs.c:", out)


@unittest.skipUnless(os.path.exists(program("cxxprog")), "no C++ compiler: cxxprog not built")
class Demangle(Recorded):
    PROGRAM = "cxxprog"

    def test_demangled_names(self):
        names = functions(report_json(self.dbpath))
        self.assertIn("ns::Widget::spin(int)", names)
        self.assertIn("long ns::twice<long>(long)", names)
        self.assertIn("mycrate::worker", names)  # Rust legacy mangling
        self.assertGreaterEqual(names["ns::Widget::spin(int)"], 1000)
        text = run(["report", "-i", self.dbpath])
        self.assertIn("ns::Widget::spin(int)", text.stdout)

    def test_no_demangle(self):
        names = functions(report_json(self.dbpath, "--no-demangle"))
        self.assertIn("_ZN2ns6Widget4spinEi", names)
        self.assertIn("_ZN7mycrate6worker17h0123456789abcdefE", names)
        self.assertNotIn("ns::Widget::spin(int)", names)

    def test_annotate_cxx(self):
        want = functions(report_json(self.dbpath))["ns::Widget::spin(int)"]
        for name in ("ns::Widget::spin", "ns::Widget::spin(int)", "_ZN2ns6Widget4spinEi"):
            r = self.annotate(name)
            self.assertIn("# function: ns::Widget::spin(int) in cxxprog", r.stdout)
            self.assertEqual(sum(c for c, _, _, _ in instructions(r.stdout)), want)
            self.assertRegex(r.stdout, r"cxxprog\.cpp:\d+")
        r = self.annotate("_ZN2ns6Widget4spinEi", "--no-demangle")
        self.assertIn("# function: _ZN2ns6Widget4spinEi in cxxprog", r.stdout)


if __name__ == "__main__":
    unittest.main()
