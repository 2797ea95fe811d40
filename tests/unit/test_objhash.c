// SPDX-License-Identifier: MIT
#include "objhash/objhash.h"

#include <errno.h>
#include <stdlib.h>

#include "tap.h"

#define STRESS_N 100000u

static struct obj_key mkkey(uint64_t hash, uint64_t w0, uint64_t w1)
{
	struct obj_key k = { .hash = hash, .word = { w0, w1, 0 } };

	return k;
}

static int add(struct objhash *h, enum obj_kind kind, struct obj_key k, uint32_t *objref,
	       bool *is_new)
{
	return objhash_lookup_or_add(h, kind, &k, objref, is_new);
}

/*
 * A `same` that ignores word[0] and compares word[1], so a test can tell it
 * from the default (all words equal); `err` forces an error, `never` says
 * "different" to everything.
 */
struct same_ctx {
	int calls;
	int err;
	bool never;
};

static int same_by_word1(const struct obj_key *a, const struct obj_key *b, void *opaque)
{
	struct same_ctx *ctx = opaque;

	ctx->calls++;
	if (ctx->err)
		return ctx->err;
	if (ctx->never)
		return 0;
	return a->word[1] == b->word[1];
}

static void test_basic(void)
{
	struct objhash *h = objhash_new();
	uint32_t ref = 0, ref2 = 0;
	bool is_new = false;

	check(h);
	check_uint(objhash_count(h), ==, 0);
	check_int(add(h, OBJ_FILE, mkkey(10, 1, 2), &ref, &is_new), ==, 0);
	check_uint(ref, ==, 1);
	check(is_new);
	check_int(objhash_kind(h, 1), ==, OBJ_FILE);
	check_uint(objhash_count(h), ==, 1);

	check_int(add(h, OBJ_FILE, mkkey(10, 1, 2), &ref2, &is_new), ==, 0);
	check_uint(ref2, ==, 1);
	check(!is_new);
	check_uint(objhash_count(h), ==, 1);

	/* Equal hash, different words, no callback: another object. */
	check_int(add(h, OBJ_FILE, mkkey(10, 1, 3), &ref2, &is_new), ==, 0);
	check_uint(ref2, ==, 2);
	check(is_new);

	check_int(add(h, OBJ_NONE, mkkey(10, 1, 2), &ref2, &is_new), ==, -EINVAL);
	check_int(add(h, OBJ_KIND_COUNT, mkkey(10, 1, 2), &ref2, &is_new), ==, -EINVAL);
	check_int(objhash_reserve(h, OBJ_NONE, &ref2), ==, -EINVAL);
	check_uint(objhash_count(h), ==, 2);
	check_int(objhash_kind(h, 0), ==, OBJ_NONE);
	check_int(objhash_kind(h, 3), ==, OBJ_NONE);
	objhash_free(h);
}

static void test_kinds(void)
{
	static const enum obj_kind kinds[] = { OBJ_TASK, OBJ_MM, OBJ_FILE, OBJ_FDTABLE };
	struct objhash *h = objhash_new();
	uint32_t ref[4][3], expect = 0;
	bool is_new, ok = true;
	size_t k, i;

	/* Equal keys in every kind: one object per kind, not one in all. */
	for (i = 0; i < 3; i++) {
		for (k = 0; k < 4; k++) {
			ok &= !add(h, kinds[k], mkkey(5 + i, i, 0), &ref[k][i], &is_new);
			ok &= is_new && ref[k][i] == ++expect;
			ok &= objhash_kind(h, ref[k][i]) == kinds[k];
		}
	}
	check(ok);
	check_uint(objhash_count(h), ==, 12);

	/* Each lookup finds its own kind's objref again. */
	for (i = 0; i < 3; i++) {
		for (k = 0; k < 4; k++) {
			uint32_t again = 0;

			ok &= !add(h, kinds[k], mkkey(5 + i, i, 0), &again, &is_new);
			ok &= !is_new && again == ref[k][i];
		}
	}
	check(ok);
	check_uint(objhash_count(h), ==, 12);
	objhash_free(h);
}

static void test_same(void)
{
	struct same_ctx ctx = { 0 };
	struct objhash *h = objhash_new();
	uint32_t a = 0, b = 0, c = 0, d = 0;
	bool is_new = false;

	objhash_set_same(h, OBJ_FILE, same_by_word1, &ctx);
	check_int(add(h, OBJ_FILE, mkkey(42, 1, 7), &a, &is_new), ==, 0);
	check(is_new);
	check_int(ctx.calls, ==, 0); /* nothing to compare with yet */

	/* word[0] differs but the callback says same: one object. */
	check_int(add(h, OBJ_FILE, mkkey(42, 2, 7), &b, &is_new), ==, 0);
	check_uint(b, ==, a);
	check(!is_new);
	check_int(ctx.calls, ==, 1);

	/* The callback says different: a second object with the same hash. */
	check_int(add(h, OBJ_FILE, mkkey(42, 1, 8), &c, &is_new), ==, 0);
	check_uint(c, !=, a);
	check(is_new);

	/* Both collide now; the lookup must still find the right one. */
	check_int(add(h, OBJ_FILE, mkkey(42, 9, 8), &d, &is_new), ==, 0);
	check_uint(d, ==, c);
	check(!is_new);

	/* A different hash is never handed to the callback. */
	ctx.calls = 0;
	check_int(add(h, OBJ_FILE, mkkey(43, 1, 7), &d, &is_new), ==, 0);
	check(is_new);
	check_int(ctx.calls, ==, 0);

	/* The callback overrides equal words too. */
	ctx.never = true;
	check_int(add(h, OBJ_FILE, mkkey(42, 1, 7), &d, &is_new), ==, 0);
	check(is_new);
	check_uint(d, !=, a);
	ctx.never = false;

	/* Other kinds keep the default: equal words, not the callback. */
	ctx.calls = 0;
	check_int(add(h, OBJ_MM, mkkey(42, 1, 7), &a, &is_new), ==, 0);
	check_int(add(h, OBJ_MM, mkkey(42, 2, 7), &b, &is_new), ==, 0);
	check(is_new);
	check_uint(a, !=, b);
	check_int(ctx.calls, ==, 0);

	/* An error of the callback reaches the caller and adds nothing. */
	ctx.err = -EIO;
	c = objhash_count(h);
	check_int(add(h, OBJ_FILE, mkkey(42, 3, 7), &d, &is_new), ==, -EIO);
	check_uint(objhash_count(h), ==, c);
	ctx.err = 0;

	/* Uninstalled, the default comes back. */
	objhash_set_same(h, OBJ_FILE, NULL, NULL);
	check_int(add(h, OBJ_FILE, mkkey(42, 2, 7), &d, &is_new), ==, 0);
	check(is_new);
	objhash_free(h);
}

static void test_reserve_bind(void)
{
	struct same_ctx ctx = { 0 };
	struct objhash *h = objhash_new();
	struct obj_key key = mkkey(77, 1, 2), other = mkkey(78, 0, 0), collide = mkkey(77, 5, 5);
	uint32_t r = 0, r2 = 0, found = 0, added = 0;
	bool is_new = true;

	check_int(objhash_reserve(h, OBJ_FILE, &r), ==, 0);
	check_uint(r, ==, 1);
	check_int(objhash_kind(h, r), ==, OBJ_FILE);
	check_uint(objhash_count(h), ==, 1);
	check_int(objhash_reserve(h, OBJ_FILE, &r2), ==, 0);
	check_uint(r2, ==, 2);

	check_int(objhash_bind(h, r, OBJ_FILE, &key), ==, 0);
	check_int(objhash_lookup_or_add(h, OBJ_FILE, &key, &found, &is_new), ==, 0);
	check_uint(found, ==, r);
	check(!is_new);

	check_int(objhash_bind(h, 0, OBJ_FILE, &other), ==, -ENOENT);
	check_int(objhash_bind(h, 99, OBJ_FILE, &other), ==, -ENOENT);
	check_int(objhash_bind(h, r2, OBJ_MM, &other), ==, -EINVAL);
	check_int(objhash_bind(h, r, OBJ_FILE, &other), ==, -EEXIST);
	/* KEY already names r: binding it to r2 as well would make it ambiguous. */
	check_int(objhash_bind(h, r2, OBJ_FILE, &key), ==, -EEXIST);

	/* An objref from lookup_or_add is bound already. */
	check_int(add(h, OBJ_FILE, mkkey(79, 0, 0), &added, &is_new), ==, 0);
	check_int(objhash_bind(h, added, OBJ_FILE, &other), ==, -EEXIST);

	/* The failed binds left r2 free. */
	objhash_set_same(h, OBJ_FILE, same_by_word1, &ctx);
	ctx.err = -EIO;
	check_int(objhash_bind(h, r2, OBJ_FILE, &collide), ==, -EIO);
	ctx.err = 0;
	check_int(objhash_bind(h, r2, OBJ_FILE, &other), ==, 0);
	check_int(objhash_lookup_or_add(h, OBJ_FILE, &other, &found, &is_new), ==, 0);
	check_uint(found, ==, r2);
	check(!is_new);
	check_uint(objhash_count(h), ==, 3);
	objhash_free(h);
}

static void test_set_get(void)
{
	struct objhash *h = objhash_new();
	uint64_t v = 0;
	uint32_t r = 0;

	/* Sparse and out of order, as an image may define them. */
	check_int(objhash_set(h, 7, OBJ_FILE, 0x700), ==, 0);
	check_uint(objhash_count(h), ==, 7);
	check_int(objhash_set(h, 3, OBJ_TASK, 0x300), ==, 0);
	check_uint(objhash_count(h), ==, 7);
	check_int(objhash_set(h, 1000, OBJ_MM, UINT64_MAX), ==, 0);
	check_uint(objhash_count(h), ==, 1000);

	check_int(objhash_get(h, 7, OBJ_FILE, &v), ==, 0);
	check_uint(v, ==, 0x700);
	check_int(objhash_get(h, 3, OBJ_TASK, &v), ==, 0);
	check_uint(v, ==, 0x300);
	check_int(objhash_get(h, 1000, OBJ_MM, &v), ==, 0);
	check_uint(v, ==, UINT64_MAX);
	check_int(objhash_kind(h, 7), ==, OBJ_FILE);
	check_int(objhash_kind(h, 3), ==, OBJ_TASK);
	check_int(objhash_kind(h, 5), ==, OBJ_NONE);

	check_int(objhash_get(h, 7, OBJ_TASK, &v), ==, -EINVAL);
	check_int(objhash_get(h, 3, OBJ_NONE, &v), ==, -EINVAL);
	check_int(objhash_get(h, 0, OBJ_FILE, &v), ==, -ENOENT);
	check_int(objhash_get(h, 5, OBJ_FILE, &v), ==, -ENOENT);
	check_int(objhash_get(h, 1001, OBJ_FILE, &v), ==, -ENOENT);
	check_int(objhash_get(h, UINT32_MAX, OBJ_FILE, &v), ==, -ENOENT);

	check_int(objhash_set(h, 7, OBJ_FILE, 0x701), ==, -EEXIST);
	check_int(objhash_set(h, 7, OBJ_MM, 0x701), ==, -EEXIST);
	check_int(objhash_get(h, 7, OBJ_FILE, &v), ==, 0);
	check_uint(v, ==, 0x700);

	check_int(objhash_set(h, 0, OBJ_FILE, 1), ==, -EINVAL);
	check_int(objhash_set(h, 5, OBJ_NONE, 1), ==, -EINVAL);
	check_int(objhash_set(h, 5, OBJ_KIND_COUNT, 1), ==, -EINVAL);
	check_int(objhash_set(h, (1u << 26) + 1, OBJ_FILE, 1), ==, -ERANGE);
	check_int(objhash_set(h, UINT32_MAX, OBJ_FILE, 1), ==, -ERANGE);
	check_uint(objhash_count(h), ==, 1000);

	/* A gap filled later. */
	check_int(objhash_set(h, 5, OBJ_FDTABLE, 0x500), ==, 0);
	check_int(objhash_get(h, 5, OBJ_FDTABLE, &v), ==, 0);
	check_uint(v, ==, 0x500);

	/* Reserved, or keyed, is not set. */
	check_int(objhash_reserve(h, OBJ_FILE, &r), ==, 0);
	check_uint(r, ==, 1001);
	check_int(objhash_get(h, r, OBJ_FILE, &v), ==, -ENOENT);
	check_int(objhash_get(h, r, OBJ_MM, &v), ==, -EINVAL);
	check_int(objhash_set(h, r, OBJ_FILE, 1), ==, -EEXIST);
	check_int(objhash_bind(h, 7, OBJ_FILE, &(struct obj_key){ .hash = 1 }), ==, -ENOENT);
	objhash_free(h);
}

/* Distinct keys whose hashes share low bits, as inode numbers would. */
static struct obj_key stress_key(uint32_t i)
{
	return mkkey((uint64_t)i << 12, i, ~(uint64_t)i);
}

static void test_stress(void)
{
	struct objhash *h = objhash_new();
	uint32_t i, ref, bad_add = 0, bad_find = 0, bad_collide = 0;
	bool is_new;

	for (i = 0; i < STRESS_N; i++) {
		if (add(h, OBJ_FILE, stress_key(i), &ref, &is_new) || !is_new || ref != i + 1)
			bad_add++;
	}
	check_uint(bad_add, ==, 0);
	check_uint(objhash_count(h), ==, STRESS_N);

	for (i = 0; i < STRESS_N; i++) {
		if (add(h, OBJ_FILE, stress_key(i), &ref, &is_new) || is_new || ref != i + 1)
			bad_find++;
	}
	check_uint(bad_find, ==, 0);

	/* The same keys in another kind are new objects. */
	for (i = 0; i < 1000; i++) {
		if (add(h, OBJ_MM, stress_key(i), &ref, &is_new) || !is_new ||
		    ref != STRESS_N + i + 1)
			bad_add++;
	}
	check_uint(bad_add, ==, 0);

	/* Many objects per hash: long probe runs must still resolve by words. */
	for (i = 0; i < 20000; i++) {
		if (add(h, OBJ_TASK, mkkey(i % 100, i, 0), &ref, &is_new) || !is_new)
			bad_collide++;
	}
	for (i = 0; i < 20000; i++) {
		if (add(h, OBJ_TASK, mkkey(i % 100, i, 0), &ref, &is_new) || is_new ||
		    ref != STRESS_N + 1000 + i + 1)
			bad_collide++;
	}
	check_uint(bad_collide, ==, 0);
	check_uint(objhash_count(h), ==, STRESS_N + 1000 + 20000);
	objhash_free(h);
}

static void test_names(void)
{
	check_str(obj_kind_name(OBJ_NONE), "none");
	check_str(obj_kind_name(OBJ_TASK), "task");
	check_str(obj_kind_name(OBJ_MM), "mm");
	check_str(obj_kind_name(OBJ_FILE), "file");
	check_str(obj_kind_name(OBJ_FDTABLE), "fdtable");
	check_str(obj_kind_name(OBJ_KIND_COUNT), "?");
	check_str(obj_kind_name((enum obj_kind)99), "?");
	check_str(obj_kind_name((enum obj_kind) - 1), "?");
}

int main(void)
{
	test_basic();
	test_kinds();
	test_same();
	test_reserve_bind();
	test_set_get();
	test_stress();
	test_names();
	objhash_free(NULL);
	return tap_done();
}
