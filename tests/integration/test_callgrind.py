"""A C program's own functions, counted by prof in step mode, equal
valgrind --tool=callgrind's per-function counts.

callgrind needs --skip-plt=no (otherwise it charges PLT stubs to the caller).
Totals differ (valgrind preloads its own libraries and ld.so takes another
path), so only the program's own functions are compared."""
import os
import re
import subprocess
import unittest

from proftest import ProfTestCase, functions, program, record, report_json

OWN_FUNCTIONS = ["fib", "fill_data", "sum_data", "hash_text", "main"]


def callgrind_counts(argv, outdir, inclusive=False):
    out = os.path.join(outdir, "callgrind.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--skip-plt=no", "--callgrind-out-file=" + out, *argv],
                   check=True, capture_output=True)
    ann = subprocess.run(["callgrind_annotate", "--threshold=100",
                          "--inclusive=" + ("yes" if inclusive else "no"), out], check=True,
                         capture_output=True, text=True).stdout
    counts = {}
    for line in ann.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\S*:(\S+?)(?:'\d+)?\s", line + " ")
        if m:
            counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(1).replace(",", ""))
    return counts


class CallgrindAgreement(ProfTestCase):
    def test_own_functions_match_callgrind(self):
        argv = [program("cfuncs")]
        r = record(self.db(), argv)
        self.assertEqual(r.returncode, 0, r.stderr)
        prof = functions(report_json(self.db()))
        cg = callgrind_counts(argv, self.dir)
        for name in OWN_FUNCTIONS:
            self.assertIn(name, cg, "callgrind did not report %s: %s" % (name, sorted(cg)[:20]))
            self.assertEqual(prof.get(name), cg[name], "function %s" % name)

    def test_inclusive_through_a_tail_call_matches_callgrind(self):
        """callgrind counts a jump to a function's entry as a call: leaf,
        entered by mid's tail jump, holds what it calls."""
        argv = [program("tailcall")]
        r = record(self.db(), argv)
        self.assertEqual(r.returncode, 0, r.stderr)
        prof = {f["name"]: f["inclusive"] for f in report_json(self.db())["functions"]
                if f["dso"] == "tailcall"}
        cg = callgrind_counts(argv, self.dir, inclusive=True)
        for name in ("main", "mid", "leaf", "work"):
            self.assertEqual(prof.get(name), cg.get(name), "inclusive count of %s" % name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
