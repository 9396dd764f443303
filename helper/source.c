/*
 * source.c: where the helper's token comes from. A hit is answered with
 * libzitadel-core alone (key file, cache entry); only a miss opens the full
 * libzitadel with dlopen, so that a hit never maps libcurl, libcrypto or
 * libjwt. helper/ARCHITECTURE.md explains the split.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helper.h"
#include "internal.h"

#ifndef ZT_LIBDIR
#define ZT_LIBDIR "/usr/local/lib"
#endif

/*
 * The public functions of the dlopen'ed library. Objects passed to them
 * are made by that same copy: the helper's static core holds its own
 * zitadel_keyfile and zitadel_token code, and the two must never meet.
 */
struct lib {
	void *handle;
	zitadel_status (*ctx_new)(const char *, zitadel_ctx **,
				  zitadel_error *);
	void (*ctx_free)(zitadel_ctx *);
	zitadel_status (*ctx_set_ca_file)(zitadel_ctx *, const char *,
					  zitadel_error *);
	void (*ctx_set_timeouts)(zitadel_ctx *, long, long);
	zitadel_status (*ctx_set_cache)(zitadel_ctx *, const char *, int,
					zitadel_error *);
	void (*ctx_set_cache_margin)(zitadel_ctx *, long);
	void (*ctx_set_log)(zitadel_ctx *, zitadel_log_fn, void *,
			    zitadel_log_level);
	zitadel_status (*keyfile_load)(const char *, zitadel_keyfile **,
				       zitadel_error *);
	zitadel_status (*keyfile_load_credential)(const char *,
						  zitadel_keyfile **,
						  zitadel_error *);
	void (*keyfile_free)(zitadel_keyfile *);
	zitadel_status (*token_get)(zitadel_ctx *, const zitadel_keyfile *,
				    const char *, unsigned, zitadel_token **,
				    zitadel_error *);
	zitadel_status (*token_get_client_credentials)(
	    zitadel_ctx *, const char *, const char *, const char *, unsigned,
	    zitadel_token **, zitadel_error *);
	void (*token_free)(zitadel_token *);
	const char *(*strerror)(zitadel_status);
};

static struct lib lib;

#define SYM(field, name)                                                       \
	{                                                                      \
		name, (void **)&lib.field                                      \
	}

static const struct {
	const char *name;
	void **slot;
} symbols[] = {
    SYM(ctx_new, "zitadel_ctx_new"),
    SYM(ctx_free, "zitadel_ctx_free"),
    SYM(ctx_set_ca_file, "zitadel_ctx_set_ca_file"),
    SYM(ctx_set_timeouts, "zitadel_ctx_set_timeouts"),
    SYM(ctx_set_cache, "zitadel_ctx_set_cache"),
    SYM(ctx_set_cache_margin, "zitadel_ctx_set_cache_margin"),
    SYM(ctx_set_log, "zitadel_ctx_set_log"),
    SYM(keyfile_load, "zitadel_keyfile_load"),
    SYM(keyfile_load_credential, "zitadel_keyfile_load_credential"),
    SYM(keyfile_free, "zitadel_keyfile_free"),
    SYM(token_get, "zitadel_token_get"),
    SYM(token_get_client_credentials, "zitadel_token_get_client_credentials"),
    SYM(token_free, "zitadel_token_free"),
    SYM(strerror, "zitadel_strerror"),
};

/*
 * Open libzitadel: $ZITADEL_LIBZITADEL when set (the test suite points it
 * at the build tree; ignored in setuid runs by secure_getenv), else the
 * installed copy in LIBDIR, else the soname through the loader's path.
 */
static int lib_open(int cache_enabled, zh_fail *fail)
{
	const char *env = secure_getenv("ZITADEL_LIBZITADEL");
	const char *path = ZT_LIBDIR "/" ZITADEL_SONAME;
	char first[512] = "";
	const char *why;
	size_t i;

	if (lib.handle != NULL)
		return ZH_EXIT_OK;
	if (env != NULL && *env != '\0')
		path = env;
	lib.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (lib.handle == NULL && (env == NULL || *env == '\0')) {
		/* Keep the first reason: a broken install in LIBDIR matters
		 * more than the soname's absence from the loader's path. */
		why = dlerror();
		snprintf(first, sizeof(first), "%s; ",
			 why != NULL ? why : path);
		path = ZITADEL_SONAME;
		lib.handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	}
	if (lib.handle == NULL) {
		why = dlerror();
		return zh_failf(fail, ZH_EXIT_LOCAL,
				"cannot load libzitadel for a token request: "
				"%s%s",
				first, why != NULL ? why : path);
	}
	zh_debug("%s: loaded %s",
		 cache_enabled ? "cache miss" : "cache not used", path);

	for (i = 0; i < sizeof(symbols) / sizeof(symbols[0]); i++) {
		*symbols[i].slot = dlsym(lib.handle, symbols[i].name);
		if (*symbols[i].slot == NULL)
			return zh_failf(fail, ZH_EXIT_LOCAL,
					"libzitadel (%s) lacks %s; is it "
					"older than this helper?",
					path, symbols[i].name);
	}
	return ZH_EXIT_OK;
}

static void log_to_stderr(void *userdata, zitadel_log_level level,
			  const char *message)
{
	static const char *const names[] = {"error", "warning", "info",
					    "debug"};

	(void)userdata;
	fprintf(stderr, "%s: %s: %s\n", zh_prog,
		(unsigned)level < 4 ? names[level] : "log", message);
}

/* The context a miss needs: issuer, TLS, time bounds, cache, logging. */
static int lib_ctx(const zh_target *t, zitadel_ctx **out, zh_fail *fail)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_ctx *ctx = NULL;
	zitadel_status st;
	int rc = ZH_EXIT_LOCAL;

	*out = NULL;
	st = lib.ctx_new(t->issuer, &ctx, &err);
	if (st != ZITADEL_OK) {
		rc = zh_fail_lib(fail, st, &err, lib.strerror, NULL);
		goto out;
	}
	if (zh_verbose)
		lib.ctx_set_log(ctx, log_to_stderr, NULL, ZITADEL_LOG_DEBUG);
	if (t->ca_file != NULL) {
		st = lib.ctx_set_ca_file(ctx, t->ca_file, &err);
		if (st != ZITADEL_OK) {
			rc = zh_fail_lib(fail, st, &err, lib.strerror, NULL);
			goto out;
		}
	}
	if (t->connect_ms > 0 || t->total_ms > 0)
		lib.ctx_set_timeouts(ctx, t->connect_ms, t->total_ms);
	st = lib.ctx_set_cache(ctx, t->cache_dir, t->cache_enabled, &err);
	if (st != ZITADEL_OK) {
		rc = zh_fail_lib(fail, st, &err, lib.strerror, "cache");
		goto out;
	}
	lib.ctx_set_cache_margin(ctx, t->margin);

	*out = ctx;
	ctx = NULL;
	rc = ZH_EXIT_OK;
out:
	if (ctx != NULL)
		lib.ctx_free(ctx);
	return rc;
}

/* The key's half of a miss: the library loads the key file itself (its
 * own copy of the core must not see the helper's keyfile object). */
static int lib_token_by_key(const zh_target *t, zitadel_ctx *ctx,
			    zitadel_token **token, zh_fail *fail)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *key = NULL;
	zitadel_status st;
	int rc;

	if (t->key_file != NULL)
		st = lib.keyfile_load(t->key_file, &key, &err);
	else
		st = lib.keyfile_load_credential(t->key_credential, &key, &err);
	if (st != ZITADEL_OK) {
		rc = zh_failf(
		    fail,
		    st == ZITADEL_ERR_NOMEM ? ZH_EXIT_LOCAL : ZH_EXIT_KEYFILE,
		    "%s",
		    err.message[0] != '\0' ? err.message : lib.strerror(st));
		goto out;
	}
	st = lib.token_get(ctx, key, t->scope,
			   t->cache_enabled ? 0 : ZITADEL_TOKEN_NO_CACHE, token,
			   &err);
	if (st != ZITADEL_OK) {
		rc = zh_fail_lib(fail, st, &err, lib.strerror, "token request");
		goto out;
	}
	rc = ZH_EXIT_OK;
out:
	if (key != NULL)
		lib.keyfile_free(key);
	return rc;
}

/*
 * The miss: zitadel_token_get (or its client-credentials twin) takes the
 * entry's lock, looks again (another process may have fetched meanwhile),
 * fetches and stores. secret is the client secret for ZH_CRED_SECRET, a
 * plain string the library copies as it needs.
 */
static int fetch_via_lib(const zh_target *t, const char *secret, zh_token *out,
			 zh_fail *fail)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_ctx *ctx = NULL;
	zitadel_token *token = NULL;
	zitadel_status st;
	int rc;

	rc = lib_open(t->cache_enabled, fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = lib_ctx(t, &ctx, fail);
	if (rc != ZH_EXIT_OK)
		goto out;

	if (t->cred == ZH_CRED_SECRET) {
		st = lib.token_get_client_credentials(
		    ctx, t->client_id, secret, t->scope,
		    t->cache_enabled ? 0 : ZITADEL_TOKEN_NO_CACHE, &token,
		    &err);
		if (st != ZITADEL_OK) {
			rc = zh_fail_lib(fail, st, &err, lib.strerror,
					 "token request");
			goto out;
		}
	} else {
		rc = lib_token_by_key(t, ctx, &token, fail);
		if (rc != ZH_EXIT_OK)
			goto out;
	}
	zh_debug("token %s, expires in %ld s",
		 token->from_cache ? "from the cache after waiting" : "fetched",
		 (long)(token->expires_at - time(NULL)));

	out->token = token;
	out->free_fn = lib.token_free;
	out->expiry_known = 1;
	out->margin =
	    zt_cache_margin(t->margin, token->obtained_at, token->expires_at);
	token = NULL;
	rc = ZH_EXIT_OK;
out:
	if (token != NULL)
		lib.token_free(token);
	if (ctx != NULL)
		lib.ctx_free(ctx);
	return rc;
}

/* The core's own key-file load: the same checks the library makes, so a
 * world-readable key is refused even while the cache is warm. */
static int core_key(const zh_target *t, zitadel_keyfile **key, zh_fail *fail)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_status st;

	if (t->key_file != NULL)
		st = zitadel_keyfile_load(t->key_file, key, &err);
	else
		st = zitadel_keyfile_load_credential(t->key_credential, key,
						     &err);
	if (st != ZITADEL_OK)
		return zh_failf(fail,
				st == ZITADEL_ERR_NOMEM ? ZH_EXIT_LOCAL
							: ZH_EXIT_KEYFILE,
				"%s",
				err.message[0] != '\0' ? err.message
						       : zitadel_strerror(st));
	if (zitadel_keyfile_get_type(*key) != ZITADEL_KEYFILE_SERVICEACCOUNT)
		return zh_failf(fail, ZH_EXIT_KEYFILE,
				"key file %s is an application key; the "
				"helper needs a machine user's key "
				"(type serviceaccount)",
				t->key_file != NULL ? t->key_file
						    : t->key_credential);
	return ZH_EXIT_OK;
}

/* Where the entry is: the directory, and w (from zt_cache_id_key or
 * zt_cache_id_client, the identity token.c uses too) with its normalised
 * scope filled in. */
static int cache_where(const zh_target *t, const zt_cache_id *w, char **dir,
		       char **scope, zt_cache_id *id, zh_fail *fail)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_status st;

	*dir = NULL;
	*scope = zt_scope_normalize(t->scope);
	if (*scope == NULL)
		return zh_failf(fail, ZH_EXIT_LOCAL, "out of memory");
	if (t->cache_dir != NULL) {
		*dir = zt_strdup(t->cache_dir);
		if (*dir == NULL)
			return zh_failf(fail, ZH_EXIT_LOCAL, "out of memory");
	} else {
		st = zt_cache_dir_default(dir, &err);
		if (st != ZITADEL_OK)
			return zh_fail_lib(fail, st, &err, zitadel_strerror,
					   "cache");
	}
	*id = *w;
	id->scope = *scope;
	return ZH_EXIT_OK;
}

static int cache_hit(const zh_target *t, const zt_cache_id *w, zh_token *out,
		     zh_fail *fail)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_token *token = NULL;
	zh_fail local = {0, ""};
	zt_cache_id id;
	char *dir = NULL, *scope = NULL;
	zitadel_status st;
	int rc;

	rc = cache_where(t, w, &dir, &scope, &id, &local);
	if (rc != ZH_EXIT_OK) {
		/* As in token.c: a cache that cannot be used is left to the
		 * library, which fetches without it. */
		zh_debug("cache not used: %s", local.message);
		rc = ZH_EXIT_OK;
		goto out;
	}
	st = zt_cache_lookup(dir, &id, t->margin, time(NULL), &token, &err);
	if (st == ZITADEL_ERR_CACHE_UNSAFE) {
		rc = zh_fail_lib(fail, st, &err, zitadel_strerror, "cache");
		goto out;
	}
	if (st != ZITADEL_OK) {
		zh_debug("cache not used: %s", err.message);
		goto out;
	}
	if (token == NULL) {
		zh_debug("cache miss in %s", dir);
		goto out;
	}
	zh_debug("cache hit in %s, expires in %ld s", dir,
		 (long)(token->expires_at - time(NULL)));
	out->token = token;
	out->free_fn = zitadel_token_free;
	out->expiry_known = 1;
	out->margin =
	    zt_cache_margin(t->margin, token->obtained_at, token->expires_at);
out:
	free(dir);
	free(scope);
	return rc;
}

/* A secret file (PAT or client secret) through the core's checks: a
 * regular file of ours, no group or other access, one line. */
static int read_secret(const char *what, const char *path, char **out,
		       zh_fail *fail)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_status st;

	st = zt_read_secret_file(path, out, &err);
	if (st != ZITADEL_OK)
		return zh_failf(fail,
				st == ZITADEL_ERR_NOMEM ? ZH_EXIT_LOCAL
							: ZH_EXIT_KEYFILE,
				"%s: %s", what,
				err.message[0] != '\0' ? err.message
						       : zitadel_strerror(st));
	return ZH_EXIT_OK;
}

/* Visible ASCII only: the PAT is written into git's line protocol and
 * HTTP headers as it is, so a space or control byte could forge a line. */
static int pat_chars_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

/*
 * A PAT is the bearer token itself: no exchange, no cache, no libzitadel.
 * Its expiry is not known here (only the management API can tell), so
 * expiry_known stays 0 and the faces announce none.
 */
static int pat_token(const zh_target *t, zh_token *out, zh_fail *fail)
{
	zitadel_token *token = NULL;
	char *pat = NULL;
	int rc;

	rc = read_secret("PAT file", t->pat_file, &pat, fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	if (!pat_chars_ok(pat)) {
		rc = zh_failf(fail, ZH_EXIT_KEYFILE,
			      "PAT file: %s holds a space or control "
			      "character; a PAT is one word of visible ASCII",
			      t->pat_file);
		goto out;
	}
	rc = ZH_EXIT_LOCAL;
	token = zt_calloc(1, sizeof(*token));
	if (token == NULL) {
		zh_failf(fail, rc, "out of memory");
		goto out;
	}
	token->token_type = zt_strdup("Bearer");
	if (token->token_type == NULL) {
		zh_failf(fail, rc, "out of memory");
		goto out;
	}
	token->access_token = pat;
	pat = NULL;
	token->obtained_at = time(NULL);
	zh_debug("PAT from %s; no exchange, expiry unknown", t->pat_file);

	out->token = token;
	out->free_fn = zitadel_token_free;
	token = NULL;
	rc = ZH_EXIT_OK;
out:
	zitadel_token_free(token);
	zt_free_secret(pat);
	return rc;
}

/* The key's way: the core loads and checks the key file, which a hit
 * needs for the entry's identity; a miss goes to the library. */
static int key_token(const zh_target *t, zh_token *out, zh_fail *fail)
{
	zitadel_keyfile *key = NULL;
	zt_cache_id w;
	int rc;

	rc = core_key(t, &key, fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	if (t->cache_enabled) {
		zt_cache_id_key(&w, t->issuer, key, NULL);
		rc = cache_hit(t, &w, out, fail);
		if (rc != ZH_EXIT_OK || out->token != NULL)
			goto out;
	}
	zitadel_keyfile_free(key);
	key = NULL;
	rc = fetch_via_lib(t, NULL, out, fail);
out:
	zitadel_keyfile_free(key);
	return rc;
}

/* The client secret's way. The file is read (and checked) on a hit too,
 * so a secret that others can read is refused while the cache is warm,
 * as a key is; it is wiped as soon as the token is there. */
static int secret_token(const zh_target *t, zh_token *out, zh_fail *fail)
{
	char *secret = NULL;
	zt_cache_id w;
	int rc;

	rc = read_secret("client secret file", t->client_secret_file, &secret,
			 fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	if (t->cache_enabled) {
		zt_cache_id_client(&w, t->issuer, t->client_id, NULL);
		rc = cache_hit(t, &w, out, fail);
		if (rc != ZH_EXIT_OK || out->token != NULL)
			goto out;
	}
	rc = fetch_via_lib(t, secret, out, fail);
out:
	zt_free_secret(secret);
	return rc;
}

int zh_token_get(const zh_target *t, zh_token *out, zh_fail *fail)
{
	memset(out, 0, sizeof(*out));
	switch (t->cred) {
	case ZH_CRED_PAT:
		return pat_token(t, out, fail);
	case ZH_CRED_SECRET:
		return secret_token(t, out, fail);
	default:
		return key_token(t, out, fail);
	}
}

void zh_token_release(zh_token *tok)
{
	if (tok->token != NULL && tok->free_fn != NULL)
		tok->free_fn(tok->token);
	memset(tok, 0, sizeof(*tok));
}

int zh_token_erase(const zh_target *t, zh_fail *fail)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *key = NULL;
	char *dir = NULL, *scope = NULL;
	zt_cache_id id;
	zitadel_status st;
	zt_cache_id w;
	int rc, erased = 0;

	if (t->cred == ZH_CRED_PAT) {
		zh_debug("a PAT is never cached; nothing to erase");
		return ZH_EXIT_OK;
	}
	if (t->cred == ZH_CRED_SECRET) {
		/* The identity needs only the client id: the secret file is
		 * not read. */
		zt_cache_id_client(&w, t->issuer, t->client_id, NULL);
	} else {
		rc = core_key(t, &key, fail);
		if (rc != ZH_EXIT_OK)
			goto out;
		zt_cache_id_key(&w, t->issuer, key, NULL);
	}
	rc = cache_where(t, &w, &dir, &scope, &id, fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	st = zt_cache_erase(dir, &id, &erased, &err);
	if (st != ZITADEL_OK) {
		rc = zh_fail_lib(fail, st, &err, zitadel_strerror, "cache");
		goto out;
	}
	if (erased)
		zh_debug("cache entry erased in %s", dir);
	else
		zh_debug("no cache entry to erase in %s", dir);
	rc = ZH_EXIT_OK;
out:
	free(dir);
	free(scope);
	zitadel_keyfile_free(key);
	return rc;
}

time_t zh_token_announce_expiry(const zh_token *tok, time_t now)
{
	time_t at = tok->token->expires_at - tok->margin;

	return at > now ? at : tok->token->expires_at;
}
