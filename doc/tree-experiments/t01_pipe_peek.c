/*
 * t01_pipe_peek: read the bytes buffered in another process's pipe without consuming
 * them. The pipe belongs to a puppet; we fetch its read end with pidfd_getfd, tee(2)
 * it (SPLICE_F_NONBLOCK) into a pipe of our own and read that one. The owner then reads
 * its pipe itself and compares with what it wrote.
 * Also: F_GETPIPE_SZ, tee with a destination smaller than the data, how tee treats the
 * individual pipe buffers (seen through an O_DIRECT destination: one read per buffer),
 * the shared O_NONBLOCK flag, and putting the bytes back into a fresh pipe.
 */
#include "common.h"

#define KiB 1024
static unsigned char pattern[2 * 1024 * 1024];
static void make_pattern(void)
{
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof pattern; i++) { x = x * 1103515245u + 12345u; pattern[i] = x >> 16; }
}

/* ---- run in the owner puppet ---- */
static int own_r = -1, own_w = -1;
/* new pipe (flags for pipe2), size set if nonzero, then `chunk`-byte writes of the pattern
 * until n bytes are in; returns the bytes written; x = {read end, write end} */
static long f_make_pipe(long flags, long size, long n_chunk)
{
	int p[2];
	if (pipe2(p, flags | O_NONBLOCK)) return -1;
	if (size && fcntl(p[1], F_SETPIPE_SZ, (int)size) < 0) return -2;
	own_r = p[0]; own_w = p[1];
	long n = n_chunk & 0xffffffff, chunk = n_chunk >> 32, done = 0;
	if (!chunk) chunk = n;
	while (done < n) {
		long k = n - done < chunk ? n - done : chunk;
		ssize_t w = write(own_w, pattern + done, k);
		if (w <= 0) break;
		done += w;
	}
	/* the owner's fds are blocking again, as a normal program's would be */
	fcntl(own_r, F_SETFL, fcntl(own_r, F_GETFL) & ~O_NONBLOCK);
	fcntl(own_w, F_SETFL, fcntl(own_w, F_GETFL) & ~O_NONBLOCK);
	pup_x[0] = own_r; pup_x[1] = own_w;
	return done;
}
/* consume `skip` bytes from the owner's read end (to leave a partly read first buffer) */
static long f_consume(long skip, long b, long c)
{
	(void)b; (void)c;
	static unsigned char tmp[8192];
	return read(own_r, tmp, skip);
}
/* the owner reads everything (non-blocking) and compares with pattern[from..]; returns
 * bytes read, x[0] = number of bytes matching the pattern in order */
static long f_read_verify(long from, long b, long c)
{
	(void)b; (void)c;
	static unsigned char buf[2 * 1024 * 1024];
	int fl = fcntl(own_r, F_GETFL);
	fcntl(own_r, F_SETFL, fl | O_NONBLOCK);
	long n = 0;
	for (;;) {
		ssize_t k = read(own_r, buf + n, sizeof buf - n);
		if (k <= 0) break;
		n += k;
	}
	fcntl(own_r, F_SETFL, fl);
	long same = 0;
	while (same < n && buf[same] == pattern[from + same]) same++;
	pup_x[0] = same;
	close(own_r); close(own_w);
	return n;
}
static long f_getfl(long fd, long b, long c) { (void)b; (void)c; return fcntl(fd, F_GETFL); }

/* ---- run here ---- */
/* tee everything from rfd into a new pipe (size dsize if nonzero, O_DIRECT if packet) and
 * read it out; returns the tee result; *nread bytes land in buf; sizes[] gets each read's size */
static ssize_t peek(int rfd, size_t len, unsigned char *buf, size_t cap, int dsize, int packet,
		    ssize_t *nread, int *sizes, int *nsizes)
{
	int q[2];
	if (pipe2(q, O_NONBLOCK | O_CLOEXEC | (packet ? O_DIRECT : 0))) DIE("pipe2");
	if (dsize && fcntl(q[1], F_SETPIPE_SZ, dsize) < 0) DIE("F_SETPIPE_SZ dest");
	ssize_t t = tee(rfd, q[1], len, SPLICE_F_NONBLOCK);
	int e = errno;
	ssize_t n = 0;
	int ns = 0;
	for (;;) {
		ssize_t k = read(q[0], buf + n, packet ? 65536 : cap - n);
		if (k <= 0) break;
		if (sizes && ns < 64) sizes[ns] = k;
		ns++;
		n += k;
	}
	if (nsizes) *nsizes = ns;
	*nread = n;
	close(q[0]); close(q[1]);
	errno = e;
	return t;
}
static unsigned char got[2 * 1024 * 1024], got2[2 * 1024 * 1024];

static long fionread(int fd) { int v = -1; ioctl(fd, FIONREAD, &v); return v; }

static void sizes_str(char *out, const int *s, int n)
{
	out[0] = 0;
	for (int i = 0; i < n && i < 20; i++) sprintf(out + strlen(out), "%s%d", i ? "," : "", s[i]);
	if (n > 20) strcat(out, ",...");
}

int main(void)
{
	begin("t01_pipe_peek");
	make_pattern();
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	struct puppet own = pup_spawn();
	ssize_t nread;
	int sizes[64], ns;
	char sz[256];

	printf("-- 60 KiB in a default pipe, peeked from outside\n");
	long n = pcall(&own, f_make_pipe, 0, 0, 60 * KiB);
	int orfd = pup_last_x[0];
	CHECK(n == 60 * KiB, "owner wrote 60 KiB into a new pipe (%ld)", n);
	int r = getfd_of(own.pid, pup_last_x[0]);
	CHECK(r >= 0, "pidfd_getfd of the owner's read end: fd %d", r);
	CHECK(kcmp_(getpid(), own.pid, KCMP_FILE, r, orfd) == 0, "kcmp KCMP_FILE: the fetched fd is the owner's open file description");
	long psz = fcntl(r, F_GETPIPE_SZ);
	CHECK(psz == 64 * KiB, "F_GETPIPE_SZ on the fetched read end: %ld", psz);
	CHECK(fionread(r) == 60 * KiB, "FIONREAD on the fetched fd: %ld bytes buffered", fionread(r));
	ssize_t t = peek(r, INT_MAX, got, sizeof got, 0, 0, &nread, NULL, NULL);
	CHECK(t == 60 * KiB && nread == t && !memcmp(got, pattern, t), "tee into a default (64 KiB) pipe returns %zd, and reading that pipe gives the 60 KiB in order", t);
	CHECK(fionread(r) == 60 * KiB, "after tee the pipe still holds %ld bytes", fionread(r));
	t = peek(r, INT_MAX, got2, sizeof got2, 0, 0, &nread, NULL, NULL);
	CHECK(t == 60 * KiB && !memcmp(got2, got, t), "a second tee returns the same bytes again (%zd)", t);
	t = peek(r, 100, got2, sizeof got2, 0, 0, &nread, NULL, NULL);
	ssize_t t2 = peek(r, 100, got2 + 100, sizeof got2, 0, 0, &nread, NULL, NULL);
	CHECK(t == 100 && t2 == 100 && !memcmp(got2, pattern, 100) && !memcmp(got2 + 100, pattern, 100),
	      "tee with len 100, twice: both return the first 100 bytes (tee always starts at the head; no paging)");
	t = peek(r, INT_MAX, got, sizeof got, 4096, 0, &nread, NULL, NULL);
	CHECK(t == 4096, "tee into a one-page (one-slot) pipe copies %zd bytes: one 60 KiB write made full-page buffers", t);

	printf("-- O_NONBLOCK is on the shared open file description\n");
	long fl = pcall(&own, f_getfl, orfd, 0, 0);
	CHECK(!(fl & O_NONBLOCK), "owner's read end is blocking (flags %#lo)", fl);
	fcntl(r, F_SETFL, fcntl(r, F_GETFL) | O_NONBLOCK);
	fl = pcall(&own, f_getfl, orfd, 0, 0);
	CHECK(fl & O_NONBLOCK, "after F_SETFL O_NONBLOCK on our fetched fd the owner's fd is non-blocking too (%#lo)", fl);
	fcntl(r, F_SETFL, fcntl(r, F_GETFL) & ~O_NONBLOCK);
	fl = pcall(&own, f_getfl, orfd, 0, 0);
	CHECK(!(fl & O_NONBLOCK), "clearing it again restores the owner's flags (%#lo): tee's SPLICE_F_NONBLOCK needs no F_SETFL", fl);

	printf("-- putting the peeked bytes into a fresh pipe\n");
	t = peek(r, INT_MAX, got, sizeof got, 0, 0, &nread, NULL, NULL);
	int f[2];
	pipe2(f, O_NONBLOCK | O_CLOEXEC);
	ssize_t w = write(f[1], got, nread);
	CHECK(w == 60 * KiB, "60 KiB written in one write into a fresh default pipe: %zd (fits)", w);
	ssize_t rb = read(f[0], got2, sizeof got2);
	CHECK(rb == 60 * KiB && !memcmp(got2, pattern, rb), "reading the fresh pipe gives the same 60 KiB");
	w = write(f[1], pattern, 64 * KiB);
	ssize_t w2 = write(f[1], pattern, 1);
	CHECK(w == 64 * KiB && w2 < 0 && errno == EAGAIN, "a fresh pipe takes exactly 64 KiB (write %zd), then EAGAIN", w);
	close(f[0]); close(f[1]);

	long nn = pcall(&own, f_read_verify, 0, 0, 0);
	CHECK(nn == 60 * KiB && pup_last_x[0] == nn, "the owner then reads all %ld bytes itself, in order (%ld match)", nn, pup_last_x[0]);
	close(r);

	printf("-- 1 MiB pipe (F_SETPIPE_SZ) holding 1000 KiB\n");
	n = pcall(&own, f_make_pipe, 0, 1024 * KiB, 1000 * KiB);
	CHECK(n == 1000 * KiB, "owner set 1 MiB and wrote %ld bytes", n);
	r = getfd_of(own.pid, pup_last_x[0]);
	psz = fcntl(r, F_GETPIPE_SZ);
	CHECK(psz == 1024 * KiB, "F_GETPIPE_SZ on the fetched fd: %ld", psz);
	t = peek(r, INT_MAX, got, sizeof got, 0, 0, &nread, NULL, NULL);
	CHECK(t == 64 * KiB && !memcmp(got, pattern, t), "tee into a default 64 KiB pipe copies only %zd bytes (the 16 buffers that fit)", t);
	t = peek(r, INT_MAX, got, sizeof got, 4096, 0, &nread, NULL, NULL);
	CHECK(t == 4096, "tee into a one-page (one buffer) pipe copies %zd bytes", t);
	t = peek(r, INT_MAX, got, sizeof got, 1024 * KiB, 0, &nread, NULL, NULL);
	CHECK(t == 1000 * KiB && nread == t && !memcmp(got, pattern, t), "tee into a 1 MiB pipe copies all %zd bytes, in order", t);
	CHECK(fionread(r) == 1000 * KiB, "and the owner's pipe still holds %ld bytes", fionread(r));
	pipe2(f, O_NONBLOCK | O_CLOEXEC);
	w = write(f[1], got, nread);
	CHECK(w == 64 * KiB, "write-back into a default-size fresh pipe stops at %zd: set F_SETPIPE_SZ first", w);
	close(f[0]); close(f[1]);
	pipe2(f, O_NONBLOCK | O_CLOEXEC);
	fcntl(f[1], F_SETPIPE_SZ, 1024 * KiB);
	w = write(f[1], got, nread);
	rb = read(f[0], got2, sizeof got2);
	CHECK(w == 1000 * KiB && rb == w && !memcmp(got2, pattern, rb), "fresh pipe with F_SETPIPE_SZ 1 MiB takes all %zd bytes in one write and gives them back", w);
	close(f[0]); close(f[1]);
	nn = pcall(&own, f_read_verify, 0, 0, 0);
	CHECK(nn == 1000 * KiB && pup_last_x[0] == nn, "the owner reads all %ld bytes itself, in order", nn);
	close(r);

	printf("-- data in several, partly filled pipe buffers\n");
	n = pcall(&own, f_make_pipe, 0, 0, (100L << 32) | 1000);
	r = getfd_of(own.pid, pup_last_x[0]);
	t = peek(r, INT_MAX, got, sizeof got, 0, 1, &nread, sizes, &ns);
	sizes_str(sz, sizes, ns);
	CHECK(t == 1000 && ns == 1 && !memcmp(got, pattern, 1000), "ten 100-byte writes to a normal pipe are merged into one buffer: tee %zd, buffers %s", t, sz);
	pcall(&own, f_read_verify, 0, 0, 0);
	close(r);

	n = pcall(&own, f_make_pipe, 0, 0, 3 * 4096);
	orfd = pup_last_x[0];
	pcall(&own, f_consume, 100, 0, 0);
	r = getfd_of(own.pid, orfd);
	t = peek(r, INT_MAX, got, sizeof got, 4096, 0, &nread, NULL, NULL);
	CHECK(t == 4096 - 100 && !memcmp(got, pattern + 100, t),
	      "3 pages written, 100 bytes read: tee into a one-slot pipe copies %zd bytes from the read position (the partly read first buffer)", t);
	t = peek(r, INT_MAX, got, sizeof got, 0, 0, &nread, NULL, NULL);
	CHECK(t == 3 * 4096 - 100 && nread == t && !memcmp(got, pattern + 100, t), "tee into a default pipe: all %zd remaining bytes, in order", t);
	t = peek(r, 50, got, sizeof got, 0, 0, &nread, NULL, NULL);
	CHECK(t == 50 && !memcmp(got, pattern + 100, 50), "tee with len 50 splits the first buffer: %zd bytes from the read position", t);
	nn = pcall(&own, f_read_verify, 100, 0, 0);
	CHECK(nn == 3 * 4096 - 100 && pup_last_x[0] == nn, "owner still reads %ld bytes, in order", nn);
	close(r);

	n = pcall(&own, f_make_pipe, O_DIRECT, 0, (100L << 32) | 1000);
	r = getfd_of(own.pid, pup_last_x[0]);
	int wr = getfd_of(own.pid, pup_last_x[1]);
	CHECK(!(fcntl(r, F_GETFL) & O_DIRECT) && (fcntl(wr, F_GETFL) & O_DIRECT),
	      "packet-mode pipe2(O_DIRECT): O_DIRECT shows on the write end only (read end %#o, write end %#o)", fcntl(r, F_GETFL), fcntl(wr, F_GETFL));
	t = peek(r, INT_MAX, got, sizeof got, 0, 0, &nread, sizes, &ns);
	sizes_str(sz, sizes, ns);
	CHECK(t == 1000 && ns == 10 && !memcmp(got, pattern, 1000), "ten 100-byte writes to it: tee copies %zd bytes into a normal pipe, whose reads still return one packet each (%s): the packet mark travels with each buffer", t, sz);
	t = peek(r, INT_MAX, got, sizeof got, 4096, 0, &nread, sizes, &ns);
	CHECK(t == 100, "tee into a one-slot pipe copies one 100-byte packet (%zd)", t);
	close(r); close(wr);
	pcall(&own, f_read_verify, 0, 0, 0);
	int d[2];
	pipe2(d, O_NONBLOCK);
	fcntl(d[1], F_SETFL, fcntl(d[1], F_GETFL) | O_DIRECT);
	write(d[1], "abc", 3); write(d[1], "de", 2);
	char pk[8];
	ssize_t k1 = read(d[0], pk, sizeof pk), k2 = read(d[0], pk, sizeof pk);
	CHECK(k1 == 3 && k2 == 2, "F_SETFL O_DIRECT on a plain pipe's write end turns packet mode on (reads %zd, %zd): it can be restored by fcntl", k1, k2);
	close(d[0]); close(d[1]);

	n = pcall(&own, f_make_pipe, O_DIRECT, 0, (100L << 32) | 1700);
	NOTE("O_DIRECT pipe of 16 slots: 17 writes of 100 bytes stop after %ld bytes (EAGAIN): full by slot count", n);
	CHECK(n == 1600, "a default pipe holds at most 16 packets (%ld bytes)", n);
	pcall(&own, f_read_verify, 0, 0, 0);

	printf("-- tee on an empty pipe\n");
	int e[2], q[2];
	pipe(e); pipe(q);
	t = tee(e[0], q[1], 4096, SPLICE_F_NONBLOCK);
	CHECK(t < 0 && errno == EAGAIN, "tee from an empty pipe (blocking fd) with SPLICE_F_NONBLOCK: EAGAIN, no blocking");
	close(e[1]);
	t = tee(e[0], q[1], 4096, SPLICE_F_NONBLOCK);
	CHECK(t == 0, "after the last writer closed it: tee returns 0 (%zd)", t);
	return finish("t01_pipe_peek");
}
