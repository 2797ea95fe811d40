/* SPDX-License-Identifier: MIT */
/*
 * A tiny TAP producer for unit tests, run by prove(1).
 *
 *	check_int(a, ==, b);	prints both values when it fails
 *	check_str(a, b); check_mem(a, b, n); check(cond);
 *	return tap_done();	prints the plan, exits 1 if anything failed
 */
#ifndef CRYO_TESTS_TAP_H
#define CRYO_TESTS_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_count;
static int tap_failed;

static inline int tap_result(int pass, const char *file, int line, const char *what)
{
	tap_count++;
	printf("%s %d - %s:%d: %s\n", pass ? "ok" : "not ok", tap_count, file, line, what);
	if (!pass)
		tap_failed++;
	fflush(stdout);
	return pass;
}

static inline void tap_diag(const char *msg)
{
	printf("# %s\n", msg);
}

static inline int tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed)
		printf("# %d of %d checks failed\n", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

#define check(cond) tap_result(!!(cond), __FILE__, __LINE__, #cond)

#define check_int(a, op, b)                                                                        \
	({                                                                                         \
		intmax_t tap_a_ = (intmax_t)(a), tap_b_ = (intmax_t)(b);                           \
		int tap_ok_ = tap_result(tap_a_ op tap_b_, __FILE__, __LINE__, #a " " #op " " #b); \
		if (!tap_ok_)                                                                      \
			printf("#   left: %jd\n#  right: %jd\n", tap_a_, tap_b_);                  \
		tap_ok_;                                                                           \
	})

#define check_uint(a, op, b)                                                                       \
	({                                                                                         \
		uintmax_t tap_a_ = (uintmax_t)(a), tap_b_ = (uintmax_t)(b);                        \
		int tap_ok_ = tap_result(tap_a_ op tap_b_, __FILE__, __LINE__, #a " " #op " " #b); \
		if (!tap_ok_)                                                                      \
			printf("#   left: %#jx\n#  right: %#jx\n", tap_a_, tap_b_);                \
		tap_ok_;                                                                           \
	})

#define check_str(a, b)                                                                            \
	({                                                                                         \
		const char *tap_a_ = (a), *tap_b_ = (b);                                           \
		int tap_ok_ = tap_result(tap_a_ && tap_b_ && !strcmp(tap_a_, tap_b_), __FILE__,    \
					 __LINE__, #a " equals " #b);                              \
		if (!tap_ok_)                                                                      \
			printf("#   left: \"%s\"\n#  right: \"%s\"\n", tap_a_ ? tap_a_ : "(null)", \
			       tap_b_ ? tap_b_ : "(null)");                                        \
		tap_ok_;                                                                           \
	})

#define check_mem(a, b, n)                                                                         \
	tap_result(!memcmp((a), (b), (n)), __FILE__, __LINE__, #a " and " #b " have equal bytes")

#endif
