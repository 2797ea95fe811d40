// SPDX-License-Identifier: MIT
/*
 * The pty workload of the soak (tests/soak/soak.sh, doc/reliability.md):
 * an echo loop through a pty, checked line by line, forever.
 *
 * The root holds the master. Its child is in a session of its own with the
 * slave as controlling terminal, in canonical mode without echo (ICRNL on
 * input, OPOST|ONLCR on output). The root writes numbered lines
 *
 *	L<seq> <payload>\n		payload: 1..80 printable bytes, from seq
 *
 * in chunks cut at random places (so a partial line often waits in the
 * line discipline) with up to WINDOW lines in flight, and the child, which
 * checks that the numbers follow on, answers each with
 *
 *	R<seq> <payload reversed> <fnv1a of the line, hex>\n
 *
 * which the root reads back as "...\r\n" and compares, byte for byte, with
 * what it computes itself. Any difference, a gap, no reply for 10 s of
 * waiting while one is due, or the child gone: "FAIL: why" and exit 1 (the child
 * writes its own complaint into the pty, which the root then reports).
 *
 * argv[1], if given: microseconds to pause after each line sent (default
 * 0: as fast as the pty goes).
 *
 * Twice a second the root prints "progress pty <replies> ns=<pid ns inode>"
 * to stdout: the driver checks that it advances, and tells the lines of a
 * restored copy (another pid namespace) from the original's. SIGUSR2: stop
 * sending, take every reply still due, print "PASS ns=..." and exit 0.
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include "cr/ptytest.h"

#define WINDOW	  8
#define LINE_MAX_ 128

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* Line SEQ as the root sends it (with its '\n'); returns the length. */
static size_t make_line(uint64_t seq, char *buf)
{
	uint64_t x = cr_xorshift64(seq * 0x9e3779b97f4a7c15ULL + 1);
	size_t n = (size_t)sprintf(buf, "L%llu ", (unsigned long long)seq), len = 1 + x % 80;

	for (size_t i = 0; i < len; i++) {
		x = cr_xorshift64(x);
		buf[n++] = (char)(0x21 + x % 94); /* '!'..'~': nothing special in canonical mode */
	}
	buf[n++] = '\n';
	return n;
}

/* The answer to LINE (LEN bytes, with its '\n'), with its '\n'; returns the length. */
static size_t make_reply(const char *line, size_t len, char *out)
{
	const char *payload = memchr(line, ' ', len);
	size_t n, plen;

	if (!payload || len < 3 || line[len - 1] != '\n')
		return 0;
	payload++;
	plen = (size_t)(line + len - 1 - payload);
	n = (size_t)sprintf(out, "R%.*s ", (int)(payload - 2 - line), line + 1);
	for (size_t i = 0; i < plen; i++)
		out[n++] = payload[plen - 1 - i];
	n += (size_t)sprintf(out + n, " %016llx\n", (unsigned long long)fnv1a(line, len));
	return n;
}

static unsigned long long ns_inode(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) ? 0 : (unsigned long long)st.st_ino;
}

/* The child: answers every line on its controlling terminal. */
static __attribute__((noreturn)) void echo_child(int slave)
{
	char line[4096], reply[2 * LINE_MAX_ + 64], want[LINE_MAX_];
	uint64_t seq = 1;
	struct termios2 t;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGHUP, SIG_IGN); /* the master's close at the end hangs the terminal up */
	if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0))
		cr_fail("child: setsid/TIOCSCTTY: %m");
	pt_get(slave, &t);
	t.c_iflag = ICRNL;
	t.c_oflag = OPOST | ONLCR;
	t.c_lflag = ISIG | ICANON | IEXTEN;
	pt_set(slave, &t);
	if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0)
		cr_fail("child: dup2: %m");
	if (slave > 1)
		close(slave);
	pt_write(1, "ready\n", 6);
	for (;;) {
		ssize_t k = read(0, line, sizeof(line));
		size_t n;

		if (k <= 0)
			_exit(0); /* the master is gone: hung up, or EIO */
		n = make_line(seq, want);
		if ((size_t)k != n || memcmp(line, want, n)) {
			n = (size_t)snprintf(reply, sizeof(reply), "child: line %llu is \"%s\"\n",
					     (unsigned long long)seq, pt_show(line, (size_t)k));
			pt_write(1, reply, n);
			_exit(4);
		}
		n = make_reply(line, (size_t)k, reply);
		pt_write(1, reply, n);
		seq++;
	}
}

int main(int argc, char **argv)
{
	long pause_us = argc > 1 ? atol(argv[1]) : 0; /* after each line sent whole */
	char tx[LINE_MAX_], rx[8192], want[2 * LINE_MAX_ + 64], line[LINE_MAX_];
	uint64_t sent = 0, done = 0; /* lines begun, replies checked */
	size_t tx_len = 0, tx_off = 0, rx_len = 0;
	int64_t last_print = 0;
	int master, slave, index, status, idle = 0; /* idle: seconds waited in vain */
	uint64_t rnd = 42;
	pid_t child;

	cr_init();
	cr_unblock();
	master = pt_open("/dev/ptmx", &slave, &index);
	child = fork();
	if (child < 0)
		cr_fail("fork: %m");
	if (child == 0) {
		close(master);
		echo_child(slave);
	}
	close(slave);
	pt_expect(master, "ready\r\n", 7, "the child's ready");
	printf("ready\n");
	for (;;) {
		struct pollfd p = { .fd = master, .events = POLLIN };
		int64_t now;
		int r, wait_ms;
		char *nl;

		/* send a chunk of the line, cut at a random place; a line begun is finished */
		if (tx_off < tx_len || (!cr_flag && sent - done < WINDOW)) {
			size_t chunk;

			if (tx_off == tx_len) {
				tx_len = make_line(++sent, tx);
				tx_off = 0;
			}
			rnd = cr_xorshift64(rnd);
			chunk = 1 + rnd % (tx_len - tx_off + 16);
			if (chunk > tx_len - tx_off)
				chunk = tx_len - tx_off;
			pt_write(master, tx + tx_off, chunk);
			tx_off += chunk;
			if (tx_off == tx_len && pause_us > 0)
				usleep((useconds_t)pause_us);
		}
		/* with a line to finish, only a look; with nothing due either, done */
		if (cr_flag && tx_off == tx_len && done == sent)
			break;
		wait_ms = tx_off < tx_len || (!cr_flag && sent - done < WINDOW) ? 0 : 1000;
		r = poll(&p, 1, wait_ms);
		if (r < 0 && errno != EINTR)
			cr_fail("poll: %m");
		/* counted in waits, not by the clock: a restored copy may come back much later */
		idle = r == 0 && wait_ms ? idle + 1 : 0;
		cr_check(idle < 10, "no reply for 10 s: %llu lines sent, %llu answered",
			 (unsigned long long)sent, (unsigned long long)done);
		if (r > 0) {
			ssize_t k = read(master, rx + rx_len, sizeof(rx) - rx_len);

			if (k <= 0)
				cr_fail("the child is gone (read: %s) after %llu replies",
					k ? strerror(errno) : "end of file",
					(unsigned long long)done);
			rx_len += (size_t)k;
		}
		while ((nl = memchr(rx, '\n', rx_len))) {
			size_t len = (size_t)(nl + 1 - rx), n;

			n = make_reply(line, make_line(done + 1, line), want);
			want[n - 1] = '\r';
			want[n++] = '\n';
			cr_check(done < sent && len == n && !memcmp(rx, want, n),
				 "reply %llu is \"%s\"", (unsigned long long)done + 1,
				 pt_show(rx, len));
			done++;
			memmove(rx, rx + len, rx_len - len);
			rx_len -= len;
		}
		cr_check(rx_len < sizeof(rx), "a reply longer than %zu bytes", sizeof(rx));
		now = cr_now_ns(CLOCK_MONOTONIC);
		if (now - last_print >= 500000000) {
			printf("progress pty %llu ns=%llu\n", (unsigned long long)done, ns_inode());
			last_print = now;
		}
	}
	cr_check(pt_read_all(master, rx, sizeof(rx), 50) == 0, "more replies than lines sent");
	close(master);
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		cr_fail("the child ended with status 0x%x", status);
	printf("PASS ns=%llu replies=%llu\n", ns_inode(), (unsigned long long)done);
	return 0;
}
