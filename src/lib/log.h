/* SPDX-License-Identifier: MIT */
/*
 * Logging for the cryo command. Library layers (image/, objhash/, lib/) never
 * log: they return -errno and fill an error struct; the caller that knows the
 * context (pid, fd, objref) logs once.
 *
 * Errors always reach stderr as one line, "cryo: <what>: <why>". With
 * --log-file every message at or below the verbosity also goes to the file.
 */
#ifndef CRYO_LIB_LOG_H
#define CRYO_LIB_LOG_H

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,  /* -v */
	LOG_DEBUG = 3, /* -vv */
};

void log_set_verbosity(int verbosity);
int log_verbosity(void);
/* Returns 0 or -errno; messages then go to FILE as well as stderr. */
int log_open_file(const char *path);
void log_close(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
