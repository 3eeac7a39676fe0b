"""Functions entered by a jump (a tail call, a PLT stub) count as called from
the function that jumped: the recorder opens a frame for them (jump frames),
so their inclusive counts hold what they did, in every exact mode alike, and
the folded stacks agree with the inclusive counts."""
import os
import re
import subprocess
import unittest

from proftest import ProfTestCase, program, record, report_json, run

MODES = ("step", "block", "cache")


def folded(db):
    r = run(["report", "-i", db, "--format", "folded"])
    if r.returncode != 0:
        raise AssertionError(r.stderr)
    return [(l.rsplit(" ", 1)[0].split(";"), int(l.rsplit(" ", 1)[1])) for l in r.stdout.splitlines()]


def subtree(lines, name):
    """Instructions of the stacks that pass through name."""
    return sum(c for frames, c in lines if name in frames)


class Jumps(ProfTestCase):
    def recorded(self, name, mode):
        db = self.db("%s-%s.db" % (name, mode))
        r = record(db, [program(name)], mode=mode)
        self.assertEqual(r.returncode, 0, r.stderr)
        return db, report_json(db)

    def test_program_is_built_with_a_tail_call(self):
        out = subprocess.run(["objdump", "-d", program("tailcall")], capture_output=True, text=True,
                             check=True).stdout
        mid = out.split("<mid>:", 1)[1].split("\n\n", 1)[0]
        self.assertRegex(mid, r"jmp\s+[0-9a-f]+ <leaf>", "mid must end in a tail jump")

    def test_tail_call_and_plt(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                db, rep = self.recorded("tailcall", mode)
                funcs = {(f["name"], f["dso"]): f for f in rep["functions"]}
                own = {n: f for (n, d), f in funcs.items() if d == "tailcall"}
                calls = {(c["caller"], c["callee"]): c for c in rep["calls"]}
                # leaf is entered by mid's jmp: it counts as called from mid.
                self.assertEqual(own["leaf"]["inclusive"], own["leaf"]["count"] + own["work"]["inclusive"])
                self.assertEqual(calls[("mid", "leaf")]["calls"], 1)
                self.assertEqual(calls[("mid", "leaf")]["inclusive"], own["leaf"]["inclusive"])
                self.assertEqual(own["mid"]["inclusive"], own["mid"]["count"] + own["leaf"]["inclusive"])
                # getpid is entered by the PLT stub's jmp.
                stub = [c for (a, b), c in calls.items() if a == "getpid@plt"]
                self.assertEqual(len(stub), 1, stub)
                self.assertIn(stub[0]["callee"], ("getpid", "__getpid"))
                target = funcs[(stub[0]["callee"], stub[0]["callee_dso"])]
                self.assertEqual(stub[0]["inclusive"], target["inclusive"])
                self.assertEqual(own["getpid@plt"]["inclusive"], own["getpid@plt"]["count"] + target["inclusive"])
                # Folded stacks: main's subtree (the program's own code and one
                # libc function) is exactly its inclusive count, and so on down.
                lines = folded(db)
                for name in ("main", "mid", "leaf", "work", "getpid@plt"):
                    self.assertEqual(subtree(lines, name), own[name]["inclusive"], name)
                stacks = {";".join(frames) for frames, _ in lines}
                self.assertTrue(any(s.endswith("main;mid;leaf;work") for s in stacks), stacks)
                self.assertTrue(any(s.endswith("main;getpid@plt;" + stub[0]["callee"]) for s in stacks))

    def test_lazy_binding_through_the_resolver(self):
        """cfuncs calls printf through a lazily bound PLT stub: the stub jumps
        to the lazy-binding entry .plt, which jumps to ld.so's resolver,
        which jumps on to printf: each is entered in turn."""
        for mode in MODES:
            with self.subTest(mode=mode):
                db, rep = self.recorded("cfuncs", mode)
                funcs = {(f["name"], f["dso"]): f for f in rep["functions"]}
                out = {}
                for c in rep["calls"]:
                    out.setdefault((c["caller"], c["caller_dso"]), {})[c["callee"]] = c
                printf = funcs[("printf", "libc.so.6")]
                self.assertEqual(printf["inclusive"],
                                 printf["count"] + sum(c["inclusive"] for c in out[("printf", "libc.so.6")].values()))
                stub = funcs[("printf@plt", "cfuncs")]
                self.assertIn(".plt", out[("printf@plt", "cfuncs")])
                resolver = [n for n in out[(".plt", "cfuncs")] if n.startswith("_dl_runtime_resolve")]
                self.assertEqual(len(resolver), 1, out[(".plt", "cfuncs")])
                resolved = out[(resolver[0], "ld-linux-x86-64.so.2")]
                self.assertEqual(resolved["printf"]["inclusive"], printf["inclusive"])
                # What the stub's call executed is all accounted for below it.
                self.assertEqual(stub["inclusive"],
                                 stub["count"] + sum(c["inclusive"] for c in out[("printf@plt", "cfuncs")].values()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
