#!/usr/bin/env bash
# bench/cache.sh [-m MODE] [-n REPS] [-b BIG] [-s SMALL] [-c CPU] BUILD_DIR
#
# Speed of an exact prof mode (default: cache, the code-cache mode of
# issue 10) against the program alone and against callgrind, side by side
# in one run: every repetition runs each tool once, in turn, on the same
# workload (interleaved, so a busy neighbour slows all of them alike); the
# tables show the median of REPS repetitions.
#
# Table 1, workloads of 100M+ instructions (step and block mode would take
# hours on these), and three JIT runtimes (node, java, luajit: code that
# changes, threads; each skipped with a note when not installed):
#   native     ./WORKLOAD ARGS
#   callgrind  valgrind --tool=callgrind --callgrind-out-file=/dev/null ./WORKLOAD ARGS
#   prof       BUILD/prof record -q --mode MODE -o DB -- ./WORKLOAD ARGS
# Columns: workload, instructions (prof's exact total from the first
# repetition; callgrind's count, marked "cg", when prof failed), native s,
# callgrind s, prof s, prof/native, prof/callgrind.
#
# Table 2, the small workloads of bench/run.sh: prof --mode step, block and
# MODE, and block/MODE (how many times faster MODE is than block mode).
#
# Options:
#   -m MODE   the prof mode under test (default cache)
#   -n REPS   repetitions, median reported (default 3)
#   -b BIG    big workloads, space or comma separated, each NAME or NAME:ARG
#             (default: all below); "" skips table 1. ARG is the iteration
#             count for hashmix and intloop, the input size for sha256sum
#             and gzip in MB, or in KB with a k suffix (e.g. gzip:16k), the
#             loop count of the node, java and luajit scripts, the rounds
#             of git commands (git: a test suite of many short processes).
#   -s SMALL  small workloads, as bench/run.sh names them (default: all of
#             run.sh's, with its arguments); "" skips table 2.
#   -c CPU    table 1 also runs prof record --mode MODE --cpu CPU in each
#             repetition: what answering the program's cpuid and xgetbv
#             costs (columns "--cpu CPU" instructions and seconds, and
#             --cpu/prof). Its counts differ where the program, glibc
#             first, chooses other code for that CPU.
#
# Every tool runs under the same minimal environment (env -i PATH HOME
# LC_ALL) and, when the kernel allows it, with ASLR off (setarch -R), as in
# bench/run.sh. The inputs of sha256sum and gzip are generated into a
# temporary directory: a fixed-seed pseudo-random text of words (a
# Park-Miller generator in awk, exact in double arithmetic, so the same
# bytes with any awk on any machine) that gzip compresses about 2.4x, as
# real text. The JIT workloads run a small fixed script each, written into
# the temporary directory: node -e and luajit -e sum i % 7 over the loop
# count; java runs a class compiled there with javac (a hot method, an
# interface call that turns megamorphic halfway, a HashMap), with its
# default JIT and threads. Public tools only: bash, awk, valgrind, date.
#
# Exit status: 0; 1 if a run failed or prof's output differs from the
# program's own; 2 on a usage error.

set -uo pipefail

# ---- configuration ---------------------------------------------------------
# NAME:DEFAULT_ARG; instruction counts measured with callgrind (2026-12-01,
# valgrind 3.x, so no SHA or AVX-512 code paths): hashmix 6500000 ~ 201M,
# intloop 14000000 ~ 203M, sha256sum of 20 MB ~ 1.1G, gzip -9 of 10 MB ~ 2.1G.
# JIT runtimes (prof's counts, 2026-12-07): node -e 1e6 ~ 218M (mostly V8's
# start), java Work 20000 ~ 1.0G, luajit -e 30000000 ~ 913M. git:5 runs 20
# short git processes (and seq, sh).
BIG_DEFAULT="hashmix:6500000 intloop:14000000 sha256sum:20 gzip:10 threads4:4000000 make:12 node:1e6 java:20000 luajit:30000000 git:5"
# As bench/run.sh's WORKLOADS.
SMALL_DEFAULT="intloop:30000 recursion:21 hashmix:20000 memcpy_heavy:500"
# ---------------------------------------------------------------------------

die() { echo "cache.sh: $*" >&2; exit 2; }
note() { echo "[cache.sh] $*" >&2; }

MODE=cache REPS=3 BIG="$BIG_DEFAULT" SMALL="$SMALL_DEFAULT" CPU=""
while getopts "m:n:b:s:c:h" opt; do
    case $opt in
    m) MODE=$OPTARG ;;
    n) REPS=$OPTARG ;;
    b) BIG=$OPTARG ;;
    s) SMALL=$OPTARG ;;
    c) CPU=$OPTARG ;;
    h) sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "usage: bench/cache.sh [-m MODE] [-n REPS] [-b BIG] [-s SMALL] [-c CPU] BUILD_DIR" ;;
    esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || die "usage: bench/cache.sh [-m MODE] [-n REPS] [-b BIG] [-s SMALL] [-c CPU] BUILD_DIR"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "-n: a positive number, not '$REPS'"
[ -d "$1" ] || die "$1: no such build directory (build first: make build)"
BUILD=$(cd "$1" && pwd)
BENCH="$BUILD/bench"
PROF="$BUILD/prof"
[ -x "$PROF" ] || die "$PROF missing (build first: make build)"
command -v valgrind >/dev/null 2>&1 || note "valgrind not installed: callgrind columns read n/a"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/prof-cache-bench.XXXXXX") || die "mktemp failed"
if [ "${BENCH_KEEP:-0}" = 1 ]; then note "keeping $TMP"; else trap 'rm -rf "$TMP"' EXIT; fi

RUN=(env -i "PATH=$PATH" "HOME=${HOME:-/}" "LC_ALL=C")
ASLR="on"
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
    RUN+=(setarch "$(uname -m)" -R)
    ASLR="off (setarch -R)"
fi

now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
median() { [ $# -gt 0 ] || { echo n/a; return; }; printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
    else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0)
    printf "%.2fx", a / b; else print "n/a" }'; }
json_total() { grep -o '"total"[[:space:]]*:[[:space:]]*[0-9]*' "$1" 2>/dev/null | head -1 | grep -o '[0-9]*$'; }

STATUS=0
NOTES=()

# Deterministic text: SIZE_MB megabytes of lines of pseudo-words, words
# drawn from a 4096-word vocabulary with a skewed (Zipf-like) frequency.
gen_text() { # bytes file
    awk -v bytes="$1" 'BEGIN {
        s = 12345; letters = "etaoinshrdlcumwfgypbvkjxqz"
        for (w = 0; w < 4096; w++) {
            len = 2 + w % 9; word = ""
            for (k = 0; k < len; k++) {
                s = (s * 16807) % 2147483647
                # skewed letter choice: frequent letters come first
                r = s / 2147483647; word = word substr(letters, 1 + int(26 * r * r), 1)
            }
            vocab[w] = word
        }
        n = 0; line = ""
        while (n < bytes) {
            s = (s * 16807) % 2147483647
            r = s / 2147483647; word = vocab[int(4096 * r * r * r)]
            if (length(line) + length(word) >= 72) { print line; n += length(line) + 1; line = word }
            else line = (line == "" ? word : line " " word)
        }
    }' | head -c "$1" >"$2"
}

size_bytes() { # N (MB) or Nk (KB) -> bytes
    case $1 in
    *[!0-9k]* | k* | *k*k) die "size '$1': N (MB) or Nk (KB)" ;;
    *k) echo $((${1%k} * 1024)) ;;
    *) echo $(($1 * 1048576)) ;;
    esac
}

size_label() { case $1 in *k) echo "${1%k} KB" ;; *) echo "$1 MB" ;; esac; }

# The command line of a big workload: sets CMD (array) and LABEL.
big_cmd() { # name arg
    case $1 in
    hashmix | intloop)
        [ -x "$BENCH/$1" ] || die "$BENCH/$1 missing (build first)"
        CMD=("$BENCH/$1" "$2"); LABEL="$1 $2" ;;
    sha256sum)
        [ -f "$TMP/text.$2" ] || gen_text "$(size_bytes "$2")" "$TMP/text.$2"
        CMD=(sha256sum "$TMP/text.$2"); LABEL="sha256sum $(size_label "$2")" ;;
    gzip)
        [ -f "$TMP/text.$2" ] || gen_text "$(size_bytes "$2")" "$TMP/text.$2"
        CMD=(gzip -9 -c "$TMP/text.$2"); LABEL="gzip -9 $(size_label "$2")" ;;
    threads4)
        [ -x "$BENCH/threads4" ] || die "$BENCH/threads4 missing (build first)"
        CMD=("$BENCH/threads4" "$2"); LABEL="threads4 $2 (4 threads)" ;;
    make)
        [ -d "$TMP/proj.$2" ] || gen_project "$2" "$TMP/proj.$2"
        CMD=(make -s -B -j2 -C "$TMP/proj.$2"); LABEL="make -j2 ($2 C files)"
        CG_EXTRA=(--trace-children=yes) ;;
    node)
        CMD=(node -e "let s=0;for(let i=0;i<$2;i++)s+=i%7;console.log(s)"); LABEL="node -e, $2 iterations" ;;
    luajit)
        CMD=(luajit -e "local s=0 for i=1,$2 do s=s+i%7 end print(s)"); LABEL="luajit -e, $2 iterations" ;;
    java)
        [ -f "$TMP/java/Work.class" ] || gen_java "$TMP/java" || die "javac failed"
        CMD=(java -cp "$TMP/java" Work "$2"); LABEL="java Work $2" ;;
    git)
        [ -d "$TMP/repo/.git" ] || gen_repo "$TMP/repo" || die "git failed"
        CMD=(sh -c 'cd "$1" && for i in $(seq "$2"); do git status --short && git log --oneline -3 &&
            git diff HEAD~1 --stat && git grep -c table; done' sh "$TMP/repo" "$2")
        LABEL="git, $2 x (status, log, diff, grep)"
        CG_EXTRA=(--trace-children=yes) ;;
    *) die "unknown big workload '$1' (known: hashmix intloop sha256sum gzip threads4 make node java luajit git)" ;;
    esac
}

# A small C project of N files (each a few functions) and its Makefile:
# make -j2 runs sh, gcc, cc1, as and collect2/ld, many processes.
gen_project() { # n dir
    mkdir -p "$2"
    local i objs=""
    for ((i = 0; i < $1; i++)); do
        cat >"$2/f$i.c" <<EOC
static int table$i[64];
int f$i(int x) { int s = 0; for (int k = 0; k < 64; k++) { table$i[k] = x * k + $i; s += table$i[k] % 7; } return s; }
int g$i(const char *p) { int h = $i; while (*p) h = h * 31 + *p++; return h ^ f$i(h & 255); }
EOC
        objs="$objs f$i.o"
    done
    printf 'int main(void) { return 0; }\n' >"$2/main.c"
    printf 'prog: main.o%s\n\t$(CC) -o $@ $^\n%%.o: %%.c\n\t$(CC) -O2 -c -o $@ $<\n' "$objs" >"$2/Makefile"
}

# A git repository for the git workload: gen_project's files in three
# commits of fixed authors and dates, and one file changed since. Each round
# of the workload runs four short git processes: a test suite's shape, where
# start-up is most of the work.
gen_repo() { # dir
    gen_project 6 "$1"
    local g=("${RUN[@]}" env GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@b GIT_COMMITTER_NAME=b
             GIT_COMMITTER_EMAIL=b@b GIT_AUTHOR_DATE=@1700000000 GIT_COMMITTER_DATE=@1700000000
             git -C "$1")
    "${g[@]}" init -q && "${g[@]}" add f0.c f1.c f2.c && "${g[@]}" commit -qm one &&
        "${g[@]}" add . && "${g[@]}" commit -qm two &&
        echo 'int extra(void) { return 1; }' >>"$1/f3.c" && "${g[@]}" commit -qam three &&
        echo 'int more(void) { return 2; }' >>"$1/f4.c"
}

# A Java class for the java workload, compiled into dir: a hot static
# method, an interface call monomorphic for the first half of the rounds
# and megamorphic after (HotSpot recompiles it), a HashMap and a
# StringBuilder.
gen_java() { # dir
    mkdir -p "$1"
    cat >"$1/Work.java" <<'EOJ'
import java.util.HashMap;
public class Work {
  interface Shape { long area(long k); }
  static final class Sq implements Shape { public long area(long k) { return k * k; } }
  static final class Tri implements Shape { public long area(long k) { return k * (k + 1) / 2; } }
  static final class Rect implements Shape { public long area(long k) { return k * 3; } }
  static int hot(int n) { int s = 0; for (int i = 0; i < n; i++) s = (s + i * 7) % 1000003; return s; }
  public static void main(String[] a) {
    int rounds = Integer.parseInt(a[0]);
    long t = 0;
    Shape[] shapes = { new Sq(), new Tri(), new Rect() };
    HashMap<Integer, Long> m = new HashMap<>();
    StringBuilder sb = new StringBuilder();
    for (int k = 0; k < rounds; k++) {
      t += hot(1000);
      t += shapes[k % (k < rounds / 2 ? 1 : 3)].area(k);
      m.merge(k % 97, (long) k, Long::sum);
      if (k % 100 == 0) sb.append(k).append(',');
    }
    long ms = 0;
    for (long v : m.values()) ms += v;
    System.out.println(t + " " + ms + " " + sb.length());
  }
}
EOJ
    "${RUN[@]}" javac -d "$1" "$1/Work.java" >&2
}

# Whether a big workload's program is installed (the JIT runtimes may not be).
big_available() { # name
    case $1 in
    node | luajit | git) command -v "$1" >/dev/null 2>&1 ;;
    java) command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 ;;
    *) true ;;
    esac
}

# timed OUT CMD...: runs CMD (outputs in OUT.stdout, OUT.stderr), prints its
# wall seconds, or "fail".
timed() { # out-prefix command...
    local out=$1 t0 t1 rc; shift
    t0=$(now)
    (cd "$BENCH" && "${RUN[@]}" "$@") >"$out.stdout" 2>"$out.stderr"
    rc=$?
    t1=$(now)
    if [ $rc -ne 0 ]; then echo "fail"; return; fi
    elapsed "$t0" "$t1"
}

prof_total() { # db -> total or ""
    "$PROF" report -i "$1" --format json --top 0 >"$1.json" 2>/dev/null && json_total "$1.json"
}

# Compare a tool's program output with the native run's (first repetition).
same_output() { # native-out tool-out what
    if ! cmp -s "$1.stdout" "$2.stdout"; then
        NOTES+=("$3: program output differs from the native run")
        STATUS=1
    fi
}

BIG_ROWS=()
if [ -n "${BIG//[, ]/}" ]; then
    for w in ${BIG//,/ }; do
        name=${w%%:*}
        if [ "$w" != "$name" ]; then arg=${w#*:}; else
            arg=$(for d in $BIG_DEFAULT; do [ "${d%%:*}" = "$name" ] && echo "${d#*:}"; done)
        fi
        [ -n "$arg" ] || die "unknown big workload '$name'"
        CG_EXTRA=()
        if ! big_available "$name"; then
            NOTES+=("$name: not installed, skipped (make deps installs it)")
            continue
        fi
        big_cmd "$name" "$arg"
        note "$LABEL: native, callgrind, prof --mode $MODE, $REPS times..."
        tn=() tc=() tp=() tx=() n="" nx="" cgn=""
        for ((r = 1; r <= REPS; r++)); do
            o="$TMP/big.$name.$r"
            s=$(timed "$o.native" "${CMD[@]}"); [ "$s" = fail ] && NOTES+=("$LABEL: native run failed") || tn+=("$s")
            if command -v valgrind >/dev/null 2>&1; then
                s=$(timed "$o.cg" valgrind --tool=callgrind --callgrind-out-file=/dev/null "${CG_EXTRA[@]}" "${CMD[@]}")
                if [ "$s" = fail ]; then NOTES+=("$LABEL: callgrind failed"); else
                    tc+=("$s")
                    [ -n "$cgn" ] || cgn=$(grep -o 'Collected : [0-9]*' "$o.cg.stderr" | grep -o '[0-9]*$')
                    [ $r -eq 1 ] && same_output "$TMP/big.$name.1.native" "$o.cg" "$LABEL callgrind"
                fi
            fi
            rm -f "$o.db"
            s=$(timed "$o.prof" "$PROF" record -q --mode "$MODE" -o "$o.db" -- "${CMD[@]}")
            if [ "$s" = fail ]; then
                NOTES+=("$LABEL: prof record --mode $MODE failed: $(head -n 1 "$o.prof.stderr" | cut -c1-160)")
                STATUS=1
            else
                tp+=("$s")
                if [ $r -eq 1 ]; then
                    n=$(prof_total "$o.db")
                    same_output "$TMP/big.$name.1.native" "$o.prof" "$LABEL prof --mode $MODE"
                fi
            fi
            rm -f "$o.db" "$o.db-wal" "$o.db-shm" "$o.db.json"
            if [ -n "$CPU" ]; then
                s=$(timed "$o.cpu" "$PROF" record -q --mode "$MODE" --cpu "$CPU" -o "$o.db" -- "${CMD[@]}")
                if [ "$s" = fail ]; then
                    NOTES+=("$LABEL: prof record --cpu $CPU failed: $(head -n 1 "$o.cpu.stderr" | cut -c1-160)")
                    STATUS=1
                else
                    tx+=("$s")
                    [ $r -eq 1 ] && nx=$(prof_total "$o.db")
                fi
                rm -f "$o.db" "$o.db-wal" "$o.db-shm" "$o.db.json"
            fi
        done
        [ -n "$n" ] || n=${cgn:+$cgn (cg)}
        mn=$(median "${tn[@]}") mc=$(median "${tc[@]}") mp=$(median "${tp[@]}")
        row="| $LABEL | ${n:-n/a} | $mn | $mc | $mp | $(ratio "$mp" "$mn") | $(ratio "$mp" "$mc") |"
        if [ -n "$CPU" ]; then
            mx=$(median "${tx[@]}")
            row+=" ${nx:-n/a} | $mx | $(ratio "$mx" "$mp") |"
        fi
        BIG_ROWS+=("$row")
    done
fi

SMALL_ROWS=()
if [ -n "${SMALL//[, ]/}" ]; then
    MODES="step block"; [[ " $MODES " == *" $MODE "* ]] || MODES="$MODES $MODE"
    for w in ${SMALL//,/ }; do
        name=${w%%:*}
        if [ "$w" != "$name" ]; then arg=${w#*:}; else
            arg=$(for d in $SMALL_DEFAULT; do [ "${d%%:*}" = "$name" ] && echo "${d#*:}"; done)
        fi
        [ -n "$arg" ] && [ -x "$BENCH/$name" ] || die "unknown or unbuilt small workload '$name'"
        note "$name $arg: prof --mode $MODES, $REPS times..."
        declare -A T=() N=()
        for ((r = 1; r <= REPS; r++)); do
            for m in $MODES; do
                o="$TMP/small.$name.$m.$r"
                rm -f "$o.db"
                s=$(timed "$o" "$PROF" record -q --mode "$m" -o "$o.db" -- "./$name" "$arg")
                if [ "$s" = fail ]; then
                    NOTES+=("$name $arg: prof record --mode $m failed: $(head -n 1 "$o.stderr" | cut -c1-160)")
                    STATUS=1
                    continue
                fi
                T[$m]="${T[$m]:-} $s"
                [ -n "${N[$m]:-}" ] || N[$m]=$(prof_total "$o.db")
                rm -f "$o.db" "$o.db-wal" "$o.db-shm" "$o.db.json"
            done
        done
        ms=$(median ${T[step]:-}) mb=$(median ${T[block]:-}) mm=$(median ${T[$MODE]:-})
        agree="yes"
        for m in $MODES; do [ "${N[$m]:-x}" = "${N[step]:-y}" ] || agree="**NO** ($m: ${N[$m]:-n/a})"; done
        [ "$agree" = yes ] || STATUS=1
        SMALL_ROWS+=("| $name $arg | ${N[step]:-n/a} | $ms | $mb | $mm | $(ratio "$mb" "$mm") | $agree |")
        unset T N
    done
fi

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "## prof --mode $MODE: speed"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), ${cpu:-unknown CPU}, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg);"
echo "env -i PATH HOME LC_ALL, ASLR $ASLR; median of $REPS interleaved repetitions."
if [ ${#BIG_ROWS[@]} -gt 0 ]; then
    echo
    if [ -n "$CPU" ]; then
        echo "| workload | instructions | native s | callgrind s | prof s | prof/native | prof/callgrind | --cpu $CPU instructions | --cpu $CPU s | --cpu/prof |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    else
        echo "| workload | instructions | native s | callgrind s | prof s | prof/native | prof/callgrind |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
    fi
    printf '%s\n' "${BIG_ROWS[@]}"
fi
if [ ${#SMALL_ROWS[@]} -gt 0 ]; then
    echo
    echo "| workload | instructions | step s | block s | $MODE s | block/$MODE | counts agree |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${SMALL_ROWS[@]}"
fi
if [ ${#NOTES[@]} -gt 0 ]; then
    echo
    echo "Notes:"
    for x in "${NOTES[@]}"; do echo "- $x"; done
fi
exit $STATUS
