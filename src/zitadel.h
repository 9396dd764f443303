/*
 * zitadel.h: the public API of libzitadel, a client for Zitadel machine
 * users: key files, the RFC 7523 token exchange, a shared token cache,
 * introspection, the machine-user Management API and the client config.
 *
 * Conventions for every function here:
 * - Failing calls return a zitadel_status other than ZITADEL_OK. They also
 *   fill the optional zitadel_error detail; NULL is always allowed there. The
 *   first error recorded in a detail wins, so initialise it with
 *   ZITADEL_ERROR_INIT or zitadel_error_clear() before a call.
 * - Out-parameters are set to NULL on entry and hold a value only on success.
 *   The caller owns what they return and frees it with the matching *_free
 *   function; every *_free accepts NULL. Secrets (tokens, keys, client
 *   secrets) are wiped when freed.
 * - Strings are UTF-8 and NUL-terminated. Nothing here prints; diagnostics go
 *   to the log callback set on the context.
 */
#ifndef ZITADEL_H
#define ZITADEL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZITADEL_VERSION_STRING "0.1.0"

/* Scope used when a caller gives none: enough for Zitadel's own APIs. */
#define ZITADEL_DEFAULT_SCOPE                                                  \
	"openid urn:zitadel:iam:org:project:id:zitadel:aud"

/*
 * Status codes. 0 is success; numbers are never reused or renumbered.
 */
typedef enum zitadel_status {
	ZITADEL_OK = 0,
	ZITADEL_ERR_INVALID_ARGUMENT = 1, /* the caller passed bad input */
	ZITADEL_ERR_NOMEM = 2,
	ZITADEL_ERR_IO = 3,                  /* a local file or system call */
	ZITADEL_ERR_KEYFILE = 4,             /* key file malformed */
	ZITADEL_ERR_KEYFILE_PERMISSIONS = 5, /* key file readable by others */
	ZITADEL_ERR_CONFIG = 6,              /* config file or option invalid */
	ZITADEL_ERR_CRYPTO = 7,              /* key parsing, signing, random */
	ZITADEL_ERR_DNS = 8,
	ZITADEL_ERR_CONNECT = 9,
	ZITADEL_ERR_TLS = 10,
	ZITADEL_ERR_TIMEOUT = 11,
	ZITADEL_ERR_TOO_LARGE = 12, /* input or response over its bound */
	ZITADEL_ERR_PROTOCOL = 13,  /* malformed or unexpected response */
	ZITADEL_ERR_HTTP = 14,      /* HTTP failure with no better class */
	ZITADEL_ERR_INVALID_REQUEST = 15, /* server: invalid argument (400) */
	ZITADEL_ERR_FAILED_PRECONDITION = 16, /* server: wrong state (400) */
	ZITADEL_ERR_UNAUTHENTICATED = 17,     /* 401 */
	ZITADEL_ERR_PERMISSION_DENIED = 18,   /* 403 */
	ZITADEL_ERR_NOT_FOUND = 19,           /* 404 */
	ZITADEL_ERR_ALREADY_EXISTS = 20,      /* 409 */
	ZITADEL_ERR_RATE_LIMITED = 21,        /* 429 */
	ZITADEL_ERR_SERVER = 22,              /* 5xx */
	ZITADEL_ERR_ASSERTION_REJECTED = 23,  /* token endpoint refused the
						assertion (500 server_error) */
	ZITADEL_ERR_OAUTH = 24, /* other OAuth error (invalid_client, ...) */
	ZITADEL_ERR_CACHE_UNSAFE = 25,   /* cache dir/file owner, mode, link */
	ZITADEL_ERR_LOCK_TIMEOUT = 26,   /* waited too long for a cache lock */
	ZITADEL_ERR_NOT_CONFIGURED = 27, /* no profile serves this target */
	ZITADEL_ERR_UNSUPPORTED = 28,
	ZITADEL_ERR_INTERNAL = 29,
} zitadel_status;

#define ZITADEL_ERROR_MESSAGE_MAX 512
#define ZITADEL_ERROR_ID_MAX      64

/*
 * Details of a failure. message is one line that never holds a secret.
 * error_id is Zitadel's stable id ("COMMAND-4m77G") or the OAuth "error"
 * value ("invalid_grant"); branch on status, http_status, grpc_code and
 * error_id, never on message (the server translates it).
 */
typedef struct zitadel_error {
	zitadel_status status;
	long http_status; /* 0 when no HTTP response was read */
	int grpc_code;    /* -1 when the body carried none */
	char error_id[ZITADEL_ERROR_ID_MAX];
	char message[ZITADEL_ERROR_MESSAGE_MAX];
} zitadel_error;

#define ZITADEL_ERROR_INIT                                                     \
	{                                                                      \
		ZITADEL_OK, 0, -1, "", ""                                      \
	}

void zitadel_error_clear(zitadel_error *err);

/* A static English name for a status; never NULL. */
const char *zitadel_strerror(zitadel_status status);

/* ------------------------------------------------------------------ */
/* Logging */

typedef enum zitadel_log_level {
	ZITADEL_LOG_ERROR = 0,
	ZITADEL_LOG_WARNING = 1,
	ZITADEL_LOG_INFO = 2,
	ZITADEL_LOG_DEBUG = 3,
} zitadel_log_level;

/* message is one line, secrets redacted; it is valid only during the call. */
typedef void (*zitadel_log_fn)(void *userdata, zitadel_log_level level,
			       const char *message);

/* ------------------------------------------------------------------ */
/* Key files (Zitadel's JSON format, types serviceaccount and application) */

typedef struct zitadel_keyfile zitadel_keyfile;

typedef enum zitadel_keyfile_type {
	ZITADEL_KEYFILE_SERVICEACCOUNT = 1,
	ZITADEL_KEYFILE_APPLICATION = 2,
} zitadel_keyfile_type;

/* Largest key file accepted, in bytes. */
#define ZITADEL_KEYFILE_MAX 65536

/*
 * Load a key file. The file must be a regular file (symlinks are not
 * followed), owned by the effective user or root, with no group or world
 * permission bits, and at most ZITADEL_KEYFILE_MAX bytes. The result is
 * freed with zitadel_keyfile_free, which wipes the private key.
 */
zitadel_status zitadel_keyfile_load(const char *path, zitadel_keyfile **out,
				    zitadel_error *err);
/* The same checks on an open descriptor; name is used in messages only. The
 * descriptor stays open and owned by the caller. */
zitadel_status zitadel_keyfile_load_fd(int fd, const char *name,
				       zitadel_keyfile **out,
				       zitadel_error *err);
/* A systemd credential: $CREDENTIALS_DIRECTORY/name (LoadCredential=). */
zitadel_status zitadel_keyfile_load_credential(const char *name,
					       zitadel_keyfile **out,
					       zitadel_error *err);
/* Parse key-file JSON from memory (no permission checks); name is for
 * messages. The caller keeps and wipes json. */
zitadel_status zitadel_keyfile_parse(const char *json, size_t len,
				     const char *name, zitadel_keyfile **out,
				     zitadel_error *err);
void zitadel_keyfile_free(zitadel_keyfile *key);

zitadel_keyfile_type zitadel_keyfile_get_type(const zitadel_keyfile *key);
/* Borrowed strings, valid until zitadel_keyfile_free. */
const char *zitadel_keyfile_key_id(const zitadel_keyfile *key);
/* The assertion's iss and sub: userId (serviceaccount) or clientId
 * (application). */
const char *zitadel_keyfile_subject(const zitadel_keyfile *key);
/* appId for application keys, NULL otherwise. */
const char *zitadel_keyfile_app_id(const zitadel_keyfile *key);
/* expirationDate as Unix seconds, 0 when the file has none. */
time_t zitadel_keyfile_expiration(const zitadel_keyfile *key);

/* ------------------------------------------------------------------ */
/* Context: one issuer and how to reach it */

typedef struct zitadel_ctx zitadel_ctx;

/*
 * issuer is the https:// URL of the instance, exactly as its discovery
 * document states it (no trailing slash). Free with zitadel_ctx_free.
 */
zitadel_status zitadel_ctx_new(const char *issuer, zitadel_ctx **out,
			       zitadel_error *err);
void zitadel_ctx_free(zitadel_ctx *ctx);

const char *zitadel_ctx_issuer(const zitadel_ctx *ctx);
/* PEM bundle of trusted CAs instead of the system's. */
zitadel_status zitadel_ctx_set_ca_file(zitadel_ctx *ctx, const char *path,
				       zitadel_error *err);
/* Milliseconds; 0 keeps the default (connect 10 s, whole call 30 s). The
 * total bounds a whole library call, retries included. */
void zitadel_ctx_set_timeouts(zitadel_ctx *ctx, long connect_ms, long total_ms);
/* Attempts per request for connection failures, 429 and 5xx (default 3). */
void zitadel_ctx_set_max_attempts(zitadel_ctx *ctx, unsigned attempts);
/* Organisation for management calls (x-zitadel-orgid); NULL clears it. */
zitadel_status zitadel_ctx_set_org(zitadel_ctx *ctx, const char *org_id,
				   zitadel_error *err);
void zitadel_ctx_set_log(zitadel_ctx *ctx, zitadel_log_fn fn, void *userdata,
			 zitadel_log_level max_level);

/*
 * The caller's own credential for management calls; the last one set wins.
 * A key is borrowed and must outlive the context; a PAT and a client secret
 * are copied (and wiped on free). A key or client secret is exchanged for a
 * token with scope ZITADEL_DEFAULT_SCOPE; a PAT is sent as it is.
 */
zitadel_status zitadel_ctx_set_key(zitadel_ctx *ctx, const zitadel_keyfile *key,
				   zitadel_error *err);
zitadel_status zitadel_ctx_set_pat(zitadel_ctx *ctx, const char *pat,
				   zitadel_error *err);
zitadel_status zitadel_ctx_set_client_secret(zitadel_ctx *ctx,
					     const char *client_id,
					     const char *client_secret,
					     zitadel_error *err);

/*
 * Token cache. dir NULL means $XDG_CACHE_HOME/zitadel or ~/.cache/zitadel.
 * enabled 0 turns the cache off for this context. margin_seconds < 0 keeps
 * the default: a token is served while more than max(60 s, 10 % of its
 * lifetime) is left.
 */
zitadel_status zitadel_ctx_set_cache(zitadel_ctx *ctx, const char *dir,
				     int enabled, zitadel_error *err);
void zitadel_ctx_set_cache_margin(zitadel_ctx *ctx, long margin_seconds);

/* ------------------------------------------------------------------ */
/* Access tokens */

typedef struct zitadel_token {
	char *access_token; /* secret */
	char *token_type;   /* "Bearer" */
	time_t expires_at;  /* from expires_in; tokens may be opaque */
	time_t obtained_at;
	int from_cache;
} zitadel_token;

#define ZITADEL_TOKEN_NO_CACHE 0x1u /* neither read nor write the cache */
#define ZITADEL_TOKEN_REFRESH  0x2u /* skip reading, write the new token */

/*
 * An access token for a serviceaccount key through the jwt-bearer grant
 * (RFC 7523). scope NULL means ZITADEL_DEFAULT_SCOPE. Served from the cache
 * while it has more than the margin left; on a miss one process fetches
 * while the others wait on the entry's lock. Free with zitadel_token_free.
 */
zitadel_status zitadel_token_get(zitadel_ctx *ctx, const zitadel_keyfile *key,
				 const char *scope, unsigned flags,
				 zitadel_token **out, zitadel_error *err);
/* The same through the client_credentials grant. */
zitadel_status zitadel_token_get_client_credentials(
    zitadel_ctx *ctx, const char *client_id, const char *client_secret,
    const char *scope, unsigned flags, zitadel_token **out, zitadel_error *err);
/* Drop the cached token for (issuer, key, scope); no entry is not an error. */
zitadel_status zitadel_token_cache_erase(zitadel_ctx *ctx,
					 const zitadel_keyfile *key,
					 const char *scope, zitadel_error *err);
void zitadel_token_free(zitadel_token *token);

/* ------------------------------------------------------------------ */
/* Introspection (RFC 7662) by an API application */

typedef struct zitadel_introspection zitadel_introspection;

/*
 * How an application authenticates itself: an application key
 * (private_key_jwt) or a client id and secret (client_secret_basic).
 */
typedef struct zitadel_client_auth {
	const zitadel_keyfile *key;
	const char *client_id;
	const char *client_secret;
} zitadel_client_auth;

/* A token Zitadel does not know answers active = 0, not an error. */
zitadel_status zitadel_introspect(zitadel_ctx *ctx,
				  const zitadel_client_auth *auth,
				  const char *token,
				  zitadel_introspection **out,
				  zitadel_error *err);
void zitadel_introspection_free(zitadel_introspection *in);
int zitadel_introspection_active(const zitadel_introspection *in);
/* A string claim ("sub", "username", "client_id", ...), borrowed; NULL when
 * absent or not a string. */
const char *zitadel_introspection_claim(const zitadel_introspection *in,
					const char *name);
time_t zitadel_introspection_exp(const zitadel_introspection *in);
int zitadel_introspection_has_audience(const zitadel_introspection *in,
				       const char *audience);
/* Role key in urn:zitadel:iam:org:project:roles (object or array form). */
int zitadel_introspection_has_role(const zitadel_introspection *in,
				   const char *role);

/* ------------------------------------------------------------------ */
/* Management API v1: machine users, keys, PATs, secrets */

typedef enum zitadel_access_token_type {
	ZITADEL_ACCESS_TOKEN_BEARER = 0, /* opaque; the server's default */
	ZITADEL_ACCESS_TOKEN_JWT = 1,
} zitadel_access_token_type;

/* ObjectDetails. Dates are RFC 3339 strings as sent, NULL when omitted. */
typedef struct zitadel_details {
	uint64_t sequence;
	char *creation_date;
	char *change_date;
	char *resource_owner;
} zitadel_details;

typedef struct zitadel_list_details {
	uint64_t total_result;
	uint64_t processed_sequence;
	char *view_timestamp;
} zitadel_list_details;

/* One page of a list. limit 0 leaves it to the server. */
typedef struct zitadel_list_query {
	uint64_t offset;
	uint32_t limit;
	int asc;
} zitadel_list_query;

void zitadel_details_free(zitadel_details *details);

/* 1. AddMachineUser: POST /users/machine */
typedef struct zitadel_machine_user_new {
	const char *user_name;   /* required, 1-200 */
	const char *name;        /* required, 1-200 */
	const char *description; /* optional, up to 500 */
	zitadel_access_token_type access_token_type;
	const char *user_id; /* optional, caller-chosen id */
} zitadel_machine_user_new;

typedef struct zitadel_machine_user_added {
	char *user_id;
	zitadel_details details;
} zitadel_machine_user_added;

zitadel_status zitadel_machine_user_add(zitadel_ctx *ctx,
					const zitadel_machine_user_new *req,
					zitadel_machine_user_added **out,
					zitadel_error *err);
void zitadel_machine_user_added_free(zitadel_machine_user_added *added);

/* 2. UpdateMachine: PUT /users/{userId}/machine. A full replace: an omitted
 * description is cleared. The server's "not changed" answer is returned as
 * ZITADEL_ERR_FAILED_PRECONDITION with error_id COMMAND-2n8vs. */
typedef struct zitadel_machine_user_change {
	const char *name; /* required */
	const char *description;
	zitadel_access_token_type access_token_type;
} zitadel_machine_user_change;

zitadel_status
zitadel_machine_user_update(zitadel_ctx *ctx, const char *user_id,
			    const zitadel_machine_user_change *req,
			    zitadel_details **out, zitadel_error *err);

/* Machine keys */
typedef struct zitadel_machine_key_new {
	time_t expiration;          /* 0: none (the server stores 9999-12-31) */
	const char *public_key_pem; /* optional PKIX PEM; then no private key
				       is made or returned */
} zitadel_machine_key_new;

typedef struct zitadel_machine_key_added {
	char *key_id;
	char *key_details; /* key-file JSON (secret), NULL with public_key */
	size_t key_details_len;
	zitadel_details details;
} zitadel_machine_key_added;

typedef struct zitadel_machine_key {
	char *id;
	zitadel_details details;
	int type; /* 1 = KEY_TYPE_JSON */
	char *expiration_date;
	time_t expiration;
} zitadel_machine_key;

typedef struct zitadel_machine_keys {
	zitadel_list_details details;
	zitadel_machine_key *keys;
	size_t count;
} zitadel_machine_keys;

/* 3. AddMachineKey: POST /users/{userId}/keys */
zitadel_status zitadel_machine_key_add(zitadel_ctx *ctx, const char *user_id,
				       const zitadel_machine_key_new *req,
				       zitadel_machine_key_added **out,
				       zitadel_error *err);
void zitadel_machine_key_added_free(zitadel_machine_key_added *added);
/* 4. GetMachineKeyByIDs: GET /users/{userId}/keys/{keyId} */
zitadel_status zitadel_machine_key_get(zitadel_ctx *ctx, const char *user_id,
				       const char *key_id,
				       zitadel_machine_key **out,
				       zitadel_error *err);
void zitadel_machine_key_free(zitadel_machine_key *key);
/* 5. ListMachineKeys: POST /users/{userId}/keys/_search. query NULL fetches
 * every page. */
zitadel_status zitadel_machine_key_list(zitadel_ctx *ctx, const char *user_id,
					const zitadel_list_query *query,
					zitadel_machine_keys **out,
					zitadel_error *err);
void zitadel_machine_keys_free(zitadel_machine_keys *list);
/* 6. RemoveMachineKey: DELETE /users/{userId}/keys/{keyId}; out may be NULL */
zitadel_status zitadel_machine_key_remove(zitadel_ctx *ctx, const char *user_id,
					  const char *key_id,
					  zitadel_details **out,
					  zitadel_error *err);

/* Personal access tokens */
typedef struct zitadel_pat_added {
	char *token_id;
	char *token; /* secret, shown once */
	zitadel_details details;
} zitadel_pat_added;

typedef struct zitadel_pat {
	char *id;
	zitadel_details details;
	char *expiration_date;
	time_t expiration;
	char **scopes;
	size_t scope_count;
} zitadel_pat;

typedef struct zitadel_pats {
	zitadel_list_details details;
	zitadel_pat *pats;
	size_t count;
} zitadel_pats;

/* 7. AddPersonalAccessToken: POST /users/{userId}/pats; expiration 0: none */
zitadel_status zitadel_pat_add(zitadel_ctx *ctx, const char *user_id,
			       time_t expiration, zitadel_pat_added **out,
			       zitadel_error *err);
void zitadel_pat_added_free(zitadel_pat_added *added);
/* 8. GetPersonalAccessTokenByIDs: GET /users/{userId}/pats/{tokenId} */
zitadel_status zitadel_pat_get(zitadel_ctx *ctx, const char *user_id,
			       const char *token_id, zitadel_pat **out,
			       zitadel_error *err);
void zitadel_pat_free(zitadel_pat *pat);
/* 9. ListPersonalAccessTokens: POST /users/{userId}/pats/_search */
zitadel_status zitadel_pat_list(zitadel_ctx *ctx, const char *user_id,
				const zitadel_list_query *query,
				zitadel_pats **out, zitadel_error *err);
void zitadel_pats_free(zitadel_pats *list);
/* 10. RemovePersonalAccessToken: DELETE /users/{userId}/pats/{tokenId} */
zitadel_status zitadel_pat_remove(zitadel_ctx *ctx, const char *user_id,
				  const char *token_id, zitadel_details **out,
				  zitadel_error *err);

/* Machine secrets (client credentials) */
typedef struct zitadel_machine_secret {
	char *client_id;
	char *client_secret; /* secret, shown once */
	zitadel_details details;
} zitadel_machine_secret;

/* 11. GenerateMachineSecret: PUT /users/{userId}/secret */
zitadel_status zitadel_machine_secret_generate(zitadel_ctx *ctx,
					       const char *user_id,
					       zitadel_machine_secret **out,
					       zitadel_error *err);
void zitadel_machine_secret_free(zitadel_machine_secret *secret);
/* 12. RemoveMachineSecret: DELETE /users/{userId}/secret */
zitadel_status zitadel_machine_secret_remove(zitadel_ctx *ctx,
					     const char *user_id,
					     zitadel_details **out,
					     zitadel_error *err);

/* ------------------------------------------------------------------ */
/* Key enrollment: the private key never leaves the host */

/*
 * Generate an RSA 2048 key pair, upload only the public half for user_id,
 * write a key file in Zitadel's format (type, keyId, key, expirationDate,
 * userId) to path with mode 0600 by temporary file and rename, then prove
 * it with a token exchange. On any failure the uploaded key is removed and
 * no file is left. path must not exist unless overwrite is set. key_id_out,
 * when not NULL, receives the new key id (free with free()).
 */
zitadel_status zitadel_machine_key_enroll(zitadel_ctx *ctx, const char *user_id,
					  time_t expiration, const char *path,
					  int overwrite, char **key_id_out,
					  zitadel_error *err);

/* ------------------------------------------------------------------ */
/* Client config (INI), shared by the helper, the PAM module and zitadelctl */

typedef struct zitadel_config zitadel_config;

/* One [profile NAME] section. Strings are owned by the config. */
typedef struct zitadel_profile {
	const char *name;
	const char *issuer;
	const char *key_file;       /* serviceaccount key */
	const char *key_credential; /* systemd credential name */
	const char *pat_file;
	const char *client_id;
	const char *client_secret_file;
	const char *scope; /* NULL: ZITADEL_DEFAULT_SCOPE */
	const char *org;
	const char *ca_file;
	const char *username;         /* presented to git and docker */
	long connect_timeout_ms;      /* 0: default */
	long timeout_ms;              /* 0: default */
	int git_bearer;               /* offer authtype=Bearer to git */
	const char *const *git_hosts; /* NULL-terminated lists */
	const char *const *docker_registries;
	const char *const *kube_clusters;
} zitadel_profile;

/* The [pam] section, read by pam_zitadel.so. */
typedef struct zitadel_pam_config {
	const char *issuer;
	const char *ca_file;
	const char *app_key_file; /* introspection: private_key_jwt */
	const char *client_id;    /* or client_secret_basic */
	const char *client_secret_file;
	const char *admin_key_file; /* session PATs */
	const char *admin_pat_file;
	const char *org;
	const char *user_claim; /* default "username" */
	const char *map_file;   /* zitadel user id -> local user */
	const char *require_role;
	const char *require_org;
	const char *token_dir;   /* default /run/zitadel */
	long session_lifetime_s; /* default 8 h */
	long timeout_ms;         /* whole call, default 15 s */
	int required_credential;
	int debug;
} zitadel_pam_config;

/*
 * Load config. path NULL searches /etc/zitadel/client.conf, then
 * $XDG_CONFIG_HOME/zitadel/client.conf (or ~/.config/...), later files
 * overriding earlier ones; $ZITADEL_CONFIG, when set, is the only file read.
 * A missing default file is not an error; a missing named file is. Errors
 * name the file and line.
 */
zitadel_status zitadel_config_load(const char *path, zitadel_config **out,
				   zitadel_error *err);
/* An empty config, for callers that set everything by hand. */
zitadel_status zitadel_config_new(zitadel_config **out, zitadel_error *err);
/* Apply one "key=value" to a section ("pam", "defaults" or "profile NAME")
 * with the same validation as the file. origin names it in messages. */
zitadel_status zitadel_config_set(zitadel_config *cfg, const char *section,
				  const char *key, const char *value,
				  const char *origin, zitadel_error *err);
void zitadel_config_free(zitadel_config *cfg);

/* Borrowed, valid until zitadel_config_free; NULL when none matches. */
const zitadel_profile *zitadel_config_profile(const zitadel_config *cfg,
					      const char *name);
/* The profile named by [defaults] profile=, else the only one, else NULL. */
const zitadel_profile *
zitadel_config_default_profile(const zitadel_config *cfg);
/* host is git's host attribute (host[:port]), matched case-insensitively. */
const zitadel_profile *
zitadel_config_profile_for_git_host(const zitadel_config *cfg,
				    const char *host);
/* registry is a docker server URL or host; scheme and path are ignored. */
const zitadel_profile *
zitadel_config_profile_for_docker_registry(const zitadel_config *cfg,
					   const char *registry);
/* server is the cluster's API server URL, compared exactly. */
const zitadel_profile *
zitadel_config_profile_for_kube_cluster(const zitadel_config *cfg,
					const char *server);
const zitadel_pam_config *zitadel_config_pam(const zitadel_config *cfg);
/* [defaults] cache_dir and cache_margin (-1 when unset). */
const char *zitadel_config_cache_dir(const zitadel_config *cfg);
long zitadel_config_cache_margin(const zitadel_config *cfg);

#ifdef __cplusplus
}
#endif

#endif /* ZITADEL_H */
