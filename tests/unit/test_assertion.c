/*
 * test_assertion.c: the RFC 7523 assertion's header and claims, decoded
 * here with jansson; key checks (PKCS#1, PKCS#8, EC, short RSA, garbage).
 * The signature itself is checked by PyJWT in e2e/test_assertion_verify.py.
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
#include <jansson.h>

#include "internal.h"
#include "testkeys.h"

#define ISSUER "https://zitadel.test.example:8443"
#define NOW    1700000000

static zitadel_keyfile *keyfile_with(const char *type, const char *pem)
{
	char *js = test_json_string(pem), *doc = malloc(strlen(js) + 256);
	zitadel_keyfile *k = NULL;
	zitadel_error err = ZITADEL_ERROR_INIT;

	if (strcmp(type, "application") == 0)
		sprintf(doc,
			"{\"type\":\"application\",\"keyId\":\"kid-7\",\"key\":"
			"%s,\"appId\":\"a1\",\"clientId\":\"client-1@proj\"}",
			js);
	else
		sprintf(doc,
			"{\"type\":\"serviceaccount\",\"keyId\":\"kid-7\","
			"\"key\":%s,\"userId\":\"user-42\"}",
			js);
	if (zitadel_keyfile_parse(doc, strlen(doc), "t", &k, &err) != 0)
		fail_msg("parse: %s", err.message);
	free(js);
	free(doc);
	return k;
}

static int b64url_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decode one unpadded base64url segment into JSON. */
static json_t *segment_json(const char *s, size_t len)
{
	unsigned char *out = malloc(len);
	unsigned long acc = 0;
	size_t i, n = 0;
	int bits = 0, v;
	json_t *j;

	for (i = 0; i < len; i++) {
		v = b64url_value((unsigned char)s[i]);
		assert_true(v >= 0); /* no padding, no other alphabet */
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	j = json_loadb((const char *)out, n, 0, NULL);
	free(out);
	assert_non_null(j);
	return j;
}

static void decode(const char *jwt, json_t **header, json_t **payload)
{
	const char *d1 = strchr(jwt, '.'), *d2;

	assert_non_null(d1);
	d2 = strchr(d1 + 1, '.');
	assert_non_null(d2);
	assert_null(strchr(d2 + 1, '.'));
	assert_true(strlen(d2 + 1) > 300); /* an RS256 signature, 2048 bits */
	*header = segment_json(jwt, (size_t)(d1 - jwt));
	*payload = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
}

static const char *str(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static void check_claims(const char *type, enum test_key_kind kind,
			 const char *subject)
{
	char *pem = test_key_pem(kind), *jwt = NULL;
	zitadel_keyfile *k = keyfile_with(type, pem);
	zitadel_error err = ZITADEL_ERROR_INIT;
	json_t *h, *p;

	if (zt_assertion_build(k, ISSUER, NOW, &jwt, &err) != ZITADEL_OK)
		fail_msg("build: %s", err.message);
	decode(jwt, &h, &p);
	assert_string_equal(str(h, "alg"), "RS256");
	assert_string_equal(str(h, "kid"), "kid-7");
	assert_string_equal(str(h, "typ"), "JWT");
	assert_string_equal(str(p, "iss"), subject);
	assert_string_equal(str(p, "sub"), subject);
	/* aud is the issuer exactly, as a string */
	assert_string_equal(str(p, "aud"), ISSUER);
	assert_int_equal(num(p, "iat"), NOW - ZT_ASSERTION_BACKDATE);
	assert_int_equal(num(p, "exp"), NOW + ZT_ASSERTION_LIFETIME);
	assert_true(ZT_ASSERTION_BACKDATE > 1 && ZT_ASSERTION_BACKDATE < 3600);
	assert_int_equal(json_object_size(p), 5);
	json_decref(h);
	json_decref(p);
	zt_free_secret(jwt);
	zitadel_keyfile_free(k);
	free(pem);
}

static void test_pkcs1(void **state)
{
	(void)state;
	check_claims("serviceaccount", TEST_KEY_RSA_PKCS1, "user-42");
}

static void test_pkcs8(void **state)
{
	(void)state;
	check_claims("serviceaccount", TEST_KEY_RSA_PKCS8, "user-42");
}

static void test_application(void **state)
{
	(void)state;
	check_claims("application", TEST_KEY_RSA_PKCS1, "client-1@proj");
}

static void refused(const char *pem, zitadel_status want, const char *text)
{
	zitadel_keyfile *k = keyfile_with("serviceaccount", pem);
	zitadel_error err = ZITADEL_ERROR_INIT;
	char *jwt = (char *)1;

	assert_int_equal(zt_assertion_build(k, ISSUER, NOW, &jwt, &err), want);
	assert_null(jwt);
	if (strstr(err.message, text) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, text);
	assert_non_null(strstr(err.message, "kid-7"));
	assert_null(strstr(err.message, "MII"));
	zitadel_keyfile_free(k);
}

static void test_bad_keys(void **state)
{
	char *ec = test_key_pem(TEST_KEY_EC), *small;

	(void)state;
	/* EC as PKCS#8 passes the key file's PEM check but is not RSA. */
	refused(ec, ZITADEL_ERR_KEYFILE, "but Zitadel keys are RSA");
	free(ec);
	small = test_key_pem(TEST_KEY_RSA_1024);
	refused(small, ZITADEL_ERR_KEYFILE, "1024 bits");
	free(small);
	refused("-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA "
		"PRIVATE KEY-----\n",
		ZITADEL_ERR_KEYFILE, "cannot be parsed");
}

static void test_arguments(void **state)
{
	char *jwt = (char *)1;

	(void)state;
	assert_int_equal(zt_assertion_build(NULL, ISSUER, NOW, &jwt, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_null(jwt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pkcs1),       cmocka_unit_test(test_pkcs8),
	    cmocka_unit_test(test_application), cmocka_unit_test(test_bad_keys),
	    cmocka_unit_test(test_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
