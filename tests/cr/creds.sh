#!/bin/bash
# Credentials come back exactly: uids, gids, supplementary groups, every
# capability set, securebits and no_new_privs, for tasks started by setpriv
# with unusual credentials; the program then goes on. TAP; own pid namespace.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup creds "$@"
chmod 755 "$tmp"
trap 'kill -9 "${pid:-}" 2>/dev/null; rm -rf "$tmp"' EXIT
creds() { grep -E '^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp):' "/proc/$1/status"; }
ticks() { grep -c tick "$log"; }

if ! command -v setpriv >/dev/null; then
	echo "1..0 # skip setpriv (util-linux) is missing"
	exit 0
fi

# run_case NAME SETPRIV-OPTIONS...
run_case() {
	local name=$1 before
	shift
	log=$tmp/log.$n
	: >"$log"
	chmod 666 "$log"
	setsid setpriv "$@" "$COUNTER" >>"$log" 2>&1 </dev/null &
	pid=$!
	sleep 0.7
	creds "$pid" >"$tmp/creds.before"
	ok "$name: checkpoint --kill" '"$CRYO" checkpoint --kill -o "$tmp/img" "$pid"'
	wait "$pid" 2>/dev/null
	before=$(ticks)
	ok "$name: restart" '"$CRYO" restart --detach "$tmp/img"'
	ok "$name: the same credentials" 'creds "$pid" | diff - "$tmp/creds.before" >&2'
	sleep 0.7
	ok "$name: it counts on" '[ "$(ticks)" -gt "$before" ]'
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
}

run_case "nobody" --reuid=65534 --regid=65534 --clear-groups
run_case "uid 1000 with groups" --reuid=1000 --regid=1000 --groups=4,24,27,1000
run_case "root with fewer capabilities" --bounding-set=-sys_admin,-net_raw --inh-caps=+net_bind_service
run_case "uid 1000 with ambient capabilities" --reuid=1000 --regid=1000 --clear-groups \
	--inh-caps=+net_bind_service --ambient-caps=+net_bind_service
run_case "securebits and no_new_privs" --securebits=+noroot,+no_setuid_fixup --no-new-privs
echo "1..$n"
