# shellcheck shell=bash
# Shared by the checkpoint/restart shell tests: source it first thing.
#
# Each test runs in its own pid namespace, where the test is init: PID 1 of
# the host reaps orphaned zombies slowly, and a restart with the old pids
# needs them free at once. Inherited descriptors would end up in the images
# of the programs the test starts: they are closed.

# Re-executes the calling script in a new pid namespace, unless it is in one.
cr_enter_namespace() {
	[ -n "${CR_IN_NS:-}" ] && return 0
	if unshare -p -f --kill-child --mount-proc true 2>/dev/null; then
		exec unshare -p -f --kill-child --mount-proc env CR_IN_NS=1 "$BASH" \
			"$(readlink -f "$0")" "$@"
	fi
	echo "# warning: cannot make a pid namespace; running in the current one"
}

# Mounts a devpts instance of the test's own on /dev/pts (in the private
# mount namespace cr_enter_namespace made), so that pty indexes are the
# test's alone: a restart must get back the very index, and tests running
# side by side must not take each other's. /dev/ptmx then opens in it.
# A second instance goes on DIR/pts2, for the programs that use two
# (CR_PTS2 names it); cr_private_devpts_end unmounts it before DIR goes.
cr_private_devpts() {
	[ -n "${CR_IN_NS:-}" ] || return 0
	mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts ||
		echo "# warning: cannot mount a devpts instance; ptys share the system's"
	mkdir -p "$1/pts2" &&
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$1/pts2" &&
		export CR_PTS2=$1/pts2
}

cr_private_devpts_end() {
	[ -n "${CR_PTS2:-}" ] && umount -l "$CR_PTS2" 2>/dev/null
	return 0
}

# Closes every inherited descriptor above 2.
cr_close_inherited_fds() {
	local f
	for f in /proc/$$/fd/*; do
		f=${f##*/}
		[ "$f" -gt 2 ] && eval "exec $f>&-" 2>/dev/null
	done
	return 0
}

# cr_setup NAME "$@": all of the above, then CRYO and COUNTER as absolute
# paths (from the environment, or the build's defaults) and a scratch
# directory $tmp (/tmp/cr-NAME.XXXXXX) that the caller's EXIT trap removes.
cr_setup() {
	local name=$1
	shift
	cr_enter_namespace "$@"
	cr_close_inherited_fds
	CRYO=$(readlink -f "${CRYO:-./cryo}")
	COUNTER=$(readlink -f "${COUNTER:-build/normal/demo-counter}")
	tmp=$(mktemp -d "/tmp/cr-$name.XXXXXX")
}

# ok DESCRIPTION SHELL-CONDITION: one TAP line; counts in $n.
n=0
ok() {
	n=$((n + 1))
	if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# until_ok SECONDS WHAT CMD...: retries CMD until it succeeds; on timeout
# appends "WHAT: not within SECONDS" to $why and fails.
until_ok() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$(($(now_us) + secs * 1000000))
	until "$@"; do
		if [ "$(now_us)" -ge "$deadline" ]; then
			why="${why:+$why; }$what: not within ${secs}s"
			return 1
		fi
		sleep 0.05
	done
}

# stat_field PID N: field N of /proc/PID/stat (3 state, 4 ppid, 22 start time)
stat_field() {
	local line f
	read -r line 2>/dev/null <"/proc/$1/stat" || return 1
	read -r -a f <<<"${line##*) }" # the fields after "(comm)", which may hold spaces
	echo "${f[$2 - 3]}"
}

# --- terminals driven through tmux (programs.sh, sessions.sh) -------------------------
# The tmux server of a test is its own: socket in $tmp. A window "keeper"
# keeps it up, so that it outlives the windows whose programs are
# checkpointed with --kill (it reaps what it started).

T() { tmux -S "$tmp/tmux.sock" -f /dev/null "$@"; }
screen() { T capture-pane -p -t "$1" 2>/dev/null; }

# wait_screen WINDOW REGEX: until the window's screen matches (grep -E)
wait_screen() {
	local deadline=$(($(now_us) + 10000000))
	until screen "$1" | grep -qE -- "$2"; do
		if [ "$(now_us)" -ge "$deadline" ]; then
			why="${why:+$why; }screen of $1 never matched '$2': $(screen "$1" | grep -v '^$' | tail -n 3 | tr '\n' '|')"
			[ -s "$tmp/${1%-r}.rerr" ] && why="$why; restart said: $(head -n 2 "$tmp/${1%-r}.rerr" | tr '\n' '|')"
			return 1
		fi
		sleep 0.05
	done
}

# keys WINDOW TEXT [KEY...]: TEXT typed as it is, then the named keys (Enter, Escape, ...)
keys() {
	local w=$1 text=$2
	shift 2
	# a ";" that ends an argument separates tmux commands: escape it
	[[ $text == *";" ]] && text="${text%;}\\;"
	T send-keys -t "$w" -l -- "$text" && { [ $# -eq 0 ] || T send-keys -t "$w" "$@"; }
}

# step DESCRIPTION CMDS: one TAP line for CMDS (a shell condition, whose
# failure may say why in $why); once a step failed ($failed set), the later
# ones fail without running, until the caller clears $failed
failed=""
step() {
	why=""
	if [ -n "$failed" ]; then
		ok "$1 (not run: an earlier step failed)" false
		return
	fi
	eval "$2" || failed=1
	ok "$1${why:+ ($why)}" '[ -z "$failed" ]'
}
