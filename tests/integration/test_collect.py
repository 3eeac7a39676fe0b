"""prof record --collect FUNC counts only while FUNC is on the call stack,
exactly, in step and block mode, and the report says so."""
import unittest

from proftest import ProfTestCase, functions, program, record, report_json, run


class Collect(ProfTestCase):
    def recorded(self, name, mode, *extra):
        db = self.db("%s-%s-%d.db" % (name, mode, len(extra)))
        r = record(db, [program(name)], mode=mode, extra=extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return db, report_json(db)

    def test_collect_main_and_its_callees(self):
        # Both exact modes count alike: one whole recording to compare with.
        _, whole = self.recorded("tailcall", "block")
        for mode in ("step", "block"):
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
        db, rep = self.recorded("cfuncs", "block", "--collect", "fib")
        # fib calls nothing else: its 1973 nested calls are counted once each.
        self.assertEqual(functions(rep), {"fib": 28605})
        self.assertEqual(rep["total"], 28605)

    def test_collect_errors(self):
        for mode in ("sample", "cache"):
            r = record(self.db(), [program("cfuncs")], mode=mode, extra=("--collect", "fib"))
            self.assertOneErrorLine(r, "--collect counts exactly")
        r = record(self.db("none.db"), [program("cfuncs")], mode="block", extra=("--collect", "no_such_fn"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--collect no_such_fn: no function of that name", r.stderr)
        self.assertEqual(report_json(self.db("none.db"))["total"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
