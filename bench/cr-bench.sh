#!/bin/bash
# Checkpoint and restart times of a process with dense anonymous memory.
#   bench/cr-bench.sh [SIZES_MIB...]   (default: 64 1024), as root
# For each size: RUNS runs (default 5) of checkpoint --kill, restart --detach,
# and leave-running checkpoint; prints the medians, one JSON line per result
# and a line per size. Also the physical reference: copying the same bytes
# with process_vm_readv into a file on the same filesystem, with fsync
# (bench/pvm-copy.c), measured in the same run.
set -eu
cd "$(dirname "$0")/.."
CRYO=${CRYO:-./cryo}
RUNS=${RUNS:-5}
SIZES=${*:-64 1024}
tmp=$(mktemp -d "${BENCH_DIR:-/var/tmp}/cryo-bench.XXXXXX")
pid=
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
make -s cryo
gcc -O2 -o "$tmp/memhog" bench/memhog.c
gcc -O2 -o "$tmp/pvm-copy" bench/pvm-copy.c

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wait_ready() { for _ in $(seq 400); do grep -q ready "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
wait_gone() { for _ in $(seq 400); do [ -e /proc/$1 ] || return 0; sleep 0.01; done; }

for mib in $SIZES; do
	: >"$tmp/ckpt" ; : >"$tmp/rst" ; : >"$tmp/leave" ; : >"$tmp/ref"
	for run in $(seq "$RUNS"); do
		log=$tmp/log.$run
		"$tmp/memhog" "$mib" >"$log" 2>&1 </dev/null 251>&- &
		pid=$!
		wait_ready "$log"
		# the memhog's region: the anonymous mapping of at least MIB MiB
		start=
		while read -r range perms _ _ _ path; do
			[ "$perms" = rw-p ] && [ -z "$path" ] || continue
			if (((0x${range#*-} - 0x${range%-*}) >= (mib << 20))); then
				start=0x${range%-*}
				break
			fi
		done </proc/$pid/maps
		t0=$(now); "$tmp/pvm-copy" "$pid" "$start" $((mib << 20)) "$tmp/ref.bin"; t1=$(now)
		echo $(((t1 - t0) / 1000)) >>"$tmp/ref"
		t0=$(now); "$CRYO" checkpoint -o "$tmp/img" "$pid"; t1=$(now)
		echo $(((t1 - t0) / 1000)) >>"$tmp/leave"
		t0=$(now); "$CRYO" checkpoint --kill -o "$tmp/img" "$pid"; t1=$(now)
		echo $(((t1 - t0) / 1000)) >>"$tmp/ckpt"
		wait "$pid" 2>/dev/null || true
		t0=$(now); "$CRYO" restart --detach "$tmp/img"; t1=$(now)
		echo $(((t1 - t0) / 1000)) >>"$tmp/rst"
		kill -USR2 "$pid"; wait_gone "$pid"
		grep -q ready "$log" || echo "run $run: restored process lost its log" >&2
	done
	size=$(stat -c %s "$tmp/img")
	c=$(median <"$tmp/ckpt"); r=$(median <"$tmp/rst"); l=$(median <"$tmp/leave"); f=$(median <"$tmp/ref")
	printf '{"bench":"anon-dense","mib":%d,"runs":%d,"checkpoint_kill_us":%d,"checkpoint_leave_us":%d,"restart_us":%d,"reference_us":%d,"image_bytes":%d}\n' \
		"$mib" "$RUNS" "$c" "$l" "$r" "$f" "$size"
	awk -v c="$c" -v l="$l" -v r="$r" -v f="$f" -v mib="$mib" 'BEGIN {
		printf "anon-dense %6d MiB: checkpoint %.3f s (leave-running %.3f s), restart %.3f s, " \
		       "reference copy %.3f s; checkpoint/reference %.2f, restart/reference %.2f\n",
		       mib, c / 1e6, l / 1e6, r / 1e6, f / 1e6, c / f, r / f }' >&2
done
