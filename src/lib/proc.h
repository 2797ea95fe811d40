/* SPDX-License-Identifier: MIT */
/*
 * Reading and parsing /proc/PID for checkpoint.
 *
 * Every function returns 0 or -errno and writes its ret_* outputs only on
 * success. Each file is read with one open() and a read() loop into a buffer
 * that grows, then parsed in memory: no stdio, no per-field syscalls. A
 * malformed file gives -EINVAL, never a crash or a half-filled result.
 *
 * PID must be positive (else -EINVAL) and a file NAME short (else
 * -ENAMETOOLONG). A task that is gone gives -ENOENT or -ESRCH.
 *
 * The proc_parse_*() functions take the text of a file already in memory
 * (need not be NUL-terminated), for callers that read it themselves and for
 * tests that feed them hostile content.
 */
#ifndef CRYO_LIB_PROC_H
#define CRYO_LIB_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * One line of /proc/PID/maps. path is the name column exactly as the kernel
 * shows it, "" if none: "/usr/bin/x", "[heap]", "[stack]", "[vdso]",
 * "/dev/zero (deleted)", "/memfd:x (deleted)", ... The kernel escapes a
 * newline in a file name as "\012" but leaves backslashes alone, so the
 * column is ambiguous; the exact name of a file mapping is
 * proc_readlink(pid, "map_files/START-END").
 */
struct proc_vma {
	uint64_t start, end, pgoff;
	uint32_t prot; /* PROT_READ|PROT_WRITE|PROT_EXEC */
	bool shared;   /* 's' in the flags column, else private 'p' */
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	char *path; /* points into the list's storage */
};

/*
 * vmas ascending as the kernel lists them. The list owns vmas and storage,
 * both malloc'd (NULL when nr is 0); the caller frees them with
 * proc_vma_list_free(). A zombie or kernel thread has no vmas.
 */
struct proc_vma_list {
	struct proc_vma *vmas;
	size_t nr;
	char *storage;
};

int proc_read_maps(pid_t pid, struct proc_vma_list *ret_list);
int proc_parse_maps(const char *text, size_t len, struct proc_vma_list *ret_list);
/* Frees what a list owns and empties it; a zeroed list is fine. */
void proc_vma_list_free(struct proc_vma_list *list);

/*
 * /proc/PID/stat. comm is what lies between the first '(' and the LAST ')',
 * cut to 15 bytes (kernel threads may show longer names). start_code,
 * end_code and start_stack read as 0 or 1 when we may not ptrace the task.
 */
struct proc_stat {
	char comm[16];
	char state;
	int ppid, pgrp, session, tty_nr, tpgid;
	unsigned flags;
	int64_t num_threads;
	uint64_t starttime;
	uint64_t start_code, end_code, start_stack; /* fields 26, 27, 28 */
	/* fields 45-51 */
	uint64_t start_data, end_data, start_brk, arg_start, arg_end, env_start, env_end;
	int exit_code; /* field 52 */
	/* fields 31-34: obsolete, for reference */
	unsigned long long sigpending, sigblocked, sigignore, sigcatch;
};

/* TID 0 reads /proc/PID/stat, else /proc/PID/task/TID/stat. All 52 fields must be there. */
int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *ret);
int proc_parse_stat(const char *text, size_t len, struct proc_stat *ret);

/*
 * /proc/PID/status: credentials and friends. Lines older kernels lack
 * (NStgid, CapAmb, NoNewPrivs, Seccomp, Seccomp_filters) and those a zombie
 * lacks (CoreDumping) read as 0, nstgid_depth as 1, a missing Umask (a
 * zombie's) as PROC_UMASK_NONE; any other field missing is -EINVAL.
 */
#define PROC_UMASK_NONE UINT32_MAX

struct proc_status {
	uint32_t uid[4], gid[4]; /* real, effective, saved, fs */
	uint32_t *groups;	 /* malloc'd (NULL when none); free with proc_status_free */
	size_t nr_groups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint32_t umask;
	int no_new_privs, seccomp, seccomp_filters;
	uint64_t sig_pnd, shd_pnd, sig_blk, sig_ign, sig_cgt;
	int tgid, pid, ppid, tracer_pid, threads;
	int nstgid_depth; /* how many pid namespace levels NStgid lists */
	int core_dumping;
};

/* TID as for proc_read_stat(). */
int proc_read_status(pid_t pid, pid_t tid, struct proc_status *ret);
int proc_parse_status(const char *text, size_t len, struct proc_status *ret);
void proc_status_free(struct proc_status *st);

/*
 * /proc/PID/auxv as (type, value) u64 pairs including the AT_NULL pair;
 * *ret_words counts u64 words. -EFBIG if it does not fit in MAX_WORDS;
 * -ESRCH for a zombie or kernel thread (no mm), -ENODATA if the file is empty.
 */
int proc_read_auxv(pid_t pid, uint64_t *buf, size_t max_words, size_t *ret_words);

/*
 * readlink() of /proc/PID/NAME ("cwd", "root", "exe", "fd/3",
 * "map_files/START-END"), raw bytes, NUL-terminated; -ENAMETOOLONG if it
 * does not fit in SIZE.
 */
int proc_readlink(pid_t pid, const char *name, char *buf, size_t size);

/*
 * The whole of /proc/PID/NAME ("comm", "personality", "fdinfo/3", "timers")
 * into BUF, NUL-terminated; *ret_len without the NUL. -EFBIG if it does not
 * fit in SIZE.
 */
int proc_read_small(pid_t pid, const char *name, char *buf, size_t size, size_t *ret_len);

/*
 * The lines every /proc/PID/fdinfo/FD starts with. flags are the open flags
 * (octal in the file) plus O_CLOEXEC when the descriptor has it. ino is 0
 * before Linux 5.14, which does not show it.
 */
struct proc_fdinfo {
	uint64_t pos;
	uint32_t flags;
	int mnt_id;
	uint64_t ino;
};

int proc_read_fdinfo(pid_t pid, int fd, struct proc_fdinfo *ret);
/*
 * For callers that need the type-specific lines too (tty-index,
 * eventfd-count, ...): read the file with proc_read_small(), then
 * *ret_rest points into TEXT at the first line after the common ones.
 */
int proc_parse_fdinfo(const char *text, size_t len, struct proc_fdinfo *ret, const char **ret_rest);

/*
 * Numbered entries of a /proc directory, ascending, in a malloc'd array the
 * caller frees (NULL when empty). They are a snapshot: stop the tree first.
 */

/* /proc/PID/fd. When PID is our own process, the descriptor used to list it is left out. */
int proc_list_fds(pid_t pid, int **ret_fds, size_t *ret_nr);

/*
 * /proc/PID/task/TID/children of every thread TID of PID, unique.
 * -EOPNOTSUPP if the kernel lacks them (CONFIG_PROC_CHILDREN).
 */
int proc_list_children(pid_t pid, pid_t **ret_pids, size_t *ret_nr);

/* /proc/PID/task. */
int proc_list_threads(pid_t pid, pid_t **ret_tids, size_t *ret_nr);

/*
 * One line of /proc/PID/mountinfo, the escapes in paths (\040 for a space,
 * \011, \012, \134) undone. The strings point into the list's storage.
 */
struct proc_mount {
	int id, parent;
	uint32_t dev_major, dev_minor; /* st_dev of the filesystem */
	const char *root;	       /* the filesystem's directory mounted here */
	const char *point;	       /* the mount point, in the reader's mount namespace */
	const char *options;	       /* per-mount options: rw,nosuid,... */
	const char *fstype;	       /* "devpts", "ext4", ... */
	const char *source;
	const char *super_options; /* per-filesystem options: mode=620,ptmxmode=000,... */
};

/* Mounts in the kernel's order: a mount comes after those it is mounted on. */
struct proc_mount_list {
	struct proc_mount *mounts;
	size_t nr;
	char *storage;
};

int proc_read_mountinfo(pid_t pid, struct proc_mount_list *ret_list);

/* /proc/sys/kernel/random/boot_id as 16 bytes (this boot's identity). 0 or -errno. */
int proc_read_boot_id(uint8_t id[16]);
/* The same from its text, "8-4-4-4-12" hex digits. 0 or -EINVAL. */
int proc_parse_boot_id(const char *text, uint8_t id[16]);
int proc_parse_mountinfo(const char *text, size_t len, struct proc_mount_list *ret_list);
void proc_mount_list_free(struct proc_mount_list *list);

/* Bits of a /proc/PID/pagemap entry. */
#define PM_PRESENT   (1ull << 63)
#define PM_SWAP	     (1ull << 62)
#define PM_FILE	     (1ull << 61) /* file page or shared anonymous */
#define PM_EXCLUSIVE (1ull << 56) /* mapped by this process only */

/* Returns an O_CLOEXEC descriptor of /proc/PID/pagemap, or -errno. */
int proc_pagemap_open(pid_t pid);

/*
 * One u64 entry per page of [START, END) into ENTRIES, which holds
 * (END - START) / page size of them. START and END must be page-aligned.
 * -EIO if the kernel returns fewer entries (range beyond user space).
 */
int proc_pagemap_read(int fd, uint64_t start, uint64_t end, uint64_t *entries);

#endif
