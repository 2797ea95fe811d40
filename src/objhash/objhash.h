/* SPDX-License-Identifier: MIT */
/*
 * objhash: the table of shared kernel objects, after Linux-CR.
 *
 * Checkpoint side: the first time an object is met, objhash_lookup_or_add()
 * gives it a new objref and says it is new (so the caller writes its record);
 * every later meeting returns the same objref. Objects are identified by a
 * key: a hash of what cannot differ between two handles of one object (inode
 * and device, devpts instance and index, ...) plus up to three words of
 * context; two keys with equal hash are the same object when the kind's
 * `same` callback says so (kcmp(2) for files, mm, fd tables), or, without a
 * callback, when all words are equal.
 *
 * Reservation: when recreating one object creates another as a side effect
 * (opening ptmx creates the master's file), checkpoint reserves an objref
 * for the side effect with objhash_reserve() and binds the key to it later.
 *
 * Restart side: objhash_set() records what an objref became (an fd, a pid, a
 * pointer) and objhash_get() returns it, checking the kind.
 *
 * objrefs are small integers from 1, unique across all kinds; 0 is "none".
 * No logging here: functions return 0 or -errno.
 */
#ifndef CRYO_OBJHASH_OBJHASH_H
#define CRYO_OBJHASH_OBJHASH_H

#include <stdbool.h>
#include <stdint.h>

#include "image/format.h"

struct obj_key {
	uint64_t hash;	  /* equal for every handle of the same object */
	uint64_t word[3]; /* context for `same` (e.g. pid and fd for kcmp) */
};

/* 1 if a and b name the same object, 0 if not, -errno if it cannot tell. */
typedef int (*obj_same_fn)(const struct obj_key *a, const struct obj_key *b, void *opaque);

struct objhash;

/* Returns NULL on allocation failure. */
struct objhash *objhash_new(void);
void objhash_free(struct objhash *h);

/* Installs the identity test for one kind (checkpoint side). */
void objhash_set_same(struct objhash *h, enum obj_kind kind, obj_same_fn same, void *opaque);

/*
 * Finds the object or adds it. *ret_objref gets its objref and *ret_new
 * whether it was just added. -EINVAL for a bad kind; -ENOMEM; or the error
 * of `same`.
 */
int objhash_lookup_or_add(struct objhash *h, enum obj_kind kind, const struct obj_key *key,
			  uint32_t *ret_objref, bool *ret_new);

/* Reserves an objref of KIND with no key yet. */
int objhash_reserve(struct objhash *h, enum obj_kind kind, uint32_t *ret_objref);

/*
 * Binds KEY to a reserved objref, so later lookups of KEY find it.
 * -ENOENT if OBJREF was never reserved, -EINVAL if it has the wrong kind,
 * -EEXIST if it is already bound or KEY already names another objref.
 */
int objhash_bind(struct objhash *h, uint32_t objref, enum obj_kind kind, const struct obj_key *key);

/* Restart side: objref -> what it became. -EEXIST if already set. */
int objhash_set(struct objhash *h, uint32_t objref, enum obj_kind kind, uint64_t value);

/*
 * -ENOENT if OBJREF is unknown or not set yet, -EINVAL if it is of another
 * kind than KIND.
 */
int objhash_get(const struct objhash *h, uint32_t objref, enum obj_kind kind, uint64_t *ret_value);

/* The kind of OBJREF, OBJ_NONE if unknown. */
enum obj_kind objhash_kind(const struct objhash *h, uint32_t objref);

/* Number of objrefs handed out or set so far (the largest objref). */
uint32_t objhash_count(const struct objhash *h);

/* For messages: "task", "mm", "file", ...; "?" for an unknown kind. */
const char *obj_kind_name(enum obj_kind kind);

#endif
