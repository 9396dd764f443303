/*
 * http.c: the one way libzitadel talks to the server. HTTPS over libcurl
 * with certificate checks always on, a bounded body, retries with backoff
 * and jitter inside the call's time budget, and the mapping of Zitadel's
 * and OAuth's error bodies to a status.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "internal.h"

/* Backoff: full jitter over base * 2^n, capped (AWS's "full jitter"). */
#define BACKOFF_BASE_MS 200L
#define BACKOFF_CAP_MS  5000L
/* Longest Retry-After we honour; a server asking for more gets no retry. */
#define RETRY_AFTER_CAP_S 10L
#define USER_AGENT        "libzitadel/" ZITADEL_VERSION_STRING

/* What one attempt produced, kept apart from the caller's response. */
struct body {
	char *data;
	size_t len;
	size_t cap;
	int too_large;
	long retry_after_s;
};

void zt_http_response_free(zt_http_response *resp)
{
	if (resp == NULL)
		return;
	if (resp->body != NULL) {
		zt_wipe(resp->body, resp->body_len);
		free(resp->body);
	}
	resp->body = NULL;
	resp->body_len = 0;
	resp->status = 0;
	resp->retry_after_s = -1;
}

static void body_free(struct body *b)
{
	if (b->data != NULL) {
		zt_wipe(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
	b->retry_after_s = -1;
}

/* Grow by copying so that the old buffer, which may hold a token, is wiped
 * rather than left behind by realloc. */
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb, cap;
	char *grown;

	if (n > ZT_HTTP_BODY_MAX - b->len) {
		b->too_large = 1;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap != 0 ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((grown = zt_malloc(cap)) == NULL)
			return 0;
		if (b->data != NULL) {
			memcpy(grown, b->data, b->len);
			zt_wipe(b->data, b->cap);
			free(b->data);
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* Only the delta-seconds form of Retry-After; an HTTP date is ignored. */
static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
	static const char name[] = "retry-after:";
	struct body *b = userdata;
	size_t n = size * nitems, i = sizeof(name) - 1;
	long v = 0;

	if (n < i || strncasecmp(buf, name, i) != 0)
		return n;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	if (i == n || !isdigit((unsigned char)buf[i]))
		return n;
	for (; i < n && isdigit((unsigned char)buf[i]); i++)
		v = v < 100000 ? v * 10 + (buf[i] - '0') : v;
	b->retry_after_s = v;
	return n;
}

/* "host[:port]" of a URL, for messages. */
static void url_host(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://"), *end;

	p = p != NULL ? p + 3 : url;
	end = strchr(p, '/');
	zt_clip(p, end != NULL ? (size_t)(end - p) : strlen(p), out, size);
}

/* "host[:port]/path" without the query, for debug logs. */
static void url_for_log(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://");

	p = p != NULL ? p + 3 : url;
	zt_clip(p, strcspn(p, "?#"), out, size);
}

/*
 * "Basic " + base64(form(user) ":" form(password)), as Zitadel unescapes
 * both halves (reference §5.1). Every intermediate is wiped.
 */
static char *basic_header(const char *user, const char *password)
{
	char *u = NULL, *p = NULL, *joined = NULL, *b64 = NULL, *header = NULL;
	size_t len;

	if ((u = zt_url_escape(user)) == NULL ||
	    (p = zt_url_escape(password)) == NULL ||
	    (joined = zt_asprintf("%s:%s", u, p)) == NULL)
		goto out;
	len = strlen(joined);
	if ((b64 = zt_malloc(4 * ((len + 2) / 3) + 1)) == NULL)
		goto out;
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)joined,
			(int)len);
	header = zt_asprintf("Authorization: Basic %s", b64);
out:
	zt_free_secret(u);
	zt_free_secret(p);
	zt_free_secret(joined);
	zt_free_secret(b64);
	return header;
}

/* curl copies header strings; wipe its copies before they are freed. */
static void headers_free(struct curl_slist *list)
{
	struct curl_slist *it;

	for (it = list; it != NULL; it = it->next)
		zt_wipe(it->data, strlen(it->data));
	curl_slist_free_all(list);
}

static int append(struct curl_slist **list, const char *line)
{
	struct curl_slist *n = curl_slist_append(*list, line);

	if (n == NULL)
		return -1;
	*list = n;
	return 0;
}

static struct curl_slist *build_headers(const zitadel_ctx *ctx,
					const zt_http_request *req)
{
	struct curl_slist *list = NULL;
	char *line = NULL;
	int bad = 0;

	bad |= append(&list, "Accept: application/json");
	/* Suppress 100-continue: one round trip fewer, and no surprise. */
	bad |= append(&list, "Expect:");
	if (req->content_type != NULL) {
		line = zt_asprintf("Content-Type: %s", req->content_type);
		bad |= line == NULL || append(&list, line);
		free(line);
	}
	if (req->bearer != NULL) {
		line = zt_asprintf("Authorization: Bearer %s", req->bearer);
		bad |= line == NULL || append(&list, line);
		zt_free_secret(line);
	} else if (req->basic_user != NULL && req->basic_password != NULL) {
		line = basic_header(req->basic_user, req->basic_password);
		bad |= line == NULL || append(&list, line);
		zt_free_secret(line);
	}
	if (req->send_org && ctx->org_id != NULL) {
		line = zt_asprintf("x-zitadel-orgid: %s", ctx->org_id);
		bad |= line == NULL || append(&list, line);
		free(line);
	}
	if (bad) {
		headers_free(list);
		return NULL;
	}
	return list;
}

/*
 * Options for one attempt. The handle is reset each time so nothing from
 * an earlier request leaks into this one, but keeps its connection cache.
 * Proxies are left to libcurl, which reads HTTPS_PROXY and NO_PROXY.
 */
static CURLcode set_options(CURL *h, const zitadel_ctx *ctx,
			    const zt_http_request *req,
			    struct curl_slist *headers, struct body *b,
			    long left_ms, char *errbuf)
{
	CURLcode c = CURLE_OK;
	long connect_ms = ctx->connect_ms < left_ms ? ctx->connect_ms : left_ms;

	/* Stop at the first option libcurl refuses. */
#define SET(opt, val)                                                          \
	do {                                                                   \
		if (c == CURLE_OK)                                             \
			c = curl_easy_setopt(h, opt, val);                     \
	} while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_VERBOSE, 0L);
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms > 0 ? connect_ms : 1L);
	SET(CURLOPT_TIMEOUT_MS, left_ms > 0 ? left_ms : 1L);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ZT_HTTP_BODY_MAX);
	SET(CURLOPT_USERAGENT, USER_AGENT);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, b);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, b);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	if (ctx->ca_file != NULL)
		SET(CURLOPT_CAINFO, ctx->ca_file);
	if (strcmp(req->method, "GET") != 0) {
		if (strcmp(req->method, "POST") == 0)
			SET(CURLOPT_POST, 1L);
		else
			SET(CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body != NULL) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)req->body_len);
			SET(CURLOPT_POSTFIELDS, req->body);
		} else if (strcmp(req->method, "POST") == 0) {
			SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
			SET(CURLOPT_POSTFIELDS, "");
		}
	}
#undef SET
	return c;
}

static zitadel_status map_curl(CURLcode c, const struct body *b,
			       const char *method, const char *url,
			       const char *errbuf, long total_ms,
			       zitadel_error *err)
{
	char host[ZT_LOG_CLIP + 4], detail[ZT_LOG_CLIP + 4];
	zitadel_status st;

	url_host(url, host, sizeof(host));
	if (errbuf[0] != '\0')
		zt_clip(errbuf, strlen(errbuf), detail, sizeof(detail));
	else
		zt_clip(curl_easy_strerror(c), strlen(curl_easy_strerror(c)),
			detail, sizeof(detail));

	if (b->too_large || c == CURLE_FILESIZE_EXCEEDED)
		return zt_error(err, ZITADEL_ERR_TOO_LARGE,
				"%s %s: response body larger than %d bytes",
				method, host, ZT_HTTP_BODY_MAX);
	switch (c) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		st = ZITADEL_ERR_DNS;
		break;
	case CURLE_COULDNT_CONNECT:
		st = ZITADEL_ERR_CONNECT;
		break;
	case CURLE_OPERATION_TIMEDOUT:
		return zt_error(
		    err, ZITADEL_ERR_TIMEOUT,
		    "%s %s: timed out (the call may take %ld ms in all): %s",
		    method, host, total_ms, detail);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		st = ZITADEL_ERR_TLS;
		break;
	case CURLE_OUT_OF_MEMORY:
		st = ZITADEL_ERR_NOMEM;
		break;
	default:
		st = ZITADEL_ERR_HTTP;
		break;
	}
	return zt_error(err, st, "%s %s: %s (%s)", method, host, detail,
			zitadel_strerror(st));
}

/* Whether this outcome may be retried under the policy. */
static int retryable(zt_retry policy, zitadel_status st, CURLcode c,
		     long http_status)
{
	if (policy == ZT_RETRY_NONE)
		return 0;
	if (st == ZITADEL_OK)
		return http_status == 429 || http_status == 503 ||
		       (policy == ZT_RETRY_ALL &&
			(http_status == 500 || http_status == 502 ||
			 http_status == 504));
	if (st == ZITADEL_ERR_DNS || st == ZITADEL_ERR_CONNECT)
		return 1;
	if (policy != ZT_RETRY_ALL)
		return 0;
	return c == CURLE_OPERATION_TIMEDOUT || c == CURLE_GOT_NOTHING ||
	       c == CURLE_RECV_ERROR || c == CURLE_SEND_ERROR ||
	       c == CURLE_PARTIAL_FILE || c == CURLE_HTTP2 ||
	       c == CURLE_HTTP2_STREAM;
}

static long random_below(long n)
{
	unsigned long r;

	if (n <= 0)
		return 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (unsigned long)clock() ^ (unsigned long)time(NULL);
	return (long)(r % (unsigned long)(n + 1));
}

static long backoff_ms(unsigned attempt, long retry_after_s)
{
	long ceiling = BACKOFF_BASE_MS, delay;
	unsigned i;

	for (i = 0; i < attempt && ceiling < BACKOFF_CAP_MS; i++)
		ceiling *= 2;
	if (ceiling > BACKOFF_CAP_MS)
		ceiling = BACKOFF_CAP_MS;
	delay = random_below(ceiling);
	if (retry_after_s >= 0) {
		long ra =
		    (retry_after_s < RETRY_AFTER_CAP_S ? retry_after_s
						       : RETRY_AFTER_CAP_S) *
		    1000L;
		if (ra > delay)
			delay = ra;
	}
	return delay;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* One request on the wire. Transport failures are recorded in err. */
static zitadel_status attempt_once(zitadel_ctx *ctx, const zt_http_request *req,
				   struct body *b, long *http_status,
				   CURLcode *curl_code, zitadel_error *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	long left = zt_deadline_left_ms(ctx);
	zitadel_status rc = ZITADEL_ERR_NOMEM;
	char where[ZT_LOG_CLIP + 4];
	CURLcode c;

	*http_status = 0;
	*curl_code = CURLE_OK;
	if (ctx->curl == NULL && (ctx->curl = curl_easy_init()) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "cannot start libcurl");
		goto out;
	}
	curl_easy_reset(ctx->curl);
	if ((headers = build_headers(ctx, req)) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	c = set_options(ctx->curl, ctx, req, headers, b, left, errbuf);
	if (c != CURLE_OK) {
		rc = zt_error(err, ZITADEL_ERR_INTERNAL,
			      "libcurl refused an option: %s",
			      curl_easy_strerror(c));
		goto out;
	}

	c = curl_easy_perform(ctx->curl);
	*curl_code = c;
	url_for_log(req->url, where, sizeof(where));
	if (c != CURLE_OK) {
		rc = map_curl(c, b, req->method, req->url, errbuf,
			      ctx->total_ms, err);
		zt_log(ctx, ZITADEL_LOG_DEBUG, "%s %s: %s", req->method, where,
		       curl_easy_strerror(c));
		goto out;
	}
	curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, http_status);
	zt_log(ctx, ZITADEL_LOG_DEBUG, "%s %s: HTTP %ld", req->method, where,
	       *http_status);
	rc = ZITADEL_OK;
out:
	/* The handle keeps pointers to the header list; drop them first. */
	if (ctx->curl != NULL) {
		curl_easy_setopt(ctx->curl, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(ctx->curl, CURLOPT_ERRORBUFFER, NULL);
	}
	headers_free(headers);
	return rc;
}

zitadel_status zt_http_send(zitadel_ctx *ctx, zt_retry policy,
			    zt_http_build_fn build, void *userdata,
			    zt_http_response *resp, zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_INTERNAL;
	zitadel_error last = ZITADEL_ERROR_INIT;
	struct body b = {NULL, 0, 0, 0, -1};
	unsigned attempt, max;
	long status = 0, delay;
	char where[ZT_LOG_CLIP + 4];
	CURLcode c;

	if (resp != NULL) {
		memset(resp, 0, sizeof(*resp));
		resp->retry_after_s = -1;
	}
	if (ctx == NULL || build == NULL || resp == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"zt_http_send: NULL argument");
	max = ctx->max_attempts > 0 ? ctx->max_attempts : 1;

	for (attempt = 0;; attempt++) {
		zt_http_request req = {0};

		body_free(&b);
		zitadel_error_clear(&last);
		if (zt_deadline_left_ms(ctx) <= 0) {
			/* Report what the previous attempt ran into, if any. */
			rc = zt_error(err, ZITADEL_ERR_TIMEOUT,
				      "timed out: the call's time budget (%ld "
				      "ms) is spent after %u attempt(s)",
				      ctx->total_ms, attempt);
			goto out;
		}
		if ((rc = build(userdata, attempt, &req, err)) != ZITADEL_OK)
			goto out;
		if (req.method == NULL || req.url == NULL) {
			rc = zt_error(err, ZITADEL_ERR_INTERNAL,
				      "request without method or URL");
			goto out;
		}
		url_for_log(req.url, where, sizeof(where));

		rc = attempt_once(ctx, &req, &b, &status, &c, &last);
		if (rc == ZITADEL_ERR_NOMEM || rc == ZITADEL_ERR_INTERNAL ||
		    attempt + 1 >= max || !retryable(policy, rc, c, status))
			break;

		delay = backoff_ms(attempt,
				   rc == ZITADEL_OK ? b.retry_after_s : -1);
		if (delay >= zt_deadline_left_ms(ctx)) {
			zt_log(ctx, ZITADEL_LOG_INFO,
			       "%s %s: %s; no time left for another attempt",
			       req.method, where,
			       rc == ZITADEL_OK ? "server asked to wait"
						: zitadel_strerror(rc));
			break;
		}
		if (rc == ZITADEL_OK)
			zt_log(ctx, ZITADEL_LOG_INFO,
			       "%s %s: HTTP %ld, retrying in %ld ms (attempt "
			       "%u of %u)",
			       req.method, where, status, delay, attempt + 2,
			       max);
		else
			zt_log(ctx, ZITADEL_LOG_INFO,
			       "%s: retrying in %ld ms (attempt %u of %u)",
			       last.message, delay, attempt + 2, max);
		sleep_ms(delay);
	}

	if (rc != ZITADEL_OK) {
		/* Hand the transport failure over to the caller's detail. */
		if (attempt > 0) {
			size_t used = strlen(last.message);

			snprintf(last.message + used,
				 sizeof(last.message) - used,
				 " (after %u attempts)", attempt + 1);
		}
		if (err != NULL && err->status == ZITADEL_OK)
			*err = last;
		goto out;
	}
	resp->status = status;
	resp->body = b.data;
	resp->body_len = b.len;
	resp->retry_after_s = b.retry_after_s;
	b.data = NULL;
	if (resp->body == NULL && (resp->body = zt_strdup("")) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = ZITADEL_OK;
out:
	body_free(&b);
	if (rc != ZITADEL_OK)
		zt_http_response_free(resp);
	return rc;
}

char *zt_url_escape(const char *s)
{
	char *e, *copy;

	if (s == NULL)
		return NULL;
	/* Since curl 7.82 the handle is not needed for escaping. */
	if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
		return NULL;
	copy = zt_strdup(e);
	zt_wipe(e, strlen(e));
	curl_free(e);
	return copy;
}

/* ---- mapping error bodies ------------------------------------------- */

static zitadel_status status_for(long http, int grpc, int oauth)
{
	if (http == 429)
		return ZITADEL_ERR_RATE_LIMITED;
	if (http >= 500)
		return ZITADEL_ERR_SERVER;
	if (oauth && http >= 400)
		return ZITADEL_ERR_OAUTH;
	switch (http) {
	case 400:
		return grpc == 9 ? ZITADEL_ERR_FAILED_PRECONDITION
				 : ZITADEL_ERR_INVALID_REQUEST;
	case 401:
		return ZITADEL_ERR_UNAUTHENTICATED;
	case 403:
		return ZITADEL_ERR_PERMISSION_DENIED;
	case 404:
		return ZITADEL_ERR_NOT_FOUND;
	case 409:
		return ZITADEL_ERR_ALREADY_EXISTS;
	default:
		return ZITADEL_ERR_HTTP;
	}
}

zitadel_status zt_http_status(const zt_http_response *resp, const char *what,
			      zitadel_error *err)
{
	char text[2 * ZT_LOG_CLIP + 16], a[ZT_LOG_CLIP + 4], d[ZT_LOG_CLIP + 4];
	const char *id = NULL, *msg = NULL, *desc = NULL;
	json_t *root = NULL, *v, *first;
	int grpc = -1, oauth = 0;
	zitadel_status st;

	if (resp == NULL)
		return zt_error(err, ZITADEL_ERR_INTERNAL, "no response");
	if (what == NULL)
		what = "request";
	if (resp->status >= 200 && resp->status < 300)
		return ZITADEL_OK;

	if (resp->body != NULL && resp->body_len > 0)
		root = json_loadb(resp->body, resp->body_len, 0, NULL);
	if (json_is_object(root)) {
		if (json_is_integer(v = json_object_get(root, "code")))
			grpc = (int)json_integer_value(v);
		if (json_is_string(v = json_object_get(root, "message")))
			msg = json_string_value(v);
		first = json_array_get(json_object_get(root, "details"), 0);
		if (json_is_string(v = json_object_get(first, "id")))
			id = json_string_value(v);
		if (json_is_string(v = json_object_get(root, "error"))) {
			oauth = 1;
			id = json_string_value(v);
			v = json_object_get(root, "error_description");
			desc = json_is_string(v) ? json_string_value(v) : "";
		}
	}

	if (oauth) {
		zt_clip(id, strlen(id), a, sizeof(a));
		zt_clip(desc, strlen(desc), d, sizeof(d));
		snprintf(text, sizeof(text), "%s%s%s", a, *d ? ": " : "", d);
	} else if (msg != NULL) {
		zt_clip(msg, strlen(msg), text, sizeof(text));
	} else if (resp->body_len == 0) {
		snprintf(text, sizeof(text), "(empty body)");
	} else {
		/* Not echoed: an unknown body could be anything. */
		snprintf(text, sizeof(text), "(%s body of %zu bytes)",
			 root != NULL ? "unexpected JSON" : "non-JSON",
			 resp->body_len);
	}

	st = status_for(resp->status, grpc, oauth);
	if (resp->status < 200 || (resp->status >= 300 && resp->status < 400))
		st = ZITADEL_ERR_PROTOCOL;
	st = zt_error_http(err, st, resp->status, grpc, id, "%s: HTTP %ld: %s",
			   what, resp->status, text);
	json_decref(root);
	return st;
}
