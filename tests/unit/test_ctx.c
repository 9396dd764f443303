/*
 * test_ctx.c: what the context refuses before any request (src/ctx.c): an
 * issuer that is not https://host[:port], a user name or password in it
 * (never echoed), a PAT or client secret that could break a header (never
 * echoed), and a CA file that cannot be used.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

static zitadel_ctx *new_ctx(void)
{
	zitadel_ctx *ctx = NULL;

	assert_int_equal(zitadel_ctx_new("https://id.example.com", &ctx, NULL),
			 ZITADEL_OK);
	return ctx;
}

static void test_ca_file(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_ctx *ctx = new_ctx();
	char dir[] = "/tmp/zt-ctx-XXXXXX", path[64];
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));

	assert_int_equal(zitadel_ctx_set_ca_file(ctx, "/nonexistent", &err),
			 ZITADEL_ERR_CONFIG);
	assert_string_equal(err.message,
			    "CA file /nonexistent: No such file or directory");
	assert_null(ctx->ca_file);

	/* a FIFO is refused at once, not waited on */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	zitadel_error_clear(&err);
	assert_int_equal(zitadel_ctx_set_ca_file(ctx, path, &err),
			 ZITADEL_ERR_CONFIG);
	assert_non_null(strstr(err.message, "is not a regular file"));
	assert_non_null(strstr(err.message, "CA file "));
	unlink(path);

	zitadel_error_clear(&err);
	assert_int_equal(zitadel_ctx_set_ca_file(ctx, dir, &err),
			 ZITADEL_ERR_CONFIG);
	assert_non_null(strstr(err.message, "is not a regular file"));

	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN CERTIFICATE-----\n", f);
	fclose(f);
	zitadel_error_clear(&err);
	assert_int_equal(zitadel_ctx_set_ca_file(ctx, path, &err), ZITADEL_OK);
	assert_string_equal(ctx->ca_file, path);

	/* unreadable (root reads anything, so only as another user) */
	if (geteuid() != 0) {
		assert_int_equal(chmod(path, 0), 0);
		zitadel_error_clear(&err);
		assert_int_equal(zitadel_ctx_set_ca_file(ctx, path, &err),
				 ZITADEL_ERR_CONFIG);
		assert_non_null(strstr(err.message, "Permission denied"));
	}
	assert_int_equal(zitadel_ctx_set_ca_file(ctx, "", &err), ZITADEL_OK);
	assert_null(ctx->ca_file);

	unlink(path);
	rmdir(dir);
	zitadel_ctx_free(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ca_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
