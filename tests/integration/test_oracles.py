"""Exact counts against oracle programs whose counts are known by construction.

usage: test_oracles.py MODE PROGRAM... (each PROGRAM has PROGRAM.expect)"""
import sys
import tempfile
import os

from proftest import expect, functions, program, record, report_json


def check(mode, name):
    exp = expect(name)
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "o.db")
        r = record(db, [program(name)], mode=mode)
        errors = []
        if r.returncode != exp["exit"]:
            errors.append("exit status %d, expected %d (%s)" % (r.returncode, exp["exit"], r.stderr.strip()))
        rep = report_json(db)
        if rep["total"] != exp["total"]:
            errors.append("total %d, expected %d" % (rep["total"], exp["total"]))
        got = functions(rep)
        if got != exp["functions"]:
            errors.append("functions %s, expected %s" % (got, exp["functions"]))
        if "syscalls" in exp:
            sys_got = {s["name"]: {"calls": s["calls"], "errors": s["errors"]} for s in rep["syscalls"]}
            if sys_got != exp["syscalls"]:
                errors.append("syscalls %s, expected %s" % (sys_got, exp["syscalls"]))
        if not rep["complete"]:
            errors.append("recording not marked complete")
        return errors


def main():
    # step mode's big-program list comes from a generator expression that
    # leaves an empty argument
    mode, names = sys.argv[1], [n for n in sys.argv[2:] if n]
    failed = 0
    for name in names:
        errors = check(mode, name)
        print("%s %s: %s" % ("FAIL" if errors else "ok", name, "; ".join(errors) or "exact"))
        failed += bool(errors)
    print("%d passed, %d failed" % (len(names) - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
