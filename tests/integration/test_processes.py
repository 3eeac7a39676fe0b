"""Threads, child processes, exec, signals and attach, in step mode."""
import json
import os
import signal
import subprocess
import time
import unittest

from proftest import (MODE, PROF, Attachee, ProfTestCase, functions, program, query, record, report_json, run,
                      traced_child, tracer_of, wait_until)


def code_snapshot(pid):
    """The process's executable mappings and their bytes: what prof must leave as it found it."""
    maps, code = [], []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            if "x" in fields[1] and not line.rstrip().endswith("[vsyscall]"):
                maps.append(line.rstrip())
    with open("/proc/%d/mem" % pid, "rb") as mem:
        for line in maps:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            mem.seek(start)
            code.append(mem.read(end - start))
    return maps, code


def work_count(n):
    """work(n) in tests/programs/work.S executes 2n + 2 instructions."""
    return 2 * n + 2


class Threads(ProfTestCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.shared = tempfile.TemporaryDirectory(prefix="proftest-threads-")
        cls.sdb = os.path.join(cls.shared.name, "threads.db")
        r = record(cls.sdb, [program("threads")])
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def test_every_thread_counted_exactly(self):
        rep = report_json(self.sdb)
        names = {t["name"]: t for t in rep["threads"]}
        self.assertEqual(set(names), {"threads", "blocker", "worker-1", "worker-2", "worker-3"})
        self.assertEqual(sum(t["count"] for t in rep["threads"]), rep["total"])
        self.assertEqual(len({t["pid"] for t in rep["threads"]}), 1)
        expected = {"threads": work_count(500)}
        expected.update({"worker-%d" % n: work_count(1000 * n) for n in (1, 2, 3)})
        for name, count in expected.items():
            per_thread = report_json(self.sdb, "--tid", str(names[name]["tid"]))
            self.assertEqual(functions(per_thread).get("work"), count, name)
        self.assertEqual(functions(rep)["work"], sum(expected.values()))

    def test_by_thread_text(self):
        out = run(["report", "-i", self.sdb, "--by", "thread"]).stdout
        rows = [l.split() for l in out.splitlines() if l.strip().endswith(("worker-3", "blocker"))]
        self.assertEqual(len(rows), 2, out)
        self.assertTrue(all(r[2].isdigit() and r[3].isdigit() for r in rows))

    def test_pid_filter(self):
        rep = report_json(self.sdb)
        pid = rep["threads"][0]["pid"]
        self.assertEqual(report_json(self.sdb, "--pid", str(pid))["total"], rep["total"])
        self.assertEqual(report_json(self.sdb, "--pid", str(pid + 100000))["total"], 0)


class ManyThreads(ProfTestCase):
    def test_hundreds_of_threads_started_at_once(self):
        """Many threads create threads at once, so many new threads stop
        before their creator's clone event is seen: each is kept until then
        (once a 64-entry buffer dropped the 65th, and prof never ended)."""
        spawners, each = (16, 12) if MODE == "block" else (8, 12)  # step: ~17 us an instruction
        total = spawners * (1 + each)
        db = self.db()
        r = record(db, [program("many_threads"), str(spawners), str(each)], timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "%d threads\n" % total)
        self.assertEqual(query(db, "SELECT COUNT(*) FROM threads"), [(total + 1,)])
        self.assertEqual(query(db, "SELECT COUNT(*) FROM threads WHERE id NOT IN"
                               " (SELECT thread FROM insns)"), [(0,)])


class Processes(ProfTestCase):
    def shell_twice(self, *extra):
        loop = program("loop")
        return record(self.db(), ["/bin/sh", "-c", "%s; %s; true" % (loop, loop)], extra=extra)

    def test_fork_exec_chain(self):
        r = self.shell_twice()
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = report_json(self.db())
        loop_rows = [f for f in rep["functions"] if f["dso"] == "loop"]
        self.assertEqual([(f["name"], f["count"]) for f in loop_rows], [("_start", 2 * 5006)])
        procs = query(self.db(), "SELECT id, pid, ppid, exe, exit_status FROM processes ORDER BY id")
        shell_pid = procs[0][1]
        loops = [p for p in procs if p[3].endswith("/loop")]
        self.assertEqual(len(loops), 2)
        self.assertTrue(all(p[2] == shell_pid and p[4] == 0 for p in loops), procs)
        # Each exec'd child first appears as a copy of the shell, then as loop.
        for p in loops:
            self.assertIn(p[1], [q[1] for q in procs if q[3] != p[3]])

    def test_no_follow_fork(self):
        r = self.shell_twice("--no-follow-fork")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(query(self.db(), "SELECT * FROM processes")), 1)
        self.assertNotIn("loop", {f["dso"] for f in report_json(self.db())["functions"]})

    def test_exec_from_non_leader_thread(self):
        r = record(self.db(), [program("thread_exec"), program("loop")])
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = report_json(self.db())
        self.assertEqual([f["count"] for f in rep["functions"] if f["dso"] == "loop"], [5006])
        procs = query(self.db(), "SELECT pid, exe, exit_status FROM processes ORDER BY id")
        self.assertEqual(len(procs), 2)
        self.assertEqual(procs[0][0], procs[1][0])       # same pid, new image
        self.assertTrue(procs[1][1].endswith("/loop"))
        self.assertEqual(procs[1][2], 0)


class Signals(ProfTestCase):
    def test_handler_counted_and_signal_recorded(self):
        r = record(self.db(), [program("sighandler")])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(functions(report_json(self.db()))["handler"], 203)
        self.assertEqual([s for (s,) in query(self.db(), "SELECT signo FROM signals")], [signal.SIGUSR1])

    def test_crash_exit_status_and_valid_database(self):
        r = record(self.db(), [program("segv")])
        self.assertEqual(r.returncode, 139)
        self.assertTrue(report_json(self.db())["complete"])


class Attach(ProfTestCase):
    """The attached program (attachee -) lives until the test ends it, and
    each step waits for an event (prof traces every thread, the program
    answers a ping): nothing depends on how fast prof starts or the machine
    runs (once, a fixed 1.5 s program exited before a loaded machine's prof
    had attached, and the attach failed)."""

    def attach(self, *extra):
        p = Attachee()
        self.addCleanup(p.kill)
        rec = subprocess.Popen([PROF, "record", "-q", "--mode", MODE, "-o", self.db(), *extra,
                                "-p", str(p.pid)], stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: rec.poll() is None and rec.kill())
        return p, rec

    def test_attach_duration_and_detach(self):
        p = Attachee()
        self.addCleanup(p.kill)
        before = code_snapshot(p.pid)
        r = run(["record", "-q", "--mode", MODE, "-o", self.db(), "-p", str(p.pid), "--duration", "0.5"],
                timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        after = code_snapshot(p.pid)
        # No int3 left behind, no scratch page, nothing moved.
        self.assertEqual(before[0], after[0])
        self.assertTrue(before[1] == after[1], "the program's code changed under prof")
        p.ping()
        p.finish(self)
        rep = report_json(self.db())
        # Whether work ran inside the half second depends on the machine's
        # load: test_ctrl_c_detaches checks the counting, after a ping.
        self.assertEqual(len(rep["threads"]), 2, "both threads seized")
        self.assertEqual(query(self.db(), "SELECT value FROM meta WHERE key = 'attached_pid'"), [(str(p.pid),)])

    def test_ctrl_c_detaches(self):
        p, rec = self.attach()
        p.wait_traced_by(rec.pid)
        p.ping()  # it ran under prof: there is something to count
        rec.send_signal(signal.SIGINT)
        _, err = rec.communicate(timeout=60)
        self.assertEqual(rec.returncode, 0, err)
        self.assertEqual(tracer_of(p.pid), 0, "detached")
        p.ping()
        p.finish(self)
        self.assertGreater(functions(report_json(self.db())).get("work", 0), 0)

    def test_process_exits_while_attached(self):
        p, rec = self.attach()
        p.wait_traced_by(rec.pid)
        p.finish(self)  # it ends while prof traces it
        _, err = rec.communicate(timeout=60)
        self.assertEqual(rec.returncode, 0, err)
        self.assertEqual(query(self.db(), "SELECT exit_status FROM processes"), [(0,)])

    def test_exited_process_named(self):
        # A zombie (exited, not yet reaped by its parent) refuses ptrace with
        # EPERM, as another user's process does: prof names the real cause.
        p = subprocess.Popen([program("loop")])
        self.addCleanup(p.wait)
        state = lambda: open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()[0]
        wait_until("loop to exit", lambda: state() == "Z")
        r = run(["record", "-o", self.db(), "-p", str(p.pid)])
        self.assertOneErrorLine(r, "cannot attach to %d: it has exited" % p.pid)
        self.assertFalse(os.path.exists(self.db()))

    def test_no_such_pid(self):
        self.assertOneErrorLine(run(["record", "-o", self.db(), "-p", "999999999"]), "no such process")
        self.assertFalse(os.path.exists(self.db()))

    def test_prof_itself(self):
        r = subprocess.run(["/bin/sh", "-c", 'exec "$0" record -o "$1" -p $$', PROF, self.db()],
                           capture_output=True, text=True)
        self.assertOneErrorLine(r, "prof itself")

    def test_already_traced(self):
        first = subprocess.Popen([PROF, "record", "-q", "-o", self.db("first.db"), "--", program("spin")])
        try:
            pid, tracer = traced_child(first.pid, with_tracer=True)
            r = run(["record", "-o", self.db(), "-p", str(pid)])
            self.assertOneErrorLine(r, "already traced by process %d" % tracer)
        finally:
            first.send_signal(signal.SIGINT)
            first.wait(timeout=30)

    def test_pid_and_program_conflict(self):
        self.assertOneErrorLine(run(["record", "-p", "1", "--", "/bin/true"]), "not both")



@unittest.skipUnless(MODE == "cache", "the code cache's stress test")
class CacheStress(ProfTestCase):
    """16 threads started and joined three times while the main thread forks
    and execs, 20 recordings in a row: the program's own functions and each
    thread's spin() count as block mode counts them, every time."""

    def own(self, db):
        # PLT stubs resolve lazily in whichever thread comes first.
        counts = {f["name"]: f["count"] for f in report_json(db)["functions"]
                  if f["dso"] == "stress_threads" and "plt" not in f["name"]}
        # What each thread ran of the program's own code (spin() for its
        # own length in each worker): a multiset, as thread ids vary.
        per_thread = [n for n, in query(
            db, "SELECT SUM(i.count) FROM insns i JOIN threads t ON t.id = i.thread"
                " JOIN maps m ON m.proc = t.proc AND i.pc >= m.start AND i.pc < m.\"end\""
                " WHERE m.path LIKE '%stress_threads' GROUP BY t.id ORDER BY 1")]
        return counts, per_thread

    def test_twenty_runs_in_a_row(self):
        ref = record(self.db("block.db"), [program("stress_threads")], mode="block")
        self.assertEqual(ref.returncode, 0, ref.stderr)
        want = self.own(self.db("block.db"))
        self.assertEqual(len(want[1]), 3 * 16 + 4)  # 48 workers, main, 3 forked children
        for run_no in range(20):
            with self.subTest(run=run_no):
                db = self.db("cache%d.db" % run_no)
                r = record(db, [program("stress_threads")], mode="cache")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, ref.stdout)
                self.assertEqual(self.own(db), want)

if __name__ == "__main__":
    unittest.main(verbosity=2)
