/*
 * test_http_status.c: zt_http_status on every status/body shape of the
 * reference (§7.1 grpc-gateway, §7.2 OAuth), plus empty, non-JSON and
 * oversized bodies. Only status, code and id are compared; the message is
 * checked for shape, never for the server's wording.
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

struct status_case {
	long http;
	const char *body;
	zitadel_status want;
	int grpc;
	const char *id;
};

static const struct status_case cases[] = {
    {404,
     "{\"code\":5,\"message\":\"Machine key not found "
     "(COMMAND-4m77G)\",\"details\":[{\"@type\":\"type.googleapis.com/"
     "zitadel.v1.ErrorDetail\",\"id\":\"COMMAND-4m77G\",\"message\":\"Machine "
     "key not found\"}]}",
     ZITADEL_ERR_NOT_FOUND, 5, "COMMAND-4m77G"},
    {409,
     "{\"code\":6,\"message\":\"User already exists "
     "(V3-DKcYh)\",\"details\":[{\"id\":\"V3-DKcYh\"}]}",
     ZITADEL_ERR_ALREADY_EXISTS, 6, "V3-DKcYh"},
    {400,
     "{\"code\":9,\"message\":\"Errors.User.NotChanged "
     "(COMMAND-2n8vs)\",\"details\":[{\"id\":\"COMMAND-2n8vs\"}]}",
     ZITADEL_ERR_FAILED_PRECONDITION, 9, "COMMAND-2n8vs"},
    {400,
     "{\"code\":3,\"message\":\"invalid AddMachineUserRequest.UserName: value "
     "length must be between 1 and 200 runes, inclusive\"}",
     ZITADEL_ERR_INVALID_REQUEST, 3, ""},
    {400, "{\"code\":11,\"message\":\"out of range\"}",
     ZITADEL_ERR_INVALID_REQUEST, 11, ""},
    {401,
     "{\"code\":16,\"message\":\"Errors.Token.Invalid "
     "(AUTH-7fs1e)\",\"details\":[{\"id\":\"AUTH-7fs1e\"}]}",
     ZITADEL_ERR_UNAUTHENTICATED, 16, "AUTH-7fs1e"},
    {401, "{\"code\":16,\"message\":\"auth header missing\"}",
     ZITADEL_ERR_UNAUTHENTICATED, 16, ""},
    {403,
     "{\"code\":7,\"message\":\"No matching permissions found "
     "(AUTH-5mWD2)\",\"details\":[{\"id\":\"AUTH-5mWD2\"}]}",
     ZITADEL_ERR_PERMISSION_DENIED, 7, "AUTH-5mWD2"},
    {429,
     "{\"code\":8,\"message\":\"Quota.Access.Exhausted "
     "(QUOTA-vjAy8)\",\"details\":[{\"id\":\"QUOTA-vjAy8\"}]}",
     ZITADEL_ERR_RATE_LIMITED, 8, "QUOTA-vjAy8"},
    {500, "{\"code\":13,\"message\":\"Errors.Internal\"}", ZITADEL_ERR_SERVER,
     13, ""},
    {503, "{\"code\":14,\"message\":\"unavailable\"}", ZITADEL_ERR_SERVER, 14,
     ""},
    {404, "{\"code\":5,\"message\":\"Not Found\"}", ZITADEL_ERR_NOT_FOUND, 5,
     ""},
    {405, "{\"code\":12,\"message\":\"Method Not Allowed\"}", ZITADEL_ERR_HTTP,
     12, ""},
    /* OAuth bodies (§7.2) */
    {400,
     "{\"error\":\"invalid_request\",\"error_description\":\"assertion "
     "missing\"}",
     ZITADEL_ERR_OAUTH, -1, "invalid_request"},
    {400, "{\"error\":\"unauthorized_client\"}", ZITADEL_ERR_OAUTH, -1,
     "unauthorized_client"},
    {401,
     "{\"error\":\"invalid_client\",\"error_description\":\"client not "
     "found\"}",
     ZITADEL_ERR_OAUTH, -1, "invalid_client"},
    {500,
     "{\"error\":\"server_error\",\"error_description\":\"Errors.Internal\"}",
     ZITADEL_ERR_SERVER, -1, "server_error"},
    {429, "{\"error\":\"slow_down\"}", ZITADEL_ERR_RATE_LIMITED, -1,
     "slow_down"},
    /* Bodies with nothing to read */
    {502, "", ZITADEL_ERR_SERVER, -1, ""},
    {403, "<html>Forbidden</html>", ZITADEL_ERR_PERMISSION_DENIED, -1, ""},
    {400, "[1,2,3]", ZITADEL_ERR_INVALID_REQUEST, -1, ""},
    {400, "{\"code\":\"3\",\"message\":5,\"details\":\"x\"}",
     ZITADEL_ERR_INVALID_REQUEST, -1, ""},
    {418, "{}", ZITADEL_ERR_HTTP, -1, ""},
    {302, "", ZITADEL_ERR_PROTOCOL, -1, ""},
};

static void test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct status_case *c = &cases[i];
		zitadel_error err = ZITADEL_ERROR_INIT;
		zt_http_response resp = {0};
		char prefix[64];
		zitadel_status rc;

		resp.status = c->http;
		resp.body = strdup(c->body);
		resp.body_len = strlen(c->body);
		rc = zt_http_status(&resp, "AddMachineKey", &err);
		if (rc != c->want || err.grpc_code != c->grpc ||
		    strcmp(err.error_id, c->id) != 0 ||
		    err.http_status != c->http)
			fail_msg(
			    "case %zu (HTTP %ld): got %d/%d/%s, want %d/%d/%s",
			    i, c->http, rc, err.grpc_code, err.error_id,
			    c->want, c->grpc, c->id);
		assert_int_equal(err.status, rc);
		snprintf(prefix, sizeof(prefix),
			 "AddMachineKey: HTTP %ld: ", c->http);
		if (strncmp(err.message, prefix, strlen(prefix)) != 0)
			fail_msg("case %zu: message \"%s\"", i, err.message);
		/* An HTML page is not echoed into messages. */
		assert_null(strstr(err.message, "<html>"));
		free(resp.body);
	}
}

static void test_success(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	char body[] = "{}";
	zt_http_response resp = {200, body, 2, -1};

	(void)state;
	assert_int_equal(zt_http_status(&resp, "x", &err), ZITADEL_OK);
	assert_int_equal(err.status, ZITADEL_OK);
	resp.status = 204;
	assert_int_equal(zt_http_status(&resp, "x", NULL), ZITADEL_OK);
}

static void test_huge_message(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zt_http_response resp = {0};
	size_t n = 100000, off;
	char *body = malloc(n + 512);

	(void)state;
	off = (size_t)sprintf(body, "{\"code\":3,\"message\":\"");
	memset(body + off, 'A', n);
	off += n;
	off += (size_t)sprintf(body + off, "\\nTAIL\",\"details\":[{\"id\":\"");
	memset(body + off, 'I', 200);
	off += 200;
	strcpy(body + off, "\"}]}");
	resp.status = 400;
	resp.body = body;
	resp.body_len = strlen(body);
	assert_int_equal(zt_http_status(&resp, "x", &err),
			 ZITADEL_ERR_INVALID_REQUEST);
	assert_true(strlen(err.message) < ZITADEL_ERROR_MESSAGE_MAX);
	assert_non_null(strstr(err.message, "..."));
	assert_null(strstr(err.message, "TAIL"));
	assert_null(strchr(err.message, '\n'));
	assert_true(strlen(err.error_id) < ZITADEL_ERROR_ID_MAX);
	free(body);
}

static void test_url_escape(void **state)
{
	char *e;

	(void)state;
	e = zt_url_escape("robot-1@acme.example.com");
	assert_string_equal(e, "robot-1%40acme.example.com");
	free(e);
	e = zt_url_escape("a b+c%d/e&f=g");
	assert_string_equal(e, "a%20b%2Bc%25d%2Fe%26f%3Dg");
	free(e);
	assert_null(zt_url_escape(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_success),
	    cmocka_unit_test(test_huge_message),
	    cmocka_unit_test(test_url_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
