#!/bin/sh
# Build and run every experiment; each writes NAME.out. Needs root (mounts, setuid, TIOCSLCKTRMIOS).
set -e
cd "$(dirname "$0")"
mkdir -p mnt mnt2
for c in e*.c; do [ "$c" = e00_clash.c ] && continue; gcc -Wall -O1 -o "${c%.c}" "$c"; done
! gcc -c e00_clash.c -o /dev/null 2> e00_clash.out || { echo "e00_clash compiled?"; exit 1; }
./e00_headers > e00_headers.out
./e00_masks > e00_masks.out
status=0
for e in e01_inspect e02_input e03_output e04_packet e05_sizes e06_index e07_lock_excl_hup e08_owner_mode e09_ctty e10_instances e11_leave_running e12_roundtrip e13_winch e14_stopped_echo; do
	if [ "$e" = e11_leave_running ]; then (./$e && ./$e packet) > $e.out 2>&1 || status=1
	else timeout 300 ./$e > $e.out 2>&1 || status=1; fi
	tail -n 1 $e.out
done
exit $status
