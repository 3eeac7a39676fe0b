"""Issue 12: a recording never destroys a file, a report never lies.

Bad or hostile input: files at the output path, programs that cannot run,
damaged databases, write errors, signals. Each case gets one error line
and a non-zero exit, and loses no data."""
import json
import os
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import time
import unittest

from proftest import (PROF, ProfTestCase, program, query, query_ro, record, report_json, run, traced_child,
                      wait_recording, wait_until)


def slurp(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def meta(db):
    return dict(query(db, "SELECT key, value FROM meta"))


class OutputSafety(ProfTestCase):
    """-o replaces only a prof database, and only once the program runs."""

    def refused(self, path):
        r = record(path, [program("loop")])
        self.assertOneErrorLine(r, "not replacing it")
        self.assertEqual(r.returncode, 2)
        self.assertFalse(os.path.exists(path + ".old"), "nothing may be rotated")

    def test_directory(self):
        d = self.db("adir")
        os.mkdir(d)
        self.refused(d)
        self.assertTrue(os.path.isdir(d))

    def test_fifo(self):
        f = self.db("fifo")
        os.mkfifo(f)
        self.refused(f)
        self.assertTrue(stat.S_ISFIFO(os.stat(f).st_mode))

    def test_device_node(self):
        # A private copy of /dev/null: a broken prof must never get the real one.
        dev = self.db("null")
        try:
            os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            self.skipTest("creating a device node needs root")
        r = record(dev, [program("loop")])
        self.assertOneErrorLine(r, "not a regular file")
        self.assertEqual(r.returncode, 2)
        self.assertTrue(stat.S_ISCHR(os.stat(dev).st_mode))

    def test_the_program_itself(self):
        app = self.db("app")
        shutil.copy(program("loop"), app)
        before = slurp(app, "rb")
        for _ in range(2):
            self.refused(app)
        self.assertEqual(slurp(app, "rb"), before)

    def test_other_file_and_old_name(self):
        f = self.db("notes.txt")
        with open(f, "w") as out:
            out.write("my notes\n")
        self.refused(f)
        self.assertEqual(slurp(f), "my notes\n")
        # A user's file at DB.old is not overwritten by the rotation either.
        db = self.db()
        self.assertEqual(record(db, [program("loop")]).returncode, 0)
        with open(db + ".old", "w") as out:
            out.write("keep\n")
        r = record(db, [program("loop")])
        self.assertOneErrorLine(r, "not replacing it")
        self.assertEqual(slurp(db + ".old"), "keep\n")

    def test_recording_being_written(self):
        db = self.db()
        p = subprocess.Popen([PROF, "record", "-q", "-o", db, "--", program("spin")])
        try:
            wait_recording(db)
            r = record(db, [program("loop")])
            self.assertOneErrorLine(r, "%s: being recorded by prof (pid %d)" % (db, p.pid))
            self.assertEqual(r.returncode, 2)
        finally:
            p.send_signal(signal.SIGINT)
            p.wait(timeout=30)
        self.assertFalse(os.path.exists(db + ".old"))
        self.assertEqual(meta(db)["state"], "incomplete")

    def test_one_recorder_per_output(self):
        # Recorders started together: each one either records (and a
        # recording it finds becomes .old) or is refused, naming the one
        # that records; never a file that is not a prof database, a missing
        # table or a recording moved under its recorder (once all three).
        db = self.db()
        for n in range(8):
            runs = [subprocess.Popen([PROF, "record", "-q", "-o", db, "--", program("loop")],
                                     stderr=subprocess.PIPE, text=True) for _ in range(3)]
            results = [(p.pid, p.wait(timeout=120), p.stderr.read()) for p in runs]
            for p in runs:
                p.stderr.close()
            for pid, code, err in results:
                if code != 0:
                    self.assertEqual(code, 2, err)
                    self.assertRegex(err, r"^prof: %s: being recorded by prof \(pid (%s)\)\n$"
                                     % (re.escape(db), "|".join(str(p) for p, _, _ in results)))
            self.assertIn(0, [code for _, code, _ in results], results)
            for path in (db, db + ".old"):
                if os.path.exists(path):
                    self.assertEqual(report_json(path)["total"], 5006, (n, path))
                    self.assertTrue(report_json(path)["complete"])
            self.assertFalse(os.path.exists(db + "-lock"))

    def test_recording_is_rotated(self):
        db = self.db()
        self.assertEqual(record(db, [program("loop")]).returncode, 0)
        self.assertEqual(record(db, [program("loop")]).returncode, 0)
        self.assertTrue(os.path.exists(db + ".old"))
        self.assertGreater(report_json(db + ".old")["total"], 0)

    def unrunnable(self, path, code):
        db = self.db()
        self.assertEqual(record(db, [program("loop")]).returncode, 0)
        total = report_json(db)["total"]
        for _ in range(2):  # two failed tries must not cost the recording
            r = record(db, [path])
            self.assertOneErrorLine(r, "cannot run")
            self.assertEqual(r.returncode, code)
        self.assertFalse(os.path.exists(db + ".old"))
        self.assertEqual(report_json(db)["total"], total)

    def test_random_bytes_with_exec_bit(self):
        path = self.db("random")
        with open(path, "wb") as f:
            f.write(os.urandom(4096).replace(b"#!", b"xx"))
        os.chmod(path, 0o755)
        self.unrunnable(path, 126)

    def test_foreign_elf(self):
        path = self.db("foreign")
        data = bytearray(slurp(program("loop"), "rb"))
        data[18:20] = (183).to_bytes(2, "little")  # e_machine = AArch64
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o755)
        self.unrunnable(path, 126)

    def test_refused_attach_keeps_recording(self):
        db = self.db()
        self.assertEqual(record(db, [program("loop")]).returncode, 0)
        # A process another prof traces cannot be attached to (EPERM).
        other = subprocess.Popen([PROF, "record", "-q", "-o", self.db("other.db"), "--",
                                  program("attachee"), "30"])
        try:
            traced = str(traced_child(other.pid))
            r = run(["record", "-q", "-o", db, "-p", traced], timeout=30)
            self.assertOneErrorLine(r, "cannot attach")
            self.assertNotEqual(r.returncode, 0)
        finally:
            other.send_signal(signal.SIGINT)
            other.wait(timeout=30)
        self.assertFalse(os.path.exists(db + ".old"))
        self.assertGreater(report_json(db)["total"], 0)


def page_size(db):
    return query(db, "PRAGMA page_size")[0][0]


def overwrite_page(db, page, data):
    """Writes data over page number page (1-based) of db."""
    with open(db, "r+b") as f:
        f.seek((page - 1) * len(data))
        f.write(data)


class DamagedRecordings(ProfTestCase):
    """A damaged database is one error line and exit 1, never a wrong report."""

    def setUp(self):
        super().setUp()
        self.good = self.db("good.db")
        self.assertEqual(record(self.good, [program("calls")]).returncode, 0)

    def damaged(self, name="bad.db"):
        bad = self.db(name)
        shutil.copy(self.good, bad)
        return bad

    def assertRefused(self, db, fragment):
        for args in (["report", "-i", db], ["report", "-i", db, "--format", "json"],
                     ["annotate", "-i", db, "outer"], ["diff", self.good, db]):
            r = run(args)
            self.assertOneErrorLine(r, fragment)
            # diff keeps 1 for a failed gate: its errors exit 2.
            self.assertEqual(r.returncode, 2 if args[0] == "diff" else 1, args)
            self.assertEqual(r.stdout, "", args)

    def test_damaged_table_pages(self):
        for table in ("maps", "meta", "arcs", "syscalls", "insns", "threads"):
            bad = self.damaged(table + ".db")
            root = query(bad, "SELECT rootpage FROM sqlite_schema WHERE name = ?", table)[0][0]
            overwrite_page(bad, root, os.urandom(page_size(bad)))
            self.assertRefused(bad, "database disk image is malformed")

    def test_meta_that_fails_to_read(self):
        """An error while reading meta (here a view that overflows for one key,
        past the open-time checks) is an error, never a missing value."""
        for key in ("state", "mode"):
            bad = self.damaged(key + ".db")
            con = sqlite3.connect(bad)
            con.execute("ALTER TABLE meta RENAME TO meta_rows")
            con.execute("CREATE VIEW meta(key, value) AS SELECT key, CASE WHEN key = '%s'"
                        " THEN abs(-9223372036854775807 - 1) ELSE value END FROM meta_rows" % key)
            con.commit()
            con.close()
            self.assertRefused(bad, "integer overflow")

    def impossible(self, sql):
        bad = self.damaged()
        con = sqlite3.connect(bad)
        con.execute(sql)
        con.commit()
        con.close()
        self.assertRefused(bad, "corrupt recording")

    def test_negative_count(self):
        self.impossible("UPDATE insns SET count = -5 WHERE pc = (SELECT MIN(pc) FROM insns)")

    def test_null_count(self):
        self.impossible("UPDATE insns SET count = NULL WHERE pc = (SELECT MIN(pc) FROM insns)")

    def test_unknown_class(self):
        self.impossible("UPDATE insns SET class = 99 WHERE pc = (SELECT MIN(pc) FROM insns)")

    def test_row_of_no_thread(self):
        self.impossible("UPDATE insns SET thread = 777 WHERE pc = (SELECT MIN(pc) FROM insns)")

    def test_map_of_no_process(self):
        self.impossible("UPDATE maps SET proc = 99")

    def test_negative_arc(self):
        self.impossible("UPDATE arcs SET calls = -1")

    def test_page_copied_over_another(self):
        # SQLite's quick_check passes this one (integrity_check does not):
        # the totals written when the recording was finished catch it.
        good = self.db("cfuncs.db")
        self.assertEqual(record(good, [program("cfuncs")]).returncode, 0)
        self.good = good
        bad = self.damaged()
        leaves = [n for n, in query(bad, "SELECT pageno FROM dbstat WHERE name = 'insns'"
                                         " AND pagetype = 'leaf' ORDER BY pageno")]
        self.assertGreater(len(leaves), 3)
        size = page_size(bad)
        with open(bad, "rb") as f:
            f.seek((leaves[1] - 1) * size)
            page = f.read(size)
        overwrite_page(bad, leaves[2], page)
        self.assertEqual(query(bad, "PRAGMA quick_check"), [("ok",)])
        self.assertRefused(bad, "corrupt recording: its rows no longer add up to the totals")

    def test_count_edited(self):
        self.impossible("UPDATE insns SET count = count + 1 WHERE pc = (SELECT MIN(pc) FROM insns)")


class WriteErrors(ProfTestCase):
    def test_stdout_is_dev_full(self):
        db = self.db()
        self.assertEqual(record(db, [program("calls")]).returncode, 0)
        for args in (["report", "-i", db], ["report", "-i", db, "--format", "json"],
                     ["report", "-i", db, "--format", "csv"], ["annotate", "-i", db, "outer"],
                     ["diff", db, db], ["--help"]):
            with open("/dev/full", "w") as full:
                r = subprocess.run([PROF] + args, stdout=full, stderr=subprocess.PIPE,
                                   text=True, timeout=60)
            self.assertOneErrorLine(r, "write error")
            self.assertEqual(r.returncode, 1, args)


class Recording(ProfTestCase):
    def test_duration_on_launched_program_is_incomplete(self):
        db = self.db()
        r = run(["record", "-o", db, "--duration", "0.5", "--", program("spin")], timeout=60)
        self.assertIn("incomplete", r.stderr)
        self.assertEqual(meta(db)["state"], "incomplete")
        self.assertFalse(report_json(db)["complete"])

    def test_numbers_are_validated(self):
        for value in ("inf", "1e300", "1e-7", "nan", "-1", "0", "1s", ""):
            r = run(["record", "-o", self.db(), "--duration", value, "--", program("loop")])
            self.assertOneErrorLine(r, "--duration")
            self.assertEqual(r.returncode, 2)
        self.assertFalse(os.path.exists(self.db()))
        for value in ("nan", "inf", "-1", "101", "x"):
            self.assertOneErrorLine(run(["report", "-i", self.db(), "--percent-limit", value]),
                                    "--percent-limit")
        for value in ("nan", "inf", "-101", "x"):
            self.assertOneErrorLine(run(["diff", "a.db", "b.db", "--fail-above", value]),
                                    "--fail-above")


class FullDisk(ProfTestCase):
    """A disk that fills up while prof records: what was committed before
    survives, the report reads it with a warning, and both say how much.
    Twice: on a 4 MiB tmpfs filled by a file (where one can be mounted), and
    with tests/programs/libdiskfull.so preloaded, which fills a directory's
    "disk" on demand (everywhere)."""

    def tearDown(self):
        mnt = os.path.join(self.dir, "small")
        if os.path.ismount(mnt):
            subprocess.run(["umount", "-l", mnt], check=True)
        super().tearDown()

    def committed(self, db):
        try:
            return query_ro(db, "SELECT TOTAL(count) FROM insns")[0][0]
        except sqlite3.Error:
            return 0

    def fill_tmpfs(self, mnt):
        with open(os.path.join(mnt, "filler"), "wb") as f:
            with self.assertRaises(OSError) as full:
                while True:
                    f.write(bytes(65536))
                    f.flush()
        self.assertEqual(full.exception.errno, 28)  # ENOSPC

    def test_tmpfs(self):
        mnt = os.path.join(self.dir, "small")
        os.mkdir(mnt)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "proftest", mnt],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a small tmpfs here (needs root); test_preload covers it: "
                          + r.stderr.strip())
        self.counts_committed_before_survive(mnt, lambda: self.fill_tmpfs(mnt), None)

    def test_preload(self):
        full = os.path.realpath(os.path.join(self.dir, "full"))
        os.mkdir(full)
        flag = os.path.join(self.dir, "disk-is-full")
        env = dict(os.environ, LD_PRELOAD=os.path.abspath(program("libdiskfull.so")),
                   PROF_TEST_FULL_DIR=full, PROF_TEST_FULL_FLAG=flag)
        if "ASAN_OPTIONS" in env:  # make sanitize: the preload comes before ASan's runtime
            env["ASAN_OPTIONS"] += ":verify_asan_link_order=0"
        self.counts_committed_before_survive(full, lambda: open(flag, "w").close(), env)

    def counts_committed_before_survive(self, where, fill, env):
        db = os.path.join(where, "full.db")
        p = subprocess.Popen([PROF, "record", "-o", db, "--", program("attachee"), "-"], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.assertEqual(p.stdout.readline(), "ready\n")
        wait_until("counts in " + db, lambda: self.committed(db) > 0)
        before = self.committed(db)
        fill()
        p.stdin.write("p")  # the program runs on, counted, on a full disk
        p.stdin.flush()
        self.assertEqual(p.stdout.readline(), "pong\n")
        out, err = p.communicate("", timeout=120)
        self.assertIn("checksum", out)
        self.assertEqual(p.returncode, 1, err)
        lines = err.splitlines()
        m = re.match(r"^prof: (.*): the disk is full: kept the counts of ([\d,]+) of ([\d,]+) instructions "
                     r"\([\d.]+%\), the rest is lost; the recording is marked incomplete$", lines[0])
        self.assertIsNotNone(m, err)
        kept, total = (int(x.replace(",", "")) for x in m.groups()[1:])
        self.assertEqual(m.group(1), db)
        self.assertRegex(lines[1], r"^prof: %s instructions, " % m.group(3))
        self.assertEqual(len(lines), 2, err)
        self.assertGreaterEqual(kept, before)
        self.assertLess(kept, total)
        # The report: what was kept, with one warning saying how much.
        r = run(["report", "-i", db, "--format", "json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["total"], kept)
        self.assertFalse(rep["complete"])
        self.assertEqual(rep["command"], program("attachee") + " -")
        self.assertEqual(r.stderr, "prof: warning: %s: the disk filled up while recording: the counts of %s of "
                         "%s instructions were kept (%.1f%%); the rest is lost\n"
                         % (db, m.group(2), m.group(3), 100.0 * kept / total))
        self.assertEqual(meta(db)["exit_status"], "0")  # the program's, kept after the disk filled
        self.assertFalse(os.path.exists(db + "-reserve"))


def blind_wait_env():
    """prof's environment with tests/programs/blind_wait.so preloaded: a signal
    that arrives while the tracer is about to wait is held until just before
    its blocking waitpid, where only a wake-up other than EINTR notices it."""
    env = dict(os.environ)
    env["LD_PRELOAD"] = program("blind_wait.so")
    # A sanitizer build of prof wants its runtime first; the preload is ours.
    env["ASAN_OPTIONS"] = ":".join(filter(None, (env.get("ASAN_OPTIONS"), "verify_asan_link_order=0")))
    return env


class SignalWakesTheTracer(ProfTestCase):
    """A program blocked for ever makes no child event: only the signal
    (--duration's SIGALRM, Ctrl-C's SIGINT) can end prof's wait for it."""

    def assertEndedIncomplete(self, r, db, code, what):
        self.assertEqual(r.returncode, code, "%s: %s" % (what, r.stderr))
        self.assertIn("incomplete", r.stderr, what)
        self.assertEqual(meta(db)["state"], "incomplete", what)

    def test_duration_ends_a_blocked_program(self):
        for i in range(20):
            call = ("pause", "read")[i % 2]
            env = blind_wait_env() if i % 4 < 2 else None
            what = "run %d: %s%s" % (i, call, ", preloaded" if env else "")
            db = self.db("run%d.db" % i)
            start = time.monotonic()
            r = subprocess.run([PROF, "record", "-o", db, "--duration", "0.3", "--",
                                program("blocked"), call], capture_output=True, text=True,
                               timeout=30, env=env)
            self.assertLess(time.monotonic() - start, 30, what)
            self.assertEndedIncomplete(r, db, 128 + signal.SIGKILL, what)

    def test_ctrl_c_ends_a_blocked_program(self):
        runs = [(mode, call, True) for mode in ("block", "step") for call in ("pause", "read")]
        runs.append(("block", "pause", False))
        for mode, call, preload in runs:
            what = "%s mode, %s%s" % (mode, call, ", preloaded" if preload else "")
            db = self.db("%s-%s-%d.db" % (mode, call, preload))
            p = subprocess.Popen([PROF, "record", "--mode", mode, "-o", db, "--",
                                  program("blocked"), call], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True,
                                 env=blind_wait_env() if preload else None)
            try:
                self.assertEqual(p.stdout.readline(), "blocked\n", what)
                time.sleep(0.3)  # into the blocking call, and into blind_wait's window
                p.send_signal(signal.SIGINT)  # to prof alone, not to the program
                out, err = p.communicate(timeout=30)
            finally:
                p.kill()
                p.wait()
            self.assertEndedIncomplete(subprocess.CompletedProcess(p.args, p.returncode, out, err),
                                       db, 128 + signal.SIGINT, what)


def set_meta(db, **values):
    con = sqlite3.connect(db)
    for key, value in values.items():
        con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", (key, str(value)))
    con.commit()
    con.close()


def start_time(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[19]


class StaleRecorder(ProfTestCase):
    def setUp(self):
        super().setUp()
        self.assertEqual(record(self.db(), [program("loop")]).returncode, 0)

    def test_reused_pid_is_not_a_live_recorder(self):
        # Our own pid is alive, but it was not the recorder: another start time.
        set_meta(self.db(), state="recording", recorder_pid=os.getpid(),
                 recorder_start=int(start_time(os.getpid())) + 1)
        r = run(["report", "-i", self.db()])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("stopped before finishing", r.stderr)

    def test_live_recorder_is_refused(self):
        set_meta(self.db(), state="recording", recorder_pid=os.getpid(),
                 recorder_start=start_time(os.getpid()))
        self.assertOneErrorLine(run(["report", "-i", self.db()]), "still being written")


class DiffGate(ProfTestCase):
    def setUp(self):
        super().setUp()
        self.base = self.db("base.db")
        self.assertEqual(record(self.base, [program("calls")]).returncode, 0)

    def copy(self, name):
        path = self.db(name)
        shutil.copy(self.base, path)
        return path

    def test_incomplete_refused_unless_allowed(self):
        new = self.copy("new.db")
        set_meta(new, state="incomplete")
        r = run(["diff", self.base, new, "--fail-above", "5"])
        self.assertOneErrorLine(r, "incomplete")
        self.assertEqual(r.returncode, 2)
        self.assertNotIn("gate: passed", r.stdout)
        r = run(["diff", self.base, new, "--fail-above", "5", "--allow-incomplete"])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_emptied_tables_do_not_pass(self):
        new = self.copy("new.db")
        con = sqlite3.connect(new)
        con.execute("DELETE FROM insns")
        con.execute("DELETE FROM arcs")
        con.commit()
        con.close()
        r = run(["diff", self.base, new, "--fail-above", "5"])
        self.assertOneErrorLine(r, "no longer add up to the totals")
        self.assertEqual(r.returncode, 2)
        # Without its totals (a recording of an older prof): still refused.
        con = sqlite3.connect(new)
        con.execute("DELETE FROM meta WHERE key = 'totals'")
        con.commit()
        con.close()
        r = run(["diff", self.base, new, "--fail-above", "5"])
        self.assertOneErrorLine(r, "nothing to compare")
        self.assertEqual(r.returncode, 2)

    def test_different_commands_are_named(self):
        new = self.db("other.db")
        self.assertEqual(record(new, [program("loop")]).returncode, 0)
        r = run(["diff", self.base, new])
        self.assertIn("different commands", r.stderr)


NO_BUILD_ID_SOURCE = r"""
#include <stdio.h>
__attribute__((noinline)) long first(long n) { long s = 0; for (long i = 0; i < n; i++) s += i * K; return s; }
__attribute__((noinline)) long second(long n) { long s = 1; for (long i = 0; i < n; i++) s ^= i << 1; return s; }
int main(void) { printf("%ld\\n", first(N1) + second(N2)); return 0; }
"""


def as_schema_2(db):
    """Turns a recording into what prof wrote before schema 3: no code
    generations, no JIT tables, no names (report reads the binaries)."""
    con = sqlite3.connect(db)
    for (kind, name) in con.execute("SELECT type, name FROM sqlite_schema WHERE type IN"
                                    " ('view', 'table') AND name IN ('insn_names',"
                                    " 'function_instructions', 'line_instructions',"
                                    " 'class_instructions', 'syscall_summary', 'code_gens',"
                                    " 'code_blobs', 'code_seen', 'jit_symbols', 'functions',"
                                    " 'code_ranges', 'source_files', 'source_lines',"
                                    " 'direct_jumps', 'syscall_names', 'class_names')"
                                    " ORDER BY type = 'table'").fetchall():
        con.execute("DROP %s %s" % (kind.upper(), name))
    con.executescript("""
        CREATE TABLE insns2(thread INTEGER, pc INTEGER, class INTEGER, count INTEGER,
          PRIMARY KEY(thread, pc)) WITHOUT ROWID;
        INSERT INTO insns2 SELECT thread, pc, MIN(class), SUM(count) FROM insns GROUP BY thread, pc;
        DROP TABLE insns; ALTER TABLE insns2 RENAME TO insns;
        CREATE TABLE arcs2(thread INTEGER, caller_pc INTEGER, callee_pc INTEGER, calls INTEGER,
          inclusive INTEGER, outer_inclusive INTEGER, PRIMARY KEY(thread, caller_pc, callee_pc))
          WITHOUT ROWID;
        INSERT INTO arcs2 SELECT thread, caller_pc, callee_pc, SUM(calls), SUM(inclusive),
          SUM(outer_inclusive) FROM arcs GROUP BY thread, caller_pc, callee_pc;
        DROP TABLE arcs; ALTER TABLE arcs2 RENAME TO arcs;
        DELETE FROM meta WHERE key = 'names';
        PRAGMA user_version = 2;""")
    con.commit()
    con.close()


class ChangedBinaries(ProfTestCase):
    def build(self, path, k, n1, n2):
        src = path + ".c"
        with open(src, "w") as f:
            f.write(NO_BUILD_ID_SOURCE)
        subprocess.run(["gcc", "-O1", "-Wl,--build-id=none", "-DK=%d" % k, "-DN1=%d" % n1,
                        "-DN2=%d" % n2, "-o", path, src], check=True)

    def test_rebuilt_without_build_id_is_not_misread(self):
        app, db = self.db("app"), self.db()
        self.build(app, 3, 2000, 10)
        self.assertEqual(record(db, [app]).returncode, 0)
        old = self.db("old.db")
        shutil.copy(db, old)
        as_schema_2(old)  # a recording without names reads the binary
        for path in (db, old):
            names = {f["name"] for f in report_json(path)["functions"]}
            self.assertIn("first", names)
        os.utime(app)  # touched, same code: read as before, no warning
        r = run(["report", "-i", old])
        self.assertNotIn("changed since recording", r.stderr)
        expected = report_json(db)
        self.build(app, 7, 10, 2000)  # other code at other addresses
        r = run(["report", "-i", old, "--format", "json", "--top", "0"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("changed since recording", r.stderr)
        names = {f["name"] for f in json.loads(r.stdout)["functions"] if f["dso"] == "app"}
        self.assertEqual(names, {"[unknown]"})
        # The recording's own names do not depend on the binary at all.
        self.assertEqual(report_json(db), expected)
        r = run(["annotate", "-i", db, "first"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("changed since recording", r.stderr)
        self.assertIn("its code cannot be shown", r.stderr)
        self.assertIn("(code not in the recording)", r.stdout)

    def test_schema_1_recording_still_reads(self):
        db = self.db()
        self.assertEqual(record(db, [program("calls")]).returncode, 0)
        expected = report_json(db)
        as_schema_2(db)
        con = sqlite3.connect(db)
        for column in ("size", "mtime_ns", "text_hash"):
            con.execute("ALTER TABLE maps DROP COLUMN " + column)
        con.execute("PRAGMA user_version = 1")
        con.commit()
        con.close()
        self.assertEqual(report_json(db)["functions"], expected["functions"])

    def test_schema_2_recording_still_reads(self):
        db = self.db()
        self.assertEqual(record(db, [program("cfuncs")]).returncode, 0)
        expected = {args: run(["report", "-i", db, *args]).stdout
                    for args in (("--format", "json", "--top", "0"), ("--by", "line", "--top", "0"),
                                 ("--format", "callgrind"), ("--format", "folded"))}
        as_schema_2(db)
        for args, out in expected.items():
            r = run(["report", "-i", db, *args])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, out, args)

    def test_deleted_binary_reports_the_same_names(self):
        app, db = self.db("cfuncs"), self.db()
        shutil.copy(program("cfuncs"), app)
        self.assertEqual(record(db, [app]).returncode, 0)
        views = (("--format", "json", "--top", "0"), ("--by", "line", "--top", "0"),
                 ("--format", "csv"), ("--format", "callgrind"), ("--format", "folded"),
                 ("--call-graph", "--top", "5"))
        before = {args: run(["report", "-i", db, *args]).stdout for args in views}
        self.assertIn("sum_data", before[views[0]])
        os.unlink(app)
        for args in views:
            r = run(["report", "-i", db, *args])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "")
            self.assertEqual(r.stdout, before[args], args)
        r = run(["diff", db, db])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("sum_data", r.stdout)
        r = run(["annotate", "-i", db, "sum_data"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cannot read " + app, r.stderr)
        self.assertRegex(r.stdout, r"cfuncs.c:46")
        self.assertRegex(r.stdout, r"\n +2,000 .*\(code not in the recording\)")

    def test_map_path_now_a_fifo(self):
        app, db = self.db("app"), self.db()
        shutil.copy(program("loop"), app)
        self.assertEqual(record(db, [app]).returncode, 0)
        os.unlink(app)
        os.mkfifo(app)
        r = run(["report", "-i", db], timeout=20)  # the names are in the recording
        self.assertIn("_start", r.stdout)
        r = run(["annotate", "-i", db, "_start"], timeout=20)
        self.assertIn("cannot read " + app, r.stderr)
        old = self.db("old.db")
        shutil.copy(db, old)
        as_schema_2(old)
        r = run(["report", "-i", old], timeout=20)
        self.assertIn("cannot read " + app, r.stderr)


class ReadOnly(ProfTestCase):
    def test_reader_that_cannot_write_the_directory(self):
        db = self.db()
        self.assertEqual(record(db, [program("loop")]).returncode, 0)
        self.assertEqual(sorted(os.listdir(self.dir)), ["prof.db"], "one self-contained file")
        if os.geteuid() != 0:
            self.skipTest("needs root to run the reader as another user")
        os.chmod(self.dir, 0o755)
        os.chmod(db, 0o644)
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        r = subprocess.run(as_nobody + [PROF, "report", "-i", db, "--format", "json"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"complete": true', r.stdout)
        self.assertEqual(sorted(os.listdir(self.dir)), ["prof.db"])


if __name__ == "__main__":
    unittest.main()
