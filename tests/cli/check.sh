#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cryo check: passes as root, fails without privileges naming what is missing,
# and leaves no processes, mounts, temporary directories or cgroups behind.
#
# Each run goes in a session of its own, so anything cryo forgot to reap is
# still found by session id after cryo has exited and its orphans moved on.

CRYO=${CRYO:-./cryo}
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
REQUIRED=(kernel privileges ptrace "clone3 set_tid" pidfd_getfd kcmp PR_SET_MM_MAP map_files
	process_vm_readv)
OPTIONAL=("devpts newinstance" TIOCGPTPEER userfaultfd "cgroup freezer")

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
chmod 755 "$TMP"

n=0
result() { # result PASS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
}
skip() { # skip COUNT REASON
	for ((i = 0; i < $1; i++)); do
		n=$((n + 1))
		echo "ok $n # skip $2"
	done
}
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	"$@" >/dev/null 2>&1
	result $? "$what"
}
# The run's output and exit code go to $TMP/NAME.out and $TMP/NAME.rc, its session id to .sid.
run_check() { # run_check NAME [PREFIX...]
	local name=$1
	shift
	# shellcheck disable=SC2016 # $$ and $@ are for the inner bash
	setsid -w bash -c 'echo $$ >"$0"; exec "$@"' "$TMP/$name.sid" \
		timeout -k 5 60 "$@" "$CRYO" check >"$TMP/$name.out" 2>&1 </dev/null
	echo $? >"$TMP/$name.rc"
	sed 's/^/# /' "$TMP/$name.out"
}
no_leftovers() { # no_leftovers NAME: nothing of that run's session is alive
	! pgrep -s "$(cat "$TMP/$1.sid")"
}
has_line() { # has_line NAME REGEX
	grep -Eq "$2" "$TMP/$1.out"
}
all_lines() { # all_lines NAME STATUS NAME...: a STATUS line for each probe
	local run=$1 status=$2 probe
	shift 2
	for probe in "$@"; do
		has_line "$run" "^$status +$probe " || { echo "# no $status line for $probe"; return 1; }
	done
}
cryo_traces() { # what cryo check could leave behind: temp dirs, mounts, cgroups
	ls -d /tmp/cryo-check.* 2>/dev/null
	grep cryo-check /proc/self/mountinfo
	awk '$9 == "cgroup2" { print $5 }' /proc/self/mountinfo |
		xargs -r -I{} find {} -maxdepth 4 -type d -name 'cryo-check.*' 2>/dev/null
}

echo "1..11"

if [ ! -x "$CRYO" ]; then
	skip 11 "no cryo binary at $CRYO"
	exit 0
fi
CRYO=$(realpath "$CRYO")

if [ "$(id -u)" != 0 ]; then
	skip 6 "needs root"
else
	cryo_traces >"$TMP/traces.before"
	run_check root
	check "cryo check exits 0 as root" test "$(cat "$TMP/root.rc")" = 0
	check "an ok line for each required probe" all_lines root ok "${REQUIRED[@]}"
	check "a line for each optional probe, marked optional" \
		all_lines root "(ok|absent)" "${OPTIONAL[@]/%/ +optional;}"
	check "says it can work" has_line root "^cryo can checkpoint and restart on this machine$"
	cryo_traces >"$TMP/traces.after"
	check "no process left as root" \
		no_leftovers root
	check "no mount, temp dir or cgroup left as root" \
		cmp "$TMP/traces.before" "$TMP/traces.after"
fi

# Without privileges: as nobody when we are root, else as ourselves.
prefix=()
if [ "$(id -u)" = 0 ]; then
	prefix=("${NOBODY[@]}")
	if ! command -v setpriv >/dev/null; then
		skip 5 "no setpriv to drop privileges"
		exit 0
	fi
	if ! "${prefix[@]}" test -x "$CRYO"; then
		skip 5 "nobody cannot run $CRYO"
		exit 0
	fi
fi
run_check nobody "${prefix[@]}"
check "cryo check exits 1 without privileges" test "$(cat "$TMP/nobody.rc")" = 1
check "MISSING lines for privileges and clone3 set_tid" \
	all_lines nobody MISSING privileges "clone3 set_tid"
check "the MISSING lines say how to get it" \
	has_line nobody "^MISSING +clone3 set_tid .*run as root"
check "the last line names what is missing" \
	has_line nobody "^cryo cannot work here: missing .*clone3 set_tid"
check "no process left without privileges" no_leftovers nobody
