/*
 * e12_roundtrip: the proposed checkpoint read-out ("gather") and the
 * proposed put-back/restart sequence ("apply"), on a pair with every piece of
 * state set at once. Round trip 1: gather, apply on the same pair (leave
 * running), gather again: equal. Round trip 2: gather, close the pair, create
 * a new one at the same index in a private devpts instance, apply, gather:
 * equal. gather() works only on dups of the holders' descriptors (as
 * pidfd_getfd gives them); apply() is the restart order of doc/pty.md.
 */
#include "common.h"

enum { RUNNING = 0, STOPPED_CHAR = 1, STOPPED_TCO = 2 };
struct line { int off, len, term; };          /* term: 0 none (partial), 1 last byte, 2 VEOF */
struct saved {
	int index;
	struct termios2 tio; struct termios lck; struct winsize ws;
	int pkt, ptlck, excl_s, excl_m, stopped, pktstatus;
	unsigned uid, gid, mode;
	unsigned char in[8192]; int nin; struct line l[64]; int nl;
	unsigned char out[32768]; int nout;
};

static void settle(int fd) { struct pollfd p = { fd, POLLIN, 0 }; poll(&p, 1, 0); usleep(1000); poll(&p, 1, 0); }
static int zero = 0, one = 1;

static int special(const struct termios2 *t, unsigned char c)
{
	static const int idx[] = { VINTR, VQUIT, VERASE, VKILL, VEOF, VSTART, VSTOP, VSUSP, VEOL, VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 };
	if (c == '\n' || c == '\r') return 1;
	for (unsigned i = 0; i < sizeof idx / sizeof idx[0]; i++) if (c && t->c_cc[idx[i]] == c) return 1;
	return 0;
}

/* M, S: dups of the master and of a slave file of the tree. Leaves the pair drained: queues empty, packet off, running, unlocked termios lock. */
static void gather(int M, int S, struct saved *sv)
{
	memset(sv, 0, sizeof *sv);
	ioctl(M, TIOCGPTN, &sv->index);
	ioctl(M, TIOCGPTLCK, &sv->ptlck);
	ioctl(M, TIOCGPKT, &sv->pkt);
	ioctl(S, TIOCGEXCL, &sv->excl_s); ioctl(M, TIOCGEXCL, &sv->excl_m);
	tget(S, &sv->tio); ioctl(S, TIOCGLCKTRMIOS, &sv->lck); ioctl(S, TIOCGWINSZ, &sv->ws);
	struct stat st; fstat(S, &st); sv->uid = st.st_uid; sv->gid = st.st_gid; sv->mode = st.st_mode & 07777;
	/* 1. output queue (and the pending packet status, first) */
	for (;;) {
		struct pollfd p = { M, POLLIN, 0 };
		if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
		int k = read(M, sv->out + sv->nout, sizeof sv->out - sv->nout);
		if (k <= 0) break;
		if (sv->pkt) {
			if (sv->out[sv->nout] != TIOCPKT_DATA) { sv->pktstatus = sv->out[sv->nout]; continue; }
			memmove(sv->out + sv->nout, sv->out + sv->nout + 1, k - 1); k--;
		}
		sv->nout += k;
	}
	if (sv->pkt) ioctl(M, TIOCPKT, &zero);
	/* 2. lift the termios lock */
	struct termios none; memset(&none, 0, sizeof none);
	ioctl(S, TIOCSLCKTRMIOS, &none);
	/* 3. output stopped? probe with one byte, OPOST off, non-blocking (flags of the shared file restored after) */
	int fl = fcntl(S, F_GETFL);
	struct termios2 t = sv->tio; t.c_oflag &= ~OPOST; tset(S, &t);
	fcntl(S, F_SETFL, fl | O_NONBLOCK);
	int k = write(S, "P", 1);
	if (k < 0 && errno == EAGAIN) {
		if ((sv->tio.c_iflag & IXON) && sv->tio.c_cc[VSTART]) { write(M, &sv->tio.c_cc[VSTART], 1); settle(S); }
		k = write(S, "P", 1);
		if (k == 1) sv->stopped = STOPPED_CHAR;
		else { sv->stopped = STOPPED_TCO; ioctl(S, TCXONC, TCOON); k = write(S, "P", 1); }
	}
	settle(M);
	if (k == 1) { /* take the probe byte back; what comes before it is echo the stop had held back */
		int got = drain(M, sv->out + sv->nout, sizeof sv->out - sv->nout);
		if (got >= 1 && sv->out[sv->nout + got - 1] == 'P') sv->nout += got - 1;
		else NOTE("probe byte not found (%d bytes)", got);
		if (got > 1) NOTE("%d bytes of held-back echo came out with the probe", got - 1);
	}
	fcntl(S, F_SETFL, fl);
	/* 4. input queue: complete lines with the real termios, then the rest non-canonical */
	tset(S, &sv->tio);
	if ((sv->tio.c_lflag & ICANON) && !(sv->tio.c_lflag & EXTPROC)) {
		for (;;) {
			struct pollfd p = { S, POLLIN, 0 };
			if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
			struct line *L = &sv->l[sv->nl++];
			L->off = sv->nin;
			L->len = read(S, sv->in + sv->nin, sizeof sv->in - sv->nin);
			unsigned char last = L->len ? sv->in[sv->nin + L->len - 1] : 0;
			L->term = (L->len && (last == '\n' || (last && (last == sv->tio.c_cc[VEOL] || last == sv->tio.c_cc[VEOL2])))) ? 1 : 2;
			sv->nin += L->len;
		}
	}
	t = sv->tio; t.c_lflag &= ~ICANON; t.c_cc[VMIN] = 0; t.c_cc[VTIME] = 0; tset(S, &t);
	int n = drain(S, sv->in + sv->nin, sizeof sv->in - sv->nin);
	if (n) { struct line *L = &sv->l[sv->nl++]; L->off = sv->nin; L->len = n; L->term = 0; sv->nin += n; }
	tset(S, &sv->tio);
	if (sv->ptlck) ioctl(M, TIOCSPTLCK, &zero);
}

/* the pair is new or drained; S is a slave file opened (or held) by cryo */
static void apply(int M, int S, const struct saved *sv)
{
	if (fchown(S, sv->uid, sv->gid) || fchmod(S, sv->mode)) DIE("owner");
	tset(S, &sv->tio);
	ioctl(M, TIOCSWINSZ, &sv->ws);
	if (sv->pkt) {
		ioctl(M, TIOCPKT, &one);
		if (sv->pktstatus & TIOCPKT_FLUSHREAD) ioctl(S, TCFLSH, TCIFLUSH);
		if (sv->pktstatus & TIOCPKT_FLUSHWRITE) ioctl(S, TCFLSH, TCOFLUSH);
		if (sv->pktstatus & (TIOCPKT_DOSTOP | TIOCPKT_NOSTOP)) {
			struct termios2 t = sv->tio; t.c_iflag ^= IXON; tset(S, &t); tset(S, &sv->tio);
		}
	}
	/* input */
	int canon = (sv->tio.c_lflag & ICANON) && !(sv->tio.c_lflag & EXTPROC);
	struct termios2 t = sv->tio;
	if (!(sv->tio.c_lflag & EXTPROC)) {
		t.c_iflag &= IXON; t.c_lflag = (sv->tio.c_lflag & (ICANON | EXTPROC)) | IEXTEN;
		if (!t.c_cc[VLNEXT]) t.c_cc[VLNEXT] = 0x16;
		if (!t.c_cc[VEOF]) t.c_cc[VEOF] = 0x04;
		tset(S, &t);
	}
	static unsigned char esc[20000]; int en = 0;
	for (int i = 0; i < sv->nl; i++) {
		const struct line *L = &sv->l[i];
		int body = L->term == 1 ? L->len - 1 : L->len;
		for (int k = 0; k < body; k++) { unsigned char c = sv->in[L->off + k]; if (canon && special(&t, c)) esc[en++] = t.c_cc[VLNEXT]; esc[en++] = c; }
		if (L->term == 1) esc[en++] = sv->in[L->off + L->len - 1];
		if (L->term == 2) esc[en++] = t.c_cc[VEOF];
	}
	for (int w = 0; w < en; ) { int k = write(M, esc + w, en - w > 1024 ? 1024 : en - w); if (k > 0) w += k; settle(S); }
	settle(S);
	/* output */
	t = sv->tio; t.c_oflag &= ~OPOST; tset(S, &t);
	for (int w = 0; w < sv->nout; ) { int k = write(S, sv->out + w, sv->nout - w > 1024 ? 1024 : sv->nout - w); if (k > 0) w += k; settle(M); }
	tset(S, &sv->tio);
	if (sv->pkt && (sv->pktstatus & TIOCPKT_IOCTL) && !(sv->tio.c_lflag & EXTPROC)) { /* cannot happen without EXTPROC */ }
	if (sv->pkt && (sv->pktstatus & TIOCPKT_START) && sv->stopped == RUNNING) { ioctl(S, TCXONC, TCOOFF); ioctl(S, TCXONC, TCOON); }
	if (sv->stopped == STOPPED_CHAR) { write(M, &sv->tio.c_cc[VSTOP], 1); settle(S); }
	if (sv->stopped == STOPPED_TCO) ioctl(S, TCXONC, TCOOFF);
	if (sv->excl_s) ioctl(S, TIOCEXCL); else ioctl(S, TIOCNXCL);
	if (sv->excl_m) ioctl(M, TIOCEXCL); else ioctl(M, TIOCNXCL);
	ioctl(S, TIOCSLCKTRMIOS, &sv->lck);
	if (sv->ptlck) ioctl(M, TIOCSPTLCK, &one);
}

static int same(const struct saved *a, const struct saved *b, const char *what)
{
	int ok = 1;
#define F(x) if (memcmp(&a->x, &b->x, sizeof a->x)) { NOTE("%s: %s differs", what, #x); ok = 0; }
	F(index) F(tio) F(lck) F(ws) F(pkt) F(ptlck) F(excl_s) F(excl_m) F(stopped) F(pktstatus) F(uid) F(gid) F(mode) F(nin) F(nl) F(nout)
	if (ok && (memcmp(a->in, b->in, a->nin) || memcmp(a->out, b->out, a->nout) || memcmp(a->l, b->l, a->nl * sizeof a->l[0]))) { NOTE("%s: queue bytes differ", what); ok = 0; }
	return ok;
}

static void show(const struct saved *s)
{
	NOTE("index %d lock %d pkt %d status %#x excl s/m %d/%d stopped %d owner %u:%u mode %04o winsize %ux%u %ux%u speeds %u/%u",
	     s->index, s->ptlck, s->pkt, s->pktstatus, s->excl_s, s->excl_m, s->stopped, s->uid, s->gid, s->mode, s->ws.ws_row, s->ws.ws_col, s->ws.ws_xpixel, s->ws.ws_ypixel, s->tio.c_ispeed, s->tio.c_ospeed);
	NOTE("locked lflag %#o, VINTR locked %#x; input %d bytes in %d pieces, output %d bytes", s->lck.c_lflag, s->lck.c_cc[VINTR], s->nin, s->nl, s->nout);
}

static int open_at(const char *ptmx, int want)
{
	int ex[64], ne = 0, m = -1;
	for (;;) { int f = open(ptmx, O_RDWR | O_NOCTTY); if (f < 0) break; int i; ioctl(f, TIOCGPTN, &i); if (i == want) { m = f; break; } if (i > want) { close(f); break; } ex[ne++] = f; }
	while (ne) close(ex[--ne]);
	return m;
}


int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t c = fork();
	if (c == 0) {
		unshare(CLONE_NEWNS); mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
		if (mount("devpts", "/tmp/pty-research/mnt", "devpts", 0, "ptmxmode=0666") < 0) DIE("mount");
		const char *ptmx = "/tmp/pty-research/mnt/ptmx";
		for (int variant = 0; variant < 3; variant++) {
			static const char *vn[] = { "packet status FLUSHREAD|FLUSHWRITE|DOSTOP pending, stopped by ^S", "stopped by TCOOFF, no packet status, EOF-terminated line", "stopped by ^S, then keys typed: their echo is held back" };
			printf("-- variant %d: %s\n", variant, vn[variant]);
			int holders[3];
			for (int i = 0; i < 3; i++) holders[i] = open(ptmx, O_RDWR | O_NOCTTY);
			int s, m = open_pair(ptmx, &s, NULL);
			struct termios2 t; tget(s, &t);
			t.c_cflag = (t.c_cflag & ~CBAUD) | BOTHER | (BOTHER << IBSHIFT); t.c_ispeed = 300; t.c_ospeed = 115200;
			t.c_cc[VERASE] = 0x08; t.c_cc[VKILL] = 0x18; t.c_cc[VEOL] = '@'; t.c_cc[VDISCARD] = 0x0f;
			tset(s, &t);
			struct winsize ws = { 50, 132, 1320, 800 }; ioctl(m, TIOCSWINSZ, &ws);
			fchown(s, 1000, 5); fchmod(s, 0620);
			if (!variant) {
				ioctl(m, TIOCPKT, &one);
				ioctl(s, TCFLSH, TCIFLUSH); ioctl(s, TCFLSH, TCOFLUSH);
				t.c_iflag &= ~IXON; tset(s, &t); t.c_iflag |= IXON; tset(s, &t);
			}
			const char *typed = variant ? "first line\nsec\x16\x03ond@par\x08" "tial\x04" "last" : "first line\nsec\x16\x03ond@par\x08" "tial";
			write(m, typed, strlen(typed));
			settle(s);
			write(s, "out1\nout2\n", 10);
			settle(m);
			if (variant != 1) { write(m, "\x13", 1); settle(s); } else ioctl(s, TCXONC, TCOOFF);
			if (variant == 2) { write(m, "XY", 2); settle(s); }
			ioctl(s, TIOCEXCL);
			struct termios lk; memset(&lk, 0, sizeof lk); lk.c_lflag = ECHO; lk.c_cc[VINTR] = 1; ioctl(s, TIOCSLCKTRMIOS, &lk);
			ioctl(m, TIOCSPTLCK, &one);
			for (int i = 0; i < 3; i++) close(holders[i]);
			/* round trip 1: leave running */
			struct saved a, b, d;
			int M = dup(m), S = dup(s);
			gather(M, S, &a);
			show(&a);
			CHECK(a.index == 3 && a.ptlck && a.pkt == !variant && a.excl_s && a.stopped == (variant == 1 ? STOPPED_TCO : STOPPED_CHAR) && a.uid == 1000 && a.mode == 0620 && a.lck.c_lflag == ECHO, "gather saw what was set");
			if (!variant) CHECK(a.pktstatus == (TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE | TIOCPKT_DOSTOP | TIOCPKT_STOP), "pending packet status read: %#x (FLUSHREAD|FLUSHWRITE|DOSTOP|STOP)", a.pktstatus);
			apply(M, S, &a);
			gather(M, S, &b);
			CHECK(same(&a, &b, "leave running"), "leave running: after put-back a second gather sees exactly the same state and bytes");
			apply(M, S, &b);
			/* round trip 2: close everything, restart at the same index */
			struct saved img = b;
			close(M); close(S); close(m); close(s);
			int h0 = open(ptmx, O_RDWR | O_NOCTTY); /* someone now holds index 0 */
			int nm = open_at(ptmx, img.index);
			CHECK(nm >= 0, "restart: got index %d back (index 0 was taken by another pair, 1..2 free)", img.index);
			ioctl(nm, TIOCSPTLCK, &zero);
			int ns = ioctl(nm, TIOCGPTPEER, O_RDWR | O_NOCTTY);
			apply(nm, ns, &img);
			int M2 = dup(nm), S2 = dup(ns);
			gather(M2, S2, &d);
			CHECK(same(&img, &d, "restart"), "restart: a gather of the new pair sees exactly the saved state and bytes");
			/* what the programs see: read the input lines and the terminal's output */
			apply(M2, S2, &d);
			ioctl(nm, TIOCPKT, &zero);
			if (d.stopped == STOPPED_CHAR) write(nm, "\x11", 1); else ioctl(ns, TCXONC, TCOON);
			settle(nm);
			unsigned char o[256]; int on = drain(nm, o, sizeof o);
			hexdump("terminal reads (packet mode now off)", o, on);
			struct termios none; memset(&none, 0, sizeof none); ioctl(ns, TIOCSLCKTRMIOS, &none);
			fcntl(ns, F_SETFL, O_NONBLOCK);
			for (int i = 0; i < 4; i++) { unsigned char r[64]; int rn = read(ns, r, sizeof r); if (rn < 0) break; hexdump("program reads", r, rn); }
			close(M2); close(S2); close(nm); close(ns); close(h0);
		}
		_exit(fails ? 1 : 0);
	}
	int st; waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) fails++;
	return finish("e12_roundtrip");
}
