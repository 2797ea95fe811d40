#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Fault injection (doc/reliability.md): cryo fails, or is killed with
# SIGKILL, at every step of a checkpoint and of a restart in turn
# (CRYO_FAULT=N, CRYO_FAULT=N:kill; src/lib/fault.h). TAP.
#
# Checkpoint, for each test program of tests/cr (the same programs run.sh
# runs with and without checkpoints: each verifies its own state on
# SIGUSR2): a clean run with CRYO_FAULT_TRACE lists the steps; then, for
# each step N and each way of failing, a fresh copy of the program is
# checkpointed (leaving it running) with the fault at N, and
#   - a failure: exit 1, exactly one error line, and no image and no
#     temporary file at all in the image's directory; or, for a step cryo
#     can do without (write tracking, for pre-copy), exit 0 and a valid
#     image without any error line;
#   - a kill: exit 137, and no file at all in the image's directory;
#   - the program is untraced, not stopped, its /proc/PID/maps unchanged;
#   - on SIGUSR2 it verifies everything it set up (memory, registers and
#     FPU, terminal queues and modes, pipe buffers, threads) and passes.
# A step marked "[kill]" has no error to return: only the kill is tried.
#
# Restart: an image of the program is restarted with the fault at each
# step. Before the commit point (every task whole), nothing may be left:
# no process in the namespace but ours, the image unchanged, exit 1 or
# 137. After it, the whole tree runs and passes. A last clean restart
# proves the image was untouched.
#
# Environment: CRYO, CR_BIN as for run.sh; FAULT_TESTS overrides the list
# of programs; CR_KEEP keeps the temp dir.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup faults "$@"
cr_private_devpts "$tmp"
CR_BIN=$(readlink -f "${CR_BIN:-build/normal/cr}")
TIMEOUT=10

# program [checkpoint options]: pty_queues: terminal queues, modes, a half-typed line;
# regs_fpu: every register; pipes: pipe buffers; threads: threads and their
# registers; mem_anon with pre-copy: write tracking and the pre-copy pass.
TESTS=${FAULT_TESTS:-"pty_queues regs_fpu pipes threads mem_anon:--precopy=always"}

cleanup() {
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" -ne $$ ] && [ "$p" -ne 1 ] && kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	cr_private_devpts_end
	if [ -n "${CR_KEEP:-}" ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
# bash notes every child that dies of a signal, which the kills do on purpose
exec 2>>"$tmp/bash.err"

# check DESC CMD...: one TAP line; CMD may say why in $why
check() {
	local desc=$1
	shift
	why=""
	n=$((n + 1))
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc${why:+: $why}"; fi
}

# start NAME: the program, in its own session, logging to $log; waits for "ready".
# Not with fd 3, which the loops over fault points read from.
start() {
	log=$tmp/log
	: >"$log"
	CR_TMPDIR=$tmp setsid "$CR_BIN/$1" >>"$log" 2>&1 </dev/null 3<&- &
	pid=$!
	until_ok "$TIMEOUT" "$1 ready" grep -q '^ready' "$log"
}

others() { # the processes of the namespace but us, init and PID
	local p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" -ne $$ ] && [ "$p" -ne "$BASHPID" ] && [ "$p" -ne 1 ] && [ "$p" -ne "${1:-0}" ] && echo "$p"
	done
	return 0
}

intact() {
	local s
	s=$(stat_field "$pid" 3)
	case $s in R | S | D) ;; *) why="pid $pid is in state '$s'" && return 1 ;; esac
	[ "$(sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$pid/status")" = 0 ] ||
		{ why="pid $pid is still traced" && return 1; }
	diff -q "$tmp/maps" "/proc/$pid/maps" >/dev/null || { why="its maps changed: $(diff "$tmp/maps" "/proc/$pid/maps" | head -n 4 | tr '\n' '|')" && return 1; }
}

# passes: SIGUSR2, then the program must exit 0 with PASS
passes() {
	kill -USR2 "$pid" 2>/dev/null || { why="pid $pid is gone" && return 1; }
	until_ok "$TIMEOUT" "pid $pid ending" eval '! kill -0 $pid 2>/dev/null || [ "$(stat_field $pid 3)" = Z ]' || return 1
	wait "$pid" 2>/dev/null # a restored program is no child of ours: its verdict is in the log
	[ "$(tail -n 1 "$log")" = PASS ] || { why="it said: $(grep -v '^ready' "$log" | head -n 2 | tr '\n' '|')" && return 1; }
}

no_files() {
	local f
	f=$(find "$tmp/img" -mindepth 1 | head -n 3 | tr '\n' ' ')
	[ -z "$f" ] || { why="left: $f" && return 1; }
}

exit_is() { [ "$status" -eq "$1" ] || { why="exit $status, not $1: $(head -n 2 "$tmp/err" | tr '\n' '|')" && return 1; }; }
one_error() {
	local k
	k=$(grep -c '^cryo: ' "$tmp/err")
	[ "$k" -eq 1 ] || { why="$k error lines: $(head -n 3 "$tmp/err" | tr '\n' '|')" && return 1; }
}

valid_image() { "$CRYO" show "$1" >/dev/null 2>&1 || { why="cryo show refuses it" && return 1; }; }

# points TRACE: a line "N SPEC HOW NAME" for each way to fault each point of TRACE:
# failing it (SPEC N), unless it is marked kill-only, and killing cryo there (SPEC N:kill)
points() {
	local i name
	while read -r i name; do
		[[ $name == *"[kill]" ]] || echo "$i $i fail $name"
		echo "$i $i:kill kill $name"
	done <"$1"
}

# failed_as_asked WHAT HOW: a failure exits 1 with one error line, a kill 137
failed_as_asked() {
	if [ "$2" = fail ]; then
		check "$1: exit 1" exit_is 1
		check "$1: one error line" one_error
	else
		check "$1: exit 137" exit_is 137
	fi
}

# --- checkpoint ------------------------------------------------------------------------
mkdir -p "$tmp/img"
for spec in $TESTS; do
	prog=${spec%%:*}
	opts=""
	[ "$spec" != "$prog" ] && opts=${spec#*:}
	[ -x "$CR_BIN/$prog" ] || { n=$((n + 1)) && echo "ok $n - $prog # skip not built" && continue; }
	trace=$tmp/trace.$prog
	start "$prog" || { check "$prog: starts" false && continue; }
	# shellcheck disable=SC2086
	CRYO_FAULT_TRACE=$trace "$CRYO" checkpoint $opts -o "$tmp/img/img" "$pid" 2>"$tmp/err"
	status=$?
	check "$prog: a clean checkpoint" exit_is 0
	check "$prog: passes after it" passes
	rm -f "$tmp/img/img"
	total=$(wc -l <"$trace")
	echo "# $prog: $total fault points"
	while read -r i spec how name <&3; do
		what="$prog: $how at $i/$total ($name)"
		start "$prog" || { check "$what: starts" false && continue; }
		cp "/proc/$pid/maps" "$tmp/maps"
		# shellcheck disable=SC2086
		{ CRYO_FAULT=$spec "$CRYO" checkpoint $opts -o "$tmp/img/img" "$pid" 2>"$tmp/err"; } 2>/dev/null
		status=$?
		if [ "$how" = fail ] && [ "$status" -eq 0 ]; then
			# a step cryo can do without (write tracking): a whole image, no error
			check "$what: worked around, a valid image" valid_image "$tmp/img/img"
			check "$what: worked around, no error line" test "$(grep -c '^cryo: ' "$tmp/err")" -eq 0
		else
			failed_as_asked "$what" "$how"
			check "$what: no image, no temporary file" no_files
		fi
		# killed during a batch, a task finishes it and waits up to 1 s before it goes home
		check "$what: untraced, running, maps unchanged" until_ok 3 "intact" intact
		check "$what: the program finds its state intact" passes
		rm -rf "$tmp/img" && mkdir -p "$tmp/img"
	done 3< <(points "$trace")
done

# --- cryo kept from the CPU while a batch waits for it -----------------------------------
# The batch goes home by itself after a second; cryo, stalled 1.5 s at the point, must
# see it and fail in one line without touching the task, which must be intact.
if [ -x "$CR_BIN/regs_fpu" ] && [ -s "$tmp/trace.regs_fpu" ]; then
	i=$(grep -m1 ' batch: running$' "$tmp/trace.regs_fpu" | cut -d' ' -f1)
	what="regs_fpu: cryo stalled 1.5 s at $i (batch: running)"
	start regs_fpu || check "$what: starts" false
	cp "/proc/$pid/maps" "$tmp/maps"
	{ CRYO_FAULT=$i:stall "$CRYO" checkpoint -o "$tmp/img/img" "$pid" 2>"$tmp/err"; } 2>/dev/null
	status=$?
	check "$what: exit 1" exit_is 1
	check "$what: one error line saying it went on" eval 'one_error && grep -q "went on without cryo" "$tmp/err"'
	check "$what: no image, no temporary file" no_files
	check "$what: untraced, running, maps unchanged" until_ok 3 "intact" intact
	check "$what: the program finds its state intact" passes
fi

# --- --kill, killed while it kills ----------------------------------------------------
# Once the image is durable, checkpoint --kill ends the tree task by task; killed in
# the middle, cryo must not leave the rest of the tree running (a durable image and
# half a tree alive): the kernel kills what it had not killed yet.
if [ -x "$CR_BIN/tree" ]; then
	trace=$tmp/trace.tree-kill
	start tree || check "tree: starts" false
	CRYO_FAULT_TRACE=$trace "$CRYO" checkpoint --kill -o "$tmp/img/img" "$pid" 2>"$tmp/err"
	status=$?
	check "tree --kill: a clean checkpoint" exit_is 0
	until_ok 5 "the tree gone" eval '[ -z "$(others)" ]'
	rm -f "$tmp/img/img"
	for i in $(grep ' letting a task go \[kill\]$' "$trace" | cut -d' ' -f1); do
		what="tree --kill: killed at $i/$(wc -l <"$trace") (letting a task go)"
		start tree || { check "$what: starts" false && continue; }
		{ CRYO_FAULT=$i:kill "$CRYO" checkpoint --kill -o "$tmp/img/img" "$pid" 2>"$tmp/err"; } 2>/dev/null
		status=$?
		check "$what: exit 137" exit_is 137
		check "$what: the image is whole" valid_image "$tmp/img/img"
		check "$what: no task of the tree runs on" until_ok 5 "processes left" eval '[ -z "$(others)" ]'
		rm -f "$tmp/img/img"
	done
fi

# --- restart ---------------------------------------------------------------------------
for prog in pty_queues threads; do
	[ -x "$CR_BIN/$prog" ] || continue
	start "$prog" || { check "$prog: starts" false && continue; }
	"$CRYO" checkpoint --kill -o "$tmp/rimg" "$pid" 2>"$tmp/err"
	status=$?
	wait "$pid" 2>/dev/null
	check "$prog: checkpoint --kill for the restart faults" exit_is 0
	sum=$(md5sum <"$tmp/rimg")
	trace=$tmp/rtrace.$prog
	: >"$log"
	CRYO_FAULT_TRACE=$trace "$CRYO" restart --detach "$tmp/rimg" 2>"$tmp/err"
	status=$?
	check "$prog: a clean restart" exit_is 0
	check "$prog: passes after it" passes
	total=$(wc -l <"$trace")
	commit=$(grep -m1 -n ' committing$' "$trace" | cut -d: -f1)
	echo "# $prog restart: $total fault points, the commit at ${commit:-none}"
	while read -r i spec how name <&3; do
		what="$prog restart: $how at $i/$total ($name)"
		: >"$log"
		{ CRYO_FAULT=$spec "$CRYO" restart --detach "$tmp/rimg" 2>"$tmp/err"; } 2>/dev/null
		status=$?
		if [ -n "$commit" ] && [ "$i" -gt "$commit" ]; then
			# past the commit point: the whole tree runs on
			pid=$(sed -n 's/.*root_pid=\([0-9]*\).*/\1/p' <("$CRYO" show "$tmp/rimg" | head -n 3))
			check "$what: the tree runs on and passes" passes
		else
			failed_as_asked "$what" "$how"
			check "$what: nothing left" until_ok 5 "processes left" eval '[ -z "$(others)" ]'
		fi
		check "$what: the image untouched" test "$(md5sum <"$tmp/rimg")" = "$sum"
		for p in $(others); do kill -KILL "$p" 2>/dev/null; done
		wait 2>/dev/null
	done 3< <(points "$trace")
done
echo "1..$n"
