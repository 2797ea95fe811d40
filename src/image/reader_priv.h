/* SPDX-License-Identifier: MIT */
/*
 * The reader's insides, shared by its files: reader.c (framing, the rule
 * table, tasks, memory, files) and reader_tty.c (terminals). Nothing
 * outside src/image/ includes this.
 */
#ifndef CRYO_IMAGE_READER_PRIV_H
#define CRYO_IMAGE_READER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/reader.h"

struct span {
	uint64_t start, end;
	uint32_t kind;
};

/* What pass 2 remembers about one objref while it walks the image. */
struct obj_state {
	/* mm: its VMAs (ascending) and where its page data has reached */
	struct span *vmas;
	size_t nr_vmas, cap_vmas;
	uint64_t pages_end;
	bool pages_started;
	/* mm: the spans of its REC_PAGES runs (adjacent ones merged), then where its
	 * REC_PAGES_KEPT runs have reached: those come last and overlap no data */
	struct span *data;
	size_t nr_data, cap_data;
	uint64_t kept_end;
	bool kept_started;
	/* fdtable: fds seen so far, the last one; task: objs seen */
	uint32_t count;
	int32_t last_fd;
	bool alive;
	bool thread;   /* task: a thread other than its process's leader */
	uint32_t seen; /* task: TASK_STATE_* records met so far */
	uint32_t nr_timers;
	int32_t last_timer;
	/* tty: its flags, and what the image said of it so far */
	uint32_t tty_flags;
	bool paired;	  /* master: its slave came; slave: it has a master */
	uint32_t peer;	  /* a paired master's slave tty objref */
	bool has_file;	  /* slave: a REC_TTY_FILE names it */
	bool input_ended; /* slave: its input queue ended with a partial line */
};

/* What the terminal checks collect to judge at the end (reader_tty.c). */
struct tty_pair_key {
	uint64_t a, b;
	uint64_t offset; /* of the record, for the message */
};

struct tty_state {
	bool seen;		      /* the image holds terminal records */
	struct tty_pair_key *devs;    /* (dev_major:dev_minor) of each devpts */
	struct tty_pair_key *indexes; /* (devpts objref, index) of each master */
	struct tty_pair_key *cttys;   /* (task objref, slave tty objref) */
	size_t nr_devs, nr_indexes, nr_cttys;
};

/* The per-task state records: each at most once per task, all required for a live one. */
enum {
	SEEN_CORE = 1 << 0,
	SEEN_SIGACTIONS = 1 << 1,
	SEEN_CREDS = 1 << 2,
	SEEN_RLIMITS = 1 << 3,
	SEEN_FS = 1 << 4,
	SEEN_REGS = 1 << 5,
	SEEN_XSTATE = 1 << 6,
	SEEN_PENDING_PRIVATE = 1 << 7,
	SEEN_PENDING_SHARED = 1 << 8,
	SEEN_CTTY = 1 << 9,
	SEEN_REQUIRED =
	    SEEN_CORE | SEEN_SIGACTIONS | SEEN_CREDS | SEEN_RLIMITS | SEEN_FS | SEEN_REGS,
	/* a thread's own: the rest is its process's */
	SEEN_THREAD_OWN = SEEN_CORE | SEEN_REGS | SEEN_XSTATE | SEEN_PENDING_PRIVATE,
	SEEN_THREAD_REQUIRED = SEEN_CORE | SEEN_REGS,
};

struct parser {
	const unsigned char *buf;
	uint64_t len;
	unsigned int flags;
	struct image *img;
	struct image_error *err;
	struct image_record *rec; /* the record being checked */
	struct obj_state *state;  /* indexed by objref */
	uint32_t max_objref;	  /* objrefs above this cannot be defined */
	bool tasks_done;	  /* a record other than REC_TASK came after the tasks */
	bool tasks_started;	  /* a REC_TASK came */
	bool precopy_seen;	  /* a REC_PRECOPY came */
	uint32_t precopy_pid;	  /* the last REC_PRECOPY's pid, and where its data reached */
	uint64_t precopy_end;
	bool root_seen;
	const struct rec_task *last_process; /* the last REC_TASK of a process (not a thread) */
	struct tty_state tty;
};

int fail_at(struct image_error *err, uint64_t offset, uint32_t type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define fail(p, ...) fail_at((p)->err, (p)->rec->offset, (p)->rec->type, __VA_ARGS__)

/* objref rules: defined once, before use, of the kind the field expects. */
int def_obj(struct parser *p, uint32_t objref, enum obj_kind kind);
int ref_obj(struct parser *p, uint32_t objref, enum obj_kind kind, bool optional,
	    const char *field);
/* The type of the record that defined OBJREF (which ref_obj checked). */
uint32_t obj_rec_type(const struct parser *p, uint32_t objref);

bool all_zero(const void *buf, size_t len);
int check_pid(struct parser *p, int32_t pid, bool zero_ok, const char *field);
int check_path(struct parser *p, const char *path, uint32_t len, const char *what);
int task_state_once(struct parser *p, uint32_t task_objref, uint32_t bit);

/* Terminals (reader_tty.c): one check per record type, and the end-of-image rules. */
int check_devpts(struct parser *p, const void *payload);
int check_tty_master(struct parser *p, const void *payload);
int check_tty_slave(struct parser *p, const void *payload);
int check_tty_file(struct parser *p, const void *payload);
int check_tty_input(struct parser *p, const void *payload);
int check_tty_output(struct parser *p, const void *payload);
int check_tty_ctty(struct parser *p, const void *payload);
int check_tty_end(struct parser *p);
void free_tty_state(struct parser *p);

#endif
