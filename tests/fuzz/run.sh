#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time from a seed corpus made of
# real inputs: a recording by prof (BUILD/prof) and ELF files of the test
# programs. A crash, leak or sanitizer finding fails with the input saved
# in FUZZ_BUILD/artifacts. Then the translator's differential fuzzer
# (tests/difffuzz) for as long: a case where prof changes what the code
# computes, or counts it differently, fails with the case minimized in
# FUZZ_BUILD/difffuzz-found (move it to tests/difffuzz/regressions).
# usage: tests/fuzz/run.sh BUILD FUZZ_BUILD SECONDS
set -euo pipefail
build=$1 fuzz=$2 seconds=$3
corpus=$fuzz/corpus
mkdir -p "$corpus/store" "$corpus/elf" "$corpus/jit" "$fuzz/artifacts"
if [ ! -e "$corpus/store/calls.db" ]; then
	"$build/prof" record -q -o "$corpus/store/calls.db" -- "$build/tests/programs/calls"
	"$build/prof" record -q --mode step -o "$corpus/store/cfuncs.db" -- "$build/tests/programs/cfuncs" >/dev/null
fi
cp "$build/tests/programs/calls" "$build/tests/programs/cfuncs" "$corpus/elf/"
if [ ! -e "$corpus/jit/seeded" ]; then
	# jit_reuse writes a perf map and a jitdump: both seed the parsers.
	jit=$(realpath "$build/tests/programs/jit_reuse")
	(cd "$corpus/jit" && pid=$("$jit" >/dev/null & echo $!; wait) &&
	 mv "/tmp/perf-$pid.map" "perf-$pid.map" && touch seeded)
fi
for target in store elf jit; do
	echo "fuzzing the ${target} reader for ${seconds} s"
	log=$fuzz/fuzz_$target.log
	if ! "$fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$fuzz/artifacts/$target-" \
		"$corpus/$target" >"$log" 2>&1; then
		tail -n 60 "$log"
		echo "fuzz_$target failed: the input is in $fuzz/artifacts"
		exit 1
	fi
	grep -E "^(Done|stat::number_of_executed_units)" "$log" || true
done
echo "differential fuzzing of the translator for ${seconds} s"
difffuzz=$(dirname "$0")/../difffuzz
python3 "$difffuzz/difffuzz.py" --build "$build" --replay "$difffuzz/regressions" \
	--seconds "$seconds" --jobs 2 --save "$fuzz/difffuzz-found"
