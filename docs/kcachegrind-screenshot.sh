#!/bin/sh
# Takes docs/kcachegrind.png: KCachegrind showing a prof recording of
# tests/programs/cfuncs with fib selected, its source lines (Source Code)
# and instructions (Machine Code) with their exact counts. Needs Debian's
# kcachegrind, xvfb, xdotool and imagemagick (not part of `make deps`), and
# a built tree: run from the repository root after `make build`.
set -eu
out=${1:-docs/kcachegrind.png}
tmp=$(mktemp -d)
build/prof record -q -o "$tmp/cfuncs.db" -- build/tests/programs/cfuncs >/dev/null
build/prof report -i "$tmp/cfuncs.db" --format callgrind >"$tmp/callgrind.out.cfuncs"
Xvfb :99 -screen 0 1500x950x24 >/dev/null 2>&1 &
xvfb=$!
sleep 2
# A fresh configuration: the default layout, no tip of the day.
mkdir -p "$tmp/config"
printf '[TipOfDay]\nRunOnStart=false\n' >"$tmp/config/kcachegrindrc"
export DISPLAY=:99 XDG_RUNTIME_DIR="$tmp" XDG_CONFIG_HOME="$tmp/config"
dbus-run-session -- kcachegrind "$tmp/callgrind.out.cfuncs" >/dev/null 2>&1 &
kc=$!
sleep 8
for w in $(xdotool search --name "callgrind.out.cfuncs"); do
	xdotool windowmove "$w" 0 0 windowsize "$w" 1500 950
done
sleep 2
# Source Code tab (top), Machine Code tab (bottom), fib in the flat profile,
# absolute counts instead of percentages (the Relative toggle).
xdotool mousemove 716 98 click 1 sleep 1 mousemove 814 906 click 1 sleep 1
xdotool mousemove 201 308 click 1 sleep 1 mousemove 293 37 click 1 sleep 2
import -window root "$out"
win=$(xdotool search --name "callgrind.out.cfuncs" | head -n 1)
kill "$(xdotool getwindowpid "$win")"
wait "$kc" || true
kill "$xvfb"
rm -rf "$tmp"
echo "wrote $out"
