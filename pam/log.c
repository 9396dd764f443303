/*
 * log.c: the module's logging (pam_syslog only), the library context with
 * its log callback and time budget, and library status -> PAM code.
 */
#include "config.h"

#include <stdarg.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "pam_zitadel.h"

void pz_log(pam_handle_t *pamh, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pam_vsyslog(pamh, priority, fmt, ap);
	va_end(ap);
}

void pz_debug(pam_handle_t *pamh, const struct pz_opts *opts, const char *fmt,
	      ...)
{
	va_list ap;

	if (opts == NULL || !opts->debug)
		return;
	va_start(ap, fmt);
	pam_vsyslog(pamh, LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* The library redacts secrets before it calls us. */
static void library_log(void *userdata, zitadel_log_level level,
			const char *message)
{
	static const int priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO,
				       LOG_DEBUG};
	int p = LOG_DEBUG;

	if ((unsigned)level < sizeof(priority) / sizeof(priority[0]))
		p = priority[level];
	pam_syslog((pam_handle_t *)userdata, p, "libzitadel: %s", message);
}

int pz_ctx_new(pam_handle_t *pamh, const struct pz_opts *opts,
	       zitadel_ctx **out)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	const zitadel_pam_config *pam = opts->pam;
	zitadel_ctx *ctx = NULL;
	zitadel_status st = ZITADEL_ERR_INTERNAL;
	long total =
	    pam->timeout_ms > 0 ? pam->timeout_ms : PZ_DEFAULT_TIMEOUT_MS;
	long connect =
	    total < PZ_CONNECT_TIMEOUT_MS ? total : PZ_CONNECT_TIMEOUT_MS;
	int rc = PAM_SERVICE_ERR;

	*out = NULL;
	if ((st = zitadel_ctx_new(pam->issuer, &ctx, &err)) != ZITADEL_OK)
		goto out;
	zitadel_ctx_set_log(ctx, library_log, pamh,
			    opts->debug ? ZITADEL_LOG_DEBUG
					: ZITADEL_LOG_WARNING);
	zitadel_ctx_set_timeouts(ctx, connect, total);
	zitadel_ctx_set_max_attempts(ctx, PZ_MAX_ATTEMPTS);
	/* A PAM module runs inside someone else's process: never write a
	 * token cache into root's or the caller's home. */
	if ((st = zitadel_ctx_set_cache(ctx, NULL, 0, &err)) != ZITADEL_OK)
		goto out;
	if (pam->ca_file != NULL &&
	    (st = zitadel_ctx_set_ca_file(ctx, pam->ca_file, &err)) !=
		ZITADEL_OK)
		goto out;

	*out = ctx;
	ctx = NULL;
	rc = PAM_SUCCESS;
out:
	if (rc != PAM_SUCCESS) {
		pz_log(pamh, LOG_ERR, "issuer %s: %s", pam->issuer,
		       err.message[0] != '\0' ? err.message
					      : zitadel_strerror(st));
		rc = pz_pam_code(st);
	}
	zitadel_ctx_free(ctx);
	return rc;
}

int pz_pam_code(zitadel_status st)
{
	switch (st) {
	case ZITADEL_ERR_NOMEM:
		return PAM_BUF_ERR;
	case ZITADEL_ERR_CONFIG:
	case ZITADEL_ERR_INVALID_ARGUMENT:
		return PAM_SERVICE_ERR;
	default:
		return PAM_AUTHINFO_UNAVAIL;
	}
}
