"""A real recording damaged page by page and truncated: every reader either
refuses it (non-zero exit, one error line, nothing on stdout) or prints
exactly the report of the undamaged recording. Never a plausible lie."""
import os
import random
import shutil
import unittest

from proftest import ProfTestCase, program, query, record, run


def readers(db, good):
    return (["report", "-i", db],
            ["report", "-i", db, "--format", "json", "--top", "0"],
            ["annotate", "-i", db, "outer"],
            ["diff", good, db])


class Corruption(ProfTestCase):
    def setUp(self):
        super().setUp()
        self.good = self.db("good.db")
        self.assertEqual(record(self.good, [program("calls")]).returncode, 0)
        self.expected = {}
        for args in readers(self.good, self.good):
            r = run(args)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.expected[args[0] + " ".join(args[3:])] = r.stdout
        self.size = os.path.getsize(self.good)
        self.page = query(self.good, "PRAGMA page_size")[0][0]

    def check(self, bad, what):
        for args in readers(bad, self.good):
            r = run(args, timeout=60)
            key = args[0] + " ".join(args[3:])
            if r.returncode == 0:
                self.assertEqual(r.stdout.replace(bad, self.good), self.expected[key],
                                 "%s: %s printed a different report" % (what, args[0]))
                continue
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            self.assertEqual(len(lines), 1, "%s: %s: %r" % (what, args, r.stderr))
            self.assertTrue(lines[0].startswith("prof: "), lines[0])
            self.assertEqual(r.stdout, "", "%s: %s" % (what, args))
            self.assertLess(r.returncode, 128, "%s: %s crashed" % (what, args))

    def test_each_page_overwritten(self):
        pages = self.size // self.page
        self.assertGreater(pages, 5)
        rng = random.Random(12)
        for page in range(1, pages + 1):
            bad = self.db("page%d.db" % page)
            shutil.copy(self.good, bad)
            with open(bad, "r+b") as f:
                f.seek((page - 1) * self.page)
                f.write(bytes(rng.getrandbits(8) for _ in range(self.page)))
            self.check(bad, "page %d of %d overwritten" % (page, pages))

    def test_truncated(self):
        for size in (0, 50, 100, self.page, self.size // 2, self.size - self.page, self.size - 1):
            bad = self.db("cut%d.db" % size)
            shutil.copy(self.good, bad)
            os.truncate(bad, size)
            self.check(bad, "truncated to %d bytes" % size)


if __name__ == "__main__":
    unittest.main()
