#!/bin/sh
# Build and run every experiment; each writes NAME.out next to its source. Run as root.
cd "$(dirname "$0")" || exit 1
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
status=0
for c in t[0-9][0-9]_*.c; do
	e=${c%.c}
	if ! gcc -O2 -Wall -o "$e" "$c"; then
		echo "$e: does not compile" | tee "$e.out"; status=1; continue
	fi
	# each program closes inherited fds above 2 itself; timeout bounds the run time
	timeout 60 ./"$e" > "$e.out" 2>&1 || status=1
	tail -n 1 "$e.out"
done
exit $status
