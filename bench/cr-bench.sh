#!/bin/bash
# Checkpoint and restart times of a process with dense anonymous memory.
#   bench/cr-bench.sh [SIZES_MIB...]   (default: 64 1024), as root
# For each size: RUNS runs (default 5) of checkpoint --kill, restart --detach,
# and leave-running checkpoint; prints the medians, one JSON line per result
# and a table. Also the physical reference of the issue: copying the same
# bytes with process_vm_readv into a file (cat of /proc/PID/mem is close
# enough and needs no extra tool: it reads with the same kernel path).
set -eu
cd "$(dirname "$0")/.."
CRYO=${CRYO:-./cryo}
RUNS=${RUNS:-5}
SIZES=${*:-64 1024}
tmp=$(mktemp -d /var/tmp/cryo-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
make -s cryo
gcc -O2 -o "$tmp/memhog" bench/memhog.c

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
		t0=$(now); dd if=/proc/$pid/mem of="$tmp/ref.bin" bs=4M iflag=skip_bytes,count_bytes \
			skip=$(printf %d 0x$(grep -m1 -E '^[0-9a-f]+-[0-9a-f]+ rw-p 00000000 00:00 0 *$' /proc/$pid/maps | cut -d- -f1)) \
			count=$((mib << 20)) status=none conv=fsync 2>/dev/null || true; t1=$(now)
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
	printf '%-12s %8s MiB: checkpoint %7.3f s (leave-running %7.3f s), restart %7.3f s, reference copy %7.3f s, ratios %.2f / %.2f\n' \
		anon-dense "$mib" "$(echo "$c/1000000" | bc -l)" "$(echo "$l/1000000" | bc -l)" \
		"$(echo "$r/1000000" | bc -l)" "$(echo "$f/1000000" | bc -l)" \
		"$(echo "$c/$f" | bc -l)" "$(echo "$r/$f" | bc -l)" >&2
done
