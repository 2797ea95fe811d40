#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Failure paths of checkpoint and restart; prints TAP, run by
# `prove --exec '' tests/cr/errors.sh`.
#
# What is enforced here (see ../shared/CLI.md and README.md):
#   - bad input gets ONE error line on stderr, starting with "cryo: " and
#     naming the object (pid, fd, path), and exit status 1 (2 for usage
#     errors). Messages are matched on their key words, not whole sentences;
#   - a failed checkpoint, with or without --kill, leaves the tree exactly as
#     it was: every process still there (same pid, same start time), running
#     (state R or S, not t/T), untraced (TracerPid 0), with the same
#     /proc/PID/maps, and still working (a counting loop keeps counting); no
#     image at the -o path and no temporary file (.NAME.XXXXXX) next to it;
#   - a failed restart leaves nothing behind: no process with the image's pid,
#     no new process at all (the process list before and after are the same),
#     and the image file is untouched (same checksum).
#
# Environment:
#   CRYO        the cryo binary (default ./cryo)
#   CR_BIN      directory of the compiled test programs (default
#               build/normal/cr; unused for now, accepted like run.sh)
#   CR_TIMEOUT  seconds any one wait may take (default 10)
#   CR_CKPT_TIMEOUT  seconds a checkpoint may take (default 60)
#   CR_KEEP     if set, keep the temp dir with logs and images
#
# PID namespace: a restart needs the old pid free, a failed restart must be
# seen to leave no process, and nothing may outlive the test. So, as run.sh
# does, this script re-executes itself as PID 1 of a new pid namespace with
# its own /proc (and so its own mount namespace, where the small tmpfs of the
# "full filesystem" case is mounted):
#   unshare -p -f --kill-child --mount-proc env CR_ERRORS_IN_NS=1 bash errors.sh
# There, orphans are reparented to us and reaped at once, the process list
# holds only what we started, and when we exit the kernel kills what is left.
# Without that privilege the tests cannot be judged: all are skipped.
#
# Tracees run in their own session (setsid), stdin /dev/null, output appended
# to a log. python3 is used for counting loops and for state a shell cannot
# make (threads, sockets, POSIX locks); without it those cases are skipped.
set -u
# wait and /proc helpers (this script keeps its own ok and namespace entry)
. "$(dirname "$0")/lib.sh"

if [ -z "${CR_ERRORS_IN_NS:-}" ]; then
	self=$(readlink -f "$0")
	if unshare -p -f --kill-child --mount-proc true 2>/dev/null; then
		exec unshare -p -f --kill-child --mount-proc env CR_ERRORS_IN_NS=1 "$BASH" "$self" "$@"
	fi
	echo "1..0 # skip cannot make a pid namespace (run as root)"
	exit 0
fi

abspath() { case $1 in */*) readlink -f "$1" ;; *) echo "$1" ;; esac; }
CRYO=$(abspath "${CRYO:-./cryo}")
CR_BIN=$(abspath "${CR_BIN:-build/normal/cr}")
TIMEOUT=${CR_TIMEOUT:-10}
CKPT_TIMEOUT=${CR_CKPT_TIMEOUT:-60}

# The real interpreter, not a version manager's shim script: faster to start.
PYTHON=""
if command -v python3 >/dev/null; then
	PYTHON=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
fi
PYCOMM=${PYTHON##*/}
PYCOMM=${PYCOMM:0:15} # its /proc/PID/comm

# Whatever fds we inherited beyond 0-2 (not close-on-exec) would be inherited
# by the tracees, and cryo would refuse them for that (an inherited pipe)
# instead of for what a case sets up.
for f in "/proc/$$/fd"/*; do
	f=${f##*/}
	[ "$f" -gt 2 ] || continue
	flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$$/fdinfo/$f" 2>/dev/null) || continue
	[ -n "$flags" ] && (((8#$flags & 8#2000000) == 0)) && eval "exec $f>&-"
done

tmp=$(mktemp -d /tmp/cr-errors.XXXXXX)
# Bash notes on stderr every child that dies of a signal, which --kill and
# our cleanup do on purpose: stderr goes to a file, shown at the end (as TAP
# comments) without those notes.
exec 2>"$tmp/stderr"
mounts=() # tmpfs mounted by us, unmounted at the end
n=0

# Kills every other process of our namespace (all started by us) and reaps
# them, so that no case sees the leftovers of another.
kill_all() {
	local d p
	[ $$ -eq 1 ] || return 0
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" -ne 1 ] && kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
}

cleanup() {
	local m
	kill_all
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
	grep -v ' Killed ' "$tmp/stderr" | sed 's/^/# stderr: /'
	if [ -n "${CR_KEEP:-}" ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# --- TAP ------------------------------------------------------------------------------

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

# not_ok DESC: with $why and cryo's stderr as diagnostics
not_ok() {
	local l
	n=$((n + 1))
	echo "not ok $n - $1${why:+: $why}"
	if [ -s "$dir/err" ]; then
		echo "#   cryo's stderr:"
		while IFS= read -r l; do echo "#     $l"; done < <(head -n 5 "$dir/err")
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # skip $2"
}

# check DESC CMD...: one TAP line; CMD sets $why when it fails
check() {
	local desc=$1
	shift
	why=""
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# --- processes ------------------------------------------------------------------------


status_line() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null; }

# running (not gone, not a zombie)
alive() {
	local s
	s=$(stat_field "$1" 3) && [ "$s" != Z ] && [ "$s" != X ]
}

gone() {
	alive "$1" || return 0
	why="pid $1 ($(cat "/proc/$1/comm" 2>/dev/null)) exists"
	return 1
}

# wait_exit PID SECONDS: waits for our child PID to end; its exit status in $status
wait_exit() {
	local deadline=$(($(now_us) + $2 * 1000000))
	while alive "$1"; do
		[ "$(now_us)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	wait "$1" 2>/dev/null # reaps it, and no "Killed" notice from bash on stderr
	status=$?
	return 0
}

# spawn CMD...: CMD in its own session, in the background, output appended to
# $log (O_APPEND: a restored copy appends to it too); pid in $pid
spawn() {
	setsid "$@" >>"$log" 2>>"$log.err" </dev/null &
	pid=$!
}

# child_of PPID COMM: the pid of PPID's child named COMM, in $pid
child_of() {
	local d
	for d in /proc/[0-9]*; do
		[ "$(stat_field "${d#/proc/}" 4)" = "$1" ] || continue
		[ "$(cat "$d/comm" 2>/dev/null)" = "$2" ] || continue
		pid=${d#/proc/}
		return 0
	done
	return 1
}

# list_procs: every live process of the namespace but us, as words
# "pid:starttime:comm", in $procs. No subshell: it would list itself.
list_procs() {
	local d line f comm
	procs=""
	for d in /proc/[0-9]*; do
		[ "${d#/proc/}" = $$ ] && continue
		read -r line 2>/dev/null <"$d/stat" || continue
		read -r -a f <<<"${line##*) }"
		case ${f[0]} in Z | X) continue ;; esac # zombies are being reaped
		comm=${line#*\(}
		comm=${comm%)*}
		procs+="${d#/proc/}:${f[19]}:${comm// /_} "
	done
}

# procs_diff: what changed from $procs_before to $procs, in $why
procs_diff() {
	local w new="" lost=""
	for w in $procs; do [[ " $procs_before " == *" $w "* ]] || new+="$w "; done
	for w in $procs_before; do [[ " $procs " == *" $w "* ]] || lost+="$w "; done
	why="new processes: ${new:-none}; gone: ${lost:-none} (pid:starttime:comm)"
}

procs_same() {
	list_procs
	[ "$procs" = "$procs_before" ] && return 0
	procs_diff
	return 1
}

# same_procs: the process list is back to $procs_before (a process being
# killed by cryo's cleanup gets a moment to become a zombie)
same_procs() {
	until_ok 3 "process list as before" procs_same
}

# save_state PID: what intact and same_procs compare with
save_state() {
	cat "/proc/$1/maps" >"$dir/maps.before"
	list_procs
	procs_before=$procs
}

# intact PID: running or sleeping (not stopped), untraced, same maps as saved
intact() {
	local s tr
	s=$(stat_field "$1" 3) || { why="pid $1 is gone" && return 1; }
	case $s in R | S) ;; *) why="pid $1 is in state '$s'" && return 1 ;; esac
	tr=$(status_line "$1" TracerPid)
	[ "$tr" = 0 ] || { why="pid $1 has TracerPid $tr" && return 1; }
	cat "/proc/$1/maps" >"$dir/maps.after"
	cmp -s "$dir/maps.before" "$dir/maps.after" && return 0
	why="pid $1: /proc/PID/maps changed: $(diff "$dir/maps.before" "$dir/maps.after" |
		grep '^[<>]' | head -n 3 | tr '\n' '|')"
	return 1
}

lines() { wc -l <"$1"; }
at_least() { [ "$(lines "$1")" -ge "$2" ]; }

# counting LOG: the loop writing LOG goes on (5 more lines)
counting() {
	until_ok "$TIMEOUT" "5 more lines in ${1##*/}" at_least "$1" $(($(lines "$1") + 5))
}

# asleep PID: in state S, untraced (a sleeper that cryo let go)
asleep() {
	[ "$(stat_field "$1" 3)" = S ] && [ "$(status_line "$1" TracerPid)" = 0 ]
}

# restored PID COMM: PID is back as COMM, running or asleep, untraced
restored() {
	local c s
	read -r c 2>/dev/null <"/proc/$1/comm" || { why="pid $1 is not there" && return 1; }
	s=$(stat_field "$1" 3)
	[ "$c" = "$2" ] || { why="pid $1 is '$c', not '$2'" && return 1; }
	case $s in R | S) ;; *) why="pid $1 is in state '$s'" && return 1 ;; esac
	[ "$(status_line "$1" TracerPid)" = 0 ] || { why="pid $1 is traced" && return 1; }
}

# --- cryo -----------------------------------------------------------------------------

# cryo_start ARGS...: cryo in the background, from $imgdir (so that a default
# image name would land where we look), stdin from $cryo_in; pid in $cpid
cryo_start() {
	(cd "$imgdir" && exec "$CRYO" "$@") >"$dir/out" 2>"$dir/err" <"${cryo_in:-/dev/null}" &
	cpid=$!
}

# cryo_wait SECONDS: its exit status in $rc ("timeout" if it had to be killed)
cryo_wait() {
	if wait_exit "$cpid" "$1"; then
		rc=$status
	else
		kill -KILL "$cpid" 2>/dev/null
		wait "$cpid" 2>/dev/null
		rc=timeout
	fi
}

run_cryo() {
	local secs=$1
	shift
	cryo_start "$@"
	cryo_wait "$secs"
}

exit_is() {
	[ "$rc" = "$1" ] && return 0
	why="exit status $rc"
	return 1
}

# one_error REGEX...: cryo's stderr is one line, "cryo: ...", matching every REGEX
one_error() {
	local re nl
	nl=$(lines "$dir/err")
	if [ "$nl" -ne 1 ] || ! grep -q '^cryo: ' "$dir/err"; then
		why="stderr has $nl lines, wanted one starting with 'cryo: '"
		return 1
	fi
	for re; do
		grep -qE -- "$re" "$dir/err" && continue
		why="the message does not match /$re/"
		return 1
	done
}

# no_files DIR: DIR is empty (no image, no temporary .NAME.XXXXXX)
no_files() {
	local left
	left=$(find "$1" -mindepth 1 | head -n 3 | tr '\n' ' ')
	[ -z "$left" ] && return 0
	why="left behind: $left"
	return 1
}

# new_case NAME: a fresh directory; $log is the tracee's log, $imgdir an
# empty directory where images (and nothing else) go
new_case() {
	kill_all
	dir=$tmp/$1
	log=$dir/log
	imgdir=$dir/images
	out=$imgdir/img
	mkdir -p "$imgdir"
	: >"$log"
	cryo_in=/dev/null
	why=""
}

# ckpt_fails WHAT PID RC OPTS REGEX...: `cryo checkpoint OPTS -o $out PID`
# exits RC with one error line matching every REGEX, and changes nothing
ckpt_fails() {
	local what=$1 p=$2 want=$3 opts
	read -r -a opts <<<"$4"
	shift 4
	save_state "$p"
	run_cryo "$CKPT_TIMEOUT" checkpoint "${opts[@]}" -o "$out" "$p"
	check "$what: exit $want" exit_is "$want"
	check "$what: one error line naming it" one_error "$@"
	check "$what: no image and no temporary file" no_files "$imgdir"
	check "$what: pid $p runs on untraced, maps unchanged" intact "$p"
	check "$what: every process of the tree still there" same_procs
}

# checkpoint_ok PID [--kill]: a good image in $img (failures are reported by the caller)
checkpoint_ok() {
	local p=$1
	shift
	run_cryo "$CKPT_TIMEOUT" checkpoint "$@" -o "$img" "$p"
	[ "$rc" = 0 ] && [ -s "$img" ] && return 0
	why="cryo checkpoint $* $p: exit $rc: $(head -n 1 "$dir/err")"
	return 1
}

sum_of() { if [ -e "$1" ]; then cksum <"$1"; else echo missing; fi; }

# rst_fails WHAT IMAGE PID RC OPTS REGEX...: `cryo restart OPTS IMAGE` exits RC
# with one matching error line, starts nothing and leaves IMAGE as it was
rst_fails() {
	local what=$1 image=$2 p=$3 want=$4 opts sum
	read -r -a opts <<<"$5"
	shift 5
	sum=$(sum_of "$image")
	list_procs
	procs_before=$procs
	run_cryo "$TIMEOUT" restart "${opts[@]}" "$image"
	check "$what: exit $want" exit_is "$want"
	check "$what: one error line naming it" one_error "$@"
	check "$what: nothing started" same_procs
	if [ -n "$p" ] && ! [[ " $procs_before " == *" $p:"* ]]; then
		check "$what: no process $p" gone "$p"
	fi
	check "$what: image untouched" test "$(sum_of "$image")" = "$sum"
}

# sleeper: `sleep 1000` in its own session, asleep; pid in $pid
sleeper() {
	spawn sleep 1000
	until_ok "$TIMEOUT" "sleep 1000 asleep" asleep "$pid"
}

# --- python3 tracees ------------------------------------------------------------------

# A counting loop: 1, 2, 3... one line every 50 ms. Steady: no allocation
# that would change the maps while we compare them.
COUNT='
n = 0
while True:
    n += 1
    print(n, flush=True)
    time.sleep(0.05)'

# counter SETUP [ARGS...]: python3 running SETUP then the counting loop,
# counting already; pid in $pid. Fails (with $why) if SETUP failed.
counter() {
	local setup=$1 deadline=$(($(now_us) + TIMEOUT * 1000000))
	shift
	spawn "$PYTHON" -c "import sys, time
$setup
$COUNT" "$@"
	until at_least "$log" 3; do
		if ! alive "$pid"; then
			why="python3 failed: $(tail -n 1 "$log.err")"
			return 1
		fi
		if [ "$(now_us)" -ge "$deadline" ]; then
			why="python3 not counting within ${TIMEOUT}s"
			return 1
		fi
		sleep 0.05
	done
}

need_python() {
	[ -n "$PYTHON" ] && return 0
	skip "$1" "no python3"
	return 1
}

# fd_of PID PATTERN: the lowest fd of PID whose link matches the glob PATTERN, in $fd
fd_of() {
	local f l
	for f in $(find "/proc/$1/fd" -mindepth 1 -printf '%f\n' | sort -n); do
		l=$(readlink "/proc/$1/fd/$f") || continue
		# shellcheck disable=SC2053 # PATTERN is a glob on purpose
		[[ $l == $2 ]] && fd=$f && return 0
	done
	return 1
}

# --- 1. checkpoint refusals -------------------------------------------------------------

# refuse_counter NAME SETUP FDPATTERN REGEX...: a counter with SETUP is refused;
# FDPATTERN (a glob on the fd's link, or "") makes the message name that fd
refuse_counter() {
	local name=$1 setup=$2 pat=$3 p
	shift 3
	new_case "refuse-${name// /-}"
	set -- "${@//@FILE@/$dir/file}"
	need_python "checkpoint refuses $name" || return
	if ! counter "$setup" "$dir/file"; then
		not_ok "checkpoint refuses $name: setup"
		return
	fi
	p=$pid
	if [ -n "$pat" ]; then
		if ! fd_of "$p" "$pat"; then
			why="no fd of pid $p matches $pat"
			not_ok "checkpoint refuses $name: setup"
			return
		fi
		set -- "pid $p fd $fd:" "$@"
	else
		set -- "pid $p:" "$@"
	fi
	ckpt_fails "checkpoint refuses $name" "$p" 1 "" "$@"
	check "checkpoint refuses $name: pid $p keeps counting" counting "$log"
}

# a process whose main thread is gone (a raw SYS_exit of the leader alone); a thread counts on
new_case refuse-zombie-leader
if need_python "checkpoint refuses a process whose main thread exited"; then
	spawn "$PYTHON" -c 'import threading, ctypes, os, sys, time
def count():
    while open("/proc/%d/stat" % os.getpid()).read().split()[2] != "Z":
        time.sleep(0.01) # counting only once the main thread is gone
    n = 0
    while True:
        n += 1
        print(n, flush=True)
        time.sleep(0.05)
threading.Thread(target=count).start()
ctypes.CDLL(None).syscall(60, 0)'
	what="checkpoint refuses a process whose main thread exited"
	if until_ok "$TIMEOUT" "its thread counting" at_least "$log" 3; then
		p=$pid
		run_cryo "$CKPT_TIMEOUT" checkpoint -o "$out" "$p"
		check "$what: exit 1" exit_is 1
		check "$what: one error line naming it" one_error "pid $p:" \
			'its main thread has exited while 1 other threads run'
		check "$what: no image and no temporary file" no_files "$imgdir"
		check "$what: its thread untraced, counting on" eval \
			'[ "$(ls "/proc/$p/task" | wc -l)" = 2 ] &&
			 ! grep -q "^TracerPid:[[:space:]]*[1-9]" /proc/$p/task/*/status &&
			 counting "$log"'
	else
		not_ok "$what: setup"
	fi
fi
refuse_counter "a unix socket" \
	'import socket; pair = socket.socketpair()' 'socket:*' \
	'socket'
refuse_counter "a POSIX lock" \
	'import fcntl; f = open(sys.argv[1], "w"); fcntl.lockf(f, fcntl.LOCK_EX)' "*/file" \
	'lock' @FILE@
refuse_counter "a deleted file" \
	'import os; f = open(sys.argv[1], "w"); os.unlink(sys.argv[1])' '* (deleted)' \
	'deleted'

# seccomp: a filter that allows everything (SECCOMP_RET_ALLOW), set with ctypes
SECCOMP='import ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
insn = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0x7fff0000))
prog = Prog(1, ctypes.addressof(insn))
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(prog), 0, 0):
    sys.exit("prctl: errno %d" % ctypes.get_errno())'
refuse_counter "seccomp" "$SECCOMP" "" 'seccomp'

# a counting loop writing into a pipe: python3 | cat >>log; we checkpoint python3
new_case refuse-pipe
if need_python "checkpoint refuses a pipe"; then
	# shellcheck disable=SC2016 # expanded by the inner bash
	spawn bash -c '"$0" -c "$1" | cat' "$PYTHON" "import sys, time$COUNT"
	if until_ok "$TIMEOUT" "python3 counting into cat" at_least "$log" 3 &&
		child_of "$pid" "$PYCOMM"; then
		p=$pid
		ckpt_fails "checkpoint refuses a pipe" "$p" 1 "" "pid $p fd 1:" 'pipe'
		check "checkpoint refuses a pipe: pid $p keeps counting through it" counting "$log"
	else
		not_ok "checkpoint refuses a pipe: setup"
	fi
fi

# The same kinds without python3, all with --kill: a failed checkpoint must
# not kill what it was asked to kill after success.
new_case refuse-shell-child
# a child of bash keeps a deleted file open: refused in the child, the whole tree untouched
spawn bash -c '(exec 3>"$0"; rm "$0"; exec sleep 1000) & wait' "$dir/deleted"
p=$pid
if until_ok "$TIMEOUT" "bash has its child" child_of "$p" sleep; then
	c=$pid
	ckpt_fails "checkpoint --kill refuses a child with a deleted file" "$p" 1 --kill \
		"pid $c fd 3:" 'deleted'
	check "checkpoint --kill refuses a child with a deleted file: child $c asleep" \
		asleep "$c"
else
	not_ok "checkpoint --kill refuses a child with a deleted file: setup"
fi

new_case refuse-shell-pipe
spawn bash -c 'sleep 1000 | cat'
if until_ok "$TIMEOUT" "sleep 1000 | cat" child_of "$pid" sleep; then
	p=$pid
	ckpt_fails "checkpoint --kill refuses sleep | cat" "$p" 1 --kill "pid $p fd 1:" 'pipe'
	check "checkpoint --kill refuses sleep | cat: still asleep" asleep "$p"
else
	not_ok "checkpoint --kill refuses sleep | cat: setup"
fi

# flock(1) keeps the lock's fd in its child too: the sleep holds the lock
new_case refuse-flock
: >"$dir/lock"
spawn flock "$dir/lock" sleep 1000
if until_ok "$TIMEOUT" "flock's sleep" child_of "$pid" sleep &&
	fd_of "$pid" "$dir/lock"; then
	p=$pid
	ckpt_fails "checkpoint --kill refuses a flock" "$p" 1 --kill "pid $p fd $fd:" 'lock' "$dir/lock"
	check "checkpoint --kill refuses a flock: the lock is still held" \
		grep -q '^lock:.*FLOCK' "/proc/$p/fdinfo/$fd"
else
	not_ok "checkpoint --kill refuses a flock: setup"
fi

new_case refuse-shell-deleted
echo data >"$dir/gone"
# shellcheck disable=SC2016 # expanded by the inner bash
spawn bash -c 'exec 3<"$1"; rm -f "$1"; exec sleep 1000' bash "$dir/gone"
p=$pid
if until_ok "$TIMEOUT" "sleep with a deleted file" asleep "$p" &&
	until_ok "$TIMEOUT" "the file is deleted" test ! -e "$dir/gone"; then
	ckpt_fails "checkpoint --kill refuses a deleted file" "$p" 1 --kill "pid $p fd 3:" 'deleted'
	check "checkpoint --kill refuses a deleted file: still asleep" asleep "$p"
else
	not_ok "checkpoint --kill refuses a deleted file: setup"
fi

# A zombie cannot be checkpointed; the message must say why, not blame privileges.
new_case refuse-zombie
if need_python "checkpoint refuses a zombie"; then
	spawn "$PYTHON" -c 'import os, time
if os.fork() == 0:
    os._exit(0)
print("ready", flush=True)
time.sleep(1000)'
	parent=$pid
	if until_ok "$TIMEOUT" "zombie child" child_of "$parent" "$PYCOMM" &&
		until_ok "$TIMEOUT" "zombie" test "$(stat_field "$pid" 3)" = Z; then
		z=$pid
		save_state "$parent" # list_procs leaves zombies out: checked on their own
		run_cryo "$CKPT_TIMEOUT" checkpoint -o "$imgdir/img" "$z"
		check "checkpoint refuses a zombie: exit 1" exit_is 1
		check "checkpoint refuses a zombie: one error line saying so" one_error "pid $z\\b" \
			'zombie|defunct|exited|dead'
		check "checkpoint refuses a zombie: no image" no_files "$imgdir"
		check "checkpoint refuses a zombie: still a zombie" test "$(stat_field "$z" 3)" = Z
		check "checkpoint refuses a zombie: its parent $parent untouched" intact "$parent"
	else
		not_ok "checkpoint refuses a zombie: setup"
	fi
fi

# --- 2. no such pid, bad output paths ----------------------------------------------------

new_case bad-pid
# a free pid, in the range of valid pids
p=$(($(cat /proc/sys/kernel/pid_max) - 1))
while [ -e "/proc/$p" ]; do p=$((p - 1)); done
list_procs
procs_before=$procs
run_cryo "$CKPT_TIMEOUT" checkpoint "$p" # default image name, in $imgdir
check "checkpoint of missing pid $p: exit 1" exit_is 1
check "checkpoint of missing pid $p: one error line" one_error "pid $p\\b" 'no such process'
check "checkpoint of missing pid $p: no image" no_files "$imgdir"
run_cryo "$CKPT_TIMEOUT" checkpoint 0
check "checkpoint of pid 0: usage error, exit 2" exit_is 2
check "checkpoint of pid 0: names it" grep -q "^cryo: .*'0'" "$dir/err"

new_case bad-output
if [ -n "$PYTHON" ]; then counter ""; else sleeper; fi
p=$pid
out=/nonexistent/dir/img
ckpt_fails "checkpoint --kill -o /nonexistent/dir/img" "$p" 1 --kill "/nonexistent/dir/img" \
	'No such file or directory'
# An existing directory as IMAGE: the whole image is written to a temporary
# file before the final rename fails; that temporary file must go.
mkdir "$imgdir/target"
save_state "$p"
run_cryo "$CKPT_TIMEOUT" checkpoint --kill -o "$imgdir/target" "$p"
check "checkpoint --kill -o DIRECTORY: exit 1" exit_is 1
check "checkpoint --kill -o DIRECTORY: one error line naming it" one_error "$imgdir/target"
check "checkpoint --kill -o DIRECTORY: no temporary file" test "$(find "$imgdir" -mindepth 1)" = "$imgdir/target"
check "checkpoint --kill -o DIRECTORY: pid $p runs on untraced, maps unchanged" intact "$p"
check "checkpoint --kill -o DIRECTORY: every process still there" same_procs
[ -n "$PYTHON" ] && check "checkpoint --kill -o DIRECTORY: pid $p keeps counting" counting "$log"

# --- 3. a full filesystem, a full or closed stdout ------------------------------------

BIG='big = b"Z" * (16 << 20)' # 16 MiB, every page touched (not zeros)

new_case full
full=$dir/full
mkdir -p "$full"
if ! need_python "checkpoint to a full filesystem"; then
	:
elif ! mount -t tmpfs -o size=2m tmpfs "$full" 2>"$dir/mount.err"; then
	skip "checkpoint to a full filesystem" "cannot mount a tmpfs: $(head -n 1 "$dir/mount.err")"
else
	mounts+=("$full")
	if counter "$BIG"; then
		p=$pid
		for opt in plain --kill; do
			kopt=()
			[ "$opt" = --kill ] && kopt=(--kill)
			what="checkpoint${kopt[*]:+ --kill} to a full filesystem"
			save_state "$p"
			imgdir=$full
			run_cryo "$CKPT_TIMEOUT" checkpoint "${kopt[@]}" -o "$full/img" "$p"
			check "$what: exit 1" exit_is 1
			check "$what: one error line" one_error "$full/img" 'writ' 'No space left on device'
			check "$what: nothing left in the filesystem" no_files "$full"
			check "$what: pid $p runs on untraced, maps unchanged" intact "$p"
			check "$what: every process still there" same_procs
			check "$what: pid $p keeps counting" counting "$log"
		done
	else
		not_ok "checkpoint to a full filesystem: setup"
	fi
fi

# -o - on /dev/full, and into a pipe whose reader leaves after 1000 bytes.
# `env --default-signal=PIPE`: SIGPIPE as a program normally gets it, even if
# whoever started us ignores it.
new_case stdout
if need_python "checkpoint -o - to a full or closed stdout" && counter "$BIG"; then
	p=$pid
	save_state "$p"
	(cd "$imgdir" && exec "$CRYO" checkpoint --kill -o - "$p") >/dev/full 2>"$dir/err" </dev/null &
	cpid=$!
	cryo_wait "$CKPT_TIMEOUT"
	what="checkpoint --kill -o - >/dev/full"
	check "$what: exit 1" exit_is 1
	check "$what: one error line" one_error 'No space left on device'
	check "$what: pid $p runs on untraced, maps unchanged" intact "$p"
	check "$what: every process still there" same_procs
	check "$what: pid $p keeps counting" counting "$log"

	what="checkpoint --kill -o - | head -c 1000"
	defsig=()
	env --default-signal=PIPE true 2>/dev/null && defsig=(env --default-signal=PIPE)
	save_state "$p"
	rm -f "$dir/rc"
	{
		(cd "$imgdir" && exec "${defsig[@]}" "$CRYO" checkpoint --kill -o - "$p") 2>"$dir/err"
		echo $? >"$dir/rc"
	} </dev/null | head -c 1000 >/dev/null &
	if until_ok "$CKPT_TIMEOUT" "cryo checkpoint | head -c 1000 ends" test -s "$dir/rc"; then
		rc=$(cat "$dir/rc")
		check "$what: exit 1 (not killed by SIGPIPE)" exit_is 1
		check "$what: one error line" one_error 'Broken pipe'
		check "$what: pid $p runs on untraced, maps unchanged" intact "$p"
		check "$what: every process still there" same_procs
		check "$what: pid $p keeps counting" counting "$log"
	else
		not_ok "$what: ends"
	fi
fi

# --- 4. restart refusals ------------------------------------------------------------

# (a) the pid is held by a live process: the original, still running
new_case pid-in-use
img=$dir/sleep.img
sleeper
p=$pid
start=$(stat_field "$p" 22)
if checkpoint_ok "$p"; then
	ok "restart refusals: a sleep image to work with"
	rst_fails "restart while pid $p is in use" "$img" "$p" 1 "" "pid $p\\b" \
		'in use by a live task \(sleep\)' 'stop it'
	check "restart while pid $p is in use: the original is unharmed" \
		test "$(stat_field "$p" 22):$(asleep "$p" && echo asleep)" = "$start:asleep"
	kill -TERM "$p"
	wait_exit "$p" "$TIMEOUT"
	check "restart while pid $p is in use: the original still dies of SIGTERM" \
		test "$status" = 143

	# (d) (e) corrupt and truncated images: the pid is free now, so only the
	# image can be the reason. A byte flipped in the middle (page data), in
	# the header, near the end (trailer).
	size=$(stat -c %s "$img")
	for off in $((size / 2)) 100 $((size - 4)); do
		cp "$img" "$dir/bad.img"
		b=$(od -An -tu1 -j "$off" -N1 "$dir/bad.img" | tr -d ' ')
		printf '%b' "\\0$(printf %03o $((b ^ 0xff)))" |
			dd of="$dir/bad.img" bs=1 seek="$off" conv=notrunc status=none
		rst_fails "restart of an image with byte $off of $size flipped" "$dir/bad.img" "$p" 1 "" \
			"$dir/bad.img" 'invalid image'
	done
	for len in $((size / 2)) $((size - 1)) 1000 0; do
		head -c "$len" "$img" >"$dir/short.img"
		rst_fails "restart of an image truncated to $len bytes" "$dir/short.img" "$p" 1 "" \
			"$dir/short.img" 'invalid image'
	done
	rst_fails "restart of a missing image" "$dir/missing.img" "$p" 1 "" \
		"$dir/missing.img" 'No such file'

	# (f) the image read from a pipe
	list_procs
	procs_before=$procs
	# shellcheck disable=SC2002 # a pipe, not a file, on purpose
	cat "$img" | (cd "$imgdir" && exec "$CRYO" restart --detach -) >"$dir/out" 2>"$dir/err" &
	cpid=$!
	cryo_wait "$TIMEOUT"
	check "cat IMAGE | cryo restart --detach -: exit 0" exit_is 0
	check "cat IMAGE | cryo restart --detach -: pid $p is back asleep" \
		until_ok "$TIMEOUT" "pid $p asleep" restored "$p" sleep
	kill -KILL "$p" 2>/dev/null
	check "cat IMAGE | cryo restart --detach -: the restored sleep could be killed" \
		until_ok "$TIMEOUT" "pid $p gone" gone "$p"

	list_procs
	procs_before=$procs
	head -c 1000 "$img" | (cd "$imgdir" && exec "$CRYO" restart -) >"$dir/out" 2>"$dir/err" &
	cpid=$!
	cryo_wait "$TIMEOUT"
	what="head -c 1000 IMAGE | cryo restart -"
	check "$what: exit 1" exit_is 1
	check "$what: one error line" one_error 'invalid image'
	check "$what: nothing started" same_procs
	check "$what: no process $p" gone "$p"
else
	not_ok "restart refusals: a sleep image to work with"
fi

# (a') a thread's tid held by another process, the process's own pid free: the
# holder gets the tid through ns_last_pid (this script is init of its pid namespace)
new_case tid-in-use
what="restart while a thread's tid is in use"
if need_python "$what" &&
	counter 'import threading; threading.Thread(target=time.sleep, args=(1000,), daemon=True).start()'; then
	p=$pid
	img=$dir/threads.img
	tid=$(ls "/proc/$p/task" | grep -vx "$p" | head -n 1)
	if [ -n "$tid" ] && checkpoint_ok "$p" --kill && wait_exit "$p" "$TIMEOUT" &&
		echo $((tid - 1)) >/proc/sys/kernel/ns_last_pid; then
		sleep 1000 </dev/null >/dev/null 2>&1 &
		holder=$!
		if [ "$holder" = "$tid" ]; then
			rst_fails "$what" "$img" "$p" 1 "" "pid $tid\\b" \
				'in use by a live task \(sleep\)' 'stop it'
			kill -KILL "$holder"
			wait "$holder" 2>/dev/null
			run_cryo "$TIMEOUT" restart --detach "$img"
			check "$what: once it is free, restart: exit 0" exit_is 0
			check "$what: once it is free, the thread $tid is back and the count goes on" \
				eval '[ -d "/proc/$p/task/$tid" ] && counting "$log"'
			kill -KILL "$p" 2>/dev/null
			until_ok "$TIMEOUT" "pid $p gone" gone "$p"
		else
			kill -KILL "$holder"
			not_ok "$what: setup (the holder got pid $holder, not $tid)"
		fi
	else
		not_ok "$what: setup${why:+: $why}"
	fi
fi

# (b) (c) a file the process had open read-only changed or went away
new_case changed-file
img=$dir/img
file=$dir/data
printf 'line 1\nline 2\n' >"$file"
# shellcheck disable=SC2016 # expanded by the inner bash
spawn bash -c 'exec 3<"$1"; exec sleep 1000' bash "$file"
p=$pid
if until_ok "$TIMEOUT" "sleep with fd 3" asleep "$p" && checkpoint_ok "$p" --kill &&
	wait_exit "$p" "$TIMEOUT"; then
	ok "changed file: a checkpoint of a sleep with $file open read-only"
	touch -r "$file" "$dir/mtime" # its mtime, to put back exactly
	echo "line 3" >>"$file"
	for opt in "" --detach; do
		rst_fails "restart${opt:+ $opt} after $file grew" "$img" "$p" 1 "$opt" \
			"$file" 'changed'
	done
	# back as it was, content and mtime: now it restarts
	truncate -s 14 "$file"
	touch -r "$dir/mtime" "$file"
	run_cryo "$TIMEOUT" restart --detach "$img"
	check "restart once $file is back as it was: exit 0" exit_is 0
	check "restart once $file is back as it was: pid $p back" \
		until_ok "$TIMEOUT" "pid $p asleep" restored "$p" sleep
	check "restart once $file is back as it was: fd 3 is $file" \
		test "$(readlink "/proc/$p/fd/3")" = "$file"
	kill -KILL "$p" 2>/dev/null
	until_ok "$TIMEOUT" "pid $p gone" gone "$p"

	# same size, other mtime
	touch -d '2021-01-01' "$file"
	rst_fails "restart after $file got another mtime" "$img" "$p" 1 "" "$file" 'changed'
	rm -f "$file"
	rst_fails "restart after $file was deleted" "$img" "$p" 1 "" "$file" \
		'No such file or directory'
else
	not_ok "changed file: a checkpoint of a sleep with $file open read-only${why:+: $why}"
fi

# --- 5. concurrency ---------------------------------------------------------------------
#
# (a) Two checkpoints of one tree at once: the second fails at once, naming
# the first, which goes on to a good image, be it in its pre-copy (the tree
# running again) or frozen, be the trees the same or overlapping (a subtree,
# a tree holding it). (b) A tree one of whose tasks (the root, a child, a
# thread) a debugger (strace) traces: refused, naming the debugger, whose
# session goes on. (c) is in section 4: a pid or a thread's id of the image
# in use, here held by a thread of another process.
#
# The first checkpoint is held in the middle without sleeps: it writes its
# image (-o -) into a FIFO that fd 7 keeps open, unread. Once the pipe is
# full (64 KiB; cryo writes 256 KiB at a time) it waits in write(2) on its
# fd 1, which /proc/PID/syscall shows. With --precopy=always that write is
# the pre-copy's, the tree thawed; with --precopy=never the dump's, the tree
# frozen. Reading the FIFO lets it finish.
#
# Checkpoint locks go to a state directory of ours, where what is left is seen.
export CRYO_STATE_DIR=$tmp/state

# first_start PID OPTS...: `cryo checkpoint OPTS -o - PID` into the FIFO; pid in $first
first_start() {
	local p=$1
	shift
	rm -f "$dir/fifo"
	mkfifo "$dir/fifo"
	exec 7<>"$dir/fifo"
	(cd "$imgdir" && exec "$CRYO" checkpoint "$@" -o - "$p") \
		>"$dir/fifo" 2>"$dir/first.err" </dev/null 7>&- &
	first=$!
}

# held FIRST PID TRACER: the checkpoint FIRST waits in write(2) on its fd 1
# (the pipe is full), and PID's tracer is TRACER (0: thawed; FIRST: frozen)
held() {
	local nr fd
	read -r nr fd _ 2>/dev/null <"/proc/$1/syscall" || return 1
	if [ "$nr" != 1 ] || [ "$fd" != 0x1 ]; then
		why="pid $1 is not in write(2) on fd 1: $nr $fd"
		return 1
	fi
	[ "$(status_line "$2" TracerPid)" = "$3" ] && return 0
	why="pid $2 has TracerPid $(status_line "$2" TracerPid), not $3"
	return 1
}

# first_finish IMAGE: reads the FIFO into IMAGE until the first checkpoint
# ends; its exit status in $rc, its stderr in $dir/first.err
first_finish() {
	local reader
	exec 8<"$dir/fifo" # a reader before fd 7 goes: the writer never sees none
	cat <&8 8<&- 7>&- >"$1" & # no writer of its own: it ends when cryo does
	reader=$!
	exec 7>&- 8<&-
	cpid=$first
	cryo_wait "$CKPT_TIMEOUT"
	wait "$reader" 2>/dev/null
}

first_silent() {
	[ ! -s "$dir/first.err" ] && return 0
	why=$(head -n 1 "$dir/first.err")
	return 1
}

# first_ok WHAT IMAGE: the first checkpoint succeeded, silently, left no
# lock behind, and IMAGE is whole (cryo show reads every record of it)
first_ok() {
	local what=$1 image=$2
	first_finish "$image"
	check "$what: the first checkpoint exits 0" exit_is 0
	check "$what: the first checkpoint said nothing" first_silent
	check "$what: no checkpoint lock left" no_files "$CRYO_STATE_DIR"
	"$CRYO" show "$image" >"$dir/show" 2>"$dir/err"
	rc=$?
	check "$what: cryo show accepts the first checkpoint's image" exit_is 0
}

# tree_restored: $p and $c are back and count on
tree_restored() {
	restored "$p" "$PYCOMM" && restored "$c" "$PYCOMM" && counting "$log"
}

# tree: a counter that forks a child counting too, both into $log; $p and $c
tree() {
	counter 'import os
os.fork()' && child_of "$pid" "$PYCOMM" || return 1
	c=$pid
	p=$(stat_field "$c" 4)
}

# (a) the same tree, and its subtree, while the first pre-copies
new_case concurrent-precopy
what="checkpoint while another pre-copies the tree"
if need_python "$what" && tree; then
	first_start "$p" --precopy=always
	if until_ok "$CKPT_TIMEOUT" "the first checkpoint writing, the tree thawed" \
		held "$first" "$p" 0; then
		ok "$what: the first checkpoint ($first) holds in its pre-copy"
		ckpt_fails "$what: the same root $p" "$p" 1 "" "pid $p:" \
			"is being checkpointed by another cryo \\(pid $first\\)" 'wait for it to finish'
		check "$what: pid $p keeps counting" counting "$log"
		ckpt_fails "$what: its child $c" "$c" 1 "" "pid $c:" \
			"is being checkpointed by another cryo \\(pid $first\\)" "ancestor pid $p\\b" \
			'wait for it to finish'
		check "$what: the first still holds, the tree untraced" held "$first" "$p" 0
		img=$dir/first.img
		first_ok "$what" "$img"
		# the image restarts: the tree is ended, then brought back
		kill -KILL "$c" "$p"
		wait_exit "$p" "$TIMEOUT"
		until_ok "$TIMEOUT" "pid $c gone" gone "$c"
		run_cryo "$TIMEOUT" restart --detach "$img"
		check "$what: the first checkpoint's image restarts" exit_is 0
		check "$what: the restored tree counts on" tree_restored
	else
		not_ok "$what: setup"
	fi
	exec 7>&-
fi

# (a) the whole tree while the first pre-copies a subtree of it
new_case concurrent-subtree
what="checkpoint of a tree while another pre-copies its subtree"
if need_python "$what" && tree; then
	first_start "$c" --precopy=always
	if until_ok "$CKPT_TIMEOUT" "the first checkpoint writing, the subtree thawed" \
		held "$first" "$c" 0; then
		ckpt_fails "$what" "$p" 1 "" "pid $c:" \
			"is being checkpointed by another cryo \\(pid $first\\)" 'wait for it to finish'
		check "$what: pid $p keeps counting" counting "$log"
		first_ok "$what" "$dir/first.img"
	else
		not_ok "$what: setup"
	fi
	exec 7>&-
fi

# (a) the first frozen, the second with another state directory: no lock to
# meet, but the tree is the first's tracee; the root and the child
new_case concurrent-frozen
what="checkpoint while another has the tree frozen"
if need_python "$what" && tree; then
	save_state "$p"
	first_start "$p" --precopy=never
	if until_ok "$CKPT_TIMEOUT" "the first checkpoint writing, the tree frozen" \
		held "$first" "$p" "$first"; then
		for q in "$p" "$c"; do
			CRYO_STATE_DIR=$dir/other run_cryo "$CKPT_TIMEOUT" checkpoint -o "$out" "$q"
			check "$what: pid $q: exit 1" exit_is 1
			check "$what: pid $q: one error line naming the first" one_error "pid $q:" \
				"is being checkpointed by another cryo \\(pid $first\\)" \
				'wait for it to finish'
			check "$what: pid $q: no image and no temporary file" no_files "$imgdir"
			check "$what: pid $q: no lock left in its state directory" no_files "$dir/other"
			check "$what: pid $q: the first still holds the tree" held "$first" "$q" "$first"
		done
		first_ok "$what" "$dir/first.img"
		check "$what: pid $p runs on untraced, maps unchanged" intact "$p"
		check "$what: every process of the tree still there" same_procs
		check "$what: pid $p keeps counting" counting "$log"
	else
		not_ok "$what: setup"
	fi
	exec 7>&-
fi

# (b) strace on the root, a child, a thread

# maps_same PID: /proc/PID/maps as save_state saw it
maps_same() {
	cat "/proc/$1/maps" >"$dir/maps.after"
	cmp -s "$dir/maps.before" "$dir/maps.after" && return 0
	why="$(diff "$dir/maps.before" "$dir/maps.after" | grep '^[<>]' | head -n 3 | tr '\n' '|')"
	return 1
}

# tree_runs: every thread of $p and $c runs or sleeps (a traced one stops
# for a moment at each syscall: the caller retries)
tree_runs() {
	local q s
	for q in /proc/"$p"/task/* /proc/"$c"/task/*; do
		read -r s <"$q/stat" || return 1
		s=${s##*) }
		case ${s%% *} in R | S) continue ;; esac
		why="${q#/proc/} is in state ${s%% *}"
		return 1
	done
}

# untraced_but TID: every thread of $p and $c but TID is untraced
untraced_but() {
	local q
	for q in /proc/"$p"/task/* /proc/"$c"/task/*; do
		q=${q##*/}
		[ "$q" = "$1" ] || [ "$(status_line "$q" TracerPid)" = 0 ] && continue
		why="$q is traced by $(status_line "$q" TracerPid)"
		return 1
	done
}

# traced_by TID TRACER LINES: TRACER traces TID and has written LINES lines
# of its syscalls
traced_by() {
	[ "$(status_line "$1" TracerPid)" = "$2" ] || { why="$1 is not traced by $2" && return 1; }
	at_least "$dir/strace.out" "$3"
}

# debugged WHAT TID REGEX...: with strace attached to TID (only), a checkpoint
# of $p fails with one line matching every REGEX and naming strace; strace
# keeps tracing TID, which runs on (strace sees its syscalls), the rest of
# the tree is untraced, and the count goes on
debugged() {
	local what=$1 t=$2 s
	shift 2
	: >"$dir/strace.out"
	strace -qq -o "$dir/strace.out" -p "$t" 2>>"$dir/strace.err" &
	s=$!
	if ! until_ok "$TIMEOUT" "strace attached to $t" traced_by "$t" "$s" 0; then
		not_ok "$what: setup"
		return
	fi
	save_state "$p"
	run_cryo "$CKPT_TIMEOUT" checkpoint -o "$out" "$p"
	check "$what: exit 1" exit_is 1
	check "$what: one error line naming strace" one_error "$@" \
		"is being traced by pid $s \\(strace\\)" 'detach the debugger first'
	check "$what: no image and no temporary file" no_files "$imgdir"
	check "$what: strace still traces $t, and sees it run" until_ok "$TIMEOUT" \
		"3 more syscalls of $t" traced_by "$t" "$s" $(($(lines "$dir/strace.out") + 3))
	check "$what: the rest of the tree untraced" untraced_but "$t"
	check "$what: no task of the tree stopped" until_ok 3 "all running" tree_runs
	check "$what: maps of pid $p unchanged" maps_same "$p"
	check "$what: every process of the tree still there" same_procs
	check "$what: the tree keeps counting" counting "$log"
	kill -TERM "$s" # strace detaches
	wait "$s" 2>/dev/null
}

new_case debugger
what="checkpoint of a tree a debugger traces"
if ! command -v strace >/dev/null; then
	skip "$what" "no strace"
elif need_python "$what" && counter 'import os, threading
def tick():
    while True:
        time.sleep(0.05)
if os.fork():
    threading.Thread(target=tick, daemon=True).start()' && child_of "$pid" "$PYCOMM"; then
	c=$pid
	p=$(stat_field "$c" 4)
	for tid in /proc/"$p"/task/*; do
		tid=${tid##*/}
		[ "$tid" != "$p" ] && break
	done
	debugged "$what: the root $p" "$p" "pid $p:"
	debugged "$what: the child $c" "$c" "pid $c:"
	debugged "$what: the thread $tid of pid $p" "$tid" "pid $p: its thread $tid\\b"
	img=$dir/img
	check "$what: once strace is gone, the checkpoint works" checkpoint_ok "$p"
	check "$what: ... and leaves the tree untraced" untraced_but ""
else
	not_ok "$what: setup"
fi

# (c) the image's pid is a thread's of another process: the message names
# that process. The holder takes the pid through ns_last_pid right before it
# starts its thread; it says the thread's id through a FIFO, which our read
# waits on without forking (a fork would take the pid).
new_case pid-held-by-thread
what="restart while the image's pid is a thread's of another process"
img=$dir/img
sleeper
p=$pid
if need_python "$what" && checkpoint_ok "$p" --kill && wait_exit "$p" "$TIMEOUT"; then
	mkfifo "$dir/tid"
	exec 9<>"$dir/tid"
	spawn "$PYTHON" -c 'import sys, threading, time
with open("/proc/sys/kernel/ns_last_pid", "w") as f:
    f.write(str(int(sys.argv[1]) - 1))
t = threading.Thread(target=time.sleep, args=(1000,), daemon=True)
t.start()
with open(sys.argv[2], "w") as f:
    f.write("%d\n" % t.native_id)
time.sleep(1000)' "$p" "$dir/tid" 9<&-
	h=$pid
	got=""
	read -r -t "$TIMEOUT" got <&9
	exec 9<&-
	if [ "$got" = "$p" ] && [ "$(status_line "$p" Tgid)" = "$h" ]; then
		rst_fails "$what" "$img" "" 1 "" "pid $p\\b" 'in use' \
			"by a thread of pid $h \\($PYCOMM\\)" 'stop it'
	else
		not_ok "$what: setup (the thread got pid ${got:-none}, not $p)"
	fi
	kill -KILL "$h"
	wait_exit "$h" "$TIMEOUT"
else
	not_ok "$what: setup${why:+: $why}"
fi

# --- 6. --pidfile, --detach, foreground exit status -----------------------------------

new_case pidfile
img=$dir/img
sleeper
p=$pid
if checkpoint_ok "$p" --kill && wait_exit "$p" "$TIMEOUT"; then
	echo junk >"$dir/pid" # an existing pidfile is replaced
	run_cryo "$TIMEOUT" restart --detach --pidfile "$dir/pid" "$img"
	what="restart --detach --pidfile"
	check "$what: exit 0" exit_is 0
	# right away, no retry: --detach returns once the tree runs
	check "$what: pid $p runs when it returns" restored "$p" sleep
	check "$what: the pidfile holds '$p\\n'" cmp -s "$dir/pid" <(printf '%s\n' "$p")
	check "$what: no temporary pidfile left" \
		test "$(find "$dir" -mindepth 1 -maxdepth 1 -name 'pid?*' | wc -l)" = 0
	check "$what: its parent is us (pid 1 of the namespace), not cryo ($cpid)" \
		test "$(stat_field "$p" 4)" = 1
	kill -KILL "$p" 2>/dev/null
	until_ok "$TIMEOUT" "pid $p gone" gone "$p"

	# a pidfile that cannot be written: the restored task must not survive
	rst_fails "restart --detach --pidfile /nonexistent/dir/pid" "$img" "$p" 1 \
		"--detach --pidfile /nonexistent/dir/pid" "/nonexistent/dir/pid"
	rst_fails "restart --pidfile /nonexistent/dir/pid" "$img" "$p" 1 \
		"--pidfile /nonexistent/dir/pid" "/nonexistent/dir/pid"

	# foreground: cryo restart exits as the restored root does: SIGTERM, 143
	cryo_start restart "$img"
	what="restart in the foreground"
	if until_ok "$TIMEOUT" "pid $p back" restored "$p" sleep; then
		ok "$what: pid $p back"
		check "$what: cryo ($cpid) is its parent" test "$(stat_field "$p" 4)" = "$cpid"
		kill -TERM "$p"
		cryo_wait "$TIMEOUT"
		check "$what: SIGTERM to pid $p, cryo exits 143" exit_is 143
	else
		not_ok "$what: pid $p back"
	fi
else
	not_ok "pidfile: a checkpoint of sleep 1000${why:+: $why}"
fi

# foreground: a program that ends by itself, exit 0
new_case sleep2
img=$dir/img
spawn sleep 2
p=$pid
if until_ok "$TIMEOUT" "sleep 2 asleep" asleep "$p" && checkpoint_ok "$p" --kill &&
	wait_exit "$p" "$TIMEOUT"; then
	run_cryo "$TIMEOUT" restart "$img"
	check "restart of sleep 2 in the foreground: exit 0 once it is done" exit_is 0
else
	not_ok "restart of sleep 2 in the foreground${why:+: $why}"
fi

# foreground: the restored root's own exit code
new_case exit7
img=$dir/img
if need_python "restart in the foreground passes exit code 7 on"; then
	spawn "$PYTHON" -c 'import sys, time
print("ready", flush=True)
time.sleep(1)
sys.exit(7)'
	p=$pid
	if until_ok "$TIMEOUT" "python ready" at_least "$log" 1 && checkpoint_ok "$p" --kill &&
		wait_exit "$p" "$TIMEOUT"; then
		run_cryo "$TIMEOUT" restart "$img"
		check "restart in the foreground passes exit code 7 on" exit_is 7
	else
		not_ok "restart in the foreground passes exit code 7 on${why:+: $why}"
	fi
fi

# --- the end ---------------------------------------------------------------------------

# the last cases end by themselves: nothing may be left of them
list_procs
dir=$tmp
: >"$dir/err"
check "no process left behind" test -z "$procs"
echo "1..$n"
