/*
 * error.c: the library's status names and the detail struct. A detail keeps
 * the first failure recorded in it, so the innermost, most specific message
 * survives the way back up.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char *const status_names[] = {
    [ZITADEL_OK] = "success",
    [ZITADEL_ERR_INVALID_ARGUMENT] = "invalid argument",
    [ZITADEL_ERR_NOMEM] = "out of memory",
    [ZITADEL_ERR_IO] = "input/output error",
    [ZITADEL_ERR_KEYFILE] = "invalid key file",
    [ZITADEL_ERR_KEYFILE_PERMISSIONS] = "unsafe key file permissions",
    [ZITADEL_ERR_CONFIG] = "invalid configuration",
    [ZITADEL_ERR_CRYPTO] = "cryptographic failure",
    [ZITADEL_ERR_DNS] = "host name not resolved",
    [ZITADEL_ERR_CONNECT] = "connection failed",
    [ZITADEL_ERR_TLS] = "TLS failure",
    [ZITADEL_ERR_TIMEOUT] = "timed out",
    [ZITADEL_ERR_TOO_LARGE] = "input too large",
    [ZITADEL_ERR_PROTOCOL] = "malformed server response",
    [ZITADEL_ERR_HTTP] = "HTTP failure",
    [ZITADEL_ERR_INVALID_REQUEST] = "request rejected as invalid",
    [ZITADEL_ERR_FAILED_PRECONDITION] = "failed precondition",
    [ZITADEL_ERR_UNAUTHENTICATED] = "unauthenticated",
    [ZITADEL_ERR_PERMISSION_DENIED] = "permission denied",
    [ZITADEL_ERR_NOT_FOUND] = "not found",
    [ZITADEL_ERR_ALREADY_EXISTS] = "already exists",
    [ZITADEL_ERR_RATE_LIMITED] = "rate limited",
    [ZITADEL_ERR_SERVER] = "server error",
    [ZITADEL_ERR_ASSERTION_REJECTED] = "assertion rejected",
    [ZITADEL_ERR_OAUTH] = "OAuth error",
    [ZITADEL_ERR_CACHE_UNSAFE] = "unsafe token cache",
    [ZITADEL_ERR_LOCK_TIMEOUT] = "timed out waiting for the cache lock",
    [ZITADEL_ERR_NOT_CONFIGURED] = "not configured",
    [ZITADEL_ERR_UNSUPPORTED] = "not supported",
    [ZITADEL_ERR_INTERNAL] = "internal error",
};

const char *zitadel_strerror(zitadel_status status)
{
	size_t i = (size_t)status;

	if (i >= sizeof(status_names) / sizeof(status_names[0]) ||
	    status_names[i] == NULL)
		return "unknown status";
	return status_names[i];
}

void zitadel_error_clear(zitadel_error *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
	err->grpc_code = -1;
}

void zt_error_reset(zitadel_error *err)
{
	zitadel_error_clear(err);
}

/* Keep the message to one line whatever the format arguments held. */
static void flatten(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
	}
}

static void record(zitadel_error *err, zitadel_status st, long http_status,
		   int grpc_code, const char *id, const char *fmt, va_list ap)
    ZT_PRINTF(6, 0);

static void record(zitadel_error *err, zitadel_status st, long http_status,
		   int grpc_code, const char *id, const char *fmt, va_list ap)
{
	if (err == NULL || err->status != ZITADEL_OK)
		return;

	err->status = st;
	err->http_status = http_status;
	err->grpc_code = grpc_code;
	err->error_id[0] = '\0';
	if (id != NULL)
		zt_clip(id, strlen(id), err->error_id, sizeof(err->error_id));

	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	flatten(err->message);
}

zitadel_status zt_error(zitadel_error *err, zitadel_status st, const char *fmt,
			...)
{
	va_list ap;

	va_start(ap, fmt);
	record(err, st, 0, -1, NULL, fmt, ap);
	va_end(ap);
	return st;
}

zitadel_status zt_error_http(zitadel_error *err, zitadel_status st,
			     long http_status, int grpc_code, const char *id,
			     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(err, st, http_status, grpc_code, id, fmt, ap);
	va_end(ap);
	return st;
}
