"""Exporters: --format callgrind (read back with valgrind's callgrind_annotate),
--format folded (stacks for flame graph tools) and --svg (prof's own flame
graph)."""
import os
import re
import subprocess
import unittest
import xml.etree.ElementTree as ET

from proftest import DEFAULT_MODE, ProfTestCase, program, record, report_json, run

SVG = "{http://www.w3.org/2000/svg}"
# "frame;frame;...;frame count": frames are non-empty and hold no ';'.
FOLDED_LINE = re.compile(r"^([^;\n]+)((?:;[^;\n]+)*) (\d+)$")
# callgrind_annotate: "  1,234 (12.34%)  /path/file:function [/path/object]"; the
# object is left out on the lines of code inlined from another file (fi=).
ANNOTATE_LINE = re.compile(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+([^:]*):(.*?)(?: \[(.*)\])?$")


def annotate(path, inclusive):
    """{(function, dso base name): count} as callgrind_annotate prints them;
    the lines of a function's inlined code go to the DSO its own line names."""
    # Run where no path of the export starts: callgrind_annotate shortens fl=
    # names under its working directory, but not cfi= ones.
    r = subprocess.run(["callgrind_annotate", "--auto=no", "--threshold=100",
                        "--inclusive=" + ("yes" if inclusive else "no"), path],
                       capture_output=True, text=True, check=True, cwd=os.path.dirname(path))
    if r.stderr.strip():
        raise AssertionError("callgrind_annotate complained: " + r.stderr)
    counts, inlined, dso_of = {}, {}, {}
    for line in r.stdout.splitlines():
        m = ANNOTATE_LINE.match(line)
        if not m:
            continue
        count = int(m.group(1).replace(",", ""))
        if m.group(4) is None:
            inlined[m.group(3)] = inlined.get(m.group(3), 0) + count
            continue
        key = (m.group(3), os.path.basename(m.group(4)))
        dso_of.setdefault(m.group(3), set()).add(key[1])
        counts[key] = counts.get(key, 0) + count
    for name, count in inlined.items():
        dsos = dso_of.get(name, set())
        key = (name, next(iter(dsos)) if len(dsos) == 1 else None)
        counts[key] = counts.get(key, 0) + count
    return counts


def annotated_source(path, source):
    """{line number: count} of one source file as callgrind_annotate --auto=yes
    annotates it (call lines "=> ..." left out)."""
    r = subprocess.run(["callgrind_annotate", "--auto=yes", "--threshold=100", path],
                       capture_output=True, text=True, check=True, cwd=os.path.dirname(path))
    counts, line, inside = {}, None, False
    for text in r.stdout.splitlines():
        if text.startswith("-- Auto-annotated source: "):
            inside = text.split(": ", 1)[1].strip() == source
            continue
        m = re.match(r"^-- line (\d+) -+$", text)
        if inside and m:
            line = int(m.group(1))
            continue
        if inside and line is not None and text.startswith("---"):
            inside = False  # the end of this file's annotation
        if not inside or line is None or "=>" in text[:40]:
            continue
        m = re.match(r"^\s*([\d,]+|\.) (?:\(\s*[\d.]+%\)|\s*)", text)
        if not m:
            continue
        if m.group(1) != ".":
            counts[line] = int(m.group(1).replace(",", ""))
        line += 1
    return counts


def objdump_addresses(binary, function):
    """Instruction addresses of a function, as objdump -d prints them."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary], capture_output=True,
                         text=True, check=True).stdout
    addrs, inside = set(), False
    for text in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", text)
        if m:
            inside = m.group(1) == function
        elif inside and re.match(r"^\s+[0-9a-f]+:", text):
            addrs.add(int(text.split(":")[0], 16))
    return addrs


def prefixes(folded_lines):
    """Every distinct stack prefix: the frames a flame graph draws (without "all")."""
    seen = set()
    for stack, _ in folded_lines:
        frames = stack.split(";")
        for i in range(1, len(frames) + 1):
            seen.add(tuple(frames[:i]))
    return seen


class Exports(ProfTestCase):
    def recorded(self, name, *args, mode=DEFAULT_MODE):
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
        for key in ("version: 1", "creator: prof", "events: Ir", "positions: instr line"):
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

    def test_callgrind_annotate_reads_it_without_a_warning(self):
        # Functions without DWARF (_start, ld.so's [unknown], PLT stubs) are
        # in file "???", as valgrind writes them: named after their DSO, they
        # were "annotated" as source with --inclusive=yes and callgrind_annotate
        # printed 6 Perl warnings about a file with no line numbers.
        db, rep = self.recorded("cfuncs")
        path = self.callgrind_file(db)
        with open(path) as f:
            text = f.read()
        objects = set(re.findall(r"^c?ob=\(\d+\) (.*)$", text, re.M))
        files = set(re.findall(r"^(?:fl|fi|fe|cfi|cfl)=\(\d+\) (.*)$", text, re.M))
        self.assertIn("???", files)
        self.assertFalse(files & objects, "a DSO named as a source file")
        for args in ([], ["--inclusive=yes"], ["--auto=yes"], ["--inclusive=yes", "--auto=yes"],
                     ["--tree=both", "--inclusive=yes"]):
            with self.subTest(args=args):
                r = subprocess.run(["callgrind_annotate", "--threshold=100", *args, path],
                                   capture_output=True, text=True, cwd=self.dir)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                self.assertNotIn("WARNING", r.stdout)
                self.assertIn("???:_start [", r.stdout)

    def test_callgrind_cfuncs_self_counts(self):
        db, rep = self.recorded("cfuncs")
        selfc = annotate(self.callgrind_file(db), inclusive=False)
        self.assertGreater(len(rep["functions"]), 50, "ld.so, libc and the program")
        # Per name: a name in two DSOs (strlen) has inlined lines of either.
        by_name, prof_by_name = {}, {}
        for (name, _), count in selfc.items():
            by_name[name] = by_name.get(name, 0) + count
        for f in rep["functions"]:
            prof_by_name[f["name"]] = prof_by_name.get(f["name"], 0) + f["count"]
        self.assertEqual(by_name, prof_by_name)
        self.assertEqual(sum(selfc.values()), rep["total"])
        # Every function of the program but recursive fib, and printf (entered by
        # the PLT stub's jump): the same inclusive counts.
        # Per name too: functions without DWARF are all in file "???", as
        # valgrind writes them, so callgrind_annotate merges a name found in
        # two DSOs (.plt of the program and of libc).
        incl, incl_by_name, prof_incl_by_name = annotate(self.callgrind_file(db), inclusive=True), {}, {}
        for (name, _), count in incl.items():
            incl_by_name[name] = incl_by_name.get(name, 0) + count
        for f in rep["functions"]:
            prof_incl_by_name[f["name"]] = prof_incl_by_name.get(f["name"], 0) + f["inclusive"]
        own = [f["name"] for f in rep["functions"] if f["dso"] == "cfuncs" and f["name"] != "fib"]
        self.assertGreater(len(own), 10)
        for name in own + ["printf"]:
            self.assertEqual(incl_by_name[name], prof_incl_by_name[name], name)

    def test_callgrind_source_lines_match_by_line(self):
        db, rep = self.recorded("cfuncs")
        path = self.callgrind_file(db)
        source = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "programs", "cfuncs.c")
        r = run(["report", "-i", db, "--by", "line", "--format", "json", "--top", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        by_line = {}
        for row in json.loads(r.stdout)["lines"]:
            if row["file"] and os.path.realpath(row["file"]) == os.path.realpath(source):
                by_line[row["line"]] = by_line.get(row["line"], 0) + row["count"]
        self.assertGreater(len(by_line), 10)
        self.assertEqual(annotated_source(path, source), by_line)

    def test_callgrind_instruction_positions(self):
        db, rep = self.recorded("cfuncs")
        with open(self.callgrind_file(db)) as f:
            text = f.read()
        # main's cost lines: "0xADDR LINE COUNT", at objdump's instruction addresses.
        main_id = re.search(r"fn=\((\d+)\) main\n", text).group(1)
        block = re.search(r"^fn=\(%s\)(?: main)?\n((?:.*\n)*?)\n" % main_id, text, re.M)
        self.assertIsNotNone(block, "no fn= main block")
        addrs = [int(l.split()[0], 16) for l in block.group(1).splitlines()
                 if re.match(r"^0x[0-9a-f]+ \d+ \d+$", l)]
        self.assertGreater(len(addrs), 10)
        self.assertLessEqual(set(addrs), objdump_addresses(program("cfuncs"), "main"))
        # Calls name the callee's entry and sit at the call instruction.
        self.assertRegex(block.group(1), r"cfn=\(\d+\)(?: fib)?\ncalls=1 0x[0-9a-f]+ 51\n0x[0-9a-f]+ 69 28605\n")

    def test_callgrind_sample_mode_callers(self):
        # main, a and b are on every sampled stack but never at its top: their
        # calls still make their inclusive counts.
        db, rep = self.recorded("proportion", "30", mode="sample")
        incl = annotate(self.callgrind_file(db), inclusive=True)
        for f in rep["functions"]:
            if f["dso"] == "proportion" and f["name"] in ("main", "a", "b", "leaf"):
                self.assertEqual(incl[(f["name"], f["dso"])], f["inclusive"], f["name"])
        self.assertGreater(incl[("main", "proportion")], 0)

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

    def test_svg_sized_to_data_and_inverted(self):
        db, rep = self.recorded("cfuncs")
        graphs = {}
        for name, extra in (("flame", []), ("icicle", ["--inverted"])):
            path = os.path.join(self.dir, name + ".svg")
            r = run(["report", "-i", db, "--svg", path, *extra])
            self.assertEqual(r.returncode, 0, r.stderr)
            root, frames = self.svg_frames(path)
            graphs[name] = (root, {t.split("\n")[0]: float(rect.get("y")) for t, rect in frames},
                            [float(rect.get("y")) for _, rect in frames])
            # Interactive and self-contained: the script is inside, nothing is fetched.
            with open(path) as f:
                text = f.read()
            self.assertIn("<script", text)
            self.assertNotRegex(text, r"(src|href)=\"(?!#)")
            # Every frame names its caller's frame and carries its count.
            for g in root.iter(SVG + "g"):
                if g.get("class") == "f" and g.get("id") != "f0":
                    self.assertTrue(g.get("data-p").startswith("f"))
                    self.assertGreater(int(g.get("data-n")), 0)
        flame, icicle = graphs["flame"][1], graphs["icicle"][1]
        # Sized to what is drawn: the deepest drawn frame is at the top of the
        # flame graph, the root at the top of the icicle; same height.
        self.assertEqual(min(graphs["flame"][2]), 66.0)
        self.assertEqual(max(graphs["icicle"][2]), max(graphs["flame"][2]))
        self.assertEqual(icicle["all"], 66.0)
        self.assertEqual(graphs["flame"][0].get("height"), graphs["icicle"][0].get("height"))
        self.assertLess(flame["main (cfuncs)"], flame["all"])
        self.assertGreater(icicle["main (cfuncs)"], icicle["all"])
        self.assertEqual(flame["all"] - flame["main (cfuncs)"], icicle["main (cfuncs)"] - icicle["all"])

    def test_diff_svg(self):
        dbs = [self.recorded(name)[0] for name in ("diffprog_O0", "diffprog_O2")]
        path = os.path.join(self.dir, "diff.svg")
        r = run(["diff", *dbs, "--svg", path])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("checksum", r.stdout)  # the table is still printed
        _, frames = self.svg_frames(path)
        titles = {t.split("\n")[0]: (t, rect) for t, rect in frames}
        title, rect = titles["checksum (diffprog_O2)"]
        m = re.search(r"^([\d,]+) instructions.*\nbase ([\d,]+), change -([\d,]+) \(-[\d.]+%\)$", title, re.M)
        self.assertIsNotNone(m, title)
        new, base, change = (int(g.replace(",", "")) for g in m.groups())
        self.assertEqual(base - new, change)
        self.assertRegex(rect.get("fill"), r"^rgb\(\d+,\d+,255\)$")  # shrank: blue
        r = run(["diff", *reversed(dbs), "--svg", path])
        _, frames = self.svg_frames(path)
        rect = {t.split("\n")[0]: rect for t, rect in frames}["checksum (diffprog_O0)"]
        self.assertRegex(rect.get("fill"), r"^rgb\(255,\d+,\d+\)$")  # grew: red
        r = run(["diff", *dbs, "--svg", os.path.join(self.dir, "no", "such", "dir.svg")])
        self.assertNotEqual(r.returncode, 0)
        # Besides the warning that the two builds ran different commands:
        errors = [l for l in r.stderr.splitlines() if not l.startswith("prof: warning: ")]
        self.assertEqual(len(errors), 1, r.stderr)
        self.assertIn("cannot write", errors[0])

    def test_svg_unwritable(self):
        db, _ = self.recorded("calls")
        r = run(["report", "-i", db, "--svg", os.path.join(self.dir, "no", "such", "dir.svg")])
        self.assertOneErrorLine(r, "cannot write")


if __name__ == "__main__":
    unittest.main(verbosity=2)
