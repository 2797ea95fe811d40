#!/bin/bash
# A task stopped by job control (SIGSTOP, Ctrl-Z) stays stopped: through a
# leave-running checkpoint, and through --kill and restart; SIGCONT then
# resumes it. TAP, run by prove; in its own pid namespace like run.sh.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup stopped "$@"
trap 'kill -9 $(jobs -p) "${pid:-}" 2>/dev/null; rm -rf "$tmp"' EXIT
state() { sed -n 's/^State:\t\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null; }
tracer() { sed -n 's/^TracerPid:\t//p' "/proc/$1/status" 2>/dev/null; }
wait_state() { for _ in $(seq 100); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.05; done; return 1; }

# a counter: its log shows whether it runs (a line per tick, 0.3 s apart)
setsid "$COUNTER" >"$tmp/log" 2>&1 </dev/null &
pid=$!
sleep 0.3
kill -STOP "$pid"
wait_state "$pid" T || echo "# the counter did not stop"
sleep 0.4
lines=$(wc -l <"$tmp/log")

ok "leave-running checkpoint of a stopped task" '"$CRYO" checkpoint -o "$tmp/img" "$pid"'
ok "it is still stopped, untraced" '[ "$(state "$pid")" = T ] && [ "$(tracer "$pid")" = 0 ]'
sleep 0.7
ok "it did not run meanwhile" '[ "$(wc -l <"$tmp/log")" = "$lines" ]'
ok "the image says stopped=1" '"$CRYO" show "$tmp/img" | grep -q "stopped=1"'

ok "checkpoint --kill of the stopped task" '"$CRYO" checkpoint --kill -o "$tmp/img" "$pid"'
wait "$pid" 2>/dev/null # reap it: the pid must be free
ok "restart --detach" '"$CRYO" restart --detach "$tmp/img"'
ok "the restored task is stopped" 'wait_state "$pid" T'
sleep 0.7
ok "and does not run" '[ "$(wc -l <"$tmp/log")" = "$lines" ]'
kill -CONT "$pid"
sleep 0.8
ok "SIGCONT resumes it: it counts on" '[ "$(wc -l <"$tmp/log")" -gt "$lines" ] && [ "$(state "$pid")" != T ]'
ok "from where it was" 'sed -n "$((lines + 1))p" "$tmp/log" | grep -q "tick $((lines + 1)),"'
kill -9 "$pid"

# a running task is not stopped by a checkpoint
setsid sleep 1000 >/dev/null 2>&1 </dev/null &
pid=$!
sleep 0.1
ok "a running task checkpointed --kill" '"$CRYO" checkpoint --kill -o "$tmp/img2" "$pid"'
wait "$pid" 2>/dev/null
ok "restarts running" '"$CRYO" restart --detach "$tmp/img2" && wait_state "$pid" S'
kill -9 "$pid"
echo "1..$n"
