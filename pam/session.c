/*
 * session.c: a short-lived PAT per session for accounts mapped to a Zitadel
 * machine user. open mints it with the host's admin credential and writes
 * it to token_dir/<uid>/token; close revokes it and removes the file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "pam_zitadel.h"

#define TOKEN_NAME   "token"
#define SIDECAR_NAME "token.id"

/* The PAT this handle minted, for close_session in the same process. */
struct session {
	char *user_id;
	char *token_id;
};

static void session_free(struct session *s)
{
	if (s == NULL)
		return;
	pz_free_secret(s->user_id);
	pz_free_secret(s->token_id);
	free(s);
}

static void session_cleanup(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	session_free(data);
}

/* The admin context: issuer, budget, org and the host's credential. *key
 * must outlive the context. */
static int admin_ctx_new(pam_handle_t *pamh, const struct pz_opts *opts,
			 zitadel_ctx **out, zitadel_keyfile **key)
{
	const zitadel_pam_config *pam = opts->pam;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_status st = ZITADEL_OK;
	zitadel_ctx *ctx = NULL;
	char *pat = NULL;
	size_t len;
	int rc;

	*out = NULL;
	*key = NULL;
	if ((rc = pz_ctx_new(pamh, opts, &ctx)) != PAM_SUCCESS)
		goto out;
	rc = PAM_SERVICE_ERR;
	if (pam->org != NULL &&
	    (st = zitadel_ctx_set_org(ctx, pam->org, &err)) != ZITADEL_OK)
		goto out;
	if (pam->admin_key_file != NULL) {
		if ((st = zitadel_keyfile_load(pam->admin_key_file, key,
					       &err)) != ZITADEL_OK ||
		    (st = zitadel_ctx_set_key(ctx, *key, &err)) != ZITADEL_OK)
			goto out;
	} else if (pam->admin_pat_file != NULL) {
		if ((rc = pz_read_file(pamh, pam->admin_pat_file,
				       PZ_SECRET_FILE_MAX, 1, &pat, &len)) !=
		    PAM_SUCCESS)
			goto out;
		rc = PAM_SERVICE_ERR;
		if (len > 0 && pat[len - 1] == '\n')
			pat[--len] = '\0';
		if ((st = zitadel_ctx_set_pat(ctx, pat, &err)) != ZITADEL_OK)
			goto out;
	} else {
		pz_log(pamh, LOG_ERR,
		       "session credential needs admin_key_file or "
		       "admin_pat_file");
		goto out;
	}

	*out = ctx;
	ctx = NULL;
	rc = PAM_SUCCESS;
out:
	if (st != ZITADEL_OK) {
		pz_log(pamh, LOG_ERR, "admin credential: %s",
		       err.message[0] != '\0' ? err.message
					      : zitadel_strerror(st));
		rc = pz_pam_code(st);
	}
	zitadel_ctx_free(ctx);
	pz_free_secret(pat);
	if (rc != PAM_SUCCESS) {
		zitadel_keyfile_free(*key);
		*key = NULL;
	}
	return rc;
}

/* token_dir: created 0755 when missing, else it must be ours and not
 * writable by anyone else, since every user's directory hangs off it. */
static int token_dir_open(pam_handle_t *pamh, const char *dir, int create)
{
	struct stat st;
	int fd;

	if (create && mkdir(dir, 0755) == -1 && errno != EEXIST) {
		pz_log(pamh, LOG_ERR, "token_dir %s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT || create)
			pz_log(pamh, LOG_ERR, "token_dir %s: %s", dir,
			       strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		pz_log(pamh, LOG_ERR,
		       "token_dir %s must be owned by uid %ld and writable "
		       "only by it (mode %04o, uid %ld)",
		       dir, (long)geteuid(), (unsigned)(st.st_mode & 07777),
		       (long)st.st_uid);
		close(fd);
		return -1;
	}
	return fd;
}

/* token_dir/<uid>: 0700, owned by the user; never through a symlink. */
static int user_dir_open(pam_handle_t *pamh, int dirfd, uid_t uid, gid_t gid,
			 int create)
{
	struct stat st;
	char name[32];
	int fd;

	memset(&st, 0, sizeof(st));
	snprintf(name, sizeof(name), "%lu", (unsigned long)uid);
	if (create && mkdirat(dirfd, name, 0700) == -1 && errno != EEXIST) {
		pz_log(pamh, LOG_ERR, "token_dir/%s: %s", name,
		       strerror(errno));
		return -1;
	}
	fd = openat(dirfd, name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT || create)
			pz_log(pamh, LOG_ERR, "token_dir/%s: %s", name,
			       strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISDIR(st.st_mode))
		goto bad;
	/* A directory we just made (owned by us) is handed to the user; one
	 * owned by anybody else is refused. */
	if (st.st_uid != uid &&
	    (!create || st.st_uid != geteuid() || fchown(fd, uid, gid) == -1))
		goto bad;
	if (create && fchmod(fd, 0700) == -1)
		goto bad;
	return fd;
bad:
	pz_log(pamh, LOG_ERR,
	       "token_dir/%s is not a directory owned by uid %lu (mode %04o, "
	       "uid %ld)",
	       name, (unsigned long)uid, (unsigned)(st.st_mode & 07777),
	       (long)st.st_uid);
	close(fd);
	return -1;
}

/* Write name in dirfd with mode 0600 for owner uid/gid: a fresh temporary
 * file (O_EXCL, no symlink) renamed into place. */
static int file_write(pam_handle_t *pamh, int dirfd, const char *name,
		      const char *content, uid_t uid, gid_t gid)
{
	unsigned char rnd[8];
	char tmp[64];
	size_t len = strlen(content), done = 0;
	ssize_t n;
	int fd = -1, ret = -1;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	snprintf(tmp, sizeof(tmp), ".%s.%02x%02x%02x%02x%02x%02x%02x%02x", name,
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		 rnd[7]);
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		goto out;
	if (fchown(fd, uid, gid) == -1)
		goto out;
	while (done < len) {
		n = write(fd, content + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		done += (size_t)n;
	}
	if (fsync(fd) == -1 || renameat(dirfd, tmp, dirfd, name) == -1)
		goto out;
	ret = 0;
out:
	if (ret != 0) {
		pz_log(pamh, LOG_ERR, "writing %s: %s", name, strerror(errno));
		if (fd != -1)
			unlinkat(dirfd, tmp, 0);
	}
	if (fd != -1)
		close(fd);
	return ret;
}

/* The sidecar names the PAT for a close_session in another process. Only a
 * file we wrote counts: the user owns the directory and could put any file
 * there, but not one owned by root. */
static int sidecar_read(int udfd, char **user_id, char **token_id)
{
	char buf[PZ_SIDECAR_MAX + 1], *sp, *nl;
	struct stat st;
	ssize_t n;
	int fd, ret = -1;

	*user_id = NULL;
	*token_id = NULL;
	fd = openat(udfd, SIDECAR_NAME,
		    O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		goto out;
	n = read(fd, buf, PZ_SIDECAR_MAX);
	if (n <= 0)
		goto out;
	buf[n] = '\0';
	if ((sp = strchr(buf, ' ')) == NULL || (nl = strchr(sp, '\n')) == NULL)
		goto out;
	*sp = '\0';
	*nl = '\0';
	if (buf[0] == '\0' || sp[1] == '\0')
		goto out;
	*user_id = strdup(buf);
	*token_id = strdup(sp + 1);
	if (*user_id == NULL || *token_id == NULL) {
		free(*user_id);
		free(*token_id);
		*user_id = *token_id = NULL;
		goto out;
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

static int user_lookup(pam_handle_t *pamh, const char *user, uid_t *uid,
		       gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0 || res == NULL) {
		pz_log(pamh, LOG_ERR, "user %s: not a local account", user);
		return PAM_USER_UNKNOWN;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return PAM_SUCCESS;
}

/* Write the token and its sidecar; the caller revokes the PAT on failure. */
static int session_files_write(pam_handle_t *pamh, const struct pz_opts *opts,
			       uid_t uid, gid_t gid, const char *user_id,
			       const zitadel_pat_added *added, char **path)
{
	const char *dir =
	    opts->pam->token_dir ? opts->pam->token_dir : PZ_DEFAULT_TOKEN_DIR;
	char *content = NULL, *sidecar = NULL;
	int dirfd = -1, udfd = -1, rc = PAM_SESSION_ERR;

	*path = NULL;
	if ((dirfd = token_dir_open(pamh, dir, 1)) == -1 ||
	    (udfd = user_dir_open(pamh, dirfd, uid, gid, 1)) == -1)
		goto out;
	if (asprintf(&content, "%s\n", added->token) == -1) {
		content = NULL;
		rc = PAM_BUF_ERR;
		goto out;
	}
	if (asprintf(&sidecar, "%s %s\n", user_id, added->token_id) == -1 ||
	    asprintf(path, "%s/%lu/%s", dir, (unsigned long)uid, TOKEN_NAME) ==
		-1) {
		sidecar = NULL;
		*path = NULL;
		rc = PAM_BUF_ERR;
		goto out;
	}
	if (file_write(pamh, udfd, TOKEN_NAME, content, uid, gid) != 0)
		goto out;
	if (file_write(pamh, udfd, SIDECAR_NAME, sidecar, geteuid(),
		       getegid()) != 0) {
		unlinkat(udfd, TOKEN_NAME, 0);
		goto out;
	}
	rc = PAM_SUCCESS;
out:
	if (rc != PAM_SUCCESS) {
		free(*path);
		*path = NULL;
	}
	pz_free_secret(content);
	free(sidecar);
	if (udfd != -1)
		close(udfd);
	if (dirfd != -1)
		close(dirfd);
	return rc;
}

/* Mint, store and announce the session's PAT. */
static int session_credential(pam_handle_t *pamh, const struct pz_opts *opts,
			      const char *user, const char *user_id)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *key = NULL;
	zitadel_ctx *ctx = NULL;
	zitadel_pat_added *added = NULL;
	struct session *sess = NULL;
	zitadel_status st;
	long lifetime = opts->pam->session_lifetime_s > 0
			    ? opts->pam->session_lifetime_s
			    : PZ_DEFAULT_LIFETIME_S;
	char *path = NULL, *env = NULL;
	uid_t uid;
	gid_t gid;
	int rc;

	if ((rc = user_lookup(pamh, user, &uid, &gid)) != PAM_SUCCESS ||
	    (rc = admin_ctx_new(pamh, opts, &ctx, &key)) != PAM_SUCCESS)
		goto out;
	rc = PAM_SESSION_ERR;
	st = zitadel_pat_add(ctx, user_id, time(NULL) + lifetime, &added, &err);
	if (st != ZITADEL_OK) {
		pz_log(pamh, LOG_ERR, "user %s: PAT for zitadel user %s: %s",
		       user, user_id,
		       err.message[0] != '\0' ? err.message
					      : zitadel_strerror(st));
		rc = pz_pam_code(st);
		goto out;
	}
	if ((rc = session_files_write(pamh, opts, uid, gid, user_id, added,
				      &path)) != PAM_SUCCESS)
		goto out;
	rc = PAM_BUF_ERR;
	if (asprintf(&env, "ZITADEL_TOKEN_FILE=%s", path) == -1) {
		env = NULL;
		goto out;
	}
	if ((sess = calloc(1, sizeof(*sess))) == NULL ||
	    (sess->user_id = strdup(user_id)) == NULL ||
	    (sess->token_id = strdup(added->token_id)) == NULL)
		goto out;
	if ((rc = pam_putenv(pamh, env)) != PAM_SUCCESS)
		goto out;
	if ((rc = pam_set_data(pamh, PZ_DATA_SESSION, sess, session_cleanup)) !=
	    PAM_SUCCESS)
		goto out;
	sess = NULL;
	pz_log(pamh, LOG_INFO,
	       "user %s: session PAT %s for zitadel user %s in %s", user,
	       added->token_id, user_id, path);
	rc = PAM_SUCCESS;
out:
	if (rc != PAM_SUCCESS && added != NULL) {
		/* Nothing may outlive a failed open: take the PAT back. */
		zitadel_pat_remove(ctx, user_id, added->token_id, NULL, NULL);
		if (path != NULL)
			unlink(path);
		pam_putenv(pamh, "ZITADEL_TOKEN_FILE");
	}
	session_free(sess);
	free(env);
	free(path);
	zitadel_pat_added_free(added);
	zitadel_ctx_free(ctx);
	zitadel_keyfile_free(key);
	return rc;
}

int pz_open_session(pam_handle_t *pamh, int argc, const char **argv)
{
	struct pz_opts opts;
	const char *user = NULL;
	char *user_id = NULL;
	int have_opts = 0, rc = PAM_SESSION_ERR;

	if ((rc = pz_opts_parse(pamh, argc, argv, &opts)) != PAM_SUCCESS)
		goto out;
	have_opts = 1;
	rc = PAM_SESSION_ERR;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL ||
	    user[0] == '\0')
		goto out;

	/* Only mapped accounts get a credential; others open plainly. */
	if (opts.pam->map_file == NULL) {
		pz_debug(pamh, &opts, "user %s: no map_file, no credential",
			 user);
		rc = PAM_SUCCESS;
		goto out;
	}
	if ((rc = pz_map_id_for_user(pamh, opts.pam->map_file, user,
				     &user_id)) != PAM_SUCCESS)
		goto soft;
	if (user_id == NULL) {
		pz_debug(pamh, &opts, "user %s: not mapped, no credential",
			 user);
		rc = PAM_SUCCESS;
		goto out;
	}
	rc = session_credential(pamh, &opts, user, user_id);
soft:
	if (rc != PAM_SUCCESS && !opts.required_credential) {
		pz_log(pamh, LOG_WARNING,
		       "user %s: session opens without a zitadel credential",
		       user);
		rc = PAM_SUCCESS;
	} else if (rc != PAM_SUCCESS)
		rc = PAM_SESSION_ERR;
out:
	free(user_id);
	if (have_opts)
		pz_opts_free(&opts);
	return rc;
}

/* Revoke the PAT; one already gone counts as revoked. */
static int pat_revoke(pam_handle_t *pamh, const struct pz_opts *opts,
		      const char *user, const char *user_id,
		      const char *token_id)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *key = NULL;
	zitadel_ctx *ctx = NULL;
	zitadel_status st;
	int rc;

	if ((rc = admin_ctx_new(pamh, opts, &ctx, &key)) != PAM_SUCCESS)
		goto out;
	rc = PAM_SESSION_ERR;
	st = zitadel_pat_remove(ctx, user_id, token_id, NULL, &err);
	if (st != ZITADEL_OK && st != ZITADEL_ERR_NOT_FOUND) {
		pz_log(
		    pamh, LOG_ERR,
		    "user %s: removing session PAT %s of zitadel user %s: %s",
		    user, token_id, user_id,
		    err.message[0] != '\0' ? err.message
					   : zitadel_strerror(st));
		goto out;
	}
	pz_log(pamh, LOG_INFO, "user %s: session PAT %s removed", user,
	       token_id);
	rc = PAM_SUCCESS;
out:
	zitadel_ctx_free(ctx);
	zitadel_keyfile_free(key);
	return rc;
}

int pz_close_session(pam_handle_t *pamh, int argc, const char **argv)
{
	struct pz_opts opts;
	const void *data = NULL;
	const struct session *sess = NULL;
	const char *user = NULL, *dir, *uid_id, *tok_id;
	char *side_user = NULL, *side_token = NULL, *mapped = NULL;
	uid_t uid;
	gid_t gid;
	int dirfd = -1, udfd = -1, have_side = 0, have_opts = 0;
	int rc = PAM_SESSION_ERR;

	if ((rc = pz_opts_parse(pamh, argc, argv, &opts)) != PAM_SUCCESS)
		goto out;
	have_opts = 1;
	rc = PAM_SESSION_ERR;
	if (opts.pam->map_file == NULL) {
		rc = PAM_SUCCESS;
		goto out;
	}
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL ||
	    user[0] == '\0')
		goto out;
	if (pam_get_data(pamh, PZ_DATA_SESSION, &data) == PAM_SUCCESS)
		sess = data;
	dir = opts.pam->token_dir ? opts.pam->token_dir : PZ_DEFAULT_TOKEN_DIR;
	if (user_lookup(pamh, user, &uid, &gid) == PAM_SUCCESS &&
	    (dirfd = token_dir_open(pamh, dir, 0)) != -1 &&
	    (udfd = user_dir_open(pamh, dirfd, uid, gid, 0)) != -1)
		have_side = sidecar_read(udfd, &side_user, &side_token) == 0;

	if (sess != NULL) {
		uid_id = sess->user_id;
		tok_id = sess->token_id;
	} else if (have_side) {
		/* Another process opened the session: trust the sidecar only
		 * for the machine user this account maps to. */
		if (pz_map_id_for_user(pamh, opts.pam->map_file, user,
				       &mapped) != PAM_SUCCESS ||
		    mapped == NULL || strcmp(mapped, side_user) != 0) {
			pz_log(pamh, LOG_ERR,
			       "user %s: session record names another zitadel "
			       "user",
			       user);
			goto decide;
		}
		uid_id = side_user;
		tok_id = side_token;
	} else {
		pz_debug(pamh, &opts, "user %s: no session PAT to remove",
			 user);
		rc = PAM_SUCCESS;
		goto out;
	}
	rc = pat_revoke(pamh, &opts, user, uid_id, tok_id);

	/* The file is this session's only while the sidecar names its PAT;
	 * a later session of the same user may have replaced it. */
	if (have_side && strcmp(side_token, tok_id) == 0) {
		unlinkat(udfd, TOKEN_NAME, 0);
		unlinkat(udfd, SIDECAR_NAME, 0);
	}
	pam_putenv(pamh, "ZITADEL_TOKEN_FILE");
	pam_set_data(pamh, PZ_DATA_SESSION, NULL, NULL);
decide:
	if (rc != PAM_SUCCESS && !opts.required_credential) {
		pz_log(pamh, LOG_WARNING,
		       "user %s: session closes with its PAT not removed",
		       user);
		rc = PAM_SUCCESS;
	} else if (rc != PAM_SUCCESS)
		rc = PAM_SESSION_ERR;
out:
	free(side_user);
	free(side_token);
	free(mapped);
	if (udfd != -1)
		close(udfd);
	if (dirfd != -1)
		close(dirfd);
	if (have_opts)
		pz_opts_free(&opts);
	return rc;
}
