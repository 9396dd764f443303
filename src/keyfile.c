/*
 * keyfile.c: Zitadel key files (types serviceaccount and application) read
 * from a path, a descriptor or a systemd credential, checked, parsed and
 * wiped. Part of libzitadel-core: libc and jansson only, no crypto here;
 * assertion.c parses the PEM for real.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "internal.h"

/* Zitadel ids are at most 200 characters (reference §8). */
#define ID_MAX 200

struct zitadel_keyfile {
	zitadel_keyfile_type type;
	char *key_id;
	char *subject; /* userId or clientId */
	char *app_id;
	char *pem; /* secret */
	time_t expiration;
};

void zitadel_keyfile_free(zitadel_keyfile *key)
{
	if (key == NULL)
		return;
	free(key->key_id);
	free(key->subject);
	free(key->app_id);
	zt_free_secret(key->pem);
	zt_wipe(key, sizeof(*key));
	free(key);
}

/*
 * Fetch an optional string member. Returns 0 and sets *out (NULL when
 * absent), or records why the member is unusable and returns -1.
 */
static int get_string(json_t *obj, const char *field, const char *name,
		      int required, size_t max, const char **out,
		      zitadel_error *err)
{
	json_t *v = json_object_get(obj, field);

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		zt_error(err, ZITADEL_ERR_KEYFILE,
			 "key file %s: the \"%s\" field is missing", name,
			 field);
		return -1;
	}
	if (!json_is_string(v)) {
		zt_error(err, ZITADEL_ERR_KEYFILE,
			 "key file %s: the \"%s\" field is not a string", name,
			 field);
		return -1;
	}
	if (json_string_length(v) == 0) {
		zt_error(err, ZITADEL_ERR_KEYFILE,
			 "key file %s: the \"%s\" field is empty", name, field);
		return -1;
	}
	if (json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		zt_error(err, ZITADEL_ERR_KEYFILE,
			 "key file %s: the \"%s\" field is too long or holds a "
			 "NUL byte",
			 name, field);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/*
 * Check that the key looks like one PEM private-key block that assertion.c
 * can use: RSA as PKCS#1 or unencrypted PKCS#8. The DER is parsed later.
 */
static zitadel_status check_pem(const char *pem, const char *name,
				zitadel_error *err)
{
	static const char *const labels[] = {"RSA PRIVATE KEY", "PRIVATE KEY"};
	char label[64], end[96];
	const char *p, *q;
	size_t i;

	p = strstr(pem, "-----BEGIN ");
	if (p == NULL)
		return zt_error(
		    err, ZITADEL_ERR_KEYFILE,
		    "key file %s: the \"key\" field holds no PEM block", name);
	p += strlen("-----BEGIN ");
	q = strstr(p, "-----");
	if (q == NULL || (size_t)(q - p) >= sizeof(label))
		return zt_error(
		    err, ZITADEL_ERR_KEYFILE,
		    "key file %s: the \"key\" field holds a broken PEM header",
		    name);
	zt_clip(p, (size_t)(q - p), label, sizeof(label));

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(label, labels[i]) == 0)
			break;
	if (i == sizeof(labels) / sizeof(labels[0]))
		return zt_error(err, ZITADEL_ERR_KEYFILE,
				"key file %s: the key is a PEM \"%s\" block; "
				"only unencrypted RSA private keys (PKCS#1 or "
				"PKCS#8) are supported",
				name, label);

	/* A PEM whose newlines were escaped twice has none left. */
	if (strchr(q, '\n') == NULL)
		return zt_error(err, ZITADEL_ERR_KEYFILE,
				"key file %s: the key has no line breaks (was "
				"it escaped twice?)",
				name);

	snprintf(end, sizeof(end), "-----END %s-----", label);
	if (strstr(q, end) == NULL)
		return zt_error(
		    err, ZITADEL_ERR_KEYFILE,
		    "key file %s: the key's PEM block has no \"%s\" line", name,
		    end);
	return ZITADEL_OK;
}

static zitadel_status parse_type(json_t *root, const char *name,
				 zitadel_keyfile_type *type, zitadel_error *err)
{
	char clipped[ZT_LOG_CLIP + 4];
	const char *s;

	if (get_string(root, "type", name, 1, ID_MAX, &s, err) != 0)
		return ZITADEL_ERR_KEYFILE;
	if (strcmp(s, "serviceaccount") == 0) {
		*type = ZITADEL_KEYFILE_SERVICEACCOUNT;
		return ZITADEL_OK;
	}
	if (strcmp(s, "application") == 0) {
		*type = ZITADEL_KEYFILE_APPLICATION;
		return ZITADEL_OK;
	}
	zt_clip(s, strlen(s), clipped, sizeof(clipped));
	return zt_error(err, ZITADEL_ERR_KEYFILE,
			"key file %s: unknown type \"%s\" (expected "
			"\"serviceaccount\" or \"application\")",
			name, clipped);
}

/* Fill k from the parsed JSON object; strings are copied out of jansson. */
static zitadel_status fill(json_t *root, const char *name, zitadel_keyfile *k,
			   zitadel_error *err)
{
	const char *key_id, *pem, *subject, *app_id = NULL, *exp = NULL;
	const char *subject_field;
	zitadel_status rc;

	if ((rc = parse_type(root, name, &k->type, err)) != ZITADEL_OK)
		return rc;
	subject_field =
	    k->type == ZITADEL_KEYFILE_SERVICEACCOUNT ? "userId" : "clientId";
	if (get_string(root, "keyId", name, 1, ID_MAX, &key_id, err) != 0 ||
	    get_string(root, "key", name, 1, ZITADEL_KEYFILE_MAX, &pem, err) !=
		0 ||
	    get_string(root, subject_field, name, 1, ID_MAX, &subject, err) !=
		0)
		return ZITADEL_ERR_KEYFILE;
	if (k->type == ZITADEL_KEYFILE_APPLICATION &&
	    get_string(root, "appId", name, 0, ID_MAX, &app_id, err) != 0)
		return ZITADEL_ERR_KEYFILE;
	if (k->type == ZITADEL_KEYFILE_SERVICEACCOUNT &&
	    get_string(root, "expirationDate", name, 0, 64, &exp, err) != 0)
		return ZITADEL_ERR_KEYFILE;
	if (exp != NULL && zt_time_parse(exp, &k->expiration) != 0)
		return zt_error(err, ZITADEL_ERR_KEYFILE,
				"key file %s: the \"expirationDate\" field is "
				"not an RFC 3339 time",
				name);
	if ((rc = check_pem(pem, name, err)) != ZITADEL_OK)
		return rc;

	k->key_id = zt_strdup(key_id);
	k->subject = zt_strdup(subject);
	k->pem = zt_strdup(pem);
	k->app_id = zt_strdup(app_id);
	if (k->key_id == NULL || k->subject == NULL || k->pem == NULL ||
	    (app_id != NULL && k->app_id == NULL))
		return zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
	return ZITADEL_OK;
}

/*
 * jansson keeps its own copies of the strings (the PEM among them) and
 * frees them without wiping; json_decref below is as soon as we can let
 * go of them.
 */
zitadel_status zitadel_keyfile_parse(const char *json, size_t len,
				     const char *name, zitadel_keyfile **out,
				     zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_KEYFILE;
	zitadel_keyfile *k = NULL;
	json_t *root = NULL;
	json_error_t jerr;

	if (out != NULL)
		*out = NULL;
	if (name == NULL)
		name = "(memory)";
	if (json == NULL || out == NULL) {
		rc = zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
			      "zitadel_keyfile_parse: NULL argument");
		goto out;
	}
	if (len > ZITADEL_KEYFILE_MAX) {
		rc =
		    zt_error(err, ZITADEL_ERR_TOO_LARGE,
			     "key file %s: %zu bytes, more than the %d allowed",
			     name, len, ZITADEL_KEYFILE_MAX);
		goto out;
	}
	if (memchr(json, '\0', len) != NULL) {
		rc = zt_error(err, ZITADEL_ERR_KEYFILE,
			      "key file %s: holds a NUL byte", name);
		goto out;
	}

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_KEYFILE,
			     "key file %s: not valid JSON (line %d, column %d)",
			     name, jerr.line, jerr.column);
		goto out;
	}
	if (!json_is_object(root)) {
		rc = zt_error(err, ZITADEL_ERR_KEYFILE,
			      "key file %s: not a JSON object", name);
		goto out;
	}
	if ((k = zt_calloc(1, sizeof(*k))) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = fill(root, name, k, err)) != ZITADEL_OK)
		goto out;

	*out = k;
	k = NULL;
	rc = ZITADEL_OK;
out:
	json_decref(root);
	zitadel_keyfile_free(k);
	return rc;
}

zitadel_status zitadel_keyfile_load_fd(int fd, const char *name,
				       zitadel_keyfile **out,
				       zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_IO;
	char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (out != NULL)
		*out = NULL;
	if (name == NULL)
		name = "(descriptor)";
	if (fd < 0 || out == NULL) {
		rc = zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
			      "zitadel_keyfile_load_fd: bad argument");
		goto out;
	}

	/* The permission refusal is the key file's own, in ssh's spirit; the
	 * other checks (type, owner, size) are the shared reader's. */
	if (fstat(fd, &st) != 0) {
		rc =
		    zt_error(err, ZITADEL_ERR_IO, "cannot stat key file %s: %s",
			     name, strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
		rc = zt_error(
		    err, ZITADEL_ERR_KEYFILE_PERMISSIONS,
		    "key file %s has mode %04o: a private key must not be "
		    "accessible by group or others (chmod 600 %s)",
		    name, (unsigned)(st.st_mode & 07777), name);
		goto out;
	}
	rc = zt_read_fd_checked(fd, name, ZITADEL_KEYFILE_MAX, 1, &buf, &len,
				err);
	if (rc != ZITADEL_OK)
		goto out;
	rc = zitadel_keyfile_parse(buf, len, name, out, err);
out:
	if (buf != NULL) {
		zt_wipe(buf, len);
		free(buf);
	}
	return rc;
}

zitadel_status zitadel_keyfile_load(const char *path, zitadel_keyfile **out,
				    zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_IO;
	int fd = -1;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || *path == '\0' || out == NULL) {
		rc = zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
			      "zitadel_keyfile_load: no key file given");
		goto out;
	}

	/* O_NONBLOCK: a FIFO in place of the key file must not hang the
	 * open; zt_fd_require_regular refuses it and clears the flag. */
	fd = open(path,
		  O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			rc = zt_error(err, ZITADEL_ERR_KEYFILE_PERMISSIONS,
				      "key file %s is a symbolic link; "
				      "refusing to follow it",
				      path);
		else
			rc = zt_error(err, ZITADEL_ERR_IO,
				      "cannot open key file %s: %s", path,
				      strerror(errno));
		goto out;
	}
	rc = zt_fd_require_regular(fd, "key file", path,
				   ZITADEL_ERR_KEYFILE_PERMISSIONS, err);
	if (rc != ZITADEL_OK)
		goto out;
	rc = zitadel_keyfile_load_fd(fd, path, out, err);
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

zitadel_status zitadel_keyfile_load_credential(const char *name,
					       zitadel_keyfile **out,
					       zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INVALID_ARGUMENT;
	const char *dir;
	char *path = NULL;

	if (out != NULL)
		*out = NULL;
	if (name == NULL || *name == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || out == NULL) {
		rc = zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
			      "credential name must be a plain file name");
		goto out;
	}
	dir = secure_getenv("CREDENTIALS_DIRECTORY");
	if (dir == NULL || *dir == '\0') {
		rc = zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
			      "credential %s: CREDENTIALS_DIRECTORY is not set "
			      "(no systemd LoadCredential=?)",
			      name);
		goto out;
	}
	if ((path = zt_asprintf("%s/%s", dir, name)) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = zitadel_keyfile_load(path, out, err);
out:
	free(path);
	return rc;
}

zitadel_keyfile_type zitadel_keyfile_get_type(const zitadel_keyfile *key)
{
	return key != NULL ? key->type : 0;
}

const char *zitadel_keyfile_key_id(const zitadel_keyfile *key)
{
	return key != NULL ? key->key_id : NULL;
}

const char *zitadel_keyfile_subject(const zitadel_keyfile *key)
{
	return key != NULL ? key->subject : NULL;
}

const char *zitadel_keyfile_app_id(const zitadel_keyfile *key)
{
	return key != NULL ? key->app_id : NULL;
}

time_t zitadel_keyfile_expiration(const zitadel_keyfile *key)
{
	return key != NULL ? key->expiration : 0;
}

const char *zt_keyfile_pem(const zitadel_keyfile *key)
{
	return key != NULL ? key->pem : NULL;
}
