/* SPDX-License-Identifier: MIT */
/*
 * Descriptors over a unix socket (SCM_RIGHTS): one message of LEN bytes
 * with up to FDPASS_MAX descriptors. Received descriptors are close-on-exec.
 * No logging: 0 or -errno (-EPIPE for a short or closed message).
 */
#ifndef CRYO_LIB_FDPASS_H
#define CRYO_LIB_FDPASS_H

#include <stddef.h>

#define FDPASS_MAX 253 /* SCM_MAX_FD */

int fdpass_send(int sock, const void *data, size_t len, const int *fds, size_t nr_fds);

/* Exactly LEN bytes; the descriptors that came with them in FDS (*RET_NR of them). */
int fdpass_recv(int sock, void *data, size_t len, int *fds, size_t max_fds, size_t *ret_nr);

#endif
