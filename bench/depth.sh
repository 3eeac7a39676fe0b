#!/usr/bin/env bash
# bench/depth.sh [-n REPS] [-c CALLS] BUILD_DIR
#
# The shadow call stack's cost against the depth of the program's stack:
# bench/deeprec makes CALLS calls (default 2,000,000) in recursions 1,000
# deep, then in recursions 100,000 deep (the same work), each recorded by
# prof in its default mode, interleaved, REPS times (default 3). Prints the
# median seconds of each and their ratio: a return costs the same at any
# depth when the ratio is near 1 (a stack scan per return made it 30x).
# Needs a stack of 100,000 frames: the script raises the stack limit.
# Public tools only: bash, date, sort.
set -uo pipefail
REPS=3 CALLS=2000000
while getopts "n:c:h" opt; do
    case $opt in
    n) REPS=$OPTARG ;;
    c) CALLS=$OPTARG ;;
    *) sed -n '2,12p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
BUILD=${1:?usage: bench/depth.sh [-n REPS] [-c CALLS] BUILD_DIR}
PROF=$BUILD/prof PROG=$BUILD/bench/deeprec
ulimit -s unlimited 2>/dev/null || ulimit -s 1048576
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT

# "cpu wall" seconds taken by "$@" (bash's time: user + sys of the children).
seconds() {
    local TIMEFORMAT='%3U %3S %3R' out
    out=$( { time "$@" >/dev/null 2>&1 || echo fail >&2; } 2>&1 )
    case $out in *fail*) echo "depth.sh: failed: $*" >&2; exit 1 ;; esac
    set -- $out
    echo "$(echo "$1 + $2" | bc) $3"
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

for ((i = 0; i < REPS; i++)); do
    for d in 1000 100000; do
        seconds "$PROF" record -q -o "$tmp/d.db" -- "$PROG" "$d" "$CALLS" >>"$tmp/$d"
    done
done
row() { # depth
    local cpu wall
    cpu=$(cut -d' ' -f1 "$tmp/$1" | median) wall=$(cut -d' ' -f2 "$tmp/$1" | median)
    printf '| %s | %s | %s | %s |\n' "$1" "$CALLS" "$cpu" "$wall"
    echo "$cpu" >"$tmp/cpu$1"
}
printf '| depth | calls | prof CPU s | prof wall s |\n|---:|---:|---:|---:|\n'
row 1000
row 100000
echo "deep/shallow (CPU): $(echo "scale=2; $(cat "$tmp/cpu100000") / $(cat "$tmp/cpu1000")" | bc)x"
