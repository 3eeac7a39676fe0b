"""Exporters: --format callgrind (read back with valgrind's callgrind_annotate),
--format folded (stacks for flame graph tools) and --svg (prof's own flame
graph)."""
import os
import re
import subprocess
import unittest
import xml.etree.ElementTree as ET

from proftest import ProfTestCase, program, record, report_json, run

SVG = "{http://www.w3.org/2000/svg}"
# "frame;frame;...;frame count": frames are non-empty and hold no ';'.
FOLDED_LINE = re.compile(r"^([^;\n]+)((?:;[^;\n]+)*) (\d+)$")
# callgrind_annotate: "  1,234 (12.34%)  /path/file:function [/path/object]"
ANNOTATE_LINE = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+([^:]*):(.*) \[(.*)\]$")


def annotate(path, inclusive):
    """{(function, dso base name): count} as callgrind_annotate prints them."""
    r = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100",
                        "--inclusive=" + ("yes" if inclusive else "no"), path],
                       capture_output=True, text=True, check=True)
    if r.stderr.strip():
        raise AssertionError("callgrind_annotate complained: " + r.stderr)
    counts = {}
    for line in r.stdout.splitlines():
        m = ANNOTATE_LINE.match(line)
        if m:
            key = (m.group(3), os.path.basename(m.group(4)))
            counts[key] = counts.get(key, 0) + int(m.group(1).replace(",", ""))
    return counts


def prefixes(folded_lines):
    """Every distinct stack prefix: the frames a flame graph draws (without "all")."""
    seen = set()
    for stack, _ in folded_lines:
        frames = stack.split(";")
        for i in range(1, len(frames) + 1):
            seen.add(tuple(frames[:i]))
    return seen


class Exports(ProfTestCase):
    def recorded(self, name, *args, mode="block"):
        db = self.db(name + ".db")
        r = record(db, [program(name), *args], mode=mode)
        self.assertEqual(r.returncode, 0, r.stderr)
        return db, report_json(db)

    def export(self, db, *args):
        r = run(["report", "-i", db, *args])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def callgrind_file(self, db):
        path = os.path.join(self.dir, os.path.basename(db) + ".callgrind")
        with open(path, "w") as f:
            f.write(self.export(db, "--format", "callgrind"))
        return path

    def folded(self, db):
        out = self.export(db, "--format", "folded")
        lines = []
        for line in out.splitlines():
            m = FOLDED_LINE.match(line)
            self.assertIsNotNone(m, "malformed folded line %r" % line)
            lines.append((line.rsplit(" ", 1)[0], int(m.group(3))))
        self.assertEqual(len({s for s, _ in lines}), len(lines), "a stack appears twice")
        return lines

    # callgrind

    def test_callgrind_calls_self_and_inclusive(self):
        db, rep = self.recorded("calls")
        path = self.callgrind_file(db)
        with open(path) as f:
            head = f.read(400)
        for key in ("version: 1", "creator: prof", "events: Ir", "positions: line"):
            self.assertIn(key, head)
        selfc = annotate(path, inclusive=False)
        incl = annotate(path, inclusive=True)
        self.assertEqual(len(rep["functions"]), 4)
        for f in rep["functions"]:
            key = (f["name"], f["dso"])
            self.assertEqual(selfc.get(key), f["count"], "self count of %s" % f["name"])
            self.assertEqual(incl.get(key), f["inclusive"], "inclusive count of %s" % f["name"])
        self.assertEqual(incl[("_start", "calls")], 605)
        self.assertEqual(incl[("outer", "calls")], 570)

    def test_callgrind_cfuncs_self_counts(self):
        db, rep = self.recorded("cfuncs")
        selfc = annotate(self.callgrind_file(db), inclusive=False)
        self.assertGreater(len(rep["functions"]), 50, "ld.so, libc and the program")
        for f in rep["functions"]:
            self.assertEqual(selfc.get((f["name"], f["dso"])), f["count"],
                             "self count of %s (%s)" % (f["name"], f["dso"]))
        self.assertEqual(sum(selfc.values()), rep["total"])
        # Functions only ever entered by call and not recursive: same inclusive.
        incl = annotate(self.callgrind_file(db), inclusive=True)
        prof_incl = {f["name"]: f["inclusive"] for f in rep["functions"]}
        for name in ("main", "fill_data", "sum_data", "hash_text"):
            self.assertEqual(incl[(name, "cfuncs")], prof_incl[name], name)

    # folded stacks

    def test_folded_calls(self):
        db, rep = self.recorded("calls")
        lines = self.folded(db)
        self.assertEqual(sorted(lines), sorted([
            ("_start", 35), ("_start;outer", 240), ("_start;outer;inner", 300),
            ("_start;outer;addimm", 30)]))
        self.assertEqual(sum(c for _, c in lines), rep["total"])

    def test_folded_cfuncs_sums(self):
        db, rep = self.recorded("cfuncs")
        lines = self.folded(db)
        self.assertEqual(sum(c for _, c in lines), rep["total"])
        # Each function's lines (it is the last frame) add up to its own count.
        dsos = {}
        for f in rep["functions"]:
            dsos.setdefault(f["name"], set()).add(f["dso"])
        for c in rep["calls"]:
            dsos.setdefault(c["caller"], set()).add(c["caller_dso"])
            dsos.setdefault(c["callee"], set()).add(c["callee_dso"])
        leaf = {}
        for stack, count in lines:
            last = stack.split(";")[-1]
            leaf[last] = leaf.get(last, 0) + count
        for f in rep["functions"]:
            label = f["name"] if len(dsos[f["name"]]) == 1 else "%s`%s" % (f["dso"], f["name"])
            self.assertEqual(leaf.get(label), f["count"], label)
        # fib is recursive: all of it stays under main, in one stack.
        fib = [(s, c) for s, c in lines if s.endswith(";fib")]
        self.assertEqual(len(fib), 1, fib)
        self.assertTrue(fib[0][0].endswith(";main;fib"), fib)
        self.assertEqual(fib[0][1], {f["name"]: f["count"] for f in rep["functions"]}["fib"])

    def test_folded_sample_mode_uses_sampled_stacks(self):
        db, rep = self.recorded("proportion", "30", mode="sample")
        lines = self.folded(db)
        self.assertEqual(sum(c for _, c in lines), rep["total"])
        self.assertTrue(any(s.endswith(";main;a;b;leaf") for s, _ in lines), lines)

    # flame graph

    def svg_frames(self, path):
        root = ET.parse(path).getroot()
        self.assertEqual(root.tag, SVG + "svg")
        frames = []
        for g in root.iter(SVG + "g"):
            if g.get("class") != "f":
                continue
            rects, titles = g.findall(SVG + "rect"), g.findall(SVG + "title")
            self.assertEqual((len(rects), len(titles)), (1, 1), ET.tostring(g))
            frames.append((titles[0].text, rects[0]))
        return root, frames

    def test_svg_calls(self):
        db, rep = self.recorded("calls")
        path = os.path.join(self.dir, "flame.svg")
        r = run(["report", "-i", db, "--svg", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        root, frames = self.svg_frames(path)
        # One frame per distinct stack prefix, plus "all".
        self.assertEqual(len(frames), len(prefixes(self.folded(db))) + 1)
        titles = {t.split("\n")[0]: (t, rect) for t, rect in frames}
        self.assertEqual(set(titles), {"all", "_start (calls)", "outer (calls)",
                                       "inner (calls)", "addimm (calls)"})
        self.assertIn("300 instructions, 49.59%", titles["inner (calls)"][0])
        width = {k: float(rect.get("width")) for k, (_, rect) in titles.items()}
        self.assertAlmostEqual(width["inner (calls)"] / width["all"], 300 / 605, places=3)
        self.assertAlmostEqual(width["outer (calls)"] / width["all"], 570 / 605, places=3)
        # Callees sit above their callers.
        y = {k: float(rect.get("y")) for k, (_, rect) in titles.items()}
        self.assertLess(y["inner (calls)"], y["outer (calls)"])
        self.assertLess(y["outer (calls)"], y["_start (calls)"])
        text = "".join(root.itertext())
        self.assertIn("605 instructions", text)
        self.assertIn(program("calls"), text)

    def test_svg_cfuncs_and_stdout(self):
        db, rep = self.recorded("cfuncs")
        r = run(["report", "-i", db, "--svg", "-"])
        self.assertEqual(r.returncode, 0, r.stderr)
        path = os.path.join(self.dir, "flame.svg")
        with open(path, "w") as f:
            f.write(r.stdout)
        _, frames = self.svg_frames(path)
        self.assertGreater(len(frames), 20)
        mains = [t for t, _ in frames if t.startswith("main (cfuncs)\n")]
        self.assertEqual(len(mains), 1, mains)

    def test_svg_unwritable(self):
        db, _ = self.recorded("calls")
        r = run(["report", "-i", db, "--svg", os.path.join(self.dir, "no", "such", "dir.svg")])
        self.assertOneErrorLine(r, "cannot write")


if __name__ == "__main__":
    unittest.main(verbosity=2)
