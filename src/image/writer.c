// SPDX-License-Identifier: MIT
#include "image/writer.h"

#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "lib/crc32c.h"
#include "lib/util.h"

#define WRITER_BUF_SIZE	 (256u << 10)
#define WRITEBACK_WINDOW (32ull << 20)

static const unsigned char zeros[CRYO_REC_ALIGN];

static int writer_init(struct image_writer *w, int fd)
{
	struct stat st;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->regular = fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode);
	w->buf = malloc(WRITER_BUF_SIZE);
	if (!w->buf)
		return -ENOMEM;
	return 0;
}

int image_writer_open_fd(struct image_writer *w, int fd)
{
	return writer_init(w, fd);
}

int image_writer_open_path(struct image_writer *w, const char *path)
{
	char *dir_copy, *base_copy, *dir;
	int fd, ret;

	ret = writer_init(w, -1);
	if (ret)
		return ret;
	dir_copy = strdup(path);
	base_copy = strdup(path);
	w->final_path = strdup(path);
	dir = dir_copy ? dirname(dir_copy) : NULL; /* once: dirname() may cut its argument */
	if (!dir || !base_copy || !w->final_path ||
	    asprintf(&w->tmp_path, "%s/.%s.XXXXXX", dir, basename(base_copy)) < 0) {
		w->tmp_path = NULL;
		ret = -ENOMEM;
		goto out_free;
	}
	/*
	 * Unnamed until complete (O_TMPFILE): a cryo killed halfway leaves
	 * nothing behind. Where the filesystem cannot, a named temporary file.
	 */
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	w->unnamed = fd >= 0;
	if (fd < 0)
		fd = mkostemp(w->tmp_path, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		ret = -errno;
		free(w->tmp_path);
		w->tmp_path = NULL;
		goto out_free;
	}
	w->fd = fd;
	w->owns_fd = 1;
	w->regular = 1;
out_free:
	free(dir_copy);
	free(base_copy);
	if (ret)
		image_writer_close(w);
	return ret;
}

/*
 * Links the unnamed file under a fresh temporary name (tmp_path, its
 * XXXXXX filled in), for rename() to put over the final name atomically.
 */
static int give_name(struct image_writer *w)
{
	char proc[64];
	size_t len = strlen(w->tmp_path);

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", w->fd);
	for (int tries = 0; tries < 100; tries++) {
		uint64_t r = (uint64_t)random() << 31 ^ (uint64_t)random();

		for (size_t i = len - 6; i < len; i++, r /= 36)
			w->tmp_path[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r % 36];
		if (!linkat(w->fd, "", AT_FDCWD, w->tmp_path, AT_EMPTY_PATH) ||
		    (errno != EEXIST &&
		     !linkat(AT_FDCWD, proc, AT_FDCWD, w->tmp_path, AT_SYMLINK_FOLLOW))) {
			w->unnamed = 0; /* named now: close removes it unless renamed */
			return 0;
		}
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

static int writer_fail(struct image_writer *w, int err)
{
	if (!w->error)
		w->error = err;
	return w->error;
}

static int writer_flush(struct image_writer *w)
{
	int ret;

	if (w->error)
		return w->error;
	ret = write_full(w->fd, w->buf, w->buf_used);
	w->buf_used = 0;
	return ret ? writer_fail(w, ret) : 0;
}

/* Appends metadata bytes: they count in the trailer's CRC. */
static int writer_put(struct image_writer *w, const void *data, size_t len)
{
	const unsigned char *p = data;

	w->crc = crc32c(w->crc, data, len);
	w->offset += len;
	while (len) {
		size_t n = WRITER_BUF_SIZE - w->buf_used;

		if (n > len)
			n = len;
		memcpy(w->buf + w->buf_used, p, n);
		w->buf_used += n;
		p += n;
		len -= n;
		if (w->buf_used == WRITER_BUF_SIZE && writer_flush(w))
			return w->error;
	}
	return w->error;
}

static int writer_put_zeros(struct image_writer *w, size_t len)
{
	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		if (writer_put(w, zeros, n))
			return w->error;
		len -= n;
	}
	return w->error;
}

void image_header_init(struct rec_header *hdr)
{
	struct utsname uts;
	long page_size = sysconf(_SC_PAGESIZE);

	memset(hdr, 0, sizeof(*hdr));
	memcpy(hdr->magic, CRYO_IMAGE_MAGIC, sizeof(CRYO_IMAGE_MAGIC));
	hdr->major = CRYO_IMAGE_MAJOR;
	hdr->minor = CRYO_IMAGE_MINOR;
	hdr->arch = IMAGE_ARCH_X86_64;
	hdr->page_size = page_size > 0 ? (uint32_t)page_size : 4096;
	hdr->nccs = NCCS;
	hdr->termios2_size = sizeof(struct termios2);
	hdr->nsig = 64; /* the kernel's _NSIG: glibc's own _NSIG counts signal 0 */
	if (uname(&uts) == 0)
		snprintf(hdr->kernel_release, sizeof(hdr->kernel_release), "%s", uts.release);
}

int image_write_header(struct image_writer *w, const struct rec_header *hdr)
{
	if (w->nr_records)
		return writer_fail(w, -EINVAL);
	w->page_size = hdr->page_size;
	return image_write_rec(w, REC_HEADER, hdr, sizeof(*hdr), NULL, 0);
}

int image_write_rec(struct image_writer *w, uint32_t type, const void *fixed, size_t fixed_len,
		    const void *var, size_t var_len)
{
	struct rec_hdr rh = { .type = type, .len = (uint32_t)(fixed_len + var_len) };

	if (w->error)
		return w->error;
	if (fixed_len + var_len > UINT32_MAX || (!w->nr_records && type != REC_HEADER))
		return writer_fail(w, -EINVAL);
	writer_put(w, &rh, sizeof(rh));
	writer_put(w, fixed, fixed_len);
	if (var_len)
		writer_put(w, var, var_len);
	writer_put_zeros(w, ALIGN_UP(rh.len, CRYO_REC_ALIGN) - rh.len);
	w->nr_records++;
	return w->error;
}

/*
 * Keeps the image's dirty page cache small. Left alone, gigabytes of dirty
 * pages pile up until the kernel throttles the writer, and the final fsync
 * waits for all of them; each new page cache page is also slow to get in
 * these VMs. So every WRITEBACK_WINDOW bytes the window just written is
 * sent to the disk, and the page data of the one before it, waited for, is
 * dropped from the cache: the writer reuses the same few dozen MiB of
 * memory, and the disk works while cryo copies. Measured in
 * doc/performance.md: 4 GiB written in a fraction of the time of plain
 * writes. The records' headers stay cached (a page per MiB of data): a
 * restart soon after reads them all before anything else, and a cold read
 * of each would cost more than the whole lazy restart. Advice only: errors
 * are left to fsync.
 */
static void writeback(struct image_writer *w, uint64_t data_off, uint64_t data_len)
{
	uint64_t len = w->offset - w->wb_start;
	size_t *nr = &w->wb_nr[1];

	if (!w->regular)
		return;
	if (*nr < ARRAY_SIZE(w->wb_data[1]))
		w->wb_data[1][*nr] = (struct writer_range){ data_off, data_len };
	(*nr)++;
	if (len < WRITEBACK_WINDOW)
		return;
	sync_file_range(w->fd, (off_t)w->wb_start, (off_t)len, SYNC_FILE_RANGE_WRITE);
	if (w->wb_prev_len) {
		sync_file_range(w->fd, (off_t)w->wb_prev, (off_t)w->wb_prev_len,
				SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				    SYNC_FILE_RANGE_WAIT_AFTER);
		if (w->wb_nr[0] > ARRAY_SIZE(w->wb_data[0]))
			posix_fadvise(w->fd, (off_t)w->wb_prev, (off_t)w->wb_prev_len,
				      POSIX_FADV_DONTNEED);
		for (size_t i = 0; i < w->wb_nr[0] && i < ARRAY_SIZE(w->wb_data[0]); i++)
			posix_fadvise(w->fd, (off_t)w->wb_data[0][i].off,
				      (off_t)w->wb_data[0][i].len, POSIX_FADV_DONTNEED);
	}
	w->wb_prev = w->wb_start;
	w->wb_prev_len = len;
	w->wb_start = w->offset;
	memcpy(w->wb_data[0], w->wb_data[1], sizeof(w->wb_data[0]));
	w->wb_nr[0] = w->wb_nr[1];
	w->wb_nr[1] = 0;
}

int image_write_pages(struct image_writer *w, const struct rec_pages *pages,
		      const struct rec_pages_run *runs, const void *data)
{
	return image_write_page_data(w, REC_PAGES, pages, runs, data);
}

int image_write_page_data(struct image_writer *w, uint32_t type, const struct rec_pages *pages,
			  const struct rec_pages_run *runs, const void *data)
{
	struct rec_pages ph = *pages;
	size_t runs_len = (size_t)ph.nr_runs * sizeof(*runs);
	size_t data_len = (size_t)ph.nr_pages * w->page_size;
	uint64_t data_start, meta_end;
	struct rec_hdr rh = { .type = type };
	int ret;

	if (w->error)
		return w->error;
	if (!w->page_size || !ph.nr_runs || data_len > CRYO_PAGES_MAX_BYTES)
		return writer_fail(w, -EINVAL);
	meta_end = w->offset + sizeof(rh) + sizeof(ph) + runs_len;
	data_start = ALIGN_UP(meta_end, w->page_size);
	ph.data_offset = (uint32_t)(data_start - (w->offset + sizeof(rh)));
	ph.crc32c = crc32c(0, data, data_len);
	rh.len = (uint32_t)(ph.data_offset + data_len);

	writer_put(w, &rh, sizeof(rh));
	writer_put(w, &ph, sizeof(ph));
	writer_put(w, runs, runs_len);
	writer_put_zeros(w, data_start - meta_end);
	/* Page data bypasses the buffer and the trailer CRC: it has its own. */
	if (writer_flush(w))
		return w->error;
	ret = write_full(w->fd, data, data_len);
	if (ret)
		return writer_fail(w, ret);
	w->offset += data_len;
	/* data_len is a multiple of the page size, so no record padding is due. */
	w->nr_records++;
	writeback(w, data_start, data_len);
	return 0;
}

static int fsync_parent_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, ret = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return ret;
}

int image_writer_finish(struct image_writer *w)
{
	struct rec_trailer tr = { 0 };
	struct rec_hdr rh = { .type = REC_TRAILER, .len = sizeof(tr) };
	int ret = 0;

	if (w->error)
		return w->error;
	if (!w->nr_records)
		return writer_fail(w, -EINVAL);
	tr.nr_records = w->nr_records;
	/* The trailer's own header is covered too, so a retyped trailer fails. */
	tr.crc32c = crc32c(w->crc, &rh, sizeof(rh));
	w->trailer_crc = tr.crc32c;
	writer_put(w, &rh, sizeof(rh));
	/* Not through writer_put's CRC: the trailer cannot checksum itself. */
	w->offset += sizeof(tr);
	if (w->buf_used + sizeof(tr) > WRITER_BUF_SIZE && writer_flush(w))
		return w->error;
	memcpy(w->buf + w->buf_used, &tr, sizeof(tr));
	w->buf_used += sizeof(tr);
	if (writer_flush(w))
		return w->error;
	if (!w->final_path)
		return 0;
	if (fsync(w->fd) < 0 || (w->unnamed && (ret = give_name(w))) ||
	    rename(w->tmp_path, w->final_path) < 0)
		return writer_fail(w, ret ? ret : -errno);
	free(w->tmp_path);
	w->tmp_path = NULL; /* renamed: close must not unlink it */
	ret = fsync_parent_dir(w->final_path);
	return ret ? writer_fail(w, ret) : 0;
}

void image_writer_close(struct image_writer *w)
{
	if (w->tmp_path && !w->unnamed)
		unlink(w->tmp_path);
	if (w->owns_fd && w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->owns_fd = 0;
	free(w->tmp_path);
	free(w->final_path);
	free(w->buf);
	w->tmp_path = NULL;
	w->final_path = NULL;
	w->buf = NULL;
}
