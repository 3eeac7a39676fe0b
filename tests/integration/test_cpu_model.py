"""record --cpu, --no-aslr and --reproducible: the program sees the model's
CPU (libgcc's __builtin_cpu_supports, raw CPUID and XGETBV) in every mode,
thread, forked child and exec'd image, through both ways prof intercepts
(block ends; CPUID faulting where the kernel offers it); glibc picks the
model's variants; counts stay exact; two reproducible runs agree.

Features the host lacks are never faked: their models are checked to be
refused with one line, then skipped."""
import json
import os
import re
import subprocess
import unittest

from proftest import PROF, ProfTestCase, expect, functions, program, query, record, report_json, run

MODELS = ("x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4")

# /proc/cpuinfo's names for each level's features (the kernel lists AVX and
# AVX-512 only when it enables their registers).
LEVEL_FLAGS = {
    "x86-64": ("cmov", "cx8", "fpu", "fxsr", "mmx", "sse", "sse2", "syscall", "lm"),
    "x86-64-v2": ("cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"),
    "x86-64-v3": ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"),
    "x86-64-v4": ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"),
}

# What each model answers: __builtin_cpu_supports, then the raw bits.
BUILTIN = {
    "x86-64": "sse4.2=0 avx=0 avx2=0 avx512f=0 bmi2=0",
    "x86-64-v2": "sse4.2=1 avx=0 avx2=0 avx512f=0 bmi2=0",
    "x86-64-v3": "sse4.2=1 avx=1 avx2=1 avx512f=0 bmi2=1",
    "x86-64-v4": "sse4.2=1 avx=1 avx2=1 avx512f=1 bmi2=1",
}
RAW = {
    "x86-64": "vendor=GenuineIntel cpuid.sse4.2=0 cpuid.avx=0 cpuid.osxsave=0 cpuid.avx2=0 "
              "cpuid.bmi2=0 cpuid.avx512f=0 xcr0=-",
    "x86-64-v2": "vendor=GenuineIntel cpuid.sse4.2=1 cpuid.avx=0 cpuid.osxsave=0 cpuid.avx2=0 "
                 "cpuid.bmi2=0 cpuid.avx512f=0 xcr0=-",
    "x86-64-v3": "vendor=GenuineIntel cpuid.sse4.2=1 cpuid.avx=1 cpuid.osxsave=1 cpuid.avx2=1 "
                 "cpuid.bmi2=1 cpuid.avx512f=0 xcr0=0x7",
    "x86-64-v4": "vendor=GenuineIntel cpuid.sse4.2=1 cpuid.avx=1 cpuid.osxsave=1 cpuid.avx2=1 "
                 "cpuid.bmi2=1 cpuid.avx512f=1 xcr0=0xe7",
}
WHO = ("main", "thread", "child", "exec")


def cpuinfo_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


FLAGS = cpuinfo_flags()
FAULTING = "cpuid_fault" in FLAGS


def host_has(model):
    """The model's features are all the host's."""
    need = []
    for m in MODELS[:MODELS.index(model) + 1]:
        need += LEVEL_FLAGS[m]
    return all(f in FLAGS for f in need)


def env_with(**extra):
    """prof's own switches, always set (to "0" when off): the program then
    runs with an environment of the same size whichever is on (glibc walks
    it at start-up)."""
    env = dict(os.environ)
    env.update({"PROF_NO_CPUID_FAULTING": "0", "PROF_CPUID_FAULT_ONLY": "0"})
    env.update(extra)
    return env


class CpuCase(ProfTestCase):
    def need(self, model):
        """Skips a model the host lacks, after checking prof refuses it in one line."""
        if model == "host" or host_has(model):
            return
        r = record(self.db("lacks.db"), [program("cpufeatures")], mode="cache",
                   extra=("--cpu", model))
        self.assertOneErrorLine(r, "the host lacks ")
        self.assertIn("for --cpu %s" % model, r.stderr)
        self.skipTest("the host lacks the features of %s (refused as it should be)" % model)

    def record_cpu(self, model, argv, mode="cache", env=None, extra=(), db="prof.db"):
        r = subprocess.run([PROF, "record", "-q", "--mode", mode, "--cpu", model, "-o", self.db(db),
                            *extra, "--", *argv], capture_output=True, text=True, timeout=300,
                           env=env or env_with())
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def assertModelSeen(self, model, out, sample=False):
        """Every line of cpufeatures' output is the model's answer. In sample
        mode XGETBV runs freely (docs/cpu-model.md): it shows the host's XCR0."""
        lines = dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)
        self.assertEqual(lines.get("builtin"), BUILTIN[model], out)
        raw = RAW[model]
        if sample:
            raw = raw.rsplit(" ", 1)[0]
        for who in WHO:
            got = lines.get(who, "")
            if sample:
                got = got.rsplit(" ", 1)[0]
            self.assertEqual(got, raw, "%s under --cpu %s:\n%s" % (who, model, out))


class CpuModels(CpuCase):
    """Each model, in threads, children and after exec."""

    def test_each_model_in_cache_mode(self):
        for model in MODELS:
            with self.subTest(model=model):
                self.need(model)
                r = self.record_cpu(model, [program("cpufeatures")])
                self.assertModelSeen(model, r.stdout)

    def test_host_is_the_host(self):
        native = subprocess.run([program("cpufeatures")], capture_output=True, text=True)
        r = self.record_cpu("host", [program("cpufeatures")])
        self.assertEqual(r.stdout, native.stdout)

    def test_without_cpuid_faulting(self):
        # The path of a kernel without faulting: blocks end at cpuid too.
        for mode, model in (("cache", "x86-64-v2"), ("cache", "x86-64-v3"), ("block", "x86-64-v3")):
            with self.subTest(mode=mode, model=model):
                self.need(model)
                r = self.record_cpu(model, [program("cpufeatures")], mode=mode,
                                    env=env_with(PROF_NO_CPUID_FAULTING="1"))
                self.assertModelSeen(model, r.stdout)
                self.assertEqual(report_json(self.db())["cpu"]["interception"], "block ends")

    @unittest.skipUnless(FAULTING, "this machine offers no CPUID faulting (no cpuid_fault flag)")
    def test_cpuid_faulting_alone(self):
        # cpuid left to faulting: its SIGSEGV is answered in the cache, in a
        # block and in a step (xgetbv still ends blocks: it cannot fault).
        self.need("x86-64-v3")
        for mode in ("cache", "block", "step"):
            with self.subTest(mode=mode):
                r = self.record_cpu("x86-64-v3", [program("cpufeatures")], mode=mode,
                                    env=env_with(PROF_CPUID_FAULT_ONLY="1"))
                self.assertModelSeen("x86-64-v3", r.stdout)
                rep = report_json(self.db())
                self.assertEqual(rep["cpu"]["interception"], "cpuid faulting, xgetbv at block ends")
                self.assertEqual(query(self.db(), "SELECT COUNT(*) FROM signals WHERE signo = 11"),
                                 [(0,)], "a fault prof answered is no signal of the program's")

    def test_children_not_followed_see_the_host(self):
        # --no-follow-fork: the child prof lets go runs as without prof (it
        # inherited CPUID faulting, which would kill it at its cpuid); the
        # program's own exec is followed again.
        self.need("x86-64-v2")
        native = subprocess.run([program("cpufeatures")], capture_output=True, text=True).stdout
        host_child = next(l for l in native.splitlines() if l.startswith("child: "))
        for mode in ("cache", "sample") if FAULTING else ("cache",):
            with self.subTest(mode=mode):
                r = self.record_cpu("x86-64-v2", [program("cpufeatures")], mode=mode,
                                    extra=("--no-follow-fork",))
                lines = r.stdout.splitlines()
                self.assertIn(host_child, lines)
                self.assertIn("exec: " + RAW["x86-64-v2"], lines)

    def test_step_mode(self):
        self.need("x86-64-v3")
        r = self.record_cpu("x86-64-v3", [program("cpufeatures")], mode="step")
        self.assertModelSeen("x86-64-v3", r.stdout)


class SampleMode(CpuCase):
    @unittest.skipUnless(FAULTING, "this machine offers no CPUID faulting (no cpuid_fault flag)")
    def test_cpuid_answered_by_faulting(self):
        self.need("x86-64-v3")
        r = self.record_cpu("x86-64-v3", [program("cpufeatures")], mode="sample")
        self.assertModelSeen("x86-64-v3", r.stdout, sample=True)
        native = subprocess.run([program("cpufeatures"), "exec"], capture_output=True, text=True)
        host_xcr0 = native.stdout.split()[-1]
        self.assertIn(" " + host_xcr0 + "\n", r.stdout, "sample mode leaves xgetbv to the CPU")

    def test_refused_without_faulting(self):
        r = subprocess.run([PROF, "record", "-q", "--mode", "sample", "--cpu", "x86-64", "-o", self.db(),
                            "--", program("cpufeatures")], capture_output=True, text=True,
                           env=env_with(PROF_NO_CPUID_FAULTING="1"))
        self.assertOneErrorLine(r, "--cpu in sample mode needs CPUID faulting")
        self.assertFalse(os.path.exists(self.db()))


class Exactness(CpuCase):
    def test_cpuid_oracle_every_mode_and_path(self):
        # cpuid.S: 58 instructions by construction, six of them cpuid.
        want = expect("cpuid")
        paths = [("0", "0"), ("1", "0")] + ([("0", "1")] if FAULTING else [])
        for no_faulting, fault_only in paths:
            for mode in ("step", "block", "cache"):
                with self.subTest(mode=mode, no_faulting=no_faulting, fault_only=fault_only):
                    self.record_cpu("x86-64-v2", [program("cpuid")], mode=mode,
                                    env=env_with(PROF_NO_CPUID_FAULTING=no_faulting,
                                                 PROF_CPUID_FAULT_ONLY=fault_only))
                    rep = report_json(self.db())
                    self.assertEqual(rep["total"], want["total"])
                    self.assertEqual(functions(rep), want["functions"])
                    self.assertEqual(rep["classes"].get("other"), 6, "cpuid keeps its class")

    def per_pc(self, db):
        return query(db, "SELECT pc, SUM(count), MIN(class) FROM insns GROUP BY pc ORDER BY pc")

    def test_step_equals_block_and_cache(self):
        # One image, one thread (threads and fork make timing-dependent
        # counts): every emulated cpuid and xgetbv counted as a step counts it.
        self.need("x86-64-v3")
        argv = [program("cpufeatures"), "exec"]
        dbs = {}
        for mode in ("step", "block", "cache"):
            self.record_cpu("x86-64-v3", argv, mode=mode, extra=("--no-aslr",), db=mode + ".db")
            dbs[mode] = self.per_pc(self.db(mode + ".db"))
        self.assertGreater(len(dbs["step"]), 1000)
        self.assertEqual(dbs["step"], dbs["block"])
        self.assertEqual(dbs["step"], dbs["cache"])

    def test_xgetbv_that_faults(self):
        # An XCR no CPU has: #GP, SIGSEGV to the program's handler, in every
        # mode, and the same count everywhere (the faulting xgetbv counts nothing).
        self.need("x86-64-v3")
        native = subprocess.run([program("cpufeatures"), "badxcr"], capture_output=True, text=True)
        self.assertEqual(native.stdout, "xgetbv 7: faulted\n")
        counts = set()
        for mode in ("step", "block", "cache"):
            r = self.record_cpu("x86-64-v3", [program("cpufeatures"), "badxcr"], mode=mode,
                                extra=("--no-aslr",), db=mode + ".db")
            self.assertEqual(r.stdout, native.stdout, mode)
            counts.add(tuple(self.per_pc(self.db(mode + ".db"))))
        self.assertEqual(len(counts), 1)

    def test_avx512_program(self):
        # Compiled for AVX-512 and for the rest: under v4 its AVX-512 code
        # runs on the real CPU and counts exactly; under v3 it is told none.
        self.need("x86-64-v4")
        counts = {}
        for mode in ("step", "cache"):
            r = self.record_cpu("x86-64-v4", [program("avx512sum")], mode=mode, db=mode + ".db")
            self.assertTrue(r.stdout.startswith("avx512 "), r.stdout)
            counts[mode] = functions(report_json(self.db(mode + ".db")))
        self.assertEqual(counts["step"], counts["cache"])
        self.assertTrue(any(n.startswith("sum_avx512") for n in counts["cache"]), counts["cache"])
        r = self.record_cpu("x86-64-v3", [program("avx512sum")])
        self.assertTrue(r.stdout.startswith("plain "), r.stdout)
        self.assertEqual(r.stdout.split()[1], "12285")
        names = functions(report_json(self.db()))
        self.assertFalse(any(n.startswith("sum_avx512") for n in names), names)


class GlibcChoice(CpuCase):
    """glibc's ifunc selectors (sysdeps/x86_64/multiarch/ifunc-*.h) on the
    model: memcpy, strlen and strchr variants, by function name."""
    STRING = re.compile(r"^__(mem(cpy|move|set)|strlen|strchr|strchrnul)_")

    def variants(self, model):
        self.need(model)
        self.record_cpu(model, [program("cpufeatures"), "libc"])
        names = [n for n in functions(report_json(self.db())) if self.STRING.match(n)]
        self.assertTrue(any(n.startswith("__strlen_") for n in names), names)
        return names

    def assertNone(self, names, pattern):
        self.assertEqual([n for n in names if re.search(pattern, n)], [], names)

    def test_x86_64(self):
        names = self.variants("x86-64")
        self.assertNone(names, r"_(avx|avx2|evex|avx512)(_|$)")
        self.assertIn("__strlen_sse2", names)

    def test_v2(self):
        names = self.variants("x86-64-v2")
        self.assertNone(names, r"_(avx|avx2|evex|avx512)(_|$)")
        self.assertIn("__strlen_sse2", names)
        self.assertIn("__strchr_sse2", names)

    def test_v3(self):
        names = self.variants("x86-64-v3")
        self.assertNone(names, r"_(evex|avx512)(_|$)")
        self.assertIn("__strlen_avx2", names)
        self.assertIn("__strchr_avx2", names)
        self.assertTrue(any(re.match(r"__mem(cpy|move)_avx_unaligned", n) for n in names), names)

    def test_v4(self):
        names = self.variants("x86-64-v4")
        self.assertIn("__strlen_evex", names)
        self.assertIn("__strchr_evex", names)
        # An Intel CPU without AVX-VNNI: glibc prefers 256-bit EVEX to AVX-512.
        self.assertTrue(any(re.match(r"__mem(cpy|move)_evex_unaligned", n) for n in names), names)


class Reproducible(CpuCase):
    def reproducible_run(self, name, cwd, env):
        r = subprocess.run([PROF, "record", "-q", "--reproducible", "-o", self.db(name), "--",
                            program("cpufeatures"), "libc"], capture_output=True, text=True,
                           timeout=300, cwd=cwd, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_two_runs_are_identical(self):
        self.need("x86-64-v3")
        other = os.path.join(self.dir, "a", "much", "deeper", "directory")
        os.makedirs(other)
        env = dict(os.environ, SOME_LONG_VARIABLE="x" * 300, ANOTHER="y", LANG="de_DE.UTF-8")
        out1 = self.reproducible_run("one.db", self.dir, dict(os.environ))
        out2 = self.reproducible_run("two.db", other, env)
        self.assertEqual(out1, out2)
        self.assertModelSeen("x86-64-v3", out1)
        one, two = report_json(self.db("one.db")), report_json(self.db("two.db"))
        self.assertEqual(one["total"], two["total"])
        self.assertEqual(functions(one), functions(two))
        self.assertEqual((one["aslr"], one["environment"], one["cpu"]["model"]),
                         ("off", "fixed", "x86-64-v3"))
        # Without --reproducible the environment shows (glibc walks it).
        r = self.record_cpu("x86-64-v3", [program("cpufeatures"), "libc"], env=env)
        self.assertNotEqual(report_json(self.db())["total"], one["total"])

    def test_no_aslr(self):
        outs = set()
        for i in range(2):
            r = run(["record", "-q", "--no-aslr", "-o", self.db("%d.db" % i), "--",
                     program("cpufeatures"), "addr"])
            self.assertEqual(r.returncode, 0, r.stderr)
            outs.add(r.stdout)
            self.assertEqual(report_json(self.db("%d.db" % i))["aslr"], "off")
        self.assertEqual(len(outs), 1, outs)


class ReportAndDiff(CpuCase):
    def test_report_says_what_the_program_saw(self):
        self.need("x86-64-v3")
        self.record_cpu("x86-64-v3", [program("cpufeatures")], extra=("--no-aslr",))
        text = run(["report", "-i", self.db()]).stdout
        cpu_line = [l for l in text.splitlines() if l.startswith("# cpu:")]
        self.assertEqual(len(cpu_line), 1, text)
        self.assertIn("x86-64-v3 shown to the program (host: ", cpu_line[0])
        self.assertIn("ASLR off", cpu_line[0])
        rep = report_json(self.db())
        vendor = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                      if l.startswith("vendor_id"))
        self.assertEqual(rep["cpu"]["model"], "x86-64-v3")
        self.assertEqual(rep["cpu"]["host"]["vendor"], vendor)
        self.assertIn("sse2", rep["cpu"]["host"]["features"])
        self.assertEqual(rep["aslr"], "off")
        self.assertEqual(rep["environment"], "inherited")

    def test_diff_warns_when_the_cpus_differ(self):
        self.need("x86-64-v3")
        for name, model in (("v2.db", "x86-64-v2"), ("v3.db", "x86-64-v3"), ("v3b.db", "x86-64-v3")):
            self.record_cpu(model, [program("cpufeatures")], db=name)
        r = run(["diff", self.db("v2.db"), self.db("v3.db")])
        self.assertEqual(r.returncode, 0, r.stderr)
        warnings = [l for l in r.stderr.splitlines() if "different CPUs" in l]
        self.assertEqual(len(warnings), 1, r.stderr)
        self.assertIn("x86-64-v2", warnings[0])
        self.assertIn("x86-64-v3", warnings[0])
        r = run(["diff", self.db("v3.db"), self.db("v3b.db")])
        self.assertNotIn("different CPUs", r.stderr)


class BadInput(CpuCase):
    def test_unknown_model_lists_the_known(self):
        r = record(self.db(), [program("cpufeatures")], extra=("--cpu", "x86-64-v5"))
        self.assertOneErrorLine(r, "unknown CPU model 'x86-64-v5'")
        for model in ("host",) + MODELS:
            self.assertIn(model, r.stderr)
        self.assertEqual(r.returncode, 2)

    def test_attach_refuses_what_only_a_launch_can_do(self):
        for extra, what in ((("--cpu", "x86-64-v2"), "--cpu"), (("--no-aslr",), "--no-aslr"),
                            (("--reproducible",), "--reproducible")):
            with self.subTest(option=what):
                r = run(["record", "-q", "-o", self.db(), *extra, "-p", str(os.getpid())])
                self.assertOneErrorLine(r, what + " applies to a program prof launches")


if __name__ == "__main__":
    unittest.main()
