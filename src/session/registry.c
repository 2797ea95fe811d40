// SPDX-License-Identifier: MIT
/*
 * The state directory of sessions: one directory per session, named after
 * it, holding the holder's socket ("sock") and what is known of the
 * session ("info": key=value lines, written whole and renamed in place).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "session/session.h"

int session_state_dir(char *buf, size_t len)
{
	const char *env = getenv("CRYO_STATE_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, len, "%s", env);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/cryo", xdg);
	else
		n = snprintf(buf, len, "/run/cryo");
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
		int err = errno;

		log_error("%s: cannot make the state directory of sessions: %s", buf,
			  strerror(err));
		return -err;
	}
	return 0;
}

int session_path(const char *name, const char *file, char *buf, size_t len)
{
	char dir[4096];
	int ret = session_state_dir(dir, sizeof(dir)), n;

	if (ret)
		return ret;
	n = snprintf(buf, len, "%s/%s%s%s", dir, name, file ? "/" : "", file ? file : "");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int session_socket(const char *name, struct sockaddr_un *addr)
{
	int fd, ret;

	*addr = (struct sockaddr_un){ .sun_family = AF_UNIX };
	ret = session_path(name, "sock", addr->sun_path, sizeof(addr->sun_path));
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

bool session_is_name(const char *s)
{
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p))
			return true;
	return !*s;
}

static bool valid_name(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= SESSION_NAME_MAX || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

bool session_alive(const struct session_info *info)
{
	return info->holder > 0 && kill(info->holder, 0) == 0;
}

void session_remove(const char *name)
{
	char path[4200];

	if (!session_path(name, "sock", path, sizeof(path)))
		unlink(path);
	if (!session_path(name, "info", path, sizeof(path)))
		unlink(path);
	if (!session_path(name, NULL, path, sizeof(path)))
		rmdir(path);
}

/* Makes the directory of NAME; a dead session's is cleared first. */
static int make_dir(const char *name)
{
	struct session_info old;
	char path[4200];
	int ret = session_path(name, NULL, path, sizeof(path));

	if (ret)
		return ret;
	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (session_read_info(name, &old) == 0 && session_alive(&old))
		return -EEXIST;
	session_remove(name);
	return mkdir(path, 0700) < 0 ? -errno : 0;
}

int session_create(const char *name, char ret_name[SESSION_NAME_MAX])
{
	int ret;

	if (name) {
		if (!valid_name(name) || !session_is_name(name)) {
			log_error("'%s' is not a session name: letters, digits, '.', '_' and '-', "
				  "not all digits, up to %d",
				  name, SESSION_NAME_MAX - 1);
			return -EINVAL;
		}
		ret = make_dir(name);
		if (ret == -EEXIST)
			log_error("session %s exists; pick another name (--name)", name);
		else if (ret)
			log_error("session %s: cannot make its directory: %s", name,
				  strerror(-ret));
		if (!ret)
			snprintf(ret_name, SESSION_NAME_MAX, "%s", name);
		return ret;
	}
	for (int i = 1; i < 100000; i++) {
		char n[SESSION_NAME_MAX];

		/* numbered names are given by cryo: a letter keeps them apart from pids */
		snprintf(n, sizeof(n), "s%d", i);
		ret = make_dir(n);
		if (ret == -EEXIST)
			continue;
		if (ret) {
			log_error("session %s: cannot make its directory: %s", n, strerror(-ret));
			return ret;
		}
		snprintf(ret_name, SESSION_NAME_MAX, "%s", n);
		return 0;
	}
	return -ENOSPC;
}

int session_write_info(const struct session_info *info)
{
	char path[4200], tmp[4300], text[SESSION_CMD_MAX + 256];
	int len, fd, ret = session_path(info->name, "info", path, sizeof(path));

	if (ret)
		return ret;
	len = snprintf(text, sizeof(text), "holder=%d\ninit=%d\nroot=%d\ncmd=%s\n", info->holder,
		       info->init, info->root, info->cmd);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	ret = write_full(fd, text, (size_t)len);
	close(fd);
	if (!ret && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

int session_read_info(const char *name, struct session_info *info)
{
	char path[4200], line[SESSION_CMD_MAX + 16];
	FILE *f;
	int ret = session_path(name, "info", path, sizeof(path));

	if (ret)
		return ret;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", name);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "holder=", 7))
			info->holder = atoi(line + 7);
		else if (!strncmp(line, "init=", 5))
			info->init = atoi(line + 5);
		else if (!strncmp(line, "root=", 5))
			info->root = atoi(line + 5);
		else if (!strncmp(line, "cmd=", 4))
			snprintf(info->cmd, sizeof(info->cmd), "%.*s", (int)sizeof(info->cmd) - 1,
				 line + 4);
	}
	fclose(f);
	return info->holder > 0 ? 0 : -ENOENT;
}

int session_list(struct session_info **ret, size_t *ret_nr)
{
	char dir[4096];
	struct session_info *list = NULL;
	size_t nr = 0;
	struct dirent *e;
	DIR *d;
	int r = session_state_dir(dir, sizeof(dir));

	if (r)
		return r;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		struct session_info info, *n;

		if (e->d_name[0] == '.' || session_read_info(e->d_name, &info))
			continue;
		n = realloc(list, (nr + 1) * sizeof(*n));
		if (!n) {
			closedir(d);
			free(list);
			return -ENOMEM;
		}
		list = n;
		list[nr++] = info;
	}
	closedir(d);
	*ret = list;
	*ret_nr = nr;
	return 0;
}

int session_read_frames(int fd, struct frame_reader *r,
			int (*take)(void *arg, uint8_t type, const unsigned char *data,
				    uint32_t len),
			void *arg)
{
	ssize_t n = read(fd, r->buf + r->len, sizeof(r->buf) - r->len);
	size_t at = 0;
	int ret = 0;

	if (n <= 0)
		return 1;
	r->len += (size_t)n;
	while (!ret && r->len - at >= 5) {
		const unsigned char *f = r->buf + at;
		uint32_t len =
		    f[1] | (uint32_t)f[2] << 8 | (uint32_t)f[3] << 16 | (uint32_t)f[4] << 24;

		if (len > SESSION_FRAME_MAX)
			return 1;
		if (r->len - at - 5 < len)
			break;
		ret = take(arg, f[0], f + 5, len) ? 1 : 0;
		at += 5 + len;
	}
	memmove(r->buf, r->buf + at, r->len - at);
	r->len -= at;
	return ret;
}

int session_send_frame(int fd, uint8_t type, const void *data, uint32_t len)
{
	unsigned char head[5] = { type, (unsigned char)len, (unsigned char)(len >> 8),
				  (unsigned char)(len >> 16), (unsigned char)(len >> 24) };

	return write_full(fd, head, sizeof(head)) ?: write_full(fd, data, len);
}
