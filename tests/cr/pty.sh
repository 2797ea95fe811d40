#!/bin/bash
# The pty cases that need the driver's hand (doc/pty.md sections 7 to 9):
#   - an index taken before restart: by default the pty gets another index
#     and restart says so in one line; with --pty-index=exact restart fails
#     with one line and leaves nothing behind;
#   - a devpts mount covered by another mount between checkpoint and
#     restart: the pty still comes back in its own instance;
#   - a terminal whose master is outside the tree (script(1) holds it):
#     saved as external, and restart refuses it by name; also when it is
#     only the task's controlling terminal, with no descriptor of it.
# TAP, run by prove; in its own pid and mount namespace with its own devpts.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup pty "$@"
cr_private_devpts "$tmp"
BIN=$(readlink -f "${CR_BIN:-build/normal/cr}")
cleanup() {
	kill -9 $(jobs -p) "${pid:-}" 2>/dev/null
	wait 2>/dev/null
	umount -l "$tmp/cover" "$tmp/pts2" 2>/dev/null
	cr_private_devpts_end
	rm -rf "$tmp"
}
trap cleanup EXIT

# start PROGRAM: runs it in its own session until it is ready; pid in $pid, log in $log
start() {
	log=$tmp/$1.log
	setsid env CR_TMPDIR="$tmp" "$BIN/$1" >>"$log" 2>&1 </dev/null &
	pid=$!
	disown "$pid" # reaped by us, without bash's "Killed" notices
	until_ok 10 "$1 ready" grep -qx ready "$log"
}

# passes: SIGUSR2 to the (restored) program, whose log must end with a new PASS
verdicts() { grep -c -e PASS -e FAIL "$log"; }
more_verdicts() { [ "$(verdicts)" -gt "$1" ]; }
passes() {
	local before
	before=$(verdicts)
	kill -USR2 "$pid" 2>/dev/null || return 1
	until_ok 10 "verdict" more_verdicts "$before" && [ "$(tail -n 1 "$log")" = PASS ]
}

# on_script COMMAND: runs a sleep under script(1), which holds the pty master; its pid in $pid.
# COMMAND is exec'd, so that the sleep is script's child whatever shell script(1) runs
# (dash, the usual /bin/sh, does not exec a lone command by itself; bash does).
on_script() {
	local holder
	setsid script -qfc "exec $1" /dev/null </dev/null >/dev/null 2>&1 &
	holder=$!
	disown "$holder"
	until_ok 10 "script's sleep" pgrep -x -P "$holder" sleep >/dev/null
	pid=$(pgrep -x -P "$holder" sleep)
}

gone() { [ -n "$1" ] && { ! kill -0 "$1" 2>/dev/null || [ "$(stat_field "$1" 3)" = Z ]; }; }
ptys() { ls /dev/pts | grep -c '^[0-9]'; }

# --- an index taken ---------------------------------------------------------------
start pty_queues
ok "checkpoint --kill of a program with four ptys" \
	'"$CRYO" checkpoint --kill -o "$tmp/q.img" "$pid" && wait "$pid" 2>/dev/null; gone "$pid"'
exec 7<>/dev/ptmx # takes the lowest free index: the first pty's
held=$(ptys)
ok "--pty-index=exact: restart fails" \
	'! "$CRYO" restart --detach --pty-index=exact "$tmp/q.img" 2>"$tmp/err"'
ok "with one line naming the pty" \
	'[ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^cryo: pty 0 (devpts /dev/pts): index taken; free it" "$tmp/err"'
ok "and nothing left behind (no task, no pty)" 'gone "$pid" && [ "$(ptys)" = "$held" ]'
ok "by default restart succeeds" '"$CRYO" restart --detach "$tmp/q.img" 2>"$tmp/err"'
ok "saying in one line which pty moved where" \
	'[ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^cryo: warning: pty 0 (devpts /dev/pts): index taken, restored as pty 4$" "$tmp/err"'
ok "the program works on: its queues and line editing pass" passes
exec 7>&-
kill -9 "$pid" 2>/dev/null

# --- a covered devpts mount ---------------------------------------------------------
start pty_instances
ok "checkpoint --kill of a program with ptys in two instances" \
	'"$CRYO" checkpoint --kill -o "$tmp/i.img" "$pid" && wait "$pid" 2>/dev/null; gone "$pid"'
mount -t devpts -o newinstance devpts "$CR_PTS2" # covers the second instance
ok "restart with the second instance covered" '"$CRYO" restart --detach "$tmp/i.img"'
ok "each pair is back in its own instance, with its data" passes
kill -9 "$pid" 2>/dev/null
umount "$CR_PTS2"

# --- an external terminal --------------------------------------------------------------
on_script "sleep 1000"
ok "checkpoint of a program on a terminal held outside the tree" \
	'"$CRYO" checkpoint --kill -o "$tmp/e.img" "$pid"'
"$CRYO" show "$tmp/e.img" >"$tmp/e.show"
ok "the image holds it as external, with its session" \
	'grep -q "tty_slave .* flags=0x11 .* sid=$pid " "$tmp/e.show" && grep -q "ctty " "$tmp/e.show"'
ok "restart --tty=inherit without a terminal refuses it" \
	'! "$CRYO" restart --tty=inherit "$tmp/e.img" 2>"$tmp/err" </dev/null'
ok "with one line naming the terminal" \
	'[ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "^cryo: pty [0-9]* (devpts /dev/pts) is an external terminal; --tty=inherit puts it on restart.s terminal, but restart.s stdin is not one$" "$tmp/err"'
ok "and nothing left behind" 'sleep 0.1; gone "$pid"'

# the same terminal as controlling terminal only: no descriptor of it in the task
on_script "sleep 1000 </dev/null >/dev/null 2>&1"
ok "checkpoint of a program whose terminal is only its controlling terminal" \
	'"$CRYO" checkpoint -o "$tmp/c.img" "$pid"'
"$CRYO" show "$tmp/c.img" >"$tmp/c.show"
ok "the terminal is saved, as external, with no file" \
	'grep -q "tty_slave .* flags=0x1 .* sid=$pid " "$tmp/c.show" && ! grep -q "tty_file " "$tmp/c.show"'
ok "the task is left as it was: no descriptor added, still asleep" \
	'[ "$(ls "/proc/$pid/fd" | wc -l)" = 3 ] && [ "$(stat_field "$pid" 3)" = S ]'
kill -9 "$pid"
echo "1..$n"
