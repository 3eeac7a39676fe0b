"""prof record / prof report behaviour on good and bad input."""
import csv
import io
import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import unittest

from proftest import (DEFAULT_MODE, PROF, ProfTestCase, functions, program, query, record, report_json, run,
                      spin_ran, traced_child)


class BadInput(ProfTestCase):
    def test_no_arguments(self):
        r = subprocess.run([PROF], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("usage", r.stderr)

    def test_record_without_program(self):
        self.assertOneErrorLine(run(["record"]), "no program given")

    def test_unknown_option(self):
        self.assertOneErrorLine(run(["record", "--frobnicate", "--", "/bin/true"]), "--frobnicate")
        self.assertOneErrorLine(run(["report", "--frobnicate"]), "--frobnicate")

    def test_unknown_command(self):
        self.assertOneErrorLine(run(["frobnicate"]), "unknown command")

    def test_typo_names_the_command_meant(self):
        for typo, meant in (("recod", "record"), ("reprot", "report"), ("anotate", "annotate"), ("dif", "diff")):
            r = run([typo])
            self.assertOneErrorLine(r, "unknown command '%s': did you mean '%s'?" % (typo, meant))
            self.assertEqual(r.returncode, 2)
        self.assertNotIn("did you mean", run(["frobnicate"]).stderr)

    def test_help_command(self):
        for cmd in ("record", "report", "annotate", "diff"):
            r = run(["help", cmd])
            self.assertEqual((r.returncode, r.stderr), (0, ""))
            self.assertEqual(r.stdout, run([cmd, "--help"]).stdout)
            self.assertTrue(r.stdout.startswith("usage: prof " + cmd), r.stdout[:80])
        self.assertIn("commands:", run(["help"]).stdout)
        self.assertOneErrorLine(run(["help", "recod"]), "did you mean 'record'?")

    def test_bad_values_list_the_valid_ones(self):
        cases = ((["report", "--sort", "foo"], "unknown --sort key 'foo' (one of: count, inclusive, name)"),
                 (["report", "--by", "func"], "unknown --by key 'func' (one of: function, dso, class, thread,"
                                              " line, part; did you mean 'function'?)"),
                 (["report", "--format", "xml"], "unknown format 'xml' (one of: text, json, csv, callgrind,"
                                                 " folded)"),
                 (["diff", "a.db", "b.db", "--sort", "size"], "(one of: delta, base, new)"),
                 (["record", "--mode", "blok", "--", "/bin/true"], "(one of: cache, block, step, sample;"
                                                                   " did you mean 'block'?)"))
        for args, fragment in cases:
            with self.subTest(args=args):
                r = run(args)
                self.assertOneErrorLine(r, fragment)
                self.assertEqual(r.returncode, 2)

    def test_options_of_other_modes_are_refused(self):
        for args, fragment in ((["-F", "99"], "-F/--freq applies to sample mode only (this is cache mode)"),
                               (["--mode", "block", "--clock", "wall"], "--clock applies to sample mode only"),
                               (["--mode", "step", "--no-scratch"], "--no-scratch applies to block and cache"),
                               (["--mode", "sample", "--no-scratch"], "--no-scratch applies to block and cache")):
            with self.subTest(args=args):
                r = run(["record", "-o", self.db(), *args, "--", program("loop")])
                self.assertOneErrorLine(r, fragment)
                self.assertEqual(r.returncode, 2)
                self.assertFalse(os.path.exists(self.db()))

    def test_output_dash_is_refused(self):
        r = run(["record", "-o", "-", "--", program("loop")], cwd=self.dir)
        self.assertOneErrorLine(r, "-o -: a recording is an SQLite database")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(os.listdir(self.dir), [])

    def test_missing_program(self):
        r = run(["record", "-o", self.db(), "--", os.path.join(self.dir, "nope")])
        self.assertOneErrorLine(r, "No such file")
        self.assertEqual(r.returncode, 127)
        self.assertFalse(os.path.exists(self.db()), "no database for a program that never ran")

    def test_command_not_in_path(self):
        self.assertOneErrorLine(run(["record", "-o", self.db(), "--", "no-such-command-xyz"]),
                                "command not found")

    def test_non_executable_file(self):
        path = os.path.join(self.dir, "data.txt")
        with open(path, "w") as f:
            f.write("hello\n")
        r = run(["record", "-o", self.db(), "--", path])
        self.assertOneErrorLine(r, "not executable")
        self.assertEqual(r.returncode, 126)

    def test_missing_database(self):
        self.assertOneErrorLine(run(["report", "-i", self.db("absent.db")]), "no such database")

    def test_not_a_database(self):
        path = self.db("text.db")
        with open(path, "w") as f:
            f.write("this is not sqlite at all\n" * 100)
        self.assertOneErrorLine(run(["report", "-i", path]), "not a prof database")

    def test_foreign_sqlite_database(self):
        path = self.db("foreign.db")
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t(x)")
        con.commit()
        con.close()
        self.assertOneErrorLine(run(["report", "-i", path]), "not a prof database")

    def test_newer_schema(self):
        self.assertEqual(record(self.db(), [program("loop")]).returncode, 0)
        con = sqlite3.connect(self.db())
        version = con.execute("PRAGMA user_version").fetchone()[0]
        con.execute("PRAGMA user_version = %d" % (version + 1))
        con.commit()
        con.close()
        self.assertOneErrorLine(run(["report", "-i", self.db()]), "newer")

    def test_bad_report_values(self):
        self.assertOneErrorLine(run(["report", "--top", "many"]), "--top")
        self.assertOneErrorLine(run(["report", "--by", "colour"]), "colour")
        self.assertOneErrorLine(run(["report", "--format", "xml"]), "xml")


class Recording(ProfTestCase):
    def test_default_output_and_old_copy(self):
        r1 = run(["record", "-q", "--", program("loop")], cwd=self.dir)
        self.assertEqual(r1.returncode, 0, r1.stderr)
        first = query(self.db(), "SELECT value FROM meta WHERE key = 'start_time_ns'")
        r2 = run(["record", "-q", "--", program("calls")], cwd=self.dir)
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertTrue(os.path.exists(self.db("prof.db.old")))
        self.assertEqual(query(self.db("prof.db.old"), "SELECT value FROM meta WHERE key = 'start_time_ns'"), first)
        r3 = run(["report", "--format", "json"], cwd=self.dir)
        self.assertEqual(r3.returncode, 0, r3.stderr)
        self.assertIn("outer", functions(json.loads(r3.stdout)))

    def test_exit_status_passes_through(self):
        r = record(self.db(), ["/bin/sh", "-c", "exit 42"])
        self.assertEqual(r.returncode, 42, r.stderr)

    def test_killed_by_signal_gives_128_plus_n(self):
        r = record(self.db(), [program("segv")])
        self.assertEqual(r.returncode, 128 + signal.SIGSEGV)
        rep = report_json(self.db())
        self.assertEqual(rep["total"], 2)
        self.assertEqual(query(self.db(), "SELECT signo FROM signals"), [(signal.SIGSEGV,)])
        self.assertEqual(query(self.db(), "SELECT exit_status FROM processes"), [(128 + signal.SIGSEGV,)])

    def test_summary_line(self):
        r = run(["record", "-o", self.db(), "--", program("loop")])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stderr, r"prof: 5,006 instructions, 1 thread, 1 syscall, [\d.]+ s -> ")
        self.assertEqual(r.stderr.count("\n"), 1, "one summary line, no progress when not a terminal")

    def test_quiet_prints_nothing(self):
        r = record(self.db(), [program("loop")])
        self.assertEqual(r.stderr, "")

    def test_store_contents(self):
        self.assertEqual(record(self.db(), [program("syscalls")]).returncode, 3)
        meta = dict(query(self.db(), "SELECT key, value FROM meta"))
        for key in ("command", "mode", "start_time_ns", "wall_ns", "host", "kernel", "prof_version"):
            self.assertIn(key, meta)
        self.assertEqual(meta["state"], "complete")
        self.assertEqual(meta["mode"], "step")
        # WAL while recording; a finished recording is one self-contained file.
        self.assertEqual(query(self.db(), "PRAGMA journal_mode"), [("delete",)])
        rows = query(self.db(), "SELECT nr, arg0, arg2, ret FROM syscalls ORDER BY start_ns")
        self.assertEqual(rows[0][0], 1)            # write(1, msg, len) returns len
        self.assertEqual(rows[0][1], 1)
        self.assertEqual(rows[0][3], rows[0][2])
        self.assertEqual(rows[-1][0], 60)          # exit never returns
        self.assertIsNone(rows[-1][3])
        self.assertEqual(query(self.db(), "SELECT pid > 0, ppid > 0, exit_status FROM processes"), [(1, 1, 3)])
        maps = query(self.db(), "SELECT path, prot & 1 FROM maps")
        self.assertIn((os.path.realpath(program("syscalls")), 1), maps)

    def test_dynamic_library_mappings(self):
        self.assertEqual(record(self.db(), [program("cfuncs")]).returncode, 0)
        paths = {os.path.basename(p) for (p,) in query(self.db(), "SELECT path FROM maps")}
        self.assertTrue(any(p.startswith("libc.so") for p in paths), paths)
        self.assertTrue(any(p.startswith("ld-linux") for p in paths), paths)
        dsos = {f["dso"] for f in report_json(self.db())["functions"]}
        self.assertIn("cfuncs", dsos)
        self.assertTrue(any(d.startswith("libc.so") for d in dsos), dsos)

    def test_interrupt_leaves_valid_incomplete_database(self):
        # Every signal that would end prof ends the recording instead (issue 12).
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGUSR1, signal.SIGPIPE):
            db = self.db("int%d.db" % sig)
            p = subprocess.Popen([PROF, "record", "-q", "-o", db, "--", program("spin")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            spin_ran(traced_child(p.pid))
            p.send_signal(sig)
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 128 + sig, err)
            rep = report_json(db)
            self.assertFalse(rep["complete"])
            self.assertGreater(rep["total"], 1000)
            self.assertEqual(dict(query(db, "SELECT key, value FROM meta"))["state"], "incomplete")
            left = subprocess.run(["pgrep", "-f", "^" + program("spin")], capture_output=True)
            self.assertNotEqual(left.returncode, 0, "the traced program must be gone")

    def test_report_warns_about_incomplete(self):
        p = subprocess.Popen([PROF, "record", "-q", "-o", self.db(), "--", program("spin")])
        traced_child(p.pid)  # prof's handlers are in place
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
        r = run(["report", "-i", self.db()])
        self.assertEqual(r.returncode, 0)
        self.assertIn("INCOMPLETE", r.stdout)
        self.assertIn("interrupted", r.stderr)


class WhatTracingTakes(ProfTestCase):
    """A traced program cannot be traced again, and a tracer without
    CAP_SYS_PTRACE does not pass on setuid, setgid or file capabilities:
    one warning says so, rather than a silent difference."""

    def test_ptrace_refused(self):
        native = subprocess.run([program("selftrace")], capture_output=True, text=True)
        self.assertEqual(native.stdout, "traceme: ok\n")
        r = record(self.db(), [program("selftrace")], mode=DEFAULT_MODE)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "traceme: Operation not permitted\n")
        self.assertOneWarning(r.stderr, "%s (pid " % os.path.realpath(program("selftrace")),
                              "called ptrace and was refused: prof is already its tracer")

    def assertOneWarning(self, stderr, *fragments):
        lines = stderr.splitlines()
        self.assertEqual(len(lines), 1, stderr)
        self.assertTrue(lines[0].startswith("prof: warning: "), stderr)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def as_nobody(self, argv):
        """prof record ARGV run as user nobody, who has no capabilities."""
        out = os.path.join(self.dir, "out")
        os.makedirs(out, exist_ok=True)
        os.chown(out, 65534, -1)
        return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               PROF, "record", "-q", "-o", os.path.join(out, "n.db"), "--", *argv],
                              capture_output=True, text=True, timeout=300)

    def privileged_copy(self, name, setuid=False, caps=False):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv (util-linux)")
        os.chmod(self.dir, 0o755)
        path = os.path.join(self.dir, name)
        shutil.copy("/usr/bin/id", path)
        os.chmod(path, 0o4755 if setuid else 0o755)
        if caps:  # cap_net_raw=ep, as setcap writes it (struct vfs_cap_data, revision 2)
            os.setxattr(path, "security.capability", struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0))
        return path

    def test_setuid_program(self):
        idroot = self.privileged_copy("idroot", setuid=True)
        native = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                 idroot, "-u"], capture_output=True, text=True)
        if native.stdout != "0\n":
            self.skipTest("set-id bits are ignored here (nosuid): " + native.stdout)
        r = self.as_nobody([idroot, "-u"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "65534\n")  # not root: the kernel dropped it
        self.assertOneWarning(r.stderr, idroot + " is setuid root, which the kernel does not grant",
                              "CAP_SYS_PTRACE")
        # prof as root keeps it (the program may set its ids): no warning.
        r = record(self.db(), [idroot, "-u"], mode=DEFAULT_MODE)
        self.assertEqual((r.stdout, r.stderr), ("0\n", ""))

    def test_file_capabilities(self):
        idcap = self.privileged_copy("idcap", caps=True)
        r = self.as_nobody([idcap, "-u"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertOneWarning(r.stderr, idcap + " is given file capabilities prof does not have")
        r = record(self.db(), [idcap, "-u"], mode=DEFAULT_MODE)
        self.assertEqual(r.stderr, "")


class ReportFormats(ProfTestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.shared = tempfile.TemporaryDirectory(prefix="proftest-fmt-")
        cls.sdb = os.path.join(cls.shared.name, "calls.db")
        r = record(cls.sdb, [program("calls")])
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def report(self, *args):
        r = run(["report", "-i", self.sdb, *args])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_json_shape(self):
        rep = json.loads(self.report("--format", "json", "--top", "2"))
        self.assertEqual(rep["mode"], "step")
        self.assertEqual(rep["unit"], "instructions")
        self.assertIs(rep["complete"], True)
        self.assertEqual(rep["total"], 605)
        self.assertEqual([f["name"] for f in rep["functions"]], ["inner", "outer"])
        f = rep["functions"][0]
        self.assertEqual(set(f), {"name", "dso", "count", "percent", "inclusive", "classes"})
        self.assertEqual(f["inclusive"], 300)
        self.assertEqual(f["dso"], "calls")
        self.assertAlmostEqual(f["percent"], 100.0 * 300 / 605, places=3)
        self.assertEqual(sum(f["classes"].values()), f["count"])
        self.assertEqual(rep["syscalls"], [{"name": "exit", "nr": 60, "calls": 1, "errors": 0,
                                            "seconds": rep["syscalls"][0]["seconds"]}])
        self.assertEqual(len(rep["threads"]), 1)
        self.assertEqual(rep["threads"][0]["count"], 605)

    def test_top_zero_means_all(self):
        rep = json.loads(self.report("--format", "json", "--top", "0"))
        self.assertEqual(len(rep["functions"]), 4)
        self.assertEqual(sum(f["count"] for f in rep["functions"]), rep["total"])

    def test_text(self):
        out = self.report("--top", "20")
        self.assertIn("605 instructions", out)
        lines = [l for l in out.splitlines() if l.rstrip().endswith(tuple("0123456789.")) and "%" in l]
        self.assertEqual(len(lines), 4, out)
        self.assertRegex(lines[0], r"^\s*49\.59%\s+300\s+300\s+inner\s+calls\s+\|")
        # Aligned: the function column starts at the same offset on every row.
        self.assertEqual(len({l.index(n) for l, n in zip(lines, ["inner", "outer", "_start", "addimm"])}), 1)

    def test_csv(self):
        rows = list(csv.DictReader(io.StringIO(self.report("--format", "csv"))))
        self.assertEqual([r["function"] for r in rows], ["inner", "outer", "_start", "addimm"])
        self.assertEqual(int(rows[0]["count"]), 300)
        self.assertEqual(sum(int(rows[0][c]) for c in ("branch", "call", "ret", "syscall", "string", "simd",
                                                           "fp", "load", "store", "alu", "nop", "other")), 300)

    def test_by_dso_and_class(self):
        dso = self.report("--by", "dso")
        self.assertRegex(dso, r"100\.00%\s+605\s+calls")
        cls = list(csv.DictReader(io.StringIO(self.report("--by", "class", "--format", "csv"))))
        self.assertEqual(sum(int(r["count"]) for r in cls), 605)
        by = {r["class"]: int(r["count"]) for r in cls}
        self.assertEqual(by["call"], 10 + 50 + 10)   # _start->outer, outer->inner, _start->addimm
        self.assertEqual(by["ret"], by["call"])
        self.assertEqual(by["syscall"], 1)

    def test_row_options(self):
        rows = lambda *a: [r["function"] for r in csv.DictReader(io.StringIO(self.report("--format", "csv", *a)))]
        self.assertEqual(rows("--percent-limit", "10"), ["inner", "outer"])      # 49.6 % and 39.7 %
        self.assertEqual(rows("--sym", "er"), ["inner", "outer"])
        self.assertEqual(rows("--sort", "name"), ["_start", "addimm", "inner", "outer"])
        self.assertEqual(rows("--sort", "inclusive"), ["_start", "outer", "inner", "addimm"])
        self.assertEqual(rows("--dso", "nosuch.so"), [])
        self.assertEqual(len(rows("--dso", "calls")), 4)
        rep = json.loads(self.report("--format", "json", "--percent-limit", "45"))
        self.assertEqual([f["name"] for f in rep["functions"]], ["inner"])
        self.assertEqual(rep["total"], 605, "filters never change the total")

    def test_color(self):
        self.assertNotIn("\033[", self.report(), "plain when piped")
        self.assertIn("\033[1;31m", self.report("--color", "always"))
        self.assertNotIn("\033[", self.report("--color", "never"))

    def test_help(self):
        for cmd in ("record", "report", "diff", "annotate"):
            r = run([cmd, "--help"])
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("usage: prof " + cmd, r.stdout)
        r = subprocess.run([PROF, "--help"], capture_output=True, text=True)
        for cmd in ("record", "report", "diff", "annotate"):
            self.assertIn(cmd, r.stdout)
        self.assertRegex(subprocess.run([PROF, "--version"], capture_output=True, text=True).stdout,
                         r"^prof \d+\.\d+")

    def test_syscalls_table(self):
        db = os.path.join(self.shared.name, "sys.db")
        self.assertEqual(record(db, [program("syscalls")]).returncode, 3)
        r = run(["report", "-i", db, "--syscalls"])
        rows = {l.split()[-1]: l.split() for l in r.stdout.splitlines() if l[:1] in " 0123456789" and len(l.split()) >= 5}
        self.assertEqual(rows["close"][3:5], ["1", "1"])      # calls, errors
        self.assertEqual(rows["write"][3], "1")
        self.assertEqual(rows["total"][3:5], ["4", "1"])

    def test_exactness_losses_in_header_and_json(self):
        # A normal recording lost nothing and says nothing about it.
        self.assertNotIn("# lost:", self.report())
        self.assertEqual(json.loads(self.report("--format", "json"))["lost"], {})
        # What the recorder counted with tracer_lost (its meta "lost"):
        db = os.path.join(self.shared.name, "lost.db")
        shutil.copy(self.sdb, db)
        con = sqlite3.connect(db)
        con.execute("INSERT INTO meta(key, value) VALUES('lost', 'counters unreadable 2, a signal lost 1')")
        con.commit()
        con.close()
        out = run(["report", db]).stdout
        self.assertIn("\n# lost:     3 events cost exactness while recording: counters unreadable 2,"
                      " a signal lost 1\n", out)
        self.assertEqual(json.loads(run(["report", db, "--format", "json"]).stdout)["lost"],
                         {"counters unreadable": 2, "a signal lost": 1})

    def test_syscalls_sorted_by_time_and_file_as_argument(self):
        # As strace -c sorts them: the most time first (then the most calls).
        db = os.path.join(self.shared.name, "cfuncs.db")
        self.assertEqual(record(db, [program("cfuncs")], mode=DEFAULT_MODE).returncode, 0)
        out = run(["report", db, "--syscalls"]).stdout   # FILE, as -i FILE
        self.assertEqual(out, run(["report", "-i", db, "--syscalls"]).stdout)
        rows = [l.split() for l in out.splitlines() if re.match(r"^\s*\d+\.\d+ ", l)][:-1]
        self.assertGreater(len(rows), 10)
        # The table prints microseconds: rows whose times round alike may
        # stand in either order there; the JSON's exact times decide.
        seconds = [float(r[1]) for r in rows]
        self.assertEqual(seconds, sorted(seconds, reverse=True), out)
        exact = json.loads(run(["report", db, "--format", "json"]).stdout)["syscalls"]
        keys = [(s["seconds"], s["calls"]) for s in exact]
        self.assertEqual(keys, sorted(keys, reverse=True))
        self.assertEqual([s["name"] for s in exact][:len(rows)], [r[-1] for r in rows])
        self.assertOneErrorLine(run(["report", db, db]), "unexpected argument")
        self.assertOneErrorLine(run(["report", "-i", db, db]), "unexpected argument")


if __name__ == "__main__":
    unittest.main(verbosity=2)
