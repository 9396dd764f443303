/*
 * files.c: the admin tool's own file handling: reading the caller's PAT or
 * client secret, writing a received secret 0600 by temporary file and
 * link/rename, and parsing --expires dates.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zitadelctl.h"

#define SECRET_FILE_MAX (16 * 1024)
#define PUBLIC_FILE_MAX (64 * 1024)

void secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

/* Open without following links and check what was opened. */
static int read_checked(const char *path, int secret, size_t max, char **out,
			size_t *len, char *msg, size_t size)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	size_t got = 0;
	int fd, rc = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, size, "cannot open %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, size, "%s is not a regular file", path);
		goto out;
	}
	if (secret && ((st.st_mode & 077) != 0 ||
		       (st.st_uid != geteuid() && st.st_uid != 0))) {
		snprintf(msg, size,
			 "%s has mode %04o owned by uid %u: a secret must be "
			 "0600 and yours",
			 path, (unsigned)(st.st_mode & 07777),
			 (unsigned)st.st_uid);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		snprintf(msg, size, "%s is larger than %zu bytes", path, max);
		goto out;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		snprintf(msg, size, "out of memory");
		goto out;
	}
	while (got < max && (n = read(fd, buf + got, max - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(msg, size, "reading %s: %s", path,
				 strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, max + 1);
		free(buf);
	}
	close(fd);
	return rc;
}

int secret_file_read(const char *path, char **out, char *msg, size_t size)
{
	size_t len = 0;
	char *s;

	if (read_checked(path, 1, SECRET_FILE_MAX, &s, &len, msg, size) != 0)
		return -1;
	if (len > 0 && s[len - 1] == '\n')
		s[--len] = '\0';
	if (len > 0 && s[len - 1] == '\r')
		s[--len] = '\0';
	if (len == 0 || strlen(s) != len || strpbrk(s, "\r\n") != NULL) {
		snprintf(msg, size, "%s must hold one line with the secret",
			 path);
		secret_free(s);
		*out = NULL;
		return -1;
	}
	*out = s;
	return 0;
}

int public_file_read(const char *path, char **out, char *msg, size_t size)
{
	size_t len;

	return read_checked(path, 0, PUBLIC_FILE_MAX, out, &len, msg, size);
}

/* ---- writing a received secret ---------------------------------------- */

int secret_out_open(secret_out *so, const char *path, int force, char *msg,
		    size_t size)
{
	unsigned char rnd[6];
	struct stat st;
	int tries;

	memset(so, 0, sizeof(*so));
	so->fd = -1;
	so->force = force;
	if (!force && lstat(path, &st) == 0) {
		snprintf(msg, size,
			 "%s exists; refusing to overwrite it (use --force)",
			 path);
		return EXIT_EXISTS;
	}
	so->path = strdup(path);
	if (so->path == NULL)
		goto nomem;
	for (tries = 0; tries < 8 && so->fd < 0; tries++) {
		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			goto io;
		free(so->tmp);
		if (asprintf(&so->tmp, "%s.tmp-%02x%02x%02x%02x%02x%02x", path,
			     rnd[0], rnd[1], rnd[2], rnd[3], rnd[4],
			     rnd[5]) < 0) {
			so->tmp = NULL;
			goto nomem;
		}
		so->fd = open(
		    so->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (so->fd < 0 && errno != EEXIST)
			goto io;
	}
	if (so->fd < 0 || fchmod(so->fd, 0600) != 0)
		goto io;
	return 0;
io:
	snprintf(msg, size, "cannot create a file next to %s: %s", path,
		 strerror(errno));
	secret_out_abort(so);
	return EXIT_LOCAL;
nomem:
	snprintf(msg, size, "out of memory");
	secret_out_abort(so);
	return EXIT_LOCAL;
}

int secret_out_commit(secret_out *so, const char *data, size_t len, char *msg,
		      size_t size)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(so->fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto io;
		done += (size_t)n;
	}
	if (fsync(so->fd) != 0 || close(so->fd) != 0) {
		so->fd = -1;
		goto io;
	}
	so->fd = -1;
	/* link() refuses to replace a file that appeared meanwhile */
	if (so->force ? rename(so->tmp, so->path) != 0
		      : link(so->tmp, so->path) != 0) {
		snprintf(msg, size, "cannot create %s: %s", so->path,
			 strerror(errno));
		secret_out_abort(so);
		return -1;
	}
	if (!so->force)
		(void)unlink(so->tmp);
	free(so->tmp);
	so->tmp = NULL;
	secret_out_abort(so);
	return 0;
io:
	snprintf(msg, size, "writing %s: %s", so->tmp, strerror(errno));
	secret_out_abort(so);
	return -1;
}

void secret_out_abort(secret_out *so)
{
	if (so->fd >= 0)
		close(so->fd);
	so->fd = -1;
	if (so->tmp != NULL)
		(void)unlink(so->tmp);
	free(so->tmp);
	free(so->path);
	so->tmp = NULL;
	so->path = NULL;
}

/* ---- dates ------------------------------------------------------------ */

static int digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int date_parse(const char *s, time_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int y, mo, d, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
	struct tm tm;
	const char *p;

	if (strlen(s) < 10 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d))
		return -1;
	p = s + 10;
	if (*p != '\0') {
		if ((*p != 'T' && *p != 't' && *p != ' ') ||
		    digits(p + 1, 2, &h) || p[3] != ':' ||
		    digits(p + 4, 2, &mi) || p[6] != ':' ||
		    digits(p + 7, 2, &sec))
			return -1;
		p += 9;
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++)
				;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p == '-' ? -1 : 1;
			if (digits(p + 1, 2, &oh) || p[3] != ':' ||
			    digits(p + 4, 2, &om))
				return -1;
			p += 6;
		} else {
			return -1;
		}
		if (*p != '\0')
			return -1;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400)))
		return -1;
	*out = timegm(&tm) - sign * (oh * 3600 + om * 60);
	return 0;
}
