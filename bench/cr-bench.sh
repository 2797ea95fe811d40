#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The benchmarks (`make bench`, as root): checkpoint and restart of each
# workload, RUNS times (default 5; 3 for the 4 GiB ones), medians.
#   bench/cr-bench.sh [WORKLOAD...]   (default: all of them, in this order)
#
#   anon-64m anon-1g anon-4g            dense anonymous memory (memhog.c)
#   sparse-1g sparse-4g                 1 page in 16 populated
#   maps-10k                            10,000 one-page mappings (manymaps.c)
#   tree-100                            100 processes (proctree.c)
#   pty-tree                            two pty pairs, queued data (ptytree.c)
#   bash-pty                            an idle interactive bash on a pty (ptybash.c)
#
# For each run: `checkpoint` leaving the tree running (its time, and the
# time the tree was frozen, from cryo's own log line), `checkpoint --kill`,
# `restart --detach` until the tree runs, `restart --lazy --detach` until
# the tree runs (its memory still coming in), the image size, and the peak
# memory of cryo checkpoint and restart (bench/rss.c). For memory
# workloads, the physical reference measured in the same run: copying the
# populated bytes with process_vm_readv into a file on the same filesystem,
# with fsync (bench/pvm-copy.c); ratios are to it. Each restored tree is
# verified (SIGUSR2: it checks its state and exits 0).
#
# Output: one JSON line per workload on stdout, then a table on stderr.
# Images go to $BENCH_DIR (default /var/tmp). It runs in a pid namespace of
# its own (as the tests do): there it is init and reaps a killed tree at
# once, so a restart never waits for its pids to be free.
set -eu
cd "$(dirname "$0")/.."
. tests/cr/lib.sh
cr_enter_namespace "$@"
CRYO=$(readlink -f "${CRYO:-./cryo}")
RUNS=${RUNS:-5}
WORKLOADS=${*:-anon-64m anon-1g anon-4g sparse-1g sparse-4g maps-10k tree-100 pty-tree bash-pty}
tmp=$(mktemp -d "${BENCH_DIR:-/var/tmp}/cryo-bench.XXXXXX")
pid=
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
# a failed step says why: the last cryo checkpoint's messages
trap 'echo "bench: failed at line $LINENO (workload ${w:-}):" >&2; cat "$tmp/err" >&2 2>/dev/null' ERR
{ exec 251>&-; } 2>/dev/null || true # an inherited fd would end up in the images
make -s cryo
for prog in memhog pvm-copy manymaps proctree ptytree ptybash rss; do
	gcc -O2 -o "$tmp/$prog" "bench/$prog.c"
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] + 0}'; }
wait_ready() { for _ in $(seq 600); do grep -q ready "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
wait_gone() { for _ in $(seq 500); do [ -e "/proc/$1" ] || return 0; sleep 0.01; done; }
# tree_gone IMAGE ROOT: once ROOT has checked itself and exited, the rest of
# IMAGE's tree goes too (some workloads' children outlive their root)
tree_gone() {
	local p
	wait_gone "$2"
	for p in $("$CRYO" show "$1" | sed -n 's/^ *[0-9]*  task .* pid=\([0-9]*\) .*/\1/p'); do
		kill -9 "$p" 2>/dev/null || true
		wait_gone "$p"
	done
}

# workload NAME: "PROGRAM ARGS|populated bytes (0: no reference)|page stride"
workload() {
	case $1 in
	anon-64m) echo "memhog 64|$((64 << 20))|1" ;;
	anon-1g) echo "memhog 1024|$((1 << 30))|1" ;;
	anon-4g) echo "memhog 4096|$((4 << 30))|1" ;;
	sparse-1g) echo "memhog 1024 16|$((1 << 30))|16" ;;
	sparse-4g) echo "memhog 4096 16|$((4 << 30))|16" ;;
	maps-10k) echo "manymaps 10000|0|1" ;;
	tree-100) echo "proctree 100|0|1" ;;
	pty-tree) echo "ptytree|0|1" ;;
	bash-pty) echo "ptybash|0|1" ;;
	*) return 1 ;;
	esac
}

# the start of the largest private writable anonymous mapping of PID
big_mapping() {
	local range perms best=0 start=
	while read -r range perms _ _ _ path; do
		[ "$perms" = rw-p ] && [ -z "${path:-}" ] || continue
		if (((0x${range#*-} - 0x${range%-*}) > best)); then
			best=$((0x${range#*-} - 0x${range%-*}))
			start=0x${range%-*}
		fi
	done <"/proc/$1/maps"
	echo "$start"
}

# timed OUT CMD...: runs CMD, appends its wall time (us, fork to exit: bench/rss.c) to OUT
timed() {
	local out=$1 kib us
	shift
	"$tmp/rss" "$tmp/rss.out" "$@"
	read -r kib us <"$tmp/rss.out"
	echo "$us" >>"$out"
}

table=()
for w in $WORKLOADS; do
	spec=$(workload "$w") || { echo "unknown workload $w" >&2 && exit 2; }
	IFS='|' read -r cmd bytes stride <<<"$spec"
	read -r prog args <<<"$cmd"
	runs=$RUNS
	case $w in *-4g) runs=$(((RUNS + 1) / 2)) ;; esac
	for f in leave frozen kill rst lazy ref ck_rss rst_rss; do : >"$tmp/$f"; done
	for run in $(seq "$runs"); do
		log=$tmp/log
		# shellcheck disable=SC2086 # the workload's arguments, split on purpose
		setsid "$tmp/$prog" $args >"$log" 2>&1 </dev/null &
		pid=$!
		disown "$pid" # reaped by this shell all the same, without a "Killed" notice
		wait_ready "$log" || { echo "$w: not ready" >&2 && exit 1; }
		if [ "$bytes" -gt 0 ]; then
			start=$(big_mapping "$pid")
			if [ "$stride" -gt 1 ]; then
				timed "$tmp/ref" "$tmp/pvm-copy" "$pid" "$start" "$bytes" "$tmp/ref.bin" "$stride"
			else
				timed "$tmp/ref" "$tmp/pvm-copy" "$pid" "$start" "$bytes" "$tmp/ref.bin"
			fi
			rm -f "$tmp/ref.bin"
		fi
		"$tmp/rss" "$tmp/rss.out" "$CRYO" -v checkpoint -o "$tmp/img" "$pid" 2>"$tmp/err"
		sed -n 's/.*the tree was frozen \([0-9]*\) us.*/\1/p' "$tmp/err" >>"$tmp/frozen"
		read -r kib us <"$tmp/rss.out"
		echo "$kib" >>"$tmp/ck_rss"
		echo "$us" >>"$tmp/leave"
		timed "$tmp/kill" "$CRYO" checkpoint --kill -o "$tmp/img" "$pid"
		wait_gone "$pid"
		"$tmp/rss" "$tmp/rss.out" "$CRYO" restart --detach "$tmp/img" </dev/null
		read -r kib us <"$tmp/rss.out"
		echo "$kib" >>"$tmp/rst_rss"
		echo "$us" >>"$tmp/rst"
		kill -USR2 "$pid"
		tree_gone "$tmp/img" "$pid"
		# --lazy: until the tree runs; then it checks itself, faulting in every page
		# (not for 4 GiB: the time goes to the wait for all of it, not to restart)
		case $w in
		*-4g) ;;
		*)
			timed "$tmp/lazy" "$CRYO" restart --lazy --detach "$tmp/img" </dev/null
			kill -USR2 "$pid"
			tree_gone "$tmp/img" "$pid"
			;;
		esac
		size=$(stat -c %s "$tmp/img")
		rm -f "$tmp/img"
	done
	l=$(median <"$tmp/leave")
	fz=$(median <"$tmp/frozen")
	k=$(median <"$tmp/kill")
	r=$(median <"$tmp/rst")
	lz=$( [ -s "$tmp/lazy" ] && median <"$tmp/lazy" || echo 0)
	f=$( [ -s "$tmp/ref" ] && median <"$tmp/ref" || echo 0)
	cr=$(median <"$tmp/ck_rss")
	rr=$(median <"$tmp/rst_rss")
	ratios=$(awk -v l="$l" -v fz="$fz" -v r="$r" -v f="$f" 'BEGIN {
		if (f > 0) printf "%.2f %.2f %.2f", l / f, fz / f, r / f; else print "null null null" }')
	read -r rl rf rr2 <<<"$ratios"
	printf '{"bench":"%s","runs":%d,"checkpoint_us":%d,"frozen_us":%d,"checkpoint_kill_us":%d,"restart_us":%d,"lazy_restart_us":%d,"reference_us":%d,"checkpoint_per_reference":%s,"frozen_per_reference":%s,"restart_per_reference":%s,"image_bytes":%d,"checkpoint_maxrss_kib":%d,"restart_maxrss_kib":%d}\n' \
		"$w" "$runs" "$l" "$fz" "$k" "$r" "$lz" "$f" "$rl" "$rf" "$rr2" "$size" "$cr" "$rr"
	table+=("$(awk -v w="$w" -v l="$l" -v fz="$fz" -v r="$r" -v lz="$lz" -v f="$f" -v rl="$rl" \
		-v rf="$rf" -v rr="$rr2" -v s="$size" -v cr="$cr" -v rm="$rr" 'BEGIN {
		printf "%-10s %9.4f %9.4f %9.4f %9.4f %9.4f %6s %6s %6s %9.1f %8.1f %8.1f",
		       w, l / 1e6, fz / 1e6, r / 1e6, lz / 1e6, f / 1e6, rl, rf, rr, s / 1048576,
		       cr / 1024, rm / 1024 }')")
done
{
	printf '%-10s %9s %9s %9s %9s %9s %6s %6s %6s %9s %8s %8s\n' workload ckpt_s frozen_s rst_s \
		lazy_s ref_s ck/ref fz/ref rs/ref image_MiB ck_MiB rs_MiB
	printf '%s\n' "${table[@]}"
} >&2
