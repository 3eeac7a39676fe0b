"""Case files of the differential fuzzer, the harness's batch and dump files
(tests/difffuzz/abi.h), and the comparison of two dumps."""
import struct

BATCH_MAGIC = 0x3248435441425A46
DUMP_MAGIC = 0x31504D55445A46
STATE_SIZE = 2304
ST_RFLAGS, ST_MXCSR, ST_VEC, ST_K = 128, 136, 192, 2240
VEC_SSE, VEC_AVX, VEC_AVX512 = 0, 1, 2
REGS = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]
# The status flags and DF: what the program's code can set and read.
FLAGS_COMPARED = 0xCD5
FLAG_NAMES = [(0x1, "CF"), (0x4, "PF"), (0x10, "AF"), (0x40, "ZF"), (0x80, "SF"),
              (0x400, "DF"), (0x800, "OF")]
PROT = {"rx": 5, "rw": 3, "r": 1}
# Only the red zone below the first RSP is compared: below it prof may
# push the flags it saves (as a signal frame would), and the program has
# no claim on it.
RED_ZONE = 128
# The code is not compared: block mode's int3s stay in it (as a debugger's
# breakpoints do), and code is not data the generated code writes.
UNCOMPARED = ("code",)


class Section:
    def __init__(self, name, addr, size, prot, data):
        self.name, self.addr, self.size, self.prot, self.data = name, addr, size, prot, data


class Case:
    """One generated case, as its text file says."""

    def __init__(self, text):
        self.text = text
        self.regs, self.vec, self.k = {}, {}, {}
        self.sections, self.groups, self.features, self.drop = [], [], [], []
        self.seed, self.slot = None, 0
        self.needs = None
        self.signal_us = 0
        self._parse(text)

    def _parse(self, text):
        lines = text.splitlines()
        i = 0
        if not lines or not lines[0].startswith("difffuzz-case "):
            raise ValueError("not a difffuzz case file")
        while i < len(lines):
            words = lines[i].split()
            i += 1
            if not words or words[0].startswith("#"):
                continue
            key = words[0]
            if key == "seed":
                self.seed = int(words[1])
            elif key == "slot":
                self.slot = int(words[1])
            elif key == "features":
                self.features = words[1:]
            elif key == "signal_us":
                self.signal_us = int(words[1])
            elif key == "needs":
                self.needs = words[1:]
            elif key == "vec" and len(words) == 2:
                self.vec_mode = int(words[1])
            elif key == "vec":
                self.vec[int(words[1])] = bytes.fromhex(words[2])
            elif key == "k":
                self.k[int(words[1])] = int(words[2], 16)
            elif key == "drop":
                self.drop = [int(g) for w in words[1:] for g in w.split(",") if g]
            elif key in ("entry", "exit_slot", "rsp0"):
                setattr(self, key, int(words[1], 16))
            elif key == "reg":
                self.regs[words[1]] = int(words[2], 16)
            elif key == "section":
                name, addr, size, prot = words[1], int(words[2], 16), int(words[3]), words[4]
                hexdata = []
                while len("".join(hexdata)) < 2 * size:
                    hexdata.append(lines[i].strip())
                    i += 1
                self.sections.append(Section(name, addr, size, prot, bytes.fromhex("".join(hexdata))))
            elif key == "group":
                self.groups.append((int(words[1]), int(words[2]), words[3]))

    def state(self):
        b = bytearray(STATE_SIZE)
        for n, r in enumerate(REGS):
            struct.pack_into("<Q", b, 8 * n, self.regs[r])
        struct.pack_into("<QQQ", b, ST_RFLAGS, self.regs["rflags"], self.regs["mxcsr"], self.entry)
        for n, v in self.vec.items():
            b[ST_VEC + 64 * n:ST_VEC + 64 * n + 64] = v
        for n, v in self.k.items():
            struct.pack_into("<Q", b, ST_K + 8 * n, v)
        return bytes(b)

    def blob(self):
        out = [struct.pack("<QQ", len(self.sections), self.exit_slot), self.state()]
        for s in self.sections:
            out.append(struct.pack("<QQQ", s.addr, s.size, PROT[s.prot]))
            out.append(s.data)
        return b"".join(out)

    def code_range(self):
        s = self.section("code")
        return s.addr, s.addr + s.size

    def section(self, name):
        return next(s for s in self.sections if s.name == name)

    def listing(self):
        return "\n".join(l for l in self.text.splitlines() if l.startswith("# "))


def split_cases(text):
    """The cases of a regression file (one or more, one after the other)
    and its timer period."""
    parts, cur = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("difffuzz-case ") and cur:
            parts.append("".join(cur))
            cur = []
        cur.append(line)
    parts.append("".join(cur))
    cases = [Case(p) for p in parts]
    return cases, cases[0].signal_us


def batch_blob(cases, signal_us=0):
    """The harness's input: the cases, and SIGALRM every signal_us (0: never)."""
    vec = min(c.vec_mode for c in cases)
    head = struct.pack("<QQQQ", BATCH_MAGIC, len(cases), vec, signal_us)
    return head + b"".join(c.blob() for c in cases)


class Dump:
    def __init__(self, index, state, sections):
        self.index, self.state, self.sections = index, state, sections


def parse_dumps(data, cases):
    """The dumps the harness completed, in order (a crash leaves fewer)."""
    dumps, at = [], 0
    for case in cases:
        need = 16 + STATE_SIZE + sum(s.size for s in case.sections)
        if at + need > len(data):
            break
        magic, index = struct.unpack_from("<QQ", data, at)
        if magic != DUMP_MAGIC:
            break
        at += 16
        state = data[at:at + STATE_SIZE]
        at += STATE_SIZE
        secs = []
        for s in case.sections:
            secs.append(data[at:at + s.size])
            at += s.size
        dumps.append(Dump(index, state, secs))
    return dumps


def _flags(v):
    return " ".join(n for bit, n in FLAG_NAMES if v & bit) or "-"


def _vector_layout(vec_mode):
    """(registers, bytes each) the harness saves in this vector mode."""
    return {VEC_SSE: (16, 16), VEC_AVX: (16, 32), VEC_AVX512: (32, 64)}[vec_mode]


def compare(case, want, got, vec_mode):
    """Differences between two dumps of case, one line each (empty: equal)."""
    diffs = []
    for n, r in enumerate(REGS):
        a, b = (struct.unpack_from("<Q", d.state, 8 * n)[0] for d in (want, got))
        if a != b:
            diffs.append("%s: 0x%x, not 0x%x" % (r, b, a))
    fa, fb = (struct.unpack_from("<Q", d.state, ST_RFLAGS)[0] & FLAGS_COMPARED for d in (want, got))
    if fa != fb:
        diffs.append("rflags: %s, not %s" % (_flags(fb), _flags(fa)))
    ma, mb = (struct.unpack_from("<I", d.state, ST_MXCSR)[0] for d in (want, got))
    if ma != mb:
        diffs.append("mxcsr: 0x%x, not 0x%x" % (mb, ma))
    nregs, width = _vector_layout(vec_mode)
    name = {16: "xmm", 32: "ymm", 64: "zmm"}[width]
    for n in range(nregs):
        a, b = (d.state[ST_VEC + 64 * n:ST_VEC + 64 * n + width] for d in (want, got))
        if a != b:
            diffs.append("%s%d: %s, not %s" % (name, n, b[::-1].hex(), a[::-1].hex()))
    if vec_mode == VEC_AVX512:
        for n in range(8):
            a, b = (struct.unpack_from("<Q", d.state, ST_K + 8 * n)[0] for d in (want, got))
            if a != b:
                diffs.append("k%d: 0x%x, not 0x%x" % (n, b, a))
    for s, a, b in zip(case.sections, want.sections, got.sections):
        if s.name in UNCOMPARED:
            continue
        start = 0
        if s.name == "stack":
            start = case.rsp0 - RED_ZONE - s.addr
        for off in range(start, s.size, 8):
            if a[off:off + 8] != b[off:off + 8]:
                diffs.append("%s 0x%x: %s, not %s" % (s.name, s.addr + off, b[off:off + 8].hex(),
                                                      a[off:off + 8].hex()))
                if len(diffs) > 40:
                    return diffs
    return diffs
