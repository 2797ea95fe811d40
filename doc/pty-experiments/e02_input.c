/*
 * e02_input: input queued for the slave (typed, not yet read), including a
 * partially typed canonical line. Read it out through a second descriptor of
 * the slave, put it back through the master, and compare with a reference
 * pty that never went through this: what the slave reads afterwards and
 * what is echoed for the keys typed afterwards must be identical.
 *
 * Read-out:  1) with the real termios, poll(0)+read() returns complete lines
 *               one per read (a line ended by VEOF comes without terminator,
 *               a lone VEOF reads as 0 bytes);
 *            2) ICANON off, VMIN=0, VTIME=0: read() returns the partial line.
 * Put back:  termios T'' = T with iflag & IXON, lflag (ICANON|EXTPROC)|IEXTEN
 *            (no ECHO, no ISIG), VLNEXT/VEOF given a value if disabled; each
 *            special byte preceded by VLNEXT; terminators sent raw; then T.
 */
#include "common.h"

struct line { unsigned char b[4200]; int n; int term; }; /* term: 0 partial, 1 raw-terminated, 2 EOF-terminated */
struct queue { struct line l[64]; int nl; };

static void settle(int m, int s)
{
	struct pollfd p[2] = { { s, POLLIN, 0 }, { m, POLLIN, 0 } };
	poll(p, 2, 0);
	usleep(2000);
	poll(p, 2, 0);
}

static void readout(int sdup, struct queue *q, int verbose)
{
	struct termios2 T, t;
	tget(sdup, &T);
	q->nl = 0;
	if ((T.c_lflag & ICANON) && !(T.c_lflag & EXTPROC)) {
		for (;;) {
			struct pollfd p = { sdup, POLLIN, 0 };
			if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
			struct line *L = &q->l[q->nl++];
			L->n = read(sdup, L->b, sizeof L->b);
			if (L->n < 0) DIE("canonical read");
			unsigned char last = L->n ? L->b[L->n - 1] : 0;
			if (L->n && (last == '\n' || (last == T.c_cc[VEOL] && last) || (last == T.c_cc[VEOL2] && last && (T.c_lflag & IEXTEN))))
				L->term = 1;
			else
				L->term = 2; /* ended by VEOF (the marker is not returned) */
			if (verbose) { hexdump(L->term == 1 ? "complete line" : "line ended by VEOF", L->b, L->n); }
		}
	}
	t = T;
	t.c_lflag &= ~ICANON;
	t.c_cc[VMIN] = 0; t.c_cc[VTIME] = 0;
	tset(sdup, &t);
	struct line *L = &q->l[q->nl];
	L->n = drain(sdup, L->b, sizeof L->b);
	L->term = 0;
	if (L->n) { q->nl++; if (verbose) hexdump("partial (non-canonical read)", L->b, L->n); }
	tset(sdup, &T); /* buffer is empty now: no line flags to lose */
}

static int special(const struct termios2 *t, unsigned char c)
{
	if (c == '\n' || c == '\r') return 1;
	static const int idx[] = { VINTR, VQUIT, VERASE, VKILL, VEOF, VSTART, VSTOP, VSUSP, VEOL, VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 };
	for (unsigned i = 0; i < sizeof idx / sizeof idx[0]; i++)
		if (c && t->c_cc[idx[i]] == c) return 1;
	return 0;
}

static void putback(int m, int sdup, const struct queue *q)
{
	struct termios2 T, t;
	tget(sdup, &T);
	t = T;
	t.c_iflag &= IXON;
	t.c_lflag = (T.c_lflag & (ICANON | EXTPROC)) | IEXTEN;
	if (!t.c_cc[VLNEXT]) t.c_cc[VLNEXT] = 0x16;
	if (!t.c_cc[VEOF]) t.c_cc[VEOF] = 0x04;
	tset(sdup, &t);
	int canon = (T.c_lflag & ICANON) && !(T.c_lflag & EXTPROC);
	unsigned char out[9000];
	int n = 0;
	for (int i = 0; i < q->nl; i++) {
		const struct line *L = &q->l[i];
		int body = L->term == 1 ? L->n - 1 : L->n;
		for (int k = 0; k < body; k++) {
			if (canon && special(&t, L->b[k])) out[n++] = t.c_cc[VLNEXT];
			out[n++] = L->b[k];
		}
		if (L->term == 1) out[n++] = L->b[L->n - 1];
		if (L->term == 2) out[n++] = t.c_cc[VEOF];
	}
	if (n && write(m, out, n) != n) DIE("put back");
	settle(m, sdup);
	tset(sdup, &T);
}

struct scen { const char *name; const char *before; int nb; const char *after; int na; void (*setup)(struct termios2 *); const char *prompt; int lossy; };
/* lossy: bit 1 differs in leave-running mode, bit 2 in a new pty (state the kernel does not show) */

static void def(struct termios2 *t) { (void)t; }
static void noncanon(struct termios2 *t) { t->c_lflag &= ~(ICANON | ISIG); t->c_cc[VMIN] = 1; t->c_cc[VTIME] = 0; }
static void echoprt(struct termios2 *t) { t->c_lflag = (t->c_lflag & ~(ECHOE | ECHOKE)) | ECHOPRT; }
static void eol(struct termios2 *t) { t->c_cc[VEOL] = '@'; t->c_cc[VEOL2] = '#'; }
static void parmrk(struct termios2 *t) { t->c_iflag |= PARMRK; }

#define S(x) x, sizeof(x) - 1
static struct scen scens[] = {
	{ "partial line, more typed", S("hello wo"), S("rld\n"), def },
	{ "partial line, erase after", S("hello wo"), S("\x7f\x7f\n"), def },
	{ "partial line, kill after", S("abc def"), S("\x15xyz\n"), def },
	{ "tab then erase across it", S("ab\tc"), S("\x7f\x7f\x7f\n"), def },
	{ "word erase after", S("foo bar"), S("\x17\n"), def },
	{ "reprint after", S("hello"), S("\x12!\n"), def },
	{ "control char echoed ^A, erase", S("a\x01"), S("\x7f\n"), def },
	{ "lines + EOF line + partial", S("line1\nline2\x04part"), S("ial\n"), def },
	{ "lone EOF pending", S("\x04"), S("x\n"), def },
	{ "NUL typed", S("a\0b"), S("\n"), def },
	{ "LNEXT-escaped specials", S("a\x16\x03" "b\x16\x7f" "c\x16\x15"), S("\n"), def },
	{ "CR with ICRNL", S("ab\rcd"), S("\n"), def },
	{ "EOL/EOL2 terminated", S("one@two#thr"), S("ee\n"), eol },
	{ "ECHOPRT erase", S("abcd"), S("\x7f\x7f" "x\n"), echoprt },
	{ "PARMRK and 0xff", S("a\xff" "b"), S("\n"), parmrk },
	{ "non-canonical pending", S("raw\x03\x7f\x15\x04 data"), S("!"), noncanon },
	{ "4095-char partial line", NULL, 0, S("\n"), def },
	{ "ECHOPRT erase in progress", S("abcd\x7f"), S("x\n"), echoprt, NULL, 3 },
	{ "LNEXT pending (^V typed last)", S("ab\x16"), S("\x15" "c\n"), def, NULL, 3 },
	{ "prompt, tab, erase the tab", S("a\tb"), S("\x7f\x7f\n"), def, "> ", 2 },
};

static int run(struct scen *sc, int mode) /* mode 0 reference, 1 leave running, 2 new pty */
{
	static unsigned char echo[3][16384], rd[3][16384];
	static int echon[3], rdn[3];
	char big[4096];
	const char *before = sc->before; int nb = sc->nb;
	if (!before) { memset(big, 'x', 4095); before = big; nb = 4095; }
	int s = -1, m = open_pair("/dev/ptmx", &s, NULL);
	struct termios2 t; tget(s, &t); sc->setup(&t); tset(s, &t);
	if (sc->prompt) write(s, sc->prompt, strlen(sc->prompt));
	write(m, before, nb);
	settle(m, s);
	unsigned char tmp[16384];
	drain(m, tmp, sizeof tmp); /* the terminal saw the echo of the typing */
	if (mode) {
		struct queue q;
		int sdup = dup(s);
		readout(sdup, &q, mode == 1 && nb < 100);
		int extra = drain(m, tmp, sizeof tmp);
		if (mode == 1 && extra) hexdump("UNEXPECTED output produced by read-out", tmp, extra);
		if (mode == 2) { /* restart: a new pty with the same termios, old one closed */
			int s2 = -1, m2 = open_pair("/dev/ptmx", &s2, NULL);
			tset(s2, &t);
			close(sdup); close(s); close(m);
			s = s2; m = m2; sdup = dup(s);
		}
		putback(m, sdup, &q);
		extra = drain(m, tmp, sizeof tmp);
		if (extra) hexdump("UNEXPECTED output produced by put-back", tmp, extra);
		struct termios2 t2; tget(s, &t2);
		if (memcmp(&t2, &t, sizeof t)) { printf("  FAIL termios not restored\n"); fails++; }
		close(sdup);
	}
	write(m, sc->after, sc->na);
	settle(m, s);
	echon[mode] = drain(m, echo[mode], sizeof echo[mode]);
	/* read what the slave gets: non-blocking reads until EAGAIN; record 0-length reads as '|EOF|' */
	fcntl(s, F_SETFL, O_NONBLOCK);
	rdn[mode] = 0;
	for (int i = 0; i < 100; i++) {
		ssize_t k = read(s, rd[mode] + rdn[mode], sizeof rd[mode] - rdn[mode]);
		if (k < 0) break;
		if (k == 0) { memcpy(rd[mode] + rdn[mode], "|EOF|", 5); rdn[mode] += 5; continue; }
		rdn[mode] += k;
		memcpy(rd[mode] + rdn[mode], "|", 1); rdn[mode] += 1;
	}
	close(s); close(m);
	if (mode == 0) return 0;
	int ok = echon[mode] == echon[0] && !memcmp(echo[mode], echo[0], echon[0]) && rdn[mode] == rdn[0] && !memcmp(rd[mode], rd[0], rdn[0]);
	if (sc->lossy & mode) {
		CHECK(!ok, "%-30s %s: differs from the reference, as expected (state lost)", sc->name, mode == 1 ? "leave-running" : "new pty     ");
		ok = 0;
	} else
		CHECK(ok, "%-30s %s: slave reads %d bytes, echo %d bytes, same as reference", sc->name, mode == 1 ? "leave-running" : "new pty     ", rdn[mode], echon[mode]);
	if (!ok || mode == 1) {
		hexdump("reference slave read", rd[0], rdn[0]);
		if (!ok) hexdump("restored  slave read", rd[mode], rdn[mode]);
		hexdump("reference echo after", echo[0], echon[0]);
		if (!ok) hexdump("restored  echo after", echo[mode], echon[mode]);
	}
	return ok;
}

int main(void)
{
	for (unsigned i = 0; i < sizeof scens / sizeof scens[0]; i++) {
		printf("-- %s\n", scens[i].name);
		run(&scens[i], 0);
		run(&scens[i], 1);
		run(&scens[i], 2);
	}
	/* FIONREAD on a canonical slave counts complete lines only */
	int s = -1, m = open_pair("/dev/ptmx", &s, NULL), v = -1;
	write(m, "ab\ncd", 5); settle(m, s);
	ioctl(s, FIONREAD, &v);
	CHECK(v == 3, "FIONREAD on a canonical slave with \"ab\\ncd\" queued: %d (partial line not counted)", v);
	struct pollfd p = { s, POLLIN, 0 };
	read(s, (char[8]){0}, 8);
	CHECK(poll(&p, 1, 0) == 0, "poll: a partial canonical line alone is not readable");
	/* switching ICANON off then on again with data queued turns the partial line into a line */
	struct termios2 T, t; tget(s, &T); t = T; t.c_lflag &= ~ICANON; tset(s, &t); tset(s, &T);
	char b[16]; int n = read(s, b, sizeof b);
	CHECK(n == 2, "ICANON off then on with \"cd\" queued: a canonical read returns \"cd\" (%d bytes) without newline: the data must be removed before ICANON is restored", n);
	close(s); close(m);
	/* VLNEXT in non-canonical mode: not special */
	m = open_pair("/dev/ptmx", &s, NULL);
	tget(s, &T); t = T; t.c_lflag &= ~(ICANON | ECHO | ISIG); t.c_lflag |= IEXTEN; t.c_cc[VMIN] = 0; t.c_cc[VTIME] = 0; tset(s, &t);
	write(m, "a\x16" "b", 3); settle(m, s);
	unsigned char nb[8]; n = drain(s, nb, sizeof nb);
	CHECK(n == 3 && nb[1] == 0x16, "non-canonical with IEXTEN: VLNEXT is stored as data (%d bytes read): it escapes only in canonical mode", n);
	close(s); close(m);
	/* locked termios: the read-out must clear the lock first */
	m = open_pair("/dev/ptmx", &s, NULL);
	write(m, "part", 4); settle(m, s);
	struct termios lk; memset(&lk, 0, sizeof lk); lk.c_lflag = ICANON | ECHO;
	ioctl(s, TIOCSLCKTRMIOS, &lk);
	tget(s, &T); t = T; t.c_lflag &= ~(ICANON | ECHO); t.c_cc[VMIN] = 0; t.c_cc[VTIME] = 0;
	int r = tset(s, &t);
	struct termios2 now; tget(s, &now);
	CHECK(r == 0 && (now.c_lflag & ICANON) && (now.c_lflag & ECHO) && now.c_cc[VMIN] == 0, "ICANON|ECHO locked: TCSETS2 without them returns 0 but keeps them (VMIN did change): read-out and put-back must lift the lock first");
	struct termios none; memset(&none, 0, sizeof none);
	ioctl(s, TIOCSLCKTRMIOS, &none); tset(s, &t);
	char pb[16]; n = drain(s, (unsigned char *)pb, sizeof pb);
	CHECK(n == 4, "with the lock lifted the partial line reads out (%d bytes); then termios and lock are put back", n);
	tset(s, &T); ioctl(s, TIOCSLCKTRMIOS, &lk);
	close(s); close(m);
	return finish("e02_input");
}
