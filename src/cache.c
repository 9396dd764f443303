/*
 * cache.c: the per-user token cache. One JSON file per (issuer, grant,
 * subject, key id, scope) in a 0700 directory, written by temporary file and
 * rename, and one lock file per entry so that concurrent callers fetch once.
 * Part of libzitadel-core: libc and jansson only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "internal.h"

#define ENTRY_VERSION 1
/* "token-" and 16 hex digits; the buffers below are sized from it so that
 * the compiler, too, can see every name fits. */
#define STEM_LEN     (sizeof("token-") - 1 + 16)
#define NAME_MAX_LEN (STEM_LEN + sizeof(".json")) /* ".lock" is as long */
#define DOC_NAME_MAX 64 /* documents' names, NUL included */

/* Poll the lock with sleeps growing from 1 ms to this. */
#define LOCK_SLEEP_MAX_MS 50

/* An entry stamped further in the future than this is not trusted: the
 * clock went back, and the expiry can no longer be judged. */
#define FUTURE_SLACK_S 60

struct zt_cache_lock {
	int fd;
};

/* ---- scope ------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_scope_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

char *zt_scope_normalize(const char *scope)
{
	char *copy = NULL, *out = NULL, **words = NULL;
	size_t n = 0, i, len, used = 0;
	const char *s;
	char *p;

	if (scope == NULL)
		scope = "";
	for (s = scope; *s != '\0' && is_scope_space(*s); s++)
		;
	if (*s == '\0')
		scope = ZITADEL_DEFAULT_SCOPE;

	len = strlen(scope);
	copy = zt_strndup(scope, len);
	words = zt_calloc(len / 2 + 2, sizeof(*words));
	if (copy == NULL || words == NULL)
		goto out;

	/* Split in place: each word ends at the space that follows it. */
	for (p = copy; *p != '\0';) {
		while (is_scope_space(*p))
			*p++ = '\0';
		if (*p == '\0')
			break;
		words[n++] = p;
		while (*p != '\0' && !is_scope_space(*p))
			p++;
	}
	qsort(words, n, sizeof(*words), cmp_str);

	out = zt_malloc(len + 1);
	if (out == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		size_t wl;

		if (i > 0 && strcmp(words[i], words[i - 1]) == 0)
			continue;
		wl = strlen(words[i]);
		if (used > 0)
			out[used++] = ' ';
		memcpy(out + used, words[i], wl);
		used += wl;
	}
	out[used] = '\0';
out:
	free(words);
	free(copy);
	return out;
}

/* ---- locations and names ---------------------------------------------- */

/*
 * The cache creates what it needs below a directory that exists, never
 * that directory: a home that is missing (HOME=/nonexistent, a system user)
 * or the parent of $XDG_CACHE_HOME. Without it there is no cache, which
 * callers treat as a warning, not as an unsafe cache.
 */
static zitadel_status require_dir(const char *what, const char *path,
				  size_t len, zitadel_error *err)
{
	char shown[ZT_LOG_CLIP + 4];
	struct stat st;
	char *copy;
	int rc;

	copy = zt_strndup(path, len);
	if (copy == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory naming the cache directory");
	rc = stat(copy, &st);
	zt_clip(copy, len, shown, sizeof(shown));
	free(copy);
	if (rc != 0 && (errno == ENOENT || errno == ENOTDIR))
		return zt_error(err, ZITADEL_ERR_IO,
				"%s %s does not exist; no token cache", what,
				shown);
	if (rc != 0)
		return zt_error(err, ZITADEL_ERR_IO,
				"cannot use %s %s: %s; no token cache", what,
				shown, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return zt_error(err, ZITADEL_ERR_IO,
				"%s %s is not a directory; no token cache",
				what, shown);
	return ZITADEL_OK;
}

/* The length of path without its last component and trailing slashes; 1
 * for a path directly under "/". */
static size_t parent_len(const char *path)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	while (len > 1 && path[len - 1] != '/')
		len--;
	while (len > 1 && path[len - 1] == '/')
		len--;
	return len;
}

zitadel_status zt_cache_dir_default(char **out, zitadel_error *err)
{
	const char *xdg, *home;
	zitadel_status rc;
	struct passwd *pw;
	char *dir = NULL;

	*out = NULL;

	/* secure_getenv: a set-id caller must not have its cache moved by
	 * the invoking user's environment. */
	xdg = secure_getenv("XDG_CACHE_HOME");
	home = secure_getenv("HOME");
	if (xdg != NULL && xdg[0] == '/') {
		rc = require_dir("the parent of XDG_CACHE_HOME", xdg,
				 parent_len(xdg), err);
		if (rc != ZITADEL_OK)
			return rc;
		dir = zt_asprintf("%s/zitadel", xdg);
	} else {
		if (home == NULL || home[0] != '/') {
			pw = getpwuid(geteuid());
			if (pw == NULL || pw->pw_dir == NULL ||
			    pw->pw_dir[0] != '/')
				return zt_error(err, ZITADEL_ERR_CONFIG,
						"no cache directory: "
						"XDG_CACHE_HOME and HOME are "
						"unset and uid %lu has no "
						"home directory",
						(unsigned long)geteuid());
			home = pw->pw_dir;
		}
		rc = require_dir("home directory", home, strlen(home), err);
		if (rc != ZITADEL_OK)
			return rc;
		dir = zt_asprintf("%s/.cache/zitadel", home);
	}
	if (dir == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory naming the cache directory");
	*out = dir;
	return ZITADEL_OK;
}

void zt_cache_id_key(zt_cache_id *id, const char *issuer,
		     const zitadel_keyfile *key, const char *scope)
{
	id->issuer = issuer;
	id->grant = "jwt-bearer";
	id->subject = zitadel_keyfile_subject(key);
	id->key_id = zitadel_keyfile_key_id(key);
	id->scope = scope;
}

void zt_cache_id_client(zt_cache_id *id, const char *issuer,
			const char *client_id, const char *scope)
{
	id->issuer = issuer;
	id->grant = "client_credentials";
	id->subject = client_id;
	id->key_id = "";
	id->scope = scope;
}

long zt_cache_margin(long configured, time_t obtained_at, time_t expires_at)
{
	long lifetime = 0;
	long margin;

	/* The stamps may come from a corrupt entry: subtract without
	 * overflow (the true difference always fits in 64 unsigned bits). */
	if (expires_at > obtained_at) {
		unsigned long long d = (unsigned long long)expires_at -
				       (unsigned long long)obtained_at;

		lifetime =
		    d > (unsigned long long)LONG_MAX ? LONG_MAX : (long)d;
	}
	if (configured >= 0) {
		margin = configured;
	} else {
		margin = lifetime / 10;
		if (margin < 60)
			margin = 60;
	}

	/* A server that hands out tokens shorter-lived than the margin would
	 * otherwise see a request on every call; serve such a token for the
	 * first half of its life instead. */
	if (margin > lifetime / 2)
		margin = lifetime / 2;
	return margin;
}

static int id_valid(const zt_cache_id *id)
{
	return id != NULL && id->issuer != NULL && id->grant != NULL &&
	       id->subject != NULL && id->key_id != NULL && id->scope != NULL;
}

/* The file stem for an entry: a hash of every identity field, each ended
 * by its NUL so that ("ab","c") and ("a","bc") differ. */
static void entry_stem(const zt_cache_id *id, char *buf, size_t size)
{
	const char *fields[5];
	unsigned long long h = ZT_FNV_INIT;
	size_t i;

	fields[0] = id->issuer;
	fields[1] = id->grant;
	fields[2] = id->subject;
	fields[3] = id->key_id;
	fields[4] = id->scope;
	for (i = 0; i < 5; i++)
		h = zt_fnv1a(h, fields[i], strlen(fields[i]) + 1);
	snprintf(buf, size, "token-%016llx", h);
}

static void entry_name(const zt_cache_id *id, char *buf, size_t size)
{
	char stem[STEM_LEN + 1];

	entry_stem(id, stem, sizeof(stem));
	snprintf(buf, size, "%s.json", stem);
}

static void lock_name(const zt_cache_id *id, char *buf, size_t size)
{
	char stem[STEM_LEN + 1];

	entry_stem(id, stem, sizeof(stem));
	snprintf(buf, size, "%s.lock", stem);
}

static void clip_path(const char *path, char *out, size_t size)
{
	zt_clip(path, strlen(path), out, size);
}

/* ---- the directory ---------------------------------------------------- */

static zitadel_status check_dir(int fd, const char *dir, zitadel_error *err)
{
	char shown[ZT_LOG_CLIP + 4];
	struct stat st;

	clip_path(dir, shown, sizeof(shown));
	if (fstat(fd, &st) != 0)
		return zt_error(err, ZITADEL_ERR_IO,
				"cannot stat cache directory %s: %s", shown,
				strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
				"cache directory %s is not a directory", shown);
	if (st.st_uid != geteuid())
		return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
				"cache directory %s is owned by uid %lu, not "
				"by uid %lu; refusing to use it",
				shown, (unsigned long)st.st_uid,
				(unsigned long)geteuid());
	if ((st.st_mode & 077) != 0)
		return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
				"cache directory %s has mode %04o; it must not "
				"be accessible by group or others (chmod 700 "
				"%s)",
				shown, (unsigned)(st.st_mode & 07777), shown);
	return ZITADEL_OK;
}

/*
 * Open the cache directory without following a symlink in its last
 * component, and check it. *fd is -1 when it does not exist (a miss for
 * readers).
 */
static zitadel_status open_dir(const char *dir, int *fd, zitadel_error *err)
{
	char shown[ZT_LOG_CLIP + 4];
	zitadel_status rc;
	struct stat st;
	int d;

	*fd = -1;
	clip_path(dir, shown, sizeof(shown));
	d = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0) {
		if (errno == ENOENT)
			return ZITADEL_OK;
		if ((errno == ELOOP || errno == ENOTDIR) &&
		    lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))
			return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
					"cache directory %s is a symbolic "
					"link; refusing to use it",
					shown);
		if (errno == ENOTDIR)
			return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
					"cache directory %s is not a "
					"directory",
					shown);
		/* Someone else's 0700 directory cannot even be opened;
		 * say whose it is rather than just "permission denied". */
		if (errno == EACCES && stat(dir, &st) == 0 &&
		    st.st_uid != geteuid())
			return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
					"cache directory %s is owned by uid "
					"%lu, not by uid %lu; refusing to use "
					"it",
					shown, (unsigned long)st.st_uid,
					(unsigned long)geteuid());
		return zt_error(err, ZITADEL_ERR_IO,
				"cannot open cache directory %s: %s", shown,
				strerror(errno));
	}

	rc = check_dir(d, dir, err);
	if (rc != ZITADEL_OK) {
		close(d);
		return rc;
	}
	*fd = d;
	return ZITADEL_OK;
}

/* mkdir -p with mode 0700 for each directory made; existing ones are left
 * as they are (only the cache directory itself is checked). */
static zitadel_status make_dirs(const char *dir, zitadel_error *err)
{
	char shown[ZT_LOG_CLIP + 4];
	zitadel_status rc;
	char *parent, *slash;
	int fd;

	if (mkdir(dir, 0700) == 0) {
		/* The umask may have taken owner bits away: set the mode
		 * exactly. */
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			(void)fchmod(fd, 0700);
			close(fd);
		}
		return ZITADEL_OK;
	}
	if (errno == EEXIST)
		return ZITADEL_OK;
	clip_path(dir, shown, sizeof(shown));
	if (errno != ENOENT)
		return zt_error(err, ZITADEL_ERR_IO,
				"cannot create cache directory %s: %s", shown,
				strerror(errno));

	parent = zt_strdup(dir);
	if (parent == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory creating %s", shown);
	slash = strrchr(parent, '/');
	while (slash != NULL && slash > parent && slash[1] == '\0') {
		*slash = '\0';
		slash = strrchr(parent, '/');
	}
	if (slash == NULL || slash == parent) {
		free(parent);
		return zt_error(err, ZITADEL_ERR_IO,
				"cannot create cache directory %s: %s", shown,
				strerror(ENOENT));
	}
	*slash = '\0';
	rc = make_dirs(parent, err);
	free(parent);
	if (rc != ZITADEL_OK)
		return rc;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return zt_error(err, ZITADEL_ERR_IO,
				"cannot create cache directory %s: %s", shown,
				strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		(void)fchmod(fd, 0700);
		close(fd);
	}
	return ZITADEL_OK;
}

/* Open the directory for writing, creating it when missing. */
static zitadel_status open_dir_create(const char *dir, int *fd,
				      zitadel_error *err)
{
	zitadel_status rc;

	rc = open_dir(dir, fd, err);
	if (rc != ZITADEL_OK || *fd >= 0)
		return rc;
	rc = make_dirs(dir, err);
	if (rc != ZITADEL_OK)
		return rc;
	rc = open_dir(dir, fd, err);
	if (rc == ZITADEL_OK && *fd < 0)
		rc = zt_error(err, ZITADEL_ERR_IO,
			      "cache directory vanished while being created");
	return rc;
}

/* NULL dir means the default; *owned receives what must be freed. */
static zitadel_status resolve_dir(const char *dir, char **owned,
				  const char **use, zitadel_error *err)
{
	zitadel_status rc;

	*owned = NULL;
	*use = dir;
	if (dir != NULL && dir[0] != '\0')
		return ZITADEL_OK;
	rc = zt_cache_dir_default(owned, err);
	*use = *owned;
	return rc;
}

/* A file in the cache directory: ours, regular, 0600 or tighter. */
static zitadel_status check_file(int fd, const char *dir, const char *name,
				 struct stat *st, zitadel_error *err)
{
	char shown[ZT_LOG_CLIP + 4];

	clip_path(dir, shown, sizeof(shown));
	if (fstat(fd, st) != 0)
		return zt_error(err, ZITADEL_ERR_IO, "cannot stat %s/%s: %s",
				shown, name, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
				"cache file %s/%s is not a regular file", shown,
				name);
	if (st->st_uid != geteuid())
		return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
				"cache file %s/%s is owned by uid %lu, not by "
				"uid %lu; refusing to use it",
				shown, name, (unsigned long)st->st_uid,
				(unsigned long)geteuid());
	if ((st->st_mode & 077) != 0)
		return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
				"cache file %s/%s has mode %04o; it must not "
				"be accessible by group or others (chmod 600 "
				"%s/%s)",
				shown, name, (unsigned)(st->st_mode & 07777),
				shown, name);
	return ZITADEL_OK;
}

static zitadel_status open_failed(const char *dir, const char *name,
				  zitadel_error *err)
{
	char shown[ZT_LOG_CLIP + 4];

	clip_path(dir, shown, sizeof(shown));
	if (errno == ELOOP)
		return zt_error(err, ZITADEL_ERR_CACHE_UNSAFE,
				"cache file %s/%s is a symbolic link; refusing "
				"to use it",
				shown, name);
	return zt_error(err, ZITADEL_ERR_IO, "cannot open %s/%s: %s", shown,
			name, strerror(errno));
}

/* ---- reading ---------------------------------------------------------- */

/* Here rather than with the token endpoint code: cache hits make tokens
 * too, and the helper's hit path must free them without libzitadel-full. */
void zitadel_token_free(zitadel_token *token)
{
	if (token == NULL)
		return;
	zt_free_secret(token->access_token);
	free(token->token_type);
	zt_wipe(token, sizeof(*token));
	free(token);
}

/* Read at most max bytes; *len > max means the file is too large. */
static zitadel_status read_entry(int fd, char *buf, size_t max, size_t *len,
				 const char *name, zitadel_error *err)
{
	ssize_t n;

	*len = 0;
	for (;;) {
		n = read(fd, buf + *len, max + 1 - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return zt_error(err, ZITADEL_ERR_IO,
					"cannot read cache file %s: %s", name,
					strerror(errno));
		if (n == 0)
			break;
		*len += (size_t)n;
		if (*len > max)
			break;
	}
	buf[*len > max ? max : *len] = '\0';
	return ZITADEL_OK;
}

static const char *str_field(json_t *root, const char *key)
{
	return json_string_value(json_object_get(root, key));
}

static int int_field(json_t *root, const char *key, json_int_t *out)
{
	json_t *v = json_object_get(root, key);

	if (!json_is_integer(v))
		return -1;
	*out = json_integer_value(v);
	return 0;
}

static int same(const char *stored, const char *wanted)
{
	return stored != NULL && strcmp(stored, wanted) == 0;
}

/*
 * Turn entry text into a token. Returns 1 for a usable entry, 0 for one to
 * throw away (corrupt, another identity, stamped in the future), -1 when
 * out of memory.
 */
static int parse_entry(const char *text, size_t len, const zt_cache_id *id,
		       time_t now, zitadel_token **out)
{
	json_int_t v, obtained, expires;
	const char *access, *type;
	zitadel_token *t = NULL;
	json_t *root;
	int ok = 0;

	*out = NULL;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root))
		goto out;
	if (int_field(root, "v", &v) != 0 || v != ENTRY_VERSION)
		goto out;
	if (!same(str_field(root, "issuer"), id->issuer) ||
	    !same(str_field(root, "grant"), id->grant) ||
	    !same(str_field(root, "subject"), id->subject) ||
	    !same(str_field(root, "key_id"), id->key_id) ||
	    !same(str_field(root, "scope"), id->scope))
		goto out;
	access = str_field(root, "access_token");
	type = str_field(root, "token_type");
	if (access == NULL || access[0] == '\0' ||
	    strlen(access) > ZT_TOKEN_MAX || type == NULL || type[0] == '\0')
		goto out;
	if (int_field(root, "obtained_at", &obtained) != 0 ||
	    int_field(root, "expires_at", &expires) != 0 || obtained < 0 ||
	    expires <= obtained || obtained > (json_int_t)now + FUTURE_SLACK_S)
		goto out;

	ok = -1;
	t = zt_calloc(1, sizeof(*t));
	if (t == NULL)
		goto out;
	t->access_token = zt_strdup(access);
	t->token_type = zt_strdup(type);
	if (t->access_token == NULL || t->token_type == NULL)
		goto out;
	t->obtained_at = (time_t)obtained;
	t->expires_at = (time_t)expires;
	t->from_cache = 1;
	*out = t;
	t = NULL;
	ok = 1;
out:
	zitadel_token_free(t);
	json_decref(root);
	return ok;
}

/* Remove a bad entry, but only if the name still points at the file we
 * read: a writer may have renamed a good one into place meanwhile. */
static void discard_entry(int dirfd, const char *name, const struct stat *st)
{
	struct stat now;

	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
	    now.st_dev == st->st_dev && now.st_ino == st->st_ino)
		(void)unlinkat(dirfd, name, 0);
}

/*
 * Open name in the cache directory for reading, after the checks of the
 * directory and of the file. A missing directory or file is a miss:
 * ZITADEL_OK with *fd -1. The caller closes *dirfd and *fd (when not -1)
 * and frees *owned.
 */
static zitadel_status open_cached(const char *dir, const char *name,
				  char **owned, const char **use, int *dirfd,
				  int *fd, struct stat *st, zitadel_error *err)
{
	zitadel_status rc;

	*dirfd = -1;
	*fd = -1;
	rc = resolve_dir(dir, owned, use, err);
	if (rc != ZITADEL_OK)
		return rc;
	rc = open_dir(*use, dirfd, err);
	if (rc != ZITADEL_OK || *dirfd < 0)
		return rc;

	*fd = openat(*dirfd, name,
		     O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (*fd < 0)
		return errno == ENOENT ? ZITADEL_OK
				       : open_failed(*use, name, err);
	rc = check_file(*fd, *use, name, st, err);
	if (rc != ZITADEL_OK) {
		close(*fd);
		*fd = -1;
	}
	return rc;
}

/* Read up to ZT_CACHE_ENTRY_MAX + 1 bytes: *len over the bound says the
 * file is too large. *out holds ZT_CACHE_ENTRY_MAX + 1 bytes. */
static zitadel_status read_cached(int fd, const char *name, char **out,
				  size_t *len, zitadel_error *err)
{
	zitadel_status rc;
	char *buf;

	*out = NULL;
	*len = 0;
	buf = zt_malloc(ZT_CACHE_ENTRY_MAX + 1);
	if (buf == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory reading the token cache");
	rc = read_entry(fd, buf, ZT_CACHE_ENTRY_MAX, len, name, err);
	if (rc != ZITADEL_OK) {
		zt_wipe(buf, ZT_CACHE_ENTRY_MAX + 1);
		free(buf);
		return rc;
	}
	*out = buf;
	return ZITADEL_OK;
}

zitadel_status zt_cache_lookup(const char *dir, const zt_cache_id *id,
			       long margin, time_t now, zitadel_token **out,
			       zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INVALID_ARGUMENT;
	char name[NAME_MAX_LEN], *owned = NULL, *buf = NULL;
	zitadel_token *t = NULL;
	int dirfd = -1, fd = -1, parsed;
	const char *use;
	struct stat st;
	size_t len = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || !id_valid(id)) {
		zt_error(err, rc, "cache lookup without an entry identity");
		goto out;
	}
	entry_name(id, name, sizeof(name));
	rc = open_cached(dir, name, &owned, &use, &dirfd, &fd, &st, err);
	if (rc != ZITADEL_OK || fd < 0)
		goto out;
	rc = read_cached(fd, name, &buf, &len, err);
	if (rc != ZITADEL_OK)
		goto out;

	parsed =
	    len > ZT_CACHE_ENTRY_MAX ? 0 : parse_entry(buf, len, id, now, &t);
	if (parsed < 0) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM,
			      "out of memory reading the token cache");
		goto out;
	}
	if (parsed == 0) {
		discard_entry(dirfd, name, &st);
		rc = ZITADEL_OK;
		goto out;
	}

	/* Never an expired token, and never one about to expire. */
	if ((long)(t->expires_at - now) <=
	    zt_cache_margin(margin, t->obtained_at, t->expires_at)) {
		rc = ZITADEL_OK;
		goto out;
	}

	*out = t;
	t = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_token_free(t);
	if (buf != NULL) {
		zt_wipe(buf, len > ZT_CACHE_ENTRY_MAX ? ZT_CACHE_ENTRY_MAX + 1
						      : len + 1);
		free(buf);
	}
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(owned);
	return rc;
}

/* ---- locking ---------------------------------------------------------- */

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000 +
	       (long)(now.tv_nsec - start->tv_nsec) / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Open (or create, 0600) the lock file and check it like an entry. */
static zitadel_status open_lock_file(int dirfd, const char *dir,
				     const char *name, int *fd,
				     zitadel_error *err)
{
	int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	zitadel_status rc;
	struct stat st;
	int f;

	*fd = -1;
	f = openat(dirfd, name, flags | O_CREAT | O_EXCL, 0600);
	if (f >= 0) {
		(void)fchmod(f, 0600);
	} else if (errno == EEXIST) {
		f = openat(dirfd, name, flags);
	}
	if (f < 0)
		return open_failed(dir, name, err);

	rc = check_file(f, dir, name, &st, err);
	if (rc != ZITADEL_OK) {
		close(f);
		return rc;
	}
	*fd = f;
	return ZITADEL_OK;
}

zitadel_status zt_cache_lock_take(const char *dir, const zt_cache_id *id,
				  long wait_ms, zt_cache_lock **out,
				  zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INVALID_ARGUMENT;
	char name[NAME_MAX_LEN], shown[ZT_LOG_CLIP + 4], *owned = NULL;
	int dirfd = -1, fd = -1;
	zt_cache_lock *lock = NULL;
	struct timespec start;
	long pause = 1;
	const char *use;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || !id_valid(id)) {
		zt_error(err, rc, "cache lock without an entry identity");
		goto out;
	}
	rc = resolve_dir(dir, &owned, &use, err);
	if (rc != ZITADEL_OK)
		goto out;
	rc = open_dir_create(use, &dirfd, err);
	if (rc != ZITADEL_OK)
		goto out;

	lock_name(id, name, sizeof(name));
	rc = open_lock_file(dirfd, use, name, &fd, err);
	if (rc != ZITADEL_OK)
		goto out;

	/* flock, not fcntl locks: it belongs to the open file, so it dies
	 * with the holder however it ends, and threads of one process that
	 * open the file separately exclude each other too. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		long left;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		clip_path(use, shown, sizeof(shown));
		if (errno != EWOULDBLOCK) {
			rc = zt_error(err, ZITADEL_ERR_IO,
				      "cannot lock %s/%s: %s", shown, name,
				      strerror(errno));
			goto out;
		}
		left = wait_ms - elapsed_ms(&start);
		if (left <= 0) {
			rc = zt_error(err, ZITADEL_ERR_LOCK_TIMEOUT,
				      "gave up after %ld ms waiting for the "
				      "cache lock %s/%s held by another "
				      "process",
				      wait_ms < 0 ? 0 : wait_ms, shown, name);
			goto out;
		}
		sleep_ms(pause < left ? pause : left);
		if (pause < LOCK_SLEEP_MAX_MS)
			pause = pause * 2 > LOCK_SLEEP_MAX_MS
				    ? LOCK_SLEEP_MAX_MS
				    : pause * 2;
	}

	rc = ZITADEL_ERR_NOMEM;
	lock = zt_calloc(1, sizeof(*lock));
	if (lock == NULL) {
		zt_error(err, rc, "out of memory taking the cache lock");
		goto out;
	}
	lock->fd = fd;
	fd = -1;
	*out = lock;
	lock = NULL;
	rc = ZITADEL_OK;
out:
	if (fd >= 0)
		close(fd); /* closing drops a lock taken on it */
	if (dirfd >= 0)
		close(dirfd);
	free(owned);
	return rc;
}

void zt_cache_unlock(zt_cache_lock *lock)
{
	if (lock == NULL)
		return;
	/* The lock file stays: removing it would let a waiter that opened
	 * the old file and a newcomer that creates a new one both "hold"
	 * the lock. */
	(void)flock(lock->fd, LOCK_UN);
	close(lock->fd);
	free(lock);
}

/* ---- writing ---------------------------------------------------------- */

static zitadel_status entry_text(const zt_cache_id *id,
				 const zitadel_token *token, char **out,
				 size_t *len, zitadel_error *err)
{
	json_t *root;
	size_t need;
	char *buf = NULL;

	*out = NULL;
	*len = 0;
	root = json_pack(
	    "{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "v",
	    ENTRY_VERSION, "issuer", id->issuer, "grant", id->grant, "subject",
	    id->subject, "key_id", id->key_id, "scope", id->scope,
	    "access_token", token->access_token, "token_type",
	    token->token_type != NULL ? token->token_type : "Bearer",
	    "obtained_at", (json_int_t)token->obtained_at, "expires_at",
	    (json_int_t)token->expires_at);
	if (root == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory building a cache entry");

	/* Dump into our own buffer so that the text can be wiped. */
	need = json_dumpb(root, NULL, 0, JSON_COMPACT);
	if (need > 0 && need < ZT_CACHE_ENTRY_MAX)
		buf = zt_malloc(need + 1);
	if (buf == NULL) {
		json_decref(root);
		if (need >= ZT_CACHE_ENTRY_MAX)
			return zt_error(err, ZITADEL_ERR_TOO_LARGE,
					"cache entry would exceed %d bytes",
					ZT_CACHE_ENTRY_MAX);
		/* json_dumpb says 0 when it could not allocate. */
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory building a cache entry");
	}
	/* The second dump allocates too; unchecked, a failure there would
	 * store whatever the heap left in buf. */
	if (json_dumpb(root, buf, need, JSON_COMPACT) != need) {
		zt_wipe(buf, need + 1);
		free(buf);
		json_decref(root);
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory building a cache entry");
	}
	buf[need] = '\n';
	json_decref(root);
	*out = buf;
	*len = need + 1;
	return ZITADEL_OK;
}

static zitadel_status write_all(int fd, const char *buf, size_t len,
				const char *dir, const char *name,
				zitadel_error *err)
{
	char shown[ZT_LOG_CLIP + 4];
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			clip_path(dir, shown, sizeof(shown));
			return zt_error(err, ZITADEL_ERR_IO,
					"cannot write %s/%s: %s", shown, name,
					strerror(errno));
		}
		done += (size_t)n;
	}
	return ZITADEL_OK;
}

/*
 * Write text to name in the open directory by a temporary file renamed into
 * place, so that a reader sees the old file or the new one, never a torn
 * one. The temporary name is one no other writer uses; a killed writer
 * leaves it behind, and readers never look at it.
 */
static zitadel_status store_file(int dirfd, const char *dir, const char *name,
				 const char *text, size_t len,
				 zitadel_error *err)
{
	static unsigned counter;
	zitadel_status rc;
	/* the name with a pid, a counter and a time stamp, each at its
	 * widest */
	char tmp[DOC_NAME_MAX + 96], shown[ZT_LOG_CLIP + 4];
	struct timespec ts;
	int fd, made = 1;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(tmp, sizeof(tmp), ".%s.%ld.%u.%lld%09ld.tmp", name,
		 (long)getpid(), counter++, (long long)ts.tv_sec, ts.tv_nsec);
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
			O_NOCTTY,
		    0600);
	if (fd < 0)
		return open_failed(dir, tmp, err);
	(void)fchmod(fd, 0600);

	rc = write_all(fd, text, len, dir, tmp, err);
	if (rc != ZITADEL_OK)
		goto out;
	clip_path(dir, shown, sizeof(shown));
	rc = ZITADEL_ERR_IO;
	if (fsync(fd) != 0) {
		zt_error(err, rc, "cannot sync %s/%s: %s", shown, tmp,
			 strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		zt_error(err, rc, "cannot write %s/%s: %s", shown, tmp,
			 strerror(errno));
		goto out;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) != 0) {
		zt_error(err, rc, "cannot rename %s/%s to %s: %s", shown, tmp,
			 name, strerror(errno));
		goto out;
	}
	made = 0;
	rc = ZITADEL_OK;
out:
	if (fd >= 0)
		close(fd);
	if (made)
		(void)unlinkat(dirfd, tmp, 0);
	return rc;
}

zitadel_status zt_cache_store(const char *dir, const zt_cache_id *id,
			      const zitadel_token *token, zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INVALID_ARGUMENT;
	char name[NAME_MAX_LEN], *owned = NULL, *text = NULL;
	const char *use;
	int dirfd = -1;
	size_t len = 0;

	if (!id_valid(id) || token == NULL || token->access_token == NULL ||
	    token->access_token[0] == '\0' ||
	    strlen(token->access_token) > ZT_TOKEN_MAX ||
	    token->expires_at <= token->obtained_at) {
		zt_error(err, rc,
			 "not storing a token without identity, value or "
			 "positive lifetime in the cache");
		goto out;
	}
	rc = resolve_dir(dir, &owned, &use, err);
	if (rc != ZITADEL_OK)
		goto out;
	rc = entry_text(id, token, &text, &len, err);
	if (rc != ZITADEL_OK)
		goto out;
	rc = open_dir_create(use, &dirfd, err);
	if (rc != ZITADEL_OK)
		goto out;

	entry_name(id, name, sizeof(name));
	rc = store_file(dirfd, use, name, text, len, err);
out:
	if (text != NULL) {
		zt_wipe(text, len);
		free(text);
	}
	if (dirfd >= 0)
		close(dirfd);
	free(owned);
	return rc;
}

/* ---- documents -------------------------------------------------------- */

static int doc_name_valid(const char *name)
{
	size_t len = name != NULL ? strlen(name) : 0;

	return len > 0 && len < DOC_NAME_MAX && name[0] != '.' &&
	       strchr(name, '/') == NULL;
}

zitadel_status zt_cache_doc_read(const char *dir, const char *name,
				 long max_age_s, time_t now, char **out,
				 size_t *len, zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INVALID_ARGUMENT;
	char *owned = NULL, *buf = NULL;
	int dirfd = -1, fd = -1;
	const char *use;
	struct stat st;
	size_t got = 0;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (out == NULL || len == NULL || !doc_name_valid(name)) {
		zt_error(err, rc, "cache document without a valid name");
		goto out;
	}
	rc = open_cached(dir, name, &owned, &use, &dirfd, &fd, &st, err);
	if (rc != ZITADEL_OK || fd < 0)
		goto out;
	/* Stale, or stamped in the future by a clock that went back. */
	if (now - st.st_mtime > max_age_s || st.st_mtime - now > 60) {
		rc = ZITADEL_OK;
		goto out;
	}
	rc = read_cached(fd, name, &buf, &got, err);
	if (rc != ZITADEL_OK)
		goto out;
	if (got > ZT_CACHE_ENTRY_MAX) {
		discard_entry(dirfd, name, &st);
		rc = ZITADEL_OK;
		goto out;
	}
	buf[got] = '\0';

	*out = buf;
	*len = got;
	buf = NULL;
	rc = ZITADEL_OK;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(owned);
	return rc;
}

zitadel_status zt_cache_doc_write(const char *dir, const char *name,
				  const char *data, size_t len,
				  zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INVALID_ARGUMENT;
	char *owned = NULL;
	const char *use;
	int dirfd = -1;

	if (!doc_name_valid(name) || data == NULL || len > ZT_CACHE_ENTRY_MAX) {
		zt_error(err, rc,
			 "not storing a cache document without a "
			 "valid name or over the size bound");
		goto out;
	}
	rc = resolve_dir(dir, &owned, &use, err);
	if (rc != ZITADEL_OK)
		goto out;
	rc = open_dir_create(use, &dirfd, err);
	if (rc != ZITADEL_OK)
		goto out;
	rc = store_file(dirfd, use, name, data, len, err);
out:
	if (dirfd >= 0)
		close(dirfd);
	free(owned);
	return rc;
}

zitadel_status zt_cache_erase(const char *dir, const zt_cache_id *id,
			      int *erased, zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INVALID_ARGUMENT;
	char name[NAME_MAX_LEN], shown[ZT_LOG_CLIP + 4], *owned = NULL;
	const char *use;
	int dirfd = -1, removed = 0;

	if (erased != NULL)
		*erased = 0;
	if (!id_valid(id)) {
		zt_error(err, rc, "cache erase without an entry identity");
		goto out;
	}
	rc = resolve_dir(dir, &owned, &use, err);
	if (rc != ZITADEL_OK)
		goto out;
	rc = open_dir(use, &dirfd, err);
	if (rc != ZITADEL_OK || dirfd < 0)
		goto out;

	entry_name(id, name, sizeof(name));
	if (unlinkat(dirfd, name, 0) == 0) {
		removed = 1;
	} else if (errno != ENOENT) {
		clip_path(use, shown, sizeof(shown));
		rc = zt_error(err, ZITADEL_ERR_IO, "cannot remove %s/%s: %s",
			      shown, name, strerror(errno));
		goto out;
	}
	if (erased != NULL)
		*erased = removed;
	rc = ZITADEL_OK;
out:
	if (dirfd >= 0)
		close(dirfd);
	free(owned);
	return rc;
}
