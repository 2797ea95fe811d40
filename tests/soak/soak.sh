#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The soak (`make soak`, as root; doc/reliability.md): two busy workloads
# checkpointed over and over in leave-running mode (`cryo checkpoint -o IMG
# PID`, no --kill), while they check their own results, and checks that
# they go on right and that nothing leaks.
#
#   pty_echo    a process holding a pty master writes numbered lines; its
#               child, in a session of its own on the slave (canonical mode),
#               answers each with a transformed line; every reply is checked
#               byte for byte and in order (tests/soak/pty_echo.c)
#   mem_writer  two threads rewrite and check 64 MiB in 8 mappings, page by
#               page, dropping one page in 509 (tests/soak/mem_writer.c)
#
# Iteration i (1..SOAK_ITERATIONS) checkpoints the pty tree, then the
# memory writer: SOAK_ITERATIONS checkpoints of each. The pty tree gets
# --precopy=always on every 5th (auto otherwise: no pre-copy, it is small),
# the memory writer --precopy=never on every 4th (auto otherwise: pre-copy,
# it has 64 MiB); every 7th of both runs the ASan+UBSan cryo, whose leak
# check fails it on a leak.
#
# After every checkpoint: cryo exited 0 (and no sanitizer spoke), no cryo
# process is left, no temporary file beside the image, every task of both
# trees is untraced and not stopped, neither log has a FAIL. Every
# SOAK_CHECK_EVERY iterations, and at the end: both workloads advanced
# their progress counters since the last check; each process has the same
# descriptors (number and targets), number of mappings, threads and blocked
# signals as at the start, nothing pending, and its RSS has not grown past
# the start + SOAK_RSS_SLACK_KIB; the trees have the same processes; no
# tracker socket in the state directory. Every SOAK_RESTART_EVERY
# iterations, the image just made is restarted in a pid namespace of its
# own, beside the running original: the copy must go on counting and pass
# its own check. At the end both originals are told to check everything
# (SIGUSR2) and must pass, and nothing may be left in the namespace.
#
# Output: TAP, with the figures as comments. Stops at the first failure,
# exits 1. Environment (defaults in brackets):
#   CRYO [./cryo]  CRYO_ASAN [build/asan/cryo; empty: no ASan runs]
#   SOAK_BIN [build/normal/soak: pty_echo, mem_writer, rss (bench/rss.c)]
#   SOAK_ITERATIONS [1000]  SOAK_CHECK_EVERY [50]  SOAK_RESTART_EVERY [200; 0: none]
#   SOAK_ASAN_EVERY [7; 0: none]  SOAK_RSS_SLACK_KIB [4096]  SOAK_CKPT_TIMEOUT [60 s]
#   SOAK_MEM_MIB [64]  SOAK_MEM_PAUSE_US [20000 per MiB written, per thread]
#   SOAK_PTY_PAUSE_US [200 per line]  SOAK_DIR [/dev/shm: scratch and images,
#   tmpfs, so 2,000 images of up to 130 MiB do not go to disk]  SOAK_KEEP [keep them]
#
# valgrind is not used: 3.19 (Debian 12) does not know pidfd_open and
# pidfd_getfd, without which cryo cannot take a terminal's descriptor.
set -u
root=$(readlink -f "$(dirname "$0")/../..")
. "$root/tests/cr/lib.sh"
cr_enter_namespace "$@"
cr_close_inherited_fds

CRYO=$(readlink -f "${CRYO:-$root/cryo}")
CRYO_ASAN=${CRYO_ASAN-$root/build/asan/cryo}
[ -n "$CRYO_ASAN" ] && CRYO_ASAN=$(readlink -f "$CRYO_ASAN")
BIN=$(readlink -f "${SOAK_BIN:-$root/build/normal/soak}")
N=${SOAK_ITERATIONS:-1000}
CHECK_EVERY=${SOAK_CHECK_EVERY:-50}
RESTART_EVERY=${SOAK_RESTART_EVERY:-200}
ASAN_EVERY=${SOAK_ASAN_EVERY:-7}
ALWAYS_EVERY=5 # the pty tree: --precopy=always
NEVER_EVERY=4  # the memory writer: --precopy=never
RSS_SLACK=${SOAK_RSS_SLACK_KIB:-4096}
CKPT_TIMEOUT=${SOAK_CKPT_TIMEOUT:-60}
MEM_MIB=${SOAK_MEM_MIB:-64}
MEM_PAUSE=${SOAK_MEM_PAUSE_US:-20000}
PTY_PAUSE=${SOAK_PTY_PAUSE_US:-200}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for f in "$CRYO" "$BIN/pty_echo" "$BIN/mem_writer" "$BIN/rss"; do
	[ -x "$f" ] || { echo "Bail out! no $f (make soak builds it)" && exit 1; }
done
if [ -n "$CRYO_ASAN" ] && [ ! -x "$CRYO_ASAN" ]; then
	echo "# no $CRYO_ASAN: no ASan runs"
	CRYO_ASAN=""
fi
[ -n "$CRYO_ASAN" ] || ASAN_EVERY=0

tmp=$(mktemp -d "${SOAK_DIR:-/dev/shm}/cryo-soak.XXXXXX")
mkdir -p "$tmp/img" "$tmp/state" "$tmp/bin/asan"
# the binaries under test, fixed for the run: a rebuild meanwhile changes nothing
cp "$CRYO" "$tmp/bin/cryo" && CRYO=$tmp/bin/cryo
[ -z "$CRYO_ASAN" ] || { cp "$CRYO_ASAN" "$tmp/bin/asan/cryo" && CRYO_ASAN=$tmp/bin/asan/cryo; }
export CRYO_STATE_DIR=$tmp/state # trackers would leave their sockets here
cr_private_devpts "$tmp"
start_us=$(now_us)
# our pid namespace's inode: the workloads' lines carry theirs, so that a
# restored copy's lines (another namespace) are told from the original's
NS=$(stat -L -c %i /proc/self/ns/pid)

cleanup() {
	local p
	if [ $$ -eq 1 ]; then
		for p in /proc/[0-9]*; do
			p=${p#/proc/}
			[ "$p" -ne 1 ] && kill -KILL "$p" 2>/dev/null
		done
	else
		for p in ${pty:-} ${mem:-}; do kill -KILL "$p" 2>/dev/null; done
	fi
	wait 2>/dev/null
	cr_private_devpts_end
	if [ -n "${SOAK_KEEP:-}" ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

i="" i_done=0 restarted=0 procs=() pty="" mem=""
declare -A start_res last_res prog last_prog

# --- TAP and the way out ------------------------------------------------------------

checks=$(((N + CHECK_EVERY - 1) / CHECK_EVERY))
restarts=0
[ "$RESTART_EVERY" -gt 0 ] && restarts=$((2 * (N / RESTART_EVERY)))
echo "1..$((1 + checks + restarts + 2))"
[ $$ -eq 1 ] || echo "# not in a pid namespace of our own"
t=0
pass() {
	t=$((t + 1))
	echo "ok $t - $1"
}
# fail WHAT: the failure, what the logs say, the figures so far; exit 1
fail() {
	local f
	t=$((t + 1))
	echo "not ok $t - ${i:+iteration $i: }$1"
	for f in "$tmp/ck.out" "$tmp/pty.log" "$tmp/mem.log" "$tmp/restart.out"; do
		[ -s "$f" ] || continue
		echo "#   ${f##*/}:"
		grep -v '^progress' "$f" | tail -n 12 | sed 's/^/#     /'
	done
	summary
	echo "Bail out! the soak failed"
	exit 1
}

# --- figures ---------------------------------------------------------------------

# stats FILE COLUMN: "median p95 max" of COLUMN (us) of FILE, in ms
stats() {
	[ -s "$1" ] || { echo "- - -" && return; }
	sort -n -k"$2,$2" "$1" | awk -v c="$2" '{ a[NR] = $c } END {
		printf "%.1f %.1f %.1f", a[int((NR + 1) / 2)] / 1e3,
		       a[int((NR * 95 + 99) / 100)] / 1e3, a[NR] / 1e3 }'
}
# max_kib FILE...: the largest second column (cryo's peak RSS, KiB)
max_kib() { cat "$@" 2>/dev/null | awk '$2 > m { m = $2 } END { print m + 0 }'; }

summary() {
	local k s f
	echo "# --- soak figures ---"
	cat "$tmp"/t.pty.* "$tmp"/t.mem.* >"$tmp/t-all" 2>/dev/null
	echo "# iterations: $i_done of $N; checkpoints: $(wc -l <"$tmp/t-all"), all leave-running;" \
		"total time: $((($(now_us) - start_us) / 1000000)) s"
	echo "# checkpoint times, ms:      ----- wall time ----  ------ frozen ------"
	printf '#   %-16s %6s  %6s %6s %6s  %6s %6s %6s\n' kind n median p95 max median p95 max
	for k in pty.auto pty.always mem.auto mem.never pty.auto.asan pty.always.asan \
		mem.auto.asan mem.never.asan all; do
		f=$tmp/t.$k
		[ $k = all ] && f=$tmp/t-all
		[ -s "$f" ] || continue
		read -r -a s <<<"$(wc -l <"$f") $(stats "$f" 1) $(stats "$f" 3)"
		printf '#   %-16s %6s  %6s %6s %6s  %6s %6s %6s\n' "$k" "${s[@]}"
	done
	echo "# cryo peak RSS: $(max_kib "$tmp"/t.pty.auto "$tmp"/t.pty.always) KiB (pty tree)," \
		"$(max_kib "$tmp"/t.mem.auto "$tmp"/t.mem.never) KiB (memory writer);" \
		"ASan build: $(max_kib "$tmp"/t.*.asan) KiB"
	[ -s "$tmp/img/mem.img" ] && echo "# last images: pty $(stat -c %s "$tmp/img/pty.img" 2>/dev/null) bytes," \
		"memory writer $(stat -c %s "$tmp/img/mem.img") bytes"
	for k in "${procs[@]}"; do
		echo "# $k: start ${start_res[$k]:-?}; end ${last_res[$k]:-?}"
	done
	echo "# progress: pty replies checked ${prog[pty]:-0}; memory pages written ${prog[mem]:-0}," \
		"each thread went over its half ${sweeps:-0} times or more; images restarted and checked: $restarted"
}

# --- the workloads ------------------------------------------------------------------

# spawn NAME CMD...: CMD in a session of its own, output to $tmp/NAME.log; pid in $pid
spawn() {
	local name=$1
	shift
	setsid "$@" >>"$tmp/$name.log" 2>&1 </dev/null &
	pid=$!
}

# ready NAME PID: until NAME's log says ready
ready() {
	local deadline=$(($(now_us) + 10000000))
	until grep -qx ready "$tmp/$1.log"; do
		[ -e "/proc/$2" ] || fail "$1 exited before saying ready"
		[ "$(now_us)" -lt "$deadline" ] || fail "$1 not ready within 10 s"
		sleep 0.05
	done
}

# children PID: the pids of PID's children
children() {
	local c
	c=$(cat /proc/"$1"/task/*/children 2>/dev/null)
	# shellcheck disable=SC2086 # one line, one space between
	echo $c
}

# progress NAME: the original's last count in NAME's log
progress() {
	grep "^progress $1 .* ns=$NS\$" "$tmp/$1.log" | tail -n 1 | awk '{ print $3 }'
}

# --- checks ---------------------------------------------------------------------------

status_field() { sed -n "s/^$2:[[:space:]]*//p" "$1"; }

# named COMM: the processes called COMM in our namespace (pgrep -x, without a fork)
named() {
	local f c
	for f in /proc/[0-9]*/comm; do
		read -r c 2>/dev/null <"$f" && [ "$c" = "$1" ] && f=${f#/proc/} && echo -n "${f%/comm} "
	done
}

# logs_ok: no FAIL from a workload (or a restored copy of it)
logs_ok() {
	local w p who
	grep -q '^FAIL' "$tmp/pty.log" "$tmp/mem.log" || return 0
	for w in pty mem; do
		grep -q '^FAIL' "$tmp/$w.log" || continue
		p=$pty who="the original"
		[ $w = mem ] && p=$mem
		# the original still running: the FAIL is a restored copy's
		[ -n "$p" ] && [ "$(stat_field "$p" 3)" != Z ] && [ -e "/proc/$p" ] && who="a restored copy"
		fail "$w failed ($who): $(grep -m 1 '^FAIL' "$tmp/$w.log")"
	done
}

# tasks_ok: no FAIL; every task of both trees runs untraced, not stopped,
# nothing pending (one grep for all: it runs after every checkpoint)
tasks_ok() {
	local p files=() out line f tid st states=0
	for p in "${pids[@]}"; do
		[ -d "/proc/$p" ] || { logs_ok && fail "pid $p is gone"; }
		files+=(/proc/"$p"/task/*/status)
	done
	out=$(grep -H -E '^(FAIL|State:|TracerPid:|SigPnd:|ShdPnd:)' "$tmp/pty.log" "$tmp/mem.log" \
		"${files[@]}" 2>/dev/null)
	case $out in *:FAIL*) logs_ok ;; esac
	while IFS= read -r line; do
		f=${line%%:*} line=${line#*:}
		tid=${f#/proc/*/task/} tid=${tid%/status} p=${f#/proc/} p=${p%%/*}
		case $line in
		State:*)
			states=$((states + 1))
			st=${line#State:} st=${st//[[:space:]]/} st=${st:0:1}
			case $st in
			R | S | D) ;;
			*) fail "task $tid of pid $p is in state '$st'" ;;
			esac
			;;
		TracerPid:*) [ "${line//[^0-9]/}" = 0 ] || fail "task $tid of pid $p is traced: $line" ;;
		SigPnd:* | ShdPnd:*)
			[ "${line##*[[:space:]]}" = 0000000000000000 ] ||
				fail "task $tid of pid $p has a signal pending: $line"
			;;
		esac
	done <<<"$out"
	[ "$states" -eq "${#files[@]}" ] || { logs_ok && fail "a task ended: ${#files[@]} tasks, $states states"; }
}

# resources PID: one line for the summary, and in $fdlist the descriptors and
# their targets, in $sigblk the blocked signals of each task
resources() {
	local p=$1 f nfd=0 rss threads maps task
	fdlist=""
	for f in /proc/"$p"/fd/*; do
		fdlist+="${f##*/}=$(readlink "$f") "
		nfd=$((nfd + 1))
	done
	maps=$(wc -l <"/proc/$p/maps")
	rss=$(status_field "/proc/$p/status" VmRSS)
	rss=${rss% kB}
	threads=$(status_field "/proc/$p/status" Threads)
	sigblk=""
	for task in /proc/"$p"/task/*; do
		sigblk+="${task##*/}:$(status_field "$task/status" SigBlk) "
	done
	res_line="fds $nfd, maps $maps, threads $threads, RSS $rss KiB"
	res_rss=$rss
}

declare -A base_fds base_sig base_rss base_kids
baseline() {
	local k p
	for k in "${!procs[@]}"; do
		p=${pids[$k]}
		resources "$p"
		start_res[${procs[$k]}]=$res_line
		last_res[${procs[$k]}]=$res_line
		base_fds[$p]=$fdlist base_sig[$p]=$sigblk base_rss[$p]=$res_rss
		base_kids[$p]=$(children "$p")
	done
}

# check: progress, and nothing changed or grew in the targets, nothing left by cryo
check() {
	local k p n w
	tasks_ok
	for w in pty mem; do
		n=$(progress "$w")
		[ -n "$n" ] || fail "$w: no progress line"
		[ "$n" -gt "${last_prog[$w]:--1}" ] ||
			fail "$w: no progress since the last check (still at $n)"
		last_prog[$w]=$n prog[$w]=$n
	done
	sweeps=$(grep "^progress mem .* ns=$NS\$" "$tmp/mem.log" | tail -n 1 | sed 's/.*sweeps=\([0-9]*\).*/\1/')
	for k in "${!procs[@]}"; do
		p=${pids[$k]}
		resources "$p"
		last_res[${procs[$k]}]=$res_line
		[ "$fdlist" = "${base_fds[$p]}" ] ||
			fail "${procs[$k]}: descriptors were '${base_fds[$p]}', now '$fdlist'"
		[ "${res_line%%, RSS*}" = "${start_res[${procs[$k]}]%%, RSS*}" ] ||
			fail "${procs[$k]}: was '${start_res[${procs[$k]}]}', now '$res_line'"
		[ "$sigblk" = "${base_sig[$p]}" ] ||
			fail "${procs[$k]}: blocked signals were '${base_sig[$p]}', now '$sigblk'"
		[ "$res_rss" -le $((base_rss[$p] + RSS_SLACK)) ] ||
			fail "${procs[$k]}: RSS grew from ${base_rss[$p]} to $res_rss KiB"
		[ "$(children "$p")" = "${base_kids[$p]}" ] ||
			fail "${procs[$k]}: children were '${base_kids[$p]}', now '$(children "$p")'"
	done
	[ -z "$(ls -A "$tmp/state")" ] || fail "left in the state directory: $(ls -A "$tmp/state")"
}

# --- one checkpoint -------------------------------------------------------------------

# ckpt NAME PID KIND [OPTIONS...]: checkpoints PID into $tmp/img/NAME.img;
# wall time and peak RSS appended to $tmp/t.NAME.KIND[.asan]
ckpt() {
	local name=$1 p=$2 kind=$3 bin=$CRYO rc kib us left f what said out line frozen sanitizer
	shift 3
	if [ "$ASAN_EVERY" -gt 0 ] && ((i % ASAN_EVERY == 0)); then
		bin=$CRYO_ASAN kind=$kind.asan
	fi
	timeout -s KILL "$CKPT_TIMEOUT" "$BIN/rss" "$tmp/rss.out" \
		"$bin" -v checkpoint "$@" -o "$tmp/img/$name.img" "$p" >"$tmp/ck.out" 2>&1 </dev/null
	rc=$?
	read -r kib us <"$tmp/rss.out" 2>/dev/null || kib=0 us=0
	: >"$tmp/rss.out"
	# what cryo said: -v adds "the tree was frozen N us"; a sanitizer's report
	mapfile -t out <"$tmp/ck.out"
	frozen=0 said=${out[0]:-} sanitizer=""
	for line in "${out[@]}"; do
		[[ $line =~ the\ tree\ was\ frozen\ ([0-9]+)\ us ]] && frozen=${BASH_REMATCH[1]}
		if [ -z "$sanitizer" ] && [[ $line == *Sanitizer* || $line == *"runtime error"* ]]; then
			sanitizer=$line said=$line
		fi
	done
	echo "$us $kib $frozen" >>"$tmp/t.$name.$kind"
	what="checkpoint of $name ($kind, cryo checkpoint${*:+ $*})"
	[ "$rc" -ne 127 ] || said="could not run $bin"
	[ "$rc" -eq 0 ] || fail "$what exited $rc: $said"
	[ -z "$sanitizer" ] || fail "$what: $said"
	left=$(named cryo)
	[ -z "$left" ] || fail "$what left a cryo process: $left"
	left=""
	for f in "$tmp"/img/* "$tmp"/img/.[!.]*; do
		[ -e "$f" ] || continue
		case ${f##*/} in pty.img | mem.img) ;; *) left+="${f##*/} " ;; esac
	done
	[ -z "$left" ] || fail "$what left beside the image: $left"
	[ -s "$tmp/img/$name.img" ] || fail "$what made no image"
	tasks_ok
}

# --- a restart of the image just made, in a pid namespace of its own --------------

# nested_pid PID: our pid of the process that is PID in a pid namespace below ours
nested_pid() {
	local f line
	for f in /proc/[0-9]*/status; do
		line=$(grep '^NSpid:' "$f" 2>/dev/null) || continue
		read -r -a line <<<"$line"
		[ "${#line[@]}" -eq 3 ] && [ "${line[2]}" = "$1" ] && echo "${line[1]}" && return 0
	done
	return 1
}

# copy_progress NAME FROM: the last count of a restored copy in NAME's log, after line FROM
copy_progress() {
	tail -n +"$(($2 + 1))" "$tmp/$1.log" | grep "^progress $1 " | grep -v " ns=$NS\$" |
		tail -n 1 | awk '{ print $3 }'
}

restart_check() {
	local name=$1 p=$2 from rpid copy first n deadline rc
	from=$(wc -l <"$tmp/$name.log")
	unshare -p -f --kill-child --mount-proc "$CRYO" restart "$tmp/img/$name.img" \
		>"$tmp/restart.out" 2>&1 </dev/null &
	rpid=$!
	deadline=$(($(now_us) + 20000000))
	first=""
	while :; do
		n=$(copy_progress "$name" "$from")
		[ -z "$first" ] && first=$n
		logs_ok
		[ -n "$n" ] && [ "$n" -gt "$first" ] && break # counting on
		[ -e "/proc/$rpid" ] || fail "restart of $name.img ended before its copy counted on"
		[ "$(now_us)" -lt "$deadline" ] || fail "the restored copy of $name does not count on"
		sleep 0.1
	done
	copy=$(nested_pid "$p") || { logs_ok && fail "no restored copy of pid $p"; }
	kill -USR2 "$copy"
	deadline=$(($(now_us) + 20000000))
	while [ -e "/proc/$rpid" ] && [ "$(stat_field "$rpid" 3)" != Z ]; do
		[ "$(now_us)" -lt "$deadline" ] || fail "the restored copy of $name did not end after SIGUSR2"
		sleep 0.05
	done
	wait "$rpid"
	rc=$?
	logs_ok
	[ "$rc" -eq 0 ] || fail "restart of $name.img exited $rc: $(head -n 3 "$tmp/restart.out" | tr '\n' '|')"
	tail -n +"$((from + 1))" "$tmp/$name.log" | grep -q "^PASS ns=" ||
		fail "the restored copy of $name did not pass"
	restarted=$((restarted + 1))
	pass "iteration $i: the image of $name restarted in a pid namespace of its own counts on ($first -> $n) and passes"
}

# --- the soak ---------------------------------------------------------------------------

spawn pty "$BIN/pty_echo" "$PTY_PAUSE"
pty=$pid
spawn mem "$BIN/mem_writer" "$MEM_MIB" "$MEM_PAUSE"
mem=$pid
ready pty "$pty"
ready mem "$mem"
sleep 1 # both settled: the figures at the start
logs_ok
pty_child=$(children "$pty")
if [ -z "$pty_child" ] || [ "$(wc -w <<<"$pty_child")" -ne 1 ]; then
	fail "the pty tree should be 2 processes: $pty has children '$pty_child'"
fi
procs=("pty_echo root $pty" "pty_echo child $pty_child" "mem_writer $mem")
pids=("$pty" "$pty_child" "$mem")
baseline
check # first progress figures
echo "# pty tree: $pty (child $pty_child), memory writer: $mem; images in $tmp/img"
echo "# $N iterations, each checkpoints both;" \
	"$([ "$ASAN_EVERY" -gt 0 ] && echo "the ASan cryo on every ${ASAN_EVERY}th" || echo "no ASan runs")"
pass "both workloads run and count"
for ((i = 1; i <= N; i++)); do
	if ((i % ALWAYS_EVERY == 0)); then
		ckpt pty "$pty" always --precopy=always
	else
		ckpt pty "$pty" auto
	fi
	[ "$RESTART_EVERY" -gt 0 ] && ((i % RESTART_EVERY == 0)) && restart_check pty "$pty"
	if ((i % NEVER_EVERY == 0)); then
		ckpt mem "$mem" never --precopy=never
	else
		ckpt mem "$mem" auto
	fi
	[ "$RESTART_EVERY" -gt 0 ] && ((i % RESTART_EVERY == 0)) && restart_check mem "$mem"
	i_done=$i
	if ((i % CHECK_EVERY == 0 || i == N)); then
		check
		pass "after $i iterations: counting (pty ${prog[pty]}, mem ${prog[mem]}), nothing leaked"
	fi
done
i=""

# the originals check everything one last time
kill -USR2 "$pty" "$mem"
for w in pty mem; do
	p=$pty
	[ $w = mem ] && p=$mem
	deadline=$(($(now_us) + 30000000))
	while [ "$(stat_field "$p" 3)" != Z ] && [ -e "/proc/$p" ]; do
		[ "$(now_us)" -lt "$deadline" ] || fail "$w did not end within 30 s of SIGUSR2"
		sleep 0.05
	done
	wait "$p"
	rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q "^PASS ns=$NS\\b" "$tmp/$w.log"; then
		fail "$w: exit status $rc, $(grep -v '^progress' "$tmp/$w.log" | tail -n 1)"
	fi
done
pass "both workloads pass their final check: $(grep -h "^PASS ns=$NS" "$tmp/pty.log" | cut -d' ' -f3-)"

# nothing may outlive the soak: in our namespace, only we remain
left=""
if [ $$ -eq 1 ]; then
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" -ne 1 ] && [ "$(stat_field "$p" 3)" != Z ] && left+="$p($(cat "/proc/$p/comm" 2>/dev/null)) "
	done
fi
left+=$(ls -A "$tmp/state")
for f in "$tmp"/img/* "$tmp"/img/.[!.]*; do
	[ -e "$f" ] || continue
	case ${f##*/} in pty.img | mem.img) ;; *) left+="${f##*/} " ;; esac
done
[ -z "$left" ] || fail "left behind: $left"
pass "no process left behind, no tracker, no temporary file"
summary
