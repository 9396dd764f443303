/*
 * enroll.c: key enrollment. The key pair is made on this host, only the
 * public half is uploaded, and the key file is proven with a token exchange
 * before it is put in place; a failure takes back what was created.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "internal.h"

#define ENROLL_RSA_BITS 2048
#define TEMP_TRIES      8

/* What enroll made so far, so that a failure can take it back. */
typedef struct enrollment {
	char *tmp_path;
	int fd;
	char *priv_pem; /* secret */
	size_t priv_len;
	char *pub_pem;
	char *json; /* secret: the key file */
	size_t json_len;
	char *key_id; /* set once the server holds the public key */
} enrollment;

/* Copy a memory BIO's contents out and wipe the BIO's buffer. */
static char *bio_take(BIO *bio, size_t *len)
{
	char *data = NULL, *copy;
	long n = BIO_get_mem_data(bio, &data);

	*len = 0;
	if (n <= 0 || data == NULL)
		return NULL;
	copy = zt_malloc((size_t)n + 1);
	if (copy != NULL) {
		memcpy(copy, data, (size_t)n);
		copy[n] = '\0';
		*len = (size_t)n;
	}
	OPENSSL_cleanse(data, (size_t)n);
	return copy;
}

/* RSA 2048; the private key as PKCS#1 "RSA PRIVATE KEY" PEM like the keys
 * Zitadel makes itself, the public key as PKIX PEM as the upload needs. */
static zitadel_status keypair_make(enrollment *e, zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_CRYPTO;
	EVP_PKEY *pkey = NULL;
	BIO *priv = NULL, *pub = NULL;
	size_t pub_len;

	pkey = EVP_RSA_gen(ENROLL_RSA_BITS);
	if (pkey == NULL) {
		rc = zt_error(err, ZITADEL_ERR_CRYPTO,
			      "enroll: generating an RSA %d key failed",
			      ENROLL_RSA_BITS);
		goto out;
	}
	priv = BIO_new(BIO_s_secmem());
	pub = BIO_new(BIO_s_mem());
	if (priv == NULL || pub == NULL ||
	    PEM_write_bio_PrivateKey_traditional(priv, pkey, NULL, NULL, 0,
						 NULL, NULL) != 1 ||
	    PEM_write_bio_PUBKEY(pub, pkey) != 1) {
		rc = zt_error(err, ZITADEL_ERR_CRYPTO,
			      "enroll: writing the key pair as PEM failed");
		goto out;
	}
	e->priv_pem = bio_take(priv, &e->priv_len);
	e->pub_pem = bio_take(pub, &pub_len);
	if (e->priv_pem == NULL || e->pub_pem == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "enroll: out of memory");
		goto out;
	}

	rc = ZITADEL_OK;
out:
	BIO_free(priv);
	BIO_free(pub);
	EVP_PKEY_free(pkey);
	return rc;
}

/* Create "<dir>/.<name>.XXXXXXXX" next to path, 0600 from the start, so
 * the final rename stays inside one file system. */
static zitadel_status temp_create(const char *path, enrollment *e,
				  zitadel_error *err)
{
	const char *slash = strrchr(path, '/');
	unsigned char rnd[6];
	int dir_len, tries, saved;
	const char *base;

	base = slash != NULL ? slash + 1 : path;
	dir_len = slash != NULL ? (int)(slash - path) : 0;
	if (*base == '\0')
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"enroll: %s names a directory, not a file",
				path);
	for (tries = 0; tries < TEMP_TRIES; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return zt_error(err, ZITADEL_ERR_CRYPTO,
					"enroll: no random bytes");
		free(e->tmp_path);
		e->tmp_path =
		    zt_asprintf("%.*s%s.%s.%02x%02x%02x%02x%02x%02x", dir_len,
				path, slash != NULL ? "/" : "", base, rnd[0],
				rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
		if (e->tmp_path == NULL)
			return zt_error(err, ZITADEL_ERR_NOMEM,
					"enroll: out of memory");
		e->fd = open(
		    e->tmp_path,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (e->fd >= 0)
			break;
		if (errno != EEXIST) {
			saved = errno;
			free(e->tmp_path);
			e->tmp_path = NULL;
			return zt_error(err, ZITADEL_ERR_IO,
					"enroll: cannot create a file next to "
					"%s: %s",
					path, strerror(saved));
		}
	}
	if (e->fd < 0) {
		free(e->tmp_path);
		e->tmp_path = NULL;
		return zt_error(err, ZITADEL_ERR_IO,
				"enroll: cannot create a temporary file next "
				"to %s",
				path);
	}
	/* the umask may not loosen it, but make the mode exact */
	if (fchmod(e->fd, 0600) != 0)
		return zt_error(err, ZITADEL_ERR_IO, "enroll: chmod %s: %s",
				e->tmp_path, strerror(errno));
	return ZITADEL_OK;
}

/* Append s to p as the body of a JSON string. */
static char *json_escape(char *p, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (c < 0x20) {
			memcpy(p, "\\u00", 4);
			p[4] = hex[c >> 4];
			p[5] = hex[c & 15];
			p += 6;
		} else {
			*p++ = (char)c;
		}
	}
	return p;
}

/*
 * The key file in Zitadel's own field order. Built by hand rather than with
 * jansson so the private key lives only in buffers we wipe.
 */
static zitadel_status keyfile_json(enrollment *e, const char *user_id,
				   time_t expiration, zitadel_error *err)
{
	size_t cap;
	char when[40], *p;

	cap = 256 + 6 * (strlen(e->key_id) + e->priv_len + strlen(user_id));
	e->json = zt_malloc(cap);
	if (e->json == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"enroll: out of memory");
	p = e->json;
	p += sprintf(p, "{\"type\":\"serviceaccount\",\"keyId\":\"");
	p = json_escape(p, e->key_id);
	p += sprintf(p, "\",\"key\":\"");
	p = json_escape(p, e->priv_pem);
	if (expiration != 0) {
		zt_time_format(expiration, when, sizeof(when));
		p += sprintf(p, "\",\"expirationDate\":\"%s", when);
	}
	p += sprintf(p, "\",\"userId\":\"");
	p = json_escape(p, user_id);
	p += sprintf(p, "\"}");
	e->json_len = (size_t)(p - e->json);
	return ZITADEL_OK;
}

static zitadel_status temp_write(enrollment *e, zitadel_error *err)
{
	size_t done = 0;
	ssize_t n;

	while (done < e->json_len) {
		n = write(e->fd, e->json + done, e->json_len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return zt_error(err, ZITADEL_ERR_IO,
					"enroll: writing %s: %s", e->tmp_path,
					n < 0 ? strerror(errno)
					      : "no progress");
		done += (size_t)n;
	}
	if (fsync(e->fd) != 0)
		return zt_error(err, ZITADEL_ERR_IO, "enroll: fsync %s: %s",
				e->tmp_path, strerror(errno));
	if (close(e->fd) != 0) {
		e->fd = -1;
		return zt_error(err, ZITADEL_ERR_IO, "enroll: closing %s: %s",
				e->tmp_path, strerror(errno));
	}
	e->fd = -1;
	return ZITADEL_OK;
}

/* Load the written file as every caller will, and trade it for a token. */
static zitadel_status prove(zitadel_ctx *ctx, enrollment *e, zitadel_error *err)
{
	zitadel_keyfile *key = NULL;
	zitadel_token *tok = NULL;
	zitadel_status rc;

	rc = zitadel_keyfile_load(e->tmp_path, &key, err);
	if (rc == ZITADEL_OK)
		rc = zitadel_token_get(ctx, key, NULL, ZITADEL_TOKEN_NO_CACHE,
				       &tok, err);
	zitadel_token_free(tok);
	zitadel_keyfile_free(key);
	return rc;
}

/* Put the proven file in place. Without overwrite, link() fails rather
 * than replace a file that appeared since we looked. */
static zitadel_status place(const char *path, int overwrite, enrollment *e,
			    zitadel_error *err)
{
	if (overwrite) {
		if (rename(e->tmp_path, path) != 0)
			return zt_error(err, ZITADEL_ERR_IO,
					"enroll: renaming to %s: %s", path,
					strerror(errno));
	} else {
		if (link(e->tmp_path, path) != 0)
			return zt_error(err, ZITADEL_ERR_IO,
					"enroll: creating %s: %s", path,
					strerror(errno));
		(void)unlink(e->tmp_path);
	}
	free(e->tmp_path);
	e->tmp_path = NULL;
	return ZITADEL_OK;
}

static void dir_sync(zitadel_ctx *ctx, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	dir =
	    slash == NULL
		? zt_strdup(".")
		: zt_strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (dir == NULL)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		zt_log(ctx, ZITADEL_LOG_WARNING,
		       "enroll: could not sync directory %s", dir);
	if (fd >= 0)
		close(fd);
	free(dir);
}

/* Take back the uploaded key and the temporary file after a failure; the
 * original error stays first in err, with a note on what was left. */
static void undo(zitadel_ctx *ctx, const char *user_id, enrollment *e,
		 zitadel_error *err)
{
	zitadel_error rm = ZITADEL_ERROR_INIT;
	size_t used;

	if (e->fd >= 0) {
		close(e->fd);
		e->fd = -1;
	}
	if (e->tmp_path != NULL)
		(void)unlink(e->tmp_path);
	if (e->key_id == NULL)
		return;
	if (zitadel_machine_key_remove(ctx, user_id, e->key_id, NULL, &rm) ==
	    ZITADEL_OK) {
		zt_log(ctx, ZITADEL_LOG_INFO,
		       "enroll: removed the uploaded key %s again", e->key_id);
		return;
	}
	zt_log(ctx, ZITADEL_LOG_ERROR,
	       "enroll: key %s of user %s is left on the server: %s", e->key_id,
	       user_id, rm.message);
	if (err == NULL)
		return;
	used = strlen(err->message);
	snprintf(err->message + used, sizeof(err->message) - used,
		 "; cleanup failed, key %s is left on the server", e->key_id);
}

zitadel_status zitadel_machine_key_enroll(zitadel_ctx *ctx, const char *user_id,
					  time_t expiration, const char *path,
					  int overwrite, char **key_id_out,
					  zitadel_error *err)
{
	enrollment e = {NULL, -1, NULL, 0, NULL, NULL, 0, NULL};
	zitadel_machine_key_new req = {0, NULL};
	zitadel_machine_key_added *added = NULL;
	zitadel_status rc = ZITADEL_ERR_INTERNAL;
	struct stat st;

	if (key_id_out != NULL)
		*key_id_out = NULL;
	if (ctx == NULL || user_id == NULL || *user_id == '\0' ||
	    path == NULL || *path == '\0')
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"enroll: user id and key file path are "
				"required");
	if (!overwrite && lstat(path, &st) == 0)
		return zt_error(err, ZITADEL_ERR_IO,
				"enroll: %s exists; refusing to overwrite it",
				path);

	/* local steps first, so a full disk or a read-only directory fails
	 * before anything exists on the server */
	rc = temp_create(path, &e, err);
	if (rc == ZITADEL_OK)
		rc = keypair_make(&e, err);
	if (rc != ZITADEL_OK)
		goto out;

	req.expiration = expiration;
	req.public_key_pem = e.pub_pem;
	rc = zitadel_machine_key_add(ctx, user_id, &req, &added, err);
	if (rc != ZITADEL_OK)
		goto out;
	e.key_id = zt_strdup(added->key_id);
	if (e.key_id == NULL) {
		/* the server has a key we cannot name: say which */
		rc = zt_error(err, ZITADEL_ERR_NOMEM,
			      "enroll: out of memory after key %s was "
			      "uploaded",
			      added->key_id);
		goto out;
	}
	zt_log(ctx, ZITADEL_LOG_INFO, "enroll: uploaded public key %s for %s",
	       e.key_id, user_id);

	rc = keyfile_json(&e, user_id, expiration, err);
	if (rc == ZITADEL_OK)
		rc = temp_write(&e, err);
	if (rc == ZITADEL_OK)
		rc = prove(ctx, &e, err);
	if (rc == ZITADEL_OK)
		rc = place(path, overwrite, &e, err);
	if (rc != ZITADEL_OK)
		goto out;
	dir_sync(ctx, path);

	if (key_id_out != NULL) {
		*key_id_out = e.key_id;
		e.key_id = NULL;
	}
	rc = ZITADEL_OK;
out:
	if (rc != ZITADEL_OK)
		undo(ctx, user_id, &e, err);
	if (e.fd >= 0)
		close(e.fd);
	free(e.tmp_path);
	if (e.priv_pem != NULL) {
		zt_wipe(e.priv_pem, e.priv_len);
		free(e.priv_pem);
	}
	if (e.json != NULL) {
		zt_wipe(e.json, e.json_len);
		free(e.json);
	}
	free(e.pub_pem);
	free(e.key_id);
	zitadel_machine_key_added_free(added);
	return rc;
}
