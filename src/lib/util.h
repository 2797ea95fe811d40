/* SPDX-License-Identifier: MIT */
/* Small helpers shared by every layer. */
#ifndef CRYO_LIB_UTIL_H
#define CRYO_LIB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A must be a power of two. */
#define ALIGN_UP(x, a)	 (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)

/* write(2)/read(2) until done; retry EINTR. 0 or -errno (-EIO for a short read at EOF). */
int write_full(int fd, const void *buf, size_t len);
int read_full(int fd, void *buf, size_t len);

/*
 * Room for one more element in a growing array: *ARRAYP (a pointer to the
 * array, of elements of SIZE bytes) holding NR of *CAP, doubled when full
 * (16 at first). 0 or -ENOMEM, the array untouched then.
 */
int array_reserve(void *arrayp, size_t *cap, size_t nr, size_t size);

/* A wait status as a shell gives it: the exit code, or 128+N for death by signal N. */
int exit_code_of(int status);

/* CLOCK_MONOTONIC, in milliseconds. */
int64_t now_ms(void);

#endif
