/*
 * helper.h: what the files of zitadel-credential share: the exit codes, the
 * options of one run, the settings resolved for one target, and the token
 * source that answers from the cache or, on a miss, from libzitadel opened
 * with dlopen. Shared names carry the prefix zh_.
 */
#ifndef ZH_HELPER_H
#define ZH_HELPER_H

#include <stddef.h>
#include <time.h>

#include "zitadel.h"

#define ZH_PROG "zitadel-credential"

/*
 * Exit codes, the same for every face (docker's protocol only knows 0 and
 * 1, so that face exits 1 on every failure). zitadel-credential(1) copies
 * this table.
 *   0  success (for git also: no answer because no profile serves the host)
 *   1  the server refused the credential (assertion rejected, OAuth error,
 *      401/403); docker: any failure; git: malformed protocol input
 *   2  usage error (unknown option or command, bad option value, kubectl
 *      input missing or of an unknown apiVersion)
 *   3  config error, or no profile for the target
 *   4  credential file error: key, PAT or client secret file (missing,
 *      malformed, permissions)
 *   5  network error (DNS, connect, TLS, timeout)
 *   6  server error (5xx after retries, malformed response, rate limited)
 *   7  local error (cache unsafe, lock timeout, I/O, out of memory,
 *      libzitadel not loadable)
 */
enum zh_exit {
	ZH_EXIT_OK = 0,
	ZH_EXIT_REFUSED = 1,
	ZH_EXIT_USAGE = 2,
	ZH_EXIT_CONFIG = 3,
	ZH_EXIT_KEYFILE = 4,
	ZH_EXIT_NETWORK = 5,
	ZH_EXIT_SERVER = 6,
	ZH_EXIT_LOCAL = 7,
};

/* One failure: the exit code and the one line to show (no secret). */
typedef struct zh_fail {
	int code;
	char message[ZITADEL_ERROR_MESSAGE_MAX + 256];
} zh_fail;

/* Record the failure (the first one wins) and return its code. */
int zh_failf(zh_fail *fail, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The exit code for a library status. */
int zh_exit_for(zitadel_status st);
/* Record a library failure: "<what>: <detail message>", or the detail
 * message alone when what is NULL. */
int zh_fail_lib(zh_fail *fail, zitadel_status st, const zitadel_error *err,
		const char *(*strerror_fn)(zitadel_status), const char *what);

/* What the command line and the environment asked for; all borrowed. */
typedef struct zh_options {
	const char *issuer;
	const char *key_file;
	const char *scope;
	const char *ca_file;
	const char *profile;
	const char *config;
	const char *cache_dir;
	long timeout_s;    /* -1: not given */
	long cache_margin; /* -1: not given */
	int no_cache;
	int verbose;
} zh_options;

/* Which credential a target uses; a profile holds exactly one. */
enum zh_cred {
	ZH_CRED_KEY = 0, /* key_file or key_credential: jwt-bearer */
	ZH_CRED_SECRET,  /* client id and secret file: client_credentials */
	ZH_CRED_PAT,     /* pat_file: the PAT is the bearer token */
};

/*
 * The settings in force for one target after merging, highest first: the
 * command line, the environment, the profile, the [defaults] section.
 * Strings are borrowed from the options or the config, except cache_dir.
 */
typedef struct zh_target {
	const char *profile_name; /* NULL when no profile is used */
	const char *issuer;
	enum zh_cred cred;
	const char *key_file;
	const char *key_credential;
	const char *pat_file;
	const char *client_id;
	const char *client_secret_file;
	const char *scope; /* NULL: ZITADEL_DEFAULT_SCOPE */
	const char *ca_file;
	const char *username; /* NULL: "zitadel" */
	int git_bearer;
	long connect_ms; /* 0: library default */
	long total_ms;   /* 0: library default */
	int cache_enabled;
	long margin;     /* configured margin, -1: the library default */
	char *cache_dir; /* owned; NULL: the default directory */
} zh_target;

void zh_target_clear(zh_target *t);

/* The name messages start with: the one the program was run under when
 * that is a face's (git-credential-zitadel, docker-credential-zitadel),
 * else ZH_PROG. */
extern const char *zh_prog;

/* Debug output to stderr under --verbose; never pass a secret. */
extern int zh_verbose;
void zh_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- resolve.c -------------------------------------------------------- */

/*
 * Load the config the options ask for. When need is 0 and the issuer and
 * key file are both given, no file is read and *out stays NULL. Otherwise
 * --config, then $ZITADEL_CONFIG, then the default search path.
 */
int zh_config_load(const zh_options *o, int need, zitadel_config **out,
		   zh_fail *fail);
/*
 * Merge options, profile p (may be NULL) and the config's defaults into t.
 * Fails with ZH_EXIT_CONFIG when no issuer or credential results.
 * --key-file (or ZITADEL_KEY_FILE) replaces the profile's credential.
 */
int zh_target_resolve(const zh_options *o, const zitadel_config *cfg,
		      const zitadel_profile *p, zh_target *t, zh_fail *fail);
/* The profile --profile names (fails when it does not exist), else NULL. */
int zh_profile_named(const zh_options *o, const zitadel_config *cfg,
		     const zitadel_profile **out, zh_fail *fail);

/* ---- source.c --------------------------------------------------------- */

/* A token and whichever copy of libzitadel made it (for freeing it). */
typedef struct zh_token {
	zitadel_token *token;
	void (*free_fn)(zitadel_token *);
	int expiry_known; /* 0 for a PAT: announce no expiry to the caller */
	long margin;      /* the margin in force for this token, seconds */
} zh_token;

/* A key or client secret: the cache first, then libzitadel. A PAT: the
 * file's content, with no expiry. Wiped by zh_token_release. */
int zh_token_get(const zh_target *t, zh_token *out, zh_fail *fail);
void zh_token_release(zh_token *tok);
/* Drop the cached entry for the target; none is not an error, and a PAT
 * target has none. */
int zh_token_erase(const zh_target *t, zh_fail *fail);
/* The expiry to announce to a caller when expiry_known: expires_at less the
 * margin, unless that has passed already (a lifetime shorter than the
 * margin). */
time_t zh_token_announce_expiry(const zh_token *tok, time_t now);

/* ---- output.c --------------------------------------------------------- */

/* write(2) everything; 0 on success, -1 on failure. */
int zh_write_all(int fd, const char *buf, size_t len);
/* Read all of fd into a new NUL-terminated buffer, at most max bytes;
 * -1 on read error, -2 when over max. Free with zt_free_secret. */
int zh_read_all(int fd, size_t max, char **out, size_t *len);

/* jansson's type, without making every file include jansson.h. */
struct json_t;
/* Print compact JSON (keys in insertion order) and a newline, from a
 * buffer that is wiped afterwards; 0 on success, -1 on failure. */
int zh_json_print(int fd, const struct json_t *root);
/* Wipe the text of a jansson string that holds a secret, before the
 * value is released. */
void zh_json_wipe_string(struct json_t *s);

/* ---- the faces -------------------------------------------------------- */

int zh_cmd_token(const zh_options *o, int argc, char **argv);
int zh_cmd_erase(const zh_options *o, int argc, char **argv);
int zh_face_git(const zh_options *o, int argc, char **argv);
int zh_face_docker(const zh_options *o, int argc, char **argv);
int zh_face_kubectl(const zh_options *o, int argc, char **argv);

#endif /* ZH_HELPER_H */
