/* SPDX-License-Identifier: MIT */
/*
 * One checkpoint of a tree at a time (doc/checkpoint-restart.md,
 * "Concurrent use"). A checkpoint holds a POSIX record lock on a file of
 * the state directory named after its root for as long as it runs: a
 * second checkpoint of the same root fails at once, even while the first
 * has let the tree run (pre-copy), and one of a tree that overlaps a tree
 * being checkpointed (a subtree, or a tree holding it) fails too. A tree
 * whose lock escapes us (another state directory) is still refused at the
 * freeze: the other cryo holds it with ptrace, and so does a debugger,
 * which is told apart.
 */
#ifndef CRYO_CORE_LOCK_H
#define CRYO_CORE_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

struct ckpt_ctx;

struct ckpt_lock {
	int fd; /* -1: not held */
	char name[64];
	char dir[4096];
};

/*
 * Takes the lock of the tree rooted at ROOT. -EBUSY (logged, naming the
 * other cryo) when another checkpoint holds it; 0 with nothing held when
 * ROOT is gone (find_tree() says so). Other failures are logged.
 */
int ckpt_lock_take(struct ckpt_lock *l, pid_t root);

/*
 * With the lock held and the tree found: -EBUSY (logged) when another
 * checkpoint holds the lock of a task of the tree or of an ancestor of
 * its root (trees that overlap).
 */
int ckpt_lock_check_overlap(const struct ckpt_lock *l, const struct ckpt_ctx *ctx);

/* Lets the lock go and removes its file. */
void ckpt_lock_release(struct ckpt_lock *l);

/*
 * TID (PID itself, or one of its threads) could not be seized: if another
 * tracer holds it (another cryo, a debugger), logs which and what to do,
 * and returns true.
 */
bool ckpt_tell_tracer(pid_t pid, pid_t tid);

#endif
