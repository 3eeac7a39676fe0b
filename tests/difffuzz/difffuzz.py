#!/usr/bin/env python3
"""Differential fuzzer of prof's translator and emulator.

For each seed, difffuzz_gen writes a random case (code, registers, memory);
difffuzz_run runs batches of cases natively and under `prof record` in
cache and block mode (and step mode for every --step-every'th batch), and
this driver compares the final registers, flags, vector registers and
memory with the native run, and the per-instruction counts of the modes
with each other (step mode is the reference where it ran).

Batches come in three kinds, in turn: each case at a code address of its
own; every case at the same address (the harness rewrites the code in
place with mprotect, or unmaps and maps it again: prof must drop what it
translated there); and SIGALRM from a timer every 50-1000 us natively,
slower in the modes that run slower (so that the handler still gets
work done between two signals; prof must
deliver it at the program's own address and count each instruction once
however often it is interrupted).

A batch that differs is minimized (cases before the one that differs
dropped, then groups of instructions of each case, as long as the same
difference stays) and written to --save as a regression, which --replay
runs in every mode from then on.

  difffuzz.py --build BUILD --seeds FIRST:COUNT    (a fixed amount of work: ctest)
  difffuzz.py --build BUILD --seconds N            (make fuzz)
  difffuzz.py --build BUILD --replay DIR           (every kept regression)
"""
import argparse
import concurrent.futures
import glob
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from casefile import Case, batch_blob, compare, parse_dumps, split_cases  # noqa: E402

NATIVE = "native"
EXACT_MODES = ("cache", "block", "step")
# The timer's period is the batch's times this: a handler costs a few
# stops in block mode and some hundred single steps in step mode.
SLOWER = {NATIVE: 1, "cache": 2, "block": 10, "step": 50}


class Tools:
    def __init__(self, build, features):
        self.gen = os.path.join(build, "tests", "difffuzz", "difffuzz_gen")
        self.harness = os.path.join(build, "tests", "difffuzz", "difffuzz_run")
        self.prof = os.path.join(build, "prof")
        self.features = features
        self.timeout = 300


def generate(tools, seed, slot, drop=()):
    argv = [tools.gen, "--seed", str(seed), "--slot", str(slot), "--features", tools.features]
    if drop:
        argv += ["--drop", ",".join(str(g) for g in sorted(drop))]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return Case(r.stdout) if r.returncode == 0 else None


class Batch:
    """Cases the harness runs in one process, and its timer period."""

    def __init__(self, cases, signal_us=0):
        self.cases, self.signal_us = cases, signal_us

    def kind(self):
        if self.signal_us:
            return "signals every %d us" % self.signal_us
        slots = [c.slot for c in self.cases]
        return "code rewritten in place" if len(set(slots)) < len(slots) else "plain"

    def text(self):
        """The regression file: the cases one after the other, the timer
        period after the first line."""
        text = "".join(c.text for c in self.cases)
        if self.signal_us:
            head, rest = text.split("\n", 1)
            text = "%s\nsignal_us %d\n%s" % (head, self.signal_us, rest)
        return text


class Result:
    def __init__(self, mode, returncode, dumps, counts, stderr):
        self.mode, self.returncode, self.dumps, self.counts, self.stderr = (
            mode, returncode, dumps, counts, stderr)


def counts_of(db):
    con = sqlite3.connect(db)
    try:
        return dict(con.execute("SELECT pc, SUM(count) FROM insns GROUP BY pc").fetchall())
    finally:
        con.close()


def run(tools, batch, mode, workdir):
    blob, dump, db = (os.path.join(workdir, n) for n in ("batch." + mode, "dump." + mode, mode + ".db"))
    with open(blob, "wb") as f:
        f.write(batch_blob(batch.cases, batch.signal_us * SLOWER[mode]))
    for path in (dump, db):
        if os.path.exists(path):
            os.unlink(path)
    argv = [tools.harness, blob, dump]
    if mode != NATIVE:
        argv = [tools.prof, "record", "-q", "--mode", mode, "-o", db, "--"] + argv
    try:
        r = subprocess.run(argv, capture_output=True, timeout=tools.timeout)
        returncode, stderr = r.returncode, r.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        returncode, stderr = "timeout", "no end after %d s" % tools.timeout
    data = open(dump, "rb").read() if os.path.exists(dump) else b""
    counts = counts_of(db) if mode != NATIVE and os.path.exists(db) else {}
    return Result(mode, returncode, parse_dumps(data, batch.cases), counts, stderr)


class Problem:
    def __init__(self, batch, index, mode, kind, lines):
        self.batch, self.index, self.mode, self.kind, self.lines = batch, index, mode, kind, lines
        self.case = batch.cases[index]

    def signature(self):
        """What differs: register names, "rflags", section names, or the kind."""
        if self.kind != "state":
            return {self.kind}
        return {l.split(":")[0].split()[0] for l in self.lines}

    def __str__(self):
        head = "seed %s slot %s (%s batch, case %d of %d), %s mode: %s" % (
            self.case.seed, self.case.slot, self.batch.kind(), self.index + 1,
            len(self.batch.cases), self.mode, self.kind)
        return "\n    ".join([head] + self.lines[:12])


def code_ranges(cases):
    """Each case's code range, cases at one address merged: (last case's
    index, start, end)."""
    ranges = {}
    for i, c in enumerate(cases):
        lo, hi = c.code_range()
        _, _, end = ranges.get(lo, (i, lo, hi))
        ranges[lo] = (i, lo, max(end, hi))
    return sorted(ranges.values())


def count_diffs(lo, hi, want, got, want_mode):
    a = {pc: n for pc, n in want.counts.items() if lo <= pc < hi}
    b = {pc: n for pc, n in got.counts.items() if lo <= pc < hi}
    return ["pc 0x%x: %d, %s mode %d" % (pc, b.get(pc, 0), want_mode, a.get(pc, 0))
            for pc in sorted(set(a) | set(b)) if a.get(pc, 0) != b.get(pc, 0)]


def compare_runs(batch, native, results, reference):
    """Problems of each mode's run against the native one and the reference
    mode's counts."""
    problems = []
    cases = batch.cases
    vec = min(c.vec_mode for c in cases)
    for res in results.values():
        for i, case in enumerate(cases):
            if i >= len(res.dumps):
                problems.append(Problem(batch, i, res.mode, "crash",
                                        ["exit %s" % res.returncode] + res.stderr.splitlines()[-5:]))
                break
            diffs = compare(case, native.dumps[i], res.dumps[i], vec)
            if diffs:
                problems.append(Problem(batch, i, res.mode, "state", diffs))
        else:
            if res.returncode != 0:
                problems.append(Problem(batch, len(cases) - 1, res.mode, "exit",
                                        ["exit %s" % res.returncode] + res.stderr.splitlines()[-5:]))
    ref = results.get(reference)
    failed = {p.mode for p in problems}
    for res in results.values():
        if ref is None or res is ref or res.mode in failed or reference in failed:
            continue
        for index, lo, hi in code_ranges(cases):
            lines = count_diffs(lo, hi, ref, res, reference)
            if lines:
                problems.append(Problem(batch, index, res.mode, "counts", lines))
        # With signals the handler runs as often as the timer fires: only the
        # generated code's counts can be compared.
        total_ref, total = sum(ref.counts.values()), sum(res.counts.values())
        if total_ref != total and not batch.signal_us and not problems:
            problems.append(Problem(batch, len(cases) - 1, res.mode, "counts",
                                    ["whole process: %d, %s mode %d" % (total, reference, total_ref)]))
    return problems


def check(tools, batch, modes, workdir):
    """(each mode's result, problems); a case that fails natively is the
    generator's fault and is reported as such."""
    native = run(tools, batch, NATIVE, workdir)
    if native.returncode != 0 or len(native.dumps) < len(batch.cases):
        bad = min(len(native.dumps), len(batch.cases) - 1)
        return {}, [Problem(batch, bad, NATIVE, "native failure (a generator bug)",
                            ["exit %s" % native.returncode] + native.stderr.splitlines()[-3:])]
    results = {m: run(tools, batch, m, workdir) for m in modes}
    reference = "step" if "step" in modes else "block"
    return results, compare_runs(batch, native, results, reference)


def still_fails(tools, batch, problem):
    """Whether batch shows a problem of the same mode and kind, in its last
    case, in at least one of the same places (so that minimizing does not
    wander off to another bug)."""
    mode = problem.mode
    modes = [mode] if problem.kind != "counts" else [mode, "step" if mode != "step" else "block"]
    with tempfile.TemporaryDirectory(prefix="difffuzz-") as d:
        _, problems = check(tools, batch, modes, d)
    last = len(batch.cases) - 1
    return any(p.mode == mode and p.index == last and p.signature() & problem.signature()
               for p in problems)


def minimize(tools, problem):
    """The smallest batch found that still fails the same way: the cases
    after the failing one dropped, then every case before it that can go,
    then groups of instructions of each case."""
    cases = list(problem.batch.cases[:problem.index + 1])
    signal_us = problem.batch.signal_us
    if not still_fails(tools, Batch(cases, signal_us), problem):
        return None
    for i in range(len(cases) - 2, -1, -1):
        trial = cases[:i] + cases[i + 1:]
        if still_fails(tools, Batch(trial, signal_us), problem):
            cases = trial
    for k in range(len(cases) - 1, -1, -1):
        drop = set(cases[k].drop)
        changed = True
        while changed:
            changed = False
            for gid, _, _ in cases[k].groups:
                if gid in drop:
                    continue
                c = generate(tools, cases[k].seed, cases[k].slot, drop | {gid})
                trial = cases[:k] + [c] + cases[k + 1:]
                if c is None or not still_fails(tools, Batch(trial, signal_us), problem):
                    continue
                drop.add(gid)
                cases, changed = trial, True
    return Batch(cases, signal_us)


def save(batch, problem, directory):
    os.makedirs(directory, exist_ok=True)
    last = batch.cases[-1]
    name = "seed%s-%s-%s.case" % (last.seed, problem.mode, problem.kind.split()[0])
    path = os.path.join(directory, name)
    note = ["# found by difffuzz.py: %s batch, %s mode, %s" % (batch.kind(), problem.mode, problem.kind)]
    note += ["#   " + l for l in problem.lines[:12]]
    text = batch.text()
    head, rest = text.split("\n", 1)
    with open(path, "w") as f:
        f.write(head + "\n" + "\n".join(note) + "\n" + rest)
    return path


def handle(tools, problems, args, log):
    """Each problem: minimized and saved. Returns the number of bugs."""
    seen = set()
    bugs = 0
    for p in problems:
        key = (p.case.seed, p.mode)
        if key in seen:
            continue
        seen.add(key)
        log("MISMATCH " + str(p))
        bugs += 1
        if p.mode == NATIVE:
            continue
        small = minimize(tools, p) if args.minimize else p.batch
        if small is None:
            log("  it does not fail again: timing (signals) or the machine; kept as found")
            small = p.batch
        with tempfile.TemporaryDirectory(prefix="difffuzz-") as d:
            modes = [p.mode] if p.kind != "counts" else [p.mode, "step"]
            _, again = check(tools, small, modes, d)
        final = next((q for q in again if q.mode == p.mode), p)
        path = save(small, final, args.save)
        log("  minimized to %d case(s), %d groups: %s" % (
            len(small.cases), sum(len(c.groups) for c in small.cases), path))
        for c in small.cases:
            log("\n".join("    " + l for l in c.listing().splitlines()))
    return bugs


def make_batch(tools, seeds, kind, signal_us):
    """kind: "plain" (a slot each), "rewrite" (all in slot 0), "signals"."""
    cases = []
    for i, seed in enumerate(seeds):
        c = generate(tools, seed, 0 if kind == "rewrite" else i)
        if c is not None:
            cases.append(c)
    return Batch(cases, signal_us if kind == "signals" else 0)


def fuzz_batch(tools, batch, modes, workdir):
    """(problems, instructions of generated code executed)."""
    if not batch.cases:
        return [], 0
    results, problems = check(tools, batch, modes, workdir)
    counts = results["cache"].counts if "cache" in results else {}
    executed = sum(n for _, lo, hi in code_ranges(batch.cases)
                   for pc, n in counts.items() if lo <= pc < hi)
    return problems, executed


def fuzz(tools, args, log):
    first, count = args.first, args.count
    deadline = time.monotonic() + args.seconds if args.seconds else None
    totals = {"cases": 0, "executed": 0, "stepped": 0, "bugs": 0}
    state = {"seed": first, "n": 0}
    kinds = ("plain", "rewrite", "signals")

    def batches():
        while ((deadline is None and state["seed"] < first + count) or
               (deadline and time.monotonic() < deadline)):
            seed, n = state["seed"], state["n"]
            size = args.batch if deadline else min(args.batch, first + count - seed)
            modes = ["cache", "block"] + (["step"] if n % args.step_every == 0 else [])
            kind = kinds[n % len(kinds)]
            yield list(range(seed, seed + size)), kind, 50 + (seed * 7919) % 951, modes
            state["seed"] += size
            state["n"] += 1

    def one(work):
        seeds, kind, signal_us, modes = work
        b = make_batch(tools, seeds, kind, signal_us)
        with tempfile.TemporaryDirectory(prefix="difffuzz-") as d:
            return b, modes, fuzz_batch(tools, b, modes, d)

    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        pending = set()
        it = batches()
        while True:
            while len(pending) < args.jobs:
                work = next(it, None)
                if work is None:
                    break
                pending.add(pool.submit(one, work))
            if not pending:
                break
            done, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for f in done:
                b, modes, (problems, executed) = f.result()
                totals["cases"] += len(b.cases)
                totals["executed"] += executed
                totals["stepped"] += len(b.cases) if "step" in modes else 0
                if problems:
                    totals["bugs"] += handle(tools, problems, args, log)
                if args.verbose:
                    log("seeds %d-%d (%s; %s): %d problems" % (
                        b.cases[0].seed, b.cases[-1].seed, b.kind(), ",".join(modes), len(problems)))
    log("difffuzz: %d cases (seeds %d-%d; %d in step mode too), %d instructions of generated "
        "code run in each mode, %d mismatches" % (
            totals["cases"], first, state["seed"] - 1, totals["stepped"], totals["executed"],
            totals["bugs"]))
    return totals["bugs"]


def replay(tools, directory, log):
    """Every kept batch in every mode; one needing instruction sets this
    host lacks is skipped (and said so)."""
    host = generate(tools, 0, 0)
    have = set(host.features)
    failures = ran = 0
    for path in sorted(glob.glob(os.path.join(directory, "*.case"))):
        cases, signal_us = split_cases(open(path).read())
        missing = set()
        for c in cases:
            c.vec_mode = min(c.vec_mode, host.vec_mode)
            missing |= set(c.needs if c.needs is not None else c.features) - have
        if missing:
            log("%s: skipped (this CPU has no %s)" % (os.path.basename(path), " ".join(sorted(missing))))
            continue
        ran += 1
        with tempfile.TemporaryDirectory(prefix="difffuzz-") as d:
            _, problems = check(tools, Batch(cases, signal_us), list(EXACT_MODES), d)
        for p in problems:
            log("REGRESSION %s: %s" % (os.path.basename(path), p))
        failures += bool(problems)
    log("difffuzz: %d regressions replayed, %d failed" % (ran, failures))
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="the build directory (prof, difffuzz_gen, difffuzz_run)")
    ap.add_argument("--seeds", default=None, help="FIRST:COUNT, a fixed amount of work")
    ap.add_argument("--seconds", type=float, default=0, help="fuzz for this long instead")
    ap.add_argument("--first", type=int, default=None, help="first seed with --seconds (default: from the time)")
    ap.add_argument("--batch", type=int, default=16, help="cases per harness process")
    ap.add_argument("--step-every", type=int, default=4, help="step mode on every Nth batch")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--replay", default=None, help="a directory of kept cases to run first")
    ap.add_argument("--save", default="difffuzz-found", help="where new failing cases go")
    ap.add_argument("--no-minimize", dest="minimize", action="store_false")
    ap.add_argument("--features", default="host", help="instruction sets to generate (difffuzz_gen)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    tools = Tools(args.build, args.features)

    def log(msg):
        print(msg, flush=True)

    failed = 0
    if args.replay:
        failed += replay(tools, args.replay, log)
    if args.seeds:
        first, count = args.seeds.split(":")
        args.first, args.count = int(first), int(count)
        failed += fuzz(tools, args, log)
    elif args.seconds:
        args.first = args.first if args.first is not None else int(time.time()) % 1000000 * 1000
        args.count = 0
        failed += fuzz(tools, args, log)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
