// SPDX-License-Identifier: MIT
/*
 * The validating reader. Two passes over (buf, len):
 *
 * 1. Framing: walk the records, check each header, length and padding, the
 *    image header (magic, version, architecture, page size) and the trailer
 *    (last, record count, CRC32C of all metadata bytes). Corruption is
 *    caught here, before any field is interpreted.
 * 2. Semantics: copy the payloads out of BUF and check every field of every
 *    record in image order, with the objref table: an objref is defined once,
 *    before use, and every reference names the kind it expects.
 *
 * Page data CRCs are checked last (or deferred, see reader.h).
 */
#include "image/reader.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/crc32c.h"
#include "lib/util.h"
#include "image/reader_priv.h"
#include "objhash/objhash.h"

struct rec_rule {
	uint32_t type;
	const char *name;
	uint32_t fixed_len; /* the struct */
	bool variable;	    /* a variable part may follow the struct */
	int (*check)(struct parser *p, const void *payload);
};

int fail_at(struct image_error *err, uint64_t offset, uint32_t type, const char *fmt, ...)
{
	va_list ap;

	err->offset = offset;
	err->rec_type = type;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* --- objrefs -------------------------------------------------------------------- */

static const char *kind_name(uint32_t kind)
{
	return obj_kind_name((enum obj_kind)kind);
}

int def_obj(struct parser *p, uint32_t objref, enum obj_kind kind)
{
	struct image *img = p->img;

	if (objref == 0)
		return fail(p, "objref 0 cannot name a %s", kind_name(kind));
	if (objref > p->max_objref)
		return fail(p, "objref %u out of range (the image has %u records)", objref,
			    p->max_objref);
	if (img->objs[objref].kind != OBJ_NONE)
		return fail(p, "objref %u defined twice (first at record %u)", objref,
			    img->objs[objref].rec);
	img->objs[objref].kind = kind;
	img->objs[objref].rec = (uint32_t)(p->rec - img->recs);
	if (objref >= img->nr_objs)
		img->nr_objs = objref + 1;
	return 0;
}

/* A reference: 0 is accepted only when OPTIONAL. */
uint32_t obj_rec_type(const struct parser *p, uint32_t objref)
{
	return p->img->recs[p->img->objs[objref].rec].type;
}

int ref_obj(struct parser *p, uint32_t objref, enum obj_kind kind, bool optional, const char *field)
{
	uint32_t have;

	if (objref == 0)
		return optional ? 0
				: fail(p, "%s: objref missing (0), expected a %s", field,
				       kind_name(kind));
	if (objref > p->max_objref)
		return fail(p, "%s: objref %u out of range (the image has %u records)", field,
			    objref, p->max_objref);
	have = p->img->objs[objref].kind;
	if (have == OBJ_NONE)
		return fail(p, "%s: objref %u used before it is defined", field, objref);
	if (have != kind)
		return fail(p, "%s: objref %u is a %s, expected a %s", field, objref,
			    kind_name(have), kind_name(kind));
	return 0;
}

bool all_zero(const void *buf, size_t len)
{
	const unsigned char *c = buf;

	for (size_t i = 0; i < len; i++)
		if (c[i])
			return false;
	return true;
}

/* A fixed-size string field: NUL-terminated inside its array. */
static int check_cstr(struct parser *p, const char *s, size_t size, const char *field)
{
	if (!memchr(s, '\0', size))
		return fail(p, "%s is not NUL-terminated", field);
	return 0;
}

/* --- tasks ---------------------------------------------------------------------- */

int check_pid(struct parser *p, int32_t pid, bool zero_ok, const char *field)
{
	if ((pid == 0 && zero_ok) || (pid > 0 && pid < CRYO_PID_MAX))
		return 0;
	return fail(p, "%s %d out of range", field, pid);
}

/*
 * A wait status a zombie can have: an exit code, or death by a signal
 * whose default action ends the process (the core dump bit allowed). Not a
 * stop, nor a signal ignored by default: restart makes the zombie die that
 * way.
 */
static bool zombie_status_ok(int32_t status)
{
	uint32_t s = (uint32_t)status, sig = s & 0x7f;
	/* SIGCHLD 17, SIGCONT 18, SIGSTOP 19, SIGTSTP 20, SIGTTIN 21, SIGTTOU 22, SIGURG 23,
	 * SIGWINCH 28 */
	const uint64_t not_fatal = 0xffull << (17 - 1) | 1ull << (28 - 1);

	if (sig == 0)
		return (s & ~0xff00u) == 0; /* exited: the code in bits 8-15 */
	if (s & ~0xffu || sig > 64)
		return false;
	return !(not_fatal & (1ull << (sig - 1))) && sig != 0x7f;
}

/*
 * A thread other than the leader: its REC_TASK follows its process's (or
 * another thread's of it), alive, with the process's parent, group and
 * session.
 */
static int check_thread(struct parser *p, const struct rec_task *t)
{
	const struct rec_task *l = p->last_process;

	if (!l || l->pid != t->tgid || l->state != TASK_ALIVE)
		return fail(p, "thread %d: not right after its live process %d", t->pid, t->tgid);
	if (t->ppid != l->ppid || t->pgid != l->pgid || t->sid != l->sid)
		return fail(p, "thread %d: parent, group or session differ from its process's",
			    t->pid);
	if (t->state != TASK_ALIVE || t->exit_status)
		return fail(p, "thread %d: not alive", t->pid);
	p->state[t->objref].alive = true;
	p->state[t->objref].thread = true;
	return 0;
}

static int check_task(struct parser *p, const void *payload)
{
	const struct rec_task *t = payload;
	int ret;

	if (p->tasks_done)
		return fail(p, "task pid %d after other records: tasks come first", t->pid);
	if ((ret = def_obj(p, t->objref, OBJ_TASK)) || (ret = check_pid(p, t->pid, false, "pid")) ||
	    (ret = check_pid(p, t->tgid, false, "tgid")) ||
	    (ret = check_pid(p, t->ppid, true, "ppid")) ||
	    (ret = check_pid(p, t->pgid, false, "pgid")) ||
	    (ret = check_pid(p, t->sid, false, "sid")) ||
	    (ret = check_cstr(p, t->comm, sizeof(t->comm), "comm")))
		return ret;
	if (t->tgid != t->pid)
		return check_thread(p, t);
	p->last_process = t;
	if (t->ppid == 0) {
		if (p->root_seen)
			return fail(p, "task pid %d: a second root (ppid 0)", t->pid);
		p->root_seen = true;
	} else if (!p->root_seen) {
		return fail(p, "task pid %d comes before the root task", t->pid);
	}
	switch (t->state) {
	case TASK_ALIVE:
		if (t->exit_status)
			return fail(p, "task pid %d: exit status on a live task", t->pid);
		p->state[t->objref].alive = true;
		return 0;
	case TASK_ZOMBIE:
		if (!zombie_status_ok(t->exit_status))
			return fail(p, "task pid %d: exit status %#x no task could have died with",
				    t->pid, t->exit_status);
		return 0;
	default:
		return fail(p, "task pid %d: unknown state %u", t->pid, t->state);
	}
}

static int check_task_objs(struct parser *p, const void *payload)
{
	const struct rec_task_objs *o = payload;
	struct obj_state *s;
	int ret;

	if ((ret = ref_obj(p, o->task_objref, OBJ_TASK, false, "task")) ||
	    (ret = ref_obj(p, o->mm_objref, OBJ_MM, false, "mm")) ||
	    (ret = ref_obj(p, o->fdt_objref, OBJ_FDTABLE, false, "fdtable")))
		return ret;
	if (o->pad)
		return fail(p, "padding is not zero");
	s = &p->state[o->task_objref];
	if (!s->alive || s->thread)
		return fail(p, "task objref %u is a zombie or a thread: it has no objects",
			    o->task_objref);
	if (s->count++)
		return fail(p, "task objref %u: objects given twice", o->task_objref);
	return 0;
}

/* A record of a live task's own state: names its task, at most once per task. */
int task_state_once(struct parser *p, uint32_t task_objref, uint32_t bit)
{
	struct obj_state *s;
	int ret = ref_obj(p, task_objref, OBJ_TASK, false, "task");

	if (ret)
		return ret;
	s = &p->state[task_objref];
	if (!s->alive)
		return fail(p, "task objref %u is not alive: it has no state", task_objref);
	if (s->seen & bit)
		return fail(p, "task objref %u: a second %s record", task_objref,
			    image_rec_name(p->rec->type));
	if (s->thread && !(bit & SEEN_THREAD_OWN))
		return fail(p, "task objref %u is a thread: a %s record belongs to its process",
			    task_objref, image_rec_name(p->rec->type));
	s->seen |= bit;
	return 0;
}

static int check_task_core(struct parser *p, const void *payload)
{
	const struct rec_task_core *c = payload;
	int ret = task_state_once(p, c->task_objref, SEEN_CORE);

	if (ret)
		return ret;
	if (c->umask & ~0777u || c->pdeath_signal < 0 || c->pdeath_signal > CRYO_NSIG ||
	    c->dumpable > 2 || c->no_new_privs > 1)
		return fail(p, "umask, parent-death signal, dumpable or no_new_privs out of range");
	if (c->altstack_flags & ~CRYO_ALTSTACK_FLAGS)
		return fail(p, "unknown sigaltstack flags %#x", c->altstack_flags);
	if (c->stopped > 1 || c->pad)
		return fail(p, "stopped flag out of range or non-zero padding");
	if (c->child_subreaper > 1 || c->thp_disable > 1 || c->nice < -20 || c->nice > 19 ||
	    (c->sched_policy & ~0x40000000u) > 7 || c->sched_priority > 99)
		return fail(p, "subreaper, THP, nice or scheduling policy out of range");
	if (c->rseq && (c->rseq_len < 32 || c->rseq & 31))
		return fail(p, "rseq area %#llx of %u bytes is not a valid registration",
			    (unsigned long long)c->rseq, c->rseq_len);
	for (int i = 0; i < 3; i++)
		if (c->itimers[i].interval_ns > (1ull << 62) ||
		    c->itimers[i].value_ns > (1ull << 62))
			return fail(p, "interval timer %d out of range", i);
	return check_cstr(p, c->comm, sizeof(c->comm), "comm");
}

static int check_sigactions(struct parser *p, const void *payload)
{
	const struct rec_sigactions *r = payload;

	return task_state_once(p, r->task_objref, SEEN_SIGACTIONS)
		   ?: (r->pad ? fail(p, "padding is not zero") : 0);
}

static int check_sigpending(struct parser *p, const void *payload)
{
	const struct rec_sigpending *r = payload;
	const unsigned char *info = (const unsigned char *)(r + 1);
	uint32_t bit = r->shared ? SEEN_PENDING_SHARED : SEEN_PENDING_PRIVATE;
	int ret = task_state_once(p, r->task_objref, bit);

	if (ret)
		return ret;
	if (r->shared > 1 || r->pad ||
	    (uint64_t)r->nr * CRYO_SIGINFO_SIZE != p->rec->len - sizeof(*r))
		return fail(p, "%u siginfos do not fit the record", r->nr);
	for (uint32_t i = 0; i < r->nr; i++) {
		int32_t signo;

		memcpy(&signo, info + (size_t)i * CRYO_SIGINFO_SIZE, sizeof(signo));
		if (signo < 1 || signo > CRYO_NSIG)
			return fail(p, "pending signal %u: bad signal number %d", i, signo);
	}
	return 0;
}

static int check_creds(struct parser *p, const void *payload)
{
	const struct rec_creds *c = payload;
	int ret = task_state_once(p, c->task_objref, SEEN_CREDS);

	if (ret)
		return ret;
	if (c->nr_groups > CRYO_NGROUPS_MAX ||
	    (uint64_t)c->nr_groups * sizeof(uint32_t) != p->rec->len - sizeof(*c) || c->pad)
		return fail(p, "%u groups do not fit the record", c->nr_groups);
	if (c->securebits & ~0xffu)
		return fail(p, "unknown securebits %#x", c->securebits);
	return 0;
}

static int check_rlimits(struct parser *p, const void *payload)
{
	const struct rec_rlimits *r = payload;
	int ret = task_state_once(p, r->task_objref, SEEN_RLIMITS);

	if (ret)
		return ret;
	if (r->nr != CRYO_RLIM_NLIMITS)
		return fail(p, "%u limits, expected %u", r->nr, CRYO_RLIM_NLIMITS);
	for (uint32_t i = 0; i < r->nr; i++)
		if (r->lim[i].cur > r->lim[i].max)
			return fail(p, "limit %u: soft limit above the hard one", i);
	return 0;
}

int check_path(struct parser *p, const char *path, uint32_t len, const char *what)
{
	if (len < 2 || len > CRYO_PATH_MAX || path[0] != '/' || strnlen(path, len) != len - 1)
		return fail(p, "%s is not an absolute NUL-terminated path", what);
	return 0;
}

static int check_fs(struct parser *p, const void *payload)
{
	const struct rec_fs *f = payload;
	const char *paths = (const char *)(f + 1);
	int ret = task_state_once(p, f->task_objref, SEEN_FS);

	if (ret)
		return ret;
	if ((uint64_t)f->cwd_len + f->root_len != p->rec->len - sizeof(*f) || f->pad)
		return fail(p, "paths of %u and %u bytes do not fit the record", f->cwd_len,
			    f->root_len);
	return check_path(p, paths, f->cwd_len, "cwd")
		   ?: check_path(p, paths + f->cwd_len, f->root_len, "root");
}

static int check_posix_timer(struct parser *p, const void *payload)
{
	const struct rec_posix_timer *t = payload;
	struct obj_state *s;
	int ret = ref_obj(p, t->task_objref, OBJ_TASK, false, "task");

	if (ret)
		return ret;
	s = &p->state[t->task_objref];
	if (!s->alive || s->thread)
		return fail(p, "task objref %u is not a live process: it has no timers",
			    t->task_objref);
	if (t->id < 0 || (s->nr_timers && t->id <= s->last_timer))
		return fail(p, "timer id %d: negative or not above the previous one", t->id);
	if (t->clock < 0 || t->clock > 11)
		return fail(p, "timer %d: unknown clock %d", t->id, t->clock);
	if (t->pad || t->overrun < 0)
		return fail(p, "timer %d: negative overrun or non-zero padding", t->id);
	if (t->notify != TIMER_NOTIFY_SIGNAL && t->notify != TIMER_NOTIFY_NONE &&
	    t->notify != TIMER_NOTIFY_THREAD_ID)
		return fail(p, "timer %d: unknown notification %d", t->id, t->notify);
	if (t->signo < 0 || t->signo > CRYO_NSIG || (t->notify != TIMER_NOTIFY_NONE && !t->signo))
		return fail(p, "timer %d: bad signal %d", t->id, t->signo);
	if (t->value.interval_ns > (1ull << 62) || t->value.value_ns > (1ull << 62))
		return fail(p, "timer %d: value out of range", t->id);
	s->nr_timers++;
	s->last_timer = t->id;
	return 0;
}

static int check_task_regs(struct parser *p, const void *payload)
{
	const struct rec_task_regs *r = payload;
	int ret = task_state_once(p, r->task_objref, SEEN_REGS);

	if (ret)
		return ret;
	if (r->nr_regs != CRYO_X86_64_NR_REGS)
		return fail(p, "%u registers, expected %u", r->nr_regs, CRYO_X86_64_NR_REGS);
	return 0;
}

static int check_task_xstate(struct parser *p, const void *payload)
{
	const struct rec_task_xstate *x = payload;
	int ret = task_state_once(p, x->task_objref, SEEN_XSTATE);

	if (ret)
		return ret;
	if (x->size != p->rec->len - sizeof(*x) || x->size != p->img->header.xstate_size ||
	    x->size > CRYO_XSTATE_MAX)
		return fail(p, "xstate of %u bytes, the header says %u", x->size,
			    p->img->header.xstate_size);
	return 0;
}

/* --- memory --------------------------------------------------------------------- */

static bool page_aligned(const struct parser *p, uint64_t x)
{
	return (x & (p->img->header.page_size - 1)) == 0;
}

static int check_range(struct parser *p, uint64_t start, uint64_t end, const char *what)
{
	if (start > end || end > CRYO_USER_ADDR_END)
		return fail(p, "%s %#llx-%#llx is not a user address range", what,
			    (unsigned long long)start, (unsigned long long)end);
	return 0;
}

/* The executable and mapped files are files by path (REC_FILE), never ttys. */
static int check_plain_file(struct parser *p, uint32_t objref, const char *field)
{
	if (objref && obj_rec_type(p, objref) != REC_FILE)
		return fail(p, "%s: objref %u is not a file by path", field, objref);
	return 0;
}

static int check_mm(struct parser *p, const void *payload)
{
	const struct rec_mm *m = payload;
	int ret;

	if ((ret = def_obj(p, m->objref, OBJ_MM)) ||
	    (ret = ref_obj(p, m->exe_file_objref, OBJ_FILE, true, "exe file")) ||
	    (ret = check_plain_file(p, m->exe_file_objref, "exe file")) ||
	    (ret = check_range(p, m->start_code, m->end_code, "code")) ||
	    (ret = check_range(p, m->start_data, m->end_data, "data")) ||
	    (ret = check_range(p, m->start_brk, m->brk, "brk")) ||
	    (ret = check_range(p, m->arg_start, m->arg_end, "arguments")) ||
	    (ret = check_range(p, m->env_start, m->env_end, "environment")) ||
	    (ret = check_range(p, m->start_stack, m->start_stack, "stack start")))
		return ret;
	if (m->pad || m->auxv_words > CRYO_AUXV_WORDS_MAX || m->auxv_words % 2 ||
	    (uint64_t)m->auxv_words * sizeof(uint64_t) != p->rec->len - sizeof(*m))
		return fail(p, "auxv of %u words does not fit the record", m->auxv_words);
	if (m->auxv_words) {
		const uint64_t *auxv = (const uint64_t *)(m + 1);

		if (auxv[m->auxv_words - 2] != 0)
			return fail(p, "auxv does not end with AT_NULL");
	}
	return 0;
}

static int add_vma(struct parser *p, struct obj_state *s, const struct rec_vma *v)
{
	if (array_reserve(&s->vmas, &s->cap_vmas, s->nr_vmas, sizeof(*s->vmas)))
		return -ENOMEM;
	s->vmas[s->nr_vmas++] = (struct span){ v->start, v->end, v->kind };
	(void)p;
	return 0;
}

static int check_vma(struct parser *p, const void *payload)
{
	const struct rec_vma *v = payload;
	struct obj_state *s;
	int ret;

	bool shmem;

	if ((ret = ref_obj(p, v->mm_objref, OBJ_MM, false, "mm")) ||
	    (ret = ref_obj(p, v->file_objref, OBJ_FILE, true, "file")))
		return ret;
	if (v->kind == 0 || v->kind > VMA_KIND_MAX)
		return fail(p, "unknown vma kind %u", v->kind);
	/* shared anonymous memory names its shared object, a file mapping its file by path */
	shmem = v->kind == VMA_ANON && (v->flags & VMA_FLAG_SHARED) && v->file_objref;
	if (shmem && obj_rec_type(p, v->file_objref) != REC_SHMEM)
		return fail(p, "vma %#llx: objref %u is not shared memory",
			    (unsigned long long)v->start, v->file_objref);
	if (shmem) {
		const struct rec_shmem *m =
		    image_obj_record(p->img, v->file_objref, OBJ_FILE)->payload;

		if (v->end < v->start || v->pgoff > m->size ||
		    v->end - v->start > m->size - v->pgoff)
			return fail(p, "vma %#llx: maps past the end of its shared memory",
				    (unsigned long long)v->start);
	}
	if (!shmem && ((ret = check_plain_file(p, v->file_objref, "file"))))
		return ret;
	if (!shmem && (v->kind == VMA_FILE) != (v->file_objref != 0))
		return fail(p, "vma %#llx: a file objref goes with kind file and only with it",
			    (unsigned long long)v->start);
	if (v->start >= v->end || v->end > CRYO_USER_ADDR_END || !page_aligned(p, v->start) ||
	    !page_aligned(p, v->end) || !page_aligned(p, v->pgoff))
		return fail(p, "vma %#llx-%#llx: not a page-aligned user range",
			    (unsigned long long)v->start, (unsigned long long)v->end);
	if (v->prot & ~VMA_PROT_MASK || v->flags & ~VMA_FLAGS_MASK || v->pad)
		return fail(p, "vma %#llx: unknown protection or flag bits",
			    (unsigned long long)v->start);
	s = &p->state[v->mm_objref];
	if (s->pages_started)
		return fail(p, "vma %#llx after the page data of its mm",
			    (unsigned long long)v->start);
	if (s->nr_vmas && v->start < s->vmas[s->nr_vmas - 1].end)
		return fail(p, "vma %#llx overlaps or precedes the one before it",
			    (unsigned long long)v->start);
	return add_vma(p, s, v);
}

/* The VMA holding [start, end), found from the previous run's VMA onwards. */
static const struct span *find_vma(const struct obj_state *s, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = s->nr_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->vmas[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == s->nr_vmas || s->vmas[lo].start > start || s->vmas[lo].end < end)
		return NULL;
	return &s->vmas[lo];
}

/* Remembers a REC_PAGES run, merged with the one before when they touch. */
static int add_data_span(struct obj_state *s, uint64_t start, uint64_t end)
{
	if (s->nr_data && s->data[s->nr_data - 1].end == start) {
		s->data[s->nr_data - 1].end = end;
		return 0;
	}
	if (array_reserve(&s->data, &s->cap_data, s->nr_data, sizeof(*s->data)))
		return -ENOMEM;
	s->data[s->nr_data++] = (struct span){ start, end, 0 };
	return 0;
}

/* Does [start, end) overlap a REC_PAGES run of the mm? */
static bool overlaps_data(const struct obj_state *s, uint64_t start, uint64_t end)
{
	size_t lo = 0, hi = s->nr_data;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->data[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nr_data && s->data[lo].start < end;
}

/*
 * Runs of REC_PAGES (KEPT false) or REC_PAGES_KEPT (KEPT true): inside one
 * saved vma each, ascending within their kind; kept runs overlap no data.
 */
static int check_runs(struct parser *p, const struct rec_pages_run *runs, uint32_t nr_runs,
		      uint32_t nr_pages, struct obj_state *s, bool kept)
{
	uint64_t page_size = p->img->header.page_size, total = 0;
	uint64_t *reached = kept ? &s->kept_end : &s->pages_end;

	for (uint32_t i = 0; i < nr_runs; i++) {
		const struct rec_pages_run *r = &runs[i];
		const struct span *vma;
		uint64_t end;

		if (!r->nr_pages || r->nr_pages > CRYO_PAGES_MAX_BYTES / page_size ||
		    !page_aligned(p, r->vaddr) || r->vaddr >= CRYO_USER_ADDR_END)
			return fail(p, "run %u: bad address %#llx or page count %llu", i,
				    (unsigned long long)r->vaddr, (unsigned long long)r->nr_pages);
		end = r->vaddr + r->nr_pages * page_size;
		if (r->vaddr < *reached)
			return fail(p, "run %u at %#llx overlaps or precedes earlier page data", i,
				    (unsigned long long)r->vaddr);
		vma = find_vma(s, r->vaddr, end);
		if (!vma || vma->kind == VMA_VDSO)
			return fail(p, "run %u at %#llx is not inside one saved vma of its mm", i,
				    (unsigned long long)r->vaddr);
		if (kept && overlaps_data(s, r->vaddr, end))
			return fail(p, "run %u at %#llx overlaps page data of its mm", i,
				    (unsigned long long)r->vaddr);
		if (!kept && add_data_span(s, r->vaddr, end))
			return -ENOMEM;
		*reached = end;
		total += r->nr_pages;
	}
	if (total != nr_pages)
		return fail(p, "runs hold %llu pages, the record says %u",
			    (unsigned long long)total, nr_pages);
	return 0;
}

/* The fixed part, runs and padding of a record with page data (REC_PAGES, REC_PRECOPY). */
static int check_page_data(struct parser *p, const struct rec_pages *pg)
{
	uint64_t runs_end = sizeof(*pg) + (uint64_t)pg->nr_runs * sizeof(struct rec_pages_run);

	if (!pg->nr_runs || runs_end > pg->data_offset || pg->pad)
		return fail(p, "%u runs do not fit before the page data at %u", pg->nr_runs,
			    pg->data_offset);
	/* Pass 1 checked data_offset alignment and data_len; the padding is ours. */
	if (!all_zero((const char *)pg + runs_end, pg->data_offset - runs_end))
		return fail(p, "padding before the page data is not zero");
	if (p->rec->data_len != (uint64_t)pg->nr_pages * p->img->header.page_size)
		return fail(p, "%llu bytes of page data for %u pages",
			    (unsigned long long)p->rec->data_len, pg->nr_pages);
	return 0;
}

static int check_pages(struct parser *p, const void *payload)
{
	const struct rec_pages *pg = payload;
	struct obj_state *s;
	int ret;

	if ((ret = ref_obj(p, pg->mm_objref, OBJ_MM, false, "mm")) ||
	    (ret = check_page_data(p, pg)))
		return ret;
	s = &p->state[pg->mm_objref];
	if (s->kept_started)
		return fail(p, "page data after the kept pages of its mm");
	s->pages_started = true;
	return check_runs(p, (const void *)(pg + 1), pg->nr_runs, pg->nr_pages, s, false);
}

static int check_pages_kept(struct parser *p, const void *payload)
{
	const struct rec_pages_kept *k = payload;
	uint64_t len = sizeof(*k) + (uint64_t)k->nr_runs * sizeof(struct rec_pages_run);
	struct obj_state *s;
	int ret;

	if ((ret = ref_obj(p, k->mm_objref, OBJ_MM, false, "mm")))
		return ret;
	if (!k->nr_runs || p->rec->len != len)
		return fail(p, "%u runs in %u bytes", k->nr_runs, p->rec->len);
	if (k->source != PAGES_IN_PRECOPY && k->source != PAGES_IN_PARENT)
		return fail(p, "unknown page source %u", k->source);
	if (k->source == PAGES_IN_PRECOPY && !p->precopy_seen)
		return fail(p, "pages kept in a pre-copy the image does not hold");
	if (k->source == PAGES_IN_PARENT && !p->img->parent)
		return fail(p, "pages kept in a parent image the image does not name");
	s = &p->state[k->mm_objref];
	s->pages_started = true;
	s->kept_started = true;
	return check_runs(p, (const void *)(k + 1), k->nr_runs, k->nr_pages, s, true);
}

/*
 * Pre-copied data: before the tasks, in ascending (pid, address) order,
 * each run in user space. Which vma a page lands in is the business of
 * the REC_PAGES_KEPT that refers to it.
 */
static int check_precopy(struct parser *p, const void *payload)
{
	const struct rec_pages *pg = payload;
	const struct rec_pages_run *runs = (const void *)(pg + 1);
	uint64_t page_size = p->img->header.page_size, total = 0;
	int ret;

	if (p->tasks_started)
		return fail(p, "pre-copied pages of pid %u after the tasks", pg->pid);
	if ((ret = check_pid(p, (int32_t)pg->pid, false, "pid")) || (ret = check_page_data(p, pg)))
		return ret;
	if (pg->pid < p->precopy_pid)
		return fail(p, "pre-copied pages of pid %u after those of pid %u", pg->pid,
			    p->precopy_pid);
	if (pg->pid != p->precopy_pid)
		p->precopy_end = 0;
	p->precopy_pid = pg->pid;
	p->precopy_seen = true;
	for (uint32_t i = 0; i < pg->nr_runs; i++) {
		const struct rec_pages_run *r = &runs[i];

		if (!r->nr_pages || r->nr_pages > CRYO_PAGES_MAX_BYTES / page_size ||
		    !page_aligned(p, r->vaddr) || r->vaddr >= CRYO_USER_ADDR_END ||
		    r->nr_pages * page_size > CRYO_USER_ADDR_END - r->vaddr)
			return fail(p, "run %u: bad address %#llx or page count %llu", i,
				    (unsigned long long)r->vaddr, (unsigned long long)r->nr_pages);
		if (r->vaddr < p->precopy_end)
			return fail(p, "run %u at %#llx overlaps or precedes earlier page data", i,
				    (unsigned long long)r->vaddr);
		p->precopy_end = r->vaddr + r->nr_pages * page_size;
		total += r->nr_pages;
	}
	if (total != pg->nr_pages)
		return fail(p, "runs hold %llu pages, the record says %u",
			    (unsigned long long)total, pg->nr_pages);
	return 0;
}

/* --- files ---------------------------------------------------------------------- */

#define FILE_FLAGS_KNOWN                                                                           \
	(O_ACCMODE | O_APPEND | O_NONBLOCK | O_DSYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY |      \
	 O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | FASYNC | O_CREAT | O_EXCL |        \
	 O_NOCTTY | O_TRUNC)

static int check_file(struct parser *p, const void *payload)
{
	const struct rec_file *f = payload;
	const char *path = (const char *)(f + 1);
	uint32_t var_len = p->rec->len - sizeof(*f);
	int ret;

	if ((ret = def_obj(p, f->objref, OBJ_FILE)))
		return ret;
	if (f->kind == 0 || f->kind > FILE_KIND_MAX)
		return fail(p, "file objref %u: unknown kind %u", f->objref, f->kind);
	if (f->flags & ~(uint32_t)FILE_FLAGS_KNOWN || (f->flags & O_ACCMODE) == O_ACCMODE || f->pad)
		return fail(p, "file objref %u: unknown open flags %#x", f->objref, f->flags);
	if (f->path_len != var_len || f->path_len < 2 || f->path_len > CRYO_PATH_MAX)
		return fail(p, "file objref %u: path length %u does not fit the record", f->objref,
			    f->path_len);
	if (path[0] != '/' || strnlen(path, f->path_len) != f->path_len - 1)
		return fail(p, "file objref %u: path is not absolute and NUL-terminated",
			    f->objref);
	return 0;
}

static int check_fdtable(struct parser *p, const void *payload)
{
	const struct rec_fdtable *t = payload;
	int ret;

	if ((ret = def_obj(p, t->objref, OBJ_FDTABLE)))
		return ret;
	if (t->nr_fds > p->max_objref)
		return fail(p, "fdtable objref %u: %u fds cannot fit in the image", t->objref,
			    t->nr_fds);
	p->state[t->objref].last_fd = -1;
	return 0;
}

static int check_fd(struct parser *p, const void *payload)
{
	const struct rec_fd *f = payload;
	const struct rec_fdtable *t;
	struct obj_state *s;
	int ret;

	if ((ret = ref_obj(p, f->fdt_objref, OBJ_FDTABLE, false, "fdtable")) ||
	    (ret = ref_obj(p, f->file_objref, OBJ_FILE, false, "file")))
		return ret;
	if (obj_rec_type(p, f->file_objref) == REC_SHMEM)
		return fail(p, "fd %d: names shared memory, which is not an open file", f->fd);
	if (f->fd < 0 || f->fd >= CRYO_FD_MAX || f->flags & ~FD_FLAG_CLOEXEC)
		return fail(p, "fd %d: out of range or unknown flags %#x", f->fd, f->flags);
	s = &p->state[f->fdt_objref];
	t = image_obj_record(p->img, f->fdt_objref, OBJ_FDTABLE)->payload;
	if (f->fd <= s->last_fd)
		return fail(p, "fd %d: not above the previous fd %d of its table", f->fd,
			    s->last_fd);
	if (++s->count > t->nr_fds)
		return fail(p, "fd %d: more fds than its table's %u", f->fd, t->nr_fds);
	s->last_fd = f->fd;
	return 0;
}

/* --- pipes ----------------------------------------------------------------------- */

static int check_pipe(struct parser *p, const void *payload)
{
	const struct rec_pipe *r = payload;
	const char *path = (const char *)(r + 1);
	int ret;

	if ((ret = def_obj(p, r->objref, OBJ_PIPE)))
		return ret;
	if (r->size < CRYO_PIPE_SIZE_MIN || r->size > CRYO_PIPE_SIZE_MAX ||
	    (r->size & (r->size - 1)) || r->pad)
		return fail(p, "pipe objref %u: size %u is not a pipe's", r->objref, r->size);
	if (r->path_len != p->rec->len - sizeof(*r))
		return fail(p, "pipe objref %u: path of %u bytes does not fit the record",
			    r->objref, r->path_len);
	if (r->path_len && (r->path_len > CRYO_PATH_MAX || path[0] != '/' ||
			    strnlen(path, r->path_len) != r->path_len - 1))
		return fail(p, "pipe objref %u: path is not absolute and NUL-terminated",
			    r->objref);
	return 0;
}

static int check_pipe_file(struct parser *p, const void *payload)
{
	const struct rec_pipe_file *f = payload;
	const struct rec_pipe *pipe;
	uint32_t mode = f->flags & O_ACCMODE;
	int ret;

	if ((ret = def_obj(p, f->objref, OBJ_FILE)) ||
	    (ret = ref_obj(p, f->pipe_objref, OBJ_PIPE, false, "pipe")))
		return ret;
	pipe = image_obj_record(p->img, f->pipe_objref, OBJ_PIPE)->payload;
	(void)pipe; /* O_RDWR: a FIFO, or a pipe reopened through /proc */
	if (f->flags & ~PIPE_FILE_FLAGS || mode == 3 || f->pad)
		return fail(p, "pipe file objref %u: open flags %#x", f->objref, f->flags);
	return 0;
}

static int check_pipe_data(struct parser *p, const void *payload)
{
	const struct rec_pipe_data *d = payload;
	const struct rec_pipe *pipe;
	int ret;

	if ((ret = ref_obj(p, d->pipe_objref, OBJ_PIPE, false, "pipe")))
		return ret;
	pipe = image_obj_record(p->img, d->pipe_objref, OBJ_PIPE)->payload;
	if (d->data_len > pipe->size || d->data_len != p->rec->len - sizeof(*d))
		return fail(p, "pipe objref %u: %u bytes of data do not fit it or the record",
			    d->pipe_objref, d->data_len);
	if (p->state[d->pipe_objref].count++)
		return fail(p, "pipe objref %u: a second data record", d->pipe_objref);
	return 0;
}

static int check_shmem(struct parser *p, const void *payload)
{
	const struct rec_shmem *m = payload;
	int ret;

	if ((ret = def_obj(p, m->objref, OBJ_FILE)))
		return ret;
	if (!m->size || m->size > CRYO_USER_ADDR_END || !page_aligned(p, m->size) || m->pad)
		return fail(p, "shmem objref %u: size %#llx", m->objref,
			    (unsigned long long)m->size);
	return 0;
}

static int check_signalfd(struct parser *p, const void *payload)
{
	const struct rec_signalfd *f = payload;
	const uint64_t unblockable = 1ull << (9 - 1) | 1ull << (19 - 1); /* SIGKILL, SIGSTOP */
	int ret;

	if ((ret = def_obj(p, f->objref, OBJ_FILE)))
		return ret;
	if ((f->flags & ~(uint32_t)(O_ACCMODE | O_NONBLOCK)) || (f->flags & O_ACCMODE) != O_RDWR)
		return fail(p, "signalfd objref %u: open flags %#x", f->objref, f->flags);
	if (f->mask & unblockable)
		return fail(p, "signalfd objref %u: a mask with SIGKILL or SIGSTOP", f->objref);
	return 0;
}

/* --- control -------------------------------------------------------------------- */

static int check_nothing(struct parser *p, const void *payload)
{
	(void)p;
	(void)payload;
	return 0;
}

/* A session's name: right after the header, a name restart can give a session. */
static int check_session(struct parser *p, const void *payload)
{
	const struct rec_session *s = payload;
	int ret = check_cstr(p, s->name, sizeof(s->name), "name");

	if (ret)
		return ret;
	if (p->rec != &p->img->recs[1])
		return fail(p, "a session record must follow the header");
	if (!s->name[0] || s->name[0] == '.' || s->name[strspn(s->name, "0123456789")] == '\0')
		return fail(p, "session name \"%s\" is empty, hidden or a number", s->name);
	for (const char *c = s->name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._-", *c))
			return fail(p,
				    "session name \"%s\" has a character other than letters, "
				    "digits, '.', '_' and '-'",
				    s->name);
	p->img->session = s;
	return 0;
}

static int check_parent(struct parser *p, const void *payload)
{
	const struct rec_parent *r = payload;
	const char *path = (const char *)(r + 1);
	uint32_t path_len = p->rec->len - (uint32_t)sizeof(*r);
	const struct image_record *before = p->rec - 1;

	if (before != &p->img->recs[0] && before->type != REC_SESSION)
		return fail(p, "a parent record must follow the header (or the session)");
	if (r->pad)
		return fail(p, "padding is not zero");
	if (!path_len || path_len > CRYO_PATH_MAX || path[path_len - 1] != '\0' ||
	    strlen(path) != path_len - 1 || !path[0])
		return fail(
		    p, "the parent's path is empty, too long or not one NUL-terminated string");
	p->img->parent = r;
	p->img->parent_path = path;
	return 0;
}

static const struct rec_rule rules[] = {
	{ REC_HEADER, "header", sizeof(struct rec_header), false, check_nothing },
	{ REC_TRAILER, "trailer", sizeof(struct rec_trailer), false, check_nothing },
	{ REC_SESSION, "session", sizeof(struct rec_session), false, check_session },
	{ REC_PARENT, "parent", sizeof(struct rec_parent), true, check_parent },
	{ REC_TASK, "task", sizeof(struct rec_task), false, check_task },
	{ REC_TASK_OBJS, "task_objs", sizeof(struct rec_task_objs), false, check_task_objs },
	{ REC_TASK_CORE, "task_core", sizeof(struct rec_task_core), false, check_task_core },
	{ REC_SIGACTIONS, "sigactions", sizeof(struct rec_sigactions), false, check_sigactions },
	{ REC_SIGPENDING, "sigpending", sizeof(struct rec_sigpending), true, check_sigpending },
	{ REC_CREDS, "creds", sizeof(struct rec_creds), true, check_creds },
	{ REC_RLIMITS, "rlimits", sizeof(struct rec_rlimits), false, check_rlimits },
	{ REC_FS, "fs", sizeof(struct rec_fs), true, check_fs },
	{ REC_POSIX_TIMER, "posix_timer", sizeof(struct rec_posix_timer), false,
	  check_posix_timer },
	{ REC_TASK_REGS, "regs", sizeof(struct rec_task_regs), false, check_task_regs },
	{ REC_TASK_XSTATE, "xstate", sizeof(struct rec_task_xstate), true, check_task_xstate },
	{ REC_DEVPTS, "devpts", sizeof(struct rec_devpts), true, check_devpts },
	{ REC_TTY_MASTER, "tty_master", sizeof(struct rec_tty_master), false, check_tty_master },
	{ REC_TTY_SLAVE, "tty_slave", sizeof(struct rec_tty_slave), false, check_tty_slave },
	{ REC_TTY_FILE, "tty_file", sizeof(struct rec_tty_file), false, check_tty_file },
	{ REC_TTY_INPUT, "tty_input", sizeof(struct rec_tty_input), true, check_tty_input },
	{ REC_TTY_OUTPUT, "tty_output", sizeof(struct rec_tty_output), true, check_tty_output },
	{ REC_TTY_CTTY, "ctty", sizeof(struct rec_tty_ctty), false, check_tty_ctty },
	{ REC_MM, "mm", sizeof(struct rec_mm), true, check_mm },
	{ REC_VMA, "vma", sizeof(struct rec_vma), false, check_vma },
	{ REC_PAGES, "pages", sizeof(struct rec_pages), true, check_pages },
	{ REC_PRECOPY, "precopy", sizeof(struct rec_pages), true, check_precopy },
	{ REC_PAGES_KEPT, "pages_kept", sizeof(struct rec_pages_kept), true, check_pages_kept },
	{ REC_FILE, "file", sizeof(struct rec_file), true, check_file },
	{ REC_FDTABLE, "fdtable", sizeof(struct rec_fdtable), false, check_fdtable },
	{ REC_FD, "fd", sizeof(struct rec_fd), false, check_fd },
	{ REC_PIPE, "pipe", sizeof(struct rec_pipe), true, check_pipe },
	{ REC_PIPE_FILE, "pipe_file", sizeof(struct rec_pipe_file), false, check_pipe_file },
	{ REC_PIPE_DATA, "pipe_data", sizeof(struct rec_pipe_data), true, check_pipe_data },
	{ REC_SIGNALFD, "signalfd", sizeof(struct rec_signalfd), false, check_signalfd },
	{ REC_SHMEM, "shmem", sizeof(struct rec_shmem), false, check_shmem },
};

static const struct rec_rule *find_rule(uint32_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (rules[i].type == type)
			return &rules[i];
	return NULL;
}

const char *image_rec_name(uint32_t type)
{
	const struct rec_rule *r = find_rule(type);

	return r ? r->name : NULL;
}

/* --- pass 1: framing ------------------------------------------------------------ */

#define RELEASE_STEP (8u << 20)

/* IMAGE_PARSE_RELEASE_BEHIND: the whole pages before OFF, once 8 MiB have gathered. */
static void release_behind(struct parser *p, uint64_t off, uint64_t *released)
{
	uint64_t to = off & ~(uint64_t)4095;

	if (!(p->flags & IMAGE_PARSE_RELEASE_BEHIND) || to < *released + RELEASE_STEP)
		return;
	madvise((void *)(p->buf + *released), to - *released, MADV_DONTNEED);
	*released = to;
}

static int check_header(const struct rec_header *h, struct image_error *err)
{
	uint32_t ps = h->page_size;

	if (memcmp(h->magic, CRYO_IMAGE_MAGIC, sizeof(h->magic)))
		return fail_at(err, 0, REC_HEADER, "not a cryo image (bad magic)");
	if (h->major != CRYO_IMAGE_MAJOR || h->minor > CRYO_IMAGE_MINOR)
		return fail_at(err, 0, REC_HEADER,
			       "image format %u.%u cannot be read by this cryo (format %u.%u)",
			       h->major, h->minor, CRYO_IMAGE_MAJOR, CRYO_IMAGE_MINOR);
	if (h->arch != IMAGE_ARCH_X86_64)
		return fail_at(err, 0, REC_HEADER, "image is for architecture %u, not x86_64",
			       h->arch);
	if (ps < 4096 || ps > (1u << 16) || (ps & (ps - 1)))
		return fail_at(err, 0, REC_HEADER, "bad page size %u", ps);
	if (h->flags || h->pad0 || !all_zero(h->pad1, sizeof(h->pad1)))
		return fail_at(err, 0, REC_HEADER, "unknown header flags or non-zero padding");
	if (!memchr(h->kernel_release, '\0', sizeof(h->kernel_release)))
		return fail_at(err, 0, REC_HEADER, "kernel release is not NUL-terminated");
	return 0;
}

static int add_record(struct image *img, size_t *cap, const struct image_record *r)
{
	if (array_reserve(&img->recs, cap, img->nr_recs, sizeof(*img->recs)))
		return -ENOMEM;
	img->recs[img->nr_recs++] = *r;
	return 0;
}

/* Where page data (REC_PAGES, REC_PRECOPY) starts; pass 1 needs it to leave the data out of the
 * CRC. */
static int frame_pages(struct parser *p, struct image_record *r, const unsigned char *payload)
{
	struct rec_pages pg;
	uint64_t page_size = p->img->header.page_size;

	memcpy(&pg, payload, sizeof(pg));
	if (pg.data_offset > r->len || pg.data_offset < sizeof(pg) ||
	    (r->offset + sizeof(struct rec_hdr) + pg.data_offset) % page_size ||
	    (r->len - pg.data_offset) % page_size || r->len - pg.data_offset > CRYO_PAGES_MAX_BYTES)
		return fail_at(p->err, r->offset, r->type,
			       "page data at %u is misplaced or too long", pg.data_offset);
	r->data_offset = r->offset + sizeof(struct rec_hdr) + pg.data_offset;
	r->data_len = r->len - pg.data_offset;
	return 0;
}

static int frame_trailer(struct parser *p, uint64_t off, uint32_t crc)
{
	struct rec_trailer tr;

	if (p->len - off != sizeof(struct rec_hdr) + sizeof(tr))
		return fail_at(
		    p->err, off, REC_TRAILER, "%llu bytes after the trailer record",
		    (unsigned long long)(p->len - off - sizeof(struct rec_hdr) - sizeof(tr)));
	memcpy(&tr, p->buf + off + sizeof(struct rec_hdr), sizeof(tr));
	if (tr.nr_records != p->img->nr_recs)
		return fail_at(p->err, off, REC_TRAILER,
			       "trailer counts %llu records, the image holds %zu",
			       (unsigned long long)tr.nr_records, p->img->nr_recs);
	if (tr.pad)
		return fail_at(p->err, off, REC_TRAILER, "trailer padding is not zero");
#ifndef CRYO_FUZZING /* let the fuzzer past the checksum to the semantic checks */
	if (tr.crc32c != crc)
		return fail_at(p->err, off, REC_TRAILER,
			       "checksum mismatch (trailer %#010x, computed %#010x): the image is "
			       "corrupt",
			       tr.crc32c, crc);
#else
	(void)crc;
#endif
	return 0;
}

/* Reads one record header at OFF and checks it against the rules. */
static int frame_one(struct parser *p, uint64_t off, struct image_record *r,
		     const struct rec_rule **ret_rule)
{
	struct rec_hdr h;
	const struct rec_rule *rule;
	uint64_t left = p->len - off;

	if (left < sizeof(h))
		return fail_at(p->err, off, 0, "%s",
			       left ? "truncated record header"
				    : "image ends without a trailer: truncated");
	memcpy(&h, p->buf + off, sizeof(h));
	rule = find_rule(h.type);
	if (!rule)
		return fail_at(p->err, off, h.type, "unknown record type %#x", h.type);
	if (h.len > left - sizeof(h) ||
	    ALIGN_UP((uint64_t)h.len, CRYO_REC_ALIGN) > left - sizeof(h))
		return fail_at(p->err, off, h.type,
			       "record length %u runs past the end of the image (%llu bytes left)",
			       h.len, (unsigned long long)(left - sizeof(h)));
	if (h.len < rule->fixed_len || (!rule->variable && h.len != rule->fixed_len))
		return fail_at(p->err, off, h.type, "record length %u, expected %s%u", h.len,
			       rule->variable ? "at least " : "", rule->fixed_len);
	if (!all_zero(p->buf + off + sizeof(h) + h.len, ALIGN_UP(h.len, CRYO_REC_ALIGN) - h.len))
		return fail_at(p->err, off, h.type, "record padding is not zero");
	*r = (struct image_record){ .type = h.type, .len = h.len, .offset = off };
	*ret_rule = rule;
	return 0;
}

static int frame(struct parser *p)
{
	uint64_t off = 0, released = 0;
	uint32_t crc = 0;
	size_t cap = 0;
	int ret;

	if (p->len < sizeof(struct rec_hdr) + sizeof(CRYO_IMAGE_MAGIC) ||
	    memcmp(p->buf + sizeof(struct rec_hdr), CRYO_IMAGE_MAGIC, 8))
		return fail_at(p->err, 0, 0, "not a cryo image (bad magic)");
	for (;;) {
		struct image_record r;
		const struct rec_rule *rule;
		uint64_t meta_len;

		if ((ret = frame_one(p, off, &r, &rule)))
			return ret;
		if ((r.type == REC_HEADER) != (off == 0))
			return fail_at(p->err, off, r.type, "%s",
				       off ? "a second header"
					   : "the first record is not a header");
		if (r.type == REC_HEADER) {
			memcpy(&p->img->header, p->buf + sizeof(struct rec_hdr),
			       sizeof(p->img->header));
			if ((ret = check_header(&p->img->header, p->err)))
				return ret;
		}
		if (r.type == REC_TRAILER)
			return frame_trailer(p, off,
					     crc32c(crc, p->buf + off, sizeof(struct rec_hdr)));
		if ((r.type == REC_PAGES || r.type == REC_PRECOPY) &&
		    (ret = frame_pages(p, &r, p->buf + off + 8)))
			return ret;
		meta_len = r.data_len ? r.data_offset - off
				      : sizeof(struct rec_hdr) + ALIGN_UP(r.len, CRYO_REC_ALIGN);
		crc = crc32c(crc, p->buf + off, meta_len);
		if ((ret = add_record(p->img, &cap, &r)))
			return ret;
		off += sizeof(struct rec_hdr) + ALIGN_UP((uint64_t)r.len, CRYO_REC_ALIGN);
		release_behind(p, off, &released);
	}
}

/* --- pass 2: semantics ---------------------------------------------------------- */

/* Copies every payload (page data excepted) into one arena. */
static int copy_payloads(struct parser *p)
{
	struct image *img = p->img;
	size_t total = 0;
	uint64_t released = 0;
	unsigned char *arena;

	for (size_t i = 0; i < img->nr_recs; i++) {
		const struct image_record *r = &img->recs[i];
		uint64_t n = r->data_len ? r->data_offset - r->offset - 8 : r->len;

		total += ALIGN_UP(n, CRYO_REC_ALIGN);
	}
	arena = malloc(total ? total : 1);
	if (!arena)
		return -ENOMEM;
	img->arena = arena;
	for (size_t i = 0; i < img->nr_recs; i++) {
		struct image_record *r = &img->recs[i];
		uint64_t n = r->data_len ? r->data_offset - r->offset - 8 : r->len;

		memcpy(arena, p->buf + r->offset + sizeof(struct rec_hdr), n);
		r->payload = arena;
		arena += ALIGN_UP(n, CRYO_REC_ALIGN);
		release_behind(p, r->offset, &released);
	}
	return 0;
}

static int check_end(struct parser *p)
{
	struct image *img = p->img;

	for (uint32_t ref = 1; ref < img->nr_objs; ref++) {
		const struct obj_state *s = &p->state[ref];
		const struct image_record *r = &img->recs[img->objs[ref].rec];

		if (img->objs[ref].kind == OBJ_FDTABLE &&
		    s->count != ((const struct rec_fdtable *)r->payload)->nr_fds)
			return fail_at(p->err, r->offset, r->type,
				       "fdtable objref %u announces %u fds, the image holds %u",
				       ref, ((const struct rec_fdtable *)r->payload)->nr_fds,
				       s->count);
		if (img->objs[ref].kind == OBJ_TASK && s->thread &&
		    ((s->seen & SEEN_THREAD_REQUIRED) != SEEN_THREAD_REQUIRED ||
		     (img->header.xstate_size && !(s->seen & SEEN_XSTATE))))
			return fail_at(p->err, r->offset, r->type,
				       "thread objref %u lacks part of its state (have %#x)", ref,
				       s->seen);
		if (img->objs[ref].kind == OBJ_TASK && s->thread)
			continue;
		if (img->objs[ref].kind == OBJ_TASK && s->alive && !s->count)
			return fail_at(p->err, r->offset, r->type,
				       "live task objref %u has no task_objs record", ref);
		if (img->objs[ref].kind == OBJ_TASK && s->alive &&
		    ((s->seen & SEEN_REQUIRED) != SEEN_REQUIRED ||
		     (img->header.xstate_size && !(s->seen & SEEN_XSTATE))))
			return fail_at(p->err, r->offset, r->type,
				       "live task objref %u lacks part of its state (have %#x)",
				       ref, s->seen);
	}
	return 0;
}

static int check_semantics(struct parser *p)
{
	struct image *img = p->img;
	int ret;

	p->max_objref = (uint32_t)img->nr_recs;
	img->objs = calloc(img->nr_recs + 1, sizeof(*img->objs));
	p->state = calloc(img->nr_recs + 1, sizeof(*p->state));
	if (!img->objs || !p->state)
		return -ENOMEM;
	if ((ret = copy_payloads(p)))
		return ret;
	for (size_t i = 1; i < img->nr_recs; i++) {
		p->rec = &img->recs[i];
		uint32_t type = p->rec->type;

		if (type != REC_TASK && type != REC_SESSION && type != REC_PARENT &&
		    type != REC_PRECOPY)
			p->tasks_done = true;
		if (type == REC_TASK)
			p->tasks_started = true;
		if ((ret = find_rule(type)->check(p, p->rec->payload)))
			return ret;
	}
	ret = check_end(p);
	return ret ? ret : check_tty_end(p);
}

int image_pages_check(const struct image *img, const struct image_record *rec,
		      struct image_error *err)
{
	const struct rec_pages *pg = rec->payload;
	uint32_t crc = crc32c(0, img->buf + rec->data_offset, rec->data_len);

#ifdef CRYO_FUZZING
	crc = pg->crc32c;
#endif
	if (crc != pg->crc32c)
		return fail_at(err, rec->offset, rec->type,
			       "page data checksum mismatch (record %#010x, computed %#010x): the "
			       "image is corrupt",
			       pg->crc32c, crc);
	return 0;
}

static int check_all_pages(struct parser *p)
{
	for (size_t i = 0; i < p->img->nr_recs; i++) {
		const struct image_record *r = &p->img->recs[i];
		int ret;

		if ((r->type == REC_PAGES || r->type == REC_PRECOPY) &&
		    (ret = image_pages_check(p->img, r, p->err)))
			return ret;
	}
	return 0;
}

static void free_state(struct parser *p)
{
	free_tty_state(p);
	if (!p->state)
		return;
	for (size_t i = 0; i <= p->img->nr_recs; i++) {
		free(p->state[i].vmas);
		free(p->state[i].data);
	}
	free(p->state);
}

int image_parse(const void *buf, size_t len, unsigned int flags, struct image **ret_img,
		struct image_error *err)
{
	struct parser p = { .buf = buf, .len = len, .flags = flags, .err = err };
	int ret;

	memset(err, 0, sizeof(*err));
	p.img = calloc(1, sizeof(*p.img));
	if (!p.img)
		return -ENOMEM;
	p.img->buf = buf;
	p.img->len = len;
	ret = frame(&p);
	if (!ret)
		ret = check_semantics(&p);
	if (!ret && !(flags & IMAGE_PARSE_DEFER_PAGE_CRC))
		ret = check_all_pages(&p);
	free_state(&p);
	if (ret == -ENOMEM && !err->reason[0])
		snprintf(err->reason, sizeof(err->reason), "out of memory");
	if (ret) {
		image_free(p.img);
		return ret;
	}
	*ret_img = p.img;
	return 0;
}

void image_free(struct image *img)
{
	if (!img)
		return;
	free(img->recs);
	free(img->objs);
	free(img->arena);
	free(img);
}

const struct image_record *image_obj_record(const struct image *img, uint32_t objref,
					    enum obj_kind kind)
{
	if (objref == 0 || objref >= img->nr_objs || img->objs[objref].kind != (uint32_t)kind)
		return NULL;
	return &img->recs[img->objs[objref].rec];
}

void image_error_format(const struct image_error *err, char *buf, size_t size)
{
	const char *name = image_rec_name(err->rec_type);

	if (err->rec_type && name)
		snprintf(buf, size, "offset %llu, record %s: %s", (unsigned long long)err->offset,
			 name, err->reason);
	else if (err->rec_type)
		snprintf(buf, size, "offset %llu, record type %#x: %s",
			 (unsigned long long)err->offset, err->rec_type, err->reason);
	else
		snprintf(buf, size, "offset %llu: %s", (unsigned long long)err->offset,
			 err->reason);
}
