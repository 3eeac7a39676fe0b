"""Helpers for integration tests: run the real prof binary on real programs.

ctest sets PROF (the binary) and PROGRAMS (the built test programs)."""
import json
import os
import sqlite3
import subprocess
import tempfile
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


def traced_program(prof_pid):
    """(tracer pid, program pid) of a prof record launched as prof_pid: prof's
    process supervises the tracer, whose child is the program. Waits for the
    program to be started (never for a time)."""
    import time
    for _ in range(20000):
        kids = subprocess.run(["pgrep", "-P", str(prof_pid)], capture_output=True, text=True).stdout.split()
        grandkids = subprocess.run(["pgrep", "-P", kids[0]], capture_output=True,
                                   text=True).stdout.split() if kids else []
        if grandkids:
            return int(kids[0]), int(grandkids[0])
        time.sleep(0.005)
    raise AssertionError("prof %d never started its program" % prof_pid)


def fixed_env():
    """An environment that makes two runs of a program execute the same code."""
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}


def query(db, sql, *params):
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def functions(report):
    """{function name: count} of a JSON report (names assumed unique in tests)."""
    return {f["name"]: f["count"] for f in report["functions"]}


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
