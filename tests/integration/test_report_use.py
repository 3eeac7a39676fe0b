"""Everyday use of prof report: tables that fit the terminal, --sym regular
expressions and exact names, C++ names as users write them, and options that
either combine or are refused with one line."""
import csv
import fcntl
import io
import os
import pty
import struct
import subprocess
import tempfile
import termios
import unittest

from proftest import PROF, ProfTestCase, functions, program, record, report_json, run

FIRST = "a_rather_long_function_name_that_two_functions_share_until_the_very_end_first"
SECOND = "a_rather_long_function_name_that_two_functions_share_until_the_very_end_second"


def on_terminal(args, columns):
    """prof's stdout as a terminal of the given width shows it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    p = subprocess.Popen([PROF] + args, stdout=slave, stderr=subprocess.PIPE,
                         env=dict(os.environ, NO_COLOR="1"))
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    p.wait(timeout=60)
    p.stderr.close()
    return b"".join(chunks).decode().replace("\r\n", "\n"), p.returncode


def table_rows(text):
    return [l for l in text.splitlines() if "%" in l and l.lstrip()[:1].isdigit()]


class Recorded(ProfTestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.TemporaryDirectory(prefix="proftest-use-")
        cls.long_db = os.path.join(cls.shared.name, "long.db")
        cls.cxx_db = os.path.join(cls.shared.name, "cxx.db")
        for db, prog in ((cls.long_db, "longnames"), (cls.cxx_db, "cxxprog")):
            r = record(db, [program(prog)], mode="block")
            assert r.returncode in (0, 1), r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()


class Width(Recorded):
    def test_terminal_rows_fit_and_stay_distinct(self):
        for columns in (80, 100):
            text, rc = on_terminal(["report", "-i", self.long_db], columns)
            self.assertEqual(rc, 0, text)
            lines = [l for l in text.splitlines() if l]
            self.assertTrue(lines)
            for l in lines:
                self.assertLessEqual(len(l), columns, "%d columns: %r" % (columns, l))
            # The two long names: shortened with … in the middle, still distinct.
            names = [l.split("|")[0].split()[-2] for l in table_rows(text)
                     if l.split("|")[0].split()[-1] == "longnames" and "\u2026" in l]
            self.assertEqual(len(names), 2, text)
            self.assertNotEqual(names[0], names[1])
            self.assertTrue(any(n.startswith("a_rather") and n.endswith("first") for n in names), names)

    def test_call_graph_fits_too(self):
        text, rc = on_terminal(["report", "-i", self.long_db, "--call-graph", "--top", "30"], 80)
        self.assertEqual(rc, 0, text)
        self.assertIn("call graph", text)
        for l in text.splitlines():
            self.assertLessEqual(len(l), 80, l)
        self.assertIn("\u2026", text.split("call graph")[1])
        full = run(["report", "-i", self.long_db, "--call-graph", "--top", "30"]).stdout
        self.assertIn("callee", full)
        self.assertIn(FIRST, full.split("call graph")[1])

    def test_narrow_terminal_drops_class_columns_and_says_so(self):
        text, _ = on_terminal(["report", "-i", self.long_db], 80)
        wide, _ = on_terminal(["report", "-i", self.long_db, "--wide"], 80)
        self.assertIn("hidden to fit the terminal; --wide shows all", text)
        header = [l for l in text.splitlines() if "function" in l and "|" in l][0]
        wide_header = [l for l in wide.splitlines() if "function" in l and "|" in l][0]
        self.assertLess(len(header.split("|")[1].split()), len(wide_header.split("|")[1].split()))
        self.assertIn(FIRST, wide)
        self.assertIn(SECOND, wide)
        self.assertNotIn("\u2026", wide)

    def test_pipe_gets_full_names(self):
        out = run(["report", "-i", self.long_db]).stdout
        self.assertIn(FIRST, out)
        self.assertIn(SECOND, out)
        self.assertNotIn("\u2026", out)
        self.assertNotIn("hidden", out)

    def test_pipe_does_not_pad_to_the_longest_name(self):
        # C++ names run to thousands of columns: a long one pushes its own
        # line to the right, the other lines keep a column at most 48 wide.
        for args in ([], ["--by", "line", "--top", "0"]):
            with self.subTest(args=args):
                out = run(["report", "-i", self.long_db, "--top", "0", *args]).stdout
                rows = table_rows(out)
                longest = max(rows, key=len)
                short = [l for l in rows if " main " in l][0]
                self.assertGreater(len(longest), len(short) + 20, out)
                # main's column: 48 wide, then two spaces and the DSO.
                self.assertEqual(short.index(" longnames", short.index(" main ")) - short.index(" main "),
                                 1 + 48 + 1, short)

    def test_command_with_newline_keeps_header_one_line(self):
        db = self.db()
        self.assertIn(record(db, [program("longnames"), "one\ntwo"], mode="block").returncode, (0, 1))
        out = run(["report", "-i", db]).stdout
        self.assertIn("# command:  %s one\\ntwo\n" % program("longnames"), out)
        self.assertTrue(out.splitlines()[1].startswith("# mode:"), out)


class Matching(Recorded):
    def rows(self, db, *args):
        r = run(["report", "-i", db, "--format", "csv", "--top", "0", *args])
        self.assertEqual(r.returncode, 0, r.stderr)
        return [row["function"] for row in csv.DictReader(io.StringIO(r.stdout))]

    def test_sym_regex(self):
        all_names = self.rows(self.long_db)
        self.assertIn("main", all_names)
        substring = self.rows(self.long_db, "--sym", "main")
        self.assertIn("main", substring)
        self.assertTrue(any(n != "main" for n in substring), substring)   # dl_main, __libc_start_main...
        self.assertEqual(self.rows(self.long_db, "--sym", "^main$"), ["main"])
        self.assertEqual(sorted(self.rows(self.long_db, "--sym", "end_(first|second)$")), [FIRST, SECOND])

    def test_sym_exact(self):
        self.assertEqual(self.rows(self.long_db, "--sym-exact", "main"), ["main"])
        self.assertEqual(self.rows(self.cxx_db, "--sym-exact", "ns::twice<long>"),
                         ["long ns::twice<long>(long)"])
        self.assertEqual(self.rows(self.cxx_db, "--sym-exact", "ns::Widget::spin"),
                         ["ns::Widget::spin(int)"])

    def test_bad_regex(self):
        self.assertOneErrorLine(run(["report", "-i", self.long_db, "--sym", "(unclosed"]),
                                "not a regular expression")

    def test_annotate_template_as_written(self):
        want = functions(report_json(self.cxx_db))["long ns::twice<long>(long)"]
        for name in ("ns::twice<long>", "ns::twice<long>(long)", "long ns::twice<long>(long)"):
            r = run(["annotate", "-i", self.cxx_db, name])
            self.assertEqual(r.returncode, 0, name + ": " + r.stderr)
            self.assertIn("# function: long ns::twice<long>(long)", r.stdout)
            counts = [int(l.split()[0].replace(",", "")) for l in r.stdout.splitlines()
                      if l[:1] == " " and l.split()[0].replace(",", "").isdigit()]
            self.assertEqual(sum(counts), want)


class Combinations(Recorded):
    def test_csv_call_graph(self):
        r = run(["report", "-i", self.long_db, "--format", "csv", "--call-graph", "--sym", "^main$"])
        self.assertEqual(r.returncode, 0, r.stderr)
        arcs = list(csv.DictReader(io.StringIO(r.stdout)))
        out_of_main = {a["callee"]: int(a["calls"]) for a in arcs if a["caller"] == "main"}
        self.assertEqual(out_of_main.get(FIRST), 1, r.stdout)
        self.assertEqual(out_of_main.get(SECOND), 1, r.stdout)
        first = [a for a in arcs if a["callee"] == FIRST][0]
        self.assertGreater(int(first["inclusive"]), 300)

    def test_refused_with_one_line(self):
        refused = [
            (["--format", "callgrind", "--call-graph"], "does not apply to --format callgrind"),
            (["--format", "folded", "--sym", "main"], "does not apply to --format folded"),
            (["--format", "callgrind", "--top", "5"], "does not apply"),
            (["--svg", "-", "--format", "json"], "--svg does not combine with --format"),
            (["--svg", "-", "--by", "dso"], "does not apply to --svg"),
            (["--format", "folded", "--syscalls"], "--syscalls does not apply"),
            (["--by", "dso", "--call-graph"], "--call-graph does not combine with --by dso"),
            (["--by", "class", "--sym", "main"], "--sym does not combine with --by class"),
            (["--by", "thread", "--dso", "libc.so.6"], "--dso does not combine with --by thread"),
            (["--syscalls", "--call-graph"], "--call-graph does not combine with --syscalls"),
            (["--syscalls", "--by", "dso"], "--by does not combine with --syscalls"),
            (["--format", "csv", "--by", "line", "--sort", "name"], "--sort does not combine"),
        ]
        for args, fragment in refused:
            with self.subTest(args=args):
                r = run(["report", "-i", self.long_db, *args])
                self.assertOneErrorLine(r, fragment)
                self.assertEqual(r.stdout, "")

    def test_combinations_that_work(self):
        for args in (["--format", "json", "--call-graph"], ["--format", "json", "--syscalls"],
                     ["--format", "csv", "--syscalls"], ["--by", "dso", "--percent-limit", "1"],
                     ["--by", "line", "--top", "3"], ["--format", "callgrind"],
                     ["--call-graph", "--sym", "^main$", "--top", "1"]):
            with self.subTest(args=args):
                r = run(["report", "-i", self.long_db, *args])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                self.assertTrue(r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
