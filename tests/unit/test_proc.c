// SPDX-License-Identifier: MIT
/*
 * The /proc reader: first the parsers fed text we wrote (odd, truncated,
 * hostile), then every reader against this process and forked children whose
 * state we set up ourselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/proc.h"
#include "lib/util.h"
#include "tap.h"

#define NR_MANY_VMAS 10000

static char tmpdir[PATH_MAX];
static size_t page_size;

/* --- helpers ---------------------------------------------------------------------------------- */

/*
 * check_int(CALL, ==, WANT) as a plain function call: cppcheck then sees
 * CALL run, and its outputs written, before the branch on the result.
 */
#define check_ret(call, want) check_ret_at((call), (want), __LINE__, #call " == " #want)

static int check_ret_at(long r, long want, int line, const char *what)
{
	int ok = tap_result(r == want, __FILE__, line, what);

	if (!ok)
		printf("#   left: %ld\n#  right: %ld\n", r, want);
	return ok;
}

static void tmp_path(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", tmpdir, name) >= size)
		abort();
}

/* A file of LEN bytes, every page starting with its index; O_RDWR descriptor or -1. */
static int make_file(const char *path, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t off;

	if (fd < 0)
		return -1;
	for (off = 0; off < len; off += page_size) {
		char c = (char)(off / page_size);

		if (pwrite(fd, &c, 1, (off_t)off) != 1) {
			close(fd);
			return -1;
		}
	}
	if (ftruncate(fd, (off_t)len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static const struct proc_vma *vma_at(const struct proc_vma_list *l, const void *addr)
{
	uint64_t a = (uintptr_t)addr;
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (l->vmas[i].start <= a && a < l->vmas[i].end)
			return &l->vmas[i];
	return NULL;
}

static const struct proc_vma *vma_named(const struct proc_vma_list *l, const char *path)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (!strcmp(l->vmas[i].path, path))
			return &l->vmas[i];
	return NULL;
}

static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * Forks a child that runs SETUP, sends back LEN bytes of REPORT, and sleeps
 * until killed. Returns once the report is in: the child's pid, or -1.
 */
static pid_t spawn(void (*setup)(void *report), void *report, size_t len)
{
	char ready = 'r';
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (setup)
			setup(report);
		if (write_full(p[1], report, len) || write_full(p[1], &ready, 1))
			_exit(1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid > 0 && (read_full(p[0], report, len) || read_full(p[0], &ready, 1))) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

static void reap(pid_t pid)
{
	int status = 0;

	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	check_int(waitpid(pid, &status, 0), ==, pid);
}

/* Waits for a task to reach STATE ('S' once in pause(), 'Z' once exited); returns its stat. */
static int wait_state(pid_t pid, pid_t tid, char state, struct proc_stat *st)
{
	int i, r = -ETIMEDOUT;

	for (i = 0; i < 5000; i++) {
		r = proc_read_stat(pid, tid, st);
		if (r || st->state == state)
			return r;
		usleep(1000);
	}
	return r;
}

/* --- parsers on text we wrote ----------------------------------------------------------------- */

static void test_parse_maps_good(void)
{
	static const char text[] =
	    "00400000-00452000 r-xp 00001000 fe:01 173521                     /usr/bin/a b\n"
	    "7f0000000000-7f0000001000 rw-s 0000000a 103:1a 18446744073709551615 /dev/zero "
	    "(deleted)\n"
	    "7f0000001000-7f0000002000 ---p 00000000 00:00 0 \n"
	    "7f0000002000-7f0000003000 rw-p 00000000 00:00 0\n"
	    "7f0000003000-7f0000004000 r--p 00000000 00:05 9                          "
	    "/tmp/new\\012line (deleted)\n"
	    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
	struct proc_vma_list l;
	const struct proc_vma *v;

	if (!check_ret(proc_parse_maps(text, sizeof(text) - 1, &l), 0))
		return;
	check_uint(l.nr, ==, 6);
	v = &l.vmas[0];
	check_uint(v->start, ==, 0x400000);
	check_uint(v->end, ==, 0x452000);
	check_uint(v->pgoff, ==, 0x1000);
	check_uint(v->prot, ==, PROT_READ | PROT_EXEC);
	check(!v->shared);
	check_uint(v->dev_major, ==, 0xfe);
	check_uint(v->dev_minor, ==, 1);
	check_uint(v->ino, ==, 173521);
	check_str(v->path, "/usr/bin/a b");
	v = &l.vmas[1];
	check(v->shared && v->prot == (PROT_READ | PROT_WRITE));
	check_uint(v->dev_major, ==, 0x103);
	check_uint(v->dev_minor, ==, 0x1a);
	check_uint(v->ino, ==, UINT64_MAX);
	check_uint(v->pgoff, ==, 10);
	check_str(v->path, "/dev/zero (deleted)");
	check_uint(l.vmas[2].prot, ==, 0);
	check_str(l.vmas[2].path, "");
	check_str(l.vmas[3].path, "");
	check_str(l.vmas[4].path, "/tmp/new\\012line (deleted)");
	check_str(l.vmas[5].path, "[vsyscall]");
	check_uint(l.vmas[5].end, ==, 0xffffffffff601000ull);
	check_uint(l.vmas[5].prot, ==, PROT_EXEC);
	proc_vma_list_free(&l);
	check(l.vmas == NULL && l.storage == NULL && l.nr == 0);
	proc_vma_list_free(&l);

	check_int(proc_parse_maps("", 0, &l), ==, 0);
	check(l.nr == 0 && l.vmas == NULL && l.storage == NULL);
}

/* A name of 100,000 bytes: a line far beyond any fixed buffer. */
static void test_parse_maps_long(void)
{
	static const char head[] = "1000-2000 r--p 00000000 08:01 12 /";
	size_t n = 100000, hl = sizeof(head) - 1;
	char *text = malloc(hl + n + 2);
	struct proc_vma_list l;

	if (!text)
		return;
	memcpy(text, head, hl);
	memset(text + hl, 'x', n);
	memcpy(text + hl + n, "\n", 2);
	if (check_ret(proc_parse_maps(text, hl + n + 1, &l), 0)) {
		check_uint(l.nr, ==, 1);
		check_uint(strlen(l.vmas[0].path), ==, n + 1);
		proc_vma_list_free(&l);
	}
	free(text);
}

static void test_parse_maps_bad(void)
{
	static const char *const bad[] = {
		"hello\n",
		"\n",
		"1000-2000 r--p 0 08:01 12 /a\n\n",
		"1000 r--p 0 08:01 12\n",
		"1000-2000 rwzp 0 08:01 12\n",
		"1000-2000 r--x 0 08:01 12\n",
		"1000-2000 r--p 0 0801 12\n",
		"1000-2000 r--p 0 08:01\n",
		"1000-2000 r--p 0 08:01 12x /a\n",
		"2000-1000 r--p 0 08:01 12\n",
		"1000-2000 r--p 0 100000000:01 12\n",
		"1000-2000 r--p 0 08:01 18446744073709551616\n",
		"10000000000000000-10000000000000001 r--p 0 08:01 12\n",
		"1000-2000 r--p 0 08:01 12 /a\n3000-4000 r--p\n",
	};
	struct proc_vma_list l = { NULL, 12345, NULL };
	size_t i;
	bool ok = true;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = proc_parse_maps(bad[i], strlen(bad[i]), &l);

		if (r != -EINVAL || l.nr != 12345) {
			printf("#   accepted: \"%s\" (%d)\n", bad[i], r);
			ok = false;
		}
	}
	check(ok);
	/* A NUL would make the storage walk go astray. */
	check_int(proc_parse_maps("1000-2000 r--p 0 08:01 12 /a\0b\n", 31, &l), ==, -EINVAL);
	check_uint(l.nr, ==, 12345);
}

/* A stat line: field N holds N * 11, but for the overrides; COMM and FIELDS (3..) as given. */
static size_t make_stat(char *buf, size_t size, const char *comm, int fields)
{
	size_t len = (size_t)snprintf(buf, size, "4242 (%s) S", comm);
	int n;

	for (n = 4; n <= fields && len < size; n++) {
		if (n == 8)
			len += (size_t)snprintf(buf + len, size - len, " -1");
		else if (n == 25)
			len += (size_t)snprintf(buf + len, size - len, " 18446744073709551615");
		else
			len += (size_t)snprintf(buf + len, size - len, " %d", n * 11);
	}
	len += (size_t)snprintf(buf + len, size - len, "\n");
	return len;
}

static void test_parse_stat(void)
{
	struct proc_stat st;
	char buf[1024];
	size_t len = make_stat(buf, sizeof(buf), "a) b (c", 52);

	if (!check_ret(proc_parse_stat(buf, len, &st), 0))
		return;
	check_str(st.comm, "a) b (c");
	check_int(st.state, ==, 'S');
	check_int(st.ppid, ==, 44);
	check_int(st.pgrp, ==, 55);
	check_int(st.session, ==, 66);
	check_int(st.tty_nr, ==, 77);
	check_int(st.tpgid, ==, -1);
	check_uint(st.flags, ==, 99);
	check_int(st.num_threads, ==, 220);
	check_uint(st.starttime, ==, 242);
	check_uint(st.start_code, ==, 286);
	check_uint(st.end_code, ==, 297);
	check_uint(st.start_stack, ==, 308);
	check_uint(st.sigpending, ==, 341);
	check_uint(st.sigcatch, ==, 374);
	check_uint(st.start_data, ==, 495);
	check_uint(st.env_end, ==, 561);
	check_int(st.exit_code, ==, 572);

	len = make_stat(buf, sizeof(buf), "kworker/u8:1-events_unbound", 55);
	check_int(proc_parse_stat(buf, len, &st), ==, 0);
	check_str(st.comm, "kworker/u8:1-ev");
	len = make_stat(buf, sizeof(buf), "", 52);
	check_int(proc_parse_stat(buf, len, &st), ==, 0);
	check_str(st.comm, "");
	check_int(proc_parse_stat(buf, len - 1, &st), ==, 0); /* no newline */
	len = make_stat(buf, sizeof(buf), ")", 52);
	check_int(proc_parse_stat(buf, len, &st), ==, 0);
	check_str(st.comm, ")");
}

static void test_parse_stat_bad(void)
{
	struct proc_stat st = { .ppid = 12345 };
	char buf[1024];
	size_t len = make_stat(buf, sizeof(buf), "x", 51);

	check_int(proc_parse_stat(buf, len, &st), ==, -EINVAL);
	check_int(proc_parse_stat(buf, 0, &st), ==, -EINVAL);
	check_int(proc_parse_stat("1 (x S 2", 8, &st), ==, -EINVAL);
	check_int(proc_parse_stat("1 x) S 2", 8, &st), ==, -EINVAL);
	check_int(proc_parse_stat("1 (x) ", 6, &st), ==, -EINVAL);
	check_int(proc_parse_stat("1 (x)  S", 8, &st), ==, -EINVAL);
	len = make_stat(buf, sizeof(buf), "x", 52);
	memcpy(strstr(buf, " 44 "), " 4a ", 4); /* ppid not a number */
	check_int(proc_parse_stat(buf, len, &st), ==, -EINVAL);
	len = make_stat(buf, sizeof(buf), "x) S 99999999999 (", 52);
	check_int(proc_parse_stat(buf, len, &st), ==, 0);
	check_int(st.ppid, ==, 44);
	snprintf(buf, sizeof(buf), "1 (x) S 99999999999");
	st.ppid = 12345;
	check_int(proc_parse_stat(buf, strlen(buf), &st), ==, -EINVAL);
	check_int(st.ppid, ==, 12345);
}

static const char status_text[] = "Name:\tx: Uid:\\n\n"
				  "Umask:\t0027\n"
				  "State:\tS (sleeping)\n"
				  "Tgid:\t100\n"
				  "Ngid:\t0\n"
				  "Pid:\t101\n"
				  "PPid:\t1\n"
				  "TracerPid:\t7\n"
				  "Uid:\t1\t2\t3\t4\n"
				  "Gid:\t5\t6\t7\t4294967295\n"
				  "FDSize:\t64\n"
				  "Groups:\t10 20 30 \n"
				  "NStgid:\t100\t5\t1\n"
				  "NSpid:\t101\t6\t2\n"
				  "CoreDumping:\t0\n"
				  "Threads:\t2\n"
				  "SigQ:\t0/96365\n"
				  "SigPnd:\t0000000000000001\n"
				  "ShdPnd:\t0000000000000002\n"
				  "SigBlk:\t0000000000000200\n"
				  "SigIgn:\t0000000000000800\n"
				  "SigCgt:\t0000000000004000\n"
				  "CapInh:\t0000000000000003\n"
				  "CapPrm:\t000001fffeffffff\n"
				  "CapEff:\t000001FFFEFFFFFF\n"
				  "CapBnd:\tffffffffffffffff\n"
				  "CapAmb:\t0000000000000004\n"
				  "NoNewPrivs:\t1\n"
				  "Seccomp:\t2\n"
				  "Seccomp_filters:\t3\n"
				  "Cpus_allowed_list:\t0-1\n";

/* STATUS_TEXT with the line of KEY replaced by LINE (dropped if NULL); malloc'd. */
static char *edit_status(const char *key, const char *line, size_t *ret_len)
{
	size_t klen = strlen(key), llen = line ? strlen(line) : 0;
	char *out = malloc(sizeof(status_text) + llen + 1);
	const char *p = status_text, *eol;
	size_t len = 0;

	if (!out)
		abort();
	for (; *p; p = eol + 1) {
		eol = strchr(p, '\n');
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			if (line)
				memcpy(out + len, line, llen);
			len += llen;
			continue;
		}
		memcpy(out + len, p, (size_t)(eol + 1 - p));
		len += (size_t)(eol + 1 - p);
	}
	out[len] = '\0';
	*ret_len = len;
	return out;
}

static void test_parse_status(void)
{
	struct proc_status st;

	if (!check_ret(proc_parse_status(status_text, sizeof(status_text) - 1, &st), 0))
		return;
	check_uint(st.umask, ==, 027);
	check(st.tgid == 100 && st.pid == 101 && st.ppid == 1 && st.tracer_pid == 7);
	check(st.uid[0] == 1 && st.uid[1] == 2 && st.uid[2] == 3 && st.uid[3] == 4);
	check(st.gid[0] == 5 && st.gid[3] == UINT32_MAX);
	check_uint(st.nr_groups, ==, 3);
	check(st.groups && st.groups[0] == 10 && st.groups[2] == 30);
	check_int(st.nstgid_depth, ==, 3);
	check_int(st.threads, ==, 2);
	check(st.sig_pnd == 1 && st.shd_pnd == 2 && st.sig_blk == 0x200);
	check(st.sig_ign == 0x800 && st.sig_cgt == 0x4000);
	check(st.cap_inh == 3 && st.cap_prm == 0x1fffeffffffull && st.cap_eff == st.cap_prm);
	check(st.cap_bnd == UINT64_MAX && st.cap_amb == 4);
	check(st.no_new_privs == 1 && st.seccomp == 2 && st.seccomp_filters == 3);
	check_int(st.core_dumping, ==, 0);
	proc_status_free(&st);
	check(st.groups == NULL && st.nr_groups == 0);
	proc_status_free(&st);
}

/* What older kernels or zombies lack has a default; what we cannot do without fails. */
static void test_parse_status_missing(void)
{
	static const char *const optional[] = { "Umask",      "NStgid",	 "CapAmb",
						"NoNewPrivs", "Seccomp", "Seccomp_filters",
						"CoreDumping" };
	static const char *const required[] = { "Tgid",	  "Pid",    "PPid",   "TracerPid",
						"Uid",	  "Gid",    "Groups", "Threads",
						"SigPnd", "ShdPnd", "SigBlk", "SigIgn",
						"SigCgt", "CapInh", "CapPrm", "CapEff",
						"CapBnd" };
	struct proc_status st = { .pid = 12345 };
	bool ok = true;
	size_t i, len;
	char *t;

	for (i = 0; i < ARRAY_SIZE(optional); i++) {
		t = edit_status(optional[i], NULL, &len);
		ok &= !proc_parse_status(t, len, &st);
		ok &= st.umask == (i == 0 ? PROC_UMASK_NONE : 027);
		ok &= st.cap_amb == (i == 2 ? 0 : 4) && st.nstgid_depth == (i == 1 ? 1 : 3);
		ok &= st.seccomp_filters == (i == 5 ? 0 : 3);
		proc_status_free(&st);
		free(t);
	}
	check(ok);
	st.pid = 12345;
	ok = true;
	for (i = 0; i < ARRAY_SIZE(required); i++) {
		t = edit_status(required[i], NULL, &len);
		if (proc_parse_status(t, len, &st) != -EINVAL || st.pid != 12345) {
			printf("#   accepted without %s\n", required[i]);
			ok = false;
		}
		free(t);
	}
	check(ok);
}

static void expect_status_einval(const char *key, const char *line)
{
	struct proc_status st = { .pid = 12345 };
	size_t len;
	char *t = edit_status(key, line, &len);

	if (!check_ret(proc_parse_status(t, len, &st), -EINVAL))
		printf("#   line: %s", line);
	check_int(st.pid, ==, 12345);
	free(t);
}

static void test_parse_status_odd(void)
{
	struct proc_status st;
	size_t len;
	char *t;

	expect_status_einval("Uid", "Uid:\t1\t2\t3\n");
	expect_status_einval("Uid", "Uid:\t1\t2\t3\t4294967296\n");
	expect_status_einval("Umask", "Umask:\t0089\n");
	expect_status_einval("Tgid", "Tgid:\t1x\n");
	expect_status_einval("Groups", "Groups:\t1 2 x\n");
	expect_status_einval("CapEff", "CapEff:\t10000000000000000\n");
	expect_status_einval("NStgid", "NStgid:\t\n");

	/* A repeated key keeps its first value (and must not leak the first Groups). */
	t = edit_status("Threads", "Threads:\t2\nGroups:\t99\nTgid:\t5\n", &len);
	if (check_ret(proc_parse_status(t, len, &st), 0)) {
		check(st.nr_groups == 3 && st.groups[0] == 10 && st.tgid == 100);
		proc_status_free(&st);
	}
	free(t);

	/* A NUL in a key: "T\0id" is not "Tgid", which is then missing. */
	t = edit_status("Tgid", "T-id:\t100\n", &len);
	strstr(t, "T-id")[1] = '\0';
	check_int(proc_parse_status(t, len, &st), ==, -EINVAL);
	free(t);

	/* No groups at all, a line without a colon. */
	t = edit_status("Groups", "Groups:\t\nnonsense\n", &len);
	if (check_ret(proc_parse_status(t, len, &st), 0)) {
		check(st.nr_groups == 0 && st.groups == NULL);
		proc_status_free(&st);
	}
	free(t);
}

/* NGROUPS_MAX groups make a Groups line of some 400 kB. */
static void test_parse_status_groups_max(void)
{
	size_t n = 65536, i, len = 0, tlen;
	char *line = malloc(n * 8 + 16), *t;
	struct proc_status st;

	if (!line)
		return;
	len = (size_t)sprintf(line, "Groups:\t");
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(line + len, "%zu ", i * 3);
	memcpy(line + len, "\n", 2);
	t = edit_status("Groups", line, &tlen);
	if (check_ret(proc_parse_status(t, tlen, &st), 0)) {
		check_uint(st.nr_groups, ==, n);
		check_uint(st.groups[n - 1], ==, (n - 1) * 3);
		proc_status_free(&st);
	}
	free(t);
	free(line);
}

static void test_parse_fdinfo(void)
{
	static const char text[] = "pos:\t-1\nflags:\t02004002\nmnt_id:\t15\nino:\t99\n"
				   "tty-index:\t3\n";
	struct proc_fdinfo fi = { 1, 2, 3, 4 };
	const char *rest = NULL;

	if (check_ret(proc_parse_fdinfo(text, sizeof(text) - 1, &fi, &rest), 0)) {
		check_uint(fi.pos, ==, UINT64_MAX);
		check_uint(fi.flags, ==, 02004002);
		check_int(fi.mnt_id, ==, 15);
		check_uint(fi.ino, ==, 99);
		check_str(rest, "tty-index:\t3\n");
	}
	/* Before 5.14 there is no ino line; the rest is then empty. */
	check_int(proc_parse_fdinfo("pos:\t5\nflags:\t02\nmnt_id:\t1\n", 27, &fi, &rest), ==, 0);
	check(fi.pos == 5 && fi.flags == 2 && fi.ino == 0 && *rest == '\0');
	fi.pos = 77;
	check_int(proc_parse_fdinfo("pos:\t5\nmnt_id:\t1\n", 17, &fi, NULL), ==, -EINVAL);
	check_int(proc_parse_fdinfo("pos:\t5\nflags:\t08\n", 17, &fi, NULL), ==, -EINVAL);
	check_int(proc_parse_fdinfo("", 0, &fi, NULL), ==, -EINVAL);
	check_uint(fi.pos, ==, 77);
}

/* --- maps of live processes ------------------------------------------------------------------- */

/* Sorted, disjoint, page-aligned: what any real maps file must be. */
static bool vmas_sane(const struct proc_vma_list *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		const struct proc_vma *v = &l->vmas[i];

		if (v->start >= v->end || v->start % page_size || v->end % page_size || !v->path)
			return false;
		if (i && v->start < l->vmas[i - 1].end)
			return false;
	}
	return true;
}

static void test_maps_self(void)
{
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	struct proc_vma_list l;
	const struct proc_vma *v;
	int local = 0;

	if (!check_ret(proc_read_maps(getpid(), &l), 0))
		return;
	check(l.nr > 5);
	check(vmas_sane(&l));
	v = vma_at(&l, &local);
	check(v && !strcmp(v->path, "[stack]") && v->prot == (PROT_READ | PROT_WRITE));
	v = vma_named(&l, "[vdso]");
	check(v && v->start == vdso && v->prot == (PROT_READ | PROT_EXEC) && !v->shared);
	v = vma_named(&l, "[vvar]");
	check(v && v->prot == PROT_READ && v->ino == 0);
	v = vma_at(&l, (void *)test_maps_self);
	check(v && v->path[0] == '/' && (v->prot & PROT_EXEC) && v->ino);
	proc_vma_list_free(&l);
}

/* The file is mapped from its second page, so pgoff is one page. */
static void check_file_vma(const struct proc_vma_list *l, void *addr, const char *path,
			   const struct stat *sb)
{
	const struct proc_vma *v = vma_at(l, addr);

	if (!check(v != NULL))
		return;
	check_str(v->path, path);
	check_uint(v->ino, ==, sb->st_ino);
	check_uint(v->pgoff, ==, page_size);
	check_uint(v->dev_major, ==, major(sb->st_dev));
	check_uint(v->dev_minor, ==, minor(sb->st_dev));
	check_uint(v->end - v->start, ==, 2 * page_size);
}

/* Maps 2 pages from page 1 of a new file NAME; MAP_FAILED on failure. */
static void *map_new_file(const char *name, int flags, char *path, size_t size, struct stat *sb)
{
	void *p = MAP_FAILED;
	int fd;

	tmp_path(path, size, name);
	fd = make_file(path, 3 * page_size);
	if (fd < 0)
		return MAP_FAILED;
	if (!fstat(fd, sb))
		p = mmap(NULL, 2 * page_size, PROT_READ, flags, fd, (off_t)page_size);
	close(fd);
	return p;
}

static void test_maps_files(void)
{
	char spaced[PATH_MAX], gone[PATH_MAX], nl[PATH_MAX], want[PATH_MAX + 16], link[PATH_MAX];
	struct stat sb_spaced, sb_gone, sb_nl;
	void *a = map_new_file("map me.bin", MAP_SHARED, spaced, sizeof(spaced), &sb_spaced);
	void *b = map_new_file("gone.bin", MAP_PRIVATE, gone, sizeof(gone), &sb_gone);
	void *c = map_new_file("new\nline", MAP_PRIVATE, nl, sizeof(nl), &sb_nl);
	struct proc_vma_list l;
	const struct proc_vma *v;
	char name[64];
	int r;

	if (!check(a != MAP_FAILED && b != MAP_FAILED && c != MAP_FAILED))
		goto out;
	unlink(gone);
	if (!check_ret(proc_read_maps(getpid(), &l), 0))
		goto out;
	check_file_vma(&l, a, spaced, &sb_spaced);
	check(vma_at(&l, a) && vma_at(&l, a)->shared);
	snprintf(want, sizeof(want), "%s (deleted)", gone);
	check_file_vma(&l, b, want, &sb_gone);
	check(vma_at(&l, b) && !vma_at(&l, b)->shared);
	/* The kernel writes the newline as \012; map_files/ gives the real name. */
	snprintf(want, sizeof(want), "%s/new\\012line", tmpdir);
	check_file_vma(&l, c, want, &sb_nl);
	v = vma_at(&l, c);
	if (v) {
		snprintf(name, sizeof(name), "map_files/%" PRIx64 "-%" PRIx64, v->start, v->end);
		r = proc_readlink(getpid(), name, link, sizeof(link));
		if (r != -EPERM && check_ret(r, 0)) /* root only */
			check_str(link, nl);
	}
	proc_vma_list_free(&l);
out:
	unlink(spaced);
	unlink(nl);
	if (a != MAP_FAILED)
		munmap(a, 2 * page_size);
	if (b != MAP_FAILED)
		munmap(b, 2 * page_size);
	if (c != MAP_FAILED)
		munmap(c, 2 * page_size);
}

/*
 * NR one-page mappings of a memfd, told apart by alternating protections so
 * the kernel cannot merge them; being of a file, none merges with a neighbour.
 */
static char *map_many(size_t nr)
{
	int fd = memfd_create("cryo-many", MFD_CLOEXEC);
	char *base = MAP_FAILED;
	size_t i;

	if (fd >= 0 && !ftruncate(fd, (off_t)(nr * page_size)))
		base = mmap(NULL, nr * page_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (fd >= 0)
		close(fd);
	if (base == MAP_FAILED)
		return NULL;
	for (i = 1; i < nr; i += 2) {
		if (mprotect(base + i * page_size, page_size, PROT_READ | PROT_WRITE)) {
			munmap(base, nr * page_size);
			return NULL;
		}
	}
	return base;
}

/* Exactly the NR mappings map_many() made, in order, and nothing else of that memfd. */
static bool many_vmas_right(const struct proc_vma_list *l, const char *base, size_t nr)
{
	const struct proc_vma *v = vma_at(l, base);
	size_t i, named = 0;

	for (i = 0; i < l->nr; i++)
		named += !strcmp(l->vmas[i].path, "/memfd:cryo-many (deleted)");
	if (!v || named != nr || (size_t)(l->vmas + l->nr - v) < nr)
		return false;
	for (i = 0; i < nr; i++, v++) {
		if (v->start != (uintptr_t)base + i * page_size || v->end - v->start != page_size ||
		    v->pgoff != i * page_size)
			return false;
		if (v->prot != (i % 2 ? PROT_READ | PROT_WRITE : PROT_READ))
			return false;
	}
	return true;
}

static size_t count_char(const char *s, size_t len, char c)
{
	size_t n = 0;

	while (len--)
		n += *s++ == c;
	return n;
}

static void test_maps_many(void)
{
	size_t text_size = 64 << 20, len, i;
	char *base = map_many(NR_MANY_VMAS), *text = malloc(text_size), msg[256];
	double t0, first_read = 0, best_read = 1e9, best_parse = 1e9;
	struct proc_vma_list l;
	bool ok = true;

	if (!check(base != NULL && text != NULL))
		goto out;
	for (i = 0; i < 5 && ok; i++) {
		t0 = wall_ms();
		ok = !proc_read_maps(getpid(), &l);
		t0 = wall_ms() - t0;
		first_read = i ? first_read : t0;
		best_read = ok && t0 < best_read ? t0 : best_read;
		ok = ok && many_vmas_right(&l, base, NR_MANY_VMAS) && vmas_sane(&l);
		proc_vma_list_free(&l);
	}
	check(ok);
	/* The same text parsed alone: how much of the time is ours, not the kernel's. */
	if (!check_ret(proc_read_small(getpid(), "maps", text, text_size, &len), 0))
		goto out;
	for (i = 0; i < 5 && ok; i++) {
		t0 = wall_ms();
		ok = !proc_parse_maps(text, len, &l);
		t0 = wall_ms() - t0;
		best_parse = ok && t0 < best_parse ? t0 : best_parse;
		ok = ok && many_vmas_right(&l, base, NR_MANY_VMAS) &&
		     l.nr == count_char(text, len, '\n');
		proc_vma_list_free(&l);
	}
	check(ok);
	snprintf(msg, sizeof(msg),
		 "%d mappings (%zu kB of maps): proc_read_maps %.3f ms (first %.3f), of which "
		 "parsing %.3f ms; the rest is the kernel writing the text",
		 NR_MANY_VMAS, len / 1024, best_read, first_read, best_parse);
	tap_diag(msg);
out:
	free(text);
	if (base)
		munmap(base, NR_MANY_VMAS * page_size);
}

/* --- a child whose state we set: stat, status, heap ------------------------------------------- */

struct child_report {
	uint64_t heap;	/* an address in the brk area it grew */
	int set_groups; /* setgroups() worked (we are root) */
};

static const gid_t child_groups[] = { 5, 7, 100000 };

static void on_signal(int sig)
{
	(void)sig;
}

static void child_setup(void *arg)
{
	struct child_report *rep = arg;
	size_t heap_len = 1 << 20;
	char *heap;
	sigset_t set;

	prctl(PR_SET_NAME, "a) b (c");
	umask(027);
	rep->set_groups = !setgroups(ARRAY_SIZE(child_groups), child_groups);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGTERM, on_signal);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	heap = sbrk((intptr_t)heap_len);
	if (heap != (void *)-1) {
		memset(heap, 1, heap_len);
		rep->heap = (uintptr_t)heap + heap_len / 2;
	}
}

#define SIGBIT(sig) (1ull << ((sig)-1))

static void check_child_stat(pid_t pid, const struct proc_stat *st)
{
	struct proc_stat t;

	check_str(st->comm, "a) b (c");
	check_int(st->state, ==, 'S');
	check_int(st->ppid, ==, getpid());
	check_int(st->pgrp, ==, getpgrp());
	check_int(st->session, ==, getsid(0));
	check_int(st->num_threads, ==, 1);
	check(st->start_code && st->start_code < st->end_code && st->start_stack);
	check(st->start_data < st->end_data && st->start_brk);
	check(st->arg_start < st->arg_end && st->env_start <= st->env_end);
	check_int(st->exit_code, ==, 0);
	check(st->sigblocked & SIGBIT(SIGUSR1));
	check(st->sigignore & SIGBIT(SIGUSR2));
	check(st->sigcatch & SIGBIT(SIGTERM));
	check(!(st->sigcatch & SIGBIT(SIGUSR2)));
	if (check_ret(proc_read_stat(pid, pid, &t), 0)) {
		check_str(t.comm, "a) b (c");
		check_uint(t.start_brk, ==, st->start_brk);
	}
}

static uint64_t cap_set_bounding(void)
{
	uint64_t mask = 0;
	int cap;

	for (cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			mask |= 1ull << cap;
	return mask;
}

static void check_child_caps(const struct proc_status *st)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (!check_ret(syscall(SYS_capget, &hdr, d), 0))
		return;
	check_uint(st->cap_eff, ==, d[0].effective | (uint64_t)d[1].effective << 32);
	check_uint(st->cap_prm, ==, d[0].permitted | (uint64_t)d[1].permitted << 32);
	check_uint(st->cap_inh, ==, d[0].inheritable | (uint64_t)d[1].inheritable << 32);
	check_uint(st->cap_bnd, ==, cap_set_bounding());
	check_uint(st->cap_amb, ==, 0);
}

static void check_child_groups(const struct proc_status *st, const struct child_report *rep)
{
	gid_t groups[64];
	int n = rep->set_groups ? (int)ARRAY_SIZE(child_groups) : getgroups(64, groups);
	bool ok = n >= 0 && st->nr_groups == (size_t)n;
	int i;

	for (i = 0; ok && i < n; i++)
		ok = st->groups[i] == (rep->set_groups ? child_groups[i] : groups[i]);
	check(ok);
}

static void check_child_status(pid_t pid, const struct child_report *rep)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	struct proc_status st;

	if (!check_ret(proc_read_status(pid, 0, &st), 0))
		return;
	getresuid(&ruid, &euid, &suid);
	getresgid(&rgid, &egid, &sgid);
	check(st.uid[0] == ruid && st.uid[1] == euid && st.uid[2] == suid && st.uid[3] == euid);
	check(st.gid[0] == rgid && st.gid[1] == egid && st.gid[2] == sgid && st.gid[3] == egid);
	check_child_groups(&st, rep);
	check_child_caps(&st);
	check_uint(st.umask, ==, 027);
	check_int(st.no_new_privs, ==, 1);
	check_int(st.seccomp, ==, 0);
	check(st.tgid == pid && st.pid == pid && st.ppid == getpid() && st.tracer_pid == 0);
	check(st.threads == 1 && st.nstgid_depth >= 1 && st.core_dumping == 0);
	check(st.sig_blk == SIGBIT(SIGUSR1) && (st.sig_ign & SIGBIT(SIGUSR2)));
	check(st.sig_cgt & SIGBIT(SIGTERM));
	check(st.sig_pnd == 0 && st.shd_pnd == 0);
	proc_status_free(&st);
}

static void check_child_heap(pid_t pid, const struct child_report *rep, const struct proc_stat *st)
{
	struct proc_vma_list l;
	const struct proc_vma *v;

	if (!check_ret(proc_read_maps(pid, &l), 0))
		return;
	v = vma_at(&l, (void *)(uintptr_t)rep->heap);
	check(v && !strcmp(v->path, "[heap]") && v->prot == (PROT_READ | PROT_WRITE));
	check(v && v->start >= st->start_brk && v->end - v->start >= 1 << 20);
	check(vma_named(&l, "[stack]") != NULL);
	proc_vma_list_free(&l);
}

static void test_child(void)
{
	struct child_report rep = { 0, 0 };
	pid_t pid = spawn(child_setup, &rep, sizeof(rep));
	struct proc_stat st;

	if (!check(pid > 0 && rep.heap))
		goto out;
	if (!check_ret(wait_state(pid, 0, 'S', &st), 0))
		goto out;
	check_child_stat(pid, &st);
	check_child_status(pid, &rep);
	check_child_heap(pid, &rep, &st);
out:
	reap(pid);
}

/* A zombie has no mm and no fs: empty maps, no auxv, no umask, but stat and status are there. */
static void test_zombie(void)
{
	pid_t pid = fork();
	struct proc_vma_list l;
	struct proc_status status;
	struct proc_stat st;
	uint64_t auxv[64];
	size_t words = 0;

	if (pid == 0)
		_exit(3);
	if (!check(pid > 0))
		return;
	if (check_ret(wait_state(pid, 0, 'Z', &st), 0)) {
		if (check_ret(proc_read_maps(pid, &l), 0))
			check(l.nr == 0 && l.vmas == NULL);
		check_int(proc_read_auxv(pid, auxv, ARRAY_SIZE(auxv), &words), ==, -ESRCH);
		check_int(st.exit_code, ==, 3 << 8);
		if (check_ret(proc_read_status(pid, 0, &status), 0)) {
			check_uint(status.umask, ==, PROC_UMASK_NONE);
			check_int(status.ppid, ==, getpid());
			proc_status_free(&status);
		}
	}
	reap(pid);
	check_int(proc_read_stat(pid, 0, &st), ==, -ENOENT);
}

/* --- the rest on ourselves -------------------------------------------------------------------- */

static void test_stat_status_self(void)
{
	struct proc_status status;
	struct proc_stat st;

	if (check_ret(proc_read_stat(getpid(), 0, &st), 0)) {
		check_int(st.state, ==, 'R');
		check_int(st.ppid, ==, getppid());
	}
	if (check_ret(proc_read_status(getpid(), getpid(), &status), 0)) {
		check(status.pid == getpid() && status.tgid == getpid());
		check_uint(status.uid[0], ==, getuid());
		proc_status_free(&status);
	}
}

static void test_auxv(void)
{
	uint64_t auxv[256], small[4] = { 0 };
	size_t words = 0, i, small_words = 99;
	uint64_t pagesz = 0, vdso = 0;

	if (!check_ret(proc_read_auxv(getpid(), auxv, ARRAY_SIZE(auxv), &words), 0))
		return;
	check(words >= 4 && words % 2 == 0);
	check_uint(auxv[words - 2], ==, AT_NULL);
	for (i = 0; i + 2 < words; i += 2) {
		pagesz = auxv[i] == AT_PAGESZ ? auxv[i + 1] : pagesz;
		vdso = auxv[i] == AT_SYSINFO_EHDR ? auxv[i + 1] : vdso;
	}
	check_uint(pagesz, ==, 4096);
	check_uint(vdso, ==, getauxval(AT_SYSINFO_EHDR));
	check_int(proc_read_auxv(getpid(), small, ARRAY_SIZE(small), &small_words), ==, -EFBIG);
	check_uint(small_words, ==, 99);
	check_int(proc_read_auxv(getpid(), auxv, words, &small_words), ==, 0);
	check_uint(small_words, ==, words);
}

static void test_links_and_small(void)
{
	char buf[PATH_MAX], cwd[PATH_MAX], exe[PATH_MAX], tiny[64], comm[64];
	size_t len = 0;

	check_int(proc_readlink(getpid(), "cwd", buf, sizeof(buf)), ==, 0);
	check_str(buf, getcwd(cwd, sizeof(cwd)));
	check_int(proc_readlink(getpid(), "exe", buf, sizeof(buf)), ==, 0);
	len = (size_t)readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[len < sizeof(exe) ? len : 0] = '\0';
	check_str(buf, exe);
	check_int(proc_readlink(getpid(), "cwd", buf, strlen(cwd)), ==, -ENAMETOOLONG);
	check_int(proc_readlink(getpid(), "nonexistent", buf, sizeof(buf)), ==, -ENOENT);
	check_int(proc_readlink(0, "cwd", buf, sizeof(buf)), ==, -EINVAL);
	memset(buf, 'n', 300);
	buf[300] = '\0';
	check_int(proc_readlink(getpid(), buf, cwd, sizeof(cwd)), ==, -ENAMETOOLONG);

	prctl(PR_GET_NAME, comm, 0, 0, 0);
	strcat(comm, "\n");
	check_int(proc_read_small(getpid(), "comm", buf, sizeof(buf), &len), ==, 0);
	check_str(buf, comm);
	check_uint(len, ==, strlen(comm));
	len = 99;
	check_int(proc_read_small(getpid(), "comm", tiny, strlen(comm), &len), ==, -EFBIG);
	check_uint(len, ==, 99);
	check_int(proc_read_small(getpid(), "comm", buf, strlen(comm) + 1, &len), ==, 0);
	check_int(proc_read_small(getpid(), "personality", buf, sizeof(buf), &len), ==, 0);
	check_uint(len, ==, 9);
}

static void test_fdinfo(void)
{
	struct proc_fdinfo fi = { 0, 0, 0, 0 };
	char path[PATH_MAX], text[512], pad[123];
	const char *rest = NULL;
	struct statx stx;
	size_t len;
	int fd, efd;

	tmp_path(path, sizeof(path), "fdinfo");
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	memset(pad, 'p', sizeof(pad));
	if (!check(fd >= 0 && !write_full(fd, pad, sizeof(pad))))
		goto out;
	if (check_ret(proc_read_fdinfo(getpid(), fd, &fi), 0)) {
		check_uint(fi.pos, ==, 123);
		check_uint(fi.flags & O_APPEND, ==, O_APPEND);
		check_uint(fi.flags & O_ACCMODE, ==, O_WRONLY);
		check_uint(fi.flags & O_CLOEXEC, ==, O_CLOEXEC);
		if (check_ret(statx(fd, "", AT_EMPTY_PATH, STATX_INO | STATX_MNT_ID, &stx), 0)) {
			check_uint(fi.ino, ==, stx.stx_ino);
			check_int(fi.mnt_id, ==, stx.stx_mnt_id);
		}
	}
	/* The type-specific lines, through proc_read_small(). */
	efd = eventfd(7, 0);
	snprintf(path, sizeof(path), "fdinfo/%d", efd);
	if (check(efd >= 0) &&
	    check_ret(proc_read_small(getpid(), path, text, sizeof(text), &len), 0) &&
	    check_ret(proc_parse_fdinfo(text, len, &fi, &rest), 0))
		check(!strncmp(rest, "eventfd-count:", 14));
	check_int(proc_read_fdinfo(getpid(), 1000000, &fi), ==, -ENOENT);
	check_int(proc_read_fdinfo(getpid(), -1, &fi), ==, -EBADF);
	if (efd >= 0)
		close(efd);
out:
	if (fd >= 0)
		close(fd);
	tmp_path(path, sizeof(path), "fdinfo");
	unlink(path);
}

static bool fd_listed(const int *fds, size_t nr, int fd)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (fds[i] == fd)
			return true;
	return false;
}

/* Ascending, and each one open in us: the directory used to list them is not. */
static bool fds_valid(const int *fds, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if ((i && fds[i - 1] >= fds[i]) || fcntl(fds[i], F_GETFD) < 0)
			return false;
	return true;
}

static void test_list_fds(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC), *fds = NULL;
	size_t nr = 0;

	if (!check(fd >= 0 && dup2(fd, 77) == 77))
		return;
	if (check_ret(proc_list_fds(getpid(), &fds, &nr), 0)) {
		check(fd_listed(fds, nr, 77) && fd_listed(fds, nr, fd));
		check(fds_valid(fds, nr));
		free(fds);
	}
	close(77);
	close(fd);
	if (check_ret(proc_list_fds(getpid(), &fds, &nr), 0)) {
		check(!fd_listed(fds, nr, 77) && !fd_listed(fds, nr, fd));
		free(fds);
	}
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* proc_list_children() of ourselves gives exactly WANT (any order, NR of them). */
static void check_children(pid_t *want, size_t nr)
{
	pid_t *pids = NULL;
	size_t got = 0;

	qsort(want, nr, sizeof(*want), cmp_pid);
	if (!check_ret(proc_list_children(getpid(), &pids, &got), 0))
		return;
	check_uint(got, ==, nr);
	if (got == nr && nr)
		check_mem(pids, want, nr * sizeof(*want));
	free(pids);
}

struct thread_arg {
	int ready[2], gate[2];
	pid_t tid, child;
};

/* A second thread with a child of its own: children are listed per thread. */
static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	char c = 0;

	a->tid = gettid();
	a->child = spawn(NULL, &c, 1);
	if (write_full(a->ready[1], &c, 1) == 0)
		read_full(a->gate[0], &c, 1);
	return NULL;
}

static void check_threads(const struct thread_arg *a)
{
	pid_t *tids = NULL;
	size_t nr = 0;
	struct proc_stat st;
	struct proc_status status;

	if (check_ret(proc_list_threads(getpid(), &tids, &nr), 0)) {
		check_uint(nr, ==, 2);
		check(nr == 2 && tids[0] < tids[1]);
		check(nr == 2 && (tids[0] == a->tid || tids[1] == a->tid));
		free(tids);
	}
	if (check_ret(wait_state(getpid(), a->tid, 'S', &st), 0))
		check_int(st.num_threads, ==, 2);
	if (check_ret(proc_read_status(getpid(), a->tid, &status), 0)) {
		check(status.pid == a->tid && status.tgid == getpid() && status.threads == 2);
		proc_status_free(&status);
	}
}

static void test_children_threads(void)
{
	struct thread_arg a = { { -1, -1 }, { -1, -1 }, 0, -1 };
	pid_t kids[4] = { 0, 0, 0, 0 }, *tids = NULL;
	size_t nr = 0, i;
	pthread_t th;
	char c = 0;

	check_int(proc_list_threads(getpid(), &tids, &nr), ==, 0);
	check(nr == 1 && tids[0] == getpid());
	free(tids);
	check_children(kids, 0);
	for (i = 0; i < 3; i++)
		kids[i] = spawn(NULL, &c, 1);
	check_children(kids, 3);
	if (!check(!pipe2(a.ready, O_CLOEXEC) && !pipe2(a.gate, O_CLOEXEC)))
		goto out;
	if (!check(!pthread_create(&th, NULL, thread_main, &a)))
		goto out;
	if (check(!read_full(a.ready[0], &c, 1) && a.child > 0)) {
		check_threads(&a);
		kids[3] = a.child;
		check_children(kids, 4);
		reap(a.child);
	}
	close(a.gate[1]);
	a.gate[1] = -1;
	pthread_join(th, NULL);
out:
	for (i = 0; i < 2; i++) {
		if (a.ready[i] >= 0)
			close(a.ready[i]);
		if (a.gate[i] >= 0)
			close(a.gate[i]);
	}
	for (i = 0; i < 3; i++)
		reap(kids[i]);
}

static void test_pagemap(void)
{
	size_t n = 16, i;
	char *p =
	    mmap(NULL, n * page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t e[16], base = (uintptr_t)p;
	int fd = proc_pagemap_open(getpid());
	bool ok = true;

	if (!check(p != MAP_FAILED && fd >= 0))
		goto out;
	/* Whole folios of 64 kB would make one touch populate all 16 pages. */
	madvise(p, n * page_size, MADV_NOHUGEPAGE);
	p[0] = 1;
	p[5 * page_size] = 1;
	p[15 * page_size] = 1;
	if (!check_ret(proc_pagemap_read(fd, base, base + n * page_size, e), 0))
		goto out;
	for (i = 0; i < n; i++) {
		bool touched = i == 0 || i == 5 || i == 15;

		ok &= !!(e[i] & PM_PRESENT) == touched;
		ok &= !touched || ((e[i] & PM_EXCLUSIVE) && !(e[i] & PM_FILE));
	}
	check(ok);
	check_int(proc_pagemap_read(fd, base + 1, base + page_size, e), ==, -EINVAL);
	check_int(proc_pagemap_read(fd, base + page_size, base, e), ==, -EINVAL);
	check_int(proc_pagemap_read(fd, base, base, e), ==, 0);
	/* A page of our own text is in the page cache. */
	base = (uintptr_t)test_pagemap & ~(uint64_t)(page_size - 1);
	check_int(proc_pagemap_read(fd, base, base + page_size, e), ==, 0);
	check(e[0] & PM_PRESENT && e[0] & PM_FILE);
out:
	if (fd >= 0)
		close(fd);
	if (p != MAP_FAILED)
		munmap(p, n * page_size);
}

static void test_bad_args(void)
{
	struct proc_vma_list l = { NULL, 12345, NULL };
	struct proc_stat st;
	int *fds = NULL;
	size_t nr = 0;

	check_int(proc_read_maps(0, &l), ==, -EINVAL);
	check_int(proc_read_maps(-5, &l), ==, -EINVAL);
	check_uint(l.nr, ==, 12345);
	check_int(proc_read_stat(getpid(), -1, &st), ==, -EINVAL);
	check_int(proc_read_stat(getpid(), INT_MAX, &st), ==, -ENOENT);
	check_int(proc_list_fds(INT_MAX, &fds, &nr), ==, -ENOENT);
	check_int(proc_pagemap_open(0), ==, -EINVAL);
}

/* mountinfo: fields, optional fields, escapes, and this machine's devpts. */
static void test_mountinfo(void)
{
	static const char text[] =
	    "21 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
	    "26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000\n"
	    "40 21 0:50 /sub /mnt/a\\040b rw master:3 shared:7 - tmpfs my\\011src rw\n";
	struct proc_mount_list l = { 0 };
	bool devpts = false;

	if (!check_int(proc_parse_mountinfo(text, sizeof(text) - 1, &l), ==, 0))
		return;
	check_int(l.nr, ==, 3);
	check_int(l.mounts[0].id, ==, 21);
	check_str(l.mounts[0].fstype, "ext4");
	check_str(l.mounts[0].super_options, "rw,errors=remount-ro");
	check_int(l.mounts[1].dev_minor, ==, 24);
	check_str(l.mounts[1].point, "/dev/pts");
	check_str(l.mounts[1].super_options, "rw,mode=600,ptmxmode=000");
	check_int(l.mounts[2].parent, ==, 21);
	check_str(l.mounts[2].root, "/sub");
	check_str(l.mounts[2].point, "/mnt/a b"); /* \040 undone */
	check_str(l.mounts[2].source, "my\tsrc");
	check_str(l.mounts[2].fstype, "tmpfs");
	proc_mount_list_free(&l);

	check_int(proc_parse_mountinfo("21 1 253:1 / / rw - ext4\n", 24, &l), ==, -EINVAL);
	check_int(proc_parse_mountinfo("x 1 253:1 / / rw - ext4 a b\n", 27, &l), ==, -EINVAL);
	check_int(proc_parse_mountinfo("21 1 253:1 / / rw ext4 a b\n", 26, &l), ==, -EINVAL);

	if (!check_int(proc_read_mountinfo(getpid(), &l), ==, 0))
		return;
	check(l.nr > 0);
	for (size_t i = 0; i < l.nr; i++)
		if (!strcmp(l.mounts[i].fstype, "devpts") && !strcmp(l.mounts[i].point, "/dev/pts"))
			devpts = true;
	if (!devpts)
		tap_diag("no devpts on /dev/pts here: the live check is skipped");
	else
		check(devpts);
	proc_mount_list_free(&l);
}

/* The boot id: 32 hex digits with dashes, as 16 bytes; anything else is refused. */
static void test_boot_id(void)
{
	static const uint8_t want[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
					  0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	uint8_t id[16], again[16];

	check_int(proc_parse_boot_id("01234567-89ab-cdef-FEDC-ba9876543210\n", id), ==, 0);
	check(!memcmp(id, want, sizeof(id)));
	check_int(proc_parse_boot_id("01234567-89ab-cdef-fedc-ba987654321", id), ==, -EINVAL);
	check_int(proc_parse_boot_id("01234567-89ab-cdef-fedc-ba98765432100", id), ==, -EINVAL);
	check_int(proc_parse_boot_id("0123456x-89ab-cdef-fedc-ba9876543210", id), ==, -EINVAL);
	/* this machine's, twice the same */
	check_int(proc_read_boot_id(id), ==, 0);
	check_int(proc_read_boot_id(again), ==, 0);
	check(!memcmp(id, again, sizeof(id)));
}

int main(void)
{
	int *fds_before = NULL, *fds_after = NULL;
	size_t nr_before = 0, nr_after = 0;
	char dir[] = "/tmp/cryo-proc-XXXXXX";

	page_size = (size_t)sysconf(_SC_PAGESIZE);
	if (!mkdtemp(dir) || !realpath(dir, tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	check_int(proc_list_fds(getpid(), &fds_before, &nr_before), ==, 0);

	test_parse_maps_good();
	test_parse_maps_long();
	test_parse_maps_bad();
	test_parse_stat();
	test_parse_stat_bad();
	test_parse_status();
	test_parse_status_missing();
	test_parse_status_odd();
	test_parse_status_groups_max();
	test_parse_fdinfo();
	test_maps_self();
	test_maps_files();
	test_maps_many();
	test_child();
	test_zombie();
	test_stat_status_self();
	test_auxv();
	test_links_and_small();
	test_fdinfo();
	test_list_fds();
	test_children_threads();
	test_pagemap();
	test_mountinfo();
	test_boot_id();
	test_bad_args();

	/* Everything forked is reaped, everything opened is closed. */
	check(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	check_int(proc_list_fds(getpid(), &fds_after, &nr_after), ==, 0);
	check(nr_after == nr_before &&
	      (!nr_before || !memcmp(fds_before, fds_after, nr_before * sizeof(int))));
	free(fds_before);
	free(fds_after);
	check_int(rmdir(tmpdir), ==, 0);
	return tap_done();
}
