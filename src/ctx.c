/*
 * ctx.c: the context (one issuer, how to reach it, whose credential) and
 * the two things every call needs from it: logging through the caller's
 * callback and the time budget of a public call.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "internal.h"

#define DEFAULT_CONNECT_MS   10000L
#define DEFAULT_TOTAL_MS     30000L
#define DEFAULT_MAX_ATTEMPTS 3u

static zitadel_status check_issuer(const char *issuer, zitadel_error *err)
{
	char clipped[ZT_LOG_CLIP + 4];
	const char *why;
	int may_echo;

	why = zt_issuer_problem(issuer, &may_echo);
	if (why == NULL)
		return ZITADEL_OK;
	if (!may_echo)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT, "issuer %s",
				why);
	zt_clip(issuer, strlen(issuer), clipped, sizeof(clipped));
	return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT, "issuer %s %s",
			clipped, why);
}

zitadel_status zitadel_ctx_new(const char *issuer, zitadel_ctx **out,
			       zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INVALID_ARGUMENT;
	zitadel_ctx *ctx = NULL;

	if (out != NULL)
		*out = NULL;
	if (issuer == NULL || out == NULL) {
		rc = zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
			      "no issuer given");
		goto out;
	}
	if ((rc = check_issuer(issuer, err)) != ZITADEL_OK)
		goto out;

	if ((ctx = zt_calloc(1, sizeof(*ctx))) == NULL ||
	    (ctx->issuer = zt_strdup(issuer)) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	ctx->connect_ms = DEFAULT_CONNECT_MS;
	ctx->total_ms = DEFAULT_TOTAL_MS;
	ctx->max_attempts = DEFAULT_MAX_ATTEMPTS;
	ctx->log_level = ZITADEL_LOG_WARNING;
	ctx->cache_enabled = 1;
	ctx->cache_margin = -1;
	zt_deadline_start(ctx);

	*out = ctx;
	ctx = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_ctx_free(ctx);
	return rc;
}

void zitadel_ctx_free(zitadel_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->curl != NULL)
		curl_easy_cleanup(ctx->curl);
	zitadel_token_free(ctx->mgmt_token);
	zt_free_secret(ctx->pat);
	zt_free_secret(ctx->client_secret);
	free(ctx->client_id);
	free(ctx->issuer);
	free(ctx->ca_file);
	free(ctx->org_id);
	free(ctx->cache_dir);
	free(ctx->token_endpoint);
	free(ctx->introspection_endpoint);
	zt_wipe(ctx, sizeof(*ctx));
	free(ctx);
}

const char *zitadel_ctx_issuer(const zitadel_ctx *ctx)
{
	return ctx != NULL ? ctx->issuer : NULL;
}

/* Replace *slot by a copy of value (NULL clears it). */
static zitadel_status set_string(char **slot, const char *value,
				 zitadel_error *err)
{
	char *copy = NULL;

	if (value != NULL && (copy = zt_strdup(value)) == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
	free(*slot);
	*slot = copy;
	return ZITADEL_OK;
}

/*
 * Checked when set, so that a wrong path is a config error now rather than
 * a TLS failure at the first request. Symbolic links are followed: system
 * CA bundles are often links. O_NONBLOCK keeps a FIFO from hanging the open.
 */
static zitadel_status check_ca_file(const char *path, zitadel_error *err)
{
	char shown[ZT_LOG_CLIP + 4];
	zitadel_status rc;
	int fd;

	zt_clip(path, strlen(path), shown, sizeof(shown));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return zt_error(err, ZITADEL_ERR_CONFIG, "CA file %s: %s",
				shown, strerror(errno));
	rc = zt_fd_require_regular(fd, "CA file", shown, ZITADEL_ERR_CONFIG,
				   err);
	close(fd);
	return rc;
}

zitadel_status zitadel_ctx_set_ca_file(zitadel_ctx *ctx, const char *path,
				       zitadel_error *err)
{
	zitadel_status rc;

	if (ctx == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"no context");
	if (path != NULL && *path == '\0')
		path = NULL;
	if (path != NULL && (rc = check_ca_file(path, err)) != ZITADEL_OK)
		return rc;
	return set_string(&ctx->ca_file, path, err);
}

void zitadel_ctx_set_timeouts(zitadel_ctx *ctx, long connect_ms, long total_ms)
{
	if (ctx == NULL)
		return;
	ctx->connect_ms = connect_ms > 0 ? connect_ms : DEFAULT_CONNECT_MS;
	ctx->total_ms = total_ms > 0 ? total_ms : DEFAULT_TOTAL_MS;
}

void zitadel_ctx_set_max_attempts(zitadel_ctx *ctx, unsigned attempts)
{
	if (ctx == NULL)
		return;
	ctx->max_attempts = attempts > 0 ? attempts : 1;
}

zitadel_status zitadel_ctx_set_org(zitadel_ctx *ctx, const char *org_id,
				   zitadel_error *err)
{
	if (ctx == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"no context");
	/* The value goes into a header line: refuse what could split it. */
	if (org_id != NULL && (*org_id == '\0' || strlen(org_id) > 200 ||
			       strpbrk(org_id, "\r\n") != NULL))
		return zt_error(
		    err, ZITADEL_ERR_INVALID_ARGUMENT,
		    "organisation id must be 1-200 characters on one line");
	return set_string(&ctx->org_id, org_id, err);
}

void zitadel_ctx_set_log(zitadel_ctx *ctx, zitadel_log_fn fn, void *userdata,
			 zitadel_log_level max_level)
{
	if (ctx == NULL)
		return;
	ctx->log_fn = fn;
	ctx->log_userdata = userdata;
	ctx->log_level = max_level;
}

/* Forget every credential so that the last one set wins. */
static void drop_credentials(zitadel_ctx *ctx)
{
	ctx->key = NULL;
	zt_free_secret(ctx->pat);
	ctx->pat = NULL;
	zt_free_secret(ctx->client_secret);
	ctx->client_secret = NULL;
	free(ctx->client_id);
	ctx->client_id = NULL;
	zitadel_token_free(ctx->mgmt_token);
	ctx->mgmt_token = NULL;
}

zitadel_status zitadel_ctx_set_key(zitadel_ctx *ctx, const zitadel_keyfile *key,
				   zitadel_error *err)
{
	if (ctx == NULL || key == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"zitadel_ctx_set_key: NULL argument");
	if (zitadel_keyfile_get_type(key) != ZITADEL_KEYFILE_SERVICEACCOUNT)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"key %s is an application key; management "
				"calls need a serviceaccount key",
				zitadel_keyfile_key_id(key));
	drop_credentials(ctx);
	ctx->key = key;
	return ZITADEL_OK;
}

/*
 * A PAT goes into an Authorization header as it is and a client secret into
 * one through Basic: only visible ASCII (0x21-0x7e) can neither break nor
 * forge a header. what names the secret; the secret itself is never shown.
 */
static zitadel_status check_secret(const char *what, const char *s,
				   zitadel_error *err)
{
	size_t len = strlen(s), i;

	if (len == 0)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s is empty", what);
	if (len > ZT_TOKEN_MAX)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s is longer than %d bytes", what,
				ZT_TOKEN_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f)
			return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
					"%s holds a space or control character",
					what);
		if (c > 0x7f)
			return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
					"%s holds a non-ASCII byte", what);
	}
	return ZITADEL_OK;
}

zitadel_status zitadel_ctx_set_pat(zitadel_ctx *ctx, const char *pat,
				   zitadel_error *err)
{
	zitadel_status rc;
	char *copy;

	if (ctx == NULL || pat == NULL || *pat == '\0')
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"zitadel_ctx_set_pat: no PAT given");
	if ((rc = check_secret("PAT", pat, err)) != ZITADEL_OK)
		return rc;
	if ((copy = zt_strdup(pat)) == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
	drop_credentials(ctx);
	ctx->pat = copy;
	return ZITADEL_OK;
}

zitadel_status zitadel_ctx_set_client_secret(zitadel_ctx *ctx,
					     const char *client_id,
					     const char *client_secret,
					     zitadel_error *err)
{
	char *id = NULL, *secret = NULL;
	zitadel_status rc;

	if (ctx == NULL || client_id == NULL || *client_id == '\0' ||
	    client_secret == NULL || *client_secret == '\0')
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"zitadel_ctx_set_client_secret: client id and "
				"secret are required");
	if ((rc = check_secret("client secret", client_secret, err)) !=
	    ZITADEL_OK)
		return rc;
	if ((id = zt_strdup(client_id)) == NULL ||
	    (secret = zt_strdup(client_secret)) == NULL) {
		free(id);
		return zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
	}
	drop_credentials(ctx);
	ctx->client_id = id;
	ctx->client_secret = secret;
	return ZITADEL_OK;
}

zitadel_status zitadel_ctx_set_cache(zitadel_ctx *ctx, const char *dir,
				     int enabled, zitadel_error *err)
{
	zitadel_status rc;

	if (ctx == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"no context");
	if (dir != NULL && *dir == '\0')
		dir = NULL;
	if ((rc = set_string(&ctx->cache_dir, dir, err)) != ZITADEL_OK)
		return rc;
	ctx->cache_enabled = enabled != 0;
	return ZITADEL_OK;
}

void zitadel_ctx_set_cache_margin(zitadel_ctx *ctx, long margin_seconds)
{
	if (ctx == NULL)
		return;
	ctx->cache_margin = margin_seconds >= 0 ? margin_seconds : -1;
}

void zt_log(const zitadel_ctx *ctx, zitadel_log_level level, const char *fmt,
	    ...)
{
	char line[ZITADEL_ERROR_MESSAGE_MAX];
	va_list ap;
	char *p;

	if (ctx == NULL || ctx->log_fn == NULL || level > ctx->log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);

	/* One line per call, whatever the arguments held. */
	for (p = line; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	ctx->log_fn(ctx->log_userdata, level, line);
	zt_wipe(line, sizeof(line));
}

static void now_monotonic(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

void zt_deadline_start(zitadel_ctx *ctx)
{
	struct timespec now;

	now_monotonic(&now);
	now.tv_sec += ctx->total_ms / 1000;
	now.tv_nsec += (ctx->total_ms % 1000) * 1000000L;
	if (now.tv_nsec >= 1000000000L) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000L;
	}
	ctx->deadline = now;
}

long zt_deadline_left_ms(const zitadel_ctx *ctx)
{
	struct timespec now;
	long long left;

	now_monotonic(&now);
	left = (long long)(ctx->deadline.tv_sec - now.tv_sec) * 1000 +
	       (ctx->deadline.tv_nsec - now.tv_nsec) / 1000000L;
	return left > 0 ? (long)left : 0;
}
