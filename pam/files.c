/*
 * files.c: the small files the module reads itself (the map file, the
 * admin PAT and the client secret) and the map file's lookups.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "pam_zitadel.h"

void pz_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

static int read_all(int fd, char *buf, size_t max, size_t *len)
{
	size_t got = 0;
	ssize_t n;

	/* One byte more than allowed tells an over-long file apart. */
	while (got <= max) {
		n = read(fd, buf + got, max + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

int pz_read_file(pam_handle_t *pamh, const char *path, size_t max, int secret,
		 char **out, size_t *len)
{
	mode_t forbidden = secret ? (S_IRWXG | S_IRWXO) : (S_IWGRP | S_IWOTH);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, rc = PAM_AUTHINFO_UNAVAIL;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		pz_log(pamh, LOG_ERR, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & forbidden) != 0) {
		pz_log(pamh, LOG_ERR,
		       "%s: not a regular file owned by root with mode %s "
		       "(mode %04o, uid %ld)",
		       path, secret ? "0600" : "0644 or stricter",
		       (unsigned)(st.st_mode & 07777), (long)st.st_uid);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		pz_log(pamh, LOG_ERR, "%s: larger than %zu bytes", path, max);
		goto out;
	}
	if ((buf = malloc(max + 2)) == NULL) {
		rc = PAM_BUF_ERR;
		goto out;
	}
	if (read_all(fd, buf, max, &n) == -1 || n > max) {
		pz_log(pamh, LOG_ERR, "%s: read failed or file too large",
		       path);
		goto out;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		pz_log(pamh, LOG_ERR, "%s: contains a NUL byte", path);
		goto out;
	}

	*out = buf;
	*len = n;
	buf = NULL;
	rc = PAM_SUCCESS;
out:
	if (buf != NULL) {
		explicit_bzero(buf, max + 2);
		free(buf);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

/* Split one map line into its two fields; 1 for a mapping, 0 for a blank
 * or comment line, -1 for a malformed one. Modifies line. */
static int map_line(char *line, char **id, char **user)
{
	char *p = line, *extra;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	*id = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p == '\0')
		return -1;
	*p++ = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	*user = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	extra = p;
	while (*extra == ' ' || *extra == '\t')
		extra++;
	if (**user == '\0' || (*extra != '\0' && *extra != '#'))
		return -1;
	*p = '\0';
	return 1;
}

/*
 * Walk the map file. With want_id set, *match says whether (want_id,
 * user) is listed; otherwise *first_id gets the first id for user.
 */
static int map_walk(pam_handle_t *pamh, const char *path, const char *want_id,
		    const char *user, int *match, int *user_listed,
		    char **first_id)
{
	char *text = NULL, *line, *next, *id, *local;
	size_t len, lineno = 0;
	int kind, rc;

	*match = 0;
	*user_listed = 0;
	if ((rc = pz_read_file(pamh, path, PZ_MAP_FILE_MAX, 0, &text, &len)) !=
	    PAM_SUCCESS)
		goto out;
	rc = PAM_SERVICE_ERR;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (strlen(line) > PZ_MAP_LINE_MAX) {
			pz_log(pamh, LOG_ERR, "%s:%zu: line too long", path,
			       lineno);
			goto out;
		}
		line[strcspn(line, "\r")] = '\0';
		kind = map_line(line, &id, &local);
		if (kind < 0) {
			pz_log(
			    pamh, LOG_ERR,
			    "%s:%zu: expected \"ZITADEL_USER_ID LOCAL_USER\"",
			    path, lineno);
			goto out;
		}
		if (kind == 0 || strcmp(local, user) != 0)
			continue;
		*user_listed = 1;
		if (want_id != NULL && strcmp(id, want_id) == 0)
			*match = 1;
		if (first_id != NULL && *first_id == NULL &&
		    (*first_id = strdup(id)) == NULL) {
			rc = PAM_BUF_ERR;
			goto out;
		}
	}
	rc = PAM_SUCCESS;
out:
	free(text);
	return rc;
}

int pz_map_check(pam_handle_t *pamh, const char *path, const char *id,
		 const char *user, int *found, int *user_listed)
{
	return map_walk(pamh, path, id, user, found, user_listed, NULL);
}

int pz_map_id_for_user(pam_handle_t *pamh, const char *path, const char *user,
		       char **id_out)
{
	int match, listed, rc;

	*id_out = NULL;
	rc = map_walk(pamh, path, NULL, user, &match, &listed, id_out);
	if (rc != PAM_SUCCESS) {
		free(*id_out);
		*id_out = NULL;
	}
	return rc;
}
