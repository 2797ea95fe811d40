#!/bin/bash
# Incremental checkpoints (doc/performance.md): --track, then --parent OLD
# saves only what was written since OLD; restart follows the chain. The
# programs are tests/cr ones: mem_churn writes all the time (a chain taken
# while it writes must restart to the state of its last image), mem_anon
# sits still (an incremental image of it is small). Refusals: a parent
# replaced or missing; --parent without tracking saves everything. TAP,
# run by prove; in its own pid namespace like run.sh.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup incremental "$@"
CR_BIN=$(readlink -f "${CR_BIN:-build/normal/cr}")
export CRYO_STATE_DIR=$tmp/state
trap 'kill -9 $(jobs -p) "${pid:-}" 2>/dev/null; rm -rf "$tmp"' EXIT

# start PROGRAM: a test program in its own session, $pid, log in $tmp/PROGRAM.log
start() {
	log=$tmp/$1.log
	: >"$log"
	setsid env CR_TMPDIR="$tmp" CR_KEEP_FILES=1 "$CR_BIN/$1" >>"$log" 2>&1 </dev/null &
	pid=$!
	for _ in $(seq 200); do grep -qx ready "$log" && return 0; sleep 0.05; done
	return 1
}

# restored_passes IMAGE: restart it, make it check itself; restart exits 0 and the log says PASS
restored_passes() {
	local before
	before=$(grep -c PASS "$log")
	"$CRYO" restart "$1" >"$tmp/restart.out" 2>&1 &
	local r=$!
	for _ in $(seq 100); do [ -e "/proc/$pid" ] && break; sleep 0.05; done
	sleep 0.2
	kill -USR2 "$pid" 2>/dev/null
	wait "$r" && [ "$(grep -c PASS "$log")" -gt "$before" ]
}

end() { kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; }
size() { stat -c %s "$1"; }

# --- a chain of three, taken while memory is being written ---------------------------
start mem_churn || echo "# mem_churn did not start"
ok "checkpoint --track" '"$CRYO" checkpoint --track -o "$tmp/c0" "$pid"'
ok "a tracker holds the tracking meanwhile" '[ -S "$CRYO_STATE_DIR/track-$pid.sock" ]'
sleep 0.2
ok "checkpoint --parent c0" '"$CRYO" checkpoint --parent "$tmp/c0" -o "$tmp/c1" "$pid"'
ok "c1 names c0 as its parent and keeps pages there" \
	'"$CRYO" show "$tmp/c1" | grep -q "parent .*path=\"$tmp/c0\"" &&
	 "$CRYO" show "$tmp/c1" | grep -q "pages_kept .*source=\"parent\""'
sleep 0.2
ok "checkpoint --parent c1 --kill" '"$CRYO" checkpoint --kill --parent "$tmp/c1" -o "$tmp/c2" "$pid"'
wait "$pid" 2>/dev/null
ok "restart of c2 (c2, c1, c0): memory as at c2's freeze" 'restored_passes "$tmp/c2"'
end
ok "restart of c1 (c1, c0)" 'restored_passes "$tmp/c1"'
end

# --- a still program: the incremental image is small ---------------------------------
start mem_anon || echo "# mem_anon did not start"
ok "checkpoint --track of a still program" '"$CRYO" checkpoint --track -o "$tmp/a0" "$pid"'
ok "checkpoint --parent a0" '"$CRYO" checkpoint --parent "$tmp/a0" -o "$tmp/a1" "$pid"'
ok "a1 is less than a tenth of a0 ($(size "$tmp/a1") of $(size "$tmp/a0") bytes)" \
	'[ $(($(size "$tmp/a1") * 10)) -lt "$(size "$tmp/a0")" ]'
ok "--parent a0 again (tracking now dates from a1): one warning, every page saved" \
	'"$CRYO" checkpoint --parent "$tmp/a0" -o "$tmp/a2" "$pid" 2>"$tmp/err" &&
	 [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "every page is saved" "$tmp/err" &&
	 ! "$CRYO" show "$tmp/a2" | grep -q "^ *[0-9]*  parent"'
end
ok "the tracker ends with its tree" \
	'for _ in $(seq 60); do [ -e "$CRYO_STATE_DIR/track-$pid.sock" ] || break; sleep 0.05; done
	 [ ! -e "$CRYO_STATE_DIR/track-$pid.sock" ]'
ok "restart of a1 (a1, a0)" 'restored_passes "$tmp/a1"'
end

# --- refusals ----------------------------------------------------------------------
mkdir "$tmp/moved"
mv "$tmp/a0" "$tmp/a1" "$tmp/moved/"
ok "images moved together: the parent is found beside its child" 'restored_passes "$tmp/moved/a1"'
end
cp "$tmp/a2" "$tmp/moved/a0"
ok "a parent replaced by another image: restart refuses in one line, starts nothing" \
	'! "$CRYO" restart "$tmp/moved/a1" 2>"$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ] &&
	 grep -q "is not the one it was made against" "$tmp/err" && [ ! -e "/proc/$pid" ]'
rm "$tmp/moved/a0"
ok "a parent missing: restart refuses in one line" \
	'! "$CRYO" restart "$tmp/moved/a1" 2>"$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ] &&
	 grep -q "cannot read its parent image" "$tmp/err" && [ ! -e "/proc/$pid" ]'
ok "--track with --kill is a usage error" '"$CRYO" checkpoint --track --kill 1 2>/dev/null; [ $? = 2 ]'

# --- restart --lazy of a corrupt image: the page server finds it, the tree goes ------
start mem_churn || echo "# mem_churn did not start"
sleep 1 # every page of the buffer written by now: its records are single runs
# no pre-copy: every page record is then used (an unused one, superseded by
# a later write, is never read by the page server, and needs no check)
ok "checkpoint --kill of 64 MiB being written" \
	'"$CRYO" checkpoint --kill --precopy=never -o "$tmp/l0" "$pid"'
wait "$pid" 2>/dev/null
# a byte of page data of a record that is one run of 256 pages: the big
# buffer, served lazily (a record with an eagerly read run would be refused
# before the tree runs, which is right too, but not this case)
off=$("$CRYO" show "$tmp/l0" | awk '$2 == "pages" && $NF ~ /^runs=0x[0-9a-f]+\+256$/ {
	for (i = 3; i <= NF; i++) if ($i ~ /^data_at=/) { split($i, a, "="); print a[2] + 100000; exit } }')
b=$(od -An -tu1 -j "$off" -N1 "$tmp/l0" | tr -d ' ')
printf '%b' "\\0$(printf %03o $((b ^ 0xff)))" | dd of="$tmp/l0" bs=1 seek="$off" conv=notrunc status=none
ok "restart --lazy of it with a page byte flipped: the page server kills the tree, one line" \
	'[ -n "$off" ] && timeout 20 "$CRYO" restart --lazy "$tmp/l0" 2>"$tmp/err"; [ $? != 0 ] &&
	 grep -q "page data checksum mismatch.*the restored tree is killed" "$tmp/err" &&
	 [ "$(grep -c . "$tmp/err")" = 1 ] && [ ! -e "/proc/$pid" ]'
end
echo "1..$n"
