// SPDX-License-Identifier: MIT
/*
 * Decodes a validated image for people (one line per record) or for
 * programs (one JSON document). Each record type has one function that
 * names its fields through an emitter, so both outputs come from one place.
 */
#include "image/show.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

struct emitter {
	FILE *out;
	bool json;
	int fields; /* fields written in the current object */
};

static void emit_key(struct emitter *e, const char *key)
{
	if (e->json)
		fprintf(e->out, "%s\"%s\": ", e->fields ? ", " : "", key);
	else
		fprintf(e->out, " %s=", key);
	e->fields++;
}

static void emit_u64(struct emitter *e, const char *key, uint64_t v)
{
	emit_key(e, key);
	fprintf(e->out, "%llu", (unsigned long long)v);
}

static void emit_i64(struct emitter *e, const char *key, int64_t v)
{
	emit_key(e, key);
	fprintf(e->out, "%lld", (long long)v);
}

/* Addresses and flag words: hex for people, numbers for programs. */
static void emit_hex(struct emitter *e, const char *key, uint64_t v)
{
	emit_key(e, key);
	fprintf(e->out, e->json ? "%llu" : "%#llx", (unsigned long long)v);
}

/* LEN bytes, every one shown: NULs and controls escaped. */
static void emit_bytes(struct emitter *e, const char *key, const char *s, size_t len)
{
	emit_key(e, key);
	fputc('"', e->out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(e->out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(e->out, e->json ? "\\u%04x" : "\\x%02x", c);
		else
			fputc(c, e->out);
	}
	fputc('"', e->out);
}

static void emit_str(struct emitter *e, const char *key, const char *s, size_t max)
{
	emit_bytes(e, key, s, max == SIZE_MAX ? strlen(s) : strnlen(s, max));
}

static void emit_u64_array(struct emitter *e, const char *key, const uint64_t *v, size_t n,
			   bool hex)
{
	emit_key(e, key);
	fputc(e->json ? '[' : '{', e->out);
	for (size_t i = 0; i < n; i++)
		fprintf(e->out, e->json || !hex ? "%s%llu" : "%s%#llx", i ? "," : "",
			(unsigned long long)v[i]);
	fputc(e->json ? ']' : '}', e->out);
}

static void emit_enum(struct emitter *e, const char *key, uint32_t v, const char *const *names,
		      size_t nr_names)
{
	if (v < nr_names && names[v])
		emit_str(e, key, names[v], SIZE_MAX);
	else
		emit_u64(e, key, v);
}

/* --- one function per record type -------------------------------------------------- */

static void show_header(struct emitter *e, const struct image_record *r)
{
	const struct rec_header *h = r->payload;

	emit_u64(e, "major", h->major);
	emit_u64(e, "minor", h->minor);
	emit_str(e, "arch", h->arch == IMAGE_ARCH_X86_64 ? "x86_64" : "?", SIZE_MAX);
	emit_u64(e, "page_size", h->page_size);
	emit_u64(e, "time_ns", h->time_ns);
	emit_i64(e, "root_pid", h->root_pid);
	emit_u64(e, "nccs", h->nccs);
	emit_u64(e, "termios2_size", h->termios2_size);
	emit_u64(e, "nsig", h->nsig);
	emit_u64(e, "xstate_size", h->xstate_size);
	emit_hex(e, "xfeatures", h->xfeatures);
	emit_str(e, "kernel", h->kernel_release, sizeof(h->kernel_release));
}

static const char *const task_states[] = { [TASK_ALIVE] = "alive", [TASK_ZOMBIE] = "zombie" };

static void show_task(struct emitter *e, const struct image_record *r)
{
	const struct rec_task *t = r->payload;

	emit_u64(e, "objref", t->objref);
	emit_i64(e, "pid", t->pid);
	emit_i64(e, "tgid", t->tgid);
	emit_i64(e, "ppid", t->ppid);
	emit_i64(e, "pgid", t->pgid);
	emit_i64(e, "sid", t->sid);
	emit_enum(e, "state", t->state, task_states, ARRAY_SIZE(task_states));
	emit_i64(e, "exit_status", t->exit_status);
	emit_str(e, "comm", t->comm, sizeof(t->comm));
}

static void show_task_objs(struct emitter *e, const struct image_record *r)
{
	const struct rec_task_objs *o = r->payload;

	emit_u64(e, "task", o->task_objref);
	emit_u64(e, "mm", o->mm_objref);
	emit_u64(e, "fdtable", o->fdt_objref);
}

static void show_mm(struct emitter *e, const struct image_record *r)
{
	const struct rec_mm *m = r->payload;

	emit_u64(e, "objref", m->objref);
	emit_u64(e, "exe_file", m->exe_file_objref);
	emit_hex(e, "start_code", m->start_code);
	emit_hex(e, "end_code", m->end_code);
	emit_hex(e, "start_data", m->start_data);
	emit_hex(e, "end_data", m->end_data);
	emit_hex(e, "start_brk", m->start_brk);
	emit_hex(e, "brk", m->brk);
	emit_hex(e, "start_stack", m->start_stack);
	emit_hex(e, "arg_start", m->arg_start);
	emit_hex(e, "arg_end", m->arg_end);
	emit_hex(e, "env_start", m->env_start);
	emit_hex(e, "env_end", m->env_end);
	emit_u64_array(e, "auxv", (const uint64_t *)(m + 1), m->auxv_words, true);
}

static const char *const vma_kinds[] = {
	[VMA_ANON] = "anon",   [VMA_FILE] = "file", [VMA_HEAP] = "heap",
	[VMA_STACK] = "stack", [VMA_VDSO] = "vdso",
};

static void show_vma(struct emitter *e, const struct image_record *r)
{
	const struct rec_vma *v = r->payload;

	emit_u64(e, "mm", v->mm_objref);
	emit_hex(e, "start", v->start);
	emit_hex(e, "end", v->end);
	emit_enum(e, "kind", v->kind, vma_kinds, ARRAY_SIZE(vma_kinds));
	emit_hex(e, "prot", v->prot);
	emit_hex(e, "flags", v->flags);
	emit_u64(e, "file", v->file_objref);
	emit_hex(e, "pgoff", v->pgoff);
}

static void emit_runs(struct emitter *e, const struct rec_pages_run *runs, uint32_t nr_runs)
{
	emit_key(e, "runs");
	fputs(e->json ? "[" : "", e->out);
	for (uint32_t i = 0; i < nr_runs; i++) {
		if (e->json)
			fprintf(e->out, "%s{\"vaddr\": %llu, \"nr_pages\": %llu}", i ? ", " : "",
				(unsigned long long)runs[i].vaddr,
				(unsigned long long)runs[i].nr_pages);
		else
			fprintf(e->out, "%s%#llx+%llu", i ? "," : "",
				(unsigned long long)runs[i].vaddr,
				(unsigned long long)runs[i].nr_pages);
	}
	fputs(e->json ? "]" : "", e->out);
}

static void show_pages(struct emitter *e, const struct image_record *r)
{
	const struct rec_pages *pg = r->payload;

	if (r->type == REC_PRECOPY)
		emit_u64(e, "pid", pg->pid);
	else
		emit_u64(e, "mm", pg->mm_objref);
	emit_u64(e, "nr_pages", pg->nr_pages);
	emit_hex(e, "crc32c", pg->crc32c);
	emit_u64(e, "data_at", r->data_offset); /* where the page data is in the image */
	emit_runs(e, (const void *)(pg + 1), pg->nr_runs);
}

static void show_pages_kept(struct emitter *e, const struct image_record *r)
{
	const struct rec_pages_kept *k = r->payload;
	static const char *const sources[] = {
		[PAGES_IN_PRECOPY] = "precopy", [PAGES_IN_PARENT] = "parent"
	};

	emit_u64(e, "mm", k->mm_objref);
	emit_u64(e, "nr_pages", k->nr_pages);
	emit_enum(e, "source", k->source, sources, ARRAY_SIZE(sources));
	emit_runs(e, (const void *)(k + 1), k->nr_runs);
}

static void show_parent(struct emitter *e, const struct image_record *r)
{
	const struct rec_parent *pa = r->payload;
	const char *path = (const char *)(pa + 1);

	emit_str(e, "path", path, SIZE_MAX);
	emit_u64(e, "time_ns", pa->time_ns);
	emit_u64(e, "size", pa->size);
	emit_hex(e, "crc32c", pa->crc32c);
}

static const char *const file_kinds[] = {
	[FILE_REG] = "reg", [FILE_DIR] = "dir", [FILE_CHR] = "chr"
};

static void show_file(struct emitter *e, const struct image_record *r)
{
	const struct rec_file *f = r->payload;

	emit_u64(e, "objref", f->objref);
	emit_enum(e, "kind", f->kind, file_kinds, ARRAY_SIZE(file_kinds));
	emit_hex(e, "flags", f->flags);
	emit_hex(e, "mode", f->mode);
	emit_u64(e, "pos", f->pos);
	emit_u64(e, "size", f->size);
	emit_hex(e, "rdev", f->rdev);
	emit_u64(e, "mtime_ns", f->mtime_ns);
	emit_str(e, "path", (const char *)(f + 1), f->path_len);
}

static void show_fdtable(struct emitter *e, const struct image_record *r)
{
	const struct rec_fdtable *t = r->payload;

	emit_u64(e, "objref", t->objref);
	emit_u64(e, "nr_fds", t->nr_fds);
}

static void show_fd(struct emitter *e, const struct image_record *r)
{
	const struct rec_fd *f = r->payload;

	emit_u64(e, "fdtable", f->fdt_objref);
	emit_i64(e, "fd", f->fd);
	emit_u64(e, "file", f->file_objref);
	emit_hex(e, "flags", f->flags);
}

static void show_task_core(struct emitter *e, const struct image_record *r)
{
	const struct rec_task_core *c = r->payload;
	static const char *const timer_names[] = { "itimer_real", "itimer_virtual", "itimer_prof" };

	emit_u64(e, "task", c->task_objref);
	emit_hex(e, "personality", c->personality);
	emit_key(e, "umask");
	fprintf(e->out, e->json ? "%u" : "%04o", c->umask);
	emit_i64(e, "pdeath_signal", c->pdeath_signal);
	emit_u64(e, "dumpable", c->dumpable);
	emit_u64(e, "no_new_privs", c->no_new_privs);
	emit_hex(e, "blocked", c->blocked);
	emit_hex(e, "tid_address", c->tid_address);
	emit_hex(e, "robust_list", c->robust_list);
	emit_u64(e, "robust_list_len", c->robust_list_len);
	emit_hex(e, "rseq", c->rseq);
	emit_u64(e, "rseq_len", c->rseq_len);
	emit_hex(e, "rseq_sig", c->rseq_sig);
	emit_hex(e, "altstack_sp", c->altstack_sp);
	emit_u64(e, "altstack_size", c->altstack_size);
	emit_hex(e, "altstack_flags", c->altstack_flags);
	emit_u64(e, "child_subreaper", c->child_subreaper);
	emit_u64(e, "timerslack_ns", c->timerslack_ns);
	emit_i64(e, "nice", c->nice);
	emit_u64(e, "sched_policy", c->sched_policy);
	emit_u64(e, "sched_priority", c->sched_priority);
	emit_u64(e, "thp_disable", c->thp_disable);
	emit_u64(e, "stopped", c->stopped);
	for (int i = 0; i < 3; i++)
		emit_u64_array(e, timer_names[i], &c->itimers[i].interval_ns, 2, false);
	emit_str(e, "comm", c->comm, sizeof(c->comm));
}

static void show_sigactions(struct emitter *e, const struct image_record *r)
{
	const struct rec_sigactions *a = r->payload;

	emit_u64(e, "task", a->task_objref);
	/* only what differs from the default: SIG_DFL, no flags, empty mask */
	for (int i = 0; i < CRYO_NSIG; i++) {
		const struct rec_sigaction *s = &a->action[i];
		char key[16];

		if (!s->handler && !s->flags && !s->mask && !s->restorer)
			continue;
		snprintf(key, sizeof(key), "sig%d", i + 1);
		emit_u64_array(e, key, &s->handler, 4, true);
	}
}

static void show_sigpending(struct emitter *e, const struct image_record *r)
{
	const struct rec_sigpending *p = r->payload;
	const unsigned char *infos = (const unsigned char *)(p + 1);

	emit_u64(e, "task", p->task_objref);
	emit_u64(e, "shared", p->shared);
	emit_key(e, "signals");
	fputc(e->json ? '[' : '{', e->out);
	for (uint32_t i = 0; i < p->nr; i++) {
		int32_t signo, code;

		memcpy(&signo, infos + (size_t)i * CRYO_SIGINFO_SIZE, sizeof(signo));
		memcpy(&code, infos + (size_t)i * CRYO_SIGINFO_SIZE + 8, sizeof(code));
		fprintf(e->out, e->json ? "%s{\"signo\": %d, \"code\": %d}" : "%s%d/%d",
			i ? "," : "", signo, code);
	}
	fputc(e->json ? ']' : '}', e->out);
}

static void show_creds(struct emitter *e, const struct image_record *r)
{
	const struct rec_creds *c = r->payload;
	const uint32_t *groups = (const uint32_t *)(c + 1);
	uint64_t u[4], g[4], gr[64] = { 0 };
	size_t n = c->nr_groups < 64 ? c->nr_groups : 64;

	for (int i = 0; i < 4; i++) {
		u[i] = c->uid[i];
		g[i] = c->gid[i];
	}
	for (size_t i = 0; i < n; i++)
		gr[i] = groups[i];
	emit_u64(e, "task", c->task_objref);
	emit_u64_array(e, "uids", u, 4, false);
	emit_u64_array(e, "gids", g, 4, false);
	emit_u64(e, "nr_groups", c->nr_groups);
	emit_u64_array(e, "groups", gr, n, false);
	emit_hex(e, "securebits", c->securebits);
	emit_u64_array(e, "caps_inh_prm_eff_bnd_amb", &c->cap_inh, 5, true);
}

static void show_rlimits(struct emitter *e, const struct image_record *r)
{
	const struct rec_rlimits *l = r->payload;

	static const char *const names[CRYO_RLIM_NLIMITS] = {
		"cpu",	   "fsize", "data",  "stack",	   "core",     "rss",  "nproc",	 "nofile",
		"memlock", "as",    "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
	};

	emit_u64(e, "task", l->task_objref);
	for (uint32_t i = 0; i < l->nr && i < CRYO_RLIM_NLIMITS; i++)
		emit_u64_array(e, names[i], &l->lim[i].cur, 2, false);
}

static void show_fs(struct emitter *e, const struct image_record *r)
{
	const struct rec_fs *f = r->payload;
	const char *cwd = (const char *)(f + 1);

	emit_u64(e, "task", f->task_objref);
	emit_str(e, "cwd", cwd, f->cwd_len);
	emit_str(e, "root", cwd + f->cwd_len, f->root_len);
}

static void show_regs(struct emitter *e, const struct image_record *r)
{
	static const char *const names[CRYO_X86_64_NR_REGS] = {
		"r15",	  "r14", "r13", "r12",	   "rbp",     "rbx", "r11",	 "r10", "r9",
		"r8",	  "rax", "rcx", "rdx",	   "rsi",     "rdi", "orig_rax", "rip", "cs",
		"eflags", "rsp", "ss",	"fs_base", "gs_base", "ds",  "es",	 "fs",	"gs",
	};
	const struct rec_task_regs *g = r->payload;

	emit_u64(e, "task", g->task_objref);
	for (uint32_t i = 0; i < CRYO_X86_64_NR_REGS; i++)
		emit_hex(e, names[i], g->regs[i]);
}

static void show_xstate(struct emitter *e, const struct image_record *r)
{
	const struct rec_task_xstate *x = r->payload;
	const unsigned char *area = (const unsigned char *)(x + 1);
	uint64_t xstate_bv = 0;

	emit_u64(e, "task", x->task_objref);
	emit_u64(e, "size", x->size);
	if (x->size >= 520)
		memcpy(&xstate_bv, area + 512, sizeof(xstate_bv)); /* the XSAVE header */
	emit_hex(e, "xstate_bv", xstate_bv);
}

static void show_posix_timer(struct emitter *e, const struct image_record *r)
{
	static const char *const notify[] = { [TIMER_NOTIFY_SIGNAL] = "signal",
					      [TIMER_NOTIFY_NONE] = "none",
					      [TIMER_NOTIFY_THREAD_ID] = "thread" };
	const struct rec_posix_timer *t = r->payload;

	emit_u64(e, "task", t->task_objref);
	emit_i64(e, "id", t->id);
	emit_i64(e, "clock", t->clock);
	emit_enum(e, "notify", (uint32_t)t->notify, notify, ARRAY_SIZE(notify));
	emit_i64(e, "signo", t->signo);
	emit_i64(e, "notify_tid", t->notify_tid);
	emit_hex(e, "sigev_value", t->sigev_value);
	emit_u64(e, "interval_ns", t->value.interval_ns);
	emit_u64(e, "value_ns", t->value.value_ns);
	emit_i64(e, "overrun", t->overrun);
}

static void show_devpts(struct emitter *e, const struct image_record *r)
{
	const struct rec_devpts *d = r->payload;

	emit_u64(e, "objref", d->objref);
	emit_u64(e, "dev_major", d->dev_major);
	emit_u64(e, "dev_minor", d->dev_minor);
	emit_hex(e, "flags", d->flags);
	emit_u64(e, "uid", d->uid);
	emit_u64(e, "gid", d->gid);
	emit_hex(e, "mode", d->mode);
	emit_hex(e, "ptmxmode", d->ptmxmode);
	emit_u64(e, "max", d->max);
	emit_str(e, "path", (const char *)(d + 1), d->path_len);
}

static void show_tty_master(struct emitter *e, const struct image_record *r)
{
	const struct rec_tty_master *m = r->payload;

	emit_u64(e, "objref", m->objref);
	emit_u64(e, "file", m->file_objref);
	emit_u64(e, "devpts", m->devpts_objref);
	emit_u64(e, "index", m->index);
	emit_hex(e, "file_flags", m->file_flags);
	emit_hex(e, "flags", m->flags);
	emit_hex(e, "pktstatus", m->pktstatus);
}

static void emit_termios(struct emitter *e, const char *prefix, const struct rec_termios *t)
{
	char key[32];
	uint64_t cc[CRYO_NCCS];

	for (int i = 0; i < CRYO_NCCS; i++)
		cc[i] = t->c_cc[i];
	snprintf(key, sizeof(key), "%s_flags", prefix);
	emit_u64_array(
	    e, key, (const uint64_t[4]){ t->c_iflag, t->c_oflag, t->c_cflag, t->c_lflag }, 4, true);
	snprintf(key, sizeof(key), "%s_cc", prefix);
	emit_u64_array(e, key, cc, CRYO_NCCS, true);
}

static void show_tty_slave(struct emitter *e, const struct image_record *r)
{
	const struct rec_tty_slave *s = r->payload;
	struct rec_termios t;

	emit_u64(e, "objref", s->objref);
	emit_u64(e, "master", s->master_objref);
	emit_u64(e, "devpts", s->devpts_objref);
	emit_u64(e, "index", s->index);
	emit_hex(e, "flags", s->flags);
	emit_u64(e, "stopped", s->stopped);
	emit_i64(e, "sid", s->sid);
	emit_i64(e, "fg_pgid", s->fg_pgid);
	emit_u64(e, "uid", s->uid);
	emit_u64(e, "gid", s->gid);
	emit_hex(e, "mode", s->mode);
	memcpy(&t, &s->termios, sizeof(t));
	emit_termios(e, "termios", &t);
	emit_u64(e, "ispeed", s->termios.c_ispeed);
	emit_u64(e, "ospeed", s->termios.c_ospeed);
	emit_termios(e, "locked", &s->locked);
	emit_u64_array(e, "winsize",
		       (const uint64_t[4]){ s->ws_row, s->ws_col, s->ws_xpixel, s->ws_ypixel }, 4,
		       false);
}

static void show_tty_file(struct emitter *e, const struct image_record *r)
{
	const struct rec_tty_file *f = r->payload;

	emit_u64(e, "objref", f->objref);
	emit_u64(e, "tty", f->tty_objref);
	emit_hex(e, "flags", f->flags);
	emit_hex(e, "how", f->how);
}

static void show_tty_input(struct emitter *e, const struct image_record *r)
{
	const struct rec_tty_input *in = r->payload;
	const struct rec_tty_seg *segs = (const void *)(in + 1);
	const char *data = (const char *)(segs + in->nr_segs);

	emit_u64(e, "tty", in->tty_objref);
	emit_u64(e, "nr_segs", in->nr_segs);
	for (uint32_t i = 0; i < in->nr_segs; i++) {
		char key[24];

		snprintf(key, sizeof(key), "seg%u_end%u", i, segs[i].end);
		emit_bytes(e, key, data, segs[i].len);
		data += segs[i].len;
	}
}

static void show_tty_output(struct emitter *e, const struct image_record *r)
{
	const struct rec_tty_output *out = r->payload;

	emit_u64(e, "tty", out->tty_objref);
	emit_bytes(e, "data", (const char *)(out + 1), out->data_len);
}

static void show_pipe(struct emitter *e, const struct image_record *r)
{
	const struct rec_pipe *p = r->payload;

	emit_u64(e, "objref", p->objref);
	emit_u64(e, "size", p->size);
	if (p->path_len)
		emit_str(e, "fifo", (const char *)(p + 1), p->path_len);
}

static void show_pipe_file(struct emitter *e, const struct image_record *r)
{
	const struct rec_pipe_file *f = r->payload;

	emit_u64(e, "objref", f->objref);
	emit_u64(e, "pipe", f->pipe_objref);
	emit_hex(e, "flags", f->flags);
}

static void show_pipe_data(struct emitter *e, const struct image_record *r)
{
	const struct rec_pipe_data *d = r->payload;

	emit_u64(e, "pipe", d->pipe_objref);
	emit_u64(e, "len", d->data_len);
	emit_bytes(e, "data", (const char *)(d + 1), d->data_len > 64 ? 64 : d->data_len);
}

static void show_shmem(struct emitter *e, const struct image_record *r)
{
	const struct rec_shmem *m = r->payload;

	emit_u64(e, "objref", m->objref);
	emit_hex(e, "size", m->size);
}

static void show_signalfd(struct emitter *e, const struct image_record *r)
{
	const struct rec_signalfd *f = r->payload;

	emit_u64(e, "objref", f->objref);
	emit_hex(e, "flags", f->flags);
	emit_hex(e, "mask", f->mask);
}

static void show_session(struct emitter *e, const struct image_record *r)
{
	const struct rec_session *s = r->payload;

	emit_str(e, "name", s->name, sizeof(s->name));
}

static void show_tty_ctty(struct emitter *e, const struct image_record *r)
{
	const struct rec_tty_ctty *c = r->payload;

	emit_u64(e, "task", c->task_objref);
	emit_u64(e, "tty", c->tty_objref);
}

static const struct {
	uint32_t type;
	void (*show)(struct emitter *e, const struct image_record *r);
} shows[] = {
	{ REC_HEADER, show_header },
	{ REC_SESSION, show_session },
	{ REC_PARENT, show_parent },
	{ REC_TASK, show_task },
	{ REC_TASK_OBJS, show_task_objs },
	{ REC_MM, show_mm },
	{ REC_VMA, show_vma },
	{ REC_PAGES, show_pages },
	{ REC_PRECOPY, show_pages },
	{ REC_PAGES_KEPT, show_pages_kept },
	{ REC_FILE, show_file },
	{ REC_FDTABLE, show_fdtable },
	{ REC_FD, show_fd },
	{ REC_PIPE, show_pipe },
	{ REC_PIPE_FILE, show_pipe_file },
	{ REC_PIPE_DATA, show_pipe_data },
	{ REC_SIGNALFD, show_signalfd },
	{ REC_SHMEM, show_shmem },
	{ REC_TASK_CORE, show_task_core },
	{ REC_SIGACTIONS, show_sigactions },
	{ REC_SIGPENDING, show_sigpending },
	{ REC_CREDS, show_creds },
	{ REC_RLIMITS, show_rlimits },
	{ REC_FS, show_fs },
	{ REC_TASK_REGS, show_regs },
	{ REC_TASK_XSTATE, show_xstate },
	{ REC_DEVPTS, show_devpts },
	{ REC_TTY_MASTER, show_tty_master },
	{ REC_TTY_SLAVE, show_tty_slave },
	{ REC_TTY_FILE, show_tty_file },
	{ REC_TTY_INPUT, show_tty_input },
	{ REC_TTY_OUTPUT, show_tty_output },
	{ REC_TTY_CTTY, show_tty_ctty },
	{ REC_POSIX_TIMER, show_posix_timer },
};

static void show_record(struct emitter *e, const struct image_record *r)
{
	const char *name = image_rec_name(r->type);

	e->fields = 0;
	if (e->json) {
		fputs("    {", e->out);
		emit_u64(e, "offset", r->offset);
		emit_str(e, "type", name, SIZE_MAX);
		emit_u64(e, "len", r->len);
	} else {
		fprintf(e->out, "%10llu  %-11s", (unsigned long long)r->offset, name);
	}
	for (size_t i = 0; i < ARRAY_SIZE(shows); i++)
		if (shows[i].type == r->type)
			shows[i].show(e, r);
	fputs(e->json ? "}" : "\n", e->out);
}

int image_show(const struct image *img, FILE *out, bool json)
{
	struct emitter e = { .out = out, .json = json };

	if (json)
		fprintf(out,
			"{\n  \"format\": \"cryo-image\",\n  \"size\": %llu,\n  \"records\": [\n",
			(unsigned long long)img->len);
	else
		fprintf(out,
			"cryo image, format %u.%u, %llu bytes, %zu records\n    offset  type\n",
			img->header.major, img->header.minor, (unsigned long long)img->len,
			img->nr_recs + 1);
	for (size_t i = 0; i < img->nr_recs; i++) {
		show_record(&e, &img->recs[i]);
		if (json)
			fputs(i + 1 < img->nr_recs ? ",\n" : "\n", out);
	}
	if (json)
		fprintf(out, "  ],\n  \"trailer\": {\"nr_records\": %zu}\n}\n", img->nr_recs);
	else
		fprintf(out, "%10llu  trailer     nr_records=%zu\n",
			(unsigned long long)(img->len - sizeof(struct rec_hdr) -
					     sizeof(struct rec_trailer)),
			img->nr_recs);
	if (fflush(out) == EOF || ferror(out))
		return errno == EPIPE ? -EPIPE : -EIO;
	return 0;
}
