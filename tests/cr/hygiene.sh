#!/bin/bash
# Image hygiene (doc/checkpoint-restart.md, "Trusting an image"): images
# are written with mode 0600; restart refuses an image file that is neither
# the caller's nor root's, or that group or others may write, unless
# --trust-image is given, and so for the parents of an incremental image
# and a file on stdin (a pipe is not checked); a restart by another user
# than root restores only its own credentials. Each refusal: exit 1, one
# line naming the image, nothing started, the image unchanged. The program
# restarted is the demo counter, which must count on. TAP; own pid namespace.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup hygiene "$@"
chmod 755 "$tmp" # the cases run by nobody read their images in it
export CRYO_STATE_DIR=$tmp/state
# bash notes on stderr each counter killed by checkpoint --kill: stderr
# goes to a file, shown at the end without those notes
exec 2>"$tmp/stderr"
trap 'kill -9 $(jobs -p) "${pid:-}" 2>/dev/null
	grep -v " Killed " "$tmp/stderr" | sed "s/^/# stderr: /"
	rm -rf "$tmp"' EXIT

if ! command -v setpriv >/dev/null; then
	echo "1..0 # skip setpriv (util-linux) is missing"
	exit 0
fi

log=$tmp/log
ticks() { grep -c tick "$log"; }
counts_on() {
	local before
	before=$(ticks)
	sleep 0.7
	[ "$(ticks)" -gt "$before" ]
}

# start [SETPRIV-OPTIONS...]: the counter in its own session (through
# setpriv when options are given), once it ticks; its pid in $pid
start() {
	: >"$log"
	chmod 666 "$log"
	if [ $# -gt 0 ]; then
		setsid setpriv "$@" "$COUNTER" >>"$log" 2>&1 </dev/null &
	else
		setsid "$COUNTER" >>"$log" 2>&1 </dev/null &
	fi
	pid=$!
	until_ok 10 "the counter ticks" grep -q tick "$log" || echo "# $COUNTER did not start"
}

# checkpoint IMAGE [OPTIONS...]: the counter saved into IMAGE with --kill, and reaped
checkpoint() {
	local image=$1 ret
	shift
	"$CRYO" checkpoint --kill "$@" -o "$image" "$pid"
	ret=$?
	wait "$pid" 2>/dev/null
	return $ret
}

# end: the restored counter killed and reaped, its pid free again
end() {
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	until_ok 5 "pid $pid free" test ! -e "/proc/$pid"
}

# list_procs: every process of the namespace but us, in $procs (no
# subshell: it would list itself)
list_procs() {
	local d
	procs=""
	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" = $$ ] || procs+="${d#/proc/} "
	done
}

say_stderr() { sed 's/^/# stderr: /' "$tmp/err" | head -n 3; }

# refused WHAT REGEX CMD...: CMD (a restart) exits 1 with one line on
# stderr, "cryo: " then REGEX (grep -E), starts nothing, and leaves $img
# byte for byte as it was
refused() {
	local what=$1 re=$2 sum before rc
	shift 2
	sum=$(cksum <"$img")
	list_procs
	before=$procs
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	list_procs
	ok "$what: exit 1" '[ "$rc" = 1 ]'
	one_line() { [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qE -- "^cryo: $re" "$tmp/err"; }
	ok "$what: one error line, naming it" one_line
	one_line || say_stderr
	ok "$what: nothing started" '[ "$procs" = "$before" ] && [ ! -e "/proc/$pid" ]'
	ok "$what: the image unchanged" '[ "$(cksum <"$img")" = "$sum" ]'
}

# restarts WHAT CMD...: CMD (a restart --detach) exits 0 and the counter
# counts on; then it is ended
restarts() {
	local what=$1 rc
	shift
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	ok "$what: restarts" '[ "$rc" = 0 ]'
	[ "$rc" = 0 ] || say_stderr
	ok "$what: counts on" counts_on
	end
}

# --- the mode of an image ----------------------------------------------------------------
start
: >"$tmp/old"
chmod 666 "$tmp/old"
umask 000
checkpoint "$tmp/old"
umask 022
ok "checkpoint over a 0666 file, under umask 000: mode 0600" '[ "$(stat -c %a "$tmp/old")" = 600 ]'
img=$tmp/img
start
ok "checkpoint" 'checkpoint "$img"'
img_pid=$pid # $pid is always the pid of the image being restarted
ok "the image has mode 0600 and is root's" '[ "$(stat -c %a:%u "$img")" = 600:0 ]'
restarts "a root-owned 0600 image, no --trust-image" "$CRYO" restart --detach "$img"
ok "show of it" '"$CRYO" show "$img" >/dev/null'

# --- files someone else could have written ------------------------------------------------
chown 1000 "$img"
refused "an image owned by uid 1000" \
	"$img: owned by uid 1000, not by you \(uid 0\) or root; .*--trust-image$" \
	"$CRYO" restart --detach "$img"
restarts "the same with --trust-image" "$CRYO" restart --detach --trust-image "$img"
ok "show of it, which only reads, needs no --trust-image" '"$CRYO" show "$img" >/dev/null'
refused "the same on stdin (a regular file is checked)" \
	"-: owned by uid 1000, not by you \(uid 0\) or root" \
	sh -c 'exec "$0" restart --detach - <"$1"' "$CRYO" "$img"
restarts "the same through a pipe (not checked: the caller connected it)" \
	sh -c 'cat "$1" | "$0" restart --detach -' "$CRYO" "$img"
chown 0 "$img"

chmod 620 "$img"
refused "a group-writable image" \
	"$img: writable by others \(mode 0620\); chmod go-w it, or pass --trust-image$" \
	"$CRYO" restart --detach "$img"
restarts "the same with --trust-image" "$CRYO" restart --detach --trust-image "$img"

chmod 602 "$img"
refused "an image writable by others" "$img: writable by others \(mode 0602\)" \
	"$CRYO" restart --detach "$img"
restarts "the same with --trust-image" "$CRYO" restart --detach --trust-image "$img"
chmod 600 "$img"

# --- the parent of an incremental image ----------------------------------------------------
start
ok "checkpoint --track" '"$CRYO" checkpoint --track -o "$tmp/c0" "$pid" >/dev/null'
ok "checkpoint --parent c0 --kill" 'checkpoint "$tmp/c1" --parent "$tmp/c0"'
chown 1000 "$tmp/c0"
img=$tmp/c0
refused "a parent image owned by uid 1000" \
	"$tmp/c0 \(parent image of $tmp/c1\): owned by uid 1000, not by you \(uid 0\) or root" \
	"$CRYO" restart --detach "$tmp/c1"
restarts "the same with --trust-image" "$CRYO" restart --detach --trust-image "$tmp/c1"
chown 0 "$tmp/c0"
chmod 660 "$tmp/c0"
refused "a group-writable parent image" \
	"$tmp/c0 \(parent image of $tmp/c1\): writable by others \(mode 0660\)" \
	"$CRYO" restart --detach "$tmp/c1"
chmod 600 "$tmp/c0"
restarts "a chain of root's 0600 images" "$CRYO" restart --detach "$tmp/c1"

# --- a restart by another user than root -----------------------------------------------------
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
img=$tmp/img
pid=$img_pid
chown 65534 "$img" # the owner check passes: this case is the credentials one
refused "nobody restarting root's process" \
	"$img: pid $pid ran as uid 0; a restart by uid 65534 can only restore its own credentials$" \
	nobody "$CRYO" restart --detach "$img"
refused "the same with --trust-image (it trusts the file, not the credentials)" \
	"$img: pid $pid ran as uid 0; a restart by uid 65534" \
	nobody "$CRYO" restart --detach --trust-image "$img"

# nobody's own processes, with more than nobody's restart has
img=$tmp/nobody-groups
start --reuid=65534 --regid=65534 --groups=4
ok "checkpoint of nobody with group 4" 'checkpoint "$img" && chown 65534 "$img"'
refused "nobody restarting nobody with other groups" \
	"$img: pid $pid ran with other supplementary groups than yours; a restart by uid 65534" \
	nobody "$CRYO" restart --detach "$img"
img=$tmp/nobody-caps
start --reuid=65534 --regid=65534 --clear-groups --inh-caps=+net_bind_service \
	--ambient-caps=+net_bind_service
ok "checkpoint of nobody with an ambient capability" 'checkpoint "$img" && chown 65534 "$img"'
refused "nobody restarting nobody with a capability" \
	"$img: pid $pid ran with capabilities you do not have .*; a restart by uid 65534" \
	nobody "$CRYO" restart --detach "$img"
img=$tmp/nobody
start --reuid=65534 --regid=65534 --clear-groups
ok "checkpoint of plain nobody" 'checkpoint "$img" && chown 65534 "$img"'
"$CRYO" show "$img" >/dev/null
# its own credentials pass the check; the restart then needs privileges nobody lacks
nobody "$CRYO" restart --detach "$img" >"$tmp/out" 2>"$tmp/err" </dev/null
ok "nobody restarting plain nobody: not refused for its credentials" \
	'! grep -q "credentials" "$tmp/err"'
ok "... but for a privilege it lacks, in one line, leaving nothing" \
	'[ "$(wc -l <"$tmp/err")" = 1 ] && [ ! -e "/proc/$pid" ]'
say_stderr
echo "1..$n"
