// SPDX-License-Identifier: MIT
#include "objhash/objhash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Two structures. An array indexed by objref - 1 says what each objref is
 * (kind, state, restart value); it is what objhash_get() reads. An
 * open-addressing table with linear probing maps keys to objrefs for
 * objhash_lookup_or_add(). Keys live in the table's slots, not in the
 * array: the restart side has no keys, and a 16-byte array entry keeps the
 * worst case of OBJREF_MAX at 1 GiB instead of 3.
 *
 * Nothing is ever removed, so the table needs no tombstones, and slot
 * objref 0 ("none") marks an empty slot.
 */

/* Larger objrefs come from a bug or a corrupt image, not from a real tree. */
#define OBJREF_MAX (1u << 26)
#define ENTS_MIN   16u
#define SLOTS_MIN  64u

enum obj_state {
	OBJ_STATE_NONE = 0, /* a gap left by a sparse objhash_set() */
	OBJ_STATE_RESERVED, /* objhash_reserve(), no key yet */
	OBJ_STATE_KEYED,    /* in the key table */
	OBJ_STATE_SET,	    /* restart side: value is valid */
};

struct obj_ent {
	uint64_t value;
	uint8_t kind;
	uint8_t state;
};

struct obj_slot {
	struct obj_key key;
	uint32_t objref; /* 0: empty */
	uint32_t kind;
};

struct objhash {
	struct obj_ent *ents; /* ents[objref - 1] */
	uint32_t nr_ents;     /* the largest objref handed out or set */
	uint32_t ents_cap;

	struct obj_slot *slots;
	size_t slots_cap; /* a power of two, or 0 */
	size_t slots_used;

	obj_same_fn same[OBJ_KIND_COUNT];
	void *same_opaque[OBJ_KIND_COUNT];
};

static bool kind_valid(enum obj_kind kind)
{
	return kind > OBJ_NONE && kind < OBJ_KIND_COUNT;
}

/*
 * Callers hash inode numbers and the like, whose low bits are far from
 * uniform; mix (murmur3's finalizer) before masking. The kind is mixed in so
 * equal hashes of different kinds do not share a probe run.
 */
static size_t slot_start(const struct objhash *h, enum obj_kind kind, uint64_t hash)
{
	uint64_t x = hash ^ ((uint64_t)kind * 0x9e3779b97f4a7c15ull);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (size_t)x & (h->slots_cap - 1);
}

/* The first empty slot on the probe run of (kind, hash); the table is never full. */
static size_t slot_free(const struct objhash *h, enum obj_kind kind, uint64_t hash)
{
	size_t i = slot_start(h, kind, hash);

	while (h->slots[i].objref)
		i = (i + 1) & (h->slots_cap - 1);
	return i;
}

static int key_same(const struct objhash *h, enum obj_kind kind, const struct obj_key *stored,
		    const struct obj_key *key)
{
	if (h->same[kind])
		return h->same[kind](stored, key, h->same_opaque[kind]);
	return !memcmp(stored->word, key->word, sizeof(key->word));
}

/* 1 and *ret_objref if KEY is known, 0 if not, or the error of `same`. */
static int key_find(const struct objhash *h, enum obj_kind kind, const struct obj_key *key,
		    uint32_t *ret_objref)
{
	size_t i;
	int ret;

	if (!h->slots_cap)
		return 0;
	for (i = slot_start(h, kind, key->hash); h->slots[i].objref;
	     i = (i + 1) & (h->slots_cap - 1)) {
		const struct obj_slot *s = &h->slots[i];

		if (s->kind != kind || s->key.hash != key->hash)
			continue;
		ret = key_same(h, kind, &s->key, key);
		if (ret < 0)
			return ret;
		if (ret) {
			*ret_objref = s->objref;
			return 1;
		}
	}
	return 0;
}

/* Makes room for one more key; at most half full keeps probe runs short. */
static int slots_grow(struct objhash *h)
{
	struct obj_slot *old = h->slots;
	size_t old_cap = h->slots_cap, i;
	size_t cap = old_cap ? old_cap * 2 : SLOTS_MIN;

	if ((h->slots_used + 1) * 2 <= old_cap)
		return 0;
	h->slots = calloc(cap, sizeof(*h->slots));
	if (!h->slots) {
		h->slots = old;
		return -ENOMEM;
	}
	h->slots_cap = cap;
	for (i = 0; i < old_cap; i++) {
		const struct obj_slot *s = &old[i];

		if (s->objref)
			h->slots[slot_free(h, s->kind, s->key.hash)] = *s;
	}
	free(old);
	return 0;
}

static void slot_insert(struct objhash *h, uint32_t objref, enum obj_kind kind,
			const struct obj_key *key)
{
	struct obj_slot *s = &h->slots[slot_free(h, kind, key->hash)];

	s->key = *key;
	s->objref = objref;
	s->kind = kind;
	h->slots_used++;
	h->ents[objref - 1].state = OBJ_STATE_KEYED;
}

/* Makes ents[] hold objrefs up to NEED, zeroing the new entries (OBJ_STATE_NONE). */
static int ents_grow(struct objhash *h, uint32_t need)
{
	struct obj_ent *ents;
	uint32_t cap = h->ents_cap ? h->ents_cap : ENTS_MIN;

	if (need <= h->ents_cap)
		return 0;
	if (need > OBJREF_MAX)
		return -ERANGE;
	while (cap < need)
		cap *= 2;
	if (cap > OBJREF_MAX)
		cap = OBJREF_MAX;
	ents = realloc(h->ents, (size_t)cap * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	memset(ents + h->ents_cap, 0, (size_t)(cap - h->ents_cap) * sizeof(*ents));
	h->ents = ents;
	h->ents_cap = cap;
	return 0;
}

/* Hands out the next objref; its entry is left for the caller to fill. */
static int ent_add(struct objhash *h, enum obj_kind kind, enum obj_state state, uint32_t *ret)
{
	int err = ents_grow(h, h->nr_ents + 1);

	if (err)
		return err;
	*ret = ++h->nr_ents;
	h->ents[*ret - 1].kind = kind;
	h->ents[*ret - 1].state = state;
	return 0;
}

/* The entry of OBJREF, or NULL if nothing was handed out or set there. */
static const struct obj_ent *ent_get(const struct objhash *h, uint32_t objref)
{
	if (!objref || objref > h->nr_ents || h->ents[objref - 1].state == OBJ_STATE_NONE)
		return NULL;
	return &h->ents[objref - 1];
}

struct objhash *objhash_new(void)
{
	return calloc(1, sizeof(struct objhash));
}

void objhash_free(struct objhash *h)
{
	if (!h)
		return;
	free(h->ents);
	free(h->slots);
	free(h);
}

void objhash_set_same(struct objhash *h, enum obj_kind kind, obj_same_fn same, void *opaque)
{
	if (!kind_valid(kind))
		return;
	h->same[kind] = same;
	h->same_opaque[kind] = opaque;
}

int objhash_lookup_or_add(struct objhash *h, enum obj_kind kind, const struct obj_key *key,
			  uint32_t *ret_objref, bool *ret_new)
{
	bool added = false;
	uint32_t objref;
	int ret;

	if (!kind_valid(kind))
		return -EINVAL;
	ret = key_find(h, kind, key, &objref);
	if (ret < 0)
		return ret;
	if (!ret) {
		/* Room first: a failure must not leave an objref without its key. */
		ret = slots_grow(h);
		if (!ret)
			ret = ent_add(h, kind, OBJ_STATE_KEYED, &objref);
		if (ret)
			return ret;
		slot_insert(h, objref, kind, key);
		added = true;
	}
	*ret_objref = objref;
	*ret_new = added;
	return 0;
}

int objhash_reserve(struct objhash *h, enum obj_kind kind, uint32_t *ret_objref)
{
	if (!kind_valid(kind))
		return -EINVAL;
	return ent_add(h, kind, OBJ_STATE_RESERVED, ret_objref);
}

int objhash_bind(struct objhash *h, uint32_t objref, enum obj_kind kind, const struct obj_key *key)
{
	const struct obj_ent *e = ent_get(h, objref);
	uint32_t other;
	int ret;

	/* A restart-side entry was never reserved either. */
	if (!e || e->state == OBJ_STATE_SET)
		return -ENOENT;
	if (e->kind != kind)
		return -EINVAL;
	if (e->state != OBJ_STATE_RESERVED)
		return -EEXIST;
	ret = key_find(h, kind, key, &other);
	if (ret)
		return ret < 0 ? ret : -EEXIST;
	ret = slots_grow(h);
	if (ret)
		return ret;
	slot_insert(h, objref, kind, key);
	return 0;
}

int objhash_set(struct objhash *h, uint32_t objref, enum obj_kind kind, uint64_t value)
{
	struct obj_ent *e;
	int ret;

	if (!objref || !kind_valid(kind))
		return -EINVAL;
	if (objref > OBJREF_MAX)
		return -ERANGE;
	if (ent_get(h, objref))
		return -EEXIST;
	ret = ents_grow(h, objref);
	if (ret)
		return ret;
	e = &h->ents[objref - 1];
	e->kind = kind;
	e->state = OBJ_STATE_SET;
	e->value = value;
	if (objref > h->nr_ents)
		h->nr_ents = objref;
	return 0;
}

int objhash_get(const struct objhash *h, uint32_t objref, enum obj_kind kind, uint64_t *ret_value)
{
	const struct obj_ent *e = ent_get(h, objref);

	if (!e)
		return -ENOENT;
	if (e->kind != kind)
		return -EINVAL;
	if (e->state != OBJ_STATE_SET)
		return -ENOENT;
	*ret_value = e->value;
	return 0;
}

enum obj_kind objhash_kind(const struct objhash *h, uint32_t objref)
{
	const struct obj_ent *e = ent_get(h, objref);

	return e ? (enum obj_kind)e->kind : OBJ_NONE;
}

uint32_t objhash_count(const struct objhash *h)
{
	return h->nr_ents;
}

const char *obj_kind_name(enum obj_kind kind)
{
	/* A kind added to enum obj_kind without a name here prints as "?". */
	static const char *const names[OBJ_KIND_COUNT] = {
		[OBJ_NONE] = "none", [OBJ_TASK] = "task",	[OBJ_MM] = "mm",
		[OBJ_FILE] = "file", [OBJ_FDTABLE] = "fdtable", [OBJ_DEVPTS] = "devpts",
		[OBJ_TTY] = "tty",   [OBJ_PIPE] = "pipe",
	};

	if ((unsigned int)kind >= OBJ_KIND_COUNT || !names[kind])
		return "?";
	return names[kind];
}
