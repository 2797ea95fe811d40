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

#define CRYO_IMAGE_MAGIC         "CRYOIMG" /* 7 chars + NUL = 8 bytes */
#define CRYO_IMAGE_MAJOR         0
#define CRYO_IMAGE_MINOR         1
#define CRYO_REC_ALIGN           8
#define CRYO_PAGES_MAX_BYTES     (1u << 20) /* page data per REC_PAGES record */
#define CRYO_PATH_MAX            4096       /* longest path a record may hold, NUL included */
#define CRYO_KERNEL_RELEASE_SIZE 65         /* sizeof(struct utsname.release) */
#define CRYO_USER_ADDR_END       (1ull << 56) /* above any x86_64 user address (5-level) */
#define CRYO_PID_MAX             (1 << 22)    /* PID_MAX_LIMIT */
#define CRYO_FD_MAX              (1 << 20)    /* NR_OPEN */

struct rec_hdr {
	uint32_t type;
	uint32_t len; /* payload bytes, without this header and without padding */
};
_Static_assert(sizeof(struct rec_hdr) == 8, "rec_hdr is 8 bytes");

enum rec_type {
	/* control: 0x0001 - 0x00ff */
	REC_HEADER = 0x0001,
	REC_TRAILER = 0x0002,
	/* tasks: 0x0100 - 0x01ff */
	REC_TASK = 0x0100,
	REC_TASK_OBJS = 0x0101,
	/* memory: 0x0200 - 0x02ff */
	REC_MM = 0x0200,
	REC_VMA = 0x0201,
	REC_PAGES = 0x0202,
	/* files: 0x0300 - 0x03ff */
	REC_FILE = 0x0300,
	REC_FDTABLE = 0x0301,
	REC_FD = 0x0302,
	/* terminals: 0x0400 - 0x04ff (issue: pseudo terminals) */
	/* architecture: 0x0f00 - 0x0fff */
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
	uint32_t arch;      /* enum image_arch */
	uint32_t page_size; /* page data is aligned to this inside the file */
	uint32_t flags;     /* none defined yet: must be 0 */
	uint64_t time_ns;   /* CLOCK_REALTIME when the checkpoint was taken */
	uint32_t root_pid;  /* the pid the checkpoint was asked for */
	uint32_t nccs;      /* control characters in struct termios2 */
	uint32_t termios2_size;
	uint32_t nsig;        /* signals: _NSIG */
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
	int32_t pid;     /* the task's pid (its tid for a thread) */
	int32_t tgid;
	int32_t ppid; /* 0 for the root */
	int32_t pgid;
	int32_t sid;
	uint32_t state;      /* enum task_state */
	int32_t exit_status; /* wait status of a zombie, else 0 */
	char comm[16];       /* NUL-terminated */
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

/* --- memory ------------------------------------------------------------------- */

/* An address space: the fields of prctl(PR_SET_MM_MAP). */
struct rec_mm {
	uint32_t objref; /* defines OBJ_MM */
	uint32_t exe_file_objref; /* OBJ_FILE, or 0 */
	uint64_t start_code, end_code;
	uint64_t start_data, end_data;
	uint64_t start_brk, brk;
	uint64_t start_stack;
	uint64_t arg_start, arg_end;
	uint64_t env_start, env_end;
};
_Static_assert(sizeof(struct rec_mm) == 96, "rec_mm layout");

enum vma_kind {
	VMA_ANON = 1,   /* anonymous, private or shared */
	VMA_FILE = 2,   /* mapping of file_objref */
	VMA_HEAP = 3,   /* [heap] */
	VMA_STACK = 4,  /* [stack] */
	VMA_VDSO = 5,   /* [vvar], [vvar_vclock], [vdso]: moved, never saved */
	VMA_KIND_MAX = VMA_VDSO,
};

#define VMA_PROT_MASK  0x7u /* PROT_READ | PROT_WRITE | PROT_EXEC */
#define VMA_FLAG_SHARED 0x1u /* MAP_SHARED, else private */
#define VMA_FLAG_GROWSDOWN 0x2u
#define VMA_FLAGS_MASK 0x3u

struct rec_vma {
	uint32_t mm_objref;   /* OBJ_MM */
	uint32_t file_objref; /* OBJ_FILE for VMA_FILE, else 0 */
	uint64_t start, end;  /* page aligned, start < end */
	uint64_t pgoff;       /* offset in the file, bytes, page aligned */
	uint32_t kind;        /* enum vma_kind */
	uint32_t prot;        /* VMA_PROT_MASK bits */
	uint32_t flags;       /* VMA_FLAG_* */
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
	uint32_t mm_objref; /* OBJ_MM */
	uint32_t nr_runs;
	uint32_t nr_pages; /* total over all runs */
	uint32_t crc32c;   /* of the page data */
	uint32_t data_offset;
	uint32_t pad;
	/* struct rec_pages_run runs[nr_runs]; zero padding; page data */
};
_Static_assert(sizeof(struct rec_pages) == 24, "rec_pages layout");

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
	uint32_t kind;   /* enum file_kind */
	uint32_t flags;  /* open(2) flags: access mode and status flags */
	uint32_t mode;   /* st_mode at checkpoint */
	uint64_t pos;
	uint64_t size;   /* st_size at checkpoint, to notice a changed file */
	uint64_t rdev;   /* st_rdev for FILE_CHR */
	uint32_t path_len; /* bytes of path, NUL included */
	uint32_t pad;
	/* char path[path_len]: absolute, NUL-terminated, no other NUL */
};
_Static_assert(sizeof(struct rec_file) == 48, "rec_file layout");

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

#endif
