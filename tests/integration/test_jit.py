"""JIT code named through perf maps and jitdumps; counts of code reused at
one address kept apart; names and code kept in the recording; bad JIT files.

tests/programs/jit_reuse.c runs two functions at the same address, one
after the other: jit_first (2002 instructions) and jit_second (6002)."""
import glob
import os
import shutil
import subprocess
import sys
import unittest

from proftest import (EXACT_MODES, ProfTestCase, fixed_env, functions, program, query,
                      record, report_json, run)

JIT = program("jit_reuse")
FIRST, SECOND = 2002, 6002


class JitTestCase(ProfTestCase):
    def record_jit(self, *args, mode="cache", db=None, argv=None):
        db = db or self.db()
        r = run(["record", "-q", "--mode", mode, "-o", db, "--",
                 *(argv or [JIT, *args])], cwd=self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        for (pid,) in query(db, "SELECT pid FROM processes"):
            self.addCleanup(remove, "/tmp/perf-%d.map" % pid)
        return r, db

    def jit_rows(self, db):
        """{name: count} of the functions in anonymous memory."""
        return {f["name"]: f["count"] for f in report_json(db)["functions"]
                if f["dso"] == "[anon]"}


def remove(path):
    if os.path.exists(path):
        os.unlink(path)


class Reuse(JitTestCase):
    def test_each_function_gets_its_own_count(self):
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                _, db = self.record_jit(mode=mode, db=self.db(mode + ".db"))
                self.assertEqual(self.jit_rows(db), {"jit_first": FIRST, "jit_second": SECOND})
                # Both ran at one address, in two code generations.
                rows = query(db, "SELECT gen, SUM(count) FROM insns WHERE pc = ?"
                             " GROUP BY gen ORDER BY gen", 0x10000000)
                if rows:  # the fixed address was free
                    self.assertEqual(rows, [(0, 1), (1, 1)])

    def test_perf_map_alone_and_jitdump_alone(self):
        for only in ("--no-jitdump", "--no-perf-map"):
            with self.subTest(only=only):
                _, db = self.record_jit(only, db=self.db(only + ".db"))
                self.assertEqual(self.jit_rows(db), {"jit_first": FIRST, "jit_second": SECOND})
                sources = {s for (s,) in query(db, "SELECT DISTINCT source FROM jit_symbols")}
                self.assertEqual(sources, {"jitdump" if only == "--no-perf-map" else "perf-map"})

    def test_names_and_code_outlive_the_files(self):
        _, db = self.record_jit()
        pid = query(db, "SELECT pid FROM processes")[0][0]
        remove("/tmp/perf-%d.map" % pid)
        for dump in glob.glob(os.path.join(self.dir, "jit-*.dump")):
            os.unlink(dump)
        self.assertEqual(self.jit_rows(db), {"jit_first": FIRST, "jit_second": SECOND})
        r = run(["annotate", "-i", db, "jit_first"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("from the jitdump", r.stdout)
        self.assertIn("mov ecx, 0x3e8", r.stdout)
        self.assertRegex(r.stdout, r"\n +1,000 .*dec ecx")
        r = run(["annotate", "-i", db, "jit_second"])
        self.assertIn("mov ecx, 0xbb8", r.stdout)
        self.assertRegex(r.stdout, r"\n +3,000 .*jne")

    def test_annotate_from_the_bytes_prof_decoded(self):
        _, db = self.record_jit("--no-jitdump", mode="block")
        r = run(["annotate", "-i", db, "jit_second"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("the instructions prof decoded", r.stdout)
        self.assertRegex(r.stdout, r"\n +3,000 .*dec ecx")

    def test_sql_views(self):
        _, db = self.record_jit()
        out = subprocess.run(["sqlite3", db, "SELECT function, dso, instructions FROM"
                              " function_instructions WHERE function LIKE 'jit_%'"],
                             capture_output=True, text=True, check=True).stdout
        self.assertEqual(sorted(out.split()), sorted(["jit_first|[anon]|%d" % FIRST,
                                                      "jit_second|[anon]|%d" % SECOND]))
        total = query(db, "SELECT SUM(count) FROM insns")[0][0]
        self.assertEqual(query(db, "SELECT SUM(instructions) FROM function_instructions")[0][0],
                         total)
        self.assertEqual(query(db, "SELECT SUM(instructions) FROM class_instructions")[0][0], total)
        names = dict(query(db, "SELECT syscall, calls FROM syscall_summary"))
        self.assertGreaterEqual(names["munmap"], 1)
        self.assertIn("mmap", names)


class BadJitFiles(JitTestCase):
    def warnings(self, r):
        return [l for l in r.stderr.splitlines() if l.startswith("prof: warning:")]

    def test_hostile_perf_map(self):
        r, db = self.record_jit("--hostile-map", "--no-jitdump")
        pid = query(db, "SELECT pid FROM processes")[0][0]
        lines = self.warnings(r)
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("/tmp/perf-%d.map" % pid, lines[0])
        self.assertIn("3 entries used", lines[0])
        # The name with an escape sequence is kept escaped: no ESC reaches a terminal.
        rows = self.jit_rows(db)
        self.assertEqual(rows, {"jit_\\x1b[31mfirst": FIRST, "jit_second": SECOND})
        text = run(["report", "-i", db, "--top", "0"]).stdout
        self.assertNotIn("\x1b", text)
        self.assertIn("jit_\\x1b[31mfirst", text)

    def test_malformed_jitdump_is_used_in_part(self):
        r, db = self.record_jit("--bad-jitdump", "--no-perf-map")
        lines = self.warnings(r)
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], r"jit-\d+\.dump .*impossible record size.*1 entry used")
        self.assertEqual(self.jit_rows(db), {"jit_first": FIRST, "[anon]": SECOND})

    def test_truncated_jitdump_is_used_in_part(self):
        r, db = self.record_jit("--cut-jitdump", "--no-perf-map")
        lines = self.warnings(r)
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], r"jit-\d+\.dump .*ends inside a record.*2 entries used")
        self.assertEqual(self.jit_rows(db), {"jit_first": FIRST, "jit_second": SECOND})

    def test_foreign_perf_map_is_ignored(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to give the file to another user")
        r, db = self.record_jit("--foreign-map", "--no-jitdump")
        lines = self.warnings(r)
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("owned by uid 65534", lines[0])
        self.assertEqual(self.jit_rows(db), {"[anon]": FIRST + SECOND})

    def test_perf_map_of_an_earlier_process_is_not_read(self):
        # The shell leaves a perf map naming the JIT's address, then becomes
        # (exec, same pid) a program that writes none.
        script = ('printf "10000000 1000 stale\\n" > /tmp/perf-$$.map; '
                  'exec "$0" --no-perf-map --no-jitdump')
        _, db = self.record_jit(argv=["/bin/sh", "-c", script, JIT])
        names = {f["name"] for f in report_json(db)["functions"]}
        self.assertNotIn("stale", names)
        self.assertIn("[anon]", names)


class Node(JitTestCase):
    """node's JIT names its code in a perf map (--perf-basic-prof) or a
    jitdump (--perf-prof). V8 decides by itself when and how far to optimize
    hot(): its name is JS:~hot, JS:^hot or JS:*hot."""

    SCRIPT = ("function hot(n) { let s = 0; for (let i = 0; i < n; i++) s = (s + i * 7) % 1000003;"
              " return s; }\nlet t = 0; for (let k = 0; k < 200; k++) t += hot(2000);\n"
              "console.log(t);\n")

    def setUp(self):
        super().setUp()
        if not shutil.which("node"):
            self.skipTest("node is not installed (make deps installs it)")

    def record_node(self, flag):
        with open(os.path.join(self.dir, "hot.js"), "w") as f:
            f.write(self.SCRIPT)
        db = self.db()
        # A clean environment (NODE_EXTRA_CA_CERTS alone costs node 400M
        # instructions) and no helper threads: a tenth of the time.
        r = subprocess.run([os.environ.get("PROF", "build/prof"), "record", "-q", "-o", db, "--",
                            "node", "--single-threaded", "--v8-pool-size=0", flag, "hot.js"],
                           cwd=self.dir, env=fixed_env(),
                           capture_output=True, text=True, timeout=900)
        self.assertEqual(r.returncode, 0, r.stderr)
        for (pid,) in query(db, "SELECT pid FROM processes"):
            self.addCleanup(remove, "/tmp/perf-%d.map" % pid)
        return db

    def check_hot(self, db):
        rows = [f for f in report_json(db)["functions"] if f["dso"] == "[anon]"]
        hot = [f for f in rows if f["name"].startswith(("JS:~hot ", "JS:^hot ", "JS:*hot "))]
        self.assertTrue(hot, [f["name"] for f in rows][:10])
        self.assertEqual(rows[0]["name"], hot[0]["name"], "hot() is the hottest JIT code")
        # Its count is the sum of its instructions' counts, by SQL.
        by_sql = {}  # a function the JIT compiled twice (OSR, then whole) has a row per code
        for name, n in query(db, "SELECT function, instructions FROM function_instructions"
                             " WHERE dso = '[anon]'"):
            by_sql[name] = by_sql.get(name, 0) + n
        for f in hot:
            self.assertEqual(by_sql[f["name"]], f["count"])
        anon = sum(f["count"] for f in rows)
        self.assertGreater(sum(f["count"] for f in hot), anon // 2)
        return hot

    def test_perf_basic_prof(self):
        db = self.record_node("--perf-basic-prof")
        self.check_hot(db)
        self.assertGreater(query(db, "SELECT COUNT(*) FROM jit_symbols WHERE source = 'perf-map'")[0][0], 100)

    def test_perf_prof_jitdump(self):
        db = self.record_node("--perf-prof")
        hot = self.check_hot(db)
        self.assertGreater(query(db, "SELECT COUNT(*) FROM jit_symbols WHERE source = 'jitdump'"
                                 " AND blob IS NOT NULL")[0][0], 100)
        for dump in glob.glob(os.path.join(self.dir, "jit-*.dump")):
            os.unlink(dump)
        r = run(["annotate", "-i", db, hot[0]["name"]])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("from the jitdump", r.stdout)
        counts = [int(l.split()[0].replace(",", "")) for l in r.stdout.splitlines()
                  if l[:15].strip().replace(",", "").isdigit()]
        self.assertEqual(sum(counts), hot[0]["count"])


class Java(JitTestCase):
    """HotSpot writes its perf map at exit with -XX:+DumpPerfMapAtExit. The
    JVM's start (100 million instructions, many threads changing code) costs
    minutes in an exact mode: sample mode runs it at full speed, and hot()
    runs for CPU time, not for an amount of work."""

    SOURCE = ("public class Hot {\n"
              "  static int hot(int n) { int s = 0; for (int i = 0; i < n; i++)"
              " s = (s + i * 7) % 1000003; return s; }\n"
              "  static long cpuMillis() {"
              " return ProcessHandle.current().info().totalCpuDuration().orElseThrow().toMillis(); }\n"
              "  public static void main(String[] a) { long start = cpuMillis(), t = 0;\n"
              "    while (cpuMillis() - start < 300) for (int k = 0; k < 100; k++) t += hot(1000);\n"
              "    System.out.println(t); }\n}\n")

    def test_dump_perf_map_at_exit(self):
        if not shutil.which("java") or not shutil.which("javac"):
            self.skipTest("java is not installed (make deps installs it)")
        src = os.path.join(self.dir, "Hot.java")
        with open(src, "w") as f:
            f.write(self.SOURCE)
        subprocess.run(["javac", "-d", self.dir, src], check=True, env=fixed_env())
        db = self.db()
        r = subprocess.run([os.environ.get("PROF", "build/prof"), "record", "-q", "--mode", "sample",
                            "-o", db, "--", "java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                            "-XX:CICompilerCount=1", "-XX:-UsePerfData",
                            "-XX:+UnlockDiagnosticVMOptions", "-XX:+DumpPerfMapAtExit",
                            "-cp", self.dir, "Hot"], env=fixed_env(), capture_output=True,
                           text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        for (pid,) in query(db, "SELECT pid FROM processes"):
            self.addCleanup(remove, "/tmp/perf-%d.map" % pid)
        report = report_json(db)
        rows = [f for f in report["functions"] if f["dso"] == "[anon]"]
        hot = [f for f in rows if f["name"] == "int Hot.hot(int)"]
        self.assertEqual(len(hot), 1, [f["name"] for f in rows][:10])
        self.assertEqual(rows[0]["name"], "int Hot.hot(int)", "hot() is the hottest JIT code")
        by_sql = {}  # a function the JIT compiled twice (OSR, then whole) has a row per code
        for name, n in query(db, "SELECT function, instructions FROM function_instructions"
                             " WHERE dso = '[anon]'"):
            by_sql[name] = by_sql.get(name, 0) + n
        self.assertEqual(by_sql["int Hot.hot(int)"], hot[0]["count"])
        # Most of the 300 ms of CPU time went to hot().
        self.assertGreater(hot[0]["count"], report["total"] // 4)


if __name__ == "__main__":
    unittest.main()
