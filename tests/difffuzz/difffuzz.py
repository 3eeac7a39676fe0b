#!/usr/bin/env python3
"""Differential fuzzer of prof's translator and emulator.

For each seed, difffuzz_gen writes a random case (code, registers, memory);
difffuzz_run runs batches of cases natively and under `prof record` in
cache and block mode (and step mode for every --step-every'th batch), and
this driver compares the final registers, flags, vector registers and
memory with the native run, and the per-instruction counts of the modes
with each other (step mode is the reference where it ran). A case that
differs is run again alone, minimized (groups of instructions dropped as
long as it still differs), and written to --save as a regression, which
--replay runs in every mode from then on.

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
from casefile import Case, batch, compare, parse_dumps  # noqa: E402

NATIVE = "native"


class Tools:
    def __init__(self, build, features):
        self.gen = os.path.join(build, "tests", "difffuzz", "difffuzz_gen")
        self.harness = os.path.join(build, "tests", "difffuzz", "difffuzz_run")
        self.prof = os.path.join(build, "prof")
        self.features = features
        self.timeout = 120


def generate(tools, seed, slot, drop=()):
    argv = [tools.gen, "--seed", str(seed), "--slot", str(slot), "--features", tools.features]
    if drop:
        argv += ["--drop", ",".join(str(g) for g in sorted(drop))]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return Case(r.stdout) if r.returncode == 0 else None


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


def run(tools, cases, mode, workdir):
    blob, dump, db = (os.path.join(workdir, n) for n in ("batch", "dump." + mode, mode + ".db"))
    if not os.path.exists(blob):
        with open(blob, "wb") as f:
            f.write(batch(cases))
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
    return Result(mode, returncode, parse_dumps(data, cases), counts, stderr)


class Problem:
    def __init__(self, case, mode, kind, lines):
        self.case, self.mode, self.kind, self.lines = case, mode, kind, lines

    def signature(self):
        """What differs: register names, "rflags", section names, or the kind."""
        if self.kind != "state":
            return {self.kind}
        return {l.split(":")[0].split()[0] for l in self.lines}

    def __str__(self):
        head = "seed %s slot %s, %s mode: %s" % (self.case.seed, self.case.slot, self.mode, self.kind)
        return "\n    ".join([head] + self.lines[:12])


def case_counts(case, counts):
    lo, hi = case.code_range()
    return {pc: n for pc, n in counts.items() if lo <= pc < hi}


def count_diffs(case, want, got, want_mode):
    a, b = case_counts(case, want.counts), case_counts(case, got.counts)
    lines = ["pc 0x%x: %d, %s mode %d" % (pc, b.get(pc, 0), want_mode, a.get(pc, 0))
             for pc in sorted(set(a) | set(b)) if a.get(pc, 0) != b.get(pc, 0)]
    return lines


def compare_runs(cases, native, results, reference):
    """Problems of each mode's run against the native one and the reference
    mode's counts."""
    problems = []
    vec = min(c.vec_mode for c in cases)
    for res in results.values():
        for i, case in enumerate(cases):
            if i >= len(res.dumps):
                problems.append(Problem(case, res.mode, "crash",
                                        ["exit %s" % res.returncode] + res.stderr.splitlines()[-5:]))
                break
            diffs = compare(case, native.dumps[i], res.dumps[i], vec)
            if diffs:
                problems.append(Problem(case, res.mode, "state", diffs))
        else:
            if res.returncode != 0:
                problems.append(Problem(cases[-1], res.mode, "exit",
                                        ["exit %s" % res.returncode] + res.stderr.splitlines()[-5:]))
    ref = results.get(reference)
    failed = {p.mode for p in problems}
    for res in results.values():
        if ref is None or res is ref or res.mode in failed or reference in failed:
            continue
        for case in cases:
            lines = count_diffs(case, ref, res, reference)
            if lines:
                problems.append(Problem(case, res.mode, "counts", lines))
        total_ref, total = sum(ref.counts.values()), sum(res.counts.values())
        if total_ref != total and not problems:
            problems.append(Problem(cases[-1], res.mode, "counts",
                                    ["whole process: %d, %s mode %d" % (total, reference, total_ref)]))
    return problems


def check(tools, cases, modes, workdir):
    """(native result, problems); a case that fails natively is the
    generator's fault and is reported as such."""
    native = run(tools, cases, NATIVE, workdir)
    if native.returncode != 0 or len(native.dumps) < len(cases):
        bad = cases[len(native.dumps)] if len(native.dumps) < len(cases) else cases[-1]
        return native, [Problem(bad, NATIVE, "native failure (a generator bug)",
                                ["exit %s" % native.returncode] + native.stderr.splitlines()[-3:])]
    results = {m: run(tools, cases, m, workdir) for m in modes}
    reference = "step" if "step" in modes else "block"
    return native, compare_runs(cases, native, results, reference)


def reproduce(tools, case, problem):
    """Whether case alone still shows a problem of the same mode and kind
    in at least one of the same places (so that minimizing does not wander
    off to another bug)."""
    mode, kind = problem.mode, problem.kind
    modes = [mode] if kind != "counts" else [mode, "step" if mode != "step" else "block"]
    with tempfile.TemporaryDirectory(prefix="difffuzz-") as d:
        _, problems = check(tools, [case], modes, d)
    return any(p.mode == mode and p.signature() & problem.signature() for p in problems)


def minimize(tools, case, problem, log):
    """Drops groups of the case while the problem stays."""
    drop = set(case.drop)
    best = case
    changed = True
    while changed:
        changed = False
        for gid, _, _ in best.groups:
            if gid in drop:
                continue
            trial = generate(tools, case.seed, case.slot, drop | {gid})
            if trial is None or not reproduce(tools, trial, problem):
                continue
            drop.add(gid)
            best, changed = trial, True
    return best


def save(case, problem, directory):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "seed%s-%s-%s.case" % (case.seed, problem.mode, problem.kind.split()[0]))
    head, rest = case.text.split("\n", 1)
    note = ["# found by difffuzz.py: %s mode, %s" % (problem.mode, problem.kind)]
    note += ["#   " + l for l in problem.lines[:12]]
    with open(path, "w") as f:
        f.write(head + "\n" + "\n".join(note) + "\n" + rest)
    return path


def handle(tools, problems, args, log):
    """Each problem: alone, minimized, saved. Returns the number of bugs."""
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
        alone = generate(tools, p.case.seed, p.case.slot) or p.case
        if not reproduce(tools, alone, p):
            log("  seed %s does not fail alone (only with the cases before it in its batch)"
                % p.case.seed)
            path = save(alone, p, os.path.join(args.save, "batch-only"))
            log("  kept in " + path)
            continue
        small = minimize(tools, alone, p, log) if args.minimize else alone
        with tempfile.TemporaryDirectory(prefix="difffuzz-") as d:
            modes = [p.mode] if p.kind != "counts" else [p.mode, "step"]
            _, again = check(tools, [small], modes, d)
        final = next((q for q in again if q.mode == p.mode), p)
        path = save(small, final, args.save)
        log("  minimized to %d groups: %s" % (len(small.groups), path))
        log("\n".join("    " + l for l in small.listing().splitlines()))
    return bugs


def fuzz_batch(tools, seeds, modes, workdir):
    cases = []
    for slot, seed in enumerate(seeds):
        c = generate(tools, seed, slot)
        if c is not None:
            cases.append(c)
    if not cases:
        return [], 0, 0
    native, problems = check(tools, cases, modes, workdir)
    dynamic = 0
    return problems, len(cases), dynamic


def fuzz(tools, args, log):
    first, count = args.first, args.count
    deadline = time.monotonic() + args.seconds if args.seconds else None
    ran = bugs = nbatch = 0
    seed = first

    def batches():
        nonlocal seed, nbatch
        while (deadline is None and seed < first + count) or (deadline and time.monotonic() < deadline):
            n = args.batch if deadline else min(args.batch, first + count - seed)
            modes = ["cache", "block"] + (["step"] if nbatch % args.step_every == 0 else [])
            yield list(range(seed, seed + n)), modes
            seed += n
            nbatch += 1

    def one(work):
        seeds, modes = work
        with tempfile.TemporaryDirectory(prefix="difffuzz-") as d:
            return seeds, modes, fuzz_batch(tools, seeds, modes, d)

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
            done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for f in done:
                seeds, modes, (problems, n, _) = f.result()
                ran += n
                if problems:
                    bugs += handle(tools, problems, args, log)
                if args.verbose:
                    log("seeds %d-%d (%s): %d problems" % (seeds[0], seeds[-1], ",".join(modes), len(problems)))
    log("difffuzz: %d cases (seeds from %d), %d mismatches" % (ran, first, bugs))
    return bugs


def replay(tools, directory, log):
    """Every kept case alone in every mode; a case needing features this
    host lacks is skipped (and said so)."""
    host = generate(tools, 0, 0)
    have = set(host.features)
    failures = ran = 0
    for path in sorted(glob.glob(os.path.join(directory, "*.case"))):
        case = Case(open(path).read())
        case.vec_mode = min(case.vec_mode, host.vec_mode)
        missing = set(case.needs if case.needs is not None else case.features) - have
        if missing:
            log("%s: skipped (this CPU has no %s)" % (os.path.basename(path), " ".join(sorted(missing))))
            continue
        ran += 1
        with tempfile.TemporaryDirectory(prefix="difffuzz-") as d:
            _, problems = check(tools, [case], ["cache", "block", "step"], d)
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
