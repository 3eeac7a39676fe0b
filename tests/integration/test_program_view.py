"""The traced program must not notice prof: prof pins itself and the program
to one CPU, yet the program's own view of its CPU affinity is unchanged."""
import os
import shutil
import subprocess
import unittest

from proftest import PROF, ProfTestCase, fixed_env, program, run, traced_child

def cpus_allowed(pid, tid):
    with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                return line.split()[1]
    return None

MODES = ("step", "block", "sample")


class ProgramView(ProfTestCase):
    def setUp(self):
        super().setUp()
        if len(os.sched_getaffinity(0)) < 2:
            self.skipTest("one CPU: pinning to it changes nothing a program could see")

    def traced_stdout(self, mode, argv):
        r = run(["record", "-q", "--mode", mode, "-o", self.db(mode + ".db"), "--", *argv],
                env=fixed_env(), timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_nproc(self):
        nproc = shutil.which("nproc", path=fixed_env()["PATH"])
        if not nproc:
            self.skipTest("no nproc")
        untraced = subprocess.run([nproc], capture_output=True, text=True, env=fixed_env()).stdout
        self.assertGreaterEqual(int(untraced), 2)
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assertEqual(self.traced_stdout(mode, [nproc]), untraced)

    def test_own_affinity_calls(self):
        untraced = subprocess.run([program("affinity")], capture_output=True, text=True).stdout
        self.assertIn("runs on its cpu: yes", untraced)
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assertEqual(self.traced_stdout(mode, [program("affinity")]), untraced)

    def test_status_cpus_allowed(self):
        # Cache mode reads syscalls as block mode does.
        untraced = subprocess.run([program("cpus_allowed")], capture_output=True, text=True).stdout
        self.assertEqual(untraced.count("Cpus_allowed_list"), 6, untraced)
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assertEqual(self.traced_stdout(mode, [program("cpus_allowed")]), untraced)

    def test_grep_status(self):
        grep = shutil.which("grep", path=fixed_env()["PATH"])
        argv = [grep, "^Cpus_allowed", "/proc/self/status"]
        untraced = subprocess.run(argv, capture_output=True, text=True, env=fixed_env()).stdout
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assertEqual(self.traced_stdout(mode, argv), untraced)

    def test_writer_thread_not_on_the_pinned_cpu(self):
        # The program waits for the test, not for a time: prof's threads
        # are looked at while it runs.
        stop = self.db("stop")
        argv = [PROF, "record", "-q", "-o", self.db("w.db"), "--", "sh", "-c",
                'while [ ! -e "$0" ]; do sleep 0.02; done', stop]
        prof = subprocess.Popen(argv, env=fixed_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            _, tracer = traced_child(prof.pid, with_tracer=True)
            pinned = cpus_allowed(tracer, tracer)
            tids = [int(t) for t in os.listdir("/proc/%d/task" % tracer)]
            helpers = {t: cpus_allowed(tracer, t) for t in tids if t != tracer}
        finally:
            open(stop, "w").close()
            _, err = prof.communicate(timeout=300)
        self.assertEqual(prof.returncode, 0, err)
        self.assertRegex(pinned, r"^\d+$")  # the tracer: one CPU
        self.assertTrue(helpers, "no writer thread")
        for tid, mask in helpers.items():
            self.assertNotEqual(mask, pinned, "thread %d shares the tracer's CPU" % tid)


if __name__ == "__main__":
    unittest.main(verbosity=2)
