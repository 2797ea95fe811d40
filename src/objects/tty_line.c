// SPDX-License-Identifier: MIT
/*
 * The line state of a pty pair: gather and apply (tty_line.h).
 *
 * Every step here rests on a fact of doc/pty.md section 2; the comments
 * name the section. All I/O is non-blocking and paced with poll(), which
 * also runs the kernel's pending buffer work, so "not readable" means
 * "empty" (2.6). The descriptors may be the tree's own files: their
 * status flags are shared with the tasks and are put back as they were.
 */
#include "objects/tty_line.h"

#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

#define QUEUE_READ    65536 /* one read of a queue; more than the kernel ever holds (2.6) */
#define PUT_BACK_STEP 1024  /* bytes per write when refilling a queue (2.6) */
#define PUT_BACK_WAIT 2000  /* polls of 1 ms without progress before giving up */
#define MAX_SEGS      65536 /* lone VEOFs take a byte of buffer each: far above any queue */

static const uint8_t default_vlnext = 0x16; /* ^V */
static const uint8_t default_veof = 0x04;   /* ^D */

/* --- conversions: the image's layout is the kernel's, copied field by field -------- */

static void tio_from_kernel(const struct termios2 *k, struct rec_termios2 *r)
{
	r->c_iflag = k->c_iflag;
	r->c_oflag = k->c_oflag;
	r->c_cflag = k->c_cflag;
	r->c_lflag = k->c_lflag;
	r->c_line = k->c_line;
	memcpy(r->c_cc, k->c_cc, CRYO_NCCS);
	r->c_ispeed = k->c_ispeed;
	r->c_ospeed = k->c_ospeed;
}

static void tio_to_kernel(const struct rec_termios2 *r, struct termios2 *k)
{
	memset(k, 0, sizeof(*k));
	k->c_iflag = r->c_iflag;
	k->c_oflag = r->c_oflag;
	k->c_cflag = r->c_cflag;
	k->c_lflag = r->c_lflag;
	k->c_line = r->c_line;
	memcpy(k->c_cc, r->c_cc, CRYO_NCCS);
	k->c_ispeed = r->c_ispeed;
	k->c_ospeed = r->c_ospeed;
}

static void locked_from_kernel(const struct termios *k, struct rec_termios *r)
{
	r->c_iflag = k->c_iflag;
	r->c_oflag = k->c_oflag;
	r->c_cflag = k->c_cflag;
	r->c_lflag = k->c_lflag;
	r->c_line = k->c_line;
	memcpy(r->c_cc, k->c_cc, CRYO_NCCS);
}

static void locked_to_kernel(const struct rec_termios *r, struct termios *k)
{
	memset(k, 0, sizeof(*k));
	k->c_iflag = r->c_iflag;
	k->c_oflag = r->c_oflag;
	k->c_cflag = r->c_cflag;
	k->c_lflag = r->c_lflag;
	k->c_line = r->c_line;
	memcpy(k->c_cc, r->c_cc, CRYO_NCCS);
}

_Static_assert(NCCS == CRYO_NCCS, "the kernel's NCCS is the image's");

int tty_termios_get(int fd, struct rec_termios2 *t)
{
	struct termios2 k;

	if (ioctl(fd, TCGETS2, &k) < 0)
		return -errno;
	tio_from_kernel(&k, t);
	return 0;
}

static int tio_set(int fd, const struct termios2 *k)
{
	return ioctl(fd, TCSETS2, k) < 0 ? -errno : 0;
}

/* --- buffers ------------------------------------------------------------------- */

void tty_line_free(struct tty_line *l)
{
	free(l->in.data);
	free(l->out.data);
	free(l->segs);
	memset(l, 0, sizeof(*l));
}

static int bytes_reserve(struct tty_bytes *b, size_t more)
{
	size_t cap;
	uint8_t *n;

	if (b->len + more <= b->cap)
		return 0;
	if (b->len + more > CRYO_TTY_QUEUE_MAX + QUEUE_READ)
		return -EFBIG; /* one record's worth; the kernel holds about 20 KiB (2.6) */
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	n = realloc(b->data, cap);
	if (!n)
		return -ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

int tty_bytes_add(struct tty_bytes *b, const void *data, size_t len)
{
	int ret = bytes_reserve(b, len);

	if (ret)
		return ret;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int tty_line_add_seg(struct tty_line *l, uint32_t len, uint32_t end)
{
	if (l->nr_segs == l->segs_cap) {
		size_t cap = l->segs_cap ? l->segs_cap * 2 : 16;
		struct rec_tty_seg *n;

		if (cap > MAX_SEGS)
			return -EFBIG;
		n = realloc(l->segs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		l->segs = n;
		l->segs_cap = cap;
	}
	l->segs[l->nr_segs++] = (struct rec_tty_seg){ .len = len, .end = end };
	return 0;
}

/* --- small steps ------------------------------------------------------------------ */

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Runs the kernel's pending buffer work for FD's side (2.6). */
static void settle(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	poll(&p, 1, 0);
}

static int set_nonblock(int fd, int *ret_old)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	*ret_old = fl;
	return 0;
}

/*
 * Reads FD until it is empty, appending to B. In packet mode each read
 * starts with one header byte: TIOCPKT_DATA is dropped, a lone status byte
 * (it always comes alone, before data) goes to *status (2.7).
 */
static int drain(int fd, struct tty_bytes *b, bool packet, uint32_t *status)
{
	while (readable(fd)) {
		ssize_t n;
		int ret = bytes_reserve(b, QUEUE_READ);

		if (ret)
			return ret;
		n = read(fd, b->data + b->len, QUEUE_READ);
		if (n < 0 && (errno == EAGAIN || errno == EIO))
			break; /* EIO: a master whose slave is closed, once empty (2.10) */
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		if (packet) {
			if (b->data[b->len] != TIOCPKT_DATA) {
				*status |= b->data[b->len];
				continue;
			}
			memmove(b->data + b->len, b->data + b->len + 1, (size_t)n - 1);
			n--;
		}
		b->len += (size_t)n;
	}
	return 0;
}

/*
 * Writes LEN bytes to W at most PUT_BACK_STEP at a time, polling R (the
 * reading side) between writes so that the kernel moves them on: done so,
 * everything a queue held fits back in (2.6).
 */
static int put_back(int w, int r, const uint8_t *data, size_t len)
{
	size_t done = 0;
	int idle = 0;

	while (done < len) {
		size_t chunk = len - done > PUT_BACK_STEP ? PUT_BACK_STEP : len - done;
		ssize_t n = write(w, data + done, chunk);

		if (n < 0 && errno != EAGAIN)
			return -errno;
		settle(r);
		if (n > 0) {
			done += (size_t)n;
			idle = 0;
			continue;
		}
		if (++idle > PUT_BACK_WAIT)
			return -EAGAIN;
		usleep(1000);
	}
	return 0;
}

int tty_poison_slave(int m)
{
	int one = 1, zero = 0, fd, ret = 0;

	if (ioctl(m, TIOCSPTLCK, &one) < 0)
		return -errno;
	fd = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		ret = -EIO; /* the open should have failed */
	}
	if (ioctl(m, TIOCSPTLCK, &zero) < 0)
		ret = -errno;
	return ret;
}

/* --- gather ------------------------------------------------------------------------ */

int tty_line_read(int m, int s, struct tty_line *l)
{
	int fd = s >= 0 ? s : m, pkt = 0, lck = 0, excl = 0;
	struct termios2 t;
	struct termios lk;
	struct winsize ws;

	if (ioctl(fd, TCGETS2, &t) < 0 || ioctl(fd, TIOCGLCKTRMIOS, &lk) < 0 ||
	    ioctl(m, TIOCGWINSZ, &ws) < 0 || ioctl(m, TIOCGPKT, &pkt) < 0 ||
	    ioctl(m, TIOCGPTLCK, &lck) < 0 || ioctl(m, TIOCGEXCL, &excl) < 0)
		return -errno;
	tio_from_kernel(&t, &l->tio);
	locked_from_kernel(&lk, &l->locked);
	l->ws[0] = ws.ws_row;
	l->ws[1] = ws.ws_col;
	l->ws[2] = ws.ws_xpixel;
	l->ws[3] = ws.ws_ypixel;
	l->packet = pkt;
	l->pty_locked = lck;
	l->excl_master = excl;
	excl = 0;
	/* the slave's exclusive flag reads right only through the slave (2.2) */
	if (s >= 0 && ioctl(s, TIOCGEXCL, &excl) < 0)
		return -errno;
	l->excl_slave = excl;
	return 0;
}

int tty_line_read_slave(int s, struct tty_line *l)
{
	struct termios2 t;
	struct termios lk;
	struct winsize ws;
	int excl = 0;

	if (ioctl(s, TCGETS2, &t) < 0 || ioctl(s, TIOCGLCKTRMIOS, &lk) < 0 ||
	    ioctl(s, TIOCGWINSZ, &ws) < 0 || ioctl(s, TIOCGEXCL, &excl) < 0)
		return -errno;
	tio_from_kernel(&t, &l->tio);
	locked_from_kernel(&lk, &l->locked);
	l->ws[0] = ws.ws_row;
	l->ws[1] = ws.ws_col;
	l->ws[2] = ws.ws_xpixel;
	l->ws[3] = ws.ws_ypixel;
	l->excl_slave = excl;
	return 0;
}

void tty_line_default(struct tty_line *l)
{
	/* the kernel's tty_std_termios, as a pty slave has it (CS8, CREAD forced) */
	static const uint8_t cc[CRYO_NCCS] = { 0x03, 0x1c, 0x7f, 0x15, 0x04, 0,	   1,	 0, 0x11,
					       0x13, 0x1a, 0,	 0x12, 0x0f, 0x17, 0x16, 0 };

	memset(&l->tio, 0, sizeof(l->tio));
	memset(&l->locked, 0, sizeof(l->locked));
	l->tio.c_iflag = ICRNL | IXON;
	l->tio.c_oflag = OPOST | ONLCR;
	l->tio.c_cflag = B38400 | CS8 | CREAD | HUPCL;
	l->tio.c_lflag = ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN;
	memcpy(l->tio.c_cc, cc, CRYO_NCCS);
	l->tio.c_ispeed = 38400;
	l->tio.c_ospeed = 38400;
}

/*
 * Output flow control (2.8): a stopped slave refuses a non-blocking write.
 * VSTART typed on the master undoes a ^S stop, not a TCOOFF one. The probe
 * byte comes out on the master last; echo held back by the stop comes out
 * before it and belongs to the output queue.
 */
static int probe_flow(int m, int s, struct tty_line *l)
{
	struct termios2 t;
	const uint8_t probe = 'P';
	ssize_t n;
	int ret;

	tio_to_kernel(&l->tio, &t);
	t.c_oflag &= ~(unsigned)OPOST;
	ret = tio_set(s, &t);
	if (ret)
		return ret;
	n = write(s, &probe, 1);
	if (n < 0 && errno == EAGAIN) {
		if ((l->tio.c_iflag & IXON) && l->tio.c_cc[VSTART] &&
		    write(m, &l->tio.c_cc[VSTART], 1) == 1)
			settle(s);
		n = write(s, &probe, 1);
		if (n == 1) {
			l->stopped = TTY_STOPPED_VSTOP;
		} else {
			l->stopped = TTY_STOPPED_TCOOFF;
			if (ioctl(s, TCXONC, TCOON) < 0)
				return -errno;
			n = write(s, &probe, 1);
		}
	}
	if (n != 1)
		return n < 0 ? -errno : -EIO;
	for (int tries = 0; tries < PUT_BACK_WAIT; tries++) {
		size_t before = l->out.len;

		ret = drain(m, &l->out, false, &l->pktstatus);
		if (ret)
			return ret;
		if (l->out.len > before && l->out.data[l->out.len - 1] == probe) {
			l->out.len--;
			return 0;
		}
		usleep(1000);
	}
	return -EIO; /* the probe byte never came out */
}

/* The complete lines of a canonical queue, one per read (2.5). */
static int read_lines(int s, struct tty_line *l)
{
	const uint8_t *cc = l->tio.c_cc;

	while (readable(s)) {
		size_t start = l->in.len;
		uint32_t end;
		uint8_t last;
		ssize_t n;
		int ret = bytes_reserve(&l->in, QUEUE_READ);

		if (ret)
			return ret;
		n = read(s, l->in.data + start, QUEUE_READ);
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		last = n ? l->in.data[start + (size_t)n - 1] : 0;
		/* a line ends with its terminator, or with VEOF, which read() does not return */
		end = n && (last == '\n' || (last && last == cc[VEOL]) ||
			    (last && last == cc[VEOL2] && (l->tio.c_lflag & IEXTEN)))
			  ? TTY_SEG_LINE
			  : TTY_SEG_EOF;
		l->in.len += (size_t)n;
		ret = tty_line_add_seg(l, (uint32_t)n, end);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The input queue: complete lines with the real termios, then the rest
 * (the partial line, or a raw queue) with ICANON off and VMIN = VTIME = 0;
 * the real termios only once the queue is empty, or ICANON would turn the
 * partial line into a complete one (2.5).
 */
static int read_input(int s, struct tty_line *l)
{
	bool canon = (l->tio.c_lflag & ICANON) && !(l->tio.c_lflag & EXTPROC);
	struct termios2 real, raw;
	size_t before;
	int ret = 0;

	tio_to_kernel(&l->tio, &real);
	if (canon)
		ret = read_lines(s, l);
	raw = real;
	raw.c_lflag &= ~(unsigned)ICANON;
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (!ret)
		ret = tio_set(s, &raw);
	before = l->in.len;
	if (!ret)
		ret = drain(s, &l->in, false, &l->pktstatus);
	if (!ret && l->in.len > before)
		ret = tty_line_add_seg(l, (uint32_t)(l->in.len - before), TTY_SEG_PARTIAL);
	if (!ret)
		ret = tio_set(s, &real);
	return ret;
}

int tty_line_gather(int m, int s, struct tty_line *l)
{
	static const struct termios unlocked;
	int mflags = -1, sflags = -1, zero = 0, ret;

	ret = set_nonblock(m, &mflags);
	if (!ret)
		ret = set_nonblock(s, &sflags);
	/* the output first: a pending packet status is returned before any data (2.7) */
	if (!ret)
		ret = drain(m, &l->out, l->packet, &l->pktstatus);
	/* from here on, termios changes must neither make a status nor be ignored (2.5) */
	if (!ret && l->packet && ioctl(m, TIOCPKT, &zero) < 0)
		ret = -errno;
	if (!ret && ioctl(s, TIOCSLCKTRMIOS, &unlocked) < 0)
		ret = -errno;
	if (!ret)
		ret = probe_flow(m, s, l);
	if (!ret)
		ret = read_input(s, l);
	if (sflags >= 0)
		fcntl(s, F_SETFL, sflags);
	if (mflags >= 0)
		fcntl(m, F_SETFL, mflags);
	if (!ret && (l->in.len > CRYO_TTY_QUEUE_MAX || l->out.len > CRYO_TTY_QUEUE_MAX))
		ret = -EFBIG; /* more than one record holds; no pty queue is this long (2.6) */
	l->have_queues = !ret;
	return ret;
}

/* --- apply ------------------------------------------------------------------------- */

static bool special(const struct termios2 *t, uint8_t c)
{
	static const int specials[] = { VINTR, VQUIT, VERASE,	VKILL,	  VEOF,	   VSTART, VSTOP,
					VSUSP, VEOL,  VREPRINT, VDISCARD, VWERASE, VLNEXT, VEOL2 };

	if (c == '\n' || c == '\r')
		return true;
	for (size_t i = 0; i < sizeof(specials) / sizeof(specials[0]); i++)
		if (c && t->c_cc[specials[i]] == c)
			return true;
	return false;
}

/* Whether a raw queue holds VSTART or VSTOP bytes, which IXON would eat on the way back. */
static bool raw_flow_bytes(const struct tty_line *l, const struct termios2 *real)
{
	bool canon = (real->c_lflag & ICANON) && !(real->c_lflag & EXTPROC);

	if (canon || !(real->c_iflag & IXON))
		return false;
	for (size_t i = 0; i < l->in.len; i++)
		if ((real->c_cc[VSTART] && l->in.data[i] == real->c_cc[VSTART]) ||
		    (real->c_cc[VSTOP] && l->in.data[i] == real->c_cc[VSTOP]))
			return true;
	return false;
}

/*
 * The put-back termios (2.5): no echo, no signals, no input translation;
 * ICANON and EXTPROC as they are; VLNEXT and VEOF usable. IXON, VSTART and
 * VSTOP stay (changing them makes a packet status, and restarts stopped
 * output), except for a raw queue holding VSTART or VSTOP bytes: then IXON
 * goes for the put-back, or they would act instead of being queued; the
 * flow state is set after the queues anyway.
 */
static void put_back_termios(const struct tty_line *l, const struct termios2 *real,
			     struct termios2 *t)
{
	*t = *real;
	if (raw_flow_bytes(l, real))
		t->c_iflag &= ~(unsigned)IXON;
	if (real->c_lflag & EXTPROC)
		return; /* the line discipline stores input raw already */
	t->c_iflag &= IXON;
	t->c_lflag = (t->c_lflag & (ICANON | EXTPROC)) | IEXTEN;
	if (!t->c_cc[VLNEXT])
		t->c_cc[VLNEXT] = default_vlnext;
	if (!t->c_cc[VEOF])
		t->c_cc[VEOF] = default_veof;
}

/* The bytes to type so that the queue holds exactly the saved lines. */
static uint8_t *escape_input(const struct tty_line *l, const struct termios2 *t, size_t *ret_len)
{
	bool canon = (t->c_lflag & ICANON) && !(t->c_lflag & EXTPROC);
	uint8_t *out = malloc(2 * l->in.len + l->nr_segs + 1);
	const uint8_t *p = l->in.data;
	size_t n = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < l->nr_segs; i++) {
		const struct rec_tty_seg *seg = &l->segs[i];
		size_t body = seg->end == TTY_SEG_LINE ? seg->len - 1 : seg->len;

		for (size_t k = 0; k < body; k++) {
			if (canon && special(t, p[k]))
				out[n++] = t->c_cc[VLNEXT];
			out[n++] = p[k];
		}
		if (seg->end == TTY_SEG_LINE)
			out[n++] = p[body];
		else if (seg->end == TTY_SEG_EOF)
			out[n++] = t->c_cc[VEOF];
		p += seg->len;
	}
	*ret_len = n;
	return out;
}

static int apply_input(int m, int s, const struct tty_line *l, const struct termios2 *real)
{
	struct termios2 t;
	size_t len;
	uint8_t *typed;
	int ret;

	if (!l->in.len && !l->nr_segs)
		return 0;
	put_back_termios(l, real, &t);
	typed = escape_input(l, &t, &len);
	if (!typed)
		return -ENOMEM;
	ret = tio_set(s, &t);
	if (!ret)
		ret = put_back(m, s, typed, len);
	free(typed);
	return ret;
}

/* Output goes back with OPOST off: it was processed once already (2.6). */
static int apply_output(int m, int s, const struct tty_line *l, const struct termios2 *real)
{
	struct termios2 t = *real;
	int ret;

	if (!l->out.len)
		return 0;
	t.c_oflag &= ~(unsigned)OPOST;
	ret = tio_set(s, &t);
	if (!ret)
		ret = put_back(s, m, l->out.data, l->out.len);
	return ret;
}

/* Packet mode, with the pending status recreated on the still empty queues (2.7). */
static int apply_packet(int m, int s, const struct tty_line *l, const struct termios2 *real)
{
	uint32_t st = l->pktstatus;
	int one = 1;

	if (!l->packet)
		return 0;
	if (ioctl(m, TIOCPKT, &one) < 0)
		return -errno;
	if (s >= 0 && (st & TTY_PKT_FLUSHREAD) && ioctl(s, TCFLSH, TCIFLUSH) < 0)
		return -errno;
	if (s >= 0 && (st & TTY_PKT_FLUSHWRITE) && ioctl(s, TCFLSH, TCOFLUSH) < 0)
		return -errno;
	if (st & (TTY_PKT_DOSTOP | TTY_PKT_NOSTOP)) {
		struct termios2 t = *real;

		t.c_iflag ^= IXON; /* the opposite flow condition, then the real one */
		if (tio_set(s >= 0 ? s : m, &t) || tio_set(s >= 0 ? s : m, real))
			return -errno;
	}
	return 0;
}

/* Status bits that need the data in place, then the flow state (2.7, 2.8). */
static int apply_flow(int m, int s, const struct tty_line *l, const struct termios2 *real)
{
	if (s < 0)
		return 0;
	if (l->packet && (l->pktstatus & TTY_PKT_IOCTL) && (real->c_lflag & EXTPROC) &&
	    tio_set(s, real))
		return -errno;
	if (l->packet && (l->pktstatus & TTY_PKT_START) && l->stopped == TTY_RUNNING &&
	    (ioctl(s, TCXONC, TCOOFF) < 0 || ioctl(s, TCXONC, TCOON) < 0))
		return -errno;
	if (l->stopped == TTY_STOPPED_VSTOP) {
		if (write(m, &real->c_cc[VSTOP], 1) != 1)
			return -errno;
		settle(s);
	} else if (l->stopped == TTY_STOPPED_TCOOFF && ioctl(s, TCXONC, TCOOFF) < 0) {
		return -errno;
	}
	return 0;
}

static int apply_excl_locked(int m, int s, const struct tty_line *l)
{
	struct termios lk;

	if (ioctl(m, l->excl_master ? TIOCEXCL : TIOCNXCL) < 0)
		return -errno;
	if (s >= 0 && ioctl(s, l->excl_slave ? TIOCEXCL : TIOCNXCL) < 0)
		return -errno;
	locked_to_kernel(&l->locked, &lk);
	/* last: the locked fields keep the values just set (issue 4) */
	return ioctl(s >= 0 ? s : m, TIOCSLCKTRMIOS, &lk) < 0 ? -errno : 0;
}

/* Runs one step unless an earlier one failed; the first failure and its name are kept. */
static void step(int *ret, const char **ret_step, const char *name,
		 int (*fn)(int, int, const struct tty_line *, const struct termios2 *), int m,
		 int s, const struct tty_line *l, const struct termios2 *real)
{
	if (*ret)
		return;
	*ret = fn(m, s, l, real);
	if (*ret)
		*ret_step = name;
}

static int apply_termios(int m, int s, const struct tty_line *l, const struct termios2 *real)
{
	(void)l;
	return tio_set(s >= 0 ? s : m, real);
}

static int apply_winsize(int m, int s, const struct tty_line *l, const struct termios2 *real)
{
	struct winsize ws = { l->ws[0], l->ws[1], l->ws[2], l->ws[3] };

	(void)s;
	(void)real;
	return ioctl(m, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

static int apply_excl_locked_step(int m, int s, const struct tty_line *l,
				  const struct termios2 *real)
{
	(void)real;
	return apply_excl_locked(m, s, l);
}

int tty_line_apply(int m, int s, const struct tty_line *l, const char **ret_step)
{
	int mflags = -1, sflags = -1, ret = 0;
	struct termios2 real;

	tio_to_kernel(&l->tio, &real);
	*ret_step = "";
	step(&ret, ret_step, "setting its termios", apply_termios, m, s, l, &real);
	step(&ret, ret_step, "setting its window size", apply_winsize, m, s, l, &real);
	step(&ret, ret_step, "setting packet mode", apply_packet, m, s, l, &real);
	if (s >= 0) {
		if (!ret && (set_nonblock(m, &mflags) || set_nonblock(s, &sflags))) {
			ret = -errno;
			*ret_step = "making its descriptors non-blocking";
		}
		step(&ret, ret_step, "putting back its input queue", apply_input, m, s, l, &real);
		step(&ret, ret_step, "putting back its output queue", apply_output, m, s, l, &real);
	}
	if (ret) {
		/*
		 * Best effort after a failure: the real termios, the flow state, the
		 * exclusive flags and the lock, so the pair is not left with the
		 * put-back's termios (no echo, no signals) or an unlocked termios.
		 */
		apply_termios(m, s, l, &real);
		if (s >= 0)
			apply_flow(m, s, l, &real);
		apply_excl_locked(m, s, l);
	} else {
		step(&ret, ret_step, "setting its termios", apply_termios, m, s, l, &real);
		if (s >= 0)
			step(&ret, ret_step, "setting its flow control", apply_flow, m, s, l,
			     &real);
		step(&ret, ret_step, "setting its exclusive flags and locked termios",
		     apply_excl_locked_step, m, s, l, &real);
	}
	if (sflags >= 0)
		fcntl(s, F_SETFL, sflags);
	if (mflags >= 0)
		fcntl(m, F_SETFL, mflags);
	return ret;
}
