/*
 * test_token_parse.c: token endpoint and introspection responses, valid
 * and malformed, data-driven.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

#define NOW 1700000000

struct token_case {
	const char *name;
	const char *body;
	zitadel_status want;
	long expires_in;
};

static const struct token_case token_cases[] = {
    {"zitadel answer",
     "{\"access_token\":\"MtjHodGy4zxKyl\",\"token_type\":\"Bearer\",\"expires_"
     "in\":43199,\"id_token\":\"eyJ.x.y\"}",
     ZITADEL_OK, 43199},
    {"minimal",
     "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":1}",
     ZITADEL_OK, 1},
    {"extra fields",
     "{\"access_token\":\"a\",\"token_type\":\"bearer\",\"expires_in\":60,"
     "\"scope\":\"openid\",\"x\":[{}]}",
     ZITADEL_OK, 60},
    {"not JSON", "access_token=a", ZITADEL_ERR_PROTOCOL, 0},
    {"empty", "", ZITADEL_ERR_PROTOCOL, 0},
    {"array", "[]", ZITADEL_ERR_PROTOCOL, 0},
    {"no access_token", "{\"token_type\":\"Bearer\",\"expires_in\":60}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"empty access_token",
     "{\"access_token\":\"\",\"token_type\":\"Bearer\",\"expires_in\":60}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"numeric access_token",
     "{\"access_token\":5,\"token_type\":\"Bearer\",\"expires_in\":60}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"access_token with newline",
     "{\"access_token\":\"a\\nb\",\"token_type\":\"Bearer\",\"expires_in\":60}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"access_token with space",
     "{\"access_token\":\"a b\",\"token_type\":\"Bearer\",\"expires_in\":60}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"no token_type", "{\"access_token\":\"a\",\"expires_in\":60}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"numeric token_type",
     "{\"access_token\":\"a\",\"token_type\":1,\"expires_in\":60}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"no expires_in", "{\"access_token\":\"a\",\"token_type\":\"Bearer\"}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"expires_in 0",
     "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":0}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"expires_in negative",
     "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":-5}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"expires_in string",
     "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
     "\"3600\"}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"expires_in float",
     "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":3600.5}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"expires_in huge",
     "{\"access_token\":\"a\",\"token_type\":\"Bearer\",\"expires_in\":"
     "9223372036854775807}",
     ZITADEL_ERR_PROTOCOL, 0},
};

static void test_tokens(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(token_cases) / sizeof(token_cases[0]); i++) {
		const struct token_case *c = &token_cases[i];
		zitadel_error err = ZITADEL_ERROR_INIT;
		zitadel_token *t = (zitadel_token *)1;
		zitadel_status rc;

		rc = zt_token_parse(c->body, strlen(c->body), NOW, &t, &err);
		if (rc != c->want)
			fail_msg("%s: got %d (%s)", c->name, rc, err.message);
		if (rc != ZITADEL_OK) {
			assert_null(t);
			assert_true(err.message[0] != '\0');
			continue;
		}
		assert_int_equal(t->obtained_at, NOW);
		assert_int_equal(t->expires_at, NOW + c->expires_in);
		assert_int_equal(t->from_cache, 0);
		assert_non_null(t->token_type);
		zitadel_token_free(t);
	}
}

static void test_token_value(void **state)
{
	const char *body = "{\"access_token\":\"MtjHodGy4zxKyl\",\"token_"
			   "type\":\"Bearer\",\"expires_in\":43199}";
	zitadel_token *t = NULL;

	(void)state;
	assert_int_equal(zt_token_parse(body, strlen(body), NOW, &t, NULL),
			 ZITADEL_OK);
	assert_string_equal(t->access_token, "MtjHodGy4zxKyl");
	assert_string_equal(t->token_type, "Bearer");
	zitadel_token_free(t);
	zitadel_token_free(NULL);
}

static void test_oversized_token(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	size_t n = ZT_TOKEN_MAX + 1;
	char *body = malloc(n + 128), *p;
	zitadel_token *t = NULL;

	(void)state;
	p = body + sprintf(body, "{\"access_token\":\"");
	memset(p, 'x', n);
	strcpy(p + n, "\",\"token_type\":\"Bearer\",\"expires_in\":60}");
	assert_int_equal(zt_token_parse(body, strlen(body), NOW, &t, &err),
			 ZITADEL_ERR_TOO_LARGE);
	assert_null(t);
	assert_null(strstr(err.message, "xxxx"));

	/* Exactly the bound is fine. */
	p[n - 1] = '"';
	memmove(p + n - 1, p + n, strlen(p + n) + 1);
	assert_int_equal(zt_token_parse(body, strlen(body), NOW, &t, &err),
			 ZITADEL_OK);
	assert_int_equal(strlen(t->access_token), ZT_TOKEN_MAX);
	zitadel_token_free(t);
	free(body);
}

/* ---- introspection ----------------------------------------------------- */

struct intro_case {
	const char *name;
	const char *body;
	zitadel_status want;
	int active;
};

static const struct intro_case intro_cases[] = {
    {"inactive", "{\"active\":false}", ZITADEL_OK, 0},
    {"active", "{\"active\":true,\"sub\":\"u1\",\"exp\":1733206543}",
     ZITADEL_OK, 1},
    {"active as string", "{\"active\":\"true\"}", ZITADEL_ERR_PROTOCOL, 0},
    {"active as number", "{\"active\":1}", ZITADEL_ERR_PROTOCOL, 0},
    {"no active", "{\"sub\":\"u1\"}", ZITADEL_ERR_PROTOCOL, 0},
    {"null active", "{\"active\":null}", ZITADEL_ERR_PROTOCOL, 0},
    {"exp as string", "{\"active\":true,\"exp\":\"1733206543\"}",
     ZITADEL_ERR_PROTOCOL, 0},
    {"not JSON", "active=true", ZITADEL_ERR_PROTOCOL, 0},
    {"array", "[{\"active\":true}]", ZITADEL_ERR_PROTOCOL, 0},
};

static void test_introspection_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(intro_cases) / sizeof(intro_cases[0]); i++) {
		const struct intro_case *c = &intro_cases[i];
		zitadel_introspection *in = (zitadel_introspection *)1;
		zitadel_status rc;

		rc =
		    zt_introspection_parse(c->body, strlen(c->body), &in, NULL);
		if (rc != c->want)
			fail_msg("%s: got %d", c->name, rc);
		if (rc != ZITADEL_OK) {
			assert_null(in);
			continue;
		}
		assert_int_equal(zitadel_introspection_active(in), c->active);
		zitadel_introspection_free(in);
	}
}

static const char full[] =
    "{\"active\":true,\"scope\":\"openid\",\"client_id\":\"billing-robot\","
    "\"token_type\":\"Bearer\",\"exp\":1733206543,\"iat\":1733163343,"
    "\"sub\":\"289395618127036681\",\"aud\":[\"294645919545032706\",\"c1@p\"],"
    "\"iss\":\"https://"
    "acme.zitadel.cloud\",\"username\":\"billing-robot@acme\","
    "\"urn:zitadel:iam:org:project:roles\":{\"reader\":{\"1\":\"acme\"}}}";

static void test_claims(void **state)
{
	zitadel_introspection *in = NULL;
	const char *arr =
	    "{\"active\":true,\"aud\":\"one\",\"urn:zitadel:iam:org:project:"
	    "roles\":[{\"writer\":{\"1\":\"acme\"}},{\"admin\":{}}]}";

	(void)state;
	assert_int_equal(zt_introspection_parse(full, strlen(full), &in, NULL),
			 ZITADEL_OK);
	assert_string_equal(zitadel_introspection_claim(in, "sub"),
			    "289395618127036681");
	assert_string_equal(zitadel_introspection_claim(in, "username"),
			    "billing-robot@acme");
	assert_null(zitadel_introspection_claim(in, "exp"));
	assert_null(zitadel_introspection_claim(in, "absent"));
	assert_int_equal(zitadel_introspection_exp(in), 1733206543);
	assert_true(zitadel_introspection_has_audience(in, "c1@p"));
	assert_false(zitadel_introspection_has_audience(in, "c1"));
	assert_true(zitadel_introspection_has_role(in, "reader"));
	assert_false(zitadel_introspection_has_role(in, "writer"));
	zitadel_introspection_free(in);

	assert_int_equal(zt_introspection_parse(arr, strlen(arr), &in, NULL),
			 ZITADEL_OK);
	assert_true(zitadel_introspection_has_audience(in, "one"));
	assert_true(zitadel_introspection_has_role(in, "writer"));
	assert_true(zitadel_introspection_has_role(in, "admin"));
	assert_false(zitadel_introspection_has_role(in, "reader"));
	assert_int_equal(zitadel_introspection_exp(in), 0);
	zitadel_introspection_free(in);

	assert_false(zitadel_introspection_active(NULL));
	assert_false(zitadel_introspection_has_role(NULL, "x"));
	zitadel_introspection_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_token_value),
	    cmocka_unit_test(test_oversized_token),
	    cmocka_unit_test(test_introspection_cases),
	    cmocka_unit_test(test_claims),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
