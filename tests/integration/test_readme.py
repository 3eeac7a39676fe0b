"""The README cannot drift: every command block of README.md (a fenced block
with "$ " lines) is run, in order, in one working directory where build/ is
this build, and what each command prints (stdout and stderr, as a terminal
shows them) is compared with the lines under it in the README.

Compared after normalising what differs from machine to machine and run to
run: absolute paths of the source and build trees, addresses (0x...), times
(N.NN s, the --syscalls table), the host's CPU, runs of spaces (column widths follow the
numbers). Counts are compared exactly where they are exact everywhere:
commands that read only recordings of static test programs (tests/programs/*.S:
no libc, no dynamic loader). Where glibc and ld.so run (their paths depend on
the CPU, the environment and the libc build) or in sample mode, every number
is normalised and the shape is compared: the lines, names, columns, headers
and messages. A README line "..." stands for any number of lines.

PROF_README_SHOW=1 prints each command's actual output (to update the README)."""
import difflib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import unittest

from proftest import PROF, PROGRAMS

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(SOURCE, "README.md")
BUILD = os.path.dirname(os.path.dirname(os.path.abspath(PROGRAMS)))


class Command:
    def __init__(self, line_no, text):
        self.line_no, self.text, self.expected = line_no, text, []
        self.quoted = False  # its output is shown as Markdown (a quote): stdout alone


def sessions(readme_text):
    """The command blocks: lists of Commands with their expected lines. A
    command whose output the README shows right after its block, as a
    Markdown quote (prof diff --format markdown), gets those lines."""
    lines = readme_text.split("\n")
    found, i = [], 0
    while i < len(lines):
        if not lines[i].startswith("```"):
            i += 1
            continue
        start, i = i, i + 1
        block = []
        while i < len(lines) and not lines[i].startswith("```"):
            block.append((i + 1, lines[i]))
            i += 1
        i += 1
        if not any(text.startswith("$ ") for _, text in block):
            continue
        commands = []
        for no, text in block:
            if text.startswith("$ "):
                commands.append(Command(no, text[2:]))
            elif commands:
                commands[-1].expected.append(text)
            else:
                raise AssertionError("README line %d: output before any command" % no)
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        if not commands[-1].expected and j < len(lines) and lines[j].startswith(">"):
            commands[-1].quoted = True
            while j < len(lines) and lines[j].startswith(">"):
                commands[-1].expected.append(lines[j][2:] if lines[j].startswith("> ") else lines[j][1:])
                j += 1
        found.append((start + 1, commands))
    return found


def elf_is_static(path):
    """True for an ELF executable without a program interpreter (no ld.so)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF":
                return False
            phoff, phentsize, phnum = (int.from_bytes(head[32:40], "little"),
                                       int.from_bytes(head[54:56], "little"),
                                       int.from_bytes(head[56:58], "little"))
            for k in range(phnum):
                f.seek(phoff + k * phentsize)
                if int.from_bytes(f.read(4), "little") == 3:  # PT_INTERP
                    return False
            return True
    except OSError:
        return False


class Exactness:
    """Which files a command reads, and whether all of them come from static
    programs recorded exactly: then its counts are compared as they are."""

    def __init__(self, workdir):
        self.workdir, self.exact_files = workdir, {}

    def command(self, text):
        words = shlex.split(text)
        exact, reads = True, False
        for k, w in enumerate(words):
            if w in self.exact_files:
                exact &= self.exact_files[w]
                reads = True
            if w == "--mode" and k + 1 < len(words) and words[k + 1] == "sample":
                exact = False
        # prof record ... -o DB -- PROGRAM: DB is as exact as PROGRAM is static.
        for k, w in enumerate(words):
            if w == "record" and words[:k] and words[k - 1] == "prof":
                rest = words[k + 1:]
                db = rest[rest.index("-o") + 1] if "-o" in rest else "prof.db"
                program = rest[rest.index("--") + 1] if "--" in rest else None
                static = bool(program) and elf_is_static(os.path.join(self.workdir, program))
                self.exact_files[db] = static and exact
                exact &= static
                reads = True
            if w == "report" and words[:k] and words[k - 1] == "prof" and not any(
                    x in self.exact_files for x in words[k + 1:]):
                exact &= self.exact_files.get("prof.db", False)
                reads = True
        for k, w in enumerate(words):  # ... > FILE
            if w == ">" and k + 1 < len(words):
                self.exact_files[words[k + 1]] = exact
        return exact and reads


NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?%?")
# Lines whose presence and order depend on the machine, not on prof: rows of
# ld.so's and libc's functions and source files (their paths depend on the
# CPU's features and the environment), and --syscalls rows (ordered by time).
VARIES = re.compile(r"ld-linux|libc\.so|(^|[\s\[(])\.\.?/|^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+\s")


WORK = []  # the working directory the commands run in: paths under it are relative


def normalise(line, exact):
    line = line.replace(SOURCE + "/", "").replace("/work/main/", "")
    for work in WORK:
        line = line.replace(work + "/", "")
    line = line.replace(os.path.realpath(BUILD) + "/", "build/").replace(BUILD + "/", "build/")
    if os.path.basename(BUILD) != "build":  # make sanitize's build-sanitize/
        line = line.replace(os.path.basename(BUILD) + "/", "build/")
    line = re.sub(r"0x[0-9a-f]+", "0xH", line)
    # The host's CPU (the # cpu: header, diff's warning) is this machine's.
    line = re.sub(r"the host's [^(;]*\([^)]*\)", "the host's CPU", line)
    line = re.sub(r"host: [^)]*\)", "host: CPU)", line)
    line = re.sub(r"\b\d+\.\d+ s\b", "T s", line)
    if re.match(r"^\s*\d+\.\d+\s+\d+\.\d+\s+\d+\s+\d+\s", line):  # a --syscalls row
        line = NUMBER.sub("N", line)
    if not exact:
        line = NUMBER.sub("N", line).replace("( N", "(N")
        if "|" in line:  # which classes ran (or were sampled) varies too
            line = line.split("|", 1)[0] + "|"
    return " ".join(line.split())


def in_order(expected, actual):
    """expected lines (with "..." for any lines) against actual lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(in_order(expected[1:], actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and in_order(expected[1:], actual[1:])


def matches(expected, actual, exact):
    """Exact: line by line, in order. Shape (numbers normalised): the lines
    that do not vary with the machine, in any order (a table sorted by
    counts may order equal-looking rows differently), all of them, or the
    README's among them where it shows "..." """
    if exact:
        return in_order(expected, actual)
    want = sorted(l for l in expected if l != "(varies)")
    got = sorted(l for l in actual if l != "(varies)")
    if "..." not in want:
        return want == got
    rest = list(got)
    for line in want:
        if line == "...":
            continue
        if line not in rest:
            return False
        rest.remove(line)
    return True


class Readme(unittest.TestCase):
    def test_every_command_block(self):
        with open(README) as f:
            found = sessions(f.read())
        self.assertGreaterEqual(len(found), 17, "command blocks found in README.md")
        work = tempfile.mkdtemp(prefix="proftest-readme-")
        self.addCleanup(shutil.rmtree, work)
        WORK[:] = [work, os.path.realpath(work)]
        os.symlink(BUILD, os.path.join(work, "build"))
        bindir = os.path.join(work, ".bin")
        os.mkdir(bindir)
        os.symlink(os.path.abspath(PROF), os.path.join(bindir, "prof"))
        env = {"PATH": bindir + ":/usr/bin:/bin", "LC_ALL": "C", "HOME": work}
        exactness = Exactness(work)
        show = os.environ.get("PROF_README_SHOW")
        for start, commands in found:
            for c in commands:
                with self.subTest(line=c.line_no, command=c.text):
                    exact = exactness.command(c.text)
                    r = subprocess.run(["sh", "-c", c.text], cwd=work, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL if c.quoted else subprocess.STDOUT,
                                       text=True, errors="replace", timeout=600)
                    actual = r.stdout.rstrip("\n").split("\n") if r.stdout.strip() else []
                    if show:
                        print("\n$ %s   [README line %d, %s]\n%s" % (c.text, c.line_no,
                              "exact" if exact else "shape", r.stdout), end="")
                    # VARIES is matched before normalising: ld-linux-x86-64 holds numbers.
                    want = [normalise(l, exact) if exact or not VARIES.search(l) else "(varies)"
                            for l in c.expected]
                    while want and not want[-1]:
                        want.pop()
                    got = [normalise(l, exact) if exact or not VARIES.search(l) else "(varies)"
                           for l in actual]
                    if not matches(want, got, exact):
                        diff = difflib.unified_diff(want, got, "README (normalised)", "actual (normalised)",
                                                    lineterm="", n=2)
                        self.fail("README line %d: $ %s\n%s" % (c.line_no, c.text, "\n".join(diff)))


if __name__ == "__main__":
    unittest.main(verbosity=2)
