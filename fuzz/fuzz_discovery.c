/*
 * fuzz_discovery.c: zt_discovery_parse, the OpenID discovery document, which
 * comes from the network and from a file kept in the cache directory.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

const char zt_fuzz_target[] = "discovery";

/* The seeds name this issuer; any other is a mismatch. */
#define ISSUER "https://127.0.0.1:8443"

static int https_url(const char *s)
{
	return s != NULL && strncmp(s, "https://", 8) == 0 &&
	       strpbrk(s, " \r\n") == NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_ctx *ctx = NULL;
	char *before;
	zitadel_status st;

	if (zitadel_ctx_new(ISSUER, &ctx, NULL) != ZITADEL_OK)
		abort();
	/* A failed parse must leave what an earlier one found. */
	if ((before = zt_strdup("https://127.0.0.1:8443/before")) == NULL)
		abort();
	ctx->token_endpoint = before;

	st = zt_discovery_parse(ctx, (const char *)data, size, &err);
	if (st == ZITADEL_OK) {
		if (!https_url(ctx->token_endpoint) ||
		    (ctx->introspection_endpoint != NULL &&
		     !https_url(ctx->introspection_endpoint)))
			abort();
	} else if (err.status != st || err.message[0] == '\0' ||
		   strchr(err.message, '\n') != NULL ||
		   ctx->token_endpoint != before ||
		   ctx->introspection_endpoint != NULL) {
		abort();
	}
	zitadel_ctx_free(ctx);
	return 0;
}
