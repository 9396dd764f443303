/*
 * token.c: access tokens for callers: the cache first, then one bounded
 * fetch under the cache entry's lock so that concurrent callers make one
 * request; and the bearer for management calls.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Extra lock wait beyond the fetcher's own budget: its cleanup and write. */
#define LOCK_SLACK_MS 5000L
/* Renew the in-memory management token this long before it expires. */
#define MGMT_TOKEN_MARGIN_S 60

/* What to fetch on a miss: a key or a client id and secret. */
struct source {
	const zitadel_keyfile *key;
	const char *client_id;
	const char *client_secret;
};

static zitadel_status fetch(zitadel_ctx *ctx, const struct source *src,
			    const char *scope, zitadel_token **out,
			    zitadel_error *err)
{
	if (src->key != NULL)
		return zt_token_fetch_jwt(ctx, src->key, scope, out, err);
	return zt_token_fetch_client_credentials(
	    ctx, src->client_id, src->client_secret, scope, out, err);
}

/*
 * A cache failure other than an unsafe cache is logged and the caller goes
 * on without the cache: a token is worth more than a cached one. An unsafe
 * cache is never used and fails the call, so the user fixes it.
 */
static int cache_failed(zitadel_ctx *ctx, zitadel_status rc,
			zitadel_error *local, zitadel_error *err)
{
	if (rc == ZITADEL_ERR_CACHE_UNSAFE) {
		if (err != NULL && err->status == ZITADEL_OK)
			*err = *local;
		return 1;
	}
	zt_log(ctx, ZITADEL_LOG_WARNING, "token cache not used: %s",
	       local->message);
	zitadel_error_clear(local);
	return 0;
}

static zitadel_status lookup(zitadel_ctx *ctx, const char *dir,
			     const zt_cache_id *id, zitadel_token **out,
			     zitadel_error *err)
{
	zitadel_error local = ZITADEL_ERROR_INIT;
	zitadel_status rc;

	rc = zt_cache_lookup(dir, id, ctx->cache_margin, time(NULL), out,
			     &local);
	if (rc == ZITADEL_OK || !cache_failed(ctx, rc, &local, err))
		return ZITADEL_OK;
	return rc;
}

/* Fetch, then store; a failed store is only a warning (cache_failed). */
static zitadel_status fetch_and_store(zitadel_ctx *ctx, const char *dir,
				      const zt_cache_id *id,
				      const struct source *src,
				      zitadel_token **out, zitadel_error *err)
{
	zitadel_error local = ZITADEL_ERROR_INIT;
	zitadel_token *t = NULL;
	zitadel_status rc;

	if ((rc = fetch(ctx, src, id->scope, &t, err)) != ZITADEL_OK)
		return rc;
	if (dir != NULL) {
		rc = zt_cache_store(dir, id, t, &local);
		if (rc != ZITADEL_OK && cache_failed(ctx, rc, &local, err)) {
			zitadel_token_free(t);
			return rc;
		}
	}
	*out = t;
	return ZITADEL_OK;
}

/* The cache flow of both grants. The deadline must already be started. */
static zitadel_status get_token(zitadel_ctx *ctx, const zt_cache_id *id,
				const struct source *src, unsigned flags,
				zitadel_token **out, zitadel_error *err)
{
	zitadel_error local = ZITADEL_ERROR_INIT;
	zt_cache_lock *lock = NULL;
	zitadel_status rc = ZITADEL_ERR_INTERNAL;
	char *dir = NULL;
	long wait_ms;

	if (!ctx->cache_enabled || (flags & ZITADEL_TOKEN_NO_CACHE) != 0) {
		rc = fetch(ctx, src, id->scope, out, err);
		goto out;
	}
	if (ctx->cache_dir != NULL) {
		if ((dir = zt_strdup(ctx->cache_dir)) == NULL) {
			rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
			goto out;
		}
	} else if ((rc = zt_cache_dir_default(&dir, &local)) != ZITADEL_OK) {
		if (cache_failed(ctx, rc, &local, err))
			goto out;
		rc = fetch(ctx, src, id->scope, out, err);
		goto out;
	}

	if ((flags & ZITADEL_TOKEN_REFRESH) == 0) {
		if ((rc = lookup(ctx, dir, id, out, err)) != ZITADEL_OK)
			goto out;
		if (*out != NULL)
			goto out;
	}

	/* Wait longer than a fetcher may take, so that a live holder finishes
	 * first; a dead one releases the lock with its process. */
	wait_ms = ctx->total_ms + LOCK_SLACK_MS;
	if (wait_ms < ZT_CACHE_LOCK_WAIT_MS)
		wait_ms = ZT_CACHE_LOCK_WAIT_MS;
	rc = zt_cache_lock_take(dir, id, wait_ms, &lock, &local);
	if (rc != ZITADEL_OK) {
		if (cache_failed(ctx, rc, &local, err))
			goto out;
		rc = fetch_and_store(ctx, dir, id, src, out, err);
		goto out;
	}
	if ((flags & ZITADEL_TOKEN_REFRESH) == 0) {
		if ((rc = lookup(ctx, dir, id, out, err)) != ZITADEL_OK)
			goto out;
		if (*out != NULL)
			goto out;
	}
	/* The wait for the lock does not eat into this fetch's budget. */
	zt_deadline_start(ctx);
	rc = fetch_and_store(ctx, dir, id, src, out, err);
out:
	zt_cache_unlock(lock);
	free(dir);
	return rc;
}

static zitadel_status get_jwt(zitadel_ctx *ctx, const zitadel_keyfile *key,
			      const char *scope, unsigned flags,
			      zitadel_token **out, zitadel_error *err)
{
	struct source src = {key, NULL, NULL};
	zitadel_status rc;
	zt_cache_id id;
	char *norm;

	if ((norm = zt_scope_normalize(scope)) == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
	zt_cache_id_key(&id, ctx->issuer, key, norm);
	rc = get_token(ctx, &id, &src, flags, out, err);
	free(norm);
	return rc;
}

static zitadel_status get_client(zitadel_ctx *ctx, const char *client_id,
				 const char *client_secret, const char *scope,
				 unsigned flags, zitadel_token **out,
				 zitadel_error *err)
{
	struct source src = {NULL, client_id, client_secret};
	zitadel_status rc;
	zt_cache_id id;
	char *norm;

	if ((norm = zt_scope_normalize(scope)) == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
	zt_cache_id_client(&id, ctx->issuer, client_id, norm);
	rc = get_token(ctx, &id, &src, flags, out, err);
	free(norm);
	return rc;
}

zitadel_status zitadel_token_get(zitadel_ctx *ctx, const zitadel_keyfile *key,
				 const char *scope, unsigned flags,
				 zitadel_token **out, zitadel_error *err)
{
	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || key == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"zitadel_token_get: NULL argument");
	if (zitadel_keyfile_get_type(key) != ZITADEL_KEYFILE_SERVICEACCOUNT)
		return zt_error(
		    err, ZITADEL_ERR_INVALID_ARGUMENT,
		    "key %s is an application key; the token exchange needs a "
		    "serviceaccount key (a machine user's key)",
		    zitadel_keyfile_key_id(key));
	zt_deadline_start(ctx);
	return get_jwt(ctx, key, scope, flags, out, err);
}

zitadel_status zitadel_token_get_client_credentials(
    zitadel_ctx *ctx, const char *client_id, const char *client_secret,
    const char *scope, unsigned flags, zitadel_token **out, zitadel_error *err)
{
	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || client_id == NULL || *client_id == '\0' ||
	    client_secret == NULL || *client_secret == '\0' || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"zitadel_token_get_client_credentials: client "
				"id and secret are required");
	zt_deadline_start(ctx);
	return get_client(ctx, client_id, client_secret, scope, flags, out,
			  err);
}

zitadel_status zitadel_token_cache_erase(zitadel_ctx *ctx,
					 const zitadel_keyfile *key,
					 const char *scope, zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_NOMEM;
	char *norm = NULL;
	zt_cache_id id;

	if (ctx == NULL || key == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"zitadel_token_cache_erase: NULL argument");
	if ((norm = zt_scope_normalize(scope)) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* A NULL directory is the default one for every zt_cache_ call. */
	zt_cache_id_key(&id, ctx->issuer, key, norm);
	rc = zt_cache_erase(ctx->cache_dir, &id, NULL, err);
out:
	free(norm);
	return rc;
}

/* The in-memory management token is good for this call. */
static int mgmt_token_fresh(const zitadel_ctx *ctx)
{
	return ctx->mgmt_token != NULL &&
	       ctx->mgmt_token->expires_at - MGMT_TOKEN_MARGIN_S > time(NULL);
}

/*
 * The caller of this has started the call's deadline; the token fetch
 * shares it rather than starting its own, so that a management call stays
 * within one total timeout.
 */
zitadel_status zt_mgmt_bearer(zitadel_ctx *ctx, const char **out,
			      zitadel_error *err)
{
	zitadel_token *t = NULL;
	zitadel_status rc;

	*out = NULL;
	if (ctx->pat != NULL) {
		*out = ctx->pat;
		return ZITADEL_OK;
	}
	if (mgmt_token_fresh(ctx)) {
		*out = ctx->mgmt_token->access_token;
		return ZITADEL_OK;
	}
	if (ctx->key != NULL)
		rc = get_jwt(ctx, ctx->key, ZITADEL_DEFAULT_SCOPE, 0, &t, err);
	else if (ctx->client_id != NULL && ctx->client_secret != NULL)
		rc = get_client(ctx, ctx->client_id, ctx->client_secret,
				ZITADEL_DEFAULT_SCOPE, 0, &t, err);
	else
		return zt_error(err, ZITADEL_ERR_NOT_CONFIGURED,
				"no credential for management calls: set a "
				"key, a PAT or a client secret");
	if (rc != ZITADEL_OK)
		return rc;
	zitadel_token_free(ctx->mgmt_token);
	ctx->mgmt_token = t;
	*out = t->access_token;
	return ZITADEL_OK;
}
