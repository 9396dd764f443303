/*
 * fuzz_token.c: zt_token_parse, the token endpoint's answer (RFC 6749
 * section 5.1), which comes from the network.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

const char zt_fuzz_target[] = "token";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_token *tok = NULL;
	zitadel_status st;

	st = zt_token_parse((const char *)data, size, 1700000000, &tok, &err);
	if (st == ZITADEL_OK) {
		if (tok == NULL || tok->access_token == NULL ||
		    tok->access_token[0] == '\0' ||
		    strlen(tok->access_token) > ZT_TOKEN_MAX)
			abort();
	} else if (tok != NULL || err.status != st) {
		abort();
	}
	zitadel_token_free(tok);
	return 0;
}
