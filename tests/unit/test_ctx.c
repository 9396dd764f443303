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

struct issuer_case {
	const char *issuer;
	const char *phrase; /* NULL: accepted */
	const char *hidden; /* must not appear in the message */
};

static const struct issuer_case issuer_cases[] = {
    {"https://id.example.com", NULL, NULL},
    {"https://id.example.com:8443", NULL, NULL},
    {"https://127.0.0.1:1234", NULL, NULL},
    {"http://id.example.com",
     "issuer http://id.example.com must be an "
     "https:// URL",
     NULL},
    {"id.example.com", "must be an https:// URL", NULL},
    {"https://", "must be an https:// URL with a host", NULL},
    {"https:///path", "must be an https:// URL with a host", NULL},
    {"https://id.example.com/",
     "issuer https://id.example.com/ must not "
     "end with '/'",
     NULL},
    {"https://id.example.com/path", "must not have a path", NULL},
    {"https://id.example.com/path/", "must not have a path", NULL},
    {"https://id.example.com/oauth/v2", "https://host[:port] only", NULL},
    {"https://id.example.com?x=1", "a query or a fragment", NULL},
    {"https://id.example.com#top", "a query or a fragment", NULL},
    {"https://id.example.com x", "must not contain spaces", NULL},
    {"https://id.example.com\r\nX: y", "control characters", NULL},
    {"https://user:hunter2@id.example.com",
     "issuer must not contain a user name or password", "hunter2"},
    {"https://user@id.example.com",
     "issuer must not contain a user name or password", "user@"},
    {"http://user:hunter2@id.example.com",
     "issuer must not contain a user name or password", "hunter2"},
    {"https://id.example.com/a@hunter2",
     "issuer must not contain a user name or password", "hunter2"},
};

static void test_issuer(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(issuer_cases) / sizeof(issuer_cases[0]); i++) {
		const struct issuer_case *c = &issuer_cases[i];
		zitadel_error err = ZITADEL_ERROR_INIT;
		zitadel_ctx *ctx = NULL;
		zitadel_status st;

		st = zitadel_ctx_new(c->issuer, &ctx, &err);
		if (c->phrase == NULL) {
			if (st != ZITADEL_OK)
				fail_msg("%s: %s", c->issuer, err.message);
			assert_string_equal(zitadel_ctx_issuer(ctx), c->issuer);
			zitadel_ctx_free(ctx);
			continue;
		}
		assert_null(ctx);
		assert_int_equal(st, ZITADEL_ERR_INVALID_ARGUMENT);
		assert_int_equal(err.status, ZITADEL_ERR_INVALID_ARGUMENT);
		if (strstr(err.message, c->phrase) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", c->issuer,
				 err.message, c->phrase);
		if (c->hidden != NULL && strstr(err.message, c->hidden) != NULL)
			fail_msg("%s: \"%s\" shows \"%s\"", c->issuer,
				 err.message, c->hidden);
		/* said once: "issuer ... issuer" is a doubled prefix */
		assert_null(strstr(err.message + 1, "issuer https"));
	}
}

static zitadel_ctx *new_ctx(void)
{
	zitadel_ctx *ctx = NULL;

	assert_int_equal(zitadel_ctx_new("https://id.example.com", &ctx, NULL),
			 ZITADEL_OK);
	return ctx;
}

struct secret_case {
	const char *value;
	const char *phrase; /* NULL: accepted */
};

static const struct secret_case secret_cases[] = {
    {"dEnGhIhD9dO0RmFgiLaJQpCv0Qt5uUv3rY2AYYdXfM7Y0E4Y1gQ1J0xK3fA", NULL},
    {"a!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~z", NULL},
    {"secret with space", "holds a space or control character"},
    {" leading", "holds a space or control character"},
    {"trailing\n", "holds a space or control character"},
    {"tab\there", "holds a space or control character"},
    {"cr\rlf", "holds a space or control character"},
    {"del\x7f", "holds a space or control character"},
    {"bell\x07", "holds a space or control character"},
    {"caf\xc3\xa9", "holds a non-ASCII byte"},
};

static void check_secret_case(const struct secret_case *c, int pat)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_ctx *ctx = new_ctx();
	zitadel_status st;

	if (pat)
		st = zitadel_ctx_set_pat(ctx, c->value, &err);
	else
		st = zitadel_ctx_set_client_secret(ctx, "app", c->value, &err);
	if (c->phrase == NULL) {
		if (st != ZITADEL_OK)
			fail_msg("\"%s\" refused: %s", c->value, err.message);
		assert_non_null(pat ? ctx->pat : ctx->client_secret);
	} else {
		assert_int_equal(st, ZITADEL_ERR_INVALID_ARGUMENT);
		assert_non_null(strstr(err.message, c->phrase));
		assert_non_null(
		    strstr(err.message, pat ? "PAT " : "client secret "));
		/* never echoed, not even its first word */
		assert_null(strstr(err.message, "secret with"));
		assert_null(strstr(err.message, "leading"));
		assert_null(strstr(err.message, "caf"));
		assert_null(pat ? ctx->pat : ctx->client_secret);
	}
	zitadel_ctx_free(ctx);
}

static void test_pat_and_client_secret(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(secret_cases) / sizeof(secret_cases[0]); i++) {
		check_secret_case(&secret_cases[i], 1);
		check_secret_case(&secret_cases[i], 0);
	}
}

static void test_secret_length(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_ctx *ctx = new_ctx();
	char *big = malloc(ZT_TOKEN_MAX + 2);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', ZT_TOKEN_MAX);
	big[ZT_TOKEN_MAX] = '\0';
	assert_int_equal(zitadel_ctx_set_pat(ctx, big, &err), ZITADEL_OK);
	assert_int_equal(zitadel_ctx_set_client_secret(ctx, "app", big, &err),
			 ZITADEL_OK);

	big[ZT_TOKEN_MAX] = 'a';
	big[ZT_TOKEN_MAX + 1] = '\0';
	assert_int_equal(zitadel_ctx_set_pat(ctx, big, &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "PAT is longer than"));
	zitadel_error_clear(&err);
	assert_int_equal(zitadel_ctx_set_client_secret(ctx, "app", big, &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "client secret is longer than"));
	zitadel_error_clear(&err);
	assert_int_equal(zitadel_ctx_set_pat(ctx, "", &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	free(big);
	zitadel_ctx_free(ctx);
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
	    cmocka_unit_test(test_issuer),
	    cmocka_unit_test(test_pat_and_client_secret),
	    cmocka_unit_test(test_secret_length),
	    cmocka_unit_test(test_ca_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
