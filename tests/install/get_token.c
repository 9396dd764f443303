/*
 * get_token.c: a client of the installed libzitadel, built by the install
 * tests with nothing but the installed zitadel.h and the flags
 * pkg-config --cflags --libs libzitadel gives. Prints an access token.
 * usage: get_token ISSUER CA_FILE KEY_FILE
 */
#include <stdio.h>

#include <zitadel.h>

int main(int argc, char **argv)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_ctx *ctx = NULL;
	zitadel_keyfile *key = NULL;
	zitadel_token *tok = NULL;
	zitadel_status st;
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: get_token ISSUER CA_FILE KEY_FILE\n");
		return 2;
	}
	if ((st = zitadel_ctx_new(argv[1], &ctx, &err)) != ZITADEL_OK ||
	    (st = zitadel_ctx_set_ca_file(ctx, argv[2], &err)) != ZITADEL_OK ||
	    (st = zitadel_ctx_set_cache(ctx, NULL, 0, &err)) != ZITADEL_OK ||
	    (st = zitadel_keyfile_load(argv[3], &key, &err)) != ZITADEL_OK ||
	    (st = zitadel_token_get(ctx, key, NULL, 0, &tok, &err)) !=
		ZITADEL_OK) {
		fprintf(stderr, "get_token: %s: %s\n", zitadel_strerror(st),
			err.message);
		goto out;
	}
	printf("%s\n", tok->access_token);
	rc = 0;
out:
	zitadel_token_free(tok);
	zitadel_keyfile_free(key);
	zitadel_ctx_free(ctx);
	return rc;
}
