#!/bin/bash
# SPDX-License-Identifier: MIT
#
# External terminals at restart (doc/pty.md section 9): a program whose
# terminal's master was outside the tree (here, held by the test driver, as
# sshd or a terminal emulator would) is checkpointed with --kill, then
# restarted on another terminal.
#
#   --tty=inherit  a raw-mode program gets restart's terminal: it keeps its
#                  modes, sees the new terminal's size and gets SIGWINCH,
#                  reads keys as typed; when it ends, restart's terminal has
#                  its own modes back. A cooked `sleep` under a job-control
#                  shell: ^Z stops it and restart (the shell sees its job
#                  stopped), `fg` resumes both, ^C ends it (exit 130).
#   --tty=none     the program runs on /dev/null, with no controlling terminal.
#   --tty=new      (with --detach) a holder keeps the new pty: a session, in cryo ls.
#   refusals       --tty=inherit without a terminal or with --detach.
#
# The driver is python3 (its pty module); TAP. Skipped without python3.
set -u
. "$(dirname "$0")/lib.sh"
cr_setup external "$@"
cr_private_devpts "$tmp"
trap 'cr_private_devpts_end; rm -rf "$tmp"' EXIT

if ! command -v python3 >/dev/null; then
	echo "1..0 # skip python3 not found"
	exit 0
fi

python3 - "$CRYO" "$tmp" <<'PY'
import fcntl, os, pty, re, select, signal, struct, subprocess, sys, termios, time

CRYO, TMP = sys.argv[1], sys.argv[2]
n = 0


def ok(what, cond, why=""):
    global n
    n += 1
    print("%sok %d - %s" % ("" if cond else "not ", n, what))
    if not cond and why:
        print("#   " + why.replace("\n", "\n#   "))
    sys.stdout.flush()
    return cond


# A raw-mode program: says its size on SIGWINCH, echoes each key with its lflag.
RAW = r'''
import os, sys, tty, termios, signal, fcntl, struct
tty.setraw(0)
def size():
    return struct.unpack("hh", fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 4))
signal.signal(signal.SIGWINCH, lambda s, f: os.write(1, b"winch %d %d\r\n" % size()))
os.write(1, b"ready %d %d\r\n" % size())
while True:
    b = os.read(0, 1)
    if b == b"q":
        os.write(1, b"bye\r\n")
        sys.exit(0)
    os.write(1, b"got %s lflag %#x\r\n" % (b, termios.tcgetattr(0)[3]))
'''


def spawn(argv, rows, cols):
    """argv on a new pty of the driver's, RxC; (pid, master)."""
    pid, m = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("hhhh", rows, cols, 0, 0))
        os.execvp(argv[0], argv)
    return pid, m


class Screen:
    def __init__(self, m):
        self.m, self.text = m, b""

    def expect(self, pattern, secs=10):
        """Reads until PATTERN (bytes regex) shows up; the match or None."""
        deadline = time.monotonic() + secs
        while True:
            found = re.search(pattern, self.text)
            if found:
                return found
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.m], [], [], left)[0]:
                return None
            try:
                data = os.read(self.m, 4096)
            except OSError:
                data = b""
            if not data:
                return re.search(pattern, self.text)
            self.text += data


def wait_pid(pid, secs=10, options=0):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        got, status = os.waitpid(pid, os.WNOHANG | options)
        if got:
            return status
        time.sleep(0.02)
    return None


def checkpoint_killed(argv, img):
    """Runs ARGV on a driver's pty (24x80), checkpoints it with --kill; its pid."""
    pid, m = spawn(argv, 24, 80)
    scr = Screen(m)
    if argv[0] == "python3" and not scr.expect(rb"ready 24 80"):
        return None, "the program did not start: %r" % scr.text
    if argv[0] == "sleep":
        time.sleep(0.3)
    r = subprocess.run([CRYO, "checkpoint", "--kill", "-o", img, str(pid)],
                       capture_output=True, text=True)
    wait_pid(pid)
    os.close(m)
    if r.returncode:
        return None, "checkpoint: " + r.stderr
    return pid, ""


def state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


# --- --tty=inherit, a raw-mode program -------------------------------------------------
img = os.path.join(TMP, "raw.img")
p, why = checkpoint_killed(["python3", "-c", RAW], img)
if ok("checkpoint --kill of a raw-mode program on an external terminal", p, why):
    show = subprocess.run([CRYO, "show", img], capture_output=True, text=True).stdout
    ok("the image holds its terminal as external", re.search(r"tty_slave .* flags=0x11 ", show))
    rpid, m = spawn([CRYO, "restart", img], 40, 120)
    before = termios.tcgetattr(m)
    scr = Screen(m)
    ok("on restart's terminal it gets SIGWINCH and sees that terminal's size (40x120)",
       scr.expect(rb"winch 40 120"), "screen: %r" % scr.text)
    ok("restart's terminal is raw meanwhile",
       not (termios.tcgetattr(m)[3] & (termios.ICANON | termios.ECHO)))
    os.write(m, b"x")
    got = scr.expect(rb"got x lflag (0x[0-9a-f]+)")
    ok("a key reaches it at once, and its own terminal is still raw (no ICANON, ECHO, ISIG)",
       got and not int(got.group(1), 16) & (termios.ICANON | termios.ECHO | termios.ISIG),
       "screen: %r" % scr.text)
    fcntl.ioctl(m, termios.TIOCSWINSZ, struct.pack("hhhh", 50, 132, 0, 0))
    ok("a new size of restart's terminal reaches it (50x132)", scr.expect(rb"winch 50 132"),
       "screen: %r" % scr.text)
    os.write(m, b"q")
    ok("it ends when told to", scr.expect(rb"bye"), "screen: %r" % scr.text)
    st = wait_pid(rpid)
    ok("cryo restart exits with its status (0)", st is not None and os.WIFEXITED(st)
       and os.WEXITSTATUS(st) == 0, "wait status %r" % st)
    ok("restart's terminal has its own modes back", termios.tcgetattr(m) == before)
    os.close(m)

# --- --tty=inherit, job control: an interactive bash with a foreground job --------------
BASH = ["env", "PS1=cr$ ", "bash", "--norc", "--noprofile", "-i"]
img = os.path.join(TMP, "bash.img")
p, m0 = spawn(BASH, 24, 80)
scr0 = Screen(m0)
scr0.expect(rb"cr\$ ")
os.write(m0, b"sleep 1000\n")
kids = []
deadline = time.monotonic() + 10
while not kids and time.monotonic() < deadline:
    time.sleep(0.05)
    with open("/proc/%d/task/%d/children" % (p, p)) as f:
        kids = [int(k) for k in f.read().split()]
r = subprocess.run([CRYO, "checkpoint", "--kill", "-o", img, str(p)], capture_output=True,
                   text=True)
wait_pid(p)
os.close(m0)
if ok("checkpoint --kill of bash running sleep, on an external terminal",
      kids and r.returncode == 0, r.stderr):
    job = kids[0]
    script = ('set -m; "$0" restart "$1"; echo "stopped=$?"; '
              'fg >/dev/null; echo "ended=$?"')
    sh, m = spawn(["bash", "-c", script, CRYO, img], 24, 80)
    scr = Screen(m)
    deadline = time.monotonic() + 10
    while state(job) != "S" and time.monotonic() < deadline:
        time.sleep(0.05)
    ok("bash and its job are back, the job asleep", state(job) == "S" and state(p) == "S")
    os.kill(p, signal.SIGSTOP)
    stopped = scr.expect(rb"stopped=(\d+)")
    ok("the restored root stopped: restart stops too, its shell sees the job stopped (148)",
       stopped and stopped.group(1) == b"148", "screen: %r" % scr.text)
    time.sleep(0.3)
    ok("fg: restart and the restored bash go on", state(p) == "S", "state %s" % state(p))
    os.write(m, b"\x1a")
    ok("^Z reaches the restored job: its bash says it stopped",
       scr.expect(rb"Stopped\s+sleep 1000") and state(job) == "T",
       "screen: %r, job %s" % (scr.text, state(job)))
    os.write(m, b"fg\n")
    time.sleep(0.3)
    ok("fg (in the restored bash): the job runs on", state(job) == "S", "state %s" % state(job))
    os.write(m, b"\x03")
    deadline = time.monotonic() + 5
    while state(job) not in ("gone", "Z") and time.monotonic() < deadline:
        time.sleep(0.05)
    ok("^C ends the job", state(job) in ("gone", "Z"), "state %s" % state(job))
    os.write(m, b"echo $((6*7))\n")
    ok("the restored bash answers", scr.expect(rb"[\r\n]42\r\n"), "screen: %r" % scr.text)
    os.write(m, b"exit 7\n")
    ended = scr.expect(rb"ended=(\d+)")
    ok("exit 7 ends it, and restart with 7", ended and ended.group(1) == b"7",
       "screen: %r" % scr.text)
    wait_pid(sh)
    os.close(m)

# --- --tty=none, refusals: a sleep ---------------------------------------------------------
img = os.path.join(TMP, "sleep.img")
p, why = checkpoint_killed(["sleep", "1000"], img)
if ok("checkpoint --kill of sleep on an external terminal", p, why):
    # --- --tty=none ----------------------------------------------------------------------
    r = subprocess.run([CRYO, "restart", "--detach", "--tty=none", img], capture_output=True,
                       text=True, stdin=subprocess.DEVNULL)
    ok("--tty=none: restart --detach succeeds", r.returncode == 0, r.stderr)
    fds = [os.readlink("/proc/%d/fd/%d" % (p, fd)) for fd in (0, 1, 2)] if r.returncode == 0 else []
    with open("/proc/%d/stat" % p) if r.returncode == 0 else open("/dev/null") as f:
        tty_nr = f.read().rsplit(")", 1)[1].split()[4] if r.returncode == 0 else "?"
    ok("its descriptors 0-2 are /dev/null and it has no controlling terminal",
       fds == ["/dev/null"] * 3 and tty_nr == "0", "fds %r, tty_nr %s" % (fds, tty_nr))
    if r.returncode == 0:
        os.kill(p, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while state(p) not in ("gone", "Z") and time.monotonic() < deadline:
            time.sleep(0.05)

    # --- refusals --------------------------------------------------------------------------
    r = subprocess.run([CRYO, "restart", "--tty=inherit", img], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    lines = r.stderr.splitlines()
    ok("restart --tty=inherit without a terminal refuses it, in one line naming the terminal",
       r.returncode == 1 and len(lines) == 1 and "stdin is not one" in lines[0]
       and "external terminal" in lines[0] and state(p) in ("gone", "Z"),
       "exit %d, stderr %r" % (r.returncode, r.stderr))
    rpid, m = spawn([CRYO, "restart", "--detach", "--tty=inherit", img], 24, 80)
    st = wait_pid(rpid)
    scr = Screen(m)
    scr.expect(rb"\n", 1)
    ok("restart --detach --tty=inherit refuses it (restart must stay in the foreground)",
       st is not None and os.WEXITSTATUS(st) == 1 and b"no --detach" in scr.text
       and state(p) in ("gone", "Z"), "screen %r" % scr.text)
    os.close(m)

    # --- --detach: --tty=new, a holder keeps the new pty (tests/cr/sessions.sh attaches) ---
    env = dict(os.environ, CRYO_STATE_DIR=os.path.join(TMP, "state"))
    r = subprocess.run([CRYO, "restart", "--detach", img], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 5
    while state(p) not in ("S", "gone") and time.monotonic() < deadline:
        time.sleep(0.02)  # just let go, it may still be on its way back to its sleep
    ok("restart --detach (--tty=new): it runs, and one line says how to attach",
       r.returncode == 0 and state(p) == "S"
       and re.fullmatch(r"cryo: pid %d holds its terminal in session s1; attach with: "
                        r"cryo attach s1\n" % p, r.stderr), "exit %d, stderr %r" % (r.returncode, r.stderr))
    ls = subprocess.run([CRYO, "ls"], capture_output=True, text=True, env=env).stdout
    ok("cryo ls lists the session", ls.startswith("s1\t"), "ls %r" % ls)
    if state(p) == "S":
        os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while subprocess.run([CRYO, "ls"], capture_output=True, text=True, env=env).stdout and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    ok("its end ends the session", not subprocess.run([CRYO, "ls"], capture_output=True,
                                                      text=True, env=env).stdout)
print("1..%d" % n)
PY
