#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Sessions (doc/sessions.md), as a user drives them from a terminal (a tmux
# window here): `cryo run` starts a shell in its own pid and mount
# namespaces, on a pty of its own devpts instance, attached to the
# terminal; ^] detaches; `cryo ls` lists it; `cryo checkpoint --kill NAME`
# saves and ends it; `cryo restart IMAGE` brings it back as the same
# session (same pids inside, the half-typed line, the variables, the
# background job) and attaches; `cryo restart --detach` and `cryo attach`
# do it in two steps; the exit code of the session's program comes back
# through whoever is attached. Also `--tty=new` for an image whose terminal
# was outside the tree: a holder keeps the new pty, `cryo attach` reaches it.
# Skipped without tmux. TAP.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup sessions "$@"
cr_private_devpts "$tmp"
export CRYO_STATE_DIR=$tmp/state
trap 'T kill-server 2>/dev/null; sleep 0.2; cr_private_devpts_end; [ -n "${CR_KEEP:-}" ] || rm -rf "$tmp"' EXIT

if ! command -v tmux >/dev/null; then
	echo "1..0 # skip tmux not found"
	exit 0
fi

# window NAME CMD: a terminal running CMD, then saying its exit code, then waiting
window() { T new-session -d -s "$1" -x 80 -y 24 "$2; echo rc=\$?; sleep 100000"; }

sessions() { "$CRYO" ls 2>&1 | cut -f1 | sort | tr '\n' ' '; }
no_sessions() { [ -z "$(sessions)" ]; }

SHELL_CMD="env -i PATH=$PATH TERM=screen PS1='in\$ ' bash --norc --noprofile -i"
# the tmux server stays up: it reaps what it started
T new-session -d -s keeper "sleep 100000"

step "cryo run starts a shell attached to this terminal" \
	'window a "$CRYO run --name work -- $SHELL_CMD" && wait_screen a "^in\\$ ?$"'
step "the shell is pid 2 of its own pid namespace, on a pty of its own devpts instance" \
	'keys a "echo pid=\$\$ tty=\$(tty) init=\$(cat /proc/1/comm)" Enter &&
	 wait_screen a "^pid=2 tty=/dev/pts/0 init=cryo$"'
step "cryo ls lists it" '[ "$(sessions)" = "work " ]'
step "a variable, a background job, a half-typed line; ^] detaches" \
	'keys a "x=hello; sleep 1000 &" Enter && wait_screen a "^\[1\] [0-9]+" &&
	 keys a "echo par" && keys a "" C-] && wait_screen a "detached from session work" &&
	 wait_screen a "^rc=0$"'
step "cryo checkpoint --kill work: the image is a session's, the session ends" \
	'"$CRYO" checkpoint --kill -o "$tmp/work.img" work 2>"$tmp/err" &&
	 "$CRYO" show "$tmp/work.img" | grep -q "session *name=\"work\"" &&
	 until_ok 5 "the session gone" no_sessions'
step "cryo restart brings it back as session work, attached, the half-typed line redrawn" \
	'window b "$CRYO restart $tmp/work.img" && wait_screen b "^in\\$ echo par" &&
	 [ "$(sessions)" = "work " ]'
step "the line completes; the variable, the job and pid 2 are still there" \
	'keys b "tial; echo x=\$x; jobs; echo pid=\$\$" Enter && wait_screen b "^partial$" &&
	 wait_screen b "^x=hello$" && wait_screen b "^\[1\]\+ +Running +sleep 1000 &" &&
	 wait_screen b "^pid=2$"'
step "detached again, checkpointed again, restarted with --detach (prints its name)" \
	'keys b "" C-] && wait_screen b "^rc=0$" &&
	 "$CRYO" checkpoint --kill -o "$tmp/work2.img" work 2>"$tmp/err" &&
	 until_ok 5 "the session gone" no_sessions &&
	 [ "$("$CRYO" restart --detach "$tmp/work2.img" 2>"$tmp/err")" = work ] &&
	 [ "$(sessions)" = "work " ]'
step "cryo attach work: the shell is there; exit 3 ends the session, attach exits 3" \
	'window c "$CRYO attach work" && keys c "echo again \$x" Enter &&
	 wait_screen c "^again hello$" && keys c "exit 3" Enter && wait_screen c "^rc=3$" &&
	 until_ok 5 "the session gone" no_sessions && [ -z "$(ls "$CRYO_STATE_DIR")" ]'

# the same image twice at once: its pids are the session's own, so nothing collides
failed=""
step "the same session image restarted twice at once, under two names: both run" \
	'"$CRYO" restart --detach --name twin-a "$tmp/work.img" >/dev/null 2>"$tmp/err" &&
	 "$CRYO" restart --detach --name twin-b "$tmp/work.img" >/dev/null 2>>"$tmp/err" &&
	 [ "$(sessions)" = "twin-a twin-b " ]'
step "each is checkpointed and ended by name" \
	'"$CRYO" checkpoint --kill -o "$tmp/a.img" twin-a 2>"$tmp/err" &&
	 "$CRYO" checkpoint --kill -o "$tmp/b.img" twin-b 2>>"$tmp/err" &&
	 until_ok 5 "both gone" no_sessions'

# --tty=new: an image whose terminal was outside the tree (tmux's), no session
failed=""
# (the shell leads a session of its own on the window's terminal, setsid -c, as a child
# of the window's sh, which waits for it and so reaps it at once when it is killed)
step "--tty=new: a shell on an outside terminal, checkpointed with --kill" \
	'window d "setsid -cw $SHELL_CMD" && wait_screen d "^in\\$ ?$" && keys d "y=7" Enter &&
	 bash_pid=$(pgrep -P "$(T list-panes -t d -F "#{pane_pid}")") &&
	 "$CRYO" checkpoint --kill -o "$tmp/ext.img" "$bash_pid" 2>"$tmp/err" &&
	 wait_screen d "^rc="'
step "restart --detach keeps its new pty in a session (s1) and says how to attach" \
	'{ "$CRYO" restart --detach "$tmp/ext.img" 2>"$tmp/err" && [ "$(sessions)" = "s1 " ] &&
	   grep -q "attach with: cryo attach s1" "$tmp/err"; } ||
	 { why="sessions: $(sessions); restart said: $(tr "\n" "|" <"$tmp/err")"; false; }'
step "cryo attach s1: the same shell, its own pid, its variable" \
	'window e "$CRYO attach s1" && keys e "echo y=\$y pid=\$\$" Enter &&
	 wait_screen e "^y=7 pid=$bash_pid$"'
step "exit ends it, and the session" \
	'keys e "exit" Enter && wait_screen e "^rc=0$" &&
	 until_ok 5 "the session gone" no_sessions'

# the largest frame a client sends (a full read of its terminal, 8192 bytes: a paste) is
# taken by the holder; the client is not dropped as a stranger (the client speaks the
# protocol of doc/sessions.md 4 directly, then waits for the session to end)
failed=""
printf '%s\n' 'import socket, struct, sys' 's = socket.socket(socket.AF_UNIX)' \
	's.connect(sys.argv[1])' 's.sendall(b"d" + struct.pack("<I", 8192) + b"x" * 8192)' \
	's.recv(1)' >"$tmp/paste.py"
step "a data frame of 8192 bytes (a paste) reaches the program whole" \
	'"$CRYO" run --detach --name paste -- sh -c "stty raw -echo; head -c 8192 >$tmp/paste" \
	     >/dev/null 2>&1 &&
	 python3 "$tmp/paste.py" "$CRYO_STATE_DIR/paste/sock" &&
	 until_ok 5 "8192 bytes in the file" eval "[ \"\$(stat -c %s $tmp/paste)\" = 8192 ]" &&
	 until_ok 5 "the session gone" no_sessions'

# refusals
failed=""
step "cryo attach of no such session: one line, exit 1" \
	'! "$CRYO" attach nosuch 2>"$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ] &&
	 grep -q "session nosuch: cannot attach" "$tmp/err"'
step "cryo checkpoint of no such session: one line, exit 1, no image" \
	'! "$CRYO" checkpoint -o "$tmp/none.img" nosuch 2>"$tmp/err" &&
	 [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "session nosuch: no such session" "$tmp/err" &&
	 [ ! -e "$tmp/none.img" ]'
step "cryo run --name taken: one line, exit 1" \
	'"$CRYO" run --detach --name dup -- sleep 1000 >/dev/null 2>&1 &&
	 ! "$CRYO" run --detach --name dup -- sleep 1000 2>"$tmp/err" &&
	 grep -q "session dup exists" "$tmp/err" && "$CRYO" checkpoint --kill -o "$tmp/dup.img" dup 2>/dev/null &&
	 until_ok 5 "the session gone" no_sessions'

echo "1..$n"
