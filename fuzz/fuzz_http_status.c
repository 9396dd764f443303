/*
 * fuzz_http_status.c: zt_http_status, which reads Zitadel's grpc-gateway
 * error bodies and OAuth error bodies. The first two bytes pick the HTTP
 * status (100..599), the rest is the body.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

const char zt_fuzz_target[] = "http_status";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zt_http_response resp;
	zitadel_status st;
	size_t n;

	if (size < 2)
		return 0;
	memset(&resp, 0, sizeof(resp));
	resp.status = 100 + ((data[0] << 8) | data[1]) % 500;
	resp.retry_after_s = -1;
	resp.body_len = size - 2;
	/* The body exactly as http.c hands it over: NUL-terminated. */
	resp.body = zt_fuzz_cstr(data + 2, size - 2);
	if (resp.body == NULL)
		return 0;

	st = zt_http_status(&resp, "fuzz call", &err);
	if (resp.status >= 300 && st == ZITADEL_OK)
		abort(); /* a failure must never read as success */
	if (st != ZITADEL_OK) {
		n = strlen(err.message);
		if (err.status != st || n == 0 ||
		    memchr(err.message, '\n', n) != NULL ||
		    memchr(err.error_id, '\0', sizeof(err.error_id)) == NULL)
			abort();
	}
	free(resp.body);
	return 0;
}
