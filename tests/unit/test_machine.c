/*
 * test_machine.c: the machine-user calls without HTTP: every response
 * parser fed the reference's example bodies, protojson's zero-value
 * omission, int64 as string and number, malformed bodies of each kind,
 * base64, local input checks (which must fail before any request) and a
 * failing allocator run through every parser.
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

#define P(s) s, strlen(s)

/* §2.1 */
static const char user_added[] =
    "{\"userId\":\"289395618127036681\",\"details\":{\"sequence\":\"1\","
    "\"changeDate\":\"2025-08-20T10:15:30.512Z\",\"resourceOwner\":"
    "\"289395610296602889\"}}";

/* §2.5: keyDetails is base64 of this key file */
static const char keyfile_json[] =
    "{\"type\":\"serviceaccount\",\"keyId\":\"289395744426934537\",\"key\":"
    "\"-----BEGIN RSA PRIVATE KEY-----\\nMIIEow\\n-----END RSA PRIVATE "
    "KEY-----\\n\",\"expirationDate\":\"2026-12-31T00:00:00Z\",\"userId\":"
    "\"289395618127036681\"}";

static const char key_added_public[] =
    "{\"keyId\":\"289395800112345678\",\"details\":{\"sequence\":\"8\","
    "\"creationDate\":\"2025-08-20T11:12:00Z\",\"resourceOwner\":"
    "\"289395610296602889\"}}";

/* §2.6 */
static const char key_get[] =
    "{\"key\":{\"id\":\"289395744426934537\",\"details\":{\"sequence\":\"7\","
    "\"creationDate\":\"2025-08-20T11:10:00.100Z\",\"changeDate\":"
    "\"2025-08-20T11:10:00.100Z\",\"resourceOwner\":\"289395610296602889\"},"
    "\"type\":\"KEY_TYPE_JSON\",\"expirationDate\":\"2026-12-31T00:00:00Z\"}"
    "}";

/* §2.7 */
static const char key_list[] =
    "{\"details\":{\"totalResult\":\"2\",\"viewTimestamp\":"
    "\"2025-08-20T11:12:01.200Z\"},\"result\":[{\"id\":"
    "\"289395744426934537\",\"details\":{\"sequence\":\"7\",\"creationDate\":"
    "\"2025-08-20T11:10:00.100Z\",\"changeDate\":\"2025-08-20T11:10:00.100Z\","
    "\"resourceOwner\":\"289395610296602889\"},\"type\":\"KEY_TYPE_JSON\","
    "\"expirationDate\":\"2026-12-31T00:00:00Z\"},{\"id\":"
    "\"289395800112345678\",\"details\":{\"sequence\":\"8\",\"creationDate\":"
    "\"2025-08-20T11:12:00Z\",\"changeDate\":\"2025-08-20T11:12:00Z\","
    "\"resourceOwner\":\"289395610296602889\"},\"type\":\"KEY_TYPE_JSON\","
    "\"expirationDate\":\"9999-12-31T23:59:59Z\"}]}";

/* §2.9 */
static const char pat_added[] =
    "{\"tokenId\":\"289396001122334455\",\"token\":"
    "\"dEnGhIhD9dO0RmFgiLaJQpCv0Qt5uUv3rY2AYYdXfM7Y0E4Y1gQ1J0xK3fA\","
    "\"details\":{\"sequence\":\"9\",\"creationDate\":\"2025-08-20T11:20:00Z\","
    "\"resourceOwner\":\"289395610296602889\"}}";

/* §2.10 */
static const char pat_get[] =
    "{\"token\":{\"id\":\"289396001122334455\",\"details\":{\"sequence\":"
    "\"9\",\"creationDate\":\"2025-08-20T11:20:00Z\",\"changeDate\":"
    "\"2025-08-20T11:20:00Z\",\"resourceOwner\":\"289395610296602889\"},"
    "\"expirationDate\":\"2026-06-30T00:00:00Z\",\"scopes\":[\"openid\","
    "\"profile\",\"urn:zitadel:iam:user:metadata\","
    "\"urn:zitadel:iam:user:resourceowner\"]}}";

/* §2.3 */
static const char secret_generated[] =
    "{\"clientId\":\"billing-robot\",\"clientSecret\":\"Tq3nXYZ8Z\","
    "\"details\":{\"sequence\":\"5\",\"creationDate\":"
    "\"2025-08-20T11:05:00Z\",\"resourceOwner\":\"289395610296602889\"}}";

/* §2.4 */
static const char details_only[] =
    "{\"details\":{\"sequence\":\"6\",\"changeDate\":"
    "\"2025-08-20T11:06:10.040Z\",\"resourceOwner\":\"289395610296602889\"}}";

static void test_user_added(void **state)
{
	zitadel_machine_user_added *a = NULL;
	zitadel_error err = ZITADEL_ERROR_INIT;

	(void)state;
	assert_int_equal(zt_machine_user_added_parse(P(user_added), &a, &err),
			 ZITADEL_OK);
	assert_string_equal(a->user_id, "289395618127036681");
	assert_int_equal(a->details.sequence, 1);
	assert_null(a->details.creation_date);
	assert_string_equal(a->details.change_date, "2025-08-20T10:15:30.512Z");
	assert_string_equal(a->details.resource_owner, "289395610296602889");
	zitadel_machine_user_added_free(a);

	assert_int_equal(
	    zt_machine_user_added_parse(P("{\"details\":{}}"), &a, &err),
	    ZITADEL_ERR_PROTOCOL);
	assert_null(a);
	assert_non_null(strstr(err.message, "userId"));
}

static void test_details(void **state)
{
	zitadel_details *d = NULL;

	(void)state;
	assert_int_equal(
	    zt_details_response_parse(P(details_only), "Remove", &d, NULL),
	    ZITADEL_OK);
	assert_int_equal(d->sequence, 6);
	assert_string_equal(d->change_date, "2025-08-20T11:06:10.040Z");
	zitadel_details_free(d);

	/* every zero value omitted: an empty object is all defaults */
	assert_int_equal(zt_details_response_parse(P("{}"), "Remove", &d, NULL),
			 ZITADEL_OK);
	assert_int_equal(d->sequence, 0);
	assert_null(d->change_date);
	assert_null(d->resource_owner);
	zitadel_details_free(d);
	zitadel_details_free(NULL);
}

static void test_key_added(void **state)
{
	zitadel_machine_key_added *a = NULL;
	char *b64, *body;

	(void)state;
	b64 = zt_base64_encode((const unsigned char *)keyfile_json,
			       strlen(keyfile_json));
	assert_non_null(b64);
	body = zt_asprintf("{\"keyId\":\"289395744426934537\",\"keyDetails\":"
			   "\"%s\",\"details\":{\"sequence\":\"7\","
			   "\"creationDate\":\"2025-08-20T11:10:00.100Z\"}}",
			   b64);
	assert_int_equal(zt_machine_key_added_parse(P(body), &a, NULL),
			 ZITADEL_OK);
	assert_string_equal(a->key_id, "289395744426934537");
	assert_int_equal(a->key_details_len, strlen(keyfile_json));
	assert_memory_equal(a->key_details, keyfile_json, strlen(keyfile_json));
	assert_int_equal(a->details.sequence, 7);
	zitadel_machine_key_added_free(a);
	free(body);
	free(b64);

	/* a caller-made key: no keyDetails at all */
	assert_int_equal(
	    zt_machine_key_added_parse(P(key_added_public), &a, NULL),
	    ZITADEL_OK);
	assert_null(a->key_details);
	assert_int_equal(a->key_details_len, 0);
	zitadel_machine_key_added_free(a);
}

static void test_key_added_bad(void **state)
{
	static const char *const bad[] = {
	    "{\"keyId\":\"1\",\"keyDetails\":\"!!!!\"}",
	    "{\"keyId\":\"1\",\"keyDetails\":\"eyI\"}", /* unpadded */
	    "{\"keyId\":\"1\",\"keyDetails\":\"e\"}",   /* 1 mod 4: never */
	    "{\"keyId\":\"1\",\"keyDetails\":\"eQ==x\"}",
	    "{\"keyId\":\"1\",\"keyDetails\":12}",
	    "{\"keyId\":\"1\",\"keyDetails\":\"\"}",
	    "{\"keyId\":\"1\",\"keyDetails\":\"AA==\"}", /* a NUL byte */
	    "{\"keyId\":7,\"keyDetails\":\"e30=\"}",
	    "{\"keyDetails\":\"e30=\"}",
	    "{\"keyId\":\"\",\"keyDetails\":\"e30=\"}",
	};
	zitadel_machine_key_added *a = NULL;
	zitadel_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zitadel_error_clear(&err);
		if (i == 1) {
			/* "eyI" is valid unpadded base64 of "{\"" */
			assert_int_equal(
			    zt_machine_key_added_parse(P(bad[i]), &a, &err),
			    ZITADEL_OK);
			zitadel_machine_key_added_free(a);
			continue;
		}
		assert_int_equal(
		    zt_machine_key_added_parse(P(bad[i]), &a, &err),
		    ZITADEL_ERR_PROTOCOL);
		assert_null(a);
		assert_int_equal(err.status, ZITADEL_ERR_PROTOCOL);
		assert_non_null(strstr(err.message, "AddMachineKey"));
	}
}

static void test_key_get(void **state)
{
	zitadel_machine_key *k = NULL;

	(void)state;
	assert_int_equal(zt_machine_key_parse(P(key_get), &k, NULL),
			 ZITADEL_OK);
	assert_string_equal(k->id, "289395744426934537");
	assert_int_equal(k->type, 1);
	assert_string_equal(k->expiration_date, "2026-12-31T00:00:00Z");
	assert_int_equal(k->expiration, 1798675200);
	assert_string_equal(k->details.creation_date,
			    "2025-08-20T11:10:00.100Z");
	assert_string_equal(k->details.change_date, "2025-08-20T11:10:00.100Z");
	zitadel_machine_key_free(k);
	zitadel_machine_key_free(NULL);

	/* enum 0 is omitted; numbers are accepted for enums */
	assert_int_equal(
	    zt_machine_key_parse(P("{\"key\":{\"id\":\"1\"}}"), &k, NULL),
	    ZITADEL_OK);
	assert_int_equal(k->type, 0);
	assert_null(k->expiration_date);
	assert_int_equal(k->expiration, 0);
	zitadel_machine_key_free(k);
	assert_int_equal(
	    zt_machine_key_parse(P("{\"key\":{\"id\":\"1\",\"type\":1}}"), &k,
				 NULL),
	    ZITADEL_OK);
	assert_int_equal(k->type, 1);
	zitadel_machine_key_free(k);
}

static void test_key_get_bad(void **state)
{
	static const char *const bad[] = {
	    "{}",
	    "{\"key\":[]}",
	    "{\"key\":{}}",
	    "{\"key\":{\"id\":\"1\",\"type\":\"KEY_TYPE_PEM\"}}",
	    "{\"key\":{\"id\":\"1\",\"type\":7}}",
	    "{\"key\":{\"id\":\"1\",\"type\":true}}",
	    "{\"key\":{\"id\":\"1\",\"expirationDate\":\"tomorrow\"}}",
	    "{\"key\":{\"id\":\"1\",\"expirationDate\":20261231}}",
	    "{\"key\":{\"id\":\"1\",\"details\":\"x\"}}",
	    "{\"key\":{\"id\":\"1\",\"details\":{\"sequence\":\"-1\"}}}",
	    "{\"key\":{\"id\":\"1\",\"details\":{\"sequence\":-1}}}",
	    "{\"key\":{\"id\":\"1\",\"details\":{\"sequence\":\"1e3\"}}}",
	    "{\"key\":{\"id\":\"1\",\"details\":{\"sequence\":1.5}}}",
	    "{\"key\":{\"id\":\"1\",\"details\":{\"creationDate\":5}}}",
	    "{\"key\":{\"id\":\"1\",\"details\":{\"resourceOwner\":[]}}}",
	    "not json",
	    "[1,2]",
	    "",
	};
	zitadel_machine_key *k = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zitadel_error err = ZITADEL_ERROR_INIT;

		assert_int_equal(zt_machine_key_parse(P(bad[i]), &k, &err),
				 ZITADEL_ERR_PROTOCOL);
		assert_null(k);
		assert_true(err.message[0] != '\0');
	}
}

static void test_key_list(void **state)
{
	zitadel_machine_keys *l = NULL;

	(void)state;
	assert_int_equal(zt_machine_key_list_parse(P(key_list), &l, NULL),
			 ZITADEL_OK);
	assert_int_equal(l->count, 2);
	assert_int_equal(l->details.total_result, 2);
	assert_string_equal(l->details.view_timestamp,
			    "2025-08-20T11:12:01.200Z");
	assert_string_equal(l->keys[1].id, "289395800112345678");
	/* "no expiry" is the year 9999 */
	assert_int_equal(l->keys[1].expiration, 253402300799LL);
	zitadel_machine_keys_free(l);
	zitadel_machine_keys_free(NULL);
}

static void test_list_empty_and_numbers(void **state)
{
	zitadel_machine_keys *l = NULL;
	zitadel_pats *p = NULL;

	(void)state;
	/* an empty list carries neither result nor totalResult */
	assert_int_equal(
	    zt_machine_key_list_parse(
		P("{\"details\":{\"viewTimestamp\":\"2025-08-20T11:12:01Z\"}}"),
		&l, NULL),
	    ZITADEL_OK);
	assert_int_equal(l->count, 0);
	assert_null(l->keys);
	assert_int_equal(l->details.total_result, 0);
	zitadel_machine_keys_free(l);

	assert_int_equal(zt_pat_list_parse(P("{}"), &p, NULL), ZITADEL_OK);
	assert_int_equal(p->count, 0);
	zitadel_pats_free(p);
	assert_int_equal(zt_pat_list_parse(P("{\"result\":[]}"), &p, NULL),
			 ZITADEL_OK);
	assert_int_equal(p->count, 0);
	zitadel_pats_free(p);

	/* int64 as a number and at its limit */
	assert_int_equal(
	    zt_machine_key_list_parse(
		P("{\"details\":{\"totalResult\":3,\"processedSequence\":"
		  "\"18446744073709551615\"}}"),
		&l, NULL),
	    ZITADEL_OK);
	assert_int_equal(l->details.total_result, 3);
	assert_true(l->details.processed_sequence == UINT64_MAX);
	zitadel_machine_keys_free(l);
}

static void test_list_bad(void **state)
{
	static const char *const bad[] = {
	    "{\"details\":{\"totalResult\":\"18446744073709551616\"}}",
	    "{\"details\":{\"totalResult\":\"\"}}",
	    "{\"details\":{\"totalResult\":\"+1\"}}",
	    "{\"details\":{\"totalResult\":\" 1\"}}",
	    "{\"details\":{\"totalResult\":-2}}",
	    "{\"details\":{\"totalResult\":true}}",
	    "{\"details\":{\"viewTimestamp\":\"yesterday\"}}",
	    "{\"details\":[]}",
	    "{\"result\":{}}",
	    "{\"result\":[1]}",
	    "{\"result\":[{\"id\":\"1\"},{}]}",
	    "{\"result\":[{\"id\":\"1\",\"scopes\":\"openid\"}]}",
	    "{\"result\":[{\"id\":\"1\",\"scopes\":[1]}]}",
	};
	zitadel_machine_keys *l = NULL;
	zitadel_pats *p = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zitadel_error err = ZITADEL_ERROR_INIT;

		assert_int_equal(zt_pat_list_parse(P(bad[i]), &p, &err),
				 ZITADEL_ERR_PROTOCOL);
		assert_null(p);
		if (strstr(bad[i], "scopes") != NULL)
			continue;
		assert_int_equal(zt_machine_key_list_parse(P(bad[i]), &l, NULL),
				 ZITADEL_ERR_PROTOCOL);
		assert_null(l);
	}
}

static void test_pat(void **state)
{
	zitadel_pat_added *a = NULL;
	zitadel_pat *p = NULL;
	zitadel_pats *l = NULL;
	char *body;

	(void)state;
	assert_int_equal(zt_pat_added_parse(P(pat_added), &a, NULL),
			 ZITADEL_OK);
	assert_string_equal(a->token_id, "289396001122334455");
	assert_string_equal(
	    a->token,
	    "dEnGhIhD9dO0RmFgiLaJQpCv0Qt5uUv3rY2AYYdXfM7Y0E4Y1gQ1J0xK3fA");
	zitadel_pat_added_free(a);
	zitadel_pat_added_free(NULL);
	assert_int_equal(zt_pat_added_parse(P("{\"tokenId\":\"1\"}"), &a, NULL),
			 ZITADEL_ERR_PROTOCOL);
	assert_int_equal(
	    zt_pat_added_parse(P("{\"tokenId\":\"1\",\"token\":5}"), &a, NULL),
	    ZITADEL_ERR_PROTOCOL);

	assert_int_equal(zt_pat_parse(P(pat_get), &p, NULL), ZITADEL_OK);
	assert_string_equal(p->id, "289396001122334455");
	assert_int_equal(p->scope_count, 4);
	assert_string_equal(p->scopes[3], "urn:zitadel:iam:user:resourceowner");
	assert_int_equal(p->expiration, 1782777600);
	zitadel_pat_free(p);
	zitadel_pat_free(NULL);

	body =
	    zt_asprintf("{\"details\":{\"totalResult\":\"1\"},\"result\":[%s]}",
			strstr(pat_get, "{\"id\""));
	/* strip the outer object's closing brace */
	body[strlen(body) - 3] = ']';
	body[strlen(body) - 2] = '}';
	body[strlen(body) - 1] = '\0';
	assert_int_equal(zt_pat_list_parse(P(body), &l, NULL), ZITADEL_OK);
	assert_int_equal(l->count, 1);
	assert_int_equal(l->pats[0].scope_count, 4);
	zitadel_pats_free(l);
	free(body);
}

static void test_secret(void **state)
{
	zitadel_machine_secret *s = NULL;

	(void)state;
	assert_int_equal(zt_machine_secret_parse(P(secret_generated), &s, NULL),
			 ZITADEL_OK);
	assert_string_equal(s->client_id, "billing-robot");
	assert_string_equal(s->client_secret, "Tq3nXYZ8Z");
	assert_string_equal(s->details.creation_date, "2025-08-20T11:05:00Z");
	zitadel_machine_secret_free(s);
	zitadel_machine_secret_free(NULL);
	assert_int_equal(
	    zt_machine_secret_parse(P("{\"clientId\":\"x\"}"), &s, NULL),
	    ZITADEL_ERR_PROTOCOL);
	assert_null(s);
}

static void test_base64(void **state)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: must be refused */
	} cases[] = {
	    {"", ""},
	    {"Zg==", "f"},
	    {"Zg", "f"},
	    {"Zm8=", "fo"},
	    {"Zm9v", "foo"},
	    {"-_8=", "\xfb\xff"},
	    {"+/8=", "\xfb\xff"},
	    {"Zh==", NULL}, /* non-zero leftover bits */
	    {"Z===", NULL},
	    {"Zg=", NULL},
	    {"Z", NULL},
	    {"Zm 9v", NULL},
	    {"Zm9v\n", NULL},
	};
	unsigned char *out;
	size_t i, len;
	char *enc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = zt_base64_decode(P(cases[i].in), &out, &len);

		if (cases[i].out == NULL) {
			assert_int_equal(r, -1);
			assert_null(out);
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(len, strlen(cases[i].out));
		assert_memory_equal(out, cases[i].out, len);
		free(out);
	}
	enc = zt_base64_encode((const unsigned char *)"-----BEGIN", 10);
	assert_string_equal(enc, "LS0tLS1CRUdJTg==");
	free(enc);
	enc = zt_base64_encode((const unsigned char *)"ab", 2);
	assert_string_equal(enc, "YWI=");
	free(enc);
}

/* Bad input is refused before any request: the context points at a port
 * nobody listens on and has no credential, so reaching the network would
 * fail differently. */
static void test_input_checks(void **state)
{
	zitadel_machine_user_new req = {"robot", "Robot", NULL,
					ZITADEL_ACCESS_TOKEN_BEARER, NULL};
	zitadel_machine_user_change ch = {"Robot", NULL,
					  ZITADEL_ACCESS_TOKEN_JWT};
	zitadel_machine_user_added *added = NULL;
	zitadel_machine_key_added *ka = NULL;
	zitadel_machine_key *k = NULL;
	zitadel_pat_added *pa = NULL;
	zitadel_details *d = NULL;
	zitadel_ctx *ctx = NULL;
	char long_id[202], long_desc[502];

	(void)state;
	memset(long_id, 'a', 201);
	long_id[201] = '\0';
	memset(long_desc, 'd', 501);
	long_desc[501] = '\0';
	assert_int_equal(zitadel_ctx_new("https://127.0.0.1:1", &ctx, NULL),
			 ZITADEL_OK);

	req.user_name = "";
	assert_int_equal(zitadel_machine_user_add(ctx, &req, &added, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	req.user_name = long_id;
	assert_int_equal(zitadel_machine_user_add(ctx, &req, &added, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	req.user_name = "robot";
	req.name = NULL;
	assert_int_equal(zitadel_machine_user_add(ctx, &req, &added, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	req.name = "Robot";
	req.description = long_desc;
	assert_int_equal(zitadel_machine_user_add(ctx, &req, &added, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	req.description = NULL;
	req.access_token_type = (zitadel_access_token_type)5;
	assert_int_equal(zitadel_machine_user_add(ctx, &req, &added, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_null(added);

	assert_int_equal(zitadel_machine_user_update(ctx, "", &ch, &d, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	ch.name = "";
	assert_int_equal(zitadel_machine_user_update(ctx, "1", &ch, &d, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(zitadel_machine_key_add(ctx, long_id, NULL, &ka, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(zitadel_machine_key_get(ctx, "1", NULL, &k, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(zitadel_machine_key_remove(ctx, "1", "", NULL, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(zitadel_pat_add(ctx, NULL, 0, &pa, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(zitadel_pat_remove(ctx, "1", long_id, NULL, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(zitadel_machine_secret_remove(ctx, "", NULL, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(
	    zitadel_machine_key_enroll(ctx, "", 0, "/tmp/x", 0, NULL, NULL),
	    ZITADEL_ERR_INVALID_ARGUMENT);
	assert_null(d);
	assert_null(k);
	zitadel_ctx_free(ctx);
}

/* Fail the n-th allocation for every n: each parser returns NOMEM (or
 * succeeds once n is past its last allocation) and frees what it made,
 * which the leak checkers see. */
static void test_allocation_failures(void **state)
{
	static const char *const bodies[] = {user_added,       key_list,
					     pat_get,          pat_added,
					     secret_generated, details_only};
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		for (n = 1; n < 200; n++) {
			zitadel_status st = ZITADEL_ERR_INTERNAL;
			void *out = NULL;

			zt_alloc_fail_at(n);
			switch (i) {
			case 0:
				st = zt_machine_user_added_parse(
				    P(bodies[i]),
				    (zitadel_machine_user_added **)&out, NULL);
				zitadel_machine_user_added_free(out);
				break;
			case 1:
				st = zt_machine_key_list_parse(
				    P(bodies[i]), (zitadel_machine_keys **)&out,
				    NULL);
				zitadel_machine_keys_free(out);
				break;
			case 2:
				st = zt_pat_parse(P(bodies[i]),
						  (zitadel_pat **)&out, NULL);
				zitadel_pat_free(out);
				break;
			case 3:
				st = zt_pat_added_parse(
				    P(bodies[i]), (zitadel_pat_added **)&out,
				    NULL);
				zitadel_pat_added_free(out);
				break;
			case 4:
				st = zt_machine_secret_parse(
				    P(bodies[i]),
				    (zitadel_machine_secret **)&out, NULL);
				zitadel_machine_secret_free(out);
				break;
			default:
				st = zt_details_response_parse(
				    P(bodies[i]), "x", (zitadel_details **)&out,
				    NULL);
				zitadel_details_free(out);
				break;
			}
			zt_alloc_fail_at(0);
			assert_true(st == ZITADEL_OK ||
				    st == ZITADEL_ERR_NOMEM);
			if (st == ZITADEL_OK)
				break;
		}
		assert_true(n < 200);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_user_added),
	    cmocka_unit_test(test_details),
	    cmocka_unit_test(test_key_added),
	    cmocka_unit_test(test_key_added_bad),
	    cmocka_unit_test(test_key_get),
	    cmocka_unit_test(test_key_get_bad),
	    cmocka_unit_test(test_key_list),
	    cmocka_unit_test(test_list_empty_and_numbers),
	    cmocka_unit_test(test_list_bad),
	    cmocka_unit_test(test_pat),
	    cmocka_unit_test(test_secret),
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_input_checks),
	    cmocka_unit_test(test_allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
