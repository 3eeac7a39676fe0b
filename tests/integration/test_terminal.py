"""prof record in a real terminal (tmux): the live progress line never mixes
with the program's own output, and sample mode speaks of samples."""
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import time
import unittest
import uuid

from proftest import PROF, ProfTestCase, program

EXPECTED_LINES = ["line %d of the program's output" % i for i in range(1, 6)] + \
                 ["partial line ends here"] + \
                 ["line %d of the program's output" % i for i in range(6, 9)]


class Terminal(ProfTestCase):
    def setUp(self):
        super().setUp()
        if not shutil.which("tmux"):
            self.skipTest("tmux is not installed (make deps installs it)")
        if not stat.S_ISCHR(os.stat("/dev/null").st_mode):
            self.skipTest("/dev/null is not a device on this machine: tmux cannot start")
        self.session = "proftest-" + uuid.uuid4().hex[:8]
        self.tmux("new-session", "-d", "-s", self.session, "-x", "200", "-y", "50",
                  "env", "-u", "NO_COLOR", "sh")
        # Type only once the shell shows its prompt: keys sent earlier are
        # echoed first and the prompt lands in front of the program's output.
        deadline = time.monotonic() + 30
        while not self.tmux("capture-pane", "-p", "-t", self.session).strip():
            if time.monotonic() > deadline:
                self.fail("the shell in tmux showed no prompt")
            time.sleep(0.05)

    def tearDown(self):
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)
        super().tearDown()

    def tmux(self, *args):
        return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout

    def run_in_terminal(self, mode):
        """The screen after `prof record` ran chatty, and every byte written to the terminal."""
        raw = os.path.join(self.dir, "raw")
        self.tmux("pipe-pane", "-t", self.session, "cat > " + shlex.quote(raw))
        cmd = "%s record --mode %s -o %s -- %s; echo EXIT=$?" % (
            shlex.quote(PROF), mode, shlex.quote(self.db()), shlex.quote(program("chatty")))
        self.tmux("send-keys", "-t", self.session, cmd, "Enter")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            screen = self.tmux("capture-pane", "-p", "-J", "-t", self.session)
            if "EXIT=" in screen.replace(cmd, ""):
                break
            time.sleep(0.2)
        else:
            self.fail("prof record did not finish: " + screen)
        time.sleep(0.2)
        self.tmux("pipe-pane", "-t", self.session)
        with open(raw, "rb") as f:
            return screen, f.read().decode(errors="replace")

    def program_lines(self, screen):
        lines = [l.rstrip() for l in screen.splitlines()]
        start = next(i for i, l in enumerate(lines) if "record --mode" in l) + 1
        return lines[start:]

    def check_output_intact(self, mode):
        screen, raw = self.run_in_terminal(mode)
        lines = self.program_lines(screen)
        self.assertEqual(lines[:len(EXPECTED_LINES)], EXPECTED_LINES, screen)
        # A warning may come before the summary (under load, sample mode's
        # kernel buffer can fill): whole lines of their own, too.
        rest = lines[len(EXPECTED_LINES):]
        while rest and rest[0].startswith("prof: warning: "):
            rest = rest[1:]
        self.assertGreaterEqual(len(rest), 2, screen)
        summary = rest[0]
        self.assertTrue(summary.startswith("prof: "), screen)
        self.assertTrue(rest[1].startswith("EXIT=0"), screen)
        return summary, raw

    def test_step_mode(self):
        summary, raw = self.check_output_intact("step")
        self.assertIn("instructions", summary)
        self.assertIn("syscalls", summary)
        # The line was drawn (in the silent second), so the test saw it kept apart.
        self.assertIn("\x1b[Kprof: ", raw)

    def test_block_mode(self):
        summary, raw = self.check_output_intact("block")
        self.assertIn("\x1b[Kprof: ", raw)

    def test_sample_mode_says_samples(self):
        summary, raw = self.check_output_intact("sample")
        self.assertRegex(summary, r"^prof: [\d,]+ samples, 1 thread, [\d.]+ s -> ")
        self.assertNotIn("syscalls", summary)   # sample mode does not see them
        # It cannot see the program's writes: no progress line on a shared terminal.
        self.assertNotIn("\x1b[Kprof: ", raw)

    def test_cache_mode_counts_as_the_program_runs(self):
        """The progress line grows while the program runs, though cache mode
        reads its counters out only at exec, fork, exit and the end: it
        peeks at them once a second (at a syscall)."""
        stop = os.path.join(self.dir, "stop")
        loop = "while [ ! -e %s ]; do :; done" % shlex.quote(stop)
        cmd = "%s record --mode cache -o %s -- sh -c %s; echo EXIT=$?" % (
            shlex.quote(PROF), shlex.quote(self.db()), shlex.quote(loop))
        self.tmux("send-keys", "-t", self.session, cmd, "Enter")
        seen, deadline = 0, time.monotonic() + 120
        try:
            while time.monotonic() < deadline and seen < 10_000_000:
                screen = self.tmux("capture-pane", "-p", "-J", "-t", self.session)
                for line in screen.splitlines():
                    m = re.match(r"prof: ([\d,]+) instructions ", line)
                    if m:
                        seen = max(seen, int(m.group(1).replace(",", "")))
                time.sleep(0.2)
        finally:
            open(stop, "w").close()
        self.assertGreaterEqual(seen, 10_000_000, screen)
        while time.monotonic() < deadline:
            screen = self.tmux("capture-pane", "-p", "-J", "-t", self.session)
            if "EXIT=" in screen.replace(cmd, ""):
                break
            time.sleep(0.2)
        self.assertIn("EXIT=0", screen.replace(cmd, ""))


if __name__ == "__main__":
    unittest.main(verbosity=2)
