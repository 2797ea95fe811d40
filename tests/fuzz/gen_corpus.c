// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpus: real images from the test image builder, valid
 * and broken in the ways the reader must reject, so the fuzzer starts past
 * the magic and the framing. Run by `make corpus`; its output is committed.
 */
#include <stdio.h>

#include "unit/image_builder.h"

static void save(const char *dir, const char *name, const unsigned char *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	struct ib b;
	char name[64];

	ib_valid_image(&b);
	save(dir, "valid-tree", b.buf, b.len);
	for (size_t cut = 16; cut < b.len; cut = cut * 2 + 40) {
		snprintf(name, sizeof(name), "truncated-%zu", cut);
		save(dir, name, b.buf, cut);
	}
	b.buf[200] ^= 1;
	save(dir, "flipped-200", b.buf, b.len);
	ib_free(&b);

	ib_begin(&b);
	ib_end(&b);
	save(dir, "empty-image", b.buf, b.len);
	ib_free(&b);

	ib_begin(&b);
	ib_file(&b, 1, "/etc/hostname");
	ib_end(&b);
	save(dir, "one-file", b.buf, b.len);
	ib_free(&b);
	ib_tty_image(&b, NULL);
	save(dir, "tty-pair", b.buf, b.len);
	ib_free(&b);
	ib_pipe_image(&b, NULL);
	save(dir, "pipe", b.buf, b.len);
	ib_free(&b);
	save(dir, "not-an-image", (const unsigned char *)"hello, world\n", 13);
	return 0;
}
