/* SPDX-License-Identifier: MIT */
/*
 * Builds images in memory for the reader's tests and the fuzz corpus, with
 * the real writer: ib_begin(), records, ib_end() gives the bytes. A valid
 * little tree (ib_valid_image) exercises every record type.
 */
#ifndef CRYO_TESTS_IMAGE_BUILDER_H
#define CRYO_TESTS_IMAGE_BUILDER_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/format.h"
#include "image/writer.h"
#include "lib/util.h"

struct ib {
	struct image_writer w;
	int fd;
	unsigned char *buf; /* after ib_end */
	size_t len;
};

static inline void ib_begin_hdr(struct ib *b, const struct rec_header *hdr)
{
	b->fd = memfd_create("ib", MFD_CLOEXEC);
	b->buf = NULL;
	image_writer_open_fd(&b->w, b->fd);
	image_write_header(&b->w, hdr);
}

/* The header every test image starts with: this machine's, with fixed values. */
static inline void ib_header(struct rec_header *hdr)
{
	image_header_init(hdr);
	hdr->page_size = 4096;
	hdr->root_pid = 100;
	hdr->xstate_size = 64;
}

static inline void ib_begin(struct ib *b)
{
	struct rec_header hdr;

	ib_header(&hdr);
	ib_begin_hdr(b, &hdr);
}

static inline void ib_rec(struct ib *b, uint32_t type, const void *p, size_t len)
{
	image_write_rec(&b->w, type, p, len, NULL, 0);
}

/* Returns 0 or the writer's error; b->buf/len hold the image. */
static inline int ib_end_raw(struct ib *b, int with_trailer)
{
	struct stat st;
	int ret = image_writer_finish(&b->w); /* without trailer: cut it off below */

	image_writer_close(&b->w);
	fstat(b->fd, &st);
	b->len = (size_t)st.st_size;
	if (!with_trailer)
		b->len -= sizeof(struct rec_hdr) + sizeof(struct rec_trailer);
	b->buf = malloc(b->len ? b->len : 1);
	pread(b->fd, b->buf, b->len, 0);
	close(b->fd);
	return ret;
}

static inline int ib_end(struct ib *b)
{
	return ib_end_raw(b, 1);
}

static inline void ib_free(struct ib *b)
{
	free(b->buf);
	b->buf = NULL;
}

static inline void ib_file(struct ib *b, uint32_t objref, const char *path)
{
	struct rec_file f = { .objref = objref, .kind = FILE_REG, .flags = 02, .mode = 0100644 };

	f.path_len = (uint32_t)strlen(path) + 1;
	image_write_rec(&b->w, REC_FILE, &f, sizeof(f), path, f.path_len);
}

/* The state records a live task needs, for task objref TASK. */
static inline void ib_task_state(struct ib *b, uint32_t task)
{
	static unsigned char xsave[64], infos[3][CRYO_SIGINFO_SIZE];
	struct rec_task_core core = { .task_objref = task,
				      .umask = 022,
				      .dumpable = 1,
				      .blocked = 1ull << 9,
				      .altstack_flags = 2,
				      .comm = "root" };
	struct rec_sigactions acts = { .task_objref = task };
	struct rec_creds creds = { .task_objref = task,
				   .uid = { 1, 2, 3, 4 },
				   .gid = { 5, 6, 7, 8 },
				   .nr_groups = 2,
				   .cap_bnd = ~0ull >> 23 };
	uint32_t groups[2] = { 10, 20 };
	struct rec_rlimits lim = { .task_objref = task, .nr = CRYO_RLIM_NLIMITS };
	struct rec_fs fs = { .task_objref = task, .cwd_len = 5, .root_len = 2 };
	struct rec_task_regs regs = { .task_objref = task, .nr_regs = CRYO_X86_64_NR_REGS };
	struct rec_task_xstate xs = { .task_objref = task, .size = sizeof(xsave) };
	struct rec_sigpending priv = { .task_objref = task, .nr = 1 };
	struct rec_sigpending shared = { .task_objref = task, .shared = 1, .nr = 2 };

	acts.action[1].handler = 0x401000;
	acts.action[1].flags = 0x04000000;
	for (int i = 0; i < CRYO_RLIM_NLIMITS; i++)
		lim.lim[i].cur = lim.lim[i].max = CRYO_RLIM_INFINITY - (uint64_t)i;
	for (int i = 0; i < 3; i++)
		infos[i][0] = (unsigned char)(10 + i); /* si_signo */
	regs.regs[16] = 0x401234;		       /* rip */
	ib_rec(b, REC_TASK_CORE, &core, sizeof(core));
	ib_rec(b, REC_SIGACTIONS, &acts, sizeof(acts));
	image_write_rec(&b->w, REC_CREDS, &creds, sizeof(creds), groups, sizeof(groups));
	ib_rec(b, REC_RLIMITS, &lim, sizeof(lim));
	image_write_rec(&b->w, REC_FS, &fs, sizeof(fs), "/tmp\0/", 7);
	ib_rec(b, REC_TASK_REGS, &regs, sizeof(regs));
	image_write_rec(&b->w, REC_TASK_XSTATE, &xs, sizeof(xs), xsave, sizeof(xsave));
	image_write_rec(&b->w, REC_SIGPENDING, &priv, sizeof(priv), infos[0], sizeof(infos[0]));
	image_write_rec(&b->w, REC_SIGPENDING, &shared, sizeof(shared), infos[1],
			2 * sizeof(infos[0]));
}

/*
 * A valid image holding every record type: two tasks (one zombie), a file,
 * an fd table with two fds, an mm with four vmas and two pages records.
 * Objrefs: 1 root task, 2 zombie, 3 file, 4 fdtable, 5 mm.
 */
static inline int ib_valid_image(struct ib *b)
{
	static unsigned char pages[3 * 4096];
	struct rec_task root = { .objref = 1,
				 .pid = 100,
				 .tgid = 100,
				 .pgid = 100,
				 .sid = 100,
				 .state = TASK_ALIVE,
				 .comm = "root" };
	struct rec_task zombie = { .objref = 2,
				   .pid = 101,
				   .tgid = 101,
				   .ppid = 100,
				   .pgid = 100,
				   .sid = 100,
				   .state = TASK_ZOMBIE,
				   .exit_status = 3 << 8,
				   .comm = "zombie" };
	struct rec_fdtable fdt = { .objref = 4, .nr_fds = 2 };
	struct rec_fd fd0 = { .fdt_objref = 4, .file_objref = 3, .fd = 0 };
	struct rec_fd fd7 = {
		.fdt_objref = 4, .file_objref = 3, .fd = 7, .flags = FD_FLAG_CLOEXEC
	};
	struct rec_mm mm = { .objref = 5,
			     .exe_file_objref = 3,
			     .start_code = 0x400000,
			     .end_code = 0x401000,
			     .start_data = 0x600000,
			     .end_data = 0x601000,
			     .start_brk = 0x700000,
			     .brk = 0x702000,
			     .start_stack = 0x7ffe0000,
			     .arg_start = 0x7ffe1000,
			     .arg_end = 0x7ffe1010,
			     .env_start = 0x7ffe1010,
			     .env_end = 0x7ffe1020 };
	struct rec_vma vmas[] = {
		{ .mm_objref = 5,
		  .file_objref = 3,
		  .start = 0x400000,
		  .end = 0x401000,
		  .kind = VMA_FILE,
		  .prot = 5 },
		{ .mm_objref = 5, .start = 0x700000, .end = 0x702000, .kind = VMA_HEAP, .prot = 3 },
		{ .mm_objref = 5,
		  .start = 0x7ffdf000,
		  .end = 0x7ffe2000,
		  .kind = VMA_STACK,
		  .prot = 3,
		  .flags = VMA_FLAG_GROWSDOWN },
		{ .mm_objref = 5,
		  .start = 0x7fff0000,
		  .end = 0x7fff8000,
		  .kind = VMA_VDSO,
		  .prot = 5 },
	};
	struct rec_task_objs objs = { .task_objref = 1, .mm_objref = 5, .fdt_objref = 4 };
	uint64_t auxv[4] = { 6 /* AT_PAGESZ */, 4096, 0, 0 };
	struct rec_pages_run run1[] = { { 0x700000, 2 } };
	struct rec_pages_run run2[] = { { 0x7ffdf000, 1 } };
	struct rec_pages pg1 = { .mm_objref = 5, .nr_runs = 1, .nr_pages = 2 };
	struct rec_pages pg2 = { .mm_objref = 5, .nr_runs = 1, .nr_pages = 1 };

	for (size_t i = 0; i < sizeof(pages); i++)
		pages[i] = (unsigned char)(i * 7 + 1);
	ib_begin(b);
	ib_rec(b, REC_TASK, &root, sizeof(root));
	ib_rec(b, REC_TASK, &zombie, sizeof(zombie));
	ib_file(b, 3, "/usr/bin/true");
	ib_rec(b, REC_FDTABLE, &fdt, sizeof(fdt));
	ib_rec(b, REC_FD, &fd0, sizeof(fd0));
	ib_rec(b, REC_FD, &fd7, sizeof(fd7));
	mm.auxv_words = 4;
	image_write_rec(&b->w, REC_MM, &mm, sizeof(mm), auxv, sizeof(auxv));
	for (size_t i = 0; i < ARRAY_SIZE(vmas); i++)
		ib_rec(b, REC_VMA, &vmas[i], sizeof(vmas[i]));
	image_write_pages(&b->w, &pg1, run1, pages);
	image_write_pages(&b->w, &pg2, run2, pages + 2 * 4096);
	ib_rec(b, REC_TASK_OBJS, &objs, sizeof(objs));
	ib_task_state(b, 1);
	return ib_end(b);
}

/*
 * Terminal records for ib_tty_image(): a devpts instance, a pty pair whose
 * master file and one slave file sit in the root's fd table, queued data
 * both ways, the root's controlling terminal. Tests change them in EDIT.
 */
struct ib_tty {
	struct rec_devpts devpts;
	struct rec_tty_master master;
	struct rec_tty_slave slave;
	struct rec_tty_file file;
	struct rec_tty_input input;
	struct rec_tty_seg segs[2];
	char input_data[6];
	struct rec_tty_output output;
	char output_data[5];
	struct rec_tty_ctty ctty;
	int write_ctty, slave_first;
	int bad_nccs;	   /* the header says NCCS 18 */
	int second_pair;   /* another pair at the same index of the same instance */
	int second_opened; /* ... whose slave says it was opened, with no file */
	int member_ctty;   /* a second task of the session holds the tty, the leader not */
};

/*
 * Objrefs: 1 root task (pid 100, session 100), 2 devpts, 3 master tty,
 * 4 master file, 5 slave tty, 6 slave file, 7 fdtable, 8 mm.
 */
static inline int ib_tty_image(struct ib *b, void (*edit)(struct ib_tty *t))
{
	struct rec_task root = { .objref = 1,
				 .pid = 100,
				 .tgid = 100,
				 .pgid = 100,
				 .sid = 100,
				 .state = TASK_ALIVE,
				 .comm = "term" };
	struct rec_fdtable fdt = { .objref = 7, .nr_fds = 2 };
	struct rec_fd fd0 = { .fdt_objref = 7, .file_objref = 6, .fd = 0 };
	struct rec_fd fd3 = { .fdt_objref = 7, .file_objref = 4, .fd = 3 };
	struct rec_mm mm = { .objref = 8 };
	struct rec_task_objs objs = { .task_objref = 1, .mm_objref = 8, .fdt_objref = 7 };
	struct ib_tty t = {
		.devpts = { .objref = 2,
			    .dev_major = 0,
			    .dev_minor = 25,
			    .flags = DEVPTS_DEFAULT,
			    .mode = 0620,
			    .ptmxmode = 0666,
			    .max = CRYO_PTY_INDEX_MAX,
			    .path_len = 9 },
		.master = { .objref = 3,
			    .file_objref = 4,
			    .devpts_objref = 2,
			    .index = 7,
			    .file_flags = O_RDWR,
			    .flags = TTYM_PACKET,
			    .pktstatus = TTY_PKT_START },
		.slave = { .objref = 5,
			   .master_objref = 3,
			   .devpts_objref = 2,
			   .index = 7,
			   .flags = TTYS_OPENED | TTYS_EXCL,
			   .sid = 100,
			   .fg_pgid = 100,
			   .uid = 0,
			   .gid = 5,
			   .mode = 0620,
			   .termios = { .c_iflag = 0x500,
					.c_oflag = 0x5,
					.c_cflag = 0xbf,
					.c_lflag = 0x8a3b,
					.c_cc = { 3, 28, 127, 21, 4 },
					.c_ispeed = 38400,
					.c_ospeed = 38400 },
			   .locked = { .c_lflag = 0x2 },
			   .ws_row = 24,
			   .ws_col = 80,
			   .ws_xpixel = 640,
			   .ws_ypixel = 480 },
		.file = { .objref = 6, .tty_objref = 5, .flags = O_RDWR },
		.input = { .tty_objref = 5, .nr_segs = 2, .data_len = 6 },
		.segs = { { 3, TTY_SEG_LINE }, { 3, TTY_SEG_PARTIAL } },
		.input_data = { 'a', 'b', '\n', 'c', 0, 'd' },
		.output = { .tty_objref = 3, .data_len = 5 },
		.output_data = { 'o', 'u', 't', '\r', '\n' },
		.ctty = { .task_objref = 1, .tty_objref = 5 },
		.write_ctty = 1,
	};
	unsigned char in[sizeof(t.segs) + sizeof(t.input_data)];

	if (edit)
		edit(&t);
	memcpy(in, t.segs, sizeof(t.segs));
	memcpy(in + sizeof(t.segs), t.input_data, sizeof(t.input_data));
	if (t.bad_nccs) {
		struct rec_header hdr;

		ib_header(&hdr);
		hdr.nccs = 18;
		ib_begin_hdr(b, &hdr);
	} else {
		ib_begin(b);
	}
	ib_rec(b, REC_TASK, &root, sizeof(root));
	if (t.member_ctty) {
		struct rec_task member = root;

		member.objref = 9;
		member.pid = 101;
		member.tgid = 101;
		member.ppid = 100;
		ib_rec(b, REC_TASK, &member, sizeof(member));
	}
	image_write_rec(&b->w, REC_DEVPTS, &t.devpts, sizeof(t.devpts), "/dev/pts", 9);
	if (t.slave_first)
		ib_rec(b, REC_TTY_SLAVE, &t.slave, sizeof(t.slave));
	ib_rec(b, REC_TTY_MASTER, &t.master, sizeof(t.master));
	if (!t.slave_first)
		ib_rec(b, REC_TTY_SLAVE, &t.slave, sizeof(t.slave));
	if (t.second_pair) {
		struct rec_tty_master m2 = t.master;
		struct rec_tty_slave s2 = t.slave;

		m2.objref = 10;
		m2.file_objref = 11;
		s2.objref = 12;
		s2.master_objref = 10;
		s2.flags &= ~TTYS_OPENED;
		if (t.second_opened) {
			s2.flags |= TTYS_OPENED;
			m2.index = s2.index = 8;
		}
		s2.sid = s2.fg_pgid = 0;
		ib_rec(b, REC_TTY_MASTER, &m2, sizeof(m2));
		ib_rec(b, REC_TTY_SLAVE, &s2, sizeof(s2));
	}
	ib_rec(b, REC_TTY_FILE, &t.file, sizeof(t.file));
	image_write_rec(&b->w, REC_TTY_INPUT, &t.input, sizeof(t.input), in, sizeof(in));
	image_write_rec(&b->w, REC_TTY_OUTPUT, &t.output, sizeof(t.output), t.output_data,
			sizeof(t.output_data));
	ib_rec(b, REC_FDTABLE, &fdt, sizeof(fdt));
	ib_rec(b, REC_FD, &fd0, sizeof(fd0));
	ib_rec(b, REC_FD, &fd3, sizeof(fd3));
	ib_rec(b, REC_MM, &mm, sizeof(mm));
	ib_rec(b, REC_TASK_OBJS, &objs, sizeof(objs));
	ib_task_state(b, 1);
	if (t.member_ctty) {
		struct rec_task_objs mobjs = { .task_objref = 9, .mm_objref = 8, .fdt_objref = 7 };
		struct rec_tty_ctty c = { .task_objref = 9, .tty_objref = 5 };

		ib_rec(b, REC_TASK_OBJS, &mobjs, sizeof(mobjs));
		ib_task_state(b, 9);
		ib_rec(b, REC_TTY_CTTY, &c, sizeof(c));
	}
	if (t.write_ctty)
		ib_rec(b, REC_TTY_CTTY, &t.ctty, sizeof(t.ctty));
	return ib_end(b);
}

/*
 * The only task of an image whose root exited (objref 1, pid 100, its own
 * session): records that need no per-task state can follow it.
 */
static inline void ib_zombie_root(struct ib *b, int32_t exit_status)
{
	struct rec_task zombie = { .objref = 1,
				   .pid = 100,
				   .tgid = 100,
				   .pgid = 100,
				   .sid = 100,
				   .state = TASK_ZOMBIE,
				   .exit_status = exit_status,
				   .comm = "gone" };

	ib_rec(b, REC_TASK, &zombie, sizeof(zombie));
}

/* Pipe records around a zombie root (no per-task state needed); EDIT breaks one rule. */
struct ib_pipe {
	struct rec_pipe pipe;
	char path[16];
	struct rec_pipe_file rd, wr;
	struct rec_pipe_data data;
	char bytes[8];
	int second_data;
};

static inline void ib_pipe_image(struct ib *b, void (*edit)(struct ib_pipe *p))
{
	struct ib_pipe p = {
		.pipe = { .objref = 2, .size = 65536 },
		.rd = { .objref = 3, .pipe_objref = 2, .flags = O_RDONLY | O_NONBLOCK },
		.wr = { .objref = 4, .pipe_objref = 2, .flags = O_WRONLY },
		.data = { .pipe_objref = 2, .data_len = 8 },
		.bytes = "abcdefg",
	};

	if (edit)
		edit(&p);
	ib_begin(b);
	ib_zombie_root(b, 0);
	image_write_rec(&b->w, REC_PIPE, &p.pipe, sizeof(p.pipe), p.path, p.pipe.path_len);
	ib_rec(b, REC_PIPE_FILE, &p.rd, sizeof(p.rd));
	ib_rec(b, REC_PIPE_FILE, &p.wr, sizeof(p.wr));
	image_write_rec(&b->w, REC_PIPE_DATA, &p.data, sizeof(p.data), p.bytes, sizeof(p.bytes));
	if (p.second_data)
		image_write_rec(&b->w, REC_PIPE_DATA, &p.data, sizeof(p.data), p.bytes,
				sizeof(p.bytes));
	ib_end(b);
}

#endif
