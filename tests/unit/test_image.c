// SPDX-License-Identifier: MIT
/*
 * The image codec: writer and reader round trips for every record type, and
 * the reader's rejection of every malformed case we can name, each with the
 * offset, record type and reason it must report.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "image/reader.h"
#include "image/writer.h"
#include "lib/crc32c.h"
#include "tap.h"
#include "unit/image_builder.h"

/* Parses B and checks it is rejected with a reason containing WHY, on TYPE. */
static void expect_reject(struct ib *b, uint32_t type, const char *why, const char *name)
{
	struct image_error err;
	struct image *img = NULL;
	int ret = image_parse(b->buf, b->len, 0, &img, &err);

	if (!check_int(ret, ==, -EINVAL)) {
		printf("#   case: %s\n", name);
		image_free(img);
		return;
	}
	if (!tap_result(strstr(err.reason, why) != NULL, __FILE__, __LINE__, name))
		printf("#   reason: \"%s\"\n#   wanted: \"%s\"\n", err.reason, why);
	if (type != (uint32_t)-1 && !check_uint(err.rec_type, ==, type))
		printf("#   case: %s\n", name);
}

static void test_round_trip(void)
{
	struct ib b;
	struct image_error err;
	struct image *img = NULL;
	uint32_t types[32];
	size_t n = 0;

	check_int(ib_valid_image(&b), ==, 0);
	check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0);
	if (!img) {
		printf("#   reason: %s at %llu\n", err.reason, (unsigned long long)err.offset);
		ib_free(&b);
		return;
	}
	for (size_t i = 0; i < img->nr_recs && n < ARRAY_SIZE(types); i++)
		if (!n || types[n - 1] != img->recs[i].type)
			types[n++] = img->recs[i].type;
	check_int(img->nr_recs, ==, 24);
	check_int(img->nr_objs, ==, 6);
	check_uint(types[0], ==, REC_HEADER);
	check_uint(types[1], ==, REC_TASK);
	check_uint(types[n - 1], ==, REC_SIGPENDING);
	check_int(n, ==, 17); /* every record type but the trailer */
	/* every payload equals the bytes that were written */
	for (size_t i = 0; i < img->nr_recs; i++) {
		const struct image_record *r = &img->recs[i];
		size_t meta = r->data_len ? r->data_offset - r->offset - 8 : r->len;

		if (!check_mem(r->payload, b.buf + r->offset + 8, meta))
			printf("#   record %zu (%s)\n", i, image_rec_name(r->type));
	}
	{
		const struct image_record *t = image_obj_record(img, 2, OBJ_TASK);
		const struct image_record *f = image_obj_record(img, 3, OBJ_FILE);
		const struct rec_task *zt = t ? t->payload : NULL;

		check(t && zt->pid == 101 && zt->exit_status == 3 << 8 &&
		      !strcmp(zt->comm, "zombie"));
		check(f && !strcmp((const char *)((const struct rec_file *)f->payload + 1),
				   "/usr/bin/true"));
		check(image_obj_record(img, 3, OBJ_MM) == NULL);
		check(image_obj_record(img, 0, OBJ_TASK) == NULL);
		check(image_obj_record(img, 99, OBJ_TASK) == NULL);
	}
	for (size_t i = 0; i < img->nr_recs; i++) {
		const struct image_record *r = &img->recs[i];

		if (r->type != REC_PAGES)
			continue;
		check_int(r->data_offset % 4096, ==, 0);
		check_int(image_pages_check(img, r, &err), ==, 0);
		check_int(b.buf[r->data_offset], ==,
			  r->data_len == 8192 ? 1 : (2 * 4096 * 7 + 1) & 0xff);
	}
	check_str(image_rec_name(REC_FD), "fd");
	check(image_rec_name(0x7777) == NULL);
	image_free(img);
	ib_free(&b);
}

/* Every proper prefix of a valid image is rejected, and never crashes. */
static void test_every_truncation(void)
{
	struct ib b;
	struct image_error err;
	struct image *img;
	size_t accepted = 0;

	ib_valid_image(&b);
	for (size_t len = 0; len < b.len; len++)
		if (image_parse(b.buf, len, 0, &img, &err) != -EINVAL)
			accepted++;
	check_int(accepted, ==, 0);
	image_parse(b.buf, 100, 0, &img, &err);
	check(strstr(err.reason, "runs past the end") != NULL);
	image_parse(b.buf, 144, 0, &img, &err);
	check(strstr(err.reason, "without a trailer") != NULL);
	ib_free(&b);
}

/* Every single flipped bit of a valid image is detected: every byte has a checksum. */
static void test_every_flip(void)
{
	struct ib b;
	struct image_error err;
	struct image *img;
	size_t accepted = 0, first_bad = 0;

	ib_valid_image(&b);
	for (size_t off = 0; off < b.len; off++) {
		for (int bit = 0; bit < 8; bit += 3) {
			b.buf[off] ^= (unsigned char)(1u << bit);
			if (image_parse(b.buf, b.len, 0, &img, &err) != -EINVAL) {
				if (!accepted++)
					first_bad = off;
				image_free(img);
			}
			b.buf[off] ^= (unsigned char)(1u << bit);
		}
	}
	if (!check_int(accepted, ==, 0))
		printf("#   first undetected flip at offset %zu\n", first_bad);
	ib_free(&b);
}

static void test_random_bytes(void)
{
	unsigned char buf[8192];
	struct image_error err;
	struct image *img;
	int accepted = 0;

	srand(42);
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)rand() % sizeof(buf);

		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)rand();
		if (round % 2) /* get past the magic half of the time */
			memcpy(buf, "\1\0\0\0\x88\0\0\0CRYOIMG", len < 16 ? len : 16);
		if (image_parse(buf, len, 0, &img, &err) != -EINVAL)
			accepted++;
	}
	check_int(accepted, ==, 0);
}

static void test_header_rejects(void)
{
	struct rec_header h;
	struct ib b;

	image_header_init(&h);
	h.page_size = 4096;
	memcpy(h.magic, "CRYOIMX", 8);
	ib_begin_hdr(&b, &h);
	ib_end(&b);
	expect_reject(&b, 0, "bad magic", "bad magic");
	ib_free(&b);

	image_header_init(&h);
	h.page_size = 4096;
	h.major = CRYO_IMAGE_MAJOR + 1;
	ib_begin_hdr(&b, &h);
	ib_end(&b);
	expect_reject(&b, REC_HEADER, "cannot be read by this cryo", "newer major version");
	ib_free(&b);

	image_header_init(&h);
	h.page_size = 4096;
	h.minor = CRYO_IMAGE_MINOR + 1;
	ib_begin_hdr(&b, &h);
	ib_end(&b);
	expect_reject(&b, REC_HEADER, "cannot be read by this cryo", "newer minor version");
	ib_free(&b);

	image_header_init(&h);
	h.page_size = 4096;
	h.arch = 183; /* aarch64 */
	ib_begin_hdr(&b, &h);
	ib_end(&b);
	expect_reject(&b, REC_HEADER, "architecture 183", "other architecture");
	ib_free(&b);

	image_header_init(&h);
	h.page_size = 4097;
	ib_begin_hdr(&b, &h);
	ib_end(&b);
	expect_reject(&b, REC_HEADER, "bad page size", "bad page size");
	ib_free(&b);

	image_header_init(&h);
	h.page_size = 4096;
	h.flags = 1;
	ib_begin_hdr(&b, &h);
	ib_end(&b);
	expect_reject(&b, REC_HEADER, "unknown header flags", "header flags");
	ib_free(&b);

	image_header_init(&h);
	h.page_size = 4096;
	memset(h.kernel_release, 'x', sizeof(h.kernel_release));
	ib_begin_hdr(&b, &h);
	ib_end(&b);
	expect_reject(&b, REC_HEADER, "not NUL-terminated", "kernel release");
	ib_free(&b);
}

static void test_framing_rejects(void)
{
	struct ib b;
	uint64_t zero = 0;
	struct rec_task t = {
		.objref = 1, .pid = 5, .tgid = 5, .pgid = 5, .sid = 5, .state = TASK_ZOMBIE
	};

	ib_begin(&b);
	ib_rec(&b, 0x7777, &zero, sizeof(zero));
	ib_end(&b);
	expect_reject(&b, 0x7777, "unknown record type 0x7777", "unknown type");
	ib_free(&b);

	ib_begin(&b);
	ib_rec(&b, REC_TASK, &t, sizeof(t) - 8);
	ib_end(&b);
	expect_reject(&b, REC_TASK, "record length 40, expected 48", "short fixed record");
	ib_free(&b);

	ib_begin(&b);
	ib_rec(&b, REC_HEADER, &zero, sizeof(zero));
	ib_end(&b);
	expect_reject(&b, REC_HEADER, "expected 136", "second header, wrong size");
	ib_free(&b);

	ib_begin(&b);
	ib_end_raw(&b, 0);
	expect_reject(&b, 0, "without a trailer", "no trailer");
	ib_free(&b);

	/* length overflow: a record claiming 4 GiB */
	ib_valid_image(&b);
	{
		struct rec_hdr h = { REC_TASK, 0xfffffff8u };

		memcpy(b.buf + 144, &h, sizeof(h));
	}
	expect_reject(&b, REC_TASK, "runs past the end", "length overflow");
	ib_free(&b);

	/* trailer: wrong count, wrong crc, bytes after it, non-zero padding */
	ib_valid_image(&b);
	{
		struct rec_trailer *tr = (void *)(b.buf + b.len - sizeof(*tr));

		tr->nr_records++;
		expect_reject(&b, REC_TRAILER, "trailer counts 25 records, the image holds 24",
			      "trailer count");
		tr->nr_records--;
		tr->crc32c ^= 1;
		expect_reject(&b, REC_TRAILER, "checksum mismatch", "trailer crc");
		tr->crc32c ^= 1;
		tr->pad = 1;
		expect_reject(&b, REC_TRAILER, "padding", "trailer padding");
		tr->pad = 0;
		b.len += 0; /* intact again */
	}
	{
		unsigned char *longer = malloc(b.len + 8);

		memcpy(longer, b.buf, b.len);
		memset(longer + b.len, 0, 8);
		free(b.buf);
		b.buf = longer;
		b.len += 8;
		expect_reject(&b, REC_TRAILER, "8 bytes after the trailer", "bytes after trailer");
	}
	ib_free(&b);

	/* a record's padding must be zero (and the CRC would catch it anyway) */
	ib_begin(&b);
	ib_file(&b, 1, "/a"); /* 56 + 3 bytes: 5 bytes of padding */
	ib_end(&b);
	b.buf[144 + 8 + 56 + 3] = 1;
	expect_reject(&b, REC_FILE, "padding is not zero", "record padding");
	ib_free(&b);
}

static void test_objref_rejects(void)
{
	struct ib b;
	struct rec_fdtable fdt = { .objref = 2, .nr_fds = 1 };
	struct rec_fd fd = { .fdt_objref = 2, .file_objref = 1, .fd = 3 };
	struct rec_mm mm = { .objref = 1 };

	ib_begin(&b);
	ib_rec(&b, REC_FDTABLE, &fdt, sizeof(fdt));
	ib_rec(&b, REC_FD, &fd, sizeof(fd));
	ib_file(&b, 1, "/etc/passwd");
	ib_end(&b);
	expect_reject(&b, REC_FD, "file: objref 1 used before it is defined",
		      "use before definition");
	ib_free(&b);

	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_FDTABLE, &fdt, sizeof(fdt));
	ib_rec(&b, REC_FD, &fd, sizeof(fd));
	ib_end(&b);
	expect_reject(&b, REC_FD, "objref 1 is a mm, expected a file", "wrong kind");
	ib_free(&b);

	fd.file_objref = 900;
	ib_begin(&b);
	ib_file(&b, 1, "/etc/passwd");
	ib_rec(&b, REC_FDTABLE, &fdt, sizeof(fdt));
	ib_rec(&b, REC_FD, &fd, sizeof(fd));
	ib_end(&b);
	expect_reject(&b, REC_FD, "objref 900 out of range", "objref out of range");
	ib_free(&b);

	fd.file_objref = 0;
	ib_begin(&b);
	ib_rec(&b, REC_FDTABLE, &fdt, sizeof(fdt));
	ib_rec(&b, REC_FD, &fd, sizeof(fd));
	ib_end(&b);
	expect_reject(&b, REC_FD, "objref missing (0)", "missing objref");
	ib_free(&b);

	ib_begin(&b);
	ib_file(&b, 1, "/a");
	ib_file(&b, 1, "/b");
	ib_end(&b);
	expect_reject(&b, REC_FILE, "objref 1 defined twice", "defined twice");
	ib_free(&b);

	ib_begin(&b);
	ib_file(&b, 7000000, "/a");
	ib_end(&b);
	expect_reject(&b, REC_FILE, "out of range", "huge objref definition");
	ib_free(&b);
}

static void test_semantic_rejects(void)
{
	struct ib b;
	struct rec_fdtable fdt = { .objref = 2, .nr_fds = 2 };
	struct rec_fd fd = { .fdt_objref = 2, .file_objref = 1, .fd = 3 };
	struct rec_mm mm = { .objref = 3 };
	struct rec_vma vma = {
		.mm_objref = 3, .start = 0x10000, .end = 0x12000, .kind = VMA_ANON, .prot = 3
	};
	struct rec_pages pg = { .mm_objref = 3, .nr_runs = 1, .nr_pages = 1 };
	struct rec_pages_run run = { 0x20000, 1 };
	static unsigned char page[4096];
	struct rec_task t = {
		.objref = 1, .pid = 5, .tgid = 5, .pgid = 5, .sid = 5, .state = TASK_ALIVE
	};

	/* fdtable announces 2 fds, holds 1 */
	ib_begin(&b);
	ib_file(&b, 1, "/a");
	ib_rec(&b, REC_FDTABLE, &fdt, sizeof(fdt));
	ib_rec(&b, REC_FD, &fd, sizeof(fd));
	ib_end(&b);
	expect_reject(&b, REC_FDTABLE, "announces 2 fds, the image holds 1", "fd count");
	ib_free(&b);

	/* fds in ascending order */
	ib_begin(&b);
	ib_file(&b, 1, "/a");
	ib_rec(&b, REC_FDTABLE, &fdt, sizeof(fdt));
	ib_rec(&b, REC_FD, &fd, sizeof(fd));
	ib_rec(&b, REC_FD, &fd, sizeof(fd));
	ib_end(&b);
	expect_reject(&b, REC_FD, "not above the previous fd", "duplicate fd");
	ib_free(&b);

	/* relative path */
	ib_begin(&b);
	ib_file(&b, 1, "etc/passwd");
	ib_end(&b);
	expect_reject(&b, REC_FILE, "not absolute", "relative path");
	ib_free(&b);

	/* vma overlap */
	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_end(&b);
	expect_reject(&b, REC_VMA, "overlaps", "vma overlap");
	ib_free(&b);

	/* unaligned vma, unknown kind */
	vma.start = 0x10001;
	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_end(&b);
	expect_reject(&b, REC_VMA, "not a page-aligned user range", "unaligned vma");
	ib_free(&b);
	vma.start = 0x10000;
	vma.kind = 99;
	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_end(&b);
	expect_reject(&b, REC_VMA, "unknown vma kind 99", "vma kind");
	ib_free(&b);
	vma.kind = VMA_ANON;

	/* pages outside every vma */
	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	image_write_pages(&b.w, &pg, &run, page);
	ib_end(&b);
	expect_reject(&b, REC_PAGES, "not inside one saved vma", "pages outside vmas");
	ib_free(&b);

	/* page data checksum */
	run.vaddr = 0x10000;
	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	image_write_pages(&b.w, &pg, &run, page);
	ib_end(&b);
	b.buf[b.len - 24 - 100] ^= 0x40;
	expect_reject(&b, REC_PAGES, "page data checksum mismatch", "page data flip");
	{
		struct image *img = NULL;
		struct image_error err;

		/* deferred: parse succeeds, the check fails later */
		check_int(image_parse(b.buf, b.len, IMAGE_PARSE_DEFER_PAGE_CRC, &img, &err), ==, 0);
		if (img)
			check_int(image_pages_check(img, &img->recs[3], &err), ==, -EINVAL);
		image_free(img);
	}
	ib_free(&b);

	/* a vma after its mm's page data */
	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	image_write_pages(&b.w, &pg, &run, page);
	vma.start = 0x30000;
	vma.end = 0x31000;
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_end(&b);
	expect_reject(&b, REC_VMA, "after the page data", "vma after pages");
	ib_free(&b);

	/* tasks: a live task without objects, a task after other records, bad state */
	ib_begin(&b);
	ib_rec(&b, REC_TASK, &t, sizeof(t));
	ib_end(&b);
	expect_reject(&b, REC_TASK, "has no task_objs record", "task without objects");
	ib_free(&b);

	ib_begin(&b);
	ib_file(&b, 2, "/a");
	ib_rec(&b, REC_TASK, &t, sizeof(t));
	ib_end(&b);
	expect_reject(&b, REC_TASK, "tasks come first", "task order");
	ib_free(&b);

	t.state = 9;
	ib_begin(&b);
	ib_rec(&b, REC_TASK, &t, sizeof(t));
	ib_end(&b);
	expect_reject(&b, REC_TASK, "unknown state 9", "task state");
	ib_free(&b);

	t.state = TASK_ZOMBIE;
	t.pid = -4;
	ib_begin(&b);
	ib_rec(&b, REC_TASK, &t, sizeof(t));
	ib_end(&b);
	expect_reject(&b, REC_TASK, "pid -4 out of range", "negative pid");
	ib_free(&b);

	t.pid = 5;
	memset(t.comm, 'a', sizeof(t.comm));
	ib_begin(&b);
	ib_rec(&b, REC_TASK, &t, sizeof(t));
	ib_end(&b);
	expect_reject(&b, REC_TASK, "comm is not NUL-terminated", "comm");
	ib_free(&b);
}

/* A valid tree, with the root's state changed by EDIT before it is written. */
static void build_with_core(struct ib *b, void (*edit)(struct ib *b))
{
	struct rec_task t = {
		.objref = 1, .pid = 5, .tgid = 5, .pgid = 5, .sid = 5, .state = TASK_ALIVE
	};
	struct rec_fdtable fdt = { .objref = 2 };
	struct rec_mm mm = { .objref = 3 };
	struct rec_task_objs o = { .task_objref = 1, .mm_objref = 3, .fdt_objref = 2 };

	ib_begin(b);
	ib_rec(b, REC_TASK, &t, sizeof(t));
	ib_rec(b, REC_FDTABLE, &fdt, sizeof(fdt));
	ib_rec(b, REC_MM, &mm, sizeof(mm));
	ib_rec(b, REC_TASK_OBJS, &o, sizeof(o));
	edit(b);
	ib_end(b);
}

static void edit_none(struct ib *b)
{
	(void)b;
}

static void edit_full(struct ib *b)
{
	ib_task_state(b, 1);
}

static void edit_twice(struct ib *b)
{
	struct rec_task_core c = { .task_objref = 1 };

	ib_task_state(b, 1);
	ib_rec(b, REC_TASK_CORE, &c, sizeof(c));
}

static void edit_bad_groups(struct ib *b)
{
	struct rec_creds c = { .task_objref = 1, .nr_groups = 3 };

	image_write_rec(&b->w, REC_CREDS, &c, sizeof(c), "12345678", 8);
}

static void edit_bad_rlimit(struct ib *b)
{
	struct rec_rlimits r = { .task_objref = 1, .nr = CRYO_RLIM_NLIMITS };

	r.lim[3].cur = 10;
	r.lim[3].max = 5;
	ib_rec(b, REC_RLIMITS, &r, sizeof(r));
}

static void edit_bad_fs(struct ib *b)
{
	struct rec_fs f = { .task_objref = 1, .cwd_len = 4, .root_len = 2 };

	image_write_rec(&b->w, REC_FS, &f, sizeof(f), "tmp\0/", 6);
}

static void edit_bad_xstate(struct ib *b)
{
	static unsigned char x[32];
	struct rec_task_xstate xs = { .task_objref = 1, .size = sizeof(x) };

	image_write_rec(&b->w, REC_TASK_XSTATE, &xs, sizeof(xs), x, sizeof(x));
}

static void edit_bad_signo(struct ib *b)
{
	static unsigned char info[CRYO_SIGINFO_SIZE] = { 65 };
	struct rec_sigpending p = { .task_objref = 1, .nr = 1 };

	image_write_rec(&b->w, REC_SIGPENDING, &p, sizeof(p), info, sizeof(info));
}

static void edit_bad_umask(struct ib *b)
{
	struct rec_task_core c = { .task_objref = 1, .umask = 01000 };

	ib_rec(b, REC_TASK_CORE, &c, sizeof(c));
}

static void test_task_state_rejects(void)
{
	struct ib b;
	struct image *img = NULL;
	struct image_error err;

	build_with_core(&b, edit_full);
	check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0);
	image_free(img);
	ib_free(&b);
	build_with_core(&b, edit_none);
	expect_reject(&b, REC_TASK, "lacks part of its state", "live task without state");
	ib_free(&b);
	build_with_core(&b, edit_twice);
	expect_reject(&b, REC_TASK_CORE, "a second task_core record", "state twice");
	ib_free(&b);
	build_with_core(&b, edit_bad_groups);
	expect_reject(&b, REC_CREDS, "3 groups do not fit", "groups");
	ib_free(&b);
	build_with_core(&b, edit_bad_rlimit);
	expect_reject(&b, REC_RLIMITS, "limit 3: soft limit above the hard one", "rlimit");
	ib_free(&b);
	build_with_core(&b, edit_bad_fs);
	expect_reject(&b, REC_FS, "cwd is not an absolute", "relative cwd");
	ib_free(&b);
	build_with_core(&b, edit_bad_xstate);
	expect_reject(&b, REC_TASK_XSTATE, "xstate of 32 bytes, the header says 64", "xstate size");
	ib_free(&b);
	build_with_core(&b, edit_bad_signo);
	expect_reject(&b, REC_SIGPENDING, "bad signal number 65", "pending signo");
	ib_free(&b);
	build_with_core(&b, edit_bad_umask);
	expect_reject(&b, REC_TASK_CORE, "umask", "umask");
	ib_free(&b);
}

/* --- terminals ------------------------------------------------------------------- */

static void tty_slave_first(struct ib_tty *t)
{
	t->slave_first = 1;
}

static void tty_index_mismatch(struct ib_tty *t)
{
	t->slave.index = 8;
}

static void tty_slave_of_nothing(struct ib_tty *t)
{
	t->slave.master_objref = 0;
}

static void tty_external_with_master(struct ib_tty *t)
{
	t->slave.flags |= TTYS_EXTERNAL;
}

static void tty_file_of_master(struct ib_tty *t)
{
	t->file.tty_objref = 3;
}

static void tty_segs_sum(struct ib_tty *t)
{
	t->segs[0].len = 2;
}

static void tty_partial_first(struct ib_tty *t)
{
	t->segs[0].end = TTY_SEG_PARTIAL;
	t->segs[1].end = TTY_SEG_LINE;
}

static void tty_raw_two_segs(struct ib_tty *t)
{
	t->slave.termios.c_lflag &= ~0x2u; /* ICANON off */
	t->slave.locked.c_lflag = 0;
}

static void tty_output_len(struct ib_tty *t)
{
	t->output.data_len = 4;
}

static void tty_ctty_other_session(struct ib_tty *t)
{
	t->slave.sid = 101;
	t->slave.fg_pgid = 101;
}

static void tty_parity(struct ib_tty *t)
{
	t->slave.termios.c_cflag |= 0x100; /* PARENB */
}

static void tty_pkt_without_packet(struct ib_tty *t)
{
	t->master.flags = 0;
}

static void tty_not_opened(struct ib_tty *t)
{
	t->second_pair = 1;
	t->second_opened = 1; /* at another index: the duplicate is not the fault here */
}

static void tty_index_beyond_max(struct ib_tty *t)
{
	t->devpts.max = 4;
}

static void tty_fg_without_session(struct ib_tty *t)
{
	t->slave.sid = 0;
	t->write_ctty = 0;
}

static void tty_relative_mount(struct ib_tty *t)
{
	t->devpts.path_len = 8; /* cuts the NUL off "/dev/pts" */
}

static void tty_bad_nccs(struct ib_tty *t)
{
	t->bad_nccs = 1;
}

static void tty_second_pair(struct ib_tty *t)
{
	t->second_pair = 1;
}

static void tty_member_only(struct ib_tty *t)
{
	t->member_ctty = 1;
	t->write_ctty = 0;
}

static void tty_input_unopened(struct ib_tty *t)
{
	t->slave.flags &= ~TTYS_OPENED;
}

static void tty_no_session(struct ib_tty *t)
{
	t->write_ctty = 0;
	t->slave.sid = 0;
	t->slave.fg_pgid = 0;
}

static void tty_member_and_leader(struct ib_tty *t)
{
	t->member_ctty = 1;
}

/*
 * Terminal records and not one live task (a zombie root): valid, and once
 * undefined behaviour in the reader (qsort of no session leaders; found by
 * the fuzzer, tests/fuzz/corpus/regress-ctty-no-task).
 */
static void test_tty_without_live_task(void)
{
	struct rec_devpts d = { .objref = 2,
				.dev_minor = 25,
				.flags = DEVPTS_DEFAULT,
				.mode = 0620,
				.max = CRYO_PTY_INDEX_MAX,
				.path_len = 9 };
	struct rec_tty_master m = {
		.objref = 3, .file_objref = 4, .devpts_objref = 2, .file_flags = O_RDWR
	};
	struct rec_tty_slave sl = { .objref = 5,
				    .master_objref = 3,
				    .devpts_objref = 2,
				    .mode = 0620,
				    .termios = { .c_cflag = 0xbf } };
	struct image_error err;
	struct image *img = NULL;
	struct ib b;

	ib_begin(&b);
	ib_zombie_root(&b, 0);
	image_write_rec(&b.w, REC_DEVPTS, &d, sizeof(d), "/dev/pts", 9);
	ib_rec(&b, REC_TTY_MASTER, &m, sizeof(m));
	ib_rec(&b, REC_TTY_SLAVE, &sl, sizeof(sl));
	ib_end(&b);
	if (!check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0))
		printf("#   reason: %s\n", err.reason);
	image_free(img);
	ib_free(&b);
}

static void pipe_odd_size(struct ib_pipe *p)
{
	p->pipe.size = 65535;
}

static void pipe_data_too_big(struct ib_pipe *p)
{
	p->data.data_len = 9; /* the record holds 8 */
}

static void pipe_bad_flags(struct ib_pipe *p)
{
	p->rd.flags = O_RDONLY | O_DIRECT; /* a packet-mode pipe */
}

static void pipe_fifo(struct ib_pipe *p)
{
	p->pipe.path_len = 11;
	memcpy(p->path, "/tmp/fifo1", 11);
	p->rd.flags = O_RDWR;
}

static void pipe_relative_fifo(struct ib_pipe *p)
{
	p->pipe.path_len = 6;
	memcpy(p->path, "fifo1", 6);
}

static void pipe_second_data(struct ib_pipe *p)
{
	p->second_data = 1;
}

static void test_pipe_records(void)
{
	static const struct {
		void (*edit)(struct ib_pipe *p);
		uint32_t type;
		const char *why;
	} cases[] = {
		{ pipe_odd_size, REC_PIPE, "is not a pipe's" },
		{ pipe_data_too_big, REC_PIPE_DATA, "do not fit" },
		{ pipe_bad_flags, REC_PIPE_FILE, "open flags" },
		{ pipe_relative_fifo, REC_PIPE, "not absolute" },
		{ pipe_second_data, REC_PIPE_DATA, "a second data record" },
	};
	struct image_error err;
	struct image *img = NULL;
	struct ib b;

	ib_pipe_image(&b, NULL);
	if (!check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0))
		printf("#   reason: %s\n", err.reason);
	image_free(img);
	ib_free(&b);
	ib_pipe_image(&b, pipe_fifo);
	img = NULL;
	if (!check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0))
		printf("#   reason: %s\n", err.reason);
	image_free(img);
	ib_free(&b);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ib_pipe_image(&b, cases[i].edit);
		expect_reject(&b, cases[i].type, cases[i].why, cases[i].why);
		ib_free(&b);
	}
}

/* --- threads ----------------------------------------------------------------------- */

/*
 * A live root process (objref 1, pid 100) with one more thread (objref 2,
 * tid 102): fdtable 3, mm 4. EDIT breaks one rule.
 */
struct thread_case {
	struct rec_task thread;
	int thread_before_root; /* its REC_TASK before its process's */
	int other_between;	/* another process's REC_TASK between them */
	int objs_for_thread;	/* a REC_TASK_OBJS naming the thread */
	int rlimits_for_thread; /* a REC_RLIMITS naming the thread */
	int no_regs;		/* the thread has no REC_TASK_REGS */
	int timer_for_thread;	/* a REC_POSIX_TIMER naming the thread */
};

static void build_thread_image(struct ib *b, void (*edit)(struct thread_case *c))
{
	struct rec_task root = {
		.objref = 1, .pid = 100, .tgid = 100, .pgid = 100, .sid = 100, .state = TASK_ALIVE
	};
	struct rec_task other = { .objref = 5,
				  .pid = 101,
				  .tgid = 101,
				  .ppid = 100,
				  .pgid = 100,
				  .sid = 100,
				  .state = TASK_ZOMBIE };
	struct thread_case c = { .thread = root };
	struct rec_fdtable fdt = { .objref = 3 };
	struct rec_mm mm = { .objref = 4, .auxv_words = 2 };
	uint64_t auxv[2] = { 0, 0 };
	struct rec_task_objs objs = { .task_objref = 1, .mm_objref = 4, .fdt_objref = 3 };
	struct rec_task_core core = { .task_objref = 2, .altstack_flags = 2, .comm = "worker" };
	struct rec_task_regs regs = { .task_objref = 2, .nr_regs = CRYO_X86_64_NR_REGS };
	static unsigned char xsave[64];
	struct rec_task_xstate xs = { .task_objref = 2, .size = sizeof(xsave) };
	struct rec_rlimits lim = { .task_objref = 2, .nr = CRYO_RLIM_NLIMITS };
	struct rec_posix_timer timer = { .task_objref = 2, .signo = 14 };

	c.thread.objref = 2;
	c.thread.pid = 102;
	if (edit)
		edit(&c);
	ib_begin(b);
	if (c.thread_before_root)
		ib_rec(b, REC_TASK, &c.thread, sizeof(c.thread));
	ib_rec(b, REC_TASK, &root, sizeof(root));
	if (c.other_between)
		ib_rec(b, REC_TASK, &other, sizeof(other));
	if (!c.thread_before_root)
		ib_rec(b, REC_TASK, &c.thread, sizeof(c.thread));
	if (!c.other_between) {
		other.objref = 6;
		ib_rec(b, REC_TASK, &other, sizeof(other));
	}
	ib_rec(b, REC_FDTABLE, &fdt, sizeof(fdt));
	image_write_rec(&b->w, REC_MM, &mm, sizeof(mm), auxv, sizeof(auxv));
	ib_rec(b, REC_TASK_OBJS, &objs, sizeof(objs));
	ib_task_state(b, 1);
	ib_rec(b, REC_TASK_CORE, &core, sizeof(core));
	if (!c.no_regs)
		ib_rec(b, REC_TASK_REGS, &regs, sizeof(regs));
	image_write_rec(&b->w, REC_TASK_XSTATE, &xs, sizeof(xs), xsave, sizeof(xsave));
	if (c.objs_for_thread) {
		objs.task_objref = 2;
		ib_rec(b, REC_TASK_OBJS, &objs, sizeof(objs));
	}
	if (c.rlimits_for_thread)
		ib_rec(b, REC_RLIMITS, &lim, sizeof(lim));
	if (c.timer_for_thread)
		ib_rec(b, REC_POSIX_TIMER, &timer, sizeof(timer));
	ib_end(b);
}

static void thread_before_root(struct thread_case *c)
{
	c->thread_before_root = 1;
}

static void thread_not_next(struct thread_case *c)
{
	c->other_between = 1;
}

static void thread_other_group(struct thread_case *c)
{
	c->thread.pgid = 102;
}

static void thread_zombie(struct thread_case *c)
{
	c->thread.state = TASK_ZOMBIE;
}

static void thread_with_objs(struct thread_case *c)
{
	c->objs_for_thread = 1;
}

static void thread_with_rlimits(struct thread_case *c)
{
	c->rlimits_for_thread = 1;
}

static void thread_without_regs(struct thread_case *c)
{
	c->no_regs = 1;
}

static void thread_with_timer(struct thread_case *c)
{
	c->timer_for_thread = 1;
}

static void test_thread_records(void)
{
	static const struct {
		void (*edit)(struct thread_case *c);
		uint32_t type;
		const char *why;
	} cases[] = {
		{ thread_before_root, REC_TASK, "not right after its live process 100" },
		{ thread_not_next, REC_TASK, "not right after its live process 100" },
		{ thread_other_group, REC_TASK, "parent, group or session differ" },
		{ thread_zombie, REC_TASK, "thread 102: not alive" },
		{ thread_with_objs, REC_TASK_OBJS, "is a zombie or a thread" },
		{ thread_with_rlimits, REC_RLIMITS, "a rlimits record belongs to its process" },
		{ thread_without_regs, REC_TASK, "thread objref 2 lacks part of its state" },
		{ thread_with_timer, REC_POSIX_TIMER, "is not a live process" },
	};
	struct image_error err;
	struct image *img = NULL;
	struct ib b;

	build_thread_image(&b, NULL);
	if (!check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0))
		printf("#   reason: %s\n", err.reason);
	image_free(img);
	ib_free(&b);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		build_thread_image(&b, cases[i].edit);
		expect_reject(&b, cases[i].type, cases[i].why, cases[i].why);
		ib_free(&b);
	}
}

/* --- sessions ----------------------------------------------------------------------- */

/* An image of a zombie root with a REC_SESSION named NAME, before the task or AFTER it. */
static void build_session_image(struct ib *b, const char *name, bool after)
{
	struct rec_session s = { { 0 } };

	snprintf(s.name, sizeof(s.name), "%s", name);
	ib_begin(b);
	if (!after)
		ib_rec(b, REC_SESSION, &s, sizeof(s));
	ib_zombie_root(b, 0);
	if (after)
		ib_rec(b, REC_SESSION, &s, sizeof(s));
	ib_end(b);
}

static void test_session_record(void)
{
	static const struct {
		const char *name;
		bool after;
		const char *why; /* NULL: accepted */
	} cases[] = {
		{ "work", false, NULL },
		{ "s1.x_y-z", false, NULL },
		{ "work", true, "a session record must follow the header" },
		{ "12", false, "is empty, hidden or a number" },
		{ "", false, "is empty, hidden or a number" },
		{ ".hidden", false, "is empty, hidden or a number" },
		{ "a/b", false, "has a character other than" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct image_error err;
		struct image *img = NULL;
		struct ib b;

		build_session_image(&b, cases[i].name, cases[i].after);
		if (cases[i].why) {
			expect_reject(&b, REC_SESSION, cases[i].why, cases[i].why);
		} else if (check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0)) {
			check(img && img->session && !strcmp(img->session->name, cases[i].name));
		} else {
			printf("#   reason: %s\n", err.reason);
		}
		image_free(img);
		ib_free(&b);
	}
}

/* A zombie's wait status must be one a task can die with: restart makes it die so. */
static void test_zombie_status(void)
{
	static const struct {
		int32_t status;
		bool ok;
	} cases[] = {
		{ 3 << 8, true },    { 0, true },	{ 15, true },	       { 9, true },
		{ 11 | 0x80, true }, { 0x137f, false }, { 17, false },	       { 19, false },
		{ 28, false },	     { 65, false },	{ 3 << 8 | 1, false }, { 1 << 16, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct image_error err;
		struct image *img = NULL;
		struct ib b;
		int ret;

		ib_begin(&b);
		ib_zombie_root(&b, cases[i].status);
		ib_end(&b);
		ret = image_parse(b.buf, b.len, 0, &img, &err);
		if (!check_int(ret, ==, cases[i].ok ? 0 : -EINVAL))
			printf("#   status %#x\n", (unsigned)cases[i].status);
		image_free(img);
		ib_free(&b);
	}
}

static void test_tty_records(void)
{
	static const struct {
		void (*edit)(struct ib_tty *t);
		uint32_t type;
		const char *why;
	} cases[] = {
		{ tty_slave_first, REC_TTY_SLAVE, "used before it is defined" },
		{ tty_index_mismatch, REC_TTY_SLAVE, "not in its master's instance at its index" },
		{ tty_slave_of_nothing, REC_TTY_SLAVE, "objref missing (0)" },
		{ tty_external_with_master, REC_TTY_SLAVE, "names a master it cannot have" },
		{ tty_file_of_master, REC_TTY_FILE, "tty objref 3 is not a slave" },
		{ tty_segs_sum, REC_TTY_INPUT, "input segments hold 5 bytes, the record 6" },
		{ tty_partial_first, REC_TTY_INPUT, "a partial line before others" },
		{ tty_raw_two_segs, REC_TTY_INPUT, "non-canonical tty must be one plain segment" },
		{ tty_output_len, REC_TTY_OUTPUT, "do not fit the record" },
		{ tty_ctty_other_session, REC_TTY_CTTY, "controls session 101, not its 100" },
		{ tty_parity, REC_TTY_SLAVE, "c_cflag" },
		{ tty_pkt_without_packet, REC_TTY_MASTER, "without packet mode" },
		{ tty_not_opened, REC_TTY_SLAVE, "opened flag disagrees" },
		{ tty_index_beyond_max, REC_TTY_MASTER, "beyond its instance's 4" },
		{ tty_fg_without_session, REC_TTY_SLAVE, "foreground group without a session" },
		{ tty_relative_mount, REC_DEVPTS, "does not fit the record" },
		{ tty_bad_nccs, REC_HEADER, "need NCCS 19" },
		{ tty_second_pair, REC_TTY_MASTER, "a second master at index 7" },
		{ tty_input_unopened, REC_TTY_INPUT, "input queued on a slave never opened" },
		{ tty_member_only, REC_TTY_CTTY,
		  "session leader pid 100 lacks the controlling tty" },
	};
	struct image_error err;
	struct image *img = NULL;
	struct ib b;

	check_int(ib_tty_image(&b, NULL), ==, 0);
	if (!check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0))
		printf("#   reason: %s\n", err.reason);
	if (img) {
		const struct image_record *s = image_obj_record(img, 5, OBJ_TTY);

		check(s && s->type == REC_TTY_SLAVE &&
		      ((const struct rec_tty_slave *)s->payload)->ws_xpixel == 640);
		check(image_obj_record(img, 4, OBJ_FILE) != NULL); /* the master's file */
	}
	image_free(img);
	ib_free(&b);
	/* two tasks of the session, both holding the tty: fine */
	ib_tty_image(&b, tty_member_and_leader);
	img = NULL;
	if (!check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0))
		printf("#   reason: %s\n", err.reason);
	image_free(img);
	ib_free(&b);
	/* nobody's controlling tty: no ctty record at all (once undefined behaviour: qsort(NULL))
	 */
	ib_tty_image(&b, tty_no_session);
	img = NULL;
	if (!check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0))
		printf("#   reason: %s\n", err.reason);
	image_free(img);
	ib_free(&b);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ib_tty_image(&b, cases[i].edit);
		expect_reject(&b, cases[i].type, cases[i].why, cases[i].why);
		ib_free(&b);
	}
}

/* The writer puts the image at its final name only when finished. */
static void test_writer_path(void)
{
	char dir[] = "/tmp/cryo-test-XXXXXX", path[64], cmd[96];
	struct image_writer w;
	struct rec_header h;
	struct stat st;

	check(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/x.img", dir);
	image_header_init(&h);
	check_int(image_writer_open_path(&w, path), ==, 0);
	image_write_header(&w, &h);
	check_int(stat(path, &st), ==, -1); /* not yet */
	image_writer_close(&w);		    /* unfinished: the temporary file goes */
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", dir);
	check_int(system(cmd), ==, 0);

	check_int(image_writer_open_path(&w, path), ==, 0);
	image_write_header(&w, &h);
	check_int(image_writer_finish(&w), ==, 0);
	image_writer_close(&w);
	check_int(stat(path, &st), ==, 0);
	check_int(st.st_mode & 07777, ==, 0600);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	check_int(system(cmd), ==, 0);

	check_int(image_writer_open_path(&w, "/nonexistent/dir/x.img"), ==, -ENOENT);
}

/* Pre-copy and incremental records (0.2): REC_PARENT, REC_PRECOPY, REC_PAGES_KEPT. */
static void ib_parent(struct ib *b, const char *path)
{
	unsigned char buf[sizeof(struct rec_parent) + 64] = { 0 };
	size_t n = strlen(path) + 1;

	memcpy(buf + sizeof(struct rec_parent), path, n);
	ib_rec(b, REC_PARENT, buf, sizeof(struct rec_parent) + n);
}

static void ib_kept(struct ib *b, uint32_t source, uint64_t vaddr)
{
	struct {
		struct rec_pages_kept k;
		struct rec_pages_run run;
	} r = { { .mm_objref = 3, .nr_runs = 1, .nr_pages = 1, .source = source }, { vaddr, 1 } };

	ib_rec(b, REC_PAGES_KEPT, &r, sizeof(r));
}

static void test_kept_records(void)
{
	static unsigned char page[4096];
	struct rec_mm mm = { .objref = 3 };
	struct rec_vma vma = {
		.mm_objref = 3, .start = 0x10000, .end = 0x14000, .kind = VMA_ANON, .prot = 3
	};
	struct rec_pages pg = { .mm_objref = 3, .nr_runs = 1, .nr_pages = 1 };
	struct rec_pages pre = { .pid = 7, .nr_runs = 1, .nr_pages = 1 };
	struct rec_pages_run run = { 0x10000, 1 };
	struct rec_task t = {
		.objref = 1, .pid = 5, .tgid = 5, .pgid = 5, .sid = 5, .state = TASK_ALIVE
	};
	struct image_error err;
	struct image *img = NULL;
	struct ib b;

	/* a well-formed incremental image with pre-copy: parent, pre-copy, data, kept */
	ib_begin(&b);
	ib_parent(&b, "/var/tmp/base.img");
	image_write_page_data(&b.w, REC_PRECOPY, &pre, &run, page);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	image_write_pages(&b.w, &pg, &run, page);
	ib_kept(&b, PAGES_IN_PRECOPY, 0x11000);
	ib_kept(&b, PAGES_IN_PARENT, 0x12000);
	ib_end(&b);
	check_int(image_parse(b.buf, b.len, 0, &img, &err), ==, 0);
	check_int(img && img->parent, ==, 1);
	if (img && img->parent)
		check_str(img->parent_path, "/var/tmp/base.img");
	image_free(img);
	ib_free(&b);

	/* a parent record after another record */
	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_parent(&b, "/a");
	ib_end(&b);
	expect_reject(&b, REC_PARENT, "must follow the header", "parent late");
	ib_free(&b);

	/* pre-copy after a task */
	ib_begin(&b);
	ib_rec(&b, REC_TASK, &t, sizeof(t));
	image_write_page_data(&b.w, REC_PRECOPY, &pre, &run, page);
	ib_end(&b);
	expect_reject(&b, REC_PRECOPY, "after the tasks", "precopy after tasks");
	ib_free(&b);

	/* pre-copy runs out of (pid, address) order */
	ib_begin(&b);
	image_write_page_data(&b.w, REC_PRECOPY, &pre, &run, page);
	image_write_page_data(&b.w, REC_PRECOPY, &pre, &run, page);
	ib_end(&b);
	expect_reject(&b, REC_PRECOPY, "overlaps or precedes", "precopy order");
	ib_free(&b);

	/* kept pages in a parent the image does not name, in a pre-copy it lacks */
	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_kept(&b, PAGES_IN_PARENT, 0x11000);
	ib_end(&b);
	expect_reject(&b, REC_PAGES_KEPT, "does not name", "kept without parent");
	ib_free(&b);
	ib_begin(&b);
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_kept(&b, PAGES_IN_PRECOPY, 0x11000);
	ib_end(&b);
	expect_reject(&b, REC_PAGES_KEPT, "does not hold", "kept without pre-copy");
	ib_free(&b);

	/* kept over page data; page data after kept; outside the vmas */
	ib_begin(&b);
	ib_parent(&b, "/a");
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	image_write_pages(&b.w, &pg, &run, page);
	ib_kept(&b, PAGES_IN_PARENT, 0x10000);
	ib_end(&b);
	expect_reject(&b, REC_PAGES_KEPT, "overlaps page data", "kept over data");
	ib_free(&b);
	ib_begin(&b);
	ib_parent(&b, "/a");
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_kept(&b, PAGES_IN_PARENT, 0x11000);
	image_write_pages(&b.w, &pg, &run, page);
	ib_end(&b);
	expect_reject(&b, REC_PAGES, "after the kept pages", "data after kept");
	ib_free(&b);
	ib_begin(&b);
	ib_parent(&b, "/a");
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_kept(&b, PAGES_IN_PARENT, 0x20000);
	ib_end(&b);
	expect_reject(&b, REC_PAGES_KEPT, "not inside one saved vma", "kept outside vmas");
	ib_free(&b);
	ib_begin(&b);
	ib_parent(&b, "/a");
	ib_rec(&b, REC_MM, &mm, sizeof(mm));
	ib_rec(&b, REC_VMA, &vma, sizeof(vma));
	ib_kept(&b, 9, 0x11000);
	ib_end(&b);
	expect_reject(&b, REC_PAGES_KEPT, "unknown page source 9", "kept source");
	ib_free(&b);
}

int main(void)
{
	test_round_trip();
	test_every_truncation();
	test_every_flip();
	test_random_bytes();
	test_header_rejects();
	test_framing_rejects();
	test_objref_rejects();
	test_semantic_rejects();
	test_task_state_rejects();
	test_tty_records();
	test_tty_without_live_task();
	test_pipe_records();
	test_thread_records();
	test_session_record();
	test_kept_records();
	test_zombie_status();
	test_writer_path();
	return tap_done();
}
