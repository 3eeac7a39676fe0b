"""prof record --collect FUNC counts only while FUNC is on the call stack,
exactly, in every exact mode (cache, block, step), and the report says so."""
import os
import unittest

from proftest import EXACT_MODES, ProfTestCase, functions, program, record, report_json, run


class Collect(ProfTestCase):
    def recorded(self, name, mode, *extra):
        db = self.db("%s-%s-%d.db" % (name, mode, len(extra)))
        r = record(db, [program(name)], mode=mode, extra=extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return db, report_json(db)

    def test_collect_main_and_its_callees(self):
        # Both exact modes count alike: one whole recording to compare with.
        _, whole = self.recorded("tailcall", "block")
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db, part = self.recorded("tailcall", mode, "--collect", "main")
                main = {f["name"]: f for f in whole["functions"]}["main"]
                # Exactly what main and its callees executed, nothing before or after.
                self.assertEqual(part["total"], main["inclusive"])
                self.assertEqual(part["collect"], "main")
                own = {f["name"]: f for f in part["functions"]}
                self.assertEqual(set(own), {"main", "mid", "leaf", "work", "getpid@plt", "__getpid"})
                for name in ("main", "mid", "leaf", "work"):
                    self.assertEqual(own[name]["count"], functions(whole)[name], name)
                self.assertEqual(own["main"]["inclusive"], part["total"])
                text = run(["report", "-i", db]).stdout
                self.assertIn("# collect:  only while main is on the call stack", text)

    def test_collect_recursive_function(self):
        for mode in EXACT_MODES:
            with self.subTest(mode=mode):
                db, rep = self.recorded("cfuncs", mode, "--collect", "fib")
                # fib calls nothing else: its 1973 nested calls are counted once each.
                self.assertEqual(functions(rep), {"fib": 28605})
                self.assertEqual(rep["total"], 28605)
                # Nothing outside fib: no syscalls (cfuncs' are all outside).
                self.assertEqual(rep["syscalls"], [])

    def stops(self, *extra):
        r = run(["record", "-q", "--mode", "cache", "-o", self.db("stops.db"), *extra, "--",
                 program("cfuncs")], env=dict(os.environ, PROF_DEBUG="1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        return int(r.stderr.split(" stops for ")[0].rsplit(" ", 1)[1])

    def test_collect_in_cache_mode_runs_from_the_cache(self):
        # Only FUNC's entries and returns add stops (one call of hash_text:
        # its entry's block runs in block mode, its return misses the
        # lookup; the margin is for address layouts, block mode would add
        # some 30,000): the program runs from the cache as without --collect.
        db, rep = self.recorded("cfuncs", "cache", "--collect", "hash_text")
        self.assertEqual(functions(rep), {"hash_text": 1293})
        self.assertLessEqual(self.stops("--collect", "hash_text"), self.stops() + 50)

    def test_collect_errors(self):
        r = record(self.db(), [program("cfuncs")], mode="sample", extra=("--collect", "fib"))
        self.assertOneErrorLine(r, "--collect counts exactly")
        r = record(self.db("none.db"), [program("cfuncs")], mode="block", extra=("--collect", "no_such_fn"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--collect no_such_fn: no function of that name", r.stderr)
        self.assertEqual(report_json(self.db("none.db"))["total"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
