"""Helpers for integration tests: run the real prof binary on real programs.

ctest sets PROF (the binary) and PROGRAMS (the built test programs)."""
import json
import os
import sqlite3
import subprocess
import tempfile
import time
import unittest

PROF = os.environ.get("PROF", "build/prof")
PROGRAMS = os.environ.get("PROGRAMS", "build/tests/programs")
BENCH = os.environ.get("BENCH", "build/bench")
# The mode behaviour tests record in (ctest runs them once per mode).
MODE = os.environ.get("PROF_TEST_MODE", "step")


def program(name):
    return os.path.join(PROGRAMS, name)


def expect(name):
    with open(os.path.join(PROGRAMS, name + ".expect")) as f:
        return json.load(f)


def run(args, timeout=300, **kw):
    return subprocess.run([PROF] + args, capture_output=True, text=True, timeout=timeout, **kw)


# mode=DEFAULT_MODE records with prof's default exact mode, whichever it is.
DEFAULT_MODE = "default"
EXACT_MODES = ("step", "block", "cache")


def record(db, argv, mode=None, extra=(), timeout=300):
    mode = mode or MODE
    mode_args = [] if mode == DEFAULT_MODE else ["--mode", mode]
    return run(["record", "-q", *mode_args, "-o", db, *extra, "--", *argv], timeout=timeout)


def report_json(db, *extra):
    r = run(["report", "-i", db, "--format", "json", "--top", "0", *extra])
    if r.returncode != 0:
        raise AssertionError("prof report failed: " + r.stderr)
    return json.loads(r.stdout)


def fixed_env():
    """An environment that makes two runs of a program execute the same code."""
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


def query(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def query_ro(db, sql, *params):
    """query() without creating db or its WAL's index: for a recording being written."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def functions(report):
    """{function name: count} of a JSON report (names assumed unique in tests)."""
    return {f["name"]: f["count"] for f in report["functions"]}


def tracer_of(tid):
    """The pid tracing thread tid (0: none), from its status file; None once it is gone."""
    try:
        with open("/proc/%d/status" % tid) as f:
            for line in f:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return 0


def wait_until(what, condition, timeout=120):
    """Polls condition() until it holds: waits for an event, not for a
    guessed time (the timeout only ends a test that would hang)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.01)


def children(pid):
    return [int(k) for k in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                           text=True).stdout.split()]


def traced_child(prof_pid, with_tracer=False):
    """The pid of the program a `prof record -- PROGRAM` launched, once prof
    traces it (before that, it could still be attached to). prof's process
    supervises the tracer, its child, whose child the program is; with
    with_tracer, (program, tracer)."""
    found = []

    def ready():
        for tracer in children(prof_pid):
            traced = [k for k in children(tracer) if tracer_of(k) == tracer]
            if traced:
                found[:] = [traced[0], tracer]
                return True
        return False

    wait_until("a program traced under prof %d" % prof_pid, ready)
    return tuple(found) if with_tracer else found[0]


def wait_recording(db):
    """Waits until a running prof record has written db's meta (state recording)."""
    def state():
        try:  # read-only: connecting must not create the file prof is about to create
            return query_ro(db, "SELECT value FROM meta WHERE key = 'state'")
        except sqlite3.Error:  # not created yet, or its schema not committed
            return []
    wait_until(db + " to be recording", lambda: state() == [("recording",)])


def spin_ran(pid):
    """Waits until process pid has run in user space for a clock tick (a
    busy loop has then executed far more than a few thousand instructions)."""
    def utime():
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[11])
    wait_until("process %d to run" % pid, lambda: utime() > 0)


def fnv_naps(naps):
    """The checksum tests/programs/attachee.c computes over its naps."""
    h = 1469598103934665603
    for i in range(naps):
        h = ((h ^ i) * 1099511628211) % (1 << 64)
    return h


class Attachee:
    """tests/programs/attachee in its '-' mode: it runs until its standard
    input ends, so a test decides how long it lives, whatever the machine's
    load; ping() proves it ran since."""

    def __init__(self):
        self.proc = subprocess.Popen([program("attachee"), "-"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        assert self.proc.stdout.readline() == "ready\n"
        self.tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % self.pid))
        assert len(self.tids) == 2, self.tids

    def wait_traced_by(self, prof_pid):
        """Until every thread is traced by the tracer of `prof record` prof_pid
        (its child: prof's process supervises it): prof's real attach (its
        probe before it seizes only the main thread, and lets it go)."""
        def traced():
            tracers = children(prof_pid)
            return bool(tracers) and all(tracer_of(t) in tracers for t in self.tids)
        wait_until("process %d to be traced under prof %d" % (self.pid, prof_pid), traced)

    def ping(self):
        self.proc.stdin.write("p")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line == "pong\n", line

    def finish(self, test):
        """Ends the program and checks its exit status and checksums."""
        out, _ = self.proc.communicate(timeout=120)
        test.assertEqual(self.proc.returncode, 0, "the program must survive prof")
        lines = out.splitlines()
        test.assertEqual(len(lines), 2, out)
        for n, line in enumerate(lines, 1):
            f = line.split()
            test.assertEqual((f[0], f[1], f[2], f[4]), ("thread", str(n), "naps", "checksum"), line)
            test.assertEqual(int(f[5], 16), fnv_naps(int(f[3])), line)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


class ProfTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="proftest-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def db(self, name="prof.db"):
        return os.path.join(self.dir, name)

    def assertOneErrorLine(self, result, fragment):
        self.assertNotEqual(result.returncode, 0, result.stderr)
        lines = [l for l in result.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "expected one error line, got: %r" % result.stderr)
        self.assertTrue(lines[0].startswith("prof: "), lines[0])
        self.assertIn(fragment, lines[0])
