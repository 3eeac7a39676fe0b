"""Attaching never harms the program: attach/detach cycles on busy programs
(every thread computing, the leader blocked, the leader a zombie, threads
starting and ending all along, handlers for the signals prof uses), a
server under requests, a stopped program, a process that exits as prof
attaches. The programs check their own results and exit 0; any harm makes
them fail or die."""
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

from proftest import PROF, ProfTestCase, program, query, report_json, wait_recording

CYCLES = {"cache": 12, "block": 6, "sample": 4, "step": 3}


def tracer_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return 0


def who_is(pid):
    """A process's name, parent and command line, for a failure message."""
    try:
        with open("/proc/%d/status" % pid) as f:
            fields = dict(l.split(":", 1) for l in f if ":" in l)
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        return "%d (%s, tgid %s, parent %s: %s)" % (pid, fields["Name"].strip(), fields["Tgid"].strip(),
                                                     fields["PPid"].strip(), cmd)
    except (OSError, KeyError):
        return "%d (gone)" % pid


def proc_state(pid):
    """The state letter of a process (its leader): R, S, T (stopped), t (at a ptrace stop)..."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def stop_taken(pid):
    """Whether the process has taken a SIGSTOP sent to it (no longer pending)
    and stands stopped (T, or t under a tracer)."""
    with open("/proc/%d/status" % pid) as f:
        fields = dict(l.split(":", 1) for l in f if ":" in l)
    return not int(fields["ShdPnd"], 16) & (1 << (signal.SIGSTOP - 1)) and \
        proc_state(pid) in ("t", "T")


def wait_until(check, what):
    """Waits for an event the test causes (never for an amount of time)."""
    for _ in range(60000):
        if check():
            return
        time.sleep(0.005)
    raise AssertionError("never happened: " + what)


def code_snapshot(pid):
    """The executable mappings and their bytes, and the whole address map."""
    with open("/proc/%d/maps" % pid) as f:
        lines = [l.rstrip() for l in f]
    maps = [l for l in lines if "x" in l.split()[1] and not l.endswith("[vsyscall]")]
    code = []
    with open("/proc/%d/mem" % pid, "rb") as mem:
        for line in maps:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            mem.seek(start)
            code.append(mem.read(end - start))
    return lines, code


class Busy:
    """busy THREADS OPTIONS..., started and waited for its first round."""

    def __init__(self, *options, threads=4):
        self.p = subprocess.Popen([program("busy"), str(threads), *options], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if line != "ready\n":
            raise AssertionError("busy did not start: %r %s" % (line, self.p.stderr.read()))

    def alive(self):
        return self.p.poll() is None

    def finish(self):
        if self.alive():
            self.p.send_signal(signal.SIGUSR1)
        out, err = self.p.communicate(timeout=120)
        return self.p.returncode, out, err


class AttachCycles(ProfTestCase):
    def cycle(self, pid, mode, duration="0.3"):
        return subprocess.run([PROF, "record", "-q", "--mode", mode, "-p", str(pid), "--duration",
                               duration, "-o", self.db(mode + ".db")], capture_output=True, text=True,
                              timeout=120)

    def cycles(self, mode, *options, n=None):
        busy = Busy(*options)
        try:
            for i in range(n or CYCLES[mode]):
                r = self.cycle(busy.p.pid, mode)
                self.assertEqual(r.returncode, 0, "cycle %d: %s" % (i, r.stderr))
                self.assertTrue(busy.alive(), "the program died after cycle %d" % i)
        finally:
            code, out, err = busy.finish()
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "ok 1\n")

    def test_every_thread_busy(self):
        for mode in CYCLES:
            with self.subTest(mode=mode):
                self.cycles(mode)

    def test_leader_blocked(self):
        for mode in ("cache", "block"):
            with self.subTest(mode=mode):
                self.cycles(mode, "blocked", n=20 if mode == "cache" else 5)

    def test_zombie_leader_threads_coming_and_going(self):
        """The leader has left by pthread_exit, a thread keeps starting and
        joining others, and SIGSEGV and SIGTRAP have handlers that exit 3
        (SIGTRAP blocked): nothing of prof's may reach them."""
        for mode in ("cache", "block", "step"):
            with self.subTest(mode=mode):
                self.cycles(mode, "zombie", "churn", "handlers", n=5)

    def test_stopped_program_stays_stopped(self):
        """Attached while stopped (SIGSTOP), the program runs nothing under
        prof (PTRACE_LISTEN, not PTRACE_CONT) and is still stopped after."""
        for mode in ("cache", "block"):
            with self.subTest(mode=mode):
                busy = Busy()
                try:
                    os.kill(busy.p.pid, signal.SIGSTOP)
                    r = self.cycle(busy.p.pid, mode)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    with open("/proc/%d/stat" % busy.p.pid) as f:
                        state = f.read().rsplit(")", 1)[1].split()[0]
                    self.assertEqual(state, "T", "the program must still be stopped")
                    ran = query(self.db(mode + ".db"), "SELECT COALESCE(SUM(count), 0) FROM insns")
                    self.assertEqual(ran, [(0,)], "the stopped program ran under prof")
                    os.kill(busy.p.pid, signal.SIGCONT)
                    r = self.cycle(busy.p.pid, mode)
                    self.assertEqual(r.returncode, 0, r.stderr)
                finally:
                    os.kill(busy.p.pid, signal.SIGCONT)
                    code, out, err = busy.finish()
                self.assertEqual((code, out), (0, "ok 1\n"), err)

    def test_stopped_while_attached(self):
        """Stopped by SIGSTOP while prof records it, then detached: every
        thread is in its group-stop, yet prof's int3s and memory go (one of
        them runs prof's cleanup, and stops again); SIGCONT finds it whole."""
        for mode in ("cache", "block"):
            with self.subTest(mode=mode):
                busy = Busy()
                try:
                    before = code_snapshot(busy.p.pid)
                    db = self.db(mode + "-stopped.db")
                    rec = subprocess.Popen([PROF, "record", "-q", "--mode", mode, "-p", str(busy.p.pid),
                                            "-o", db], stderr=subprocess.PIPE, text=True)
                    wait_recording(db)
                    os.kill(busy.p.pid, signal.SIGSTOP)
                    wait_until(lambda: stop_taken(busy.p.pid), "the program took its SIGSTOP")
                    rec.send_signal(signal.SIGINT)
                    _, err = rec.communicate(timeout=120)
                    self.assertEqual(rec.returncode, 0, err)
                    # (detached, each thread goes back into the group-stop)
                    wait_until(lambda: proc_state(busy.p.pid) == "T", "the program stopped again")
                    after = code_snapshot(busy.p.pid)
                    self.assertEqual(before[0], after[0], "prof's memory left in the program")
                    self.assertTrue(before[1] == after[1], "the program's code changed under prof")
                finally:
                    os.kill(busy.p.pid, signal.SIGCONT)
                    code, out, err = busy.finish()
                self.assertEqual((code, out), (0, "ok 1\n"), err)

    def test_process_exits_as_prof_attaches(self):
        """A program that ends at once: prof attaches or says it could not,
        in one line, and never hangs."""
        for i in range(10):
            p = subprocess.Popen([program("busy"), "2"], stdout=subprocess.PIPE, text=True)
            p.stdout.readline()
            p.send_signal(signal.SIGUSR1)
            r = self.cycle(p.pid, "cache")
            p.wait(timeout=60)
            self.assertEqual(p.returncode, 0)
            if r.returncode != 0:
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class ProfKilled(ProfTestCase):
    def test_sigkill_to_prof_leaves_the_program_unharmed(self):
        """kill -9 of prof's pid (what timeout -s KILL and the OOM killer do):
        the tracer detaches as on Ctrl-C, the program runs on unchanged."""
        for mode in ("cache", "block"):
            with self.subTest(mode=mode):
                busy = Busy()
                try:
                    before = code_snapshot(busy.p.pid)
                    rec = subprocess.Popen([PROF, "record", "-q", "--mode", mode, "-p", str(busy.p.pid),
                                            "-o", self.db(mode + ".db")], stderr=subprocess.PIPE)
                    # prof's own pid checks it may attach (seizes, stops and
                    # detaches at once), then its child, the tracer, attaches:
                    # the tracer is the first other than prof's pid, read once.
                    seen = []
                    wait_until(lambda: seen.append(tracer_of(busy.p.pid)) or
                               seen[-1] not in (0, rec.pid), "the tracer attached")
                    tracer = seen[-1]
                    rec.kill()
                    rec.wait(timeout=60)
                    wait_until(lambda: not os.path.exists("/proc/%d" % tracer), "the tracer ended")
                    now = tracer_of(busy.p.pid)
                    self.assertEqual(now, 0, "traced by %s after the tracer %d ended" %
                                     (who_is(now), tracer))
                    self.assertTrue(busy.alive())
                    after = code_snapshot(busy.p.pid)
                    self.assertEqual(before[0], after[0], "prof's memory left in the program")
                    self.assertTrue(before[1] == after[1], "the program's code changed under prof")
                finally:
                    code, out, err = busy.finish()
                self.assertEqual((code, out), (0, "ok 1\n"), err)


class Sandboxes(ProfTestCase):
    def test_seccomp_filter_that_kills_on_mmap(self):
        """The program forbids mmap and mprotect (the process is killed for
        one), then starts a thread: prof must never make them for it."""
        alone = subprocess.run([program("sandboxed")], capture_output=True, text=True)
        self.assertEqual(alone.returncode, 0)
        own = {}
        for mode in ("step", "block", "cache"):
            with self.subTest(mode=mode):
                db = self.db(mode + ".db")
                r = subprocess.run([PROF, "record", "-q", "--mode", mode, "-o", db, "--",
                                    program("sandboxed")], capture_output=True, text=True, timeout=300)
                self.assertEqual((r.returncode, r.stdout), (0, alone.stdout), r.stderr)
                self.assertLessEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                funcs = {f["name"]: f["count"] for f in report_json(db)["functions"]
                         if f["dso"] == "sandboxed"}
                own[mode] = funcs
        self.assertEqual(own["block"], own["step"])
        self.assertEqual(own["cache"], own["step"])

    def test_address_space_limit(self):
        """ulimit -v at what sh needs alone: prof raises the limit by what it
        maps (the program keeps its room and sees its own limit, printed by
        two forked children), or, where it may not, maps nothing and says
        so in one line. (python3 here took 100 s: under a hard limit prof
        maps nothing, and block mode without its scratch page stops at
        every block of python's 33M instructions.)"""
        argv = ["/bin/sh", "-c", "echo $(ulimit -Sv) $(ulimit -Hv)"]

        def limited(kib, which="-Sv"):
            return ["/bin/sh", "-c", 'ulimit %s %d && exec "$@"' % (which, kib), "sh", *argv]

        lo, hi = 1000, 1 << 20
        while hi - lo > 256:
            mid = (lo + hi) // 2
            ok = subprocess.run(limited(mid), capture_output=True).returncode == 0
            lo, hi = (lo, mid) if ok else (mid, hi)
        hi += 256  # a little room, as the program's own needs vary a little
        for which in ("-Sv", "-v"):
            with self.subTest(limit=which):
                alone = subprocess.run(limited(hi, which), capture_output=True, text=True)
                self.assertEqual(alone.returncode, 0, alone.stderr)
                r = subprocess.run([PROF, "record", "-q", "-o", self.db(), "--", *limited(hi, which)],
                                   capture_output=True, text=True, timeout=600)
                self.assertEqual((r.returncode, r.stdout), (0, alone.stdout), r.stderr)
                if which == "-Sv":
                    # The soft limit can always be raised up to the hard one.
                    self.assertEqual(r.stderr, "")
                else:
                    self.assertLessEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


class ServerUnderRequests(ProfTestCase):
    def test_no_request_fails(self):
        """python3's threading HTTP server on 127.0.0.1 answers a bounded
        loop of requests while prof attaches and detaches again and again."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with open(os.path.join(self.dir, "index.html"), "w") as f:
            f.write("hello\n" * 100)
        server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
                                  cwd=self.dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = "http://127.0.0.1:%d/index.html" % port
        try:
            for _ in range(600):
                try:
                    urllib.request.urlopen(url, timeout=5).read()
                    break
                except OSError:
                    time.sleep(0.05)
            failures, done = [], threading.Event()

            def requests():
                for i in range(150):
                    try:
                        body = urllib.request.urlopen(url, timeout=60).read()
                        if body != b"hello\n" * 100:
                            failures.append((i, body[:40]))
                    except OSError as e:
                        failures.append((i, str(e)))
                done.set()

            client = threading.Thread(target=requests)
            client.start()
            cycles = 0
            while not done.is_set() or cycles < 3:
                r = subprocess.run([PROF, "record", "-q", "-p", str(server.pid), "--duration", "0.3",
                                    "-o", self.db()], capture_output=True, text=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr)
                cycles += 1
            client.join()
            self.assertEqual(failures, [])
            self.assertIsNone(server.poll(), "the server died")
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:], verbosity=2)
