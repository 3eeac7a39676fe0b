"""valgrind's client requests in every exact mode (cache, block, step):
programs built against valgrind's own headers mark what to count from
inside, and prof counts what callgrind counts.

- requests.S: per-part counts known by construction (requests.expect);
- client_requests.c: one scenario per argument, each counting work(n)
  (work.S, 2n + 2 instructions) in known parts: start/stop, toggles (nested,
  from two threads at once), zero, dumps with and without names, a request
  in a signal handler and in a forked child, RUNNING_ON_VALGRIND, and
  requests prof cannot use;
- every scenario prints the same natively and under prof;
- bench_harness.c (the README's CI example) and client_requests.c against
  valgrind --tool=callgrind, part by part, for the program's own functions."""
import json
import os
import re
import subprocess
import tempfile
import unittest

from proftest import (EXACT_MODES, ProfTestCase, expect, program, record, report_json, run)

WORK_PARTS = {
    # scenario: (prof options, [(part name, work's count in it)])
    "parts": ((), [("setup", 202), (None, 4002), ("toggled", 802), ("nested", 1002), (None, 1402)]),
    "region": (("--instr-atstart=no",), [(None, 2002)]),
    "threads": (("--collect-atstart=no",), [("third thread", 12006), (None, 0)]),
    "signal": (("--collect-atstart=no",), [("handler", 502), (None, 0)]),
    "fork": (("--instr-atstart=no",), [("child", 3002), (None, 0)]),
    "running": ((), [(None, 402)]),
    "bad": ((), [(None, 202), (None, 402), (None, 602), (None, 202), (None, 402), (None, 602),
                 (None, 802)]),
}


def part_functions(db, number, dso=None):
    """{function: count} of one part, only the functions of dso when given."""
    rep = report_json(db, "--part", str(number))
    return {f["name"]: f["count"] for f in rep["functions"] if dso is None or f["dso"] == dso}


def native_output(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


class OracleProgram(ProfTestCase):
    def test_requests_counted_by_construction(self):
        exp = expect("requests")
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db = self.db("requests-%s.db" % mode)
                r = record(db, [program("requests")], mode=mode, extra=exp["args"])
                self.assertEqual(r.returncode, exp["exit"], r.stderr)
                rep = report_json(db)
                self.assertEqual(rep["total"], exp["total"])
                self.assertEqual([(p["name"], p["count"]) for p in rep["parts"]],
                                 [(p["name"], p["total"]) for p in exp["parts"]])
                for i, want in enumerate(exp["parts"], 1):
                    self.assertEqual(part_functions(db, i), want["functions"], "part %d" % i)
                    if want["name"]:  # a part is found by its name as by its number
                        self.assertEqual(part_functions(db, i), want["functions"])
                # spin ran before counting started: nowhere in the recording.
                self.assertNotIn("spin", {f["name"] for f in rep["functions"]})


class Scenarios(ProfTestCase):
    """Each scenario is recorded once per mode, for all the tests here."""

    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.TemporaryDirectory(prefix="proftest-requests-")
        cls.recordings = {}

    @classmethod
    def tearDownClass(cls):
        cls.shared.cleanup()

    def recorded(self, scenario, mode, extra=()):
        key = (scenario, mode, tuple(extra))
        if key not in self.recordings:
            argv = [program("client_requests"), scenario]
            opts, _ = WORK_PARTS.get(scenario, ((), None))
            db = os.path.join(self.shared.name, "%s-%s-%d.db" % (scenario, mode, len(extra)))
            self.recordings[key] = (db, record(db, argv, mode=mode, extra=(*opts, *extra)))
        db, r = self.recordings[key]
        self.assertEqual(r.returncode, 0, r.stderr)
        return db, r

    def test_parts_and_their_work(self):
        for scenario, (_, parts) in WORK_PARTS.items():
            native = native_output([program("client_requests"), scenario])
            own = {}
            for mode in EXACT_MODES:
                with self.subTest(scenario=scenario, mode=mode):
                    db, r = self.recorded(scenario, mode)
                    self.assertEqual(r.stdout, native, "the program's output under prof")
                    rep = report_json(db)
                    self.assertEqual([p["name"] for p in rep["parts"]], [name for name, _ in parts])
                    own[mode] = []
                    for i, (name, work) in enumerate(parts, 1):
                        got = part_functions(db, name or i, "client_requests")
                        self.assertEqual(got.get("work", 0), work, "work in part %s" % (name or i))
                        own[mode].append(got)
            # The program's own functions count alike in every mode.
            if len(own) == len(EXACT_MODES):
                self.assertEqual(own["block"], own["step"], scenario)
                self.assertEqual(own["cache"], own["step"], scenario)

    def stops(self, *argv):
        r = run(["record", "-q", "--mode", "cache", "--collect-atstart=no", "-o",
                 os.path.join(self.dir, "stops.db"), "--", program("client_requests"), *argv],
                env=dict(os.environ, PROF_DEBUG="1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        return int(r.stderr.split(" stops for ")[0].rsplit(" ", 1)[1])

    def test_one_stop_per_request_in_the_cache(self):
        # 2,000 requests: 2,000 more stops than none (the margin is for the
        # loop's own few blocks and address layouts), and work(3) 1,000
        # times counted exactly.
        none = self.stops("repeat", "0")
        extra = self.stops("repeat", "1000") - none
        self.assertGreaterEqual(extra, 2000)
        self.assertLessEqual(extra, 2020)
        db = os.path.join(self.dir, "stops.db")
        self.assertEqual(part_functions(db, 1, "client_requests")["work"], 8000)

    def test_region_counts_nothing_outside(self):
        # --instr-atstart=no and START/STOP around work(1000): nothing of the
        # dynamic loader, of libc or of work(50) and work(70) outside.
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db, _ = self.recorded("region", mode)
                rep = report_json(db)
                self.assertEqual({f["dso"] for f in rep["functions"]}, {"client_requests"})
                self.assertEqual(set(part_functions(db, 1)), {"work", "main"})
                self.assertEqual(rep["syscalls"], [])

    def test_running_on_valgrind_answers_as_natively(self):
        native = native_output([program("client_requests"), "running"])
        self.assertIn("running natively", native)
        db, r = self.recorded("running", "cache")
        self.assertEqual(r.stdout, native)
        # Opted in: the program takes its valgrind path.
        db, r = self.recorded("running", "cache", ("--pretend-valgrind",))
        self.assertIn("running on valgrind (1)", r.stdout)
        self.assertEqual(part_functions(db, 1, "client_requests")["work"], 202)

    def test_bad_requests_warn_once_per_kind(self):
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db, r = self.recorded("bad", mode)
                warnings = [l for l in r.stderr.splitlines() if "warning" in l]
                # Each bad request ran twice; one line per kind.
                self.assertEqual(len(warnings), 5, r.stderr)
                for fragment in ("arguments at", "0x12340000", "not NUL-terminated",
                                 "control characters", "cannot be read; the part"):
                    self.assertEqual(sum(fragment in w for w in warnings), 1, fragment)
                # The values the program got back are its defaults, as natively.
                self.assertIn("unmapped arguments: 17, unknown request: 42", r.stdout)
                self.assertEqual(report_json(db)["complete"], True)


def callgrind_parts(argv, outdir, extra=()):
    """{part name (the dump's, None for an unnamed one): {function: count}}
    from callgrind's files, recursion levels ('2) added up."""
    out = os.path.join(outdir, "callgrind.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--skip-plt=no", *extra,
                    "--callgrind-out-file=" + out, *argv], check=True, capture_output=True)
    parts = {}
    for f in sorted(os.listdir(outdir)):
        if not f.startswith("callgrind.out"):
            continue
        path = os.path.join(outdir, f)
        with open(path) as fh:
            trigger = re.search(r"^desc: Trigger: (.*)$", fh.read(), re.M).group(1)
        if not trigger.startswith("Client Request"):
            continue
        name = trigger.split(": ", 1)[1] if ": " in trigger else None
        ann = subprocess.run(["callgrind_annotate", "--threshold=100", "--inclusive=no", path],
                             check=True, capture_output=True, text=True).stdout
        counts = {}
        for line in ann.splitlines():
            m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\S*:(\S+?)(?:'\d+)?\s", line + " ")
            if m:
                counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
        parts[name] = counts
    return parts


class CallgrindAgreement(ProfTestCase):
    def test_harness_parts_match_callgrind(self):
        argv = [program("bench_harness")]
        r = record(self.db(), argv, mode="cache", extra=("--instr-atstart=no",))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, native_output(argv))
        cg = callgrind_parts(argv, self.dir, ("--instr-atstart=no",))
        rep = report_json(self.db())
        named = [p for p in rep["parts"] if p["name"]]
        self.assertEqual(len(named), 6)
        self.assertEqual({p["name"] for p in named}, set(cg))
        for p in named:
            mine = part_functions(self.db(), p["name"], "bench_harness")
            theirs = cg[p["name"]]
            # The benchmarked functions and the harness's runners; main holds
            # the requests, which callgrind and prof count differently.
            own = [f for f in mine if f != "main"]
            self.assertTrue(own, p["name"])
            for f in own:
                self.assertEqual(mine[f], theirs.get(f), "%s in %s" % (f, p["name"]))

    def test_work_per_part_matches_callgrind(self):
        for scenario, (opts, parts) in WORK_PARTS.items():
            if scenario in ("bad", "running"):
                continue  # valgrind reads the bad ones; running takes another path
            with self.subTest(scenario=scenario):
                sub = os.path.join(self.dir, scenario)
                os.mkdir(sub)
                argv = [program("client_requests"), scenario]
                cg = callgrind_parts(argv, sub, opts)
                db = self.db(scenario + ".db")
                self.assertEqual(record(db, argv, mode="cache", extra=opts).returncode, 0)
                for i, (name, work) in enumerate(parts[:-1], 1):  # the dumped ones
                    self.assertEqual(cg[name].get("work", 0), work, "callgrind, %s" % name)
                    self.assertEqual(part_functions(db, i, "client_requests").get("work", 0), work)


class ReportsAndDiff(ProfTestCase):
    def test_report_parts_and_callgrind_export(self):
        db = self.db()
        self.assertEqual(record(db, [program("client_requests"), "parts"], mode="block").returncode, 0)
        text = run(["report", "-i", db]).stdout
        self.assertIn("# parts:    1 setup (", text)
        self.assertIn("--part NAME|N for one", text)
        one = run(["report", "-i", db, "--part", "toggled"]).stdout
        self.assertIn("# part:     3 of 5, toggled", one)
        by_part = run(["report", "-i", db, "--by", "part", "--format", "csv"]).stdout.splitlines()
        self.assertEqual(by_part[0], "part,name,count")
        self.assertEqual([l.split(",")[:2] for l in by_part[1:]],
                         [["1", "setup"], ["2", ""], ["3", "toggled"], ["4", "nested"], ["5", ""]])
        missing = run(["report", "-i", db, "--part", "nope"])
        self.assertOneErrorLine(missing, "no part 'nope' (parts: 1 setup 2 3 toggled 4 nested 5)")
        # The callgrind export: one file per part, named as callgrind names its dumps.
        prefix = os.path.join(self.dir, "cg")
        r = run(["report", "-i", db, "--format", "callgrind", "-o", prefix])
        self.assertEqual(r.returncode, 0, r.stderr)
        files = sorted(f for f in os.listdir(self.dir) if f.startswith("cg"))
        self.assertEqual(files, ["cg", "cg.1", "cg.2", "cg.3", "cg.4"])
        with open(prefix + ".3") as f:
            text = f.read()
        self.assertIn("part: 3\n", text)
        self.assertIn("desc: Part: 3 of 5, ended by Client Request: toggled", text)
        ann = subprocess.run(["callgrind_annotate", prefix + ".3"], capture_output=True, text=True,
                             check=True).stdout
        self.assertRegex(ann, r"802 .*work")

    def test_harness_in_ci(self):
        # The README's three lines: record, report the parts, diff with a gate.
        base, new = self.db("base.db"), self.db("new.db")
        for db in (base, new):
            r = run(["record", "-q", "--instr-atstart=no", "-o", db, "--", program("bench_harness")])
            self.assertEqual(r.returncode, 0, r.stderr)
        parts = run(["report", "-i", new, "--by", "part"])
        self.assertIn("fibonacci::long", parts.stdout)
        r = run(["diff", base, new, "--fail-above", "0"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Six benchmarks compared; the empty end after the last dump is not.
        self.assertEqual(r.stdout.count("## part "), 6)
        self.assertIn("gates: passed in 6 of 6 parts", r.stdout)

    def test_diff_part_by_part(self):
        base, new = self.db("base.db"), self.db("new.db")
        for db, mode in ((base, "block"), (new, "cache")):
            self.assertEqual(record(db, [program("client_requests"), "parts"], mode=mode).returncode, 0)
        # The program's own functions (the loader's vary with the address layout).
        r = run(["diff", base, new, "--format", "json", "--top", "0", "--dso", "client_requests",
                 "--fail-above", "0"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        d = json.loads(r.stdout)
        self.assertEqual([p["part"] for p in d["parts"]], ["setup", "2", "toggled", "nested", "5"])
        self.assertTrue(d["passed"])
        # A part that grew fails the gate: region's one part (2,020
        # instructions) against the first of parts (the whole startup).
        other = self.db("other.db")
        self.assertEqual(record(other, [program("client_requests"), "region"], mode="block",
                                extra=("--instr-atstart=no",)).returncode, 0)
        r = run(["diff", other, new, "--part", "1", "--fail-above", "1"])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("gate: FAILED", r.stdout)
        # Recordings without parts in common cannot be compared part by part.
        r = run(["diff", base, other, "--part", "toggled"])
        self.assertOneErrorLine(r, "no part 'toggled'")


if __name__ == "__main__":
    unittest.main(verbosity=2)
