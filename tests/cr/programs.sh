#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Real interactive programs, checkpointed in the middle of use and
# restarted on another terminal (doc/pty.md section 9.1): each runs under
# an interactive bash in a tmux window (tmux holds the terminal's master,
# outside the tree, as a terminal emulator or sshd would); the bash and its
# job are checkpointed with --kill, and `cryo restart` (--tty=inherit) in a
# second tmux window of the same size brings them back. The screen is
# compared before and after, exactly where the program redraws the whole
# screen (vim, less), and the program's state is checked by using it:
#
#   bash     a background job, a half-typed command line
#   python3  the REPL with a variable set and a half-typed expression
#   vim      insert mode with unsaved text, then :wq writes it; and vim alone,
#            a job of the shell (the shell stays out of the image): it comes
#            back in a session cryo leads, as a job that ^Z stops and fg resumes
#   less     a long file scrolled down
#   top      redraws, and quits on q
#   sqlite3  a table, a half-typed statement on its continuation prompt
#
# Each program is skipped if it is not installed; everything is skipped
# without tmux. TAP.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup programs "$@"
cr_private_devpts "$tmp"
trap 'T kill-server 2>/dev/null; sleep 0.2; cr_private_devpts_end; [ -n "${CR_KEEP:-}" ] || rm -rf "$tmp"' EXIT

if ! command -v tmux >/dev/null; then
	echo "1..0 # skip tmux not found"
	exit 0
fi

# start NAME: a window running an interactive bash, prompt "cr$ "
start() {
	# exec: the bash is tmux's child (tmux reaps it), not a child of the sh tmux runs
	T new-session -d -s "$1" -x 80 -y 24 \
		"exec env -i PATH=$PATH TERM=screen HOME=$tmp PS1='cr\$ ' bash --norc --noprofile -i"
	wait_screen "$1" '^cr\$ ?$'
}

# checkpoint_and_restart NAME: the bash of window NAME (and its jobs) into
# $tmp/NAME.img with --kill, restarted in window NAME-r
checkpoint_and_restart() {
	local bash
	bash=$(T list-panes -t "$1" -F '#{pane_pid}')
	screen "$1" >"$tmp/$1.before"
	if ! "$CRYO" checkpoint --kill -o "$tmp/$1.img" "$bash" 2>"$tmp/$1.err"; then
		why="checkpoint: $(head -n 1 "$tmp/$1.err")"
		return 1
	fi
	T new-session -d -s "$1-r" -x 80 -y 24 \
		"$CRYO restart $tmp/$1.img 2>$tmp/$1.rerr; echo rc=\$?; sleep 1000"
}

# same_screen NAME: the restored window shows what the original did
same_screen() {
	screen "$1-r" >"$tmp/$1.after"
	cmp -s "$tmp/$1.before" "$tmp/$1.after" && return 0
	why="screens differ: $(diff "$tmp/$1.before" "$tmp/$1.after" | grep '^[<>]' | head -n 4 | tr '\n' '|')"
	return 1
}

# ended NAME: after `exit`, cryo restart ended with 0
ended() { keys "$1-r" "exit" Enter && wait_screen "$1-r" '^rc=0$'; }

have() { command -v "$1" >/dev/null; }

# vim_cmdline WINDOW: vim shows a ":" command line (typed anew, if it was flushed)
vim_cmdline() {
	keys "$1" "" Escape && keys "$1" ":" && sleep 0.2 && screen "$1" | grep -q "^:$"
}

# a window that stays: the tmux server must outlive the windows whose bash is
# checkpointed with --kill (it reaps that bash, whose pid the restart needs)
T new-session -d -s keeper "sleep 100000"

# case_of NAME PROGRAM: starts a case, or skips it without PROGRAM
case_of() {
	failed=""
	if ! have "$2"; then
		n=$((n + 1))
		echo "ok $n - $1 # skip $2 not found"
		return 1
	fi
}

# --- bash: a background job and a half-typed command ----------------------------
if case_of bash bash; then
	step "bash: a background job, a half-typed line" \
		'start b && keys b "sleep 1000 &" Enter && wait_screen b "^\[1\] [0-9]+" &&
		 keys b "echo par" && wait_screen b "^cr\\$ echo par$"'
	step "bash: restarted on another terminal" \
		'checkpoint_and_restart b && wait_screen b-r "^cr\\$ echo par"'
	step "bash: the half-typed line completes, the job is still its job" \
		'keys b-r "tial" Enter && wait_screen b-r "^partial$" && keys b-r "jobs" Enter &&
		 wait_screen b-r "^\[1\]\+ +Running +sleep 1000 &"'
	step "bash: exit ends cryo restart with 0" 'keys b-r "kill %1" Enter && ended b'
fi

# --- python3: the REPL with a variable and a half-typed expression ---------------
if case_of python3 python3; then
	step "python3: a variable, a half-typed expression" \
		'start p && keys p "python3 -q" Enter && wait_screen p "^>>> ?$" &&
		 keys p "x = 6 * 7" Enter && wait_screen p "^>>> ?$" && keys p "print(x +" &&
		 wait_screen p "^>>> print\(x \+$"'
	step "python3: restarted on another terminal" \
		'checkpoint_and_restart p && wait_screen p-r "^>>> print\(x \+"'
	step "python3: the expression completes, with x still 42" \
		'keys p-r " 0)" Enter && wait_screen p-r "^42$"'
	step "python3: exits, and so does cryo restart" \
		'keys p-r "exit()" Enter && wait_screen p-r "^cr\\$ ?$" && ended p'
fi

# --- vim: insert mode, unsaved text ------------------------------------------------
if case_of vim vim; then
	step "vim: insert mode, unsaved text" \
		'start v && keys v "vim -u NONE -N -n $tmp/v.txt" Enter && wait_screen v "^~" &&
		 keys v "ihello world" && wait_screen v "^-- INSERT --"'
	step "vim: restarted, the screen exactly as it was" \
		'checkpoint_and_restart v && wait_screen v-r "^-- INSERT --" && same_screen v'
	step "vim: still in insert mode; :wq writes the text" \
		'keys v-r " again" Escape && keys v-r ":wq" Enter && wait_screen v-r "^cr\\$ ?$" &&
		 [ "$(cat "$tmp/v.txt")" = "hello world again" ]'
	step "vim: cryo restart ends with its bash" 'ended v'
fi

# --- vim alone, a job of the shell, which stays out of the image ----------------------
if case_of "vim (a job)" vim; then
	step "vim (a job): insert mode, unsaved text" \
		'start j && keys j "vim -u NONE -N -n $tmp/j.txt" Enter && wait_screen j "^~" &&
		 keys j "ijob text" && wait_screen j "^-- INSERT --" &&
		 job=$(pgrep -P "$(T list-panes -t j -F "#{pane_pid}")" vim) && screen j >"$tmp/j.before"'
	step "vim (a job): checkpointed alone, its shell goes on" \
		'"$CRYO" checkpoint --kill -o "$tmp/j.img" "$job" 2>"$tmp/j.err" &&
		 wait_screen j "^cr\\$ ?$"'
	# restarted as a job of a job-control shell, which notes when it stopped (the
	# screen would not keep it: the fg that follows makes vim redraw at once)
	printf '%s\n' 'set -m' '"$1" restart "$2" 2>"$3"; echo "stopped=$?" >"$4"' \
		'fg >/dev/null; echo rc=$?' 'sleep 100000' >"$tmp/jobs.sh"
	step "vim (a job): restarted on another terminal, in a session cryo leads, the screen exactly as it was" \
		'T new-session -d -s j-r -x 80 -y 24 "bash $tmp/jobs.sh $CRYO $tmp/j.img $tmp/j.rerr $tmp/j.stop" &&
		 wait_screen j-r "^-- INSERT --" && same_screen j &&
		 [ "$(stat_field "$job" 6)" = "$(stat_field "$job" 4)" ] &&
		 grep -q "comes back as a new session led by cryo" "$tmp/j.rerr"'
	step "vim (a job): ^Z (out of insert mode) stops it, and cryo restart with it: its shell sees the job stopped" \
		'keys j-r "" Escape && until_ok 5 "insert mode left" eval "! screen j-r | grep -q INSERT" &&
		 keys j-r "" C-z && until_ok 5 "the shell saw its job stop" grep -qx stopped=148 "$tmp/j.stop"'
	step "vim (a job): fg brings it back, its text on the screen again" \
		'until_ok 5 "vim running again" test "$(stat_field "$job" 3)" = S &&
		 wait_screen j-r "^job text$"'
	# (keys typed while vim takes the terminal back are flushed: a ":" it shows first;
	# vim leaves the alternate screen it entered on fg, so "rc=0" may follow text)
	step "vim (a job): :wq writes the text, and cryo restart ends with 0" \
		'until_ok 5 "vim takes keys again" vim_cmdline j-r && keys j-r "wq" Enter &&
		 wait_screen j-r "rc=0$" && [ "$(cat "$tmp/j.txt")" = "job text" ]'
fi

# --- less: a long file, scrolled down ----------------------------------------------
if case_of less less; then
	seq 1 500 | sed 's/^/line /' >"$tmp/long.txt"
	step "less: a long file, scrolled down" \
		'start l && keys l "less $tmp/long.txt" Enter && wait_screen l "^line 1$" &&
		 keys l "100g" && keys l "" Space && wait_screen l "^line 123$"'
	step "less: restarted, the screen exactly as it was" \
		'checkpoint_and_restart l && wait_screen l-r "^line 123$" && same_screen l'
	step "less: it goes on scrolling from there, and quits" \
		'keys l-r "G" && wait_screen l-r "^line 500$" && keys l-r "q" &&
		 wait_screen l-r "^cr\\$ ?$"'
	step "less: cryo restart ends with its bash" 'ended l'
fi

# --- top -------------------------------------------------------------------------------
if case_of top top; then
	step "top: running" 'start t && keys t "top -d 0.5" Enter && wait_screen t "^ *PID +USER"'
	step "top: restarted, it redraws its screen" \
		'checkpoint_and_restart t && wait_screen t-r "^top - " && wait_screen t-r "^ *PID +USER"'
	step "top: quits on q, then cryo restart ends" \
		'keys t-r "q" && wait_screen t-r "^cr\\$ ?$" && ended t'
fi

# --- sqlite3: a table, a half-typed statement ------------------------------------------
if case_of sqlite3 sqlite3; then
	step "sqlite3: a table, a statement half typed" \
		'start s && keys s "sqlite3 $tmp/s.db" Enter && wait_screen s "^sqlite> ?$" &&
		 keys s "create table t(x); insert into t values (1), (2), (3);" Enter &&
		 wait_screen s "^sqlite> ?$" && keys s "select sum(x)" Enter &&
		 wait_screen s "^ +\.\.\.> ?$"'
	step "sqlite3: restarted on another terminal" \
		'checkpoint_and_restart s && wait_screen s-r "\.\.\.> ?$"'
	step "sqlite3: the statement completes: 6" 'keys s-r "from t;" Enter && wait_screen s-r "^6$"'
	step "sqlite3: quits, then cryo restart ends" \
		'keys s-r ".quit" Enter && wait_screen s-r "^cr\\$ ?$" && ended s'
fi

echo "1..$n"
