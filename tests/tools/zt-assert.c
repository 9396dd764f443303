/*
 * zt-assert: print the assertion libzitadel builds for a key file, an
 * audience and a fixed time, so that e2e/test_assertion_verify.py can
 * check it with PyJWT. Test tool only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

int main(int argc, char **argv)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *key = NULL;
	char *jwt = NULL;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: zt-assert KEYFILE AUDIENCE UNIXTIME\n");
		return 2;
	}
	if (zitadel_keyfile_load(argv[1], &key, &err) != ZITADEL_OK ||
	    zt_assertion_build(key, argv[2], (time_t)atoll(argv[3]), &jwt,
			       &err) != ZITADEL_OK) {
		fprintf(stderr, "zt-assert: %s\n", err.message);
		goto out;
	}
	printf("%s\n", jwt);
	rc = 0;
out:
	zt_free_secret(jwt);
	zitadel_keyfile_free(key);
	return rc;
}
