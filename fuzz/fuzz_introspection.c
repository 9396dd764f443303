/*
 * fuzz_introspection.c: zt_introspection_parse and every accessor the PAM
 * module uses on its result; the body comes from the network.
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "internal.h"

const char zt_fuzz_target[] = "introspection";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const claims[] = {
	    "sub",
	    "username",
	    "client_id",
	    "scope",
	    "iss",
	    "aud",
	    "urn:zitadel:iam:user:resourceowner:id"};
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_introspection *in = NULL;
	zitadel_status st;
	size_t i;

	st = zt_introspection_parse((const char *)data, size, &in, &err);
	if (st == ZITADEL_OK) {
		if (in == NULL)
			abort();
		(void)zitadel_introspection_active(in);
		(void)zitadel_introspection_exp(in);
		for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
			(void)zitadel_introspection_claim(in, claims[i]);
		(void)zitadel_introspection_has_audience(in, "123");
		(void)zitadel_introspection_has_audience(in, "");
		(void)zitadel_introspection_has_role(in, "admin");
		(void)zitadel_introspection_has_role(in, "");
	} else if (in != NULL || err.status != st) {
		abort();
	}
	zitadel_introspection_free(in);
	return 0;
}
