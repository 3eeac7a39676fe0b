"""A program computes under prof exactly what it computes alone.

Programs whose results depend on carries and overflows crossing basic
blocks (bignum arithmetic in OpenSSL and GMP through gawk -M, zstd's match
finder): the code cache's counter update at a block's start once clobbered
the carry flag that the block's first instruction read. Each runs alone and
under prof; output and exit status must be identical."""
import os
import shutil
import subprocess
import sys
import unittest

from proftest import DEFAULT_MODE, EXACT_MODES, ProfTestCase, program, record


def native(argv, stdin=None):
    return subprocess.run(argv, capture_output=True, timeout=300, input=stdin)


class SameResults(ProfTestCase):
    def assertSameUnderProf(self, argv, modes=(DEFAULT_MODE,), stdin=None):
        alone = native(argv, stdin)
        for mode in modes:
            with self.subTest(mode=mode):
                mode_args = [] if mode == DEFAULT_MODE else ["--mode", mode]
                r = subprocess.run([os.environ.get("PROF", "build/prof"), "record", "-q",
                                    *mode_args, "-o", self.db(mode + ".db"), "--", *argv],
                                   capture_output=True, timeout=600, input=stdin)
                self.assertEqual(r.stdout, alone.stdout, r.stderr.decode(errors="replace"))
                self.assertEqual(r.returncode, alone.returncode, r.stderr.decode(errors="replace"))

    def test_carries_every_mode(self):
        """adc, sbb, rcl, rcr, cmc, adcx, adox right after jumps, and 128-bit chains."""
        self.assertSameUnderProf([program("carries")], modes=EXACT_MODES)

    @unittest.skipUnless(shutil.which("openssl"), "openssl is not installed")
    def test_openssl_prime(self):
        out = native(["openssl", "prime", "170141183460469231731687303715884105727"]).stdout
        self.assertIn(b"is prime", out)
        self.assertSameUnderProf(["openssl", "prime", "170141183460469231731687303715884105727"])

    @unittest.skipUnless(shutil.which("gawk"), "gawk is not installed")
    def test_gawk_bignums(self):
        self.assertSameUnderProf(
            ["gawk", "-M", "BEGIN{x=7^50000;y=11^40000;print (x*y)%998244353,(x-y)%1000003}"])
        self.assertSameUnderProf(["gawk", "-M", 'BEGIN{x=3^200000;print length(x "")}'])

    @unittest.skipUnless(shutil.which("zstd"), "zstd is not installed")
    def test_zstd_19(self):
        with open(shutil.which("zstd"), "rb") as f:
            data = f.read(16384)
        self.assertSameUnderProf(["zstd", "-19", "-c"], stdin=data)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:], verbosity=2)
