/*
 * fuzz_keyfile.c: zitadel_keyfile_parse, and the accessors on what it
 * accepts. Key files come from users and from zitadelctl's output.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

const char zt_fuzz_target[] = "keyfile";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *key = NULL;
	zitadel_status st;

	st =
	    zitadel_keyfile_parse((const char *)data, size, "fuzz", &key, &err);
	if (st == ZITADEL_OK) {
		if (key == NULL || zitadel_keyfile_key_id(key) == NULL ||
		    zitadel_keyfile_subject(key) == NULL ||
		    zt_keyfile_pem(key) == NULL)
			abort();
		(void)zitadel_keyfile_get_type(key);
		(void)zitadel_keyfile_app_id(key);
		(void)zitadel_keyfile_expiration(key);
	} else if (key != NULL || err.status != st ||
		   strlen(err.message) == 0 ||
		   memchr(err.message, '\n', strlen(err.message)) != NULL) {
		/* A failure leaves no key and says why, on one line. */
		abort();
	}
	zitadel_keyfile_free(key);
	return 0;
}
