#!/bin/bash
# Address-space layouts at restart: the vdso of cryo restart may sit exactly
# where the saved one was (no ASLR on either side: setarch -R), or anywhere
# else; the restored program must go on either way. TAP; own pid namespace.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup layout "$@"
trap 'kill -9 "${pid:-}" 2>/dev/null; rm -rf "$tmp"' EXIT
ticks() { grep -c tick "$tmp/log"; }

# run_case NAME PROGRAM-PREFIX RESTART-PREFIX
run_case() {
	local prefix=$3
	setsid $2 "$COUNTER" >"$tmp/log" 2>&1 </dev/null &
	pid=$!
	sleep 0.8
	grep vdso "/proc/$pid/maps" >"$tmp/vdso.before"
	ok "$1: checkpoint --kill" '"$CRYO" checkpoint --kill -o "$tmp/img" "$pid"'
	wait "$pid" 2>/dev/null
	local before
	before=$(ticks)
	ok "$1: restart" '$prefix "$CRYO" restart --detach "$tmp/img"'
	sleep 0.8
	ok "$1: it counts on" '[ "$(ticks)" -gt "$before" ]'
	ok "$1: its vdso is where it was" 'grep vdso "/proc/$pid/maps" | cmp -s - "$tmp/vdso.before"'
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
}

run_case "no ASLR on either side" "setarch -R" "setarch -R"
run_case "no ASLR for the program only" "setarch -R" ""
run_case "no ASLR for restart only" "" "setarch -R"
run_case "ASLR on both sides" "" ""
echo "1..$n"
