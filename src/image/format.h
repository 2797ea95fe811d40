/* SPDX-License-Identifier: MIT */
/*
 * The cryo image format: the only definition of its records.
 *
 * An image is a sequence of records. Each is a struct rec_hdr {type, len}
 * followed by `len` bytes of payload, then zero padding to the next 8-byte
 * boundary. Integers are little-endian and fixed-width; every struct below
 * has explicit padding and a static size check. doc/image-format.md is the
 * prose twin of this file and must say the same thing.
 *
 * The first record is REC_HEADER, the last REC_TRAILER. The trailer holds the
 * number of records before it and a CRC32C of every byte before it except
 * page data; page data carries its own CRC32C in the record that holds it, so
 * every byte of an image is covered by exactly one checksum.
 *
 * Shared kernel objects are written once and named by an objref: a small
 * integer, unique across all kinds, defined by exactly one record before any
 * record refers to it. 0 means "none".
 *
 * Record type numbers are grouped in ranges and never reused; a retired
 * number stays here as a comment. Adding a record or a trailing field bumps
 * the minor version, changing one bumps the major. Major 0 is the
 * development series: no compatibility is promised until 1.0.
 */
#ifndef CRYO_IMAGE_FORMAT_H
#define CRYO_IMAGE_FORMAT_H

#include <stdint.h>

#define CRYO_IMAGE_MAGIC	 "CRYOIMG" /* 7 chars + NUL = 8 bytes */
#define CRYO_IMAGE_MAJOR	 0
#define CRYO_IMAGE_MINOR	 2
#define CRYO_REC_ALIGN		 8
#define CRYO_PAGES_MAX_BYTES	 (1u << 20)   /* page data per REC_PAGES record */
#define CRYO_PATH_MAX		 4096	      /* longest path a record may hold, NUL included */
#define CRYO_KERNEL_RELEASE_SIZE 65	      /* sizeof(struct utsname.release) */
#define CRYO_USER_ADDR_END	 (1ull << 56) /* above any x86_64 user address (5-level) */
#define CRYO_PID_MAX		 (1 << 22)    /* PID_MAX_LIMIT */
#define CRYO_FD_MAX		 (1 << 20)    /* NR_OPEN */

struct rec_hdr {
	uint32_t type;
	uint32_t len; /* payload bytes, without this header and without padding */
};
_Static_assert(sizeof(struct rec_hdr) == 8, "rec_hdr is 8 bytes");

enum rec_type {
	/* control: 0x0001 - 0x00ff */
	REC_HEADER = 0x0001,
	REC_TRAILER = 0x0002,
	REC_SESSION = 0x0003,
	REC_PARENT = 0x0004,
	/* tasks: 0x0100 - 0x01ff */
	REC_TASK = 0x0100,
	REC_TASK_OBJS = 0x0101,
	REC_TASK_CORE = 0x0102,
	REC_SIGACTIONS = 0x0103,
	REC_SIGPENDING = 0x0104,
	REC_CREDS = 0x0105,
	REC_RLIMITS = 0x0106,
	REC_FS = 0x0107,
	REC_POSIX_TIMER = 0x0108,
	/* memory: 0x0200 - 0x02ff */
	REC_MM = 0x0200,
	REC_VMA = 0x0201,
	REC_PAGES = 0x0202,
	REC_PRECOPY = 0x0203,
	REC_PAGES_KEPT = 0x0204,
	/* files: 0x0300 - 0x03ff */
	REC_FILE = 0x0300,
	REC_FDTABLE = 0x0301,
	REC_FD = 0x0302,
	REC_PIPE = 0x0303,
	REC_PIPE_FILE = 0x0304,
	REC_PIPE_DATA = 0x0305,
	REC_SIGNALFD = 0x0306,
	REC_SHMEM = 0x0307,
	/* terminals: 0x0400 - 0x04ff (doc/pty.md) */
	REC_DEVPTS = 0x0400,
	REC_TTY_MASTER = 0x0401,
	REC_TTY_SLAVE = 0x0402,
	REC_TTY_FILE = 0x0403,
	REC_TTY_INPUT = 0x0404,
	REC_TTY_OUTPUT = 0x0405,
	REC_TTY_CTTY = 0x0406,
	/* architecture: 0x0f00 - 0x0fff */
	REC_TASK_REGS = 0x0f00,
	REC_TASK_XSTATE = 0x0f01,
};

/*
 * Kinds of shared objects named by objrefs. An objref's kind is fixed by the
 * record that defines (or reserves) it; a reference of the wrong kind is an
 * invalid image.
 */
enum obj_kind {
	OBJ_NONE = 0,
	OBJ_TASK = 1,
	OBJ_MM = 2,
	OBJ_FILE = 3,
	OBJ_FDTABLE = 4,
	OBJ_DEVPTS = 5,
	OBJ_TTY = 6,
	OBJ_PIPE = 7,
	OBJ_KIND_COUNT
};

/* --- control ------------------------------------------------------------------ */

enum image_arch {
	IMAGE_ARCH_X86_64 = 62, /* the ELF machine number, EM_X86_64 */
};

/*
 * The kernel constants the restart side must match. A restart compares them
 * with its own and refuses a mismatch by name instead of misreading state.
 */
struct rec_header {
	char magic[8]; /* CRYO_IMAGE_MAGIC, NUL-terminated */
	uint16_t major;
	uint16_t minor;
	uint32_t arch;	    /* enum image_arch */
	uint32_t page_size; /* page data is aligned to this inside the file */
	uint32_t flags;	    /* none defined yet: must be 0 */
	uint64_t time_ns;   /* CLOCK_REALTIME when the checkpoint was taken */
	uint32_t root_pid;  /* the pid the checkpoint was asked for */
	uint32_t nccs;	    /* control characters in struct termios2 */
	uint32_t termios2_size;
	uint32_t nsig;	      /* signals: _NSIG */
	uint32_t xstate_size; /* bytes of the XSAVE area, 0 if not saved */
	uint32_t pad0;
	uint64_t xfeatures; /* XCR0: the XSAVE features present */
	char kernel_release[CRYO_KERNEL_RELEASE_SIZE];
	uint8_t pad1[7];
};
_Static_assert(sizeof(struct rec_header) == 136, "rec_header layout");

struct rec_trailer {
	uint64_t nr_records; /* records before the trailer, header included */
	uint32_t crc32c;     /* of every byte before the trailer, page data excepted */
	uint32_t pad;
};
_Static_assert(sizeof(struct rec_trailer) == 16, "rec_trailer layout");

/*
 * The image of a session's program (doc/sessions.md): restart makes a
 * session of it again, in namespaces of its own. Right after the header.
 */
struct rec_session {
	char name[64]; /* NUL-terminated: letters, digits, '.', '_', '-' */
};
_Static_assert(sizeof(struct rec_session) == 64, "rec_session layout");

/*
 * An incremental image (doc/performance.md): pages it marks REC_PAGES_KEPT
 * with PAGES_IN_PARENT are in the image named here, at the same address of
 * the process with the same pid. After the header (and the session), before
 * everything else. The parent is known by its header's time, its size and
 * its trailer's CRC32C; restart refuses another file under that name.
 */
struct rec_parent {
	uint64_t time_ns; /* the parent's rec_header.time_ns */
	uint64_t size;	  /* the parent's length in bytes */
	uint32_t crc32c;  /* the parent's rec_trailer.crc32c */
	uint32_t pad;
	/* char path[]: NUL-terminated, absolute when checkpoint wrote it */
};
_Static_assert(sizeof(struct rec_parent) == 24, "rec_parent layout");

/* --- tasks -------------------------------------------------------------------- */

enum task_state {
	TASK_ALIVE = 1,
	TASK_ZOMBIE = 2,
};

/*
 * One task of the tree. All REC_TASK records come first, parents before
 * children, so restart can build the tree before recreating any object.
 */
struct rec_task {
	uint32_t objref; /* defines OBJ_TASK */
	int32_t pid;	 /* the task's pid (its tid for a thread) */
	int32_t tgid;
	int32_t ppid; /* 0 for the root */
	int32_t pgid;
	int32_t sid;
	uint32_t state;	     /* enum task_state */
	int32_t exit_status; /* wait status of a zombie, else 0 */
	char comm[16];	     /* NUL-terminated */
};
_Static_assert(sizeof(struct rec_task) == 48, "rec_task layout");

/* The shared objects a live task uses, after they were written. */
struct rec_task_objs {
	uint32_t task_objref; /* OBJ_TASK */
	uint32_t mm_objref;   /* OBJ_MM */
	uint32_t fdt_objref;  /* OBJ_FDTABLE */
	uint32_t pad;
};
_Static_assert(sizeof(struct rec_task_objs) == 16, "rec_task_objs layout");

/* Interval timers (ITIMER_REAL, _VIRTUAL, _PROF) and their kin, in ns. */
struct rec_timer_value {
	uint64_t interval_ns;
	uint64_t value_ns; /* time left, 0 when disarmed */
};
_Static_assert(sizeof(struct rec_timer_value) == 16, "rec_timer_value layout");

/* The per-task state that is neither a shared object nor a register. */
struct rec_task_core {
	uint32_t task_objref; /* OBJ_TASK, a live task */
	uint32_t personality;
	uint32_t umask;
	int32_t pdeath_signal;
	uint32_t dumpable;     /* prctl(PR_GET_DUMPABLE): 0, 1 or 2 */
	uint32_t no_new_privs; /* 0 or 1 */
	uint64_t blocked;      /* signal mask, bit N-1 for signal N */
	uint64_t tid_address;  /* set_tid_address(), 0 if none */
	uint64_t robust_list;  /* set_robust_list() head, 0 if none */
	uint64_t robust_list_len;
	uint64_t rseq; /* rseq area, 0 if not registered */
	uint32_t rseq_len;
	uint32_t rseq_sig;
	uint64_t altstack_sp; /* sigaltstack */
	uint64_t altstack_size;
	uint32_t altstack_flags;	   /* SS_DISABLE, SS_AUTODISARM (SS_ONSTACK is not saved) */
	uint32_t child_subreaper;	   /* prctl(PR_SET_CHILD_SUBREAPER): 0 or 1 */
	struct rec_timer_value itimers[3]; /* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF */
	char comm[16];			   /* NUL-terminated */
	uint64_t timerslack_ns;
	int32_t nice;		 /* -20 .. 19 */
	uint32_t sched_policy;	 /* SCHED_OTHER, ... (SCHED_RESET_ON_FORK kept) */
	uint32_t sched_priority; /* 0, or 1 .. 99 for the real-time policies */
	uint32_t thp_disable;	 /* prctl(PR_SET_THP_DISABLE): 0 or 1 */
	uint32_t stopped;	 /* 1: stopped by job control (SIGSTOP, SIGTSTP, ...) */
	uint32_t pad;
};
_Static_assert(sizeof(struct rec_task_core) == 192, "rec_task_core layout");

#define CRYO_ALTSTACK_FLAGS 0x80000002u /* SS_AUTODISARM | SS_DISABLE */

#define CRYO_NSIG 64 /* signals 1..64 */

struct rec_sigaction {
	uint64_t handler; /* SIG_DFL 0, SIG_IGN 1, or an address */
	uint64_t flags;	  /* SA_* */
	uint64_t restorer;
	uint64_t mask;
};
_Static_assert(sizeof(struct rec_sigaction) == 32, "rec_sigaction layout");

/* The signal handlers of a thread group, for signals 1..64 (entry N-1). */
struct rec_sigactions {
	uint32_t task_objref; /* OBJ_TASK: the thread group leader */
	uint32_t pad;
	struct rec_sigaction action[CRYO_NSIG];
};
_Static_assert(sizeof(struct rec_sigactions) == 8 + 32 * 64, "rec_sigactions layout");

#define CRYO_SIGINFO_SIZE 128

/* Pending signals of a task (private queue) or of its group (shared). */
struct rec_sigpending {
	uint32_t task_objref; /* OBJ_TASK */
	uint32_t shared;      /* 1: the thread group's queue */
	uint32_t nr;	      /* siginfo entries that follow, oldest first */
	uint32_t pad;
	/* uint8_t siginfo[nr][CRYO_SIGINFO_SIZE]; */
};
_Static_assert(sizeof(struct rec_sigpending) == 16, "rec_sigpending layout");

#define CRYO_NGROUPS_MAX 65536

struct rec_creds {
	uint32_t task_objref; /* OBJ_TASK */
	uint32_t uid[4];      /* real, effective, saved, filesystem */
	uint32_t gid[4];
	uint32_t securebits;
	uint32_t nr_groups; /* supplementary groups that follow */
	uint32_t pad;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	/* uint32_t groups[nr_groups]; */
};
_Static_assert(sizeof(struct rec_creds) == 88, "rec_creds layout");

#define CRYO_RLIM_NLIMITS  16
#define CRYO_RLIM_INFINITY UINT64_MAX

struct rec_rlimits {
	uint32_t task_objref; /* OBJ_TASK: the thread group leader */
	uint32_t nr;	      /* CRYO_RLIM_NLIMITS */
	struct {
		uint64_t cur, max;
	} lim[CRYO_RLIM_NLIMITS];
};
_Static_assert(sizeof(struct rec_rlimits) == 8 + 16 * 16, "rec_rlimits layout");

/* Working and root directories: two absolute, NUL-terminated paths. */
struct rec_fs {
	uint32_t task_objref; /* OBJ_TASK */
	uint32_t cwd_len;     /* bytes of cwd, NUL included */
	uint32_t root_len;    /* bytes of root, NUL included; root follows cwd */
	uint32_t pad;
	/* char cwd[cwd_len]; char root[root_len]; */
};
_Static_assert(sizeof(struct rec_fs) == 16, "rec_fs layout");

enum timer_notify {
	TIMER_NOTIFY_SIGNAL = 0,    /* SIGEV_SIGNAL: the process */
	TIMER_NOTIFY_NONE = 1,	    /* SIGEV_NONE */
	TIMER_NOTIFY_THREAD_ID = 4, /* SIGEV_THREAD_ID: one thread */
};

/* A POSIX timer (timer_create) of a thread group, with the id the program knows. */
struct rec_posix_timer {
	uint32_t task_objref; /* OBJ_TASK: the thread group leader */
	int32_t id;	      /* ascending within a task */
	int32_t clock;	      /* CLOCK_REALTIME .. CLOCK_TAI */
	int32_t notify;	      /* enum timer_notify */
	int32_t signo;	      /* 1..64, 0 for TIMER_NOTIFY_NONE */
	int32_t notify_tid;   /* TIMER_NOTIFY_THREAD_ID: the thread */
	uint64_t sigev_value;
	struct rec_timer_value value; /* relative: the time left */
	int32_t overrun;
	uint32_t pad;
};
_Static_assert(sizeof(struct rec_posix_timer) == 56, "rec_posix_timer layout");

/* --- memory ------------------------------------------------------------------- */

/* An address space: the fields of prctl(PR_SET_MM_MAP). */
struct rec_mm {
	uint32_t objref;	  /* defines OBJ_MM */
	uint32_t exe_file_objref; /* OBJ_FILE, or 0 */
	uint64_t start_code, end_code;
	uint64_t start_data, end_data;
	uint64_t start_brk, brk;
	uint64_t start_stack;
	uint64_t arg_start, arg_end;
	uint64_t env_start, env_end;
	uint32_t auxv_words; /* u64 words of auxv that follow, AT_NULL pair included */
	uint32_t pad;
	/* uint64_t auxv[auxv_words]; */
};
_Static_assert(sizeof(struct rec_mm) == 104, "rec_mm layout");

#define CRYO_AUXV_WORDS_MAX 128

enum vma_kind {
	VMA_ANON = 1,  /* anonymous, private or shared */
	VMA_FILE = 2,  /* mapping of file_objref */
	VMA_HEAP = 3,  /* [heap] */
	VMA_STACK = 4, /* [stack] */
	VMA_VDSO = 5,  /* [vvar], [vvar_vclock], [vdso]: moved, never saved */
	VMA_KIND_MAX = VMA_VDSO,
};

#define VMA_PROT_MASK	   0x7u /* PROT_READ | PROT_WRITE | PROT_EXEC */
#define VMA_FLAG_SHARED	   0x1u /* MAP_SHARED, else private */
#define VMA_FLAG_GROWSDOWN 0x2u
#define VMA_FLAGS_MASK	   0x3u

struct rec_vma {
	uint32_t mm_objref;   /* OBJ_MM */
	uint32_t file_objref; /* OBJ_FILE: a REC_FILE for VMA_FILE, a REC_SHMEM for shared VMA_ANON,
				 else 0 */
	uint64_t start, end;  /* page aligned, start < end */
	uint64_t pgoff;	      /* offset in the file, bytes, page aligned */
	uint32_t kind;	      /* enum vma_kind */
	uint32_t prot;	      /* VMA_PROT_MASK bits */
	uint32_t flags;	      /* VMA_FLAG_* */
	uint32_t pad;
};
_Static_assert(sizeof(struct rec_vma) == 48, "rec_vma layout");

/*
 * Page data for one address space: runs of consecutive pages, then zero
 * padding up to the next page boundary of the image file, then the pages of
 * all runs back to back. `data_offset` is counted from the start of the
 * payload (just after the rec_hdr); the data ends the payload. Runs are in
 * ascending address order and do not overlap, inside this record and across
 * the records of one address space.
 */
struct rec_pages_run {
	uint64_t vaddr; /* page aligned */
	uint64_t nr_pages;
};
_Static_assert(sizeof(struct rec_pages_run) == 16, "rec_pages_run layout");

struct rec_pages {
	union {
		uint32_t mm_objref; /* REC_PAGES: OBJ_MM */
		uint32_t pid;	    /* REC_PRECOPY: the process, by pid */
	};
	uint32_t nr_runs;
	uint32_t nr_pages; /* total over all runs */
	uint32_t crc32c;   /* of the page data */
	uint32_t data_offset;
	uint32_t pad;
	/* struct rec_pages_run runs[nr_runs]; zero padding; page data */
};
_Static_assert(sizeof(struct rec_pages) == 24, "rec_pages layout");

/*
 * REC_PRECOPY has the layout of REC_PAGES, but names its process by pid:
 * page data copied while the tree still ran, before it was frozen. All
 * REC_PRECOPY records come before the first REC_TASK, in ascending (pid,
 * address) order. They are only data: a page of them belongs to the
 * restored memory when a REC_PAGES_KEPT of that process says so.
 */

enum pages_source {
	PAGES_IN_PRECOPY = 1, /* this image's REC_PRECOPY of the same pid */
	PAGES_IN_PARENT = 2,  /* the REC_PARENT image, same pid, same address */
};

/*
 * Pages of an address space whose data was saved elsewhere: unchanged
 * since then. Runs follow the REC_PAGES rules and share their order: the
 * runs of REC_PAGES and REC_PAGES_KEPT of one mm ascend and never overlap.
 */
struct rec_pages_kept {
	uint32_t mm_objref; /* OBJ_MM */
	uint32_t nr_runs;
	uint32_t nr_pages; /* total over all runs */
	uint32_t source;   /* enum pages_source */
			   /* struct rec_pages_run runs[nr_runs] */
};
_Static_assert(sizeof(struct rec_pages_kept) == 16, "rec_pages_kept layout");

/* --- files -------------------------------------------------------------------- */

enum file_kind {
	FILE_REG = 1, /* regular file */
	FILE_DIR = 2,
	FILE_CHR = 3, /* a character device reopened by path (/dev/null, ...) */
	FILE_KIND_MAX = FILE_CHR,
};

/* An open file description. */
struct rec_file {
	uint32_t objref; /* defines OBJ_FILE */
	uint32_t kind;	 /* enum file_kind */
	uint32_t flags;	 /* open(2) flags: access mode and status flags */
	uint32_t mode;	 /* st_mode at checkpoint */
	uint64_t pos;
	uint64_t size;	   /* st_size at checkpoint, to notice a changed file */
	uint64_t rdev;	   /* st_rdev for FILE_CHR */
	uint64_t mtime_ns; /* st_mtime at checkpoint, to notice a changed file */
	uint32_t path_len; /* bytes of path, NUL included */
	uint32_t pad;
	/* char path[path_len]: absolute, NUL-terminated, no other NUL */
};
_Static_assert(sizeof(struct rec_file) == 56, "rec_file layout");

/* A file descriptor table, shared by the tasks that name it. */
struct rec_fdtable {
	uint32_t objref; /* defines OBJ_FDTABLE */
	uint32_t nr_fds; /* REC_FD records that follow for it */
};
_Static_assert(sizeof(struct rec_fdtable) == 8, "rec_fdtable layout");

#define FD_FLAG_CLOEXEC 0x1u

struct rec_fd {
	uint32_t fdt_objref;  /* OBJ_FDTABLE */
	uint32_t file_objref; /* OBJ_FILE */
	int32_t fd;
	uint32_t flags; /* FD_FLAG_* */
};
_Static_assert(sizeof(struct rec_fd) == 16, "rec_fd layout");

/*
 * Pipes and FIFOs (doc/trees.md): the pipe, each open file of it, and the
 * bytes buffered in it.
 */
#define CRYO_PIPE_SIZE_MIN 4096u
#define CRYO_PIPE_SIZE_MAX (1u << 31) /* the most F_SETPIPE_SZ gives, as root */

struct rec_pipe {
	uint32_t objref;   /* defines OBJ_PIPE */
	uint32_t size;	   /* F_GETPIPE_SZ: a power of two, CRYO_PIPE_SIZE_MIN..MAX */
	uint32_t path_len; /* 0 for a pipe; for a FIFO, bytes of its path, NUL included */
	uint32_t pad;
	/* char path[path_len]: the FIFO's absolute path */
};
_Static_assert(sizeof(struct rec_pipe) == 16, "rec_pipe layout");

#define PIPE_FILE_FLAGS 06003u /* access mode, O_APPEND, O_NONBLOCK */

/* An open file description of a pipe or FIFO. */
struct rec_pipe_file {
	uint32_t objref;      /* defines OBJ_FILE */
	uint32_t pipe_objref; /* OBJ_PIPE */
	uint32_t flags;	      /* access mode, O_APPEND, O_NONBLOCK */
	uint32_t pad;
};
_Static_assert(sizeof(struct rec_pipe_file) == 16, "rec_pipe_file layout");

/* The bytes buffered in a pipe (read without consuming them); data_len bytes follow. */
struct rec_pipe_data {
	uint32_t pipe_objref; /* OBJ_PIPE, before it */
	uint32_t data_len;    /* <= the pipe's size */
};
_Static_assert(sizeof(struct rec_pipe_data) == 8, "rec_pipe_data layout");

/*
 * A shared memory object of MAP_SHARED|MAP_ANONYMOUS mappings, which every
 * task that inherited the mapping shares. Each mapping of it carries the
 * pages of the part it maps (the same bytes where mappings overlap).
 */
struct rec_shmem {
	uint32_t objref; /* defines OBJ_FILE */
	uint32_t pad;
	uint64_t size; /* bytes, > 0, page aligned */
};
_Static_assert(sizeof(struct rec_shmem) == 16, "rec_shmem layout");

/* A signalfd: an open file that reads the signals of its mask. */
struct rec_signalfd {
	uint32_t objref; /* defines OBJ_FILE */
	uint32_t flags;	 /* O_RDWR, optionally O_NONBLOCK */
	uint64_t mask;	 /* bit N-1: signal N; never SIGKILL or SIGSTOP */
};
_Static_assert(sizeof(struct rec_signalfd) == 16, "rec_signalfd layout");

/* --- terminals (doc/pty.md is the design; section numbers refer to it) ------------- */

#define CRYO_PTY_INDEX_MAX (1u << 20) /* NR_UNIX98_PTY_MAX */
#define CRYO_TTY_QUEUE_MAX (1u << 20) /* queue bytes in one record */
#define CRYO_NCCS	   19	      /* control characters of struct termios2 */

#define DEVPTS_DEFAULT 0x1u /* the instance /dev/ptmx opens in, in the tasks' mount namespace */
#define DEVPTS_COVERED 0x2u /* its mount point is covered by another mount */
#define DEVPTS_SETUID  0x4u /* the uid= option is given */
#define DEVPTS_SETGID  0x8u /* the gid= option is given */
#define DEVPTS_FLAGS   0xfu

/* One devpts instance used by the tree. */
struct rec_devpts {
	uint32_t objref;	       /* defines OBJ_DEVPTS */
	uint32_t dev_major, dev_minor; /* st_dev of the instance at checkpoint */
	uint32_t flags;		       /* DEVPTS_* */
	uint32_t uid, gid;	       /* uid=, gid= options (0 unless set) */
	uint32_t mode, ptmxmode;       /* mode=, ptmxmode= options, <= 07777 */
	uint32_t max;		       /* max= option; CRYO_PTY_INDEX_MAX when absent */
	uint32_t path_len;	       /* bytes of path, NUL included */
	uint8_t boot_id[16];	       /* /proc/sys/kernel/random/boot_id at checkpoint */
	/* char path[path_len]: the mount point in the tasks' mount namespace */
};
_Static_assert(sizeof(struct rec_devpts) == 56, "rec_devpts layout");

#define TTYM_LOCKED	  0x01u /* TIOCGPTLCK */
#define TTYM_PACKET	  0x02u /* TIOCGPKT */
#define TTYM_EXCL	  0x04u /* the master's own exclusive flag */
#define TTYM_VIA_DEV_PTMX 0x08u /* opened through a ptmx node outside devpts (/dev/ptmx) */
#define TTYM_SLAVE_CLOSED 0x10u /* the slave was opened and all its files are closed */
#define TTYM_FLAGS	  0x1fu

/* Packet mode status bits (TIOCPKT_*) that a master read would return. */
#define TTY_PKT_FLUSHREAD  0x01u
#define TTY_PKT_FLUSHWRITE 0x02u
#define TTY_PKT_STOP	   0x04u
#define TTY_PKT_START	   0x08u
#define TTY_PKT_NOSTOP	   0x10u
#define TTY_PKT_DOSTOP	   0x20u
#define TTY_PKT_IOCTL	   0x40u
#define TTY_PKT_MASK	   0x7fu

/*
 * The master of a pair and its only open file: opening ptmx at restart makes
 * both, so this record defines both objrefs (the file's was reserved).
 */
struct rec_tty_master {
	uint32_t objref;	/* defines OBJ_TTY: the master tty */
	uint32_t file_objref;	/* defines OBJ_FILE: the master's file */
	uint32_t devpts_objref; /* OBJ_DEVPTS */
	uint32_t index;		/* < CRYO_PTY_INDEX_MAX */
	uint32_t file_flags;	/* O_RDWR, optionally O_APPEND, O_NONBLOCK */
	uint32_t flags;		/* TTYM_* */
	uint32_t pktstatus;	/* TTY_PKT_* pending; 0 unless TTYM_PACKET */
	uint32_t pad;
};
_Static_assert(sizeof(struct rec_tty_master) == 32, "rec_tty_master layout");

/* struct termios2 of x86_64, field by field. */
struct rec_termios2 {
	uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
	uint8_t c_line;
	uint8_t c_cc[CRYO_NCCS];
	uint32_t c_ispeed, c_ospeed;
};
_Static_assert(sizeof(struct rec_termios2) == 44, "rec_termios2 layout");

/* struct termios (TIOCGLCKTRMIOS), without the speeds. */
struct rec_termios {
	uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
	uint8_t c_line;
	uint8_t c_cc[CRYO_NCCS];
};
_Static_assert(sizeof(struct rec_termios) == 36, "rec_termios layout");

#define TTYS_EXTERNAL	 0x01u /* its master is outside the tree */
#define TTYS_MASTER_GONE 0x02u /* its master is closed everywhere */
#define TTYS_EXCL	 0x04u /* TIOCGEXCL on the slave */
#define TTYS_IO_ERROR	 0x08u /* poisoned by a failed open (doc/pty.md 2.9) */
#define TTYS_OPENED	 0x10u /* the slave has been opened */
#define TTYS_FLAGS	 0x1fu

enum tty_stop {
	TTY_RUNNING = 0,
	TTY_STOPPED_VSTOP = 1, /* ^S: ^Q undoes it */
	TTY_STOPPED_TCOOFF = 2,
};

/* The slave tty, with all the line state of the pair. */
struct rec_tty_slave {
	uint32_t objref;	/* defines OBJ_TTY: the slave tty */
	uint32_t master_objref; /* OBJ_TTY of a REC_TTY_MASTER; 0 if external or gone */
	uint32_t devpts_objref; /* OBJ_DEVPTS; 0 only for an external tty */
	uint32_t index;
	uint32_t flags;		 /* TTYS_* */
	uint32_t stopped;	 /* enum tty_stop */
	int32_t sid;		 /* the session it controls, 0 for none */
	int32_t fg_pgid;	 /* the foreground process group, 0 for none */
	uint32_t uid, gid, mode; /* the slave node */
	uint32_t ldisc;		 /* 0: N_TTY */
	uint64_t atime_ns, mtime_ns;
	struct rec_termios2 termios;
	struct rec_termios locked;
	uint16_t ws_row, ws_col, ws_xpixel, ws_ypixel;
};
_Static_assert(sizeof(struct rec_tty_slave) == 152, "rec_tty_slave layout");

#define TTYF_DEVTTY 0x1u /* opened through /dev/tty */
#define TTYF_HUNGUP 0x2u /* a dead file (hung up) */
#define TTYF_HOW    0x3u

/* An open file description of a slave tty. */
struct rec_tty_file {
	uint32_t objref;     /* defines OBJ_FILE */
	uint32_t tty_objref; /* OBJ_TTY of a REC_TTY_SLAVE */
	uint32_t flags;	     /* access mode, optionally O_APPEND, O_NONBLOCK */
	uint32_t how;	     /* TTYF_* */
};
_Static_assert(sizeof(struct rec_tty_file) == 16, "rec_tty_file layout");

enum tty_seg_end {
	TTY_SEG_PARTIAL = 0, /* not a complete line: the partial line, or non-canonical input */
	TTY_SEG_LINE = 1,    /* a line ended by its last byte (\n, VEOL, VEOL2) */
	TTY_SEG_EOF = 2,     /* a line ended by VEOF, which is not in the data */
};

struct rec_tty_seg {
	uint32_t len;
	uint32_t end; /* enum tty_seg_end */
};
_Static_assert(sizeof(struct rec_tty_seg) == 8, "rec_tty_seg layout");

/* Input queued for the slave: complete lines, then at most one partial line. */
struct rec_tty_input {
	uint32_t tty_objref; /* OBJ_TTY of a REC_TTY_SLAVE */
	uint32_t nr_segs;
	uint32_t data_len; /* <= CRYO_TTY_QUEUE_MAX */
	uint32_t pad;
	/* struct rec_tty_seg segs[nr_segs]; uint8_t data[data_len]; */
};
_Static_assert(sizeof(struct rec_tty_input) == 16, "rec_tty_input layout");

/*
 * Output queued for the master, after OPOST, without packet headers: the
 * data_len bytes follow the struct.
 */
struct rec_tty_output {
	uint32_t tty_objref; /* OBJ_TTY of a REC_TTY_MASTER */
	uint32_t data_len;   /* <= CRYO_TTY_QUEUE_MAX */
};
_Static_assert(sizeof(struct rec_tty_output) == 8, "rec_tty_output layout");

/* The controlling terminal of one task. */
struct rec_tty_ctty {
	uint32_t task_objref; /* a live task */
	uint32_t tty_objref;  /* a slave tty whose sid is the task's session */
};
_Static_assert(sizeof(struct rec_tty_ctty) == 8, "rec_tty_ctty layout");

/* --- architecture (x86_64) -------------------------------------------------------- */

#define CRYO_X86_64_NR_REGS 27

/* struct user_regs_struct, in its order: r15 ... gs. */
struct rec_task_regs {
	uint32_t task_objref; /* OBJ_TASK */
	uint32_t nr_regs;     /* CRYO_X86_64_NR_REGS */
	uint64_t regs[CRYO_X86_64_NR_REGS];
};
_Static_assert(sizeof(struct rec_task_regs) == 8 + 8 * 27, "rec_task_regs layout");

/* The XSAVE area (FPU, SSE, AVX, ...) as PTRACE_GETREGSET NT_X86_XSTATE gives it. */
struct rec_task_xstate {
	uint32_t task_objref; /* OBJ_TASK */
	uint32_t size;	      /* bytes that follow: the header's xstate_size */
			      /* uint8_t xsave[size]; */
};
_Static_assert(sizeof(struct rec_task_xstate) == 8, "rec_task_xstate layout");

#define CRYO_XSTATE_MAX (64u << 10)

#endif
