#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Checkpoint/restart tests in the manner of CRIU's zdtm; prints TAP, run by
# `prove --exec '' tests/cr/run.sh`.
#
# Each program of $CR_BIN (built from tests/cr/NAME.c) sets up some state,
# prints "ready" to its log, waits for SIGUSR2, then checks every bit of the
# state and prints PASS or "FAIL: reason". Build them all with one command:
#
#   mkdir -p build/normal/cr && for f in tests/cr/*.c; do
#     gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
#       -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -D_GNU_SOURCE -Itests \
#       -o "build/normal/cr/$(basename "$f" .c)" "$f"; done
#
# Python programs beside this script (tests/cr/NAME.py) follow the same
# protocol; they run with python3, named NAME.py, and are skipped without it.
#
# Modes, for every program:
#   plain  no checkpoint at all: proves that the test itself passes;
#   kill   `cryo checkpoint --kill`, `cryo restart` in the foreground, SIGUSR2
#          to the restored pid: the restored copy must pass, and cryo restart
#          must exit with its status;
#   leave  `cryo checkpoint` leaving it running: the original must pass; then
#          the image is restarted twice, one after the other, and each
#          restored copy must pass too;
#   lazy   as kill, with `cryo restart --lazy`: memory comes from the page
#          server while the program runs (doc/performance.md).
# Two real programs run in the same modes: `sleep 1000` (must come back asleep
# and die of SIGTERM: cryo restart exits 143) and a python3 loop printing
# 1, 2, 3... (after restart the count goes on with no gap and no repeat).
#
# Environment:
#   CRYO            the cryo binary (default ./cryo)
#   CR_BIN          directory of the compiled programs (default build/normal/cr)
#   CR_MODES        modes to run (default "plain kill leave lazy")
#   CR_TESTS        names to run (default: every program in CR_BIN, every NAME.py
#                   here, sleep, python)
#   CR_TIMEOUT      seconds any one wait may take (default 10)
#   CR_CKPT_TIMEOUT seconds a checkpoint may take (default 60)
#   CR_KEEP         if set, keep the temp dir with logs and images
#
# PID namespace: a restart needs the old pid to be free, and a test must
# never leave a process behind. So, unless CR_IN_NS is set, this script
# re-executes itself as PID 1 of a new pid namespace (with its own /proc):
#   unshare -p -f --kill-child --mount-proc env CR_IN_NS=1 bash run.sh
# There, the driver is init: orphans are reparented to it and reaped at once
# (not by the host's init, which may take its time), and when it exits the
# kernel kills whatever is left in the namespace. Without the privilege to do
# so it runs in the current namespace and says so.
#
# The programs run in their own session (setsid), with stdin /dev/null and
# stdout/stderr appended (>>, so O_APPEND) to their log: the restored copy
# appends its verdict to the same log. Programs that leave files behind for a
# later restart are told so with CR_KEEP_FILES; CR_TMPDIR is their scratch dir.
set -u
# wait and /proc helpers and the namespace entry (this script keeps its own ok)
. "$(dirname "$0")/lib.sh"
cr_enter_namespace "$@"

abspath() { case $1 in */*) readlink -f "$1" ;; *) echo "$1" ;; esac; }
CRYO=$(abspath "${CRYO:-./cryo}")
CR_BIN=$(abspath "${CR_BIN:-build/normal/cr}")
CR_PY=$(readlink -f "$(dirname "$0")") # where the python programs are, NAME.py
CR_MODES=${CR_MODES:-plain kill leave lazy}
TIMEOUT=${CR_TIMEOUT:-10}
CKPT_TIMEOUT=${CR_CKPT_TIMEOUT:-60}
PY='import time, sys
n = 0
while True:
    n += 1
    print(n, flush=True)
    time.sleep(0.05)'

# Whatever fds we inherited beyond 0-2 (not close-on-exec) would be inherited
# by the programs and end up in their images: close them.
for f in "/proc/$$/fd"/*; do
	f=${f##*/}
	[ "$f" -gt 2 ] || continue
	flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$$/fdinfo/$f" 2>/dev/null) || continue
	[ -n "$flags" ] && (((8#$flags & 8#2000000) == 0)) && eval "exec $f>&-"
done

tmp=$(mktemp -d /tmp/cr-run.XXXXXX)
cr_private_devpts "$tmp"
all_pids=()  # every process this script started, for the cleanup
case_pids=() # those of the current case
n=0

# Kills what is still alive: our own children by pid, and, as init of our
# own namespace, every other process in it (all started by this script).
cleanup() {
	local p
	for p in "${all_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	if [ $$ -eq 1 ]; then
		for p in /proc/[0-9]*; do
			p=${p#/proc/}
			[ "$p" -ne 1 ] && kill -KILL "$p" 2>/dev/null
		done
	fi
	wait 2>/dev/null
	cr_private_devpts_end
	if [ -n "${CR_KEEP:-}" ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP


# running (not gone, not a zombie)
alive() {
	local s
	s=$(stat_field "$1" 3) && [ "$s" != Z ] && [ "$s" != X ]
}

status_line() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }

# wait_exit PID SECONDS: waits for our child PID to end; its exit status in $status
wait_exit() {
	local deadline=$(($(now_us) + $2 * 1000000))
	while alive "$1"; do
		[ "$(now_us)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	wait "$1" 2>/dev/null # and no "Killed" notice from bash on stderr
	status=$?
	return 0
}

# spawn LOG ERR CMD...: starts CMD in its own session, in the background; pid in $pid
spawn() {
	local log=$1 err=$2
	shift 2
	setsid "$@" >>"$log" 2>>"$err" </dev/null &
	pid=$!
	all_pids+=("$pid")
	case_pids+=("$pid")
}

# run_bg OUT CMD...: starts a cryo command in the background; pid in $bgpid
run_bg() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 </dev/null &
	bgpid=$!
	all_pids+=("$bgpid")
	case_pids+=("$bgpid")
}

lines() { wc -l <"$1"; }
count() { grep -cx "$1" "$2"; }

# checkpoint PID [--kill]: the image in $img
checkpoint() {
	local p=$1
	shift
	run_bg "$dir/checkpoint.out" "$CRYO" checkpoint "$@" -o "$img" "$p"
	if ! wait_exit "$bgpid" "$CKPT_TIMEOUT"; then
		why="cryo checkpoint${*:+ $*} did not end within ${CKPT_TIMEOUT}s"
		return 1
	fi
	if [ "$status" -ne 0 ]; then
		why="cryo checkpoint${*:+ $*} exited $status: $(head -n 1 "$dir/checkpoint.out")"
		return 1
	fi
	[ -s "$img" ] || { why="cryo checkpoint made no image" && return 1; }
}

# The original after `checkpoint --kill`: it must end (we reap it, freeing the pid).
killed() {
	wait_exit "$1" "$TIMEOUT" && return 0
	why="checkpoint --kill left pid $1 running"
	return 1
}

# The original after a checkpoint that leaves it running: running, untraced.
left_running() {
	local s
	s=$(stat_field "$1" 3)
	case $s in
	R | S | D) ;;
	*)
		why="after checkpoint, pid $1 is in state '$s'"
		return 1
		;;
	esac
	[ "$(status_line "$1" TracerPid)" = 0 ] || { why="checkpoint left pid $1 traced" && return 1; }
}

# restored PID COMM [SIG]: PID exists with COMM, untraced, not stopped and,
# if SIG is given, with a handler for it (then its signal state is back).
restored() {
	local c cgt s
	read -r c 2>/dev/null <"/proc/$1/comm" || return 1
	[ "$c" = "$2" ] || return 1
	s=$(stat_field "$1" 3)
	case $s in R | S | D) ;; *) return 1 ;; esac
	[ "$(status_line "$1" TracerPid)" = 0 ] || return 1
	[ $# -lt 3 ] && return 0
	cgt=$(status_line "$1" SigCgt)
	[ -n "$cgt" ] && (((0x$cgt >> ($3 - 1)) & 1))
}

# restart PID COMM [SIG]: `cryo restart` in the background ($rpid) until PID is back
restart() {
	local p=$1 deadline
	run_bg "$dir/restart.out" "$CRYO" restart ${lazy:+--lazy} "$img"
	rpid=$bgpid
	all_pids+=("$p") # the restored process, to kill if anything goes wrong
	case_pids+=("$p")
	deadline=$(($(now_us) + TIMEOUT * 1000000))
	until restored "$@"; do
		if ! alive "$rpid"; then
			wait "$rpid"
			why="cryo restart exited $? before pid $p came back: $(head -n 1 "$dir/restart.out")"
			return 1
		fi
		if [ "$(now_us)" -ge "$deadline" ]; then
			why="pid $p did not come back as $2 within ${TIMEOUT}s"
			return 1
		fi
		sleep 0.05
	done
	sleep 0.1 # let the last steps of the restart settle before we poke it
}

# finish WHO PID PASSES: PID (our child) ends with 0 and the log's PASS count is PASSES
finish() {
	if ! wait_exit "$2" "$TIMEOUT"; then
		why="$1: did not finish within ${TIMEOUT}s of SIGUSR2"
		return 1
	fi
	if [ "$status" -ne 0 ]; then
		why="$1: exit status $status"
		return 1
	fi
	if [ "$(tail -n 1 "$log")" != PASS ] || [ "$(count PASS "$log")" -ne "$3" ]; then
		why="$1: the log does not end with PASS number $3"
		return 1
	fi
}

# verify WHO PID WAITPID PASSES: SIGUSR2 to PID, then finish
verify() {
	kill -USR2 "$2" 2>/dev/null || { why="$1: pid $2 is gone" && return 1; }
	finish "$1" "$3" "$4"
}

# --- test programs: C ($CR_BIN/NAME) and python (NAME.py) ------------------

# program NAME: the file of test NAME, tests/cr/NAME.py or $CR_BIN/NAME
program() { case $1 in *.py) echo "$CR_PY/$1" ;; *) echo "$CR_BIN/$1" ;; esac; }

runnable() {
	case $1 in
	sleep | python) ;;
	*.py) [ -f "$(program "$1")" ] ;;
	*) [ -x "$(program "$1")" ] ;;
	esac
}

start_test() {
	local deadline=$(($(now_us) + TIMEOUT * 1000000))
	local cmd=("$(program "$name")")
	[[ $name == *.py ]] && cmd=(python3 "${cmd[0]}")
	spawn "$log" "$log" env CR_TMPDIR="$dir" CR_KEEP_FILES="$1" "${cmd[@]}"
	until grep -qx ready "$log"; do
		alive "$pid" || { why="exited before saying ready" && return 1; }
		[ "$(now_us)" -lt "$deadline" ] || { why="not ready within ${TIMEOUT}s" && return 1; }
		sleep 0.05
	done
	read -r comm <"/proc/$pid/comm"
	[ "$(stat_field "$pid" 6)" = "$pid" ] || { why="not a session leader: did setsid fork?" && return 1; }
}

# the program removed its files (unless told to keep them)
no_leftovers() {
	local left
	left=$(find "$dir" -mindepth 1 -name 'cr-*' | head -n 3)
	[ -z "$left" ] && return 0
	why="files left behind: $left"
	return 1
}

test_plain() {
	start_test "" || return 1
	verify plain "$pid" "$pid" 1 && no_leftovers
}

test_kill() {
	local p
	start_test "" || return 1
	p=$pid
	checkpoint "$p" --kill && killed "$p" || return 1
	restart "$p" "$comm" 12 || return 1
	verify restarted "$p" "$rpid" 1 || return 1
	[ "$(count ready "$log")" -eq 1 ] || { why="the log has ready more than once" && return 1; }
	no_leftovers
}

test_leave() {
	local p i
	start_test 1 || return 1
	p=$pid
	checkpoint "$p" && left_running "$p" || return 1
	verify original "$p" "$p" 1 || return 1
	for i in 1 2; do
		restart "$p" "$comm" 12 || { why="restart $i: $why" && return 1; }
		verify "restart $i" "$p" "$rpid" $((i + 1)) || return 1
	done
	[ "$(count ready "$log")" -eq 1 ] || { why="the log has ready more than once" && return 1; }
}

# --- sleep 1000 ---------------------------------------------------------------

asleep() {
	local cmd
	[ "$(stat_field "$1" 3)" = S ] || return 1
	cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)
	[ "$cmd" = "sleep 1000 " ]
}

# term WHO PID WAITPID: SIGTERM must end it, WAITPID exits 143
term() {
	kill -TERM "$2" 2>/dev/null || { why="$1: pid $2 is gone" && return 1; }
	if ! wait_exit "$3" "$TIMEOUT"; then
		why="$1: still there ${TIMEOUT}s after SIGTERM"
		return 1
	fi
	[ "$status" -eq 143 ] || { why="$1: exit status $status after SIGTERM, wanted 143" && return 1; }
}

sleep_case() {
	local p i
	spawn "$log" "$log" sleep 1000
	p=$pid
	until_ok "$TIMEOUT" "sleep 1000 asleep" asleep "$p" || return 1
	case $mode in
	plain) term plain "$p" "$p" ;;
	kill)
		checkpoint "$p" --kill && killed "$p" || return 1
		restart "$p" sleep && until_ok "$TIMEOUT" "restored sleep asleep" asleep "$p" || return 1
		term restarted "$p" "$rpid"
		;;
	leave)
		checkpoint "$p" && left_running "$p" && asleep "$p" || return 1
		term original "$p" "$p" || return 1
		for i in 1 2; do
			restart "$p" sleep || return 1
			until_ok "$TIMEOUT" "restart $i asleep" asleep "$p" || return 1
			term "restart $i" "$p" "$rpid" || return 1
		done
		;;
	esac
}

# --- python3 counting loop ------------------------------------------------------

at_least() { [ "$(lines "$1")" -ge "$2" ]; }

# consecutive FROM START: lines FROM... of the log are START, START+1, ...
consecutive() {
	local bad
	bad=$(awk -v from="$1" -v start="$2" \
		'NR >= from && ($0 !~ /^[0-9]+$/ || $0 != start + NR - from) { print NR ": " $0; exit }' \
		"$log")
	[ -z "$bad" ] && return 0
	why="count broken at line $bad (lines from $1 should count from $2)"
	return 1
}

python_case() {
	local p n0 n1 last first i
	spawn "$log" "$dir/stderr" python3 -c "$PY"
	p=$pid
	until_ok "$TIMEOUT" "python counting" at_least "$log" 5 || return 1
	read -r comm <"/proc/$p/comm"
	case $mode in
	plain)
		until_ok "$TIMEOUT" "python counting to 20" at_least "$log" 20 || return 1
		term plain "$p" "$p" && consecutive 1 1
		;;
	kill)
		checkpoint "$p" --kill && killed "$p" || return 1
		n0=$(lines "$log")
		restart "$p" "$comm" || return 1
		until_ok "$TIMEOUT" "restored python counting" at_least "$log" $((n0 + 10)) || return 1
		term restarted "$p" "$rpid" && consecutive 1 1
		;;
	leave)
		n0=$(lines "$log")
		checkpoint "$p" && left_running "$p" || return 1
		n1=$(lines "$log")
		until_ok "$TIMEOUT" "python counting on" at_least "$log" $((n1 + 5)) || return 1
		term original "$p" "$p" && consecutive 1 1 || return 1
		# each restart goes on from where the checkpoint found it: n0 < next <= n1 + 1
		for i in 1 2; do
			last=$(lines "$log")
			restart "$p" "$comm" || return 1
			until_ok "$TIMEOUT" "restart $i counting" at_least "$log" $((last + 10)) || return 1
			term "restart $i" "$p" "$rpid" || return 1
			first=$(sed -n "$((last + 1))p" "$log")
			if ! [ "$first" -gt "$n0" ] 2>/dev/null || [ "$first" -gt $((n1 + 1)) ]; then
				why="restart $i counted on from $first; the checkpoint was between $n0 and $n1"
				return 1
			fi
			consecutive $((last + 1)) "$first" || return 1
		done
		;;
	esac
}

# --- driver ---------------------------------------------------------------------

# report OK|FAIL NAME MODE: one TAP line, and on failure what happened
report() {
	local f l text
	n=$((n + 1))
	if [ "$1" = OK ]; then
		echo "ok $n - $2 $3"
		return
	fi
	echo "not ok $n - $2 $3: $why"
	for f in "$log" "$dir/stderr" "$dir/checkpoint.out" "$dir/restart.out" \
		"$tmp/$2.$3.stderr"; do
		[ -s "$f" ] || continue
		# bash's "Killed" notes about the --kill'ed are expected
		text=$(grep -v ' Killed ' "$f" | tail -n 8)
		[ -n "$text" ] || continue
		echo "#   ${f##*/}:"
		while IFS= read -r l; do echo "#     $l"; done <<<"$text"
	done
}

# ends every process of the case and reaps our children
end_case() {
	local p
	for p in "${case_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for p in "${case_pids[@]}"; do wait "$p" 2>/dev/null; done
	case_pids=()
}

# run_one NAME MODE: runs one case; $why says what went wrong
run_one() {
	local rc
	name=$1 mode=$2 why="" lazy=""
	dir=$tmp/$name.$mode log=$dir/log img=$dir/img
	# lazy: kill, then `restart --lazy` (memory from the page server)
	[ "$mode" = lazy ] && mode=kill lazy=1
	mkdir -p "$dir"
	: >"$log"
	case $name in
	sleep) sleep_case ;;
	python) python_case ;;
	*) "test_$mode" ;;
	esac
	rc=$?
	end_case
	return $rc
}

if [ -n "${CR_TESTS:-}" ]; then
	read -r -a tests <<<"$CR_TESTS"
else
	tests=()
	for f in "$CR_BIN"/*; do
		[ -f "$f" ] && [ -x "$f" ] && tests+=("${f##*/}")
	done
	[ ${#tests[@]} -eq 0 ] && echo "# no test programs in $CR_BIN"
	for f in "$CR_PY"/*.py; do
		[ -f "$f" ] && tests+=("${f##*/}")
	done
	tests+=(sleep python)
fi
read -r -a modes <<<"$CR_MODES"

echo "1..$((${#tests[@]} * ${#modes[@]} + 1))"
[ $$ -eq 1 ] || echo "# not in a pid namespace of our own"
for t in "${tests[@]}"; do
	for m in "${modes[@]}"; do
		case $m in
		plain | kill | leave | lazy) ;;
		*)
			name=$t mode=$m why="unknown mode" dir=$tmp log=/dev/null
			report FAIL "$t" "$m"
			continue
			;;
		esac
		if [[ $t == python || $t == *.py ]] && ! command -v python3 >/dev/null; then
			n=$((n + 1))
			echo "ok $n - $t $m # skip python3 not found"
		elif ! runnable "$t"; then
			name=$t mode=$m why="no program $(program "$t")" dir=$tmp log=/dev/null
			report FAIL "$t" "$m"
		# our stderr to a file meanwhile: bash notes there every child that
		# dies of a signal (the --kill ones), and it is shown on failure
		elif run_one "$t" "$m" 2>"$tmp/$t.$m.stderr"; then
			report OK "$t" "$m"
		else
			report FAIL "$t" "$m"
		fi
	done
done

# nothing may outlive its case: in our namespace, only we may remain (zombies
# are on their way out); elsewhere, none of the processes we started
n=$((n + 1))
left=""
if [ $$ -eq 1 ]; then
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" -ne 1 ] && [ "$(stat_field "$p" 3)" != Z ] && left+="$p($(cat "/proc/$p/comm" 2>/dev/null)) "
	done
else
	for p in "${all_pids[@]}"; do alive "$p" && left+="$p "; done
fi
if [ -z "$left" ]; then
	echo "ok $n - no process left behind"
else
	echo "not ok $n - processes left behind: $left"
fi
