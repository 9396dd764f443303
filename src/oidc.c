/*
 * oidc.c: the OAuth/OIDC side of Zitadel: discovery, the jwt-bearer and
 * client_credentials token requests, token responses, and introspection
 * with a client assertion or client secret.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "internal.h"

#define JWT_BEARER_GRANT "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
#define CLIENT_ASSERTION_TYPE                                                  \
	"urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
#define FORM "application/x-www-form-urlencoded"
/* Ten years: anything longer is not a token lifetime but a bug. */
#define EXPIRES_IN_MAX (10L * 366 * 24 * 3600)
#define ROLES_CLAIM    "urn:zitadel:iam:org:project:roles"

struct zitadel_introspection {
	json_t *root;
	int active;
	time_t exp;
};

/* One request built before every attempt; body may hold secrets. */
struct call {
	zitadel_ctx *ctx;
	const char *method;
	const char *url;
	const zitadel_keyfile *key; /* signs a fresh assertion per attempt */
	const char *form;           /* form fields before the assertion */
	const char *assertion_field;
	const char *basic_user;
	const char *basic_password;
	char *body;
	unsigned attempts;
};

static zitadel_status build_call(void *userdata, unsigned attempt,
				 zt_http_request *req, zitadel_error *err)
{
	struct call *c = userdata;
	char *assertion = NULL, *escaped = NULL;
	zitadel_status rc = ZITADEL_ERR_NOMEM;

	c->attempts = attempt + 1;
	zt_free_secret(c->body);
	c->body = NULL;
	if (c->key != NULL) {
		rc = zt_assertion_build(c->key, c->ctx->issuer, time(NULL),
					&assertion, err);
		if (rc != ZITADEL_OK)
			goto out;
		if ((escaped = zt_url_escape(assertion)) == NULL ||
		    (c->body = zt_asprintf("%s&%s=%s", c->form,
					   c->assertion_field, escaped)) ==
			NULL) {
			rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
			goto out;
		}
	} else if (c->form != NULL && (c->body = zt_strdup(c->form)) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}

	req->method = c->method;
	req->url = c->url;
	req->content_type = c->body != NULL ? FORM : NULL;
	req->body = c->body;
	req->body_len = c->body != NULL ? strlen(c->body) : 0;
	req->basic_user = c->basic_user;
	req->basic_password = c->basic_password;
	rc = ZITADEL_OK;
out:
	zt_free_secret(assertion);
	zt_free_secret(escaped);
	return rc;
}

static void host_of(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://"), *end;

	p = p != NULL ? p + 3 : url;
	end = strchr(p, '/');
	zt_clip(p, end != NULL ? (size_t)(end - p) : strlen(p), out, size);
}

/* An endpoint from discovery: an https URL on one line. */
static zitadel_status endpoint(json_t *doc, const char *field, int required,
			       char **out, zitadel_error *err)
{
	json_t *v = json_object_get(doc, field);
	const char *s;

	*out = NULL;
	if (v == NULL && !required)
		return ZITADEL_OK;
	if (!json_is_string(v))
		return zt_error(err, ZITADEL_ERR_PROTOCOL,
				"discovery document has no string \"%s\"",
				field);
	s = json_string_value(v);
	if (strncmp(s, "https://", 8) != 0 || strlen(s) > 2048 ||
	    strpbrk(s, " \r\n") != NULL)
		return zt_error(
		    err, ZITADEL_ERR_PROTOCOL,
		    "discovery document: \"%s\" is not an https URL", field);
	if ((*out = zt_strdup(s)) == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
	return ZITADEL_OK;
}

zitadel_status zt_discovery_parse(zitadel_ctx *ctx, const char *body,
				  size_t len, zitadel_error *err)
{
	char got[ZT_LOG_CLIP + 4], want[ZT_LOG_CLIP + 4];
	char *token = NULL, *introspect = NULL;
	zitadel_status rc = ZITADEL_ERR_PROTOCOL;
	json_t *doc, *iss;

	doc = json_loadb(body, len, 0, NULL);
	if (!json_is_object(doc)) {
		rc = zt_error(err, ZITADEL_ERR_PROTOCOL,
			      "discovery document from %s is not a JSON object",
			      ctx->issuer);
		goto out;
	}
	iss = json_object_get(doc, "issuer");
	if (!json_is_string(iss) ||
	    strcmp(json_string_value(iss), ctx->issuer) != 0) {
		zt_clip(json_is_string(iss) ? json_string_value(iss) : "(none)",
			json_is_string(iss) ? json_string_length(iss) : 6, got,
			sizeof(got));
		zt_clip(ctx->issuer, strlen(ctx->issuer), want, sizeof(want));
		rc = zt_error(
		    err, ZITADEL_ERR_PROTOCOL,
		    "discovery document names issuer %s, but the configured "
		    "issuer is %s (they must match exactly)",
		    got, want);
		goto out;
	}
	if ((rc = endpoint(doc, "token_endpoint", 1, &token, err)) != 0 ||
	    (rc = endpoint(doc, "introspection_endpoint", 0, &introspect,
			   err)) != 0)
		goto out;

	free(ctx->token_endpoint);
	free(ctx->introspection_endpoint);
	ctx->token_endpoint = token;
	ctx->introspection_endpoint = introspect;
	token = introspect = NULL;
	rc = ZITADEL_OK;
out:
	free(token);
	free(introspect);
	json_decref(doc);
	return rc;
}

/*
 * The discovery document is kept beside the cached tokens for an hour, so
 * that a cache miss costs one request to the server, not two. A kept
 * document that no longer parses, or names another issuer, is fetched anew.
 */
#define DISCOVERY_MAX_AGE 3600

static void discovery_name(const zitadel_ctx *ctx, char *buf, size_t size)
{
	snprintf(buf, size, "discovery-%016llx.json",
		 zt_fnv1a(ZT_FNV_INIT, ctx->issuer, strlen(ctx->issuer)));
}

static int discover_from_cache(zitadel_ctx *ctx, const char *name)
{
	zitadel_error ignored = ZITADEL_ERROR_INIT;
	char *doc = NULL;
	size_t len = 0;
	int found;

	if (zt_cache_doc_read(ctx->cache_dir, name, DISCOVERY_MAX_AGE,
			      time(NULL), &doc, &len, &ignored) != ZITADEL_OK ||
	    doc == NULL)
		return 0;
	found = zt_discovery_parse(ctx, doc, len, &ignored) == ZITADEL_OK;
	free(doc);
	if (found)
		zt_log(ctx, ZITADEL_LOG_DEBUG,
		       "discovery document from the cache");
	return found;
}

zitadel_status zt_discover(zitadel_ctx *ctx, zitadel_error *err)
{
	zitadel_error ignored = ZITADEL_ERROR_INIT;
	zt_http_response resp = {0};
	struct call c = {0};
	char name[64];
	zitadel_status rc;
	char *url = NULL;

	if (ctx->token_endpoint != NULL)
		return ZITADEL_OK;
	discovery_name(ctx, name, sizeof(name));
	if (ctx->cache_enabled && discover_from_cache(ctx, name))
		return ZITADEL_OK;

	if ((url = zt_asprintf("%s/.well-known/openid-configuration",
			       ctx->issuer)) == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
	c.ctx = ctx;
	c.method = "GET";
	c.url = url;

	rc = zt_http_send(ctx, ZT_RETRY_ALL, build_call, &c, &resp, err);
	if (rc != ZITADEL_OK)
		goto out;
	if ((rc = zt_http_status(&resp, "discovery", err)) != ZITADEL_OK)
		goto out;
	rc = zt_discovery_parse(ctx, resp.body, resp.body_len, err);

	/* Best effort: the token path reports an unusable cache itself. */
	if (rc == ZITADEL_OK && ctx->cache_enabled)
		(void)zt_cache_doc_write(ctx->cache_dir, name, resp.body,
					 resp.body_len, &ignored);
out:
	zt_http_response_free(&resp);
	free(url);
	return rc;
}

/* ---- token responses -------------------------------------------------- */

/* A token goes into header lines later: visible ASCII only. */
static int token_chars_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

zitadel_status zt_token_parse(const char *body, size_t len, time_t now,
			      zitadel_token **out, zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_PROTOCOL;
	zitadel_token *t = NULL;
	json_t *root = NULL, *at, *tt, *ei;

	if (out != NULL)
		*out = NULL;
	if (body == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"zt_token_parse: NULL argument");
	root = json_loadb(body, len, 0, NULL);
	if (!json_is_object(root)) {
		rc = zt_error(err, ZITADEL_ERR_PROTOCOL,
			      "token response is not a JSON object");
		goto out;
	}
	at = json_object_get(root, "access_token");
	tt = json_object_get(root, "token_type");
	ei = json_object_get(root, "expires_in");
	if (!json_is_string(at) || json_string_length(at) == 0) {
		rc = zt_error(err, ZITADEL_ERR_PROTOCOL,
			      "token response has no string \"access_token\"");
		goto out;
	}
	if (json_string_length(at) > ZT_TOKEN_MAX) {
		rc =
		    zt_error(err, ZITADEL_ERR_TOO_LARGE,
			     "access token of %zu bytes is over the %d allowed",
			     json_string_length(at), ZT_TOKEN_MAX);
		goto out;
	}
	if (strlen(json_string_value(at)) != json_string_length(at) ||
	    !token_chars_ok(json_string_value(at))) {
		rc = zt_error(
		    err, ZITADEL_ERR_PROTOCOL,
		    "access token holds characters a token cannot have");
		goto out;
	}
	if (!json_is_string(tt) || json_string_length(tt) == 0 ||
	    json_string_length(tt) > 64) {
		rc = zt_error(err, ZITADEL_ERR_PROTOCOL,
			      "token response has no usable \"token_type\"");
		goto out;
	}
	if (!json_is_integer(ei) || json_integer_value(ei) <= 0 ||
	    json_integer_value(ei) > EXPIRES_IN_MAX) {
		rc = zt_error(
		    err, ZITADEL_ERR_PROTOCOL,
		    "token response has no positive integer \"expires_in\"");
		goto out;
	}

	if ((t = zt_calloc(1, sizeof(*t))) == NULL ||
	    (t->access_token = zt_strdup(json_string_value(at))) == NULL ||
	    (t->token_type = zt_strdup(json_string_value(tt))) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	t->obtained_at = now;
	t->expires_at = now + (time_t)json_integer_value(ei);
	*out = t;
	t = NULL;
	rc = ZITADEL_OK;
out:
	json_decref(root);
	zitadel_token_free(t);
	return rc;
}

/* ---- token requests --------------------------------------------------- */

/* After the retries, a 500 server_error from the token endpoint almost
 * always means Zitadel refused the assertion (reference §7.2, §9.4). */
static zitadel_status assertion_rejected(zitadel_ctx *ctx,
					 const zitadel_keyfile *key,
					 const struct call *c,
					 zitadel_error *err)
{
	char host[ZT_LOG_CLIP + 4];

	host_of(c->url, host, sizeof(host));
	return zt_error_http(
	    err, ZITADEL_ERR_ASSERTION_REJECTED, 500, -1, "server_error",
	    "token endpoint %s refused the assertion (HTTP 500 server_error, "
	    "%u attempt(s)); sent key id %s, user id %s, audience %s; likely "
	    "causes: wrong key, unknown or removed key id, expired key, or a "
	    "clock more than 1 s ahead of the server",
	    host, c->attempts, zitadel_keyfile_key_id(key),
	    zitadel_keyfile_subject(key), ctx->issuer);
}

static zitadel_status token_call(zitadel_ctx *ctx, struct call *c,
				 const zitadel_keyfile *key,
				 zitadel_token **out, zitadel_error *err)
{
	zitadel_error detail = ZITADEL_ERROR_INIT;
	zt_http_response resp = {0};
	char what[ZT_LOG_CLIP + 32], host[ZT_LOG_CLIP + 4];
	zitadel_status rc;

	rc = zt_http_send(ctx, ZT_RETRY_ALL, build_call, c, &resp, err);
	if (rc != ZITADEL_OK)
		goto out;
	if (resp.status >= 200 && resp.status < 300) {
		rc = zt_token_parse(resp.body, resp.body_len, time(NULL), out,
				    err);
		goto out;
	}

	host_of(c->url, host, sizeof(host));
	snprintf(what, sizeof(what), "token request to %s", host);
	rc = zt_http_status(&resp, what, &detail);
	if (key != NULL && resp.status == 500 &&
	    strcmp(detail.error_id, "server_error") == 0) {
		rc = assertion_rejected(ctx, key, c, err);
		goto out;
	}
	if (err != NULL && err->status == ZITADEL_OK)
		*err = detail;
out:
	zt_http_response_free(&resp);
	zt_free_secret(c->body);
	c->body = NULL;
	return rc;
}

zitadel_status zt_token_fetch_jwt(zitadel_ctx *ctx, const zitadel_keyfile *key,
				  const char *scope, zitadel_token **out,
				  zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_NOMEM;
	char *escaped = NULL, *form = NULL, when[32];
	struct call c = {0};
	time_t exp;

	*out = NULL;
	if (zitadel_keyfile_get_type(key) != ZITADEL_KEYFILE_SERVICEACCOUNT)
		return zt_error(
		    err, ZITADEL_ERR_INVALID_ARGUMENT,
		    "key %s is an application key; the token exchange needs a "
		    "serviceaccount key (a machine user's key)",
		    zitadel_keyfile_key_id(key));
	exp = zitadel_keyfile_expiration(key);
	if (exp != 0 && exp <= time(NULL)) {
		zt_time_format(exp, when, sizeof(when));
		zt_log(ctx, ZITADEL_LOG_WARNING,
		       "key %s expired at %s; the server will refuse it",
		       zitadel_keyfile_key_id(key), when);
	}
	if ((rc = zt_discover(ctx, err)) != ZITADEL_OK)
		return rc;

	if ((escaped = zt_url_escape(
		 scope != NULL ? scope : ZITADEL_DEFAULT_SCOPE)) == NULL ||
	    (form = zt_asprintf("grant_type=%s&scope=%s", JWT_BEARER_GRANT,
				escaped)) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	c.ctx = ctx;
	c.method = "POST";
	c.url = ctx->token_endpoint;
	c.key = key;
	c.form = form;
	c.assertion_field = "assertion";
	rc = token_call(ctx, &c, key, out, err);
out:
	free(escaped);
	free(form);
	return rc;
}

zitadel_status
zt_token_fetch_client_credentials(zitadel_ctx *ctx, const char *client_id,
				  const char *client_secret, const char *scope,
				  zitadel_token **out, zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_NOMEM;
	char *escaped = NULL, *form = NULL;
	struct call c = {0};

	*out = NULL;
	if ((rc = zt_discover(ctx, err)) != ZITADEL_OK)
		return rc;
	if ((escaped = zt_url_escape(
		 scope != NULL ? scope : ZITADEL_DEFAULT_SCOPE)) == NULL ||
	    (form = zt_asprintf("grant_type=client_credentials&scope=%s",
				escaped)) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	c.ctx = ctx;
	c.method = "POST";
	c.url = ctx->token_endpoint;
	c.form = form;
	c.basic_user = client_id;
	c.basic_password = client_secret;
	rc = token_call(ctx, &c, NULL, out, err);
out:
	free(escaped);
	free(form);
	return rc;
}

/* ---- introspection ---------------------------------------------------- */

void zitadel_introspection_free(zitadel_introspection *in)
{
	if (in == NULL)
		return;
	json_decref(in->root);
	free(in);
}

zitadel_status zt_introspection_parse(const char *body, size_t len,
				      zitadel_introspection **out,
				      zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_PROTOCOL;
	zitadel_introspection *in = NULL;
	json_t *root, *active, *exp;

	if (out != NULL)
		*out = NULL;
	if (body == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"zt_introspection_parse: NULL argument");
	root = json_loadb(body, len, 0, NULL);
	if (!json_is_object(root)) {
		rc = zt_error(err, ZITADEL_ERR_PROTOCOL,
			      "introspection response is not a JSON object");
		goto out;
	}
	/* RFC 7662 makes "active" a boolean; a string "true" is not one, and
	 * reading it as true would admit a token on a malformed answer. */
	active = json_object_get(root, "active");
	if (!json_is_boolean(active)) {
		rc = zt_error(
		    err, ZITADEL_ERR_PROTOCOL,
		    "introspection response has no boolean \"active\"");
		goto out;
	}
	exp = json_object_get(root, "exp");
	if (exp != NULL && !json_is_integer(exp)) {
		rc = zt_error(
		    err, ZITADEL_ERR_PROTOCOL,
		    "introspection response: \"exp\" is not an integer");
		goto out;
	}
	if ((in = zt_calloc(1, sizeof(*in))) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	in->active = json_is_true(active);
	in->exp = exp != NULL ? (time_t)json_integer_value(exp) : 0;
	in->root = root;
	root = NULL;
	*out = in;
	rc = ZITADEL_OK;
out:
	json_decref(root);
	return rc;
}

/* How the application authenticates: exactly one of the two methods. */
static zitadel_status client_auth(const zitadel_client_auth *auth,
				  struct call *c, zitadel_error *err)
{
	if (auth->key != NULL) {
		if (zitadel_keyfile_get_type(auth->key) !=
		    ZITADEL_KEYFILE_APPLICATION)
			return zt_error(
			    err, ZITADEL_ERR_INVALID_ARGUMENT,
			    "key %s is not an application key; introspection "
			    "needs an API application's key",
			    zitadel_keyfile_key_id(auth->key));
		c->key = auth->key;
		c->assertion_field =
		    "client_assertion_type=" CLIENT_ASSERTION_TYPE
		    "&client_assertion";
		return ZITADEL_OK;
	}
	if (auth->client_id != NULL && *auth->client_id != '\0' &&
	    auth->client_secret != NULL && *auth->client_secret != '\0') {
		c->basic_user = auth->client_id;
		c->basic_password = auth->client_secret;
		return ZITADEL_OK;
	}
	return zt_error(
	    err, ZITADEL_ERR_INVALID_ARGUMENT,
	    "introspection needs an application key or a client id and secret");
}

zitadel_status zitadel_introspect(zitadel_ctx *ctx,
				  const zitadel_client_auth *auth,
				  const char *token,
				  zitadel_introspection **out,
				  zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INVALID_ARGUMENT;
	zt_http_response resp = {0};
	char *escaped = NULL, *form = NULL, what[ZT_LOG_CLIP + 32];
	struct call c = {0};

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || auth == NULL || token == NULL || out == NULL) {
		rc = zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
			      "zitadel_introspect: NULL argument");
		goto out;
	}
	if (*token == '\0' || strlen(token) > ZT_TOKEN_MAX) {
		rc = zt_error(
		    err, ZITADEL_ERR_INVALID_ARGUMENT,
		    "the token to introspect is empty or longer than %d bytes",
		    ZT_TOKEN_MAX);
		goto out;
	}
	if ((rc = client_auth(auth, &c, err)) != ZITADEL_OK)
		goto out;
	zt_deadline_start(ctx);
	if ((rc = zt_discover(ctx, err)) != ZITADEL_OK)
		goto out;
	if (ctx->introspection_endpoint == NULL) {
		rc = zt_error(
		    err, ZITADEL_ERR_PROTOCOL,
		    "the discovery document names no introspection_endpoint");
		goto out;
	}

	if ((escaped = zt_url_escape(token)) == NULL ||
	    (form = zt_asprintf("token=%s", escaped)) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	c.ctx = ctx;
	c.method = "POST";
	c.url = ctx->introspection_endpoint;
	c.form = form;
	rc = zt_http_send(ctx, ZT_RETRY_ALL, build_call, &c, &resp, err);
	if (rc != ZITADEL_OK)
		goto out;
	host_of(c.url, what, sizeof(what));
	strncat(what, " introspection", sizeof(what) - strlen(what) - 1);
	if ((rc = zt_http_status(&resp, what, err)) != ZITADEL_OK)
		goto out;
	rc = zt_introspection_parse(resp.body, resp.body_len, out, err);
out:
	zt_http_response_free(&resp);
	zt_free_secret(c.body);
	zt_free_secret(escaped);
	zt_free_secret(form);
	return rc;
}

int zitadel_introspection_active(const zitadel_introspection *in)
{
	return in != NULL && in->active;
}

const char *zitadel_introspection_claim(const zitadel_introspection *in,
					const char *name)
{
	json_t *v;

	if (in == NULL || name == NULL)
		return NULL;
	v = json_object_get(in->root, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

time_t zitadel_introspection_exp(const zitadel_introspection *in)
{
	return in != NULL ? in->exp : 0;
}

int zitadel_introspection_has_audience(const zitadel_introspection *in,
				       const char *audience)
{
	json_t *aud, *v;
	size_t i;

	if (in == NULL || audience == NULL)
		return 0;
	aud = json_object_get(in->root, "aud");
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), audience) == 0;
	json_array_foreach(aud, i, v)
	{
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), audience) == 0)
			return 1;
	}
	return 0;
}

/* The code emits {"role": {...}}; the docs show [{"role": {...}}]. */
int zitadel_introspection_has_role(const zitadel_introspection *in,
				   const char *role)
{
	json_t *roles, *v;
	size_t i;

	if (in == NULL || role == NULL)
		return 0;
	roles = json_object_get(in->root, ROLES_CLAIM);
	if (json_is_object(roles))
		return json_object_get(roles, role) != NULL;
	json_array_foreach(roles, i, v)
	{
		if (json_is_object(v) && json_object_get(v, role) != NULL)
			return 1;
	}
	return 0;
}
