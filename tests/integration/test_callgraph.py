"""Inclusive counts and the shadow call stack on the hard cases: mutual
recursion through PLT stubs and tail jumps across two DSOs, and longjmp out
of a recursion in a loop. In every exact mode alike, inclusive counts never
exceed the total, and prof's call stack stays as deep as the program's."""
import os
import re
import subprocess
import sys
import unittest

from proftest import EXACT_MODES, PROF, ProfTestCase, fixed_env, program, report_json

OWN = ("main", "a", "b", "c", "a@plt", "b@plt", "c@plt")


def record(db, argv, mode, debug=False):
    env = dict(fixed_env(), PROF_DEBUG="1") if debug else fixed_env()
    return subprocess.run([PROF, "record", "-q", "--mode", mode, "-o", db, "--", *argv],
                          capture_output=True, text=True, timeout=600, env=env)


def deepest_stack(stderr):
    m = re.search(r"deepest call stack: (\d+) frames", stderr)
    if not m:
        raise AssertionError("no call stack depth in: " + stderr)
    return int(m.group(1))


class PltRecursion(ProfTestCase):
    def test_inclusive_through_plt_and_tail_jumps(self):
        seen = {}
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db = self.db(mode + ".db")
                r = record(db, [program("pltrec")], mode)
                self.assertEqual(r.returncode, 0, r.stderr)
                rep = report_json(db)
                funcs = {f["name"]: f for f in rep["functions"]}
                for f in rep["functions"]:
                    self.assertLessEqual(f["inclusive"], rep["total"], f["name"])
                calls = {(c["caller"], c["callee"]): c for c in rep["calls"]}
                # Every call of a from main is an outermost activation of a:
                # a's inclusive is exactly what those calls ran.
                self.assertEqual(funcs["a"]["inclusive"], calls[("main", "a")]["inclusive"])
                main_out = sum(c["inclusive"] for (caller, _), c in calls.items() if caller == "main")
                self.assertEqual(funcs["main"]["inclusive"], funcs["main"]["count"] + main_out)
                # c's tail jump enters a through the stub: a call arc of its own.
                self.assertIn(("c", "a@plt"), calls)
                self.assertIn(("a@plt", "a"), calls)
                self.assertLess(funcs["b"]["inclusive"], funcs["a"]["inclusive"])
                seen[mode] = {n: (funcs[n]["count"], funcs[n]["inclusive"]) for n in OWN}
        self.assertEqual(seen["block"], seen["step"])
        self.assertEqual(seen["cache"], seen["step"])


class LongjmpLoop(ProfTestCase):
    def test_shadow_stack_bounded_in_every_mode(self):
        """A frame left by longjmp is closed at the next call or return below
        it: 4 times the rounds, the same deepest stack, in every mode."""
        own = {}
        for mode in EXACT_MODES:
            depths = []
            for rounds in (50, 200):
                with self.subTest(mode=mode, rounds=rounds):
                    db = self.db("%s-%d.db" % (mode, rounds))
                    r = record(db, [program("jumploop"), str(rounds)], mode, debug=True)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    depths.append(deepest_stack(r.stderr))
                    rep = report_json(db)
                    for f in rep["functions"]:
                        self.assertLessEqual(f["inclusive"], rep["total"], f["name"])
                    funcs = {f["name"]: f for f in rep["functions"]}
                    own[(mode, rounds)] = {n: (funcs[n]["count"], funcs[n]["inclusive"])
                                           for n in ("main", "dive")}
            self.assertEqual(depths[0], depths[1], mode)
            self.assertLess(depths[1], 40, mode)  # the program's own stack: about 30 frames
        for mode in ("block", "cache"):
            for rounds in (50, 200):
                self.assertEqual(own[(mode, rounds)], own[("step", rounds)], (mode, rounds))

    def test_time_linear_in_rounds(self):
        """prof's CPU time and memory for 4x the rounds: at most 5x and 1.5x
        (a stack scan per return once made them grow much faster)."""
        cost = {}
        env = fixed_env()
        if "ASAN_OPTIONS" in os.environ:  # make sanitize: ASan's quarantine is not prof's memory
            env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":quarantine_size_mb=0"
        for rounds in (60000, 240000):
            db = self.db("t%d.db" % rounds)
            with open(os.devnull, "w") as null:
                p = subprocess.Popen([PROF, "record", "-q", "-o", db, "--", program("jumploop"),
                                      str(rounds)], stdout=null, env=env)
                _, status, usage = os.wait4(p.pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
            cost[rounds] = (usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
        (t1, m1), (t4, m4) = cost[60000], cost[240000]
        self.assertLessEqual(t4, 5 * t1, cost)
        self.assertLessEqual(m4, 1.5 * m1, cost)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:], verbosity=2)
