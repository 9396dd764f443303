/*
 * util.c: small helpers every part of the library leans on: allocation
 * (with a hook that makes the N-th call fail, for tests), wiping secrets,
 * reading files only after checking what was opened, and time stamps.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* Fault injection for tests; single-threaded use only. */
static long alloc_count;
static long alloc_fail_at;

long zt_alloc_fail_at(long n)
{
	long made = alloc_count;

	alloc_count = 0;
	alloc_fail_at = n;
	return made;
}

static int alloc_should_fail(void)
{
	alloc_count++;
	return alloc_fail_at > 0 && alloc_count == alloc_fail_at;
}

void *zt_malloc(size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(n == 0 ? 1 : n);
}

void *zt_calloc(size_t count, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return calloc(count == 0 ? 1 : count, size == 0 ? 1 : size);
}

void *zt_realloc(void *p, size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(p, n == 0 ? 1 : n);
}

char *zt_strndup(const char *s, size_t n)
{
	char *copy;

	if (s == NULL)
		return NULL;
	copy = zt_malloc(n + 1);
	if (copy == NULL)
		return NULL;
	memcpy(copy, s, n);
	copy[n] = '\0';
	return copy;
}

char *zt_strdup(const char *s)
{
	if (s == NULL)
		return NULL;
	return zt_strndup(s, strlen(s));
}

char *zt_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;

	out = zt_malloc((size_t)n + 1);
	if (out == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(out, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return out;
}

void zt_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void zt_free_secret(char *s)
{
	if (s == NULL)
		return;
	zt_wipe(s, strlen(s));
	free(s);
}

int zt_secret_equal(const char *a, const char *b)
{
	size_t la, lb, i;
	unsigned char diff;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	/* Walk the longer string in full so timing tells nothing. */
	diff = (unsigned char)(la != lb);
	for (i = 0; i < (la > lb ? la : lb); i++) {
		unsigned char ca = i < la ? (unsigned char)a[i] : 0;
		unsigned char cb = i < lb ? (unsigned char)b[i] : 0;

		diff |= (unsigned char)(ca ^ cb);
	}
	return diff == 0;
}

void zt_clip(const char *in, size_t in_len, char *out, size_t out_size)
{
	size_t keep, i;

	if (out == NULL || out_size == 0)
		return;
	if (in == NULL) {
		out[0] = '\0';
		return;
	}

	keep = in_len;
	if (keep > ZT_LOG_CLIP)
		keep = ZT_LOG_CLIP;
	if (keep > out_size - 1)
		keep = out_size - 1;
	for (i = 0; i < keep; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	out[i] = '\0';

	if (keep < in_len && out_size > 4) {
		size_t at = keep > out_size - 4 ? out_size - 4 : keep;

		memcpy(out + at, "...", 4);
	}
}

/* Refuse what must not be read: not a file, another user's, too open. */
static zitadel_status check_opened(int fd, const char *name, size_t max,
				   int secret, struct stat *st,
				   zitadel_error *err)
{
	if (fstat(fd, st) != 0)
		return zt_error(err, ZITADEL_ERR_IO, "cannot stat %s: %s", name,
				strerror(errno));
	if (!S_ISREG(st->st_mode))
		return zt_error(err,
				secret ? ZITADEL_ERR_KEYFILE_PERMISSIONS
				       : ZITADEL_ERR_IO,
				"%s is not a regular file", name);
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return zt_error(
		    err,
		    secret ? ZITADEL_ERR_KEYFILE_PERMISSIONS : ZITADEL_ERR_IO,
		    geteuid() == 0 ? "%s is owned by uid %lu; it must be owned "
				     "by root"
				   : "%s is owned by uid %lu; it must be owned "
				     "by root or by you",
		    name, (unsigned long)st->st_uid);
	if (secret && (st->st_mode & 077) != 0)
		return zt_error(err, ZITADEL_ERR_KEYFILE_PERMISSIONS,
				"%s holds a secret but has mode %04o; it must "
				"not be accessible by group or others "
				"(chmod 600 %s)",
				name, (unsigned)(st->st_mode & 07777), name);
	if ((unsigned long long)st->st_size > max)
		return zt_error(err, ZITADEL_ERR_TOO_LARGE,
				"%s is %llu bytes, more than the %zu allowed",
				name, (unsigned long long)st->st_size, max);
	return ZITADEL_OK;
}

zitadel_status zt_read_fd_checked(int fd, const char *name, size_t max,
				  int secret, char **out, size_t *len,
				  zitadel_error *err)
{
	zitadel_status rc;
	struct stat st;
	char *buf = NULL;
	size_t used = 0;
	ssize_t n;

	*out = NULL;
	if (len != NULL)
		*len = 0;

	rc = check_opened(fd, name, max, secret, &st, err);
	if (rc != ZITADEL_OK)
		goto out;

	rc = ZITADEL_ERR_NOMEM;
	buf = zt_malloc(max + 1);
	if (buf == NULL) {
		zt_error(err, rc, "out of memory reading %s", name);
		goto out;
	}

	/* Read one byte past the cap to notice a file that grew. */
	for (;;) {
		n = read(fd, buf + used, max + 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = zt_error(err, ZITADEL_ERR_IO, "cannot read %s: %s",
				      name, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
		if (used > max) {
			rc = zt_error(err, ZITADEL_ERR_TOO_LARGE,
				      "%s is larger than the %zu bytes allowed",
				      name, max);
			goto out;
		}
	}
	buf[used] = '\0';

	*out = buf;
	buf = NULL;
	if (len != NULL)
		*len = used;
	rc = ZITADEL_OK;
out:
	if (buf != NULL) {
		zt_wipe(buf, used);
		free(buf);
	}
	return rc;
}

zitadel_status zt_fd_require_regular(int fd, const char *what, const char *name,
				     zitadel_status refusal, zitadel_error *err)
{
	struct stat st;
	int flags;

	if (fstat(fd, &st) != 0)
		return zt_error(err, ZITADEL_ERR_IO, "cannot stat %s%s%s: %s",
				what != NULL ? what : "",
				what != NULL ? " " : "", name, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return zt_error(err, refusal, "%s%s%s is not a regular file",
				what != NULL ? what : "",
				what != NULL ? " " : "", name);
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
		return zt_error(err, ZITADEL_ERR_IO, "cannot use %s%s%s: %s",
				what != NULL ? what : "",
				what != NULL ? " " : "", name, strerror(errno));
	return ZITADEL_OK;
}

zitadel_status zt_read_file_checked(const char *path, size_t max, int secret,
				    char **out, size_t *len, zitadel_error *err)
{
	zitadel_status rc;
	int fd;

	*out = NULL;
	if (len != NULL)
		*len = 0;
	if (path == NULL || *path == '\0')
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"no file name given");

	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer, past any timeout the caller set. */
	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return zt_error(err,
					secret ? ZITADEL_ERR_KEYFILE_PERMISSIONS
					       : ZITADEL_ERR_IO,
					"%s is a symbolic link, which is not "
					"followed for files holding secrets",
					path);
		return zt_error(err, ZITADEL_ERR_IO, "cannot open %s: %s", path,
				strerror(errno));
	}
	rc = zt_fd_require_regular(
	    fd, NULL, path,
	    secret ? ZITADEL_ERR_KEYFILE_PERMISSIONS : ZITADEL_ERR_IO, err);
	if (rc == ZITADEL_OK)
		rc = zt_read_fd_checked(fd, path, max, secret, out, len, err);
	close(fd);
	return rc;
}

zitadel_status zt_read_secret_file(const char *path, char **out,
				   zitadel_error *err)
{
	zitadel_status rc;
	size_t len = 0;
	char *buf = NULL;

	*out = NULL;
	rc = zt_read_file_checked(path, ZT_TOKEN_MAX, 1, &buf, &len, err);
	if (rc != ZITADEL_OK)
		return rc;

	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (len == 0 || strlen(buf) != len || strchr(buf, '\n') != NULL) {
		zt_wipe(buf, len);
		free(buf);
		return zt_error(err, ZITADEL_ERR_IO,
				"%s must hold the secret on one line", path);
	}
	*out = buf;
	return ZITADEL_OK;
}

/* Issuer URLs are short; this bounds what reaches messages and the cache. */
#define ISSUER_MAX 2048

const char *zt_issuer_problem(const char *issuer, int *may_echo)
{
	const char *host, *p;
	size_t host_len;

	*may_echo = 1;
	/* Before anything that echoes the URL: user:password@ would put a
	 * password into a message. An '@' has no place in an issuer. */
	if (strchr(issuer, '@') != NULL) {
		*may_echo = 0;
		return "must not contain a user name or password";
	}
	if (strncmp(issuer, "https://", strlen("https://")) != 0)
		return "must be an https:// URL";
	if (strlen(issuer) > ISSUER_MAX)
		return "must be at most 2048 characters";
	for (p = issuer; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' ||
		    *p == '#')
			return "must not contain spaces, control characters, a "
			       "query or a fragment";

	/* Zitadel computes its issuer as scheme://host[:port] (reference
	 * §4.1), and the assertion's aud must equal it byte for byte. */
	host = issuer + strlen("https://");
	host_len = strcspn(host, "/");
	if (host_len == 0)
		return "must be an https:// URL with a host";
	if (host[host_len] == '\0')
		return NULL;
	if (host[host_len + 1] == '\0')
		return "must not end with '/' (Zitadel's issuer has none; "
		       "remove the trailing slash)";
	return "must not have a path (Zitadel's issuer is "
	       "https://host[:port] only)";
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect(const char **p, char a, char b)
{
	if (**p != a && **p != b)
		return -1;
	(*p)++;
	return 0;
}

int zt_time_parse(const char *s, time_t *out)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int year, mon, day, hour, min, sec, oh = 0, om = 0, sign = 0;
	const char *p = s;
	struct tm tm;
	time_t t;

	if (s == NULL)
		return -1;
	if (digits(&p, 4, &year) || expect(&p, '-', '-') ||
	    digits(&p, 2, &mon) || expect(&p, '-', '-') ||
	    digits(&p, 2, &day) || expect(&p, 'T', 't') ||
	    digits(&p, 2, &hour) || expect(&p, ':', ':') ||
	    digits(&p, 2, &min) || expect(&p, ':', ':') || digits(&p, 2, &sec))
		return -1;
	if (year < 1 || mon < 1 || mon > 12 || day < 1 ||
	    day > mdays[mon - 1] || hour > 23 || min > 59 || sec > 60)
		return -1;

	if (*p == '.') {
		int n = 0;

		for (p++; *p >= '0' && *p <= '9'; p++)
			n++;
		if (n < 1 || n > 9)
			return -1;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (digits(&p, 2, &oh) || expect(&p, ':', ':') ||
		    digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec > 59 ? 59 : sec;
	t = timegm(&tm);
	if (t == (time_t)-1 && !(year == 1969 && mon == 12 && day == 31))
		return -1;
	/* timegm normalises 30 February into March; reject instead. */
	if (tm.tm_mday != day || tm.tm_mon != mon - 1)
		return -1;
	*out = t - sign * (time_t)(oh * 3600 + om * 60);
	return 0;
}

void zt_time_format(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (buf == NULL || size == 0)
		return;
	/* strftime's %Y does not pad years before 1000 to four digits, which
	 * RFC 3339 requires; years outside 1..9999 have no RFC 3339 form. */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year < 1 - 1900 ||
	    tm.tm_year > 9999 - 1900 ||
	    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec) >= (int)size)
		buf[0] = '\0';
}

unsigned long long zt_fnv1a(unsigned long long h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
