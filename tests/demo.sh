#!/bin/bash
# The README's first command (`make demo`, as root): a program is started,
# checkpointed with --kill, restarted from its image, and goes on counting
# where it was, with the same pid and the same memory.
set -eu
cd "$(dirname "$0")/.."
CRYO=./cryo
work=$(mktemp -d /tmp/cryo-demo.XXXXXX)
trap 'kill -9 "${pid:-}" 2>/dev/null; rm -rf "$work"' EXIT
exec 2>&1
# The program should hold only its own files: drop whatever this shell inherited.
for fd in $(ls /proc/$$/fd); do
	[ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null || true
done

step() { printf '\n== %s\n' "$*"; }

step "starting a program that counts and checksums 32 MiB of memory"
setsid build/normal/demo-counter >"$work/out" 2>&1 </dev/null &
pid=$!
disown "$pid" # bash still reaps it, without a "Killed" notice
sleep 1.5
cat "$work/out"

step "cryo checkpoint --kill $pid"
start=$(date +%s%N)
$CRYO checkpoint --kill -o "$work/demo.img" "$pid"
end=$(date +%s%N)
echo "checkpointed in $(((end - start) / 1000000)) ms into $(du -h "$work/demo.img" | cut -f1)B; pid $pid is gone:"
ps -p "$pid" >/dev/null && echo "  still running?!" || echo "  (no such process)"
last=$(tail -n1 "$work/out")

step "what the image holds (cryo show, first lines)"
$CRYO show "$work/demo.img" | head -n 8

step "cryo restart --detach"
start=$(date +%s%N)
$CRYO restart --detach "$work/demo.img"
end=$(date +%s%N)
echo "restarted in $(((end - start) / 1000000)) ms; the program goes on where it was:"
echo "  last line before: $last"
sleep 1.2
grep -A3 -F "$last" "$work/out" | tail -n +2 | sed 's/^/  after:            /'
kill "$pid"
step "done"
