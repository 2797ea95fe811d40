// SPDX-License-Identifier: MIT
/*
 * A structure-aware libFuzzer mutator for the image reader, linked into the
 * libFuzzer target only (not into the corpus replayer).
 *
 * It splits the input into records (doc/image-format.md section 2), makes
 * one change that knows the framing, and writes the records back with every
 * length, the page data placement and CRC32C of REC_PAGES and REC_PRECOPY,
 * and the trailer (count and CRC32C) fixed up, so the result frames even for
 * a reader that checks checksums. The changes: mutate one record's payload
 * with libFuzzer's own mutator (page data excepted), set one of its integer
 * fields to an interesting value, give a record another type, duplicate,
 * delete or swap records, cut the image short. An input that does not frame,
 * and one call in twelve, gets libFuzzer's plain byte mutation instead.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/format.h"
#include "lib/crc32c.h"
#include "lib/util.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
				 size_t size2, uint8_t *out, size_t max_out_size,
				 unsigned int seed);

/* The record types, with their fixed size and whether a variable part may follow. */
static const struct {
	uint32_t type, size;
	bool variable;
} types[] = {
	{ REC_SESSION, sizeof(struct rec_session), false },
	{ REC_PARENT, sizeof(struct rec_parent), true },
	{ REC_TASK, sizeof(struct rec_task), false },
	{ REC_TASK_OBJS, sizeof(struct rec_task_objs), false },
	{ REC_TASK_CORE, sizeof(struct rec_task_core), false },
	{ REC_SIGACTIONS, sizeof(struct rec_sigactions), false },
	{ REC_SIGPENDING, sizeof(struct rec_sigpending), true },
	{ REC_CREDS, sizeof(struct rec_creds), true },
	{ REC_RLIMITS, sizeof(struct rec_rlimits), false },
	{ REC_FS, sizeof(struct rec_fs), true },
	{ REC_POSIX_TIMER, sizeof(struct rec_posix_timer), false },
	{ REC_MM, sizeof(struct rec_mm), true },
	{ REC_VMA, sizeof(struct rec_vma), false },
	{ REC_PAGES, sizeof(struct rec_pages), true },
	{ REC_PRECOPY, sizeof(struct rec_pages), true },
	{ REC_PAGES_KEPT, sizeof(struct rec_pages_kept), true },
	{ REC_FILE, sizeof(struct rec_file), true },
	{ REC_FDTABLE, sizeof(struct rec_fdtable), false },
	{ REC_FD, sizeof(struct rec_fd), false },
	{ REC_PIPE, sizeof(struct rec_pipe), true },
	{ REC_PIPE_FILE, sizeof(struct rec_pipe_file), false },
	{ REC_PIPE_DATA, sizeof(struct rec_pipe_data), true },
	{ REC_SIGNALFD, sizeof(struct rec_signalfd), false },
	{ REC_SHMEM, sizeof(struct rec_shmem), false },
	{ REC_DEVPTS, sizeof(struct rec_devpts), true },
	{ REC_TTY_MASTER, sizeof(struct rec_tty_master), false },
	{ REC_TTY_SLAVE, sizeof(struct rec_tty_slave), false },
	{ REC_TTY_FILE, sizeof(struct rec_tty_file), false },
	{ REC_TTY_INPUT, sizeof(struct rec_tty_input), true },
	{ REC_TTY_OUTPUT, sizeof(struct rec_tty_output), true },
	{ REC_TTY_CTTY, sizeof(struct rec_tty_ctty), false },
	{ REC_TASK_REGS, sizeof(struct rec_task_regs), false },
	{ REC_TASK_XSTATE, sizeof(struct rec_task_xstate), true },
};

/* One record: its payload without page data (META), and the page data of REC_PAGES/PRECOPY. */
struct rec {
	uint32_t type, len; /* LEN: bytes of META */
	const uint8_t *meta;
	const uint8_t *data;
	size_t data_len;
};

struct recs {
	struct rec *v;
	size_t n, cap;
	uint32_t page_size;
};

#define MAX_RECS (1u << 16)

static uint64_t rng;

static uint64_t rnd(uint64_t n)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return n ? (z ^ (z >> 31)) % n : 0;
}

static bool has_page_data(uint32_t type)
{
	return type == REC_PAGES || type == REC_PRECOPY;
}

static bool push(struct recs *rs, size_t at, const struct rec *r)
{
	if (rs->n >= MAX_RECS || array_reserve(&rs->v, &rs->cap, rs->n, sizeof(*rs->v)))
		return false;
	memmove(&rs->v[at + 1], &rs->v[at], (rs->n - at) * sizeof(*rs->v));
	rs->v[at] = *r;
	rs->n++;
	return true;
}

/* Splits BUF into its records, up to its trailer; false if it does not frame. */
static bool split(const uint8_t *buf, size_t size, struct recs *rs)
{
	size_t off = 0;

	rs->n = 0;
	rs->page_size = 4096;
	while (off + sizeof(struct rec_hdr) <= size) {
		struct rec_hdr h;
		struct rec r;

		memcpy(&h, buf + off, sizeof(h));
		if (h.len > size - off - sizeof(h))
			return false;
		if (h.type == REC_TRAILER)
			return rs->n > 0;
		r = (struct rec){ h.type, h.len, buf + off + sizeof(h), NULL, 0 };
		if (h.type == REC_HEADER && h.len >= sizeof(struct rec_header)) {
			uint32_t ps;

			memcpy(&ps, r.meta + offsetof(struct rec_header, page_size), sizeof(ps));
			if (ps >= 4096 && ps <= 65536 && !(ps & (ps - 1)))
				rs->page_size = ps;
		}
		if (has_page_data(h.type) && h.len >= sizeof(struct rec_pages)) {
			struct rec_pages pg;
			uint64_t runs_end;

			memcpy(&pg, r.meta, sizeof(pg));
			runs_end = sizeof(pg) + (uint64_t)pg.nr_runs * sizeof(struct rec_pages_run);
			if (pg.data_offset >= sizeof(pg) && pg.data_offset <= h.len) {
				r.data = r.meta + pg.data_offset;
				r.data_len = h.len - pg.data_offset;
				r.len =
				    runs_end < pg.data_offset ? (uint32_t)runs_end : pg.data_offset;
			}
		}
		if (!push(rs, rs->n, &r))
			return false;
		off += sizeof(h) + ALIGN_UP((size_t)h.len, CRYO_REC_ALIGN);
	}
	return false;
}

/*
 * Writes the records and a trailer to OUT, fixing up lengths, CRCs and where
 * page data starts (on a page boundary of the image); 0 if CAP is too small.
 */
static size_t join(const struct recs *rs, uint8_t *out, size_t cap)
{
	struct rec_hdr h = { REC_TRAILER, sizeof(struct rec_trailer) };
	struct rec_trailer tr = { .nr_records = rs->n };
	uint32_t crc = 0;
	size_t off = 0;

	for (size_t i = 0; i < rs->n; i++) {
		const struct rec *r = &rs->v[i];
		bool pages = has_page_data(r->type) && r->len >= sizeof(struct rec_pages);
		size_t meta_end = off + sizeof(h) + r->len;
		size_t data_at = pages ? ALIGN_UP(meta_end, (size_t)rs->page_size) : meta_end;
		size_t end = data_at + (pages ? r->data_len : 0);
		size_t next = ALIGN_UP(end, (size_t)CRYO_REC_ALIGN);
		struct rec_hdr rh = { r->type, (uint32_t)(end - off - sizeof(h)) };

		if (next + sizeof(h) + sizeof(tr) > cap || end - off - sizeof(h) > UINT32_MAX)
			return 0;
		memcpy(out + off, &rh, sizeof(rh));
		memcpy(out + off + sizeof(rh), r->meta, r->len);
		memset(out + meta_end, 0, next - meta_end);
		if (pages) {
			struct rec_pages pg;

			if (r->data_len)
				memcpy(out + data_at, r->data, r->data_len);
			memcpy(&pg, out + off + sizeof(rh), sizeof(pg));
			pg.data_offset = (uint32_t)(data_at - off - sizeof(rh));
			pg.crc32c = crc32c(0, r->data, r->data_len);
			memcpy(out + off + sizeof(rh), &pg, sizeof(pg));
		}
		crc = crc32c(crc, out + off, (pages ? data_at : next) - off);
		off = next;
	}
	tr.crc32c = crc32c(crc, &h, sizeof(h));
	memcpy(out + off, &h, sizeof(h));
	memcpy(out + off + sizeof(h), &tr, sizeof(tr));
	return off + sizeof(h) + sizeof(tr);
}

/* A record to change: not the header when there is another one. */
static struct rec *pick(struct recs *rs)
{
	return &rs->v[rs->n > 1 ? 1 + rnd(rs->n - 1) : 0];
}

/* Makes R's payload writable, CAP bytes (at least R->len), in SCRATCH (one per call). */
static uint8_t *own(struct rec *r, size_t cap, uint8_t **scratch)
{
	free(*scratch);
	*scratch = calloc(1, cap ? cap : 1);
	if (*scratch)
		memcpy(*scratch, r->meta, r->len);
	r->meta = *scratch;
	return *scratch;
}

/* A value for the integer field at OFF of R: edges, limits, sizes, another record's field. */
static uint64_t interesting(const struct recs *rs, const struct rec *r, size_t off)
{
	static const uint64_t limits[] = {
		CRYO_PID_MAX,	      CRYO_FD_MAX,	  CRYO_PATH_MAX,
		CRYO_PAGES_MAX_BYTES, CRYO_USER_ADDR_END, CRYO_XSTATE_MAX
	};
	const struct rec *o = &rs->v[rnd(rs->n)];
	uint64_t near = rnd(3) - 1, v = 0;

	switch (rnd(9)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return UINT64_MAX;
	case 3:
		return rnd(2) ? INT32_MAX : INT64_MAX;
	case 4:
		return (1 + rnd(16)) * rs->page_size + near;
	case 5:
		return (rnd(2) ? r->len : r->len - off) + near;
	case 6:
		return limits[rnd(ARRAY_SIZE(limits))] + near;
	case 7:
		return rnd(32); /* objrefs, counts, fds, signals */
	default:
		if (o->len >= 4)
			memcpy(&v, o->meta + (rnd(o->len / 4) * 4), 4); /* an objref elsewhere */
		return v;
	}
}

/* One structural change to RS; false if it could not be made. */
static bool mutate(struct recs *rs, size_t max_size, uint8_t **scratch)
{
	struct rec *r = pick(rs), copy;
	uint8_t *p;

	switch (rnd(11)) {
	case 0: /* the payload, through libFuzzer (page data kept) */
	case 1:
	case 2: {
		size_t cap;

		r = &rs->v[rnd(rs->n)];
		cap = r->len + 64 < max_size ? r->len + 64 : max_size;
		if (cap < r->len || !own(r, cap, scratch))
			return false;
		r->len = (uint32_t)LLVMFuzzerMutate(*scratch, r->len, cap);
		return true;
	}
	case 3: /* an integer field, 4 or 8 bytes on its alignment */
	case 4:
	case 5: {
		size_t width = rnd(2) ? 4 : 8, off;
		uint64_t v;

		r = &rs->v[rnd(rs->n)];
		if (r->len < width || !(p = own(r, r->len, scratch)))
			return false;
		off = rnd(r->len / width + 1) * width;
		off = off + width > r->len ? r->len - width : off;
		v = interesting(rs, r, off);
		memcpy(p + off, &v, width); /* little-endian: the low bytes */
		return true;
	}
	case 6: { /* another type, resized to it */
		size_t t = rnd(ARRAY_SIZE(types));
		uint32_t len =
		    r->len < types[t].size || !types[t].variable ? types[t].size : r->len;

		if (r == &rs->v[0] || !own(r, len > r->len ? len : r->len, scratch))
			return false;
		r->type = types[t].type;
		r->len = len;
		return true;
	}
	case 7: /* duplicate */
		copy = *r;
		return push(rs, 1 + rnd(rs->n), &copy);
	case 8: /* delete */
		if (rs->n < 2)
			return false;
		memmove(r, r + 1, (size_t)(&rs->v[rs->n] - (r + 1)) * sizeof(*r));
		rs->n--;
		return true;
	case 9: { /* swap */
		struct rec *s = pick(rs);

		copy = *r;
		*r = *s;
		*s = copy;
		return true;
	}
	default: /* cut short, before the trailer */
		rs->n = 1 + rnd(rs->n);
		return true;
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	static struct recs rs;
	static uint8_t *out;
	static size_t out_cap;
	uint8_t *scratch = NULL;
	size_t n = 0;

	rng = seed;
	if (out_cap < max_size) {
		free(out);
		out_cap = (out = malloc(max_size)) ? max_size : 0;
	}
	if (out && rnd(12) && split(data, size, &rs) && mutate(&rs, max_size, &scratch))
		n = join(&rs, out, max_size);
	free(scratch);
	if (!n)
		return LLVMFuzzerMutate(data, size, max_size);
	memcpy(data, out, n);
	return n;
}

/* The first records of one input, then the last ones of another (its header left out). */
size_t LLVMFuzzerCustomCrossOver(const uint8_t *data1, size_t size1, const uint8_t *data2,
				 size_t size2, uint8_t *out, size_t max_out_size, unsigned int seed)
{
	static struct recs a, b;

	rng = seed;
	if (!split(data1, size1, &a) || !split(data2, size2, &b))
		return 0;
	a.n = 1 + rnd(a.n);
	for (size_t i = b.n > 1 ? 1 + rnd(b.n - 1) : 1; i < b.n; i++)
		if (!push(&a, a.n, &b.v[i]))
			break;
	return join(&a, out, max_out_size);
}
