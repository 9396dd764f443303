/*
 * internal.h: what libzitadel's files share and never export. Everything
 * here carries the prefix zt_. The first block (error, util, keyfile,
 * config, cache) builds into libzitadel-core, which links only libc, jansson
 * and inih so that the helper's cache-hit path stays cheap; the rest needs
 * libcurl, libcrypto and libjwt.
 */
#ifndef ZT_INTERNAL_H
#define ZT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "zitadel.h"

#define ZT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Named bounds for outside input. */
#define ZT_CONFIG_MAX      (256 * 1024)      /* config file bytes */
#define ZT_CACHE_ENTRY_MAX (64 * 1024)       /* one cache entry file */
#define ZT_TOKEN_MAX       (16 * 1024)       /* access token, PAT length */
#define ZT_HTTP_BODY_MAX   (4 * 1024 * 1024) /* response body bytes */
#define ZT_LOG_CLIP        200               /* outside strings in messages */

/* ---- error.c ---------------------------------------------------------- */

/*
 * Record a failure in err (when err is not NULL and holds no earlier
 * failure) and return st, so callers can write "return zt_error(...)".
 */
zitadel_status zt_error(zitadel_error *err, zitadel_status st, const char *fmt,
			...) ZT_PRINTF(3, 4);
/* The same with what the server said. id may be NULL. */
zitadel_status zt_error_http(zitadel_error *err, zitadel_status st,
			     long http_status, int grpc_code, const char *id,
			     const char *fmt, ...) ZT_PRINTF(6, 7);
/* Forget a recorded failure, for a retry loop that will try again. */
void zt_error_reset(zitadel_error *err);

/* ---- util.c ----------------------------------------------------------- */

/* Allocation, all through one place so tests can make the N-th call fail. */
void *zt_malloc(size_t n);
void *zt_calloc(size_t count, size_t size);
void *zt_realloc(void *p, size_t n);
char *zt_strdup(const char *s); /* NULL in, NULL out */
char *zt_strndup(const char *s, size_t n);
/* Test hook: make the n-th allocation from now fail (0 turns it off).
 * Returns how many allocations were made since the last call. */
long zt_alloc_fail_at(long n);

void zt_wipe(void *p, size_t n);
/* Wipe a NUL-terminated secret and free it; NULL is fine. */
void zt_free_secret(char *s);
/* Constant-time string equality; 1 when equal. */
int zt_secret_equal(const char *a, const char *b);

/* printf into a new string, NULL on allocation failure. */
char *zt_asprintf(const char *fmt, ...) ZT_PRINTF(1, 2);

/* Copy an outside string for a message: at most ZT_LOG_CLIP bytes, control
 * and non-ASCII bytes shown as '?', "..." when clipped. */
void zt_clip(const char *in, size_t in_len, char *out, size_t out_size);

/*
 * Read a whole file from an open descriptor after checking it: a regular
 * file, at most max bytes, owned by the effective uid or root, and when
 * secret is set no group or other permission bits. name is used in
 * messages. *out is NUL-terminated; free it with zt_free_secret when secret.
 */
zitadel_status zt_read_fd_checked(int fd, const char *name, size_t max,
				  int secret, char **out, size_t *len,
				  zitadel_error *err);
/*
 * For a descriptor opened with O_NONBLOCK, so that opening a FIFO did not
 * wait for a writer: refuse anything but a regular file with status refusal
 * ("[WHAT ]NAME is not a regular file"), then clear O_NONBLOCK. what may be
 * NULL.
 */
zitadel_status zt_fd_require_regular(int fd, const char *what, const char *name,
				     zitadel_status refusal,
				     zitadel_error *err);
/* open(path, O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK), a regular file
 * only, and zt_read_fd_checked. */
zitadel_status zt_read_file_checked(const char *path, size_t max, int secret,
				    char **out, size_t *len,
				    zitadel_error *err);
/* Read a secret file (a PAT or client secret) with the same checks and
 * strip one trailing newline. */
zitadel_status zt_read_secret_file(const char *path, char **out,
				   zitadel_error *err);

/*
 * Why issuer is not a usable Zitadel issuer (https://host[:port], nothing
 * more), as a phrase to follow "issuer" or "issuer URL"; NULL when it is.
 * *may_echo is 0 when the URL must not be shown (it may hold a password).
 */
const char *zt_issuer_problem(const char *issuer, int *may_echo);

/* RFC 3339 in UTC, as protojson writes it (0-9 fractional digits, Z or an
 * offset). Returns 0 on success, -1 on bad input. */
int zt_time_parse(const char *s, time_t *out);
/* "2026-01-02T03:04:05Z"; buf holds at least 32 bytes. */
void zt_time_format(time_t t, char *buf, size_t size);

/* 64-bit FNV-1a over a byte string, chained through h (start with
 * ZT_FNV_INIT). Not cryptographic: cache file names only. */
#define ZT_FNV_INIT 0xcbf29ce484222325ULL
unsigned long long zt_fnv1a(unsigned long long h, const void *data, size_t len);

/* ---- keyfile.c -------------------------------------------------------- */

/* The PEM private key, borrowed. */
const char *zt_keyfile_pem(const zitadel_keyfile *key);

/* ---- cache.c ---------------------------------------------------------- */

/* What a cache entry is for. All fields must be non-NULL. */
typedef struct zt_cache_id {
	const char *issuer;
	const char *grant;   /* "jwt-bearer" or "client_credentials" */
	const char *subject; /* user id or client id */
	const char *key_id;  /* key id, "" for client credentials */
	const char *scope;
} zt_cache_id;

/*
 * The identity of an entry: for a machine key {issuer, "jwt-bearer", user
 * id, key id, scope}, for a client id {issuer, "client_credentials", client
 * id, "", scope}, scope as zt_scope_normalize gives it. The library and the
 * helper's hit path build identities only here, so that a hit and a miss
 * look at the same entry. The fields borrow from the arguments.
 */
void zt_cache_id_key(zt_cache_id *id, const char *issuer,
		     const zitadel_keyfile *key, const char *scope);
void zt_cache_id_client(zt_cache_id *id, const char *issuer,
			const char *client_id, const char *scope);

typedef struct zt_cache_lock zt_cache_lock;

/* Scopes as a cache key: split on spaces, sorted, duplicates dropped, joined
 * by one space. NULL or empty gives ZITADEL_DEFAULT_SCOPE normalised. Free
 * with free(); NULL on allocation failure. */
char *zt_scope_normalize(const char *scope);

/* Default lock wait, longer than the default total request time. */
#define ZT_CACHE_LOCK_WAIT_MS 45000L

/* $XDG_CACHE_HOME/zitadel, else $HOME/.cache/zitadel, else from getpwuid. */
zitadel_status zt_cache_dir_default(char **out, zitadel_error *err);
/* The margin in force: configured if >= 0, else max(60, lifetime / 10);
 * never more than half the lifetime, so that a token shorter-lived than the
 * margin is still served for the first half of its life. */
long zt_cache_margin(long configured, time_t obtained_at, time_t expires_at);
/*
 * Look up an entry. margin is the configured margin (< 0: the default);
 * zt_cache_margin gives the one in force. A hit with more than that left
 * sets *out (free it with zitadel_token_free, which is in the core too); a
 * miss, an expired entry or a corrupt one (which is removed) leaves *out
 * NULL and returns ZITADEL_OK. An unsafe directory or file is
 * ZITADEL_ERR_CACHE_UNSAFE. A missing directory is a miss and is not
 * created. In every zt_cache_ call, dir NULL or "" means
 * zt_cache_dir_default.
 */
zitadel_status zt_cache_lookup(const char *dir, const zt_cache_id *id,
			       long margin, time_t now, zitadel_token **out,
			       zitadel_error *err);
/* Take the entry's lock, creating the directory (0700) when needed; wait at
 * most wait_ms. Released by zt_cache_unlock or by the process's death. */
zitadel_status zt_cache_lock_take(const char *dir, const zt_cache_id *id,
				  long wait_ms, zt_cache_lock **out,
				  zitadel_error *err);
void zt_cache_unlock(zt_cache_lock *lock);
/* Write an entry (0600) by temporary file and rename. */
zitadel_status zt_cache_store(const char *dir, const zt_cache_id *id,
			      const zitadel_token *token, zitadel_error *err);
/*
 * Documents that are not secret but cost a request, kept beside the tokens
 * under the same directory rules: the discovery document. name is a plain
 * file name. A missing document, or one written more than max_age_s ago, is
 * a miss: ZITADEL_OK with *out NULL. *out is NUL-terminated; free() it.
 */
zitadel_status zt_cache_doc_read(const char *dir, const char *name,
				 long max_age_s, time_t now, char **out,
				 size_t *len, zitadel_error *err);
zitadel_status zt_cache_doc_write(const char *dir, const char *name,
				  const char *data, size_t len,
				  zitadel_error *err);
/* Remove an entry; none is not an error. *erased (erased may be NULL) says
 * whether there was one to remove. */
zitadel_status zt_cache_erase(const char *dir, const zt_cache_id *id,
			      int *erased, zitadel_error *err);

/* ---- config.c --------------------------------------------------------- */

/* Test hook: the files zitadel_config_load(NULL) reads instead of
 * /etc/zitadel/client.conf and the user's; NULL restores a default. */
void zt_config_set_search_paths(const char *system_path, const char *user_path);
/* Walk every profile in the order first seen (later files keep a profile's
 * place). Borrowed, valid until zitadel_config_free; NULL past the end. */
size_t zt_config_profile_count(const zitadel_config *cfg);
const zitadel_profile *zt_config_profile_at(const zitadel_config *cfg,
					    size_t i);

/* ---- everything below is in libzitadel-full only ---------------------- */

struct zitadel_ctx {
	char *issuer;
	char *ca_file;
	long connect_ms;
	long total_ms;
	unsigned max_attempts;
	char *org_id;
	zitadel_log_fn log_fn;
	void *log_userdata;
	zitadel_log_level log_level;

	/* the caller's credential for management calls */
	const zitadel_keyfile *key;
	char *pat;
	char *client_id;
	char *client_secret;
	zitadel_token *mgmt_token; /* token for management calls, in memory */

	char *cache_dir; /* NULL: default */
	int cache_enabled;
	long cache_margin;

	/* discovery, fetched once per context */
	char *token_endpoint;
	char *introspection_endpoint;

	void *curl;               /* CURL easy handle, reused for keep-alive */
	struct timespec deadline; /* end of the current public call */
};

void zt_log(const zitadel_ctx *ctx, zitadel_log_level level, const char *fmt,
	    ...) ZT_PRINTF(3, 4);
/* Start the time budget of a public call: now + total_ms. */
void zt_deadline_start(zitadel_ctx *ctx);
/* Milliseconds left in the budget, 0 when spent. */
long zt_deadline_left_ms(const zitadel_ctx *ctx);

/* ---- http.c ----------------------------------------------------------- */

typedef enum zt_retry {
	ZT_RETRY_NONE = 0,
	/* only failures that prove the server did not act: DNS, connect,
	 * 429, 503 */
	ZT_RETRY_SAFE = 1,
	/* every transient failure: also timeouts, dropped connections, 5xx */
	ZT_RETRY_ALL = 2,
} zt_retry;

typedef struct zt_http_request {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *url;
	const char *content_type; /* NULL when there is no body */
	const char *body;         /* may hold secrets; not logged */
	size_t body_len;
	const char *bearer;     /* Authorization: Bearer */
	const char *basic_user; /* Authorization: Basic, form-encoded */
	const char *basic_password;
	int send_org; /* add x-zitadel-orgid from the context */
} zt_http_request;

typedef struct zt_http_response {
	long status;
	char *body; /* NUL-terminated; wiped on free */
	size_t body_len;
	long retry_after_s; /* -1 when absent */
} zt_http_response;

/*
 * Called before every attempt to (re)build the request, so that a token
 * request can carry a fresh assertion each time. attempt counts from 0.
 */
typedef zitadel_status (*zt_http_build_fn)(void *userdata, unsigned attempt,
					   zt_http_request *req,
					   zitadel_error *err);

/*
 * Send a request, retrying by policy with exponential backoff and jitter,
 * honouring Retry-After up to a cap, all within the context's deadline.
 * Any HTTP status is a success here; callers map it with zt_http_status.
 * Transport failures map to ZITADEL_ERR_DNS, _CONNECT, _TLS, _TIMEOUT,
 * _TOO_LARGE. resp is cleared on entry; free with zt_http_response_free.
 */
zitadel_status zt_http_send(zitadel_ctx *ctx, zt_retry policy,
			    zt_http_build_fn build, void *userdata,
			    zt_http_response *resp, zitadel_error *err);
void zt_http_response_free(zt_http_response *resp);
/*
 * Turn a non-2xx response into a status and detail: reads grpc-gateway
 * bodies ({code, message, details[0].id}) and OAuth bodies ({error,
 * error_description}); what names the failing call.
 */
zitadel_status zt_http_status(const zt_http_response *resp, const char *what,
			      zitadel_error *err);
/* Percent-encode one URL path segment or form value; free with free(). */
char *zt_url_escape(const char *s);

/* ---- assertion.c (the only file that includes jwt.h) ------------------ */

#define ZT_ASSERTION_BACKDATE 60 /* seconds iat lies in the past */
#define ZT_ASSERTION_LIFETIME 300

/* A signed RS256 JWT: kid = key id, iss = sub = subject, aud = audience,
 * iat = now - ZT_ASSERTION_BACKDATE, exp = now + ZT_ASSERTION_LIFETIME.
 * Free with zt_free_secret. */
zitadel_status zt_assertion_build(const zitadel_keyfile *key,
				  const char *audience, time_t now, char **out,
				  zitadel_error *err);

/* ---- oidc.c ----------------------------------------------------------- */

/* Fill ctx->token_endpoint and introspection_endpoint once. */
zitadel_status zt_discover(zitadel_ctx *ctx, zitadel_error *err);
/*
 * Parse a discovery document (from the server or the cache directory): a
 * JSON object whose issuer equals ctx->issuer exactly, with an https
 * token_endpoint and optional https introspection_endpoint. On success
 * they replace the context's; on failure the context is unchanged.
 */
zitadel_status zt_discovery_parse(zitadel_ctx *ctx, const char *body,
				  size_t len, zitadel_error *err);
/* One token exchange (with retries), no cache. */
zitadel_status zt_token_fetch_jwt(zitadel_ctx *ctx, const zitadel_keyfile *key,
				  const char *scope, zitadel_token **out,
				  zitadel_error *err);
zitadel_status
zt_token_fetch_client_credentials(zitadel_ctx *ctx, const char *client_id,
				  const char *client_secret, const char *scope,
				  zitadel_token **out, zitadel_error *err);
/* Parse a token endpoint body; now stamps obtained_at. */
zitadel_status zt_token_parse(const char *body, size_t len, time_t now,
			      zitadel_token **out, zitadel_error *err);
/* Parse an introspection body. */
zitadel_status zt_introspection_parse(const char *body, size_t len,
				      zitadel_introspection **out,
				      zitadel_error *err);

/* ---- token.c / machine.c ---------------------------------------------- */

/* The bearer for management calls from the context's credential. Borrowed;
 * valid until the context is freed or the next call. */
zitadel_status zt_mgmt_bearer(zitadel_ctx *ctx, const char **out,
			      zitadel_error *err);

/* ---- machine.c: response parsers and base64 (tested without HTTP) ----- */

/* Standard or URL-safe base64, padded or not. Returns 0, -1 on bad input,
 * -2 on allocation failure. *out is NUL-terminated (not counted in
 * *out_len); the caller wipes it when it holds a secret. */
int zt_base64_decode(const char *in, size_t in_len, unsigned char **out,
		     size_t *out_len);
/* Standard base64 with padding; free with free(), NULL when out of memory. */
char *zt_base64_encode(const unsigned char *in, size_t len);

/* Each parses one 2xx body of its call as protojson (int64 as strings,
 * omitted zero values as defaults). A malformed body is
 * ZITADEL_ERR_PROTOCOL. */
zitadel_status zt_machine_user_added_parse(const char *body, size_t len,
					   zitadel_machine_user_added **out,
					   zitadel_error *err);
/* {"details": ObjectDetails}: UpdateMachine and the removals. */
zitadel_status zt_details_response_parse(const char *body, size_t len,
					 const char *what,
					 zitadel_details **out,
					 zitadel_error *err);
zitadel_status zt_machine_key_added_parse(const char *body, size_t len,
					  zitadel_machine_key_added **out,
					  zitadel_error *err);
zitadel_status zt_machine_key_parse(const char *body, size_t len,
				    zitadel_machine_key **out,
				    zitadel_error *err);
zitadel_status zt_machine_key_list_parse(const char *body, size_t len,
					 zitadel_machine_keys **out,
					 zitadel_error *err);
zitadel_status zt_pat_added_parse(const char *body, size_t len,
				  zitadel_pat_added **out, zitadel_error *err);
zitadel_status zt_pat_parse(const char *body, size_t len, zitadel_pat **out,
			    zitadel_error *err);
zitadel_status zt_pat_list_parse(const char *body, size_t len,
				 zitadel_pats **out, zitadel_error *err);
zitadel_status zt_machine_secret_parse(const char *body, size_t len,
				       zitadel_machine_secret **out,
				       zitadel_error *err);

#endif /* ZT_INTERNAL_H */
