# SPDX-License-Identifier: MIT
"""A Python process with threads survives checkpoint/restart.

Five threading.Thread workers, each in a state of its own at the checkpoint:
a time.sleep() loop counting, Event().wait(), Queue().get(), a loop computing
with the GIL (each chunk's sum must be right) and os.read() on a pipe. Each
records threading.get_native_id() and get_ident() at start. On SIGUSR2 main
checks that /proc/self/task lists exactly these threads, with their native
ids, that the blocked ones are still asleep in their syscalls, wakes them
(each checks its ids and that it woke for the right reason), sees the
counting ones go on, and joins them all, with timeouts. Run by run.sh like
the C programs: "ready", then PASS or "FAIL: reason".
"""
import os
import platform
import queue
import select
import signal
import threading
import time

VERIFY_SECS = 3
RUN, VERIFY, DONE = range(3)
# the syscalls the blocked workers sleep in, where the numbers are known
SYSCALLS = {
    "x86_64": {"futex": 202, "read": 0},
    "aarch64": {"futex": 98, "read": 63},
}.get(platform.machine(), {})

phase = RUN
got_usr2 = False


def fail(why):
    print("FAIL: " + why, flush=True)
    os._exit(1)


def proc(tid, name):
    """/proc/self/task/TID/NAME, "?" if the thread is gone."""
    try:
        with open("/proc/self/task/%d/%s" % (tid, name)) as f:
            return f.read().strip()
    except OSError:
        return "?"


def state(tid):
    """The state letter of /proc/self/task/TID/stat: S, R..."""
    stat = proc(tid, "stat")
    return stat[stat.rindex(")") + 2] if ")" in stat else "?"


class Worker(threading.Thread):
    """A daemon thread (a failure ends the process) that records its ids
    and the first error; its state() stays in the state until woken, then
    identity() checks who it is and after() goes on, if it counts."""

    syscall = None  # the syscall its state sleeps in, if it sleeps

    def __init__(self, name):
        super().__init__(name=name, daemon=True)
        self.native = self.ident_ = None
        self.count = 0
        self.error = None
        self.started_ = threading.Event()

    def run(self):
        self.native = threading.get_native_id()
        self.ident_ = threading.get_ident()
        self.started_.set()
        try:
            self.state()
            self.identity()
            self.after()
        except Exception as e:  # anything at all: report it
            self.error = self.error or "%s: %r" % (self.name, e)

    def err(self, why):
        self.error = self.error or "%s: %s" % (self.name, why)

    def woken(self, what):
        if phase < VERIFY:
            self.err(what + " returned before main woke it")

    def identity(self):
        if threading.get_native_id() != self.native:
            self.err("native id %d, was %d" % (threading.get_native_id(), self.native))
        if threading.get_ident() != self.ident_:
            self.err("ident %#x, was %#x" % (threading.get_ident(), self.ident_))
        if threading.current_thread() is not self:
            self.err("current_thread() is %r" % threading.current_thread())

    def after(self):
        pass


class Looper(Worker):
    """A worker that repeats step() until verification, and after it until the end."""

    def state(self):
        while phase < VERIFY:
            self.step()

    def after(self):
        while phase < DONE:
            self.step()


class Sleeper(Looper):
    def step(self):
        t0 = time.monotonic_ns()
        time.sleep(0.02)
        slept = time.monotonic_ns() - t0
        if slept < 20000000:
            self.err("time.sleep(0.02) returned after %d ns" % slept)
        self.count += 1


class Computer(Looper):
    def step(self):
        s = sum(i * i for i in range(1000))
        if s != 332833500:
            self.err("sum of squares below 1000 is %d" % s)
        self.count += 1


class EventWaiter(Worker):
    syscall = "futex"
    event = threading.Event()

    def state(self):
        if not self.event.wait():
            self.err("Event.wait() returned False")
        self.woken("Event.wait()")


class QueueGetter(Worker):
    syscall = "futex"
    queue = queue.Queue()

    def state(self):
        item = self.queue.get()
        self.woken("Queue.get()")
        if item != "go":
            self.err("Queue.get() returned %r, main put 'go'" % (item,))


class Reader(Worker):
    syscall = "read"
    pipe = os.pipe()

    def state(self):
        data = os.read(self.pipe[0], 1)
        self.woken("os.read()")
        if data != b"r":
            self.err("os.read() returned %r, main wrote b'r'" % (data,))


def on_usr2(sig, frame):
    global got_usr2
    got_usr2 = True


def asleep_in(w):
    """w sleeps in its syscall, as /proc tells."""
    if state(w.native) != "S":
        return False
    nr = SYSCALLS.get(w.syscall)
    sc = proc(w.native, "syscall").split()[0]
    return nr is None or sc == str(nr)


def await_true(secs, cond, why):
    """Waits for cond(); fails with why() if it takes more than secs."""
    deadline = time.monotonic() + secs
    while not cond():
        check_errors()
        if time.monotonic() > deadline:
            fail(why())
        time.sleep(0.001)


def check_errors():
    for w in workers:
        if w.error:
            fail(w.error)


def await_states(when):
    for w in workers:
        if w.syscall:
            await_true(VERIFY_SECS, lambda w=w: asleep_in(w),
                       lambda w=w: "%s: %s is not asleep in %s: state %s, syscall %s" % (
                           when, w.name, w.syscall, state(w.native),
                           proc(w.native, "syscall")[:40]))
        else:
            await_true(VERIFY_SECS, lambda w=w: w.count > 0,
                       lambda w=w: "%s: %s does not count" % (when, w.name))


def check_tasks(want):
    tasks = sorted(int(t) for t in os.listdir("/proc/self/task"))
    if tasks != sorted(want):
        fail("/proc/self/task has %s, wanted %s" % (tasks, sorted(want)))


def check_threads():
    """Before waking anybody: the same threads, the same ids."""
    check_errors()
    check_tasks([os.getpid()] + [w.native for w in workers])
    for w in workers:
        if w.native_id != w.native or w.ident != w.ident_:
            fail("%s: native_id %d, ident %#x; recorded %d, %#x" % (
                w.name, w.native_id, w.ident, w.native, w.ident_))
        if proc(w.native, "comm") != comm:
            fail("%s: comm %r, main's is %r" % (w.name, proc(w.native, "comm"), comm))
    if threading.get_native_id() != os.getpid() or threading.get_ident() != main_ident:
        fail("main: native id %d, ident %#x; were %d, %#x" % (
            threading.get_native_id(), threading.get_ident(), os.getpid(), main_ident))


def wake_all():
    global phase
    phase = VERIFY
    EventWaiter.event.set()
    QueueGetter.queue.put("go")
    os.write(Reader.pipe[1], b"r")


def check_progress():
    counting = [w for w in workers if not w.syscall]
    before = [w.count for w in counting]
    await_true(VERIFY_SECS, lambda: all(w.count >= c + 3 for w, c in zip(counting, before)),
               lambda: "counting stopped: " + ", ".join(
                   "%s %d -> %d" % (w.name, c, w.count) for w, c in zip(counting, before)))


def join_all():
    deadline = time.monotonic() + VERIFY_SECS
    for w in workers:
        w.join(max(0, deadline - time.monotonic()))
        if w.is_alive():
            fail("%s did not end: state %s, syscall %s" % (
                w.name, state(w.native), proc(w.native, "syscall")[:40]))
    check_errors()


def await_alone():
    deadline = time.monotonic() + VERIFY_SECS
    while len(os.listdir("/proc/self/task")) > 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    check_tasks([os.getpid()])


signal.signal(signal.SIGUSR2, on_usr2)
# The handler may run in any thread's C code; the wakeup fd wakes main.
wakeup = os.pipe()
os.set_blocking(wakeup[1], False)
signal.set_wakeup_fd(wakeup[1])
comm = proc(os.getpid(), "comm")
main_ident = threading.get_ident()
workers = [Sleeper("sleeper"), EventWaiter("event"), QueueGetter("queue"),
           Computer("computer"), Reader("reader")]
for w in workers:
    w.start()
for w in workers:
    if not w.started_.wait(VERIFY_SECS):
        fail("%s did not start" % w.name)
await_states("before ready")
print("ready", flush=True)
while not got_usr2:
    if select.select([wakeup[0]], [], [], 0.5)[0]:
        os.read(wakeup[0], 64)

check_threads()
await_states("after SIGUSR2")
wake_all()
check_progress()
phase = DONE
join_all()
await_alone()
print("PASS", flush=True)
