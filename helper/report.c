/*
 * report.c: how every face reports: the first failure with its exit code,
 * and debug lines under --verbose. Kept apart from main.c so that the fuzz
 * targets and their replays link the faces with these and without main().
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "helper.h"

int zh_verbose;

int zh_failf(zh_fail *fail, int code, const char *fmt, ...)
{
	va_list ap;

	if (fail->code != ZH_EXIT_OK)
		return fail->code;
	fail->code = code;
	va_start(ap, fmt);
	vsnprintf(fail->message, sizeof(fail->message), fmt, ap);
	va_end(ap);
	return code;
}

int zh_exit_for(zitadel_status st)
{
	switch (st) {
	case ZITADEL_OK:
		return ZH_EXIT_OK;
	case ZITADEL_ERR_ASSERTION_REJECTED:
	case ZITADEL_ERR_OAUTH:
	case ZITADEL_ERR_UNAUTHENTICATED:
	case ZITADEL_ERR_PERMISSION_DENIED:
	case ZITADEL_ERR_INVALID_REQUEST:
	case ZITADEL_ERR_FAILED_PRECONDITION:
	case ZITADEL_ERR_NOT_FOUND:
		return ZH_EXIT_REFUSED;
	case ZITADEL_ERR_INVALID_ARGUMENT:
	case ZITADEL_ERR_CONFIG:
	case ZITADEL_ERR_NOT_CONFIGURED:
		return ZH_EXIT_CONFIG;
	case ZITADEL_ERR_KEYFILE:
	case ZITADEL_ERR_KEYFILE_PERMISSIONS:
	case ZITADEL_ERR_CRYPTO:
		return ZH_EXIT_KEYFILE;
	case ZITADEL_ERR_DNS:
	case ZITADEL_ERR_CONNECT:
	case ZITADEL_ERR_TLS:
	case ZITADEL_ERR_TIMEOUT:
		return ZH_EXIT_NETWORK;
	case ZITADEL_ERR_TOO_LARGE:
	case ZITADEL_ERR_PROTOCOL:
	case ZITADEL_ERR_HTTP:
	case ZITADEL_ERR_RATE_LIMITED:
	case ZITADEL_ERR_SERVER:
	case ZITADEL_ERR_ALREADY_EXISTS:
		return ZH_EXIT_SERVER;
	default:
		return ZH_EXIT_LOCAL;
	}
}

int zh_fail_lib(zh_fail *fail, zitadel_status st, const zitadel_error *err,
		const char *(*strerror_fn)(zitadel_status), const char *what)
{
	const char *detail =
	    err->message[0] != '\0' ? err->message : strerror_fn(st);

	/* what NULL: the library's message names its subject already. */
	if (what == NULL)
		return zh_failf(fail, zh_exit_for(st), "%s", detail);
	return zh_failf(fail, zh_exit_for(st), "%s: %s", what, detail);
}

void zh_debug(const char *fmt, ...)
{
	va_list ap;

	if (!zh_verbose)
		return;
	fprintf(stderr, "%s: debug: ", zh_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
