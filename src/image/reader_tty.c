// SPDX-License-Identifier: MIT
/*
 * The reader's checks of terminal records (doc/pty.md section 10): devpts
 * instances, master and slave ttys, their files, queued data, and the
 * controlling terminals of tasks. A master comes before its slave, a
 * slave before its files and queues; every master has exactly one slave
 * and every slave at most one master; at the end of the image the flags
 * that summarise other records must agree with them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "image/reader_priv.h"
#include "lib/util.h"

/* The flag bits a pty can show: anything else cannot have come from the kernel. */
#define TTY_IFLAG_MASK 0x7fffu
#define TTY_OFLAG_MASK 0xffffu
#define TTY_CFLAG_MASK 0xf00f1fffu
#define TTY_LFLAG_MASK 0x1dfffu
#define TTY_CSIZE      0x30u
#define TTY_CS8	       0x30u
#define TTY_CREAD      0x80u
#define TTY_PARENB     0x100u
#define TTY_ICANON     0x2u
#define TTY_EXTPROC    0x10000u

#define TTY_FILE_FLAGS (O_ACCMODE | O_APPEND | O_NONBLOCK)

static int add_key(struct tty_pair_key **arr, size_t *nr, uint64_t a, uint64_t b, uint64_t off)
{
	/* grown by doubling: the count is a power of two or zero when full */
	if (!(*nr & (*nr - 1))) {
		struct tty_pair_key *n = realloc(*arr, (*nr ? 2 * *nr : 8) * sizeof(**arr));

		if (!n)
			return -ENOMEM;
		*arr = n;
	}
	(*arr)[(*nr)++] = (struct tty_pair_key){ a, b, off };
	return 0;
}

static int cmp_key(const void *x, const void *y)
{
	const struct tty_pair_key *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	if (a->b != b->b)
		return a->b < b->b ? -1 : 1;
	return (a->offset > b->offset) - (a->offset < b->offset);
}

/* The first pair of equal keys, or NULL. Sorts the array. */
static const struct tty_pair_key *find_dup(struct tty_pair_key *arr, size_t nr)
{
	if (nr < 2)
		return NULL; /* and arr may be NULL, which qsort must not get */
	qsort(arr, nr, sizeof(*arr), cmp_key);
	for (size_t i = 1; i < nr; i++)
		if (arr[i].a == arr[i - 1].a && arr[i].b == arr[i - 1].b)
			return &arr[i];
	return NULL;
}

/* A tty objref that must name a master (a REC_TTY_MASTER) or a slave. */
static int ref_tty(struct parser *p, uint32_t objref, uint32_t rec_type, const char *field)
{
	int ret = ref_obj(p, objref, OBJ_TTY, false, field);

	if (ret)
		return ret;
	if (obj_rec_type(p, objref) != rec_type)
		return fail(p, "%s: tty objref %u is not a %s", field, objref,
			    rec_type == REC_TTY_MASTER ? "master" : "slave");
	return 0;
}

int check_devpts(struct parser *p, const void *payload)
{
	const struct rec_devpts *d = payload;
	int ret;

	p->tty.seen = true;
	if ((ret = def_obj(p, d->objref, OBJ_DEVPTS)))
		return ret;
	if (d->flags & ~DEVPTS_FLAGS || (d->uid && !(d->flags & DEVPTS_SETUID)) ||
	    (d->gid && !(d->flags & DEVPTS_SETGID)))
		return fail(p, "devpts objref %u: unknown flags %#x or options without their flag",
			    d->objref, d->flags);
	if (d->mode > 07777 || d->ptmxmode > 07777 || !d->max || d->max > CRYO_PTY_INDEX_MAX)
		return fail(p, "devpts objref %u: mode, ptmxmode or max out of range", d->objref);
	if (d->path_len != p->rec->len - sizeof(*d))
		return fail(p, "devpts objref %u: path length %u does not fit the record",
			    d->objref, d->path_len);
	if ((ret = check_path(p, (const char *)(d + 1), d->path_len, "mount point")))
		return ret;
	return add_key(&p->tty.devs, &p->tty.nr_devs, d->dev_major, d->dev_minor, p->rec->offset);
}

static int check_pktstatus(struct parser *p, const struct rec_tty_master *m)
{
	uint32_t s = m->pktstatus;

	if (s & ~TTY_PKT_MASK || (s && !(m->flags & TTYM_PACKET)))
		return fail(p, "master tty objref %u: packet status %#x without packet mode",
			    m->objref, s);
	if ((s & TTY_PKT_START && s & TTY_PKT_STOP) || (s & TTY_PKT_DOSTOP && s & TTY_PKT_NOSTOP))
		return fail(p, "master tty objref %u: packet status %#x says two opposite things",
			    m->objref, s);
	return 0;
}

int check_tty_master(struct parser *p, const void *payload)
{
	const struct rec_tty_master *m = payload;
	const struct rec_devpts *d;
	int ret;

	p->tty.seen = true;
	if ((ret = def_obj(p, m->objref, OBJ_TTY)) ||
	    (ret = def_obj(p, m->file_objref, OBJ_FILE)) ||
	    (ret = ref_obj(p, m->devpts_objref, OBJ_DEVPTS, false, "devpts")))
		return ret;
	d = image_obj_record(p->img, m->devpts_objref, OBJ_DEVPTS)->payload;
	if (m->index >= CRYO_PTY_INDEX_MAX || m->index >= d->max)
		return fail(p, "master tty objref %u: index %u beyond its instance's %u", m->objref,
			    m->index, d->max);
	if ((m->file_flags & O_ACCMODE) != O_RDWR || m->file_flags & ~(uint32_t)TTY_FILE_FLAGS)
		return fail(p, "master tty objref %u: open flags %#x", m->objref, m->file_flags);
	if (m->flags & ~TTYM_FLAGS || m->pad)
		return fail(p, "master tty objref %u: unknown flags %#x", m->objref, m->flags);
	if ((ret = check_pktstatus(p, m)))
		return ret;
	p->state[m->objref].tty_flags = m->flags;
	return add_key(&p->tty.indexes, &p->tty.nr_indexes, m->devpts_objref, m->index,
		       p->rec->offset);
}

static int check_termios_flags(struct parser *p, uint32_t iflag, uint32_t oflag, uint32_t cflag,
			       uint32_t lflag, uint8_t line, const char *what)
{
	if (iflag & ~TTY_IFLAG_MASK || oflag & ~TTY_OFLAG_MASK || cflag & ~TTY_CFLAG_MASK ||
	    lflag & ~TTY_LFLAG_MASK || line)
		return fail(p, "%s: flag bits or line discipline a pty cannot have", what);
	return 0;
}

/* A slave names its master, or says why it has none. */
static int check_slave_master(struct parser *p, const struct rec_tty_slave *s)
{
	const struct rec_tty_master *m;
	int ret;

	if ((s->flags & TTYS_EXTERNAL) && (s->flags & TTYS_MASTER_GONE))
		return fail(p, "slave tty objref %u: both external and without master", s->objref);
	if (s->flags & (TTYS_EXTERNAL | TTYS_MASTER_GONE)) {
		if (s->master_objref)
			return fail(p, "slave tty objref %u: names a master it cannot have",
				    s->objref);
		if ((s->flags & TTYS_MASTER_GONE) && !s->devpts_objref)
			return fail(p, "slave tty objref %u: without master nor instance",
				    s->objref);
		return s->devpts_objref ? ref_obj(p, s->devpts_objref, OBJ_DEVPTS, false, "devpts")
					: 0;
	}
	if ((ret = ref_tty(p, s->master_objref, REC_TTY_MASTER, "master")))
		return ret;
	m = image_obj_record(p->img, s->master_objref, OBJ_TTY)->payload;
	if (p->state[s->master_objref].paired)
		return fail(p, "slave tty objref %u: master objref %u already has a slave",
			    s->objref, s->master_objref);
	if (m->devpts_objref != s->devpts_objref || m->index != s->index)
		return fail(p, "slave tty objref %u: not in its master's instance at its index",
			    s->objref);
	p->state[s->master_objref].paired = true;
	p->state[s->master_objref].peer = s->objref;
	p->state[s->objref].paired = true;
	return 0;
}

int check_tty_slave(struct parser *p, const void *payload)
{
	const struct rec_tty_slave *s = payload;
	int ret;

	p->tty.seen = true;
	if ((ret = def_obj(p, s->objref, OBJ_TTY)))
		return ret;
	if (s->flags & ~TTYS_FLAGS || s->stopped > TTY_STOPPED_TCOOFF ||
	    s->index >= CRYO_PTY_INDEX_MAX)
		return fail(p, "slave tty objref %u: unknown flags %#x, stop state or index",
			    s->objref, s->flags);
	if ((ret = check_slave_master(p, s)) || (ret = check_pid(p, s->sid, true, "session")) ||
	    (ret = check_pid(p, s->fg_pgid, true, "foreground group")))
		return ret;
	if (!s->sid && s->fg_pgid)
		return fail(p, "slave tty objref %u: a foreground group without a session",
			    s->objref);
	if (s->mode > 07777 || s->uid == UINT32_MAX || s->gid == UINT32_MAX || s->ldisc)
		return fail(p, "slave tty objref %u: node owner or mode, or line discipline",
			    s->objref);
	if ((ret =
		 check_termios_flags(p, s->termios.c_iflag, s->termios.c_oflag, s->termios.c_cflag,
				     s->termios.c_lflag, s->termios.c_line, "termios")) ||
	    (ret = check_termios_flags(p, s->locked.c_iflag, s->locked.c_oflag, s->locked.c_cflag,
				       s->locked.c_lflag, s->locked.c_line, "locked termios")))
		return ret;
	/* a pty forces 8 bits, reading on and no parity: anything else is not from a pty */
	if ((s->termios.c_cflag & TTY_CSIZE) != TTY_CS8 || !(s->termios.c_cflag & TTY_CREAD) ||
	    s->termios.c_cflag & TTY_PARENB)
		return fail(p, "slave tty objref %u: c_cflag %#x a pty cannot have", s->objref,
			    s->termios.c_cflag);
	p->state[s->objref].tty_flags = s->flags;
	return 0;
}

int check_tty_file(struct parser *p, const void *payload)
{
	const struct rec_tty_file *f = payload;
	int ret;

	if ((ret = def_obj(p, f->objref, OBJ_FILE)) ||
	    (ret = ref_tty(p, f->tty_objref, REC_TTY_SLAVE, "tty")))
		return ret;
	if ((f->flags & O_ACCMODE) == O_ACCMODE || f->flags & ~(uint32_t)TTY_FILE_FLAGS ||
	    f->how & ~TTYF_HOW)
		return fail(p, "tty file objref %u: unknown flags %#x or how %#x", f->objref,
			    f->flags, f->how);
	if ((p->state[f->tty_objref].tty_flags & TTYS_MASTER_GONE) && !(f->how & TTYF_HUNGUP))
		return fail(p, "tty file objref %u: its tty lost its master, the file must be dead",
			    f->objref);
	p->state[f->tty_objref].has_file = true;
	return 0;
}

static int check_segs(struct parser *p, const struct rec_tty_input *in, bool canonical)
{
	const struct rec_tty_seg *segs = (const void *)(in + 1);
	uint64_t total = 0;

	for (uint32_t i = 0; i < in->nr_segs; i++) {
		if (segs[i].end > TTY_SEG_EOF || (segs[i].end != TTY_SEG_EOF && !segs[i].len))
			return fail(p, "input segment %u: unknown end %u or empty", i, segs[i].end);
		if (segs[i].end == TTY_SEG_PARTIAL && i + 1 != in->nr_segs)
			return fail(p, "input segment %u: a partial line before others", i);
		if (!canonical && (segs[i].end != TTY_SEG_PARTIAL || in->nr_segs != 1))
			return fail(p, "input of a non-canonical tty must be one plain segment");
		total += segs[i].len;
	}
	if (total != in->data_len)
		return fail(p, "input segments hold %llu bytes, the record %u",
			    (unsigned long long)total, in->data_len);
	return 0;
}

int check_tty_input(struct parser *p, const void *payload)
{
	const struct rec_tty_input *in = payload;
	const struct rec_tty_slave *s;
	struct obj_state *st;
	bool canonical;
	int ret;

	if ((ret = ref_tty(p, in->tty_objref, REC_TTY_SLAVE, "tty")))
		return ret;
	s = image_obj_record(p->img, in->tty_objref, OBJ_TTY)->payload;
	st = &p->state[in->tty_objref];
	if (s->flags & (TTYS_EXTERNAL | TTYS_MASTER_GONE))
		return fail(p, "tty objref %u: input queued on a tty without its master",
			    in->tty_objref);
	if (!(s->flags & TTYS_OPENED))
		return fail(p, "tty objref %u: input queued on a slave never opened",
			    in->tty_objref);
	if (in->pad || in->data_len > CRYO_TTY_QUEUE_MAX ||
	    in->nr_segs > (p->rec->len - sizeof(*in)) / sizeof(struct rec_tty_seg) ||
	    sizeof(*in) + (uint64_t)in->nr_segs * sizeof(struct rec_tty_seg) + in->data_len !=
		p->rec->len)
		return fail(p, "tty objref %u: %u segments and %u bytes do not fit the record",
			    in->tty_objref, in->nr_segs, in->data_len);
	if (st->input_ended)
		return fail(p, "tty objref %u: input after its partial line", in->tty_objref);
	canonical = (s->termios.c_lflag & TTY_ICANON) && !(s->termios.c_lflag & TTY_EXTPROC);
	if ((ret = check_segs(p, in, canonical)))
		return ret;
	if (in->nr_segs &&
	    ((const struct rec_tty_seg *)(in + 1))[in->nr_segs - 1].end == TTY_SEG_PARTIAL)
		st->input_ended = true;
	return 0;
}

int check_tty_output(struct parser *p, const void *payload)
{
	const struct rec_tty_output *out = payload;
	int ret = ref_tty(p, out->tty_objref, REC_TTY_MASTER, "tty");
	const struct obj_state *st;

	if (ret)
		return ret;
	/* output is written by the slave's side: it must exist, and have been opened */
	st = &p->state[out->tty_objref];
	if (!st->paired || !(p->state[st->peer].tty_flags & TTYS_OPENED))
		return fail(p,
			    "tty objref %u: output queued before its slave, or on a slave never "
			    "opened",
			    out->tty_objref);
	if (out->data_len > CRYO_TTY_QUEUE_MAX || out->data_len != p->rec->len - sizeof(*out))
		return fail(p, "tty objref %u: %u bytes of output do not fit the record",
			    out->tty_objref, out->data_len);
	return 0;
}

int check_tty_ctty(struct parser *p, const void *payload)
{
	const struct rec_tty_ctty *c = payload;
	const struct rec_tty_slave *s;
	const struct rec_task *t;
	int ret;

	if ((ret = task_state_once(p, c->task_objref, SEEN_CTTY)) ||
	    (ret = ref_tty(p, c->tty_objref, REC_TTY_SLAVE, "tty")))
		return ret;
	s = image_obj_record(p->img, c->tty_objref, OBJ_TTY)->payload;
	t = image_obj_record(p->img, c->task_objref, OBJ_TASK)->payload;
	if (!s->sid || s->sid != t->sid)
		return fail(p,
			    "task objref %u: its controlling tty controls session %d, not its %d",
			    c->task_objref, s->sid, t->sid);
	return add_key(&p->tty.cttys, &p->tty.nr_cttys, c->task_objref, c->tty_objref,
		       p->rec->offset);
}

/* Every master got its slave; TTYS_OPENED says what the image shows. */
static int check_pairs(struct parser *p)
{
	const struct image *img = p->img;

	for (uint32_t ref = 1; ref < img->nr_objs; ref++) {
		const struct image_record *r = &img->recs[img->objs[ref].rec];
		const struct obj_state *st = &p->state[ref];

		if (img->objs[ref].kind != OBJ_TTY)
			continue;
		if (r->type == REC_TTY_MASTER && !st->paired)
			return fail_at(p->err, r->offset, r->type,
				       "master tty objref %u has no slave", ref);
		if (r->type == REC_TTY_SLAVE) {
			const struct rec_tty_slave *s = r->payload;
			bool closed = s->master_objref &&
				      (p->state[s->master_objref].tty_flags & TTYM_SLAVE_CLOSED);

			if (!(s->flags & TTYS_OPENED) != !(st->has_file || closed))
				return fail_at(
				    p->err, r->offset, r->type,
				    "slave tty objref %u: opened flag disagrees with its "
				    "files",
				    ref);
		}
	}
	return 0;
}

static int cmp_pair(const void *x, const void *y)
{
	const struct tty_pair_key *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return (a->b > b->b) - (a->b < b->b);
}

/* A session's leader, when in the image and alive, holds the tty any member holds. */
static int check_leaders(struct parser *p)
{
	const struct image *img = p->img;
	struct tty_pair_key *leaders = NULL; /* (pid, task objref) of the live tasks */
	size_t nr = 0;
	int ret = 0;

	for (uint32_t ref = 1; ref < img->nr_objs && !ret; ref++)
		if (img->objs[ref].kind == OBJ_TASK && p->state[ref].alive)
			ret = add_key(
			    &leaders, &nr,
			    (uint64_t)((const struct rec_task *)img->recs[img->objs[ref].rec]
					   .payload)
				->pid,
			    ref, 0);
	if (nr > 1) /* leaders is NULL when there is none, which qsort must not get */
		qsort(leaders, nr, sizeof(*leaders), cmp_pair);
	for (size_t i = 0; i < p->tty.nr_cttys && !ret; i++) {
		const struct tty_pair_key *c = &p->tty.cttys[i], *leader;
		const struct rec_tty_slave *s =
		    image_obj_record(img, (uint32_t)c->b, OBJ_TTY)->payload;
		struct tty_pair_key want = { (uint64_t)s->sid, 0, 0 };

		/* pids are unique among live tasks: at most one entry has this pid */
		leader = NULL;
		for (size_t lo = 0, hi = nr; lo < hi;) {
			size_t mid = lo + (hi - lo) / 2;

			if (leaders[mid].a < want.a) {
				lo = mid + 1;
			} else {
				if (leaders[mid].a == want.a)
					leader = &leaders[mid];
				hi = mid;
			}
		}
		if (!leader)
			continue;
		want = (struct tty_pair_key){ leader->b, c->b, 0 };
		if (!bsearch(&want, p->tty.cttys, p->tty.nr_cttys, sizeof(want), cmp_pair))
			ret = fail_at(
			    p->err, c->offset, REC_TTY_CTTY,
			    "session leader pid %d lacks the controlling tty of its session",
			    s->sid);
	}
	free(leaders);
	return ret;
}

int check_tty_end(struct parser *p)
{
	const struct tty_pair_key *dup;
	int ret;

	if (!p->tty.seen)
		return 0;
	if (p->img->header.nccs != CRYO_NCCS || p->img->header.termios2_size != 44)
		return fail_at(
		    p->err, 0, REC_HEADER,
		    "terminal records need NCCS 19 and a 44-byte termios2 in the header");
	dup = find_dup(p->tty.devs, p->tty.nr_devs);
	if (dup)
		return fail_at(p->err, dup->offset, REC_DEVPTS,
			       "a second record for devpts %llu:%llu", (unsigned long long)dup->a,
			       (unsigned long long)dup->b);
	dup = find_dup(p->tty.indexes, p->tty.nr_indexes);
	if (dup)
		return fail_at(p->err, dup->offset, REC_TTY_MASTER,
			       "a second master at index %llu of devpts objref %llu",
			       (unsigned long long)dup->b, (unsigned long long)dup->a);
	if ((ret = check_pairs(p)))
		return ret;
	/* sorted by (task, tty) for the leaders' lookups; a task has one (checked) */
	if (p->tty.nr_cttys > 1)
		qsort(p->tty.cttys, p->tty.nr_cttys, sizeof(*p->tty.cttys), cmp_pair);
	return check_leaders(p);
}

void free_tty_state(struct parser *p)
{
	free(p->tty.devs);
	free(p->tty.indexes);
	free(p->tty.cttys);
}
