#!/usr/bin/env bash
# bench/run.sh BUILD_DIR
#
# Benchmark harness: for each workload (with its default argument) run, one
# after the other in the same invocation,
#   baseline   BUILD/bench/baseline_step ./WORKLOAD ARG      (classic single-step loop)
#   prof-MODE  BUILD/prof record --mode MODE -q -o DB -- ./WORKLOAD ARG
#              then BUILD/prof report -i DB --format json --top 0  (field "total")
#   callgrind  valgrind --tool=callgrind ./WORKLOAD ARG       (total Ir)
# and print a markdown table: instructions, seconds, instructions/s, speed
# relative to the baseline, and whether the counts agree with the baseline.
#
# Every tool runs the workload from BUILD/bench as ./WORKLOAD, under the same
# minimal environment (env -i PATH HOME LC_ALL) and, when the kernel allows
# it, with address-space randomization off (setarch -R): the dynamic loader
# and libc's string routines execute a different number of instructions for
# a different environment size or stack alignment, so without this prof and
# baseline_step could not be compared exactly.
#
# Environment knobs:
#   BENCH_WORKLOADS  workloads to run, space or comma separated, each NAME or
#                    NAME:ARG (default: all, with default arguments)
#   BENCH_MODES      prof record modes to run (default: "$MODES" below); a
#                    mode prof rejects just gets an n/a row
#   BENCH_BASELINE=0 skip baseline_step (it is slow: ~15-100 us/instruction)
#   BENCH_CALLGRIND=0 skip valgrind
#   BENCH_KEEP=1     keep the temporary directory (databases, outputs)
#
# Exit status: 0; 1 if a prof mode that ran counted differently from the
# baseline; 2 on a usage error.

set -uo pipefail

# ---- configuration: add a workload or a prof mode by adding a word here ----
# NAME:DEFAULT_ARG. Each default gives roughly 0.3-1M user-space
# instructions, dynamic loader included.
WORKLOADS="intloop:30000 recursion:21 hashmix:20000 memcpy_heavy:500"
# prof record modes to compare with the baseline, e.g. "step block".
MODES="${BENCH_MODES:-step block}"
# ---------------------------------------------------------------------------

die() { echo "run.sh: $*" >&2; exit 2; }
note() { echo "[bench] $*" >&2; }

[ $# -eq 1 ] || die "usage: bench/run.sh BUILD_DIR"
[ -d "$1" ] || die "$1: no such build directory (build first: make build)"
BUILD=$(cd "$1" && pwd)
BENCH="$BUILD/bench"
PROF="$BUILD/prof"
BASELINE="$BENCH/baseline_step"

# Select workloads.
declare -A DEFARG=()
ALL=()
for w in $WORKLOADS; do
    DEFARG[${w%%:*}]=${w#*:}
    ALL+=("${w%%:*}")
done
SELECTED=()
if [ -n "${BENCH_WORKLOADS:-}" ]; then
    for w in ${BENCH_WORKLOADS//,/ }; do
        name=${w%%:*}
        [ -n "${DEFARG[$name]+x}" ] || die "unknown workload '$name' (known: ${ALL[*]})"
        if [ "$w" != "$name" ]; then arg=${w#*:}; else arg=${DEFARG[$name]}; fi
        SELECTED+=("$name:$arg")
    done
else
    for name in "${ALL[@]}"; do SELECTED+=("$name:${DEFARG[$name]}"); done
fi

for w in "${SELECTED[@]}"; do
    [ -x "$BENCH/${w%%:*}" ] || die "$BENCH/${w%%:*} missing (build first: make build)"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/prof-bench.XXXXXX") || die "mktemp failed"
if [ "${BENCH_KEEP:-0}" = 1 ]; then
    note "keeping $TMP"
else
    trap 'rm -rf "$TMP"' EXIT
fi

# The same launch prefix for every tool (see the header).
RUN=(env -i "PATH=$PATH" "HOME=${HOME:-/}" "LC_ALL=C")
ASLR="on"
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
    RUN+=(setarch "$(uname -m)" -R)
    ASLR="off (setarch -R)"
fi

# Seconds since an arbitrary point, microsecond resolution, no fork.
now() {
    if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s.%N; fi
}
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# Extract the top-level integer "total" from prof's JSON report.
json_total() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json,sys
try:
    t = json.load(open(sys.argv[1]))["total"]
    assert isinstance(t, int) and not isinstance(t, bool)
    print(t)
except Exception:
    sys.exit(1)' "$1"
    else
        grep -o '"total"[[:space:]]*:[[:space:]]*[0-9]*' "$1" | head -1 | grep -o '[0-9]*$'
    fi
}

# Results: one entry per row, fields separated by |:
#   workload|tool|instructions|seconds|agree
ROWS=()
NOTES=()
STATUS=0

first_line() { head -n 1 "$1" 2>/dev/null | cut -c1-160; }

run_baseline() { # name arg -> sets BASE_N BASE_S
    local name=$1 arg=$2 out="$TMP/$1.baseline" t0 t1 rc n
    BASE_N=""; BASE_S=""
    if [ ! -x "$BASELINE" ]; then
        ROWS+=("$name $arg|baseline_step|n/a|n/a|missing $BASELINE")
        return
    fi
    note "$name $arg: baseline_step (slow, ~15-100 us per instruction)..."
    t0=$(now)
    (cd "$BENCH" && "${RUN[@]}" "$BASELINE" "./$name" "$arg") >"$out.stdout" 2>"$out.stderr"
    rc=$?
    t1=$(now)
    n=$(grep -E '^instructions: [0-9]+$' "$out.stderr" | tail -n 1 | awk '{print $2}')
    if [ $rc -ne 0 ] || [ -z "$n" ]; then
        ROWS+=("$name $arg|baseline_step|n/a|n/a|failed (exit $rc)")
        NOTES+=("$name baseline_step: exit $rc: $(first_line "$out.stderr")")
        return
    fi
    BASE_N=$n; BASE_S=$(elapsed "$t0" "$t1")
    cp "$out.stdout" "$TMP/$name.result"
    ROWS+=("$name $arg|baseline_step|$BASE_N|$BASE_S|reference")
}

check_result() { # name tool stdout-file
    if [ -f "$TMP/$1.result" ] && ! cmp -s "$TMP/$1.result" "$3"; then
        NOTES+=("$1 $2: workload output differs from the baseline run: $(first_line "$3")")
    fi
}

run_prof() { # name arg mode
    local name=$1 arg=$2 mode=$3 db="$TMP/$1.$3.db" out="$TMP/$1.prof-$3" t0 t1 rc n s agree
    local tool="prof --mode $mode"
    if [ ! -x "$PROF" ]; then
        ROWS+=("$name $arg|$tool|n/a|n/a|n/a ($PROF missing)")
        return
    fi
    note "$name $arg: prof record --mode $mode..."
    rm -f "$db" "$db-wal" "$db-shm"
    t0=$(now)
    (cd "$BENCH" && "${RUN[@]}" "$PROF" record --mode "$mode" -q -o "$db" -- "./$name" "$arg") \
        >"$out.stdout" 2>"$out.stderr"
    rc=$?
    t1=$(now)
    if [ $rc -ne 0 ]; then
        ROWS+=("$name $arg|$tool|n/a|n/a|n/a (record failed, exit $rc)")
        NOTES+=("$name prof record --mode $mode: exit $rc: $(first_line "$out.stderr")")
        return
    fi
    s=$(elapsed "$t0" "$t1")
    check_result "$name" "$tool" "$out.stdout"
    if ! "$PROF" report -i "$db" --format json --top 0 >"$out.json" 2>"$out.report.stderr"; then
        ROWS+=("$name $arg|$tool|n/a|$s|n/a (report failed)")
        NOTES+=("$name prof report ($mode): $(first_line "$out.report.stderr")")
        return
    fi
    n=$(json_total "$out.json")
    if [ -z "$n" ]; then
        ROWS+=("$name $arg|$tool|n/a|$s|n/a (no integer \"total\" in JSON)")
        return
    fi
    if [ -z "$BASE_N" ]; then
        agree="n/a (no baseline)"
    elif [ "$n" = "$((BASE_N + 1))" ]; then
        # prof also counts the final exit_group `syscall`: it runs, but no
        # step stop follows it, so the classic loop cannot see it.
        agree="yes (+1: final exit_group)"
    else
        agree="**NO** (diff $(awk -v a="$n" -v b="$BASE_N" 'BEGIN { printf "%+d", a - b }'))"
        STATUS=1
    fi
    ROWS+=("$name $arg|$tool|$n|$s|$agree")
}

run_callgrind() { # name arg
    local name=$1 arg=$2 cg="$TMP/$1.callgrind.out" out="$TMP/$1.callgrind" t0 t1 rc n s agree
    if ! command -v valgrind >/dev/null 2>&1; then
        ROWS+=("$name $arg|callgrind|n/a|n/a|n/a (valgrind not installed)")
        return
    fi
    note "$name $arg: valgrind --tool=callgrind..."
    t0=$(now)
    (cd "$BENCH" && "${RUN[@]}" valgrind --tool=callgrind --callgrind-out-file="$cg" \
        "./$name" "$arg") >"$out.stdout" 2>"$out.stderr"
    rc=$?
    t1=$(now)
    n=$(awk '/^(summary|totals):/ { print $2; exit }' "$cg" 2>/dev/null)
    if [ $rc -ne 0 ] || [ -z "$n" ]; then
        ROWS+=("$name $arg|callgrind|n/a|n/a|n/a (valgrind failed, exit $rc)")
        NOTES+=("$name callgrind: exit $rc: $(grep -v '^==' "$out.stderr" | head -n 1)")
        return
    fi
    s=$(elapsed "$t0" "$t1")
    check_result "$name" callgrind "$out.stdout"
    if [ -n "$BASE_N" ]; then
        agree="not expected: diff $(awk -v a="$n" -v b="$BASE_N" 'BEGIN { printf "%+d", a - b }')"
    else
        agree="n/a (no baseline)"
    fi
    ROWS+=("$name $arg|callgrind|$n|$s|$agree")
}

note "build: $BUILD; workloads: ${SELECTED[*]}; prof modes: $MODES"
[ -x "$PROF" ] || note "$PROF not found: prof rows will read n/a"

for w in "${SELECTED[@]}"; do
    name=${w%%:*}; arg=${w#*:}
    BASE_N=""; BASE_S=""
    if [ "${BENCH_BASELINE:-1}" != 0 ]; then run_baseline "$name" "$arg"; fi
    for mode in $MODES; do run_prof "$name" "$arg" "$mode"; done
    if [ "${BENCH_CALLGRIND:-1}" != 0 ]; then run_callgrind "$name" "$arg"; fi
done

# ---- report ----
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
echo "## prof benchmark"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sr), ${cpu:-unknown CPU}, $(nproc) CPUs;"
echo "environment: env -i PATH HOME LC_ALL, ASLR $ASLR; prof modes: $MODES."
echo
echo "| workload | tool | instructions | seconds | instructions/s | ratio to baseline (insn/s) | counts agree |"
echo "|---|---|---:|---:|---:|---:|---|"
base_rate=""
for r in "${ROWS[@]}"; do
    IFS='|' read -r wl tool n s agree <<<"$r"
    rate="n/a"; ratio="n/a"
    if [[ $n =~ ^[0-9]+$ ]] && [[ $s =~ ^[0-9.]+$ ]]; then
        rate=$(awk -v n="$n" -v s="$s" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "n/a" }')
    fi
    if [ "$tool" = baseline_step ]; then base_rate=$rate; fi
    # A baseline row always precedes its workload's other rows; forget it
    # when a new workload starts without one.
    if [ "$wl" != "${last_wl:-}" ] && [ "$tool" != baseline_step ]; then base_rate=""; fi
    last_wl=$wl
    if [[ $rate =~ ^[0-9]+$ ]] && [[ ${base_rate:-} =~ ^[0-9]+$ ]] && [ "$base_rate" -gt 0 ]; then
        ratio=$(awk -v a="$rate" -v b="$base_rate" 'BEGIN { printf "%.2fx", a / b }')
    fi
    echo "| $wl | $tool | $n | $s | $rate | $ratio | $agree |"
done
echo
echo "baseline_step: unpinned PTRACE_SINGLESTEP loop, counts single-step stops after the exec stop."
echo "callgrind counts differ by design: valgrind preloads its own libraries and starts"
echo "the program its own way; prof and baseline_step are expected to agree exactly,"
echo "prof counting one more: the final exit_group, after which no step stop comes."
if [ ${#NOTES[@]} -gt 0 ]; then
    echo
    echo "Notes:"
    for n in "${NOTES[@]}"; do echo "- $n"; done
fi
if [ $STATUS -ne 0 ]; then
    note "prof's count differs from baseline_step for at least one workload"
fi
exit $STATUS
