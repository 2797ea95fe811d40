// SPDX-License-Identifier: MIT
#include "lib/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* "/proc/PID/task/TID/" plus any name a caller passes us. */
#define PROC_PATH_MAX 256

/* First buffer sizes: most files fit at once; maps grows a few times for huge processes. */
#define SMALL_HINT 4096
#define MAPS_HINT  65536

/* The fields of /proc/PID/stat are numbered from 1 as in proc(5). */
#define STAT_FIELDS 52

/* Lets one directory lister serve fds and pids alike. */
_Static_assert(__builtin_types_compatible_p(pid_t, int), "pid_t is int");

/* --- paths and reading ------------------------------------------------------------------------ */

/* "/proc/PID/NAME" when TID is 0, else "/proc/PID/task/TID/NAME". */
static int proc_path(char *buf, size_t size, pid_t pid, pid_t tid, const char *name)
{
	int n;

	if (pid <= 0 || tid < 0 || !name || !*name)
		return -EINVAL;
	if (tid)
		n = snprintf(buf, size, "/proc/%d/task/%d/%s", pid, tid, name);
	else
		n = snprintf(buf, size, "/proc/%d/%s", pid, name);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int open_ro(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* read() until SIZE bytes or end of file; *ret_len is how many came. */
static int read_upto(int fd, void *buf, size_t size, size_t *ret_len)
{
	size_t len = 0;

	while (len < size) {
		ssize_t n = read(fd, (char *)buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return 0;
}

/* After a full buffer: 0 if FD is at end of file, -EFBIG if more is coming. */
static int expect_eof(int fd)
{
	char c;
	size_t n = 0;
	int r = read_upto(fd, &c, 1, &n);

	if (r)
		return r;
	return n ? -EFBIG : 0;
}

/* Into BUF of SIZE bytes, all of it or -EFBIG. */
static int read_fixed(const char *path, void *buf, size_t size, size_t *ret_len)
{
	size_t len = 0;
	int fd = open_ro(path);
	int r;

	if (fd < 0)
		return fd;
	r = read_upto(fd, buf, size, &len);
	if (!r && len == size)
		r = expect_eof(fd);
	close(fd);
	if (!r)
		*ret_len = len;
	return r;
}

/*
 * All of PATH into a malloc'd, NUL-terminated buffer starting at HINT bytes
 * and doubling: /proc files say st_size 0, and a seq_file hands out about a
 * page per read() whatever we ask, so the loop is the only way.
 */
static int read_whole(const char *path, size_t hint, char **ret_buf, size_t *ret_len)
{
	size_t cap = hint, len = 0, n = 0;
	char *buf = malloc(cap), *bigger;
	int fd, r = -ENOMEM;

	if (!buf)
		return -ENOMEM;
	fd = open_ro(path);
	if (fd < 0) {
		free(buf);
		return fd;
	}
	for (;;) {
		r = read_upto(fd, buf + len, cap - 1 - len, &n);
		if (r)
			break;
		len += n;
		if (len < cap - 1)
			break;
		r = -ENOMEM;
		bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
		if (!bigger)
			break;
		buf = bigger;
		cap *= 2;
	}
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

static int read_whole_at(pid_t pid, pid_t tid, const char *name, size_t hint, char **ret_buf,
			 size_t *ret_len)
{
	char path[PROC_PATH_MAX];
	int r = proc_path(path, sizeof(path), pid, tid, name);

	return r ? r : read_whole(path, hint, ret_buf, ret_len);
}

/* --- number parsing --------------------------------------------------------------------------- */

/*
 * Digit value plus one, 0 for what is no digit. Hand-rolled parsing instead of
 * strtoull(): the text is not NUL-terminated, and maps is mostly numbers.
 */
static const unsigned char digit_tab[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The value of C as a digit, or UINT_MAX if it is none. */
static inline unsigned int digit_value(char c)
{
	return (unsigned int)digit_tab[(unsigned char)c] - 1;
}

/*
 * An unsigned number in BASE (8, 10 or 16) at *PP, at least one digit;
 * advances *PP past it. Fifteen digits cannot overflow in any of these bases,
 * so only longer numbers pay for the check.
 */
static inline int parse_unum(const char **pp, const char *end, unsigned int base, uint64_t *ret)
{
	const char *p = *pp, *safe = end - p > 15 ? p + 15 : end;
	uint64_t v = 0;
	unsigned int d;

	for (; p < safe && (d = digit_value(*p)) < base; p++)
		v = v * base + d;
	for (; p < end && (d = digit_value(*p)) < base; p++)
		if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v))
			return -EINVAL;
	if (p == *pp)
		return -EINVAL;
	*pp = p;
	*ret = v;
	return 0;
}

/* A decimal number with an optional '-'. */
static int parse_snum(const char **pp, const char *end, int64_t *ret)
{
	const char *p = *pp;
	bool neg = p < end && *p == '-';
	uint64_t v;

	p += neg;
	if (parse_unum(&p, end, 10, &v))
		return -EINVAL;
	if (v > (uint64_t)INT64_MAX + neg)
		return -EINVAL;
	*pp = p;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int parse_int(const char **pp, const char *end, int *ret)
{
	int64_t v;

	if (parse_snum(pp, end, &v) || v < INT_MIN || v > INT_MAX)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static int parse_u32(const char **pp, const char *end, unsigned int base, uint32_t *ret)
{
	uint64_t v;

	if (parse_unum(pp, end, base, &v) || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

static bool skip_char(const char **pp, const char *end, char c)
{
	if (*pp == end || **pp != c)
		return false;
	(*pp)++;
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	return p;
}

/* 0 if only blanks are left before EOL. */
static int only_blanks(const char *p, const char *eol)
{
	return skip_blanks(p, eol) == eol ? 0 : -EINVAL;
}

/* Whether the LEN bytes at P, the key of a "Key:\tvalue" line, are KEY. */
static bool is_key(const char *p, size_t len, const char *key)
{
	return strlen(key) == len && !memcmp(p, key, len);
}

static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

/* Where the line after the one ending at EOL starts; END if it was the last. */
static const char *next_line(const char *eol, const char *end)
{
	return eol < end ? eol + 1 : end;
}

/* --- maps ------------------------------------------------------------------------------------- */

/* "r-xp": strict, so that text that is not a maps line is caught here. */
static int parse_perms(const char **pp, const char *end, struct proc_vma *vma)
{
	const char *p = *pp;

	if (end - p < 4 || (p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 's' && p[3] != 'p'))
		return -EINVAL;
	vma->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		    (p[2] == 'x' ? PROT_EXEC : 0);
	vma->shared = p[3] == 's';
	*pp = p + 4;
	return 0;
}

/* Past the spaces that pad to the name column, eight at a time: there are some 25 per line. */
static const char *skip_padding(const char *p, const char *end)
{
	static const uint64_t spaces = 0x2020202020202020ull;
	uint64_t word;

	while (end - p >= 8) {
		memcpy(&word, p, sizeof(word));
		if (word != spaces)
			break;
		p += 8;
	}
	while (p < end && *p == ' ')
		p++;
	return p;
}

/*
 * "START-END PERM PGOFF MAJ:MIN INO". Each number stops at the first
 * non-digit, '\n' included, so the line end need not be known yet.
 */
static int parse_maps_numbers(const char **pp, const char *end, struct proc_vma *vma)
{
	uint64_t major, minor;

	if (parse_unum(pp, end, 16, &vma->start) || !skip_char(pp, end, '-') ||
	    parse_unum(pp, end, 16, &vma->end) || !skip_char(pp, end, ' ') ||
	    parse_perms(pp, end, vma) || !skip_char(pp, end, ' ') ||
	    parse_unum(pp, end, 16, &vma->pgoff) || !skip_char(pp, end, ' ') ||
	    parse_unum(pp, end, 16, &major) || !skip_char(pp, end, ':') ||
	    parse_unum(pp, end, 16, &minor) || !skip_char(pp, end, ' ') ||
	    parse_unum(pp, end, 10, &vma->ino))
		return -EINVAL;
	if (vma->start > vma->end || major > UINT32_MAX || minor > UINT32_MAX)
		return -EINVAL;
	vma->dev_major = (uint32_t)major;
	vma->dev_minor = (uint32_t)minor;
	return 0;
}

/*
 * One line at *PP; its name is copied to *OUT. After the numbers come, for a
 * named mapping, spaces up to a column and the name, which runs to the end
 * of the line whatever it holds (spaces, " (deleted)", "\012"). Names never
 * start with a space: d_path() gives '/', the others '[' or a prefix such as
 * "anon_inode:".
 */
static int parse_maps_line(const char **pp, const char *end, struct proc_vma *vma, char **out)
{
	const char *p = *pp, *eol;
	size_t n;

	if (parse_maps_numbers(&p, end, vma))
		return -EINVAL;
	if (p < end && *p != ' ' && *p != '\n')
		return -EINVAL;
	p = skip_padding(p, end);
	eol = line_end(p, end);
	n = (size_t)(eol - p);
	/* A NUL would end the name early and confuse assign_paths(). */
	if (memchr(p, '\0', n))
		return -EINVAL;
	memcpy(*out, p, n);
	(*out)[n] = '\0';
	vma->path = *out;
	*out += n + 1;
	*pp = next_line(eol, end);
	return 0;
}

static size_t count_lines(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	size_t nr = 0;

	while (p < end) {
		p = next_line(line_end(p, end), end);
		nr++;
	}
	return nr;
}

/* Points each path at its string: they lie in storage one after the other. */
static void assign_paths(struct proc_vma_list *l)
{
	char *s = l->storage;
	size_t i;

	for (i = 0; i < l->nr; i++) {
		l->vmas[i].path = s;
		s += strlen(s) + 1;
	}
}

/* Gives back the storage parsing did not use. */
static void maps_shrink(struct proc_vma_list *l, size_t used)
{
	uintptr_t old = (uintptr_t)l->storage;
	char *storage = realloc(l->storage, used);

	if (!storage)
		return;
	l->storage = storage;
	/* Shrinking seldom moves a block; when it does, the paths follow. */
	if ((uintptr_t)storage != old)
		assign_paths(l);
}

/*
 * Names are copied into one block as they are parsed: it needs at most
 * LEN + 1 bytes (every name and its NUL fit in its line and newline), and is
 * shrunk to what was used at the end.
 */
int proc_parse_maps(const char *text, size_t len, struct proc_vma_list *ret_list)
{
	struct proc_vma_list l = { NULL, 0, NULL };
	const char *p = text, *end = text + len;
	size_t nr = count_lines(text, len);
	char *out;
	int r = 0;

	if (!nr) {
		*ret_list = l;
		return 0;
	}
	if (nr > SIZE_MAX / sizeof(*l.vmas) || len == SIZE_MAX)
		return -ENOMEM;
	l.vmas = malloc(nr * sizeof(*l.vmas));
	l.storage = malloc(len + 1);
	out = l.storage;
	if (!l.vmas || !l.storage)
		r = -ENOMEM;
	/* Every call consumes one line; the count only guards that promise. */
	while (!r && p < end)
		r = l.nr < nr ? parse_maps_line(&p, end, &l.vmas[l.nr++], &out) : -EINVAL;
	if (r) {
		free(l.vmas);
		free(l.storage);
		return r;
	}
	maps_shrink(&l, (size_t)(out - l.storage));
	*ret_list = l;
	return 0;
}

int proc_read_maps(pid_t pid, struct proc_vma_list *ret_list)
{
	char *text;
	size_t len;
	int r = read_whole_at(pid, 0, "maps", MAPS_HINT, &text, &len);

	if (r)
		return r;
	r = proc_parse_maps(text, len, ret_list);
	free(text);
	return r;
}

void proc_vma_list_free(struct proc_vma_list *list)
{
	if (!list)
		return;
	free(list->vmas);
	free(list->storage);
	list->vmas = NULL;
	list->storage = NULL;
	list->nr = 0;
}

/* --- stat ------------------------------------------------------------------------------------- */

enum stat_kind {
	ST_INT,
	ST_UINT,
	ST_S64,
	ST_U64,
	ST_ULL
};

struct stat_field {
	unsigned char nr; /* field number in proc(5) */
	unsigned char kind;
	unsigned short off;
};

#define STAT_OFF(member) offsetof(struct proc_stat, member)

static const struct stat_field stat_fields[] = {
	{ 4, ST_INT, STAT_OFF(ppid) },	       { 5, ST_INT, STAT_OFF(pgrp) },
	{ 6, ST_INT, STAT_OFF(session) },      { 7, ST_INT, STAT_OFF(tty_nr) },
	{ 8, ST_INT, STAT_OFF(tpgid) },	       { 9, ST_UINT, STAT_OFF(flags) },
	{ 20, ST_S64, STAT_OFF(num_threads) }, { 22, ST_U64, STAT_OFF(starttime) },
	{ 26, ST_U64, STAT_OFF(start_code) },  { 27, ST_U64, STAT_OFF(end_code) },
	{ 28, ST_U64, STAT_OFF(start_stack) }, { 31, ST_ULL, STAT_OFF(sigpending) },
	{ 32, ST_ULL, STAT_OFF(sigblocked) },  { 33, ST_ULL, STAT_OFF(sigignore) },
	{ 34, ST_ULL, STAT_OFF(sigcatch) },    { 45, ST_U64, STAT_OFF(start_data) },
	{ 46, ST_U64, STAT_OFF(end_data) },    { 47, ST_U64, STAT_OFF(start_brk) },
	{ 48, ST_U64, STAT_OFF(arg_start) },   { 49, ST_U64, STAT_OFF(arg_end) },
	{ 50, ST_U64, STAT_OFF(env_start) },   { 51, ST_U64, STAT_OFF(env_end) },
	{ 52, ST_INT, STAT_OFF(exit_code) },
};

/* One field, which must be the whole of its space-separated word. */
static int parse_stat_field(const struct stat_field *f, const char *p, const char *end,
			    struct proc_stat *st)
{
	void *dst = (char *)st + f->off;
	uint64_t u = 0;
	int64_t s = 0;
	int r;

	if (f->kind == ST_INT || f->kind == ST_S64)
		r = parse_snum(&p, end, &s);
	else
		r = parse_unum(&p, end, 10, &u);
	if (r || (p < end && *p != ' ' && *p != '\n'))
		return -EINVAL;
	switch (f->kind) {
	case ST_INT:
		if (s < INT_MIN || s > INT_MAX)
			return -EINVAL;
		*(int *)dst = (int)s;
		break;
	case ST_UINT:
		if (u > UINT_MAX)
			return -EINVAL;
		*(unsigned int *)dst = (unsigned int)u;
		break;
	case ST_S64:
		*(int64_t *)dst = s;
		break;
	case ST_U64:
		*(uint64_t *)dst = u;
		break;
	default:
		*(unsigned long long *)dst = u;
		break;
	}
	return 0;
}

/* Where each field from 3 on starts; the kernel separates them by single spaces. */
static int split_stat_fields(const char *p, const char *end, const char **field)
{
	int nr = 3;

	field[nr] = p;
	for (; p < end && *p != '\n'; p++) {
		if (*p != ' ')
			continue;
		if (++nr > STAT_FIELDS)
			return 0;
		field[nr] = p + 1;
	}
	return nr == STAT_FIELDS ? 0 : -EINVAL;
}

/*
 * "PID (COMM) S PPID ...": COMM may hold anything, ")" and spaces included,
 * so it ends at the last ')' of the text.
 */
int proc_parse_stat(const char *text, size_t len, struct proc_stat *ret)
{
	const char *end = text + len, *open, *close, *field[STAT_FIELDS + 1];
	struct proc_stat st;
	size_t i, n;

	open = memchr(text, '(', len);
	close = open ? memrchr(open, ')', (size_t)(end - open)) : NULL;
	if (!close || end - close < 3 || close[1] != ' ' || close[2] == ' ' || close[2] == '\n')
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	n = (size_t)(close - open - 1);
	if (n > sizeof(st.comm) - 1)
		n = sizeof(st.comm) - 1;
	memcpy(st.comm, open + 1, n);
	st.state = close[2];
	if (split_stat_fields(close + 2, end, field) || field[4] != close + 4)
		return -EINVAL;
	for (i = 0; i < sizeof(stat_fields) / sizeof(stat_fields[0]); i++)
		if (parse_stat_field(&stat_fields[i], field[stat_fields[i].nr], end, &st))
			return -EINVAL;
	*ret = st;
	return 0;
}

int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *ret)
{
	char *text;
	size_t len;
	int r = read_whole_at(pid, tid, "stat", SMALL_HINT, &text, &len);

	if (r)
		return r;
	r = proc_parse_stat(text, len, ret);
	free(text);
	return r;
}

/* --- status ----------------------------------------------------------------------------------- */

enum status_kind {
	SS_INT,
	SS_IDS,
	SS_HEX,
	SS_OCT,
	SS_GROUPS,
	SS_DEPTH
};

struct status_field {
	const char *key;
	unsigned char kind;
	bool required;
	unsigned short off;
};

#define STATUS_OFF(member) offsetof(struct proc_status, member)

/* The kernel has shown the required ones since before 5.10, the oldest we support. */
static const struct status_field status_fields[] = {
	{ "Umask", SS_OCT, false, STATUS_OFF(umask) },
	{ "Tgid", SS_INT, true, STATUS_OFF(tgid) },
	{ "Pid", SS_INT, true, STATUS_OFF(pid) },
	{ "PPid", SS_INT, true, STATUS_OFF(ppid) },
	{ "TracerPid", SS_INT, true, STATUS_OFF(tracer_pid) },
	{ "Uid", SS_IDS, true, STATUS_OFF(uid) },
	{ "Gid", SS_IDS, true, STATUS_OFF(gid) },
	{ "Groups", SS_GROUPS, true, STATUS_OFF(groups) },
	{ "NStgid", SS_DEPTH, false, STATUS_OFF(nstgid_depth) },
	{ "CoreDumping", SS_INT, false, STATUS_OFF(core_dumping) },
	{ "Threads", SS_INT, true, STATUS_OFF(threads) },
	{ "SigPnd", SS_HEX, true, STATUS_OFF(sig_pnd) },
	{ "ShdPnd", SS_HEX, true, STATUS_OFF(shd_pnd) },
	{ "SigBlk", SS_HEX, true, STATUS_OFF(sig_blk) },
	{ "SigIgn", SS_HEX, true, STATUS_OFF(sig_ign) },
	{ "SigCgt", SS_HEX, true, STATUS_OFF(sig_cgt) },
	{ "CapInh", SS_HEX, true, STATUS_OFF(cap_inh) },
	{ "CapPrm", SS_HEX, true, STATUS_OFF(cap_prm) },
	{ "CapEff", SS_HEX, true, STATUS_OFF(cap_eff) },
	{ "CapBnd", SS_HEX, true, STATUS_OFF(cap_bnd) },
	{ "CapAmb", SS_HEX, false, STATUS_OFF(cap_amb) },
	{ "NoNewPrivs", SS_INT, false, STATUS_OFF(no_new_privs) },
	{ "Seccomp", SS_INT, false, STATUS_OFF(seccomp) },
	{ "Seccomp_filters", SS_INT, false, STATUS_OFF(seccomp_filters) },
};

_Static_assert(sizeof(status_fields) / sizeof(status_fields[0]) <= 32, "seen mask is 32 bits");

static const struct status_field *find_status_field(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(status_fields) / sizeof(status_fields[0]); i++)
		if (is_key(key, len, status_fields[i].key))
			return &status_fields[i];
	return NULL;
}

/* How many blank-separated words P holds. */
static size_t count_words(const char *p, const char *end)
{
	size_t nr = 0;

	for (;;) {
		p = skip_blanks(p, end);
		if (p == end)
			return nr;
		nr++;
		while (p < end && !is_blank(*p))
			p++;
	}
}

/* "Groups:\t4 24 27 \n": any count, up to NGROUPS_MAX and a line of hundreds of kB. */
static int parse_groups(const char *p, const char *eol, struct proc_status *st)
{
	size_t nr = count_words(p, eol), i;
	uint32_t *groups;

	if (!nr)
		return 0;
	groups = malloc(nr * sizeof(*groups));
	if (!groups)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		p = skip_blanks(p, eol);
		if (parse_u32(&p, eol, 10, &groups[i]) || (p < eol && !is_blank(*p))) {
			free(groups);
			return -EINVAL;
		}
	}
	st->groups = groups;
	st->nr_groups = nr;
	return 0;
}

/* Scalars must fill their line: text that merely starts with a number is not one. */
static int parse_status_value(const struct status_field *f, const char *p, const char *eol,
			      struct proc_status *st)
{
	void *dst = (char *)st + f->off;
	uint32_t *ids = dst;
	size_t words;
	int i, r = 0;

	switch (f->kind) {
	case SS_GROUPS:
		return parse_groups(p, eol, st);
	case SS_DEPTH:
		words = count_words(p, eol);
		if (!words || words > INT_MAX)
			return -EINVAL;
		st->nstgid_depth = (int)words;
		return 0;
	case SS_INT:
		r = parse_int(&p, eol, dst);
		break;
	case SS_HEX:
		r = parse_unum(&p, eol, 16, dst);
		break;
	case SS_OCT:
		r = parse_u32(&p, eol, 8, dst);
		break;
	default:
		for (i = 0; i < 4 && !r; i++) {
			p = skip_blanks(p, eol);
			r = parse_u32(&p, eol, 10, &ids[i]);
		}
		break;
	}
	return r ? r : only_blanks(p, eol);
}

/* "Key:\tvalue" lines; unknown keys are skipped, a repeated key keeps its first value. */
int proc_parse_status(const char *text, size_t len, struct proc_status *ret)
{
	const char *p = text, *end = text + len, *eol, *colon;
	const struct status_field *f;
	struct proc_status st;
	uint32_t seen = 0, bit;
	size_t i;
	int r = 0;

	memset(&st, 0, sizeof(st));
	st.umask = PROC_UMASK_NONE;
	st.nstgid_depth = 1;
	for (; p < end && !r; p = next_line(eol, end)) {
		eol = line_end(p, end);
		colon = memchr(p, ':', (size_t)(eol - p));
		f = colon ? find_status_field(p, (size_t)(colon - p)) : NULL;
		if (!f)
			continue;
		bit = 1u << (f - status_fields);
		if (seen & bit)
			continue;
		seen |= bit;
		r = parse_status_value(f, skip_blanks(colon + 1, eol), eol, &st);
	}
	for (i = 0; i < sizeof(status_fields) / sizeof(status_fields[0]) && !r; i++)
		if (status_fields[i].required && !(seen & (1u << i)))
			r = -EINVAL;
	if (r) {
		free(st.groups);
		return r;
	}
	*ret = st;
	return 0;
}

int proc_read_status(pid_t pid, pid_t tid, struct proc_status *ret)
{
	char *text;
	size_t len;
	int r = read_whole_at(pid, tid, "status", SMALL_HINT, &text, &len);

	if (r)
		return r;
	r = proc_parse_status(text, len, ret);
	free(text);
	return r;
}

void proc_status_free(struct proc_status *st)
{
	if (!st)
		return;
	free(st->groups);
	st->groups = NULL;
	st->nr_groups = 0;
}

/* --- auxv, links, small files, fdinfo --------------------------------------------------------- */

int proc_read_auxv(pid_t pid, uint64_t *buf, size_t max_words, size_t *ret_words)
{
	char path[PROC_PATH_MAX];
	size_t len;
	int r = proc_path(path, sizeof(path), pid, 0, "auxv");

	if (r)
		return r;
	if (max_words > SIZE_MAX / sizeof(*buf))
		max_words = SIZE_MAX / sizeof(*buf);
	r = read_fixed(path, buf, max_words * sizeof(*buf), &len);
	if (r)
		return r;
	if (!len)
		return -ENODATA;
	/* The kernel shows pairs up to and including AT_NULL. */
	if (len % (2 * sizeof(*buf)) || buf[len / sizeof(*buf) - 2] != 0)
		return -EINVAL;
	*ret_words = len / sizeof(*buf);
	return 0;
}

int proc_readlink(pid_t pid, const char *name, char *buf, size_t size)
{
	char path[PROC_PATH_MAX];
	ssize_t n;
	int r = proc_path(path, sizeof(path), pid, 0, name);

	if (r)
		return r;
	if (!size)
		return -ENAMETOOLONG;
	/* readlink() truncates silently: a result that fills BUF may have been cut. */
	n = readlink(path, buf, size);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int proc_read_small(pid_t pid, const char *name, char *buf, size_t size, size_t *ret_len)
{
	char path[PROC_PATH_MAX];
	size_t len;
	int r = proc_path(path, sizeof(path), pid, 0, name);

	if (r)
		return r;
	if (!size)
		return -EFBIG;
	r = read_fixed(path, buf, size - 1, &len);
	if (r)
		return r;
	buf[len] = '\0';
	*ret_len = len;
	return 0;
}

/* One of the common lines, each a single number; -ENOENT for any other line. */
static int parse_fdinfo_line(const char *p, const char *eol, struct proc_fdinfo *fi,
			     unsigned int *seen)
{
	const char *colon = memchr(p, ':', (size_t)(eol - p));
	size_t klen = colon ? (size_t)(colon - p) : 0;
	const char *v = colon ? skip_blanks(colon + 1, eol) : eol;
	int64_t pos = 0;
	int r;

	if (is_key(p, klen, "pos")) {
		*seen |= 1;
		r = parse_snum(&v, eol, &pos);
		fi->pos = (uint64_t)pos;
	} else if (is_key(p, klen, "flags")) {
		*seen |= 2;
		r = parse_u32(&v, eol, 8, &fi->flags);
	} else if (is_key(p, klen, "mnt_id")) {
		r = parse_int(&v, eol, &fi->mnt_id);
	} else if (is_key(p, klen, "ino")) {
		r = parse_unum(&v, eol, 10, &fi->ino);
	} else {
		return -ENOENT;
	}
	return r ? r : only_blanks(v, eol);
}

int proc_parse_fdinfo(const char *text, size_t len, struct proc_fdinfo *ret, const char **ret_rest)
{
	const char *p = text, *end = text + len, *eol;
	struct proc_fdinfo fi = { 0, 0, 0, 0 };
	unsigned int seen = 0;
	int r;

	for (; p < end; p = next_line(eol, end)) {
		eol = line_end(p, end);
		r = parse_fdinfo_line(p, eol, &fi, &seen);
		if (r == -ENOENT)
			break;
		if (r)
			return r;
	}
	if (seen != 3)
		return -EINVAL;
	*ret = fi;
	if (ret_rest)
		*ret_rest = p;
	return 0;
}

/* Only the head matters here: the type-specific tail (epoll, inotify) can be huge. */
int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret)
{
	char name[32], path[PROC_PATH_MAX], buf[1024];
	size_t len = 0;
	int fdn, r;

	if (fd < 0)
		return -EBADF;
	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	r = proc_path(path, sizeof(path), pid, 0, name);
	if (r)
		return r;
	fdn = open_ro(path);
	if (fdn < 0)
		return fdn;
	r = read_upto(fdn, buf, sizeof(buf), &len);
	close(fdn);
	if (r)
		return r;
	/* A cut last line is not one of the common ones, which come first. */
	return proc_parse_fdinfo(buf, len, ret, NULL);
}

/* --- lists of numbers ------------------------------------------------------------------------- */

struct int_vec {
	int *v;
	size_t nr, cap;
};

static int vec_push(struct int_vec *vec, int x)
{
	int *bigger;

	if (vec->nr == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 64;

		if (cap > SIZE_MAX / sizeof(int))
			return -ENOMEM;
		bigger = realloc(vec->v, cap * sizeof(int));
		if (!bigger)
			return -ENOMEM;
		vec->v = bigger;
		vec->cap = cap;
	}
	vec->v[vec->nr++] = x;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Ascending without repeats; the kernel's order is usually sorted already, so check first. */
static void vec_sort_unique(struct int_vec *vec)
{
	size_t i, n;

	for (i = 1; i < vec->nr; i++)
		if (vec->v[i - 1] >= vec->v[i])
			break;
	if (i >= vec->nr)
		return;
	qsort(vec->v, vec->nr, sizeof(int), cmp_int);
	for (i = 1, n = 1; i < vec->nr; i++)
		if (vec->v[i] != vec->v[n - 1])
			vec->v[n++] = vec->v[i];
	vec->nr = n;
}

static void vec_give(struct int_vec *vec, int **ret, size_t *ret_nr)
{
	if (!vec->nr) {
		free(vec->v);
		vec->v = NULL;
	}
	*ret = vec->v;
	*ret_nr = vec->nr;
}

/* A directory entry name that is a non-negative decimal int, as in /proc; else -1. */
static int entry_number(const char *name)
{
	const char *p = name, *end = name + strlen(name);
	int v;

	if (*p < '0' || *p > '9' || parse_int(&p, end, &v) || p != end)
		return -1;
	return v;
}

/* The numbered entries of directory PATH, except SKIP_OWN_FD's own descriptor if set. */
static int list_dir_numbers(const char *path, bool skip_own_fd, struct int_vec *vec)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int r = 0, x;

	if (!d)
		return -errno;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			r = -errno;
			break;
		}
		x = entry_number(de->d_name);
		if (x < 0 || (skip_own_fd && x == dirfd(d)))
			continue;
		r = vec_push(vec, x);
		if (r)
			break;
	}
	closedir(d);
	return r;
}

static int list_numbers(pid_t pid, const char *name, bool is_fd_dir, int **ret, size_t *ret_nr)
{
	struct int_vec vec = { NULL, 0, 0 };
	char path[PROC_PATH_MAX];
	int r = proc_path(path, sizeof(path), pid, 0, name);

	if (!r)
		r = list_dir_numbers(path, is_fd_dir && pid == getpid(), &vec);
	if (r) {
		free(vec.v);
		return r;
	}
	vec_sort_unique(&vec);
	vec_give(&vec, ret, ret_nr);
	return 0;
}

int proc_list_fds(pid_t pid, int **ret_fds, size_t *ret_nr)
{
	return list_numbers(pid, "fd", true, ret_fds, ret_nr);
}

int proc_list_threads(pid_t pid, pid_t **ret_tids, size_t *ret_nr)
{
	return list_numbers(pid, "task", false, ret_tids, ret_nr);
}

/* Appends the pids of a children file: "12 345 6789 ". */
static int parse_pid_words(const char *p, const char *end, struct int_vec *vec)
{
	int x, r;

	for (;;) {
		while (p < end && (is_blank(*p) || *p == '\n'))
			p++;
		if (p == end)
			return 0;
		if (parse_int(&p, end, &x) || x <= 0 || (p < end && !is_blank(*p) && *p != '\n'))
			return -EINVAL;
		r = vec_push(vec, x);
		if (r)
			return r;
	}
}

/*
 * A thread that exited since the task directory was listed has no children
 * to report; one still there without the file means a kernel that lacks it.
 */
static int add_thread_children(pid_t pid, pid_t tid, struct int_vec *vec)
{
	char *text, dir[PROC_PATH_MAX];
	size_t len;
	int r = read_whole_at(pid, tid, "children", SMALL_HINT, &text, &len);

	if (r == -ENOENT && !proc_path(dir, sizeof(dir), pid, tid, ".") && !access(dir, F_OK))
		return -EOPNOTSUPP;
	if (r == -ENOENT || r == -ESRCH)
		return 0;
	if (r)
		return r;
	r = parse_pid_words(text, text + len, vec);
	free(text);
	return r;
}

int proc_list_children(pid_t pid, pid_t **ret_pids, size_t *ret_nr)
{
	struct int_vec vec = { NULL, 0, 0 };
	pid_t *tids;
	size_t nr, i;
	int r = proc_list_threads(pid, &tids, &nr);

	if (r)
		return r;
	for (i = 0; i < nr && !r; i++)
		r = add_thread_children(pid, tids[i], &vec);
	free(tids);
	if (r) {
		free(vec.v);
		return r;
	}
	vec_sort_unique(&vec);
	vec_give(&vec, ret_pids, ret_nr);
	return 0;
}

/* --- pagemap ---------------------------------------------------------------------------------- */

int proc_pagemap_open(pid_t pid)
{
	char path[PROC_PATH_MAX];
	int r = proc_path(path, sizeof(path), pid, 0, "pagemap");

	return r ? r : open_ro(path);
}

int proc_pagemap_read(int fd, uint64_t start, uint64_t end, uint64_t *entries)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t off = start / page * sizeof(*entries);
	size_t want, done = 0;
	ssize_t n;

	if (start > end || start % page || end % page)
		return -EINVAL;
	if ((end - start) / page > SIZE_MAX / sizeof(*entries))
		return -ENOMEM;
	want = (size_t)((end - start) / page) * sizeof(*entries);
	/* One pread() for the whole range: the kernel walks page tables in chunks itself. */
	while (done < want) {
		n = pread(fd, (char *)entries + done, want - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

/* --- mountinfo ---------------------------------------------------------------------------------
 */

/* Undoes the kernel's octal escapes (\ooo) of a path field, in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
}

/* Splits LINE at spaces into at most MAX fields; returns how many. */
static size_t split_fields(char *line, char **fields, size_t max)
{
	size_t n = 0;

	while (*line && n < max) {
		fields[n++] = line;
		while (*line && *line != ' ')
			line++;
		if (*line)
			*line++ = '\0';
	}
	return n;
}

#define MOUNTINFO_FIELDS_MAX 64

static int parse_mount_line(char *line, struct proc_mount *m)
{
	char *f[MOUNTINFO_FIELDS_MAX];
	size_t n = split_fields(line, f, MOUNTINFO_FIELDS_MAX), dash;
	unsigned int maj, min;

	for (dash = 6; dash < n && strcmp(f[dash], "-"); dash++)
		;
	/* id parent maj:min root point options [optional...] - fstype source [super options] */
	if (n < 9 || dash + 2 >= n || sscanf(f[2], "%u:%u", &maj, &min) != 2 ||
	    sscanf(f[0], "%d", &m->id) != 1 || sscanf(f[1], "%d", &m->parent) != 1)
		return -EINVAL;
	m->dev_major = maj;
	m->dev_minor = min;
	unescape_octal(f[3]);
	unescape_octal(f[4]);
	unescape_octal(f[dash + 2]);
	m->root = f[3];
	m->point = f[4];
	m->options = f[5];
	m->fstype = f[dash + 1];
	m->source = f[dash + 2];
	m->super_options = dash + 3 < n ? f[dash + 3] : "";
	return 0;
}

int proc_parse_mountinfo(const char *text, size_t len, struct proc_mount_list *ret_list)
{
	struct proc_mount_list l = { 0 };
	size_t lines = 0, cap;
	char *p;

	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	cap = lines + 1;
	l.storage = malloc(len + 1);
	l.mounts = calloc(cap, sizeof(*l.mounts));
	if (!l.storage || !l.mounts) {
		proc_mount_list_free(&l);
		return -ENOMEM;
	}
	memcpy(l.storage, text, len);
	l.storage[len] = '\0';
	for (p = l.storage; *p;) {
		char *end = strchr(p, '\n');

		if (end)
			*end = '\0';
		if (*p && (l.nr == cap || parse_mount_line(p, &l.mounts[l.nr++]))) {
			proc_mount_list_free(&l);
			return -EINVAL;
		}
		if (!end)
			break;
		p = end + 1;
	}
	*ret_list = l;
	return 0;
}

int proc_read_mountinfo(pid_t pid, struct proc_mount_list *ret_list)
{
	char *text;
	size_t len;
	int r = read_whole_at(pid, 0, "mountinfo", 16384, &text, &len);

	if (r)
		return r;
	r = proc_parse_mountinfo(text, len, ret_list);
	free(text);
	return r;
}

void proc_mount_list_free(struct proc_mount_list *list)
{
	if (!list)
		return;
	free(list->mounts);
	free(list->storage);
	list->mounts = NULL;
	list->storage = NULL;
	list->nr = 0;
}

int proc_parse_boot_id(const char *text, uint8_t id[16])
{
	size_t k = 0;

	memset(id, 0, 16);
	for (const char *p = text; *p && *p != '\n'; p++) {
		int v = *p >= '0' && *p <= '9'	 ? *p - '0'
			: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
			: *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
						 : -1;

		if (*p == '-')
			continue;
		if (v < 0 || k == 32)
			return -EINVAL;
		id[k / 2] = (uint8_t)(id[k / 2] << 4 | v);
		k++;
	}
	return k == 32 ? 0 : -EINVAL;
}

int proc_read_boot_id(uint8_t id[16])
{
	char text[64] = { 0 };
	ssize_t n;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	return proc_parse_boot_id(text, id);
}
