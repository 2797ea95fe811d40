// SPDX-License-Identifier: MIT
#include "lib/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* Process-wide by nature: there is one stderr and one log file. */
static int log_level_max = LOG_WARN;
static FILE *log_file;

void log_set_verbosity(int verbosity)
{
	log_level_max = LOG_WARN + verbosity;
}

int log_verbosity(void)
{
	return log_level_max - LOG_WARN;
}

int log_open_file(const char *path)
{
	FILE *f = fopen(path, "ae");

	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	log_close();
	log_file = f;
	return 0;
}

void log_close(void)
{
	if (log_file)
		fclose(log_file);
	log_file = NULL;
}

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if ((int)level > log_level_max)
		return;
	if (log_file) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(log_file, "[%5ld.%06ld] %s: ", (long)ts.tv_sec, ts.tv_nsec / 1000,
			level_names[level]);
		va_start(ap, fmt);
		vfprintf(log_file, fmt, ap);
		va_end(ap);
		fputc('\n', log_file);
		if (level > LOG_WARN)
			return;
	}
	fputs(level == LOG_ERROR  ? "cryo: "
	      : level == LOG_WARN ? "cryo: warning: "
				  : "cryo: ",
	      stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
