#!/usr/bin/env bash
# bench/sample.sh BUILD_DIR
#
# Sample mode's two targets, measured side by side in one run:
#  - overhead: wall time of a CPU-bound workload natively, under
#    `prof record --mode sample` at 1 kHz, and under
#    `perf record -e cpu-clock -F 1000 -g` (when perf is installed), each run
#    REPEAT times alternately; prof and perf side by side, each with its
#    median and its best run against native's (the best runs are the ones
#    other load on the machine disturbed least).
#  - accuracy: the sampled shares of the workload's two hot functions against
#    their exact shares from a block-mode recording of the same program.
#  - cost per sample, seen from inside the program: bench/gapmeter spins
#    reading the clock and counts the gaps in its own run (stops,
#    preemptions), natively and under each profiler.
# The workload is tests/programs/proportion: leaf and other run one loop body,
# 3 units to 1.
set -uo pipefail

[ $# -eq 1 ] || { echo "usage: bench/sample.sh BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
PROF="$BUILD/prof"
PROG="$BUILD/tests/programs/proportion"
ROUNDS=${BENCH_SAMPLE_ROUNDS:-300}
REPEAT=${BENCH_SAMPLE_REPEAT:-7}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

now() { date +%s.%N; }
seconds() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1; t1=$(now); echo "$t1 - $t0" | bc -l; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
best() { sort -n | head -1; }
pct() { echo "($1 / $2 - 1) * 100" | bc -l; }

declare -A T
for i in $(seq "$REPEAT"); do
    T[native]+="$(seconds "$PROG" "$ROUNDS")"$'\n'
    T[prof]+="$(seconds "$PROF" record -q --mode sample --freq 1000 -o "$TMP/s.db" -- "$PROG" "$ROUNDS")"$'\n'
    if command -v perf >/dev/null; then
        T[perf]+="$(seconds perf record -q -e cpu-clock -F 1000 -g -o "$TMP/perf.data" -- "$PROG" "$ROUNDS")"$'\n'
    fi
done

echo "## sample mode"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs; workload: proportion $ROUNDS (CPU-bound), $REPEAT runs of each, alternately"
echo
echo "| run | median s | overhead (median) | best s | overhead (best) |"
echo "|---|---:|---:|---:|---:|"
base=$(printf '%s' "${T[native]}" | median)
base_best=$(printf '%s' "${T[native]}" | best)
for k in native prof perf; do
    [ -n "${T[$k]:-}" ] || continue
    s=$(printf '%s' "${T[$k]}" | median)
    b=$(printf '%s' "${T[$k]}" | best)
    label=$k
    [ "$k" = prof ] && label="prof record --mode sample --freq 1000"
    [ "$k" = perf ] && label="perf record -e cpu-clock -F 1000 -g"
    printf '| %s | %.3f | %+.1f%% | %.3f | %+.1f%% |\n' "$label" "$s" "$(pct "$s" "$base")" \
        "$b" "$(pct "$b" "$base_best")"
done

# Gaps: the same spin natively and under each profiler, REPEAT times; medians.
GAPS="$BUILD/bench/gapmeter"
declare -A G
for i in $(seq "$REPEAT"); do
    G[native]+="$("$GAPS" 1)"$'\n'
    G[prof]+="$("$PROF" record -q --mode sample --freq 1000 -o "$TMP/g.db" -- "$GAPS" 1)"$'\n'
    if command -v perf >/dev/null; then
        G[perf]+="$(perf record -q -e cpu-clock -F 1000 -g -o "$TMP/perf.data" -- "$GAPS" 1 2>/dev/null)"$'\n'
    fi
done
col() { printf '%s' "$1" | awk -v c="$2" '{ print $c }' | median; }
echo
echo "| run (gapmeter 1 s) | gaps > 5 us | lost ms per s | median gap us |"
echo "|---|---:|---:|---:|"
for k in native prof perf; do
    [ -n "${G[$k]:-}" ] || continue
    label=$k
    [ "$k" = prof ] && label="prof record --mode sample --freq 1000"
    [ "$k" = perf ] && label="perf record -e cpu-clock -F 1000 -g"
    printf '| %s | %s | %s | %s |\n' "$label" "$(col "${G[$k]}" 1)" "$(col "${G[$k]}" 2)" "$(col "${G[$k]}" 3)"
done

# Accuracy: exact shares from block mode on a short run (the split does not
# depend on the length), sampled shares from the last sample recording.
"$PROF" record -q --mode block -o "$TMP/b.db" -- "$PROG" 2 100000 >/dev/null
share() { "$PROF" report -i "$1" --format json --top 0 | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = {f["name"]: 100.0 * f["count"] / d["total"] for f in d["functions"]}
print(" ".join("%.2f" % s.get(n, 0) for n in ("leaf", "other")), d["total"])'; }
read -r bl bo bt <<<"$(share "$TMP/b.db")"
read -r sl so st <<<"$(share "$TMP/s.db")"
# Within the two functions (the loader's 1.5 % of the short exact run left out).
within() { echo "100 * $1 / ($1 + $2)" | bc -l; }
ebl=$(within "$bl" "$bo"); ebo=$(within "$bo" "$bl"); esl=$(within "$sl" "$so"); eso=$(within "$so" "$sl")
echo
echo "| function | exact share (block, $bt instructions) | sampled share ($st samples) | difference | exact, of leaf+other | sampled, of leaf+other | difference |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '| leaf | %.2f%% | %.2f%% | %+.2f points | %.2f%% | %.2f%% | %+.2f points |\n' "$bl" "$sl" \
    "$(echo "$sl - $bl" | bc -l)" "$ebl" "$esl" "$(echo "$esl - $ebl" | bc -l)"
printf '| other | %.2f%% | %.2f%% | %+.2f points | %.2f%% | %.2f%% | %+.2f points |\n' "$bo" "$so" \
    "$(echo "$so - $bo" | bc -l)" "$ebo" "$eso" "$(echo "$eso - $ebo" | bc -l)"
echo
echo "Shares are of all instructions (block) and of all samples (sample): the"
echo "dynamic loader and exit take about 1.5 % of the exact run (7 M instructions),"
echo "and nothing measurable of the long sampled one; the last columns compare the"
echo "two functions' split alone."
