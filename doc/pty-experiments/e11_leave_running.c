/*
 * e11_leave_running: the whole checkpoint-side sequence on a live pair, as
 * cryo would do it in leave-running mode. A "terminal" process T holds the
 * master, a "shell" R in its own session has the slave as controlling tty
 * and is blocked in a canonical read. T has typed a partial line and not read
 * the output (prompt + echo). Both are frozen with ptrace; the inspector
 * works only on descriptors obtained with pidfd_getfd: it saves everything,
 * puts the queues back, and resumes. Then T reads its output and types the
 * rest of the line; R must read the whole line.
 */
#include "common.h"
#include <sys/ptrace.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static void settle(int fd) { struct pollfd p = { fd, POLLIN, 0 }; poll(&p, 1, 0); usleep(1000); poll(&p, 1, 0); }

static void freeze(pid_t p)
{
	if (ptrace(PTRACE_SEIZE, p, 0, 0) < 0) DIE("seize");
	ptrace(PTRACE_INTERRUPT, p, 0, 0);
	int st; waitpid(p, &st, __WALL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int packet = argc > 1 && !strcmp(argv[1], "packet");
	int go[2], res[2], tgo[2], rres[2]; pipe(go); pipe(res); pipe(tgo); pipe(rres);
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY), zero = 0, one = 1;
	ioctl(m, TIOCSPTLCK, &zero);
	if (packet) ioctl(m, TIOCPKT, &one);
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	pid_t R = fork();
	if (R == 0) { /* the shell */
		close(m);
		setsid(); ioctl(s, TIOCSCTTY, 0);
		dup2(s, 0); dup2(s, 1); close(s);
		write(1, "prompt> ", 8);
		char ln[256]; int n = read(0, ln, sizeof ln); /* blocks until a full line */
		write(rres[1], ln, n > 0 ? n : 0);
		_exit(0);
	}
	close(s);
	pid_t T = fork();
	if (T == 0) { /* the terminal */
		usleep(50000);
		write(m, "hello wo", 8);
		char c; read(tgo[0], &c, 1); /* wait for the checkpoint to be over */
		unsigned char out[256]; usleep(20000);
		fcntl(m, F_SETFL, O_NONBLOCK);
		int n = read(m, out, sizeof out);
		write(res[1], out, n > 0 ? n : 0);
		write(m, "rld\n", 4);
		usleep(50000);
		unsigned char echo[64]; int k = read(m, echo, sizeof echo);
		write(res[1], echo, k > 0 ? k : 0);
		pause(); _exit(0);
	}
	close(m);
	usleep(200000);
	/* --- checkpoint --- */
	freeze(T); freeze(R);
	int pt = pidfd_open_(T), pr = pidfd_open_(R);
	int M = pidfd_getfd_(pt, m), S = pidfd_getfd_(pr, 0);
	struct termios2 T0; tget(S, &T0);
	struct termios L0, L1; memset(&L1, 0, sizeof L1); ioctl(S, TIOCGLCKTRMIOS, &L0);
	int pkt = 0; ioctl(M, TIOCGPKT, &pkt);
	double t0 = now();
	/* output first: the master's queue */
	unsigned char outq[65536]; int on = 0, status = 0;
	for (;;) {
		struct pollfd p = { M, POLLIN, 0 };
		if (poll(&p, 1, 0) <= 0) break;
		int k = read(M, outq + on, sizeof outq - on);
		if (k <= 0) break;
		if (pkt) { if (on == 0 && k == 1 && outq[0]) { status = outq[0]; continue; } memmove(outq + on, outq + on + 1, k - 1); k--; }
		on += k;
	}
	if (pkt) ioctl(M, TIOCPKT, &zero);
	ioctl(S, TIOCSLCKTRMIOS, &L1);
	/* input: complete lines, then the partial line */
	unsigned char inq[8192]; int in = 0;
	struct termios2 t = T0; t.c_lflag &= ~ICANON; t.c_cc[VMIN] = 0; t.c_cc[VTIME] = 0; tset(S, &t);
	in = drain(S, inq, sizeof inq);
	tset(S, &T0);
	double t1 = now();
	/* --- the image would be written here; then leave running: put everything back --- */
	double t2 = now();
	t = T0; t.c_iflag &= IXON; t.c_lflag = (T0.c_lflag & (ICANON | EXTPROC)) | IEXTEN; if (!t.c_cc[VLNEXT]) t.c_cc[VLNEXT] = 0x16;
	tset(S, &t);
	unsigned char esc[16384]; int en = 0;
	for (int i = 0; i < in; i++) { unsigned char c = inq[i]; if (c == '\n' || c == '\r' || (c && memchr(t.c_cc, c, NCCS) && c != t.c_cc[VMIN] && c != t.c_cc[VTIME])) esc[en++] = t.c_cc[VLNEXT]; esc[en++] = c; }
	write(M, esc, en);
	settle(S);
	tset(S, &T0);
	t = T0; t.c_oflag &= ~OPOST; tset(S, &t);
	write(S, outq, on);
	tset(S, &T0);
	ioctl(S, TIOCSLCKTRMIOS, &L0);
	if (pkt) ioctl(M, TIOCPKT, &one);
	double t3 = now();
	hexdump("saved output queue", outq, on);
	hexdump("saved input queue", inq, in);
	NOTE("packet mode %d, pending status %#x; read-out took %.0f us, put-back %.0f us", pkt, status, (t1 - t0) * 1e6, (t3 - t2) * 1e6);
	CHECK(on == 16 && !memcmp(outq, "prompt> hello wo", 16), "output queue = prompt + echo of the typing");
	CHECK(in == 8 && !memcmp(inq, "hello wo", 8), "input queue = the partial line");
	close(M); close(S);
	ptrace(PTRACE_DETACH, T, 0, 0); ptrace(PTRACE_DETACH, R, 0, 0);
	/* --- the user goes on --- */
	write(tgo[1], "g", 1);
	unsigned char b[256]; int n = read(res[0], b, sizeof b);
	unsigned char *o = b; int onn = n;
	if (pkt && n > 0 && o[0] == 0) { o++; onn--; }
	hexdump("terminal reads after resume", o, onn);
	CHECK(onn == 16 && !memcmp(o, "prompt> hello wo", 16), "the terminal reads the prompt and the echo exactly once%s", pkt ? " (one header byte 0, no status byte)" : "");
	n = read(res[0], b, sizeof b);
	hexdump("echo of \"rld\\n\"", b, n);
	n = read(rres[0], b, sizeof b);
	hexdump("the shell's read()", b, n);
	CHECK(n == 12 && !memcmp(b, "hello world\n", 12), "the shell, blocked in read() during the checkpoint, reads the whole line");
	kill(T, SIGKILL); kill(R, SIGKILL);
	while (waitpid(-1, NULL, 0) > 0) ;
	return finish(packet ? "e11_leave_running (packet mode)" : "e11_leave_running");
}
