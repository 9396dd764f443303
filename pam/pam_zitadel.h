/*
 * pam_zitadel.h: what the files of pam_zitadel.so share. Nothing here is
 * exported: the module's version script keeps only the pam_sm_* entry
 * points visible.
 */
#ifndef PZ_PAM_ZITADEL_H
#define PZ_PAM_ZITADEL_H

#include <sys/types.h>

#include <security/pam_modules.h>

#include "zitadel.h"

#define PZ_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* The conversation prompt for the token. */
#define PZ_PROMPT "Zitadel token: "
/* Longest token accepted from the user, in bytes (the library's bound). */
#define PZ_TOKEN_MAX (16 * 1024)
/* Config file read when no config= argument names one. */
#define PZ_DEFAULT_CONFIG     "/etc/zitadel/client.conf"
#define PZ_DEFAULT_TOKEN_DIR  "/run/zitadel"
#define PZ_DEFAULT_LIFETIME_S (8L * 3600)
#define PZ_DEFAULT_TIMEOUT_MS 15000L
#define PZ_CONNECT_TIMEOUT_MS 5000L
#define PZ_MAX_ATTEMPTS       2u
/* Bounds for the files the module reads itself. */
#define PZ_MAP_FILE_MAX    (1024 * 1024)
#define PZ_MAP_LINE_MAX    1024
#define PZ_SECRET_FILE_MAX 4096
#define PZ_SIDECAR_MAX     512

/* pam_set_data names. */
#define PZ_DATA_AUTHENTICATED "pam_zitadel_authenticated"
#define PZ_DATA_SESSION       "pam_zitadel_session"

/* Everything a call needs: config plus the flags module arguments carry. */
struct pz_opts {
	zitadel_config *cfg;
	const zitadel_pam_config *pam; /* borrowed from cfg */
	int debug;
	int use_first_pass;
	int try_first_pass;
	int required_credential;
};

/* options.c */

/*
 * Read the config (config=FILE, else PZ_DEFAULT_CONFIG when it exists) and
 * apply every module argument on top. Returns PAM_SUCCESS, PAM_BUF_ERR, or
 * PAM_SERVICE_ERR for a bad file or argument (logged, never ignored).
 */
int pz_opts_parse(pam_handle_t *pamh, int argc, const char **argv,
		  struct pz_opts *opts);
void pz_opts_free(struct pz_opts *opts);

/* log.c */

void pz_log(pam_handle_t *pamh, int priority, const char *fmt, ...)
    PZ_PRINTF(3, 4);
void pz_debug(pam_handle_t *pamh, const struct pz_opts *opts, const char *fmt,
	      ...) PZ_PRINTF(3, 4);
/* A context for the issuer in opts with CA, time budget and the log
 * callback set. Returns a PAM code. */
int pz_ctx_new(pam_handle_t *pamh, const struct pz_opts *opts,
	       zitadel_ctx **out);
/* The PAM code for a library failure where the server or a file could not
 * give an answer: PAM_BUF_ERR for memory, PAM_SERVICE_ERR for config,
 * PAM_AUTHINFO_UNAVAIL for everything else. */
int pz_pam_code(zitadel_status st);

/* files.c */

/*
 * Read a small file the module trusts: no symlink, a regular file owned by
 * root or the effective uid, not writable by group or others, and with
 * secret set not readable by them either; at most max bytes. *out is
 * NUL-terminated and freed with pz_free_secret. Returns a PAM code:
 * PAM_AUTHINFO_UNAVAIL for a missing or unsafe file, PAM_BUF_ERR.
 */
int pz_read_file(pam_handle_t *pamh, const char *path, size_t max, int secret,
		 char **out, size_t *len);
void pz_free_secret(char *s);

/*
 * Look up the map file: lines "ZITADEL_USER_ID LOCAL_USER", '#' comments.
 * by_id: does id map to user (*found 1)? Else the first id that maps to
 * user (*id_out, free()). *user_listed says whether the user appears on any
 * line. Returns a PAM code.
 */
int pz_map_check(pam_handle_t *pamh, const char *path, const char *id,
		 const char *user, int *found, int *user_listed);
int pz_map_id_for_user(pam_handle_t *pamh, const char *path, const char *user,
		       char **id_out);

/* auth.c */
int pz_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv);

/* session.c */
int pz_open_session(pam_handle_t *pamh, int argc, const char **argv);
int pz_close_session(pam_handle_t *pamh, int argc, const char **argv);

#endif /* PZ_PAM_ZITADEL_H */
