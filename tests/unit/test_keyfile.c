/*
 * test_keyfile.c: key files, data-driven. Every valid shape, every invalid
 * one, the permission and file-type checks, descriptors and credentials.
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
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "testkeys.h"

#define PKCS1                                                                  \
	"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA "     \
	"PRIVATE KEY-----\n"
#define PKCS8                                                                  \
	"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE "     \
	"KEY-----\n"

/* "@KEY@" in a template is replaced by the JSON string of a PEM. */
struct shape {
	const char *name;
	const char *json;
	const char *pem;
	zitadel_status want;
	const char *in_message; /* for failures */
};

static const struct shape shapes[] = {
    {"serviceaccount",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"u1\"}",
     PKCS1, ZITADEL_OK, NULL},
    {"serviceaccount with expirationDate",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,"
     "\"expirationDate\":\"2030-01-02T03:04:05.123456789Z\",\"userId\":\"u1\"}",
     PKCS1, ZITADEL_OK, NULL},
    {"application",
     "{\"type\":\"application\",\"keyId\":\"k2\",\"key\":@KEY@,\"appId\":"
     "\"a1\",\"clientId\":\"c1@proj\"}",
     PKCS1, ZITADEL_OK, NULL},
    {"PKCS#8 key",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"u1\"}",
     PKCS8, ZITADEL_OK, NULL},
    {"extra fields",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"u1\",\"issuer\":\"x\",\"n\":[1,{}]}",
     PKCS1, ZITADEL_OK, NULL},
    {"not JSON", "type=serviceaccount", PKCS1, ZITADEL_ERR_KEYFILE,
     "not valid JSON"},
    {"JSON array", "[1,2]", PKCS1, ZITADEL_ERR_KEYFILE, "not a JSON object"},
    {"truncated", "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@",
     PKCS1, ZITADEL_ERR_KEYFILE, "not valid JSON"},
    {"empty", "", PKCS1, ZITADEL_ERR_KEYFILE, "not valid JSON"},
    {"duplicate field",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"keyId\":\"k2\",\"key\":@"
     "KEY@,\"userId\":\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "not valid JSON"},
    {"missing type", "{\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"type\" field is missing"},
    {"unknown type",
     "{\"type\":\"user\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "unknown type \"user\""},
    {"missing keyId",
     "{\"type\":\"serviceaccount\",\"key\":@KEY@,\"userId\":\"u1\"}", PKCS1,
     ZITADEL_ERR_KEYFILE, "\"keyId\" field is missing"},
    {"empty keyId",
     "{\"type\":\"serviceaccount\",\"keyId\":\"\",\"key\":@KEY@,\"userId\":"
     "\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"keyId\" field is empty"},
    {"numeric keyId",
     "{\"type\":\"serviceaccount\",\"keyId\":12,\"key\":@KEY@,\"userId\":"
     "\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"keyId\" field is not a string"},
    {"missing key",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"userId\":\"u1\"}", PKCS1,
     ZITADEL_ERR_KEYFILE, "\"key\" field is missing"},
    {"empty key",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":\"\",\"userId\":"
     "\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"key\" field is empty"},
    {"key object",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":{},\"userId\":"
     "\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"key\" field is not a string"},
    {"key not PEM",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"u1\"}",
     "MIIEowIBAAKCAQEA", ZITADEL_ERR_KEYFILE, "no PEM block"},
    {"public key",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"u1\"}",
     "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n",
     ZITADEL_ERR_KEYFILE, "\"PUBLIC KEY\" block"},
    {"encrypted key",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"u1\"}",
     "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE "
     "KEY-----\n",
     ZITADEL_ERR_KEYFILE, "\"ENCRYPTED PRIVATE KEY\" block"},
    {"PEM without end",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"u1\"}",
     "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n", ZITADEL_ERR_KEYFILE,
     "no \"-----END RSA PRIVATE KEY-----\" line"},
    {"PEM escaped twice",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"u1\"}",
     "-----BEGIN RSA PRIVATE KEY-----\\nMIIB\\n-----END RSA PRIVATE "
     "KEY-----\\n",
     ZITADEL_ERR_KEYFILE, "no line breaks"},
    {"missing userId",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@}", PKCS1,
     ZITADEL_ERR_KEYFILE, "\"userId\" field is missing"},
    {"empty userId",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"userId\" field is empty"},
    {"null userId",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "null}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"userId\" field is not a string"},
    {"application without clientId",
     "{\"type\":\"application\",\"keyId\":\"k2\",\"key\":@KEY@,\"appId\":"
     "\"a1\",\"userId\":\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"clientId\" field is missing"},
    {"application with numeric clientId",
     "{\"type\":\"application\",\"keyId\":\"k2\",\"key\":@KEY@,\"clientId\":5}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"clientId\" field is not a string"},
    {"application with empty clientId",
     "{\"type\":\"application\",\"keyId\":\"k2\",\"key\":@KEY@,\"clientId\":"
     "\"\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"clientId\" field is empty"},
    {"bad expirationDate",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,"
     "\"expirationDate\":\"tomorrow\",\"userId\":\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"expirationDate\" field is not an RFC 3339"},
    {"numeric expirationDate",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,"
     "\"expirationDate\":5,\"userId\":\"u1\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "\"expirationDate\" field is not a string"},
    {"escaped NUL in userId",
     "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":@KEY@,\"userId\":"
     "\"u\\u0000x\"}",
     PKCS1, ZITADEL_ERR_KEYFILE, "not valid JSON"},
};

/* Build the document for a shape; free with free(). */
static char *render(const struct shape *s)
{
	char *pem = test_json_string(s->pem), *out;
	const char *at = strstr(s->json, "@KEY@");
	size_t n;

	if (at == NULL) {
		free(pem);
		return strdup(s->json);
	}
	n = strlen(s->json) + strlen(pem);
	out = malloc(n + 1);
	assert_non_null(out);
	snprintf(out, n + 1, "%.*s%s%s", (int)(at - s->json), s->json, pem,
		 at + strlen("@KEY@"));
	free(pem);
	return out;
}

static void test_shapes(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct shape *s = &shapes[i];
		zitadel_error err = ZITADEL_ERROR_INIT;
		zitadel_keyfile *k = (zitadel_keyfile *)1;
		char *doc = render(s);
		zitadel_status rc;

		rc = zitadel_keyfile_parse(doc, strlen(doc), "test.json", &k,
					   &err);
		if (rc != s->want)
			fail_msg("%s: got %d (%s), want %d", s->name, rc,
				 err.message, s->want);
		if (rc == ZITADEL_OK) {
			assert_non_null(k);
			assert_non_null(zt_keyfile_pem(k));
			assert_string_equal(zt_keyfile_pem(k), s->pem);
		} else {
			assert_null(k);
			if (strstr(err.message, s->in_message) == NULL)
				fail_msg("%s: message \"%s\" lacks \"%s\"",
					 s->name, err.message, s->in_message);
			assert_non_null(strstr(err.message, "test.json"));
			assert_null(strchr(err.message, '\n'));
			/* The key never reaches a message. */
			assert_null(strstr(err.message, "MII"));
		}
		zitadel_keyfile_free(k);
		free(doc);
	}
}

static void test_getters(void **state)
{
	const char *sa =
	    "{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":\""
	    "-----BEGIN RSA PRIVATE KEY-----\\nMIIB\\n-----END RSA PRIVATE "
	    "KEY-----\\n"
	    "\",\"expirationDate\":\"2030-01-02T03:04:05Z\",\"userId\":\"u1\"}";
	const char *app =
	    "{\"type\":\"application\",\"keyId\":\"k2\",\"key\":\""
	    "-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n"
	    "\",\"appId\":\"a1\",\"clientId\":\"c1@p\"}";
	zitadel_keyfile *k = NULL;

	(void)state;
	assert_int_equal(zitadel_keyfile_parse(sa, strlen(sa), NULL, &k, NULL),
			 ZITADEL_OK);
	assert_int_equal(zitadel_keyfile_get_type(k),
			 ZITADEL_KEYFILE_SERVICEACCOUNT);
	assert_string_equal(zitadel_keyfile_key_id(k), "k1");
	assert_string_equal(zitadel_keyfile_subject(k), "u1");
	assert_null(zitadel_keyfile_app_id(k));
	assert_int_equal(zitadel_keyfile_expiration(k), 1893553445);
	zitadel_keyfile_free(k);

	assert_int_equal(
	    zitadel_keyfile_parse(app, strlen(app), NULL, &k, NULL),
	    ZITADEL_OK);
	assert_int_equal(zitadel_keyfile_get_type(k),
			 ZITADEL_KEYFILE_APPLICATION);
	assert_string_equal(zitadel_keyfile_subject(k), "c1@p");
	assert_string_equal(zitadel_keyfile_app_id(k), "a1");
	assert_int_equal(zitadel_keyfile_expiration(k), 0);
	zitadel_keyfile_free(k);

	zitadel_keyfile_free(NULL);
	assert_null(zitadel_keyfile_key_id(NULL));
}

static void test_nul_and_huge(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	const char nul[] = "{\"type\":\"serviceaccount\"\0}";
	zitadel_keyfile *k = NULL;
	size_t big = ZITADEL_KEYFILE_MAX + 1;
	char *huge = malloc(big);

	(void)state;
	assert_int_equal(
	    zitadel_keyfile_parse(nul, sizeof(nul) - 1, "n.json", &k, &err),
	    ZITADEL_ERR_KEYFILE);
	assert_non_null(strstr(err.message, "NUL"));
	assert_null(k);

	zitadel_error_clear(&err);
	memset(huge, ' ', big);
	assert_int_equal(zitadel_keyfile_parse(huge, big, "h.json", &k, &err),
			 ZITADEL_ERR_TOO_LARGE);
	assert_null(k);
	free(huge);
}

/* ---- files ------------------------------------------------------------- */

static char tmpdir[64];
static char *valid_doc;

static int setup_files(void **state)
{
	char *pem = test_key_pem(TEST_KEY_RSA_PKCS1),
	     *js = test_json_string(pem);

	(void)state;
	strcpy(tmpdir, "/tmp/zt-keyfile-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	valid_doc = malloc(strlen(js) + 128);
	sprintf(valid_doc,
		"{\"type\":\"serviceaccount\",\"keyId\":\"k1\",\"key\":%s,"
		"\"userId\":\"u1\"}",
		js);
	free(pem);
	free(js);
	return 0;
}

static int teardown_files(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	free(valid_doc);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_modes(void **state)
{
	static const int refused[] = {0640, 0604, 0644, 0660, 0601};
	zitadel_keyfile *k = NULL;
	char *path, want[16];
	size_t i;

	(void)state;
	path = test_write_file(tmpdir, "ok.json", valid_doc, strlen(valid_doc),
			       0600);
	assert_int_equal(zitadel_keyfile_load(path, &k, NULL), ZITADEL_OK);
	assert_string_equal(zitadel_keyfile_key_id(k), "k1");
	zitadel_keyfile_free(k);
	free(path);

	path = test_write_file(tmpdir, "ro.json", valid_doc, strlen(valid_doc),
			       0400);
	assert_int_equal(zitadel_keyfile_load(path, &k, NULL), ZITADEL_OK);
	zitadel_keyfile_free(k);
	free(path);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		zitadel_error err = ZITADEL_ERROR_INIT;

		path = test_write_file(tmpdir, "open.json", valid_doc,
				       strlen(valid_doc), refused[i]);
		assert_int_equal(zitadel_keyfile_load(path, &k, &err),
				 ZITADEL_ERR_KEYFILE_PERMISSIONS);
		assert_null(k);
		snprintf(want, sizeof(want), "%04o", refused[i]);
		assert_non_null(strstr(err.message, want));
		assert_non_null(strstr(err.message, path));
		free(path);
	}
}

static void test_file_types(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *k = NULL;
	char *target, link[128], dir[128], missing[128];

	(void)state;
	target = test_write_file(tmpdir, "target.json", valid_doc,
				 strlen(valid_doc), 0600);
	snprintf(link, sizeof(link), "%s/link.json", tmpdir);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(zitadel_keyfile_load(link, &k, &err),
			 ZITADEL_ERR_KEYFILE_PERMISSIONS);
	assert_non_null(strstr(err.message, "symbolic link"));
	assert_null(k);

	zitadel_error_clear(&err);
	snprintf(dir, sizeof(dir), "%s/dir.json", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_not_equal(zitadel_keyfile_load(dir, &k, &err), ZITADEL_OK);
	assert_non_null(strstr(err.message, "not a regular file"));
	assert_null(k);

	zitadel_error_clear(&err);
	snprintf(missing, sizeof(missing), "%s/none.json", tmpdir);
	assert_int_equal(zitadel_keyfile_load(missing, &k, &err),
			 ZITADEL_ERR_IO);
	assert_non_null(strstr(err.message, "none.json"));
	assert_non_null(strstr(err.message, "No such file"));

	assert_int_equal(zitadel_keyfile_load(NULL, &k, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	free(target);
}

static void test_load_fd(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *k = NULL;
	char *path;
	int fd;

	(void)state;
	path = test_write_file(tmpdir, "fd.json", valid_doc, strlen(valid_doc),
			       0600);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(zitadel_keyfile_load_fd(fd, "fd-name", &k, &err),
			 ZITADEL_OK);
	assert_string_equal(zitadel_keyfile_subject(k), "u1");
	zitadel_keyfile_free(k);
	/* The descriptor stays the caller's. */
	assert_int_equal(close(fd), 0);

	assert_int_equal(chmod(path, 0644), 0);
	fd = open(path, O_RDONLY);
	assert_int_equal(zitadel_keyfile_load_fd(fd, "fd-name", &k, &err),
			 ZITADEL_ERR_KEYFILE_PERMISSIONS);
	assert_non_null(strstr(err.message, "fd-name"));
	assert_non_null(strstr(err.message, "0644"));
	close(fd);
	assert_int_equal(zitadel_keyfile_load_fd(-1, "x", &k, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	free(path);
}

static void test_load_credential(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *k = NULL;
	char *path;

	(void)state;
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_int_equal(zitadel_keyfile_load_credential("cred", &k, &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.message, "CREDENTIALS_DIRECTORY"));

	path =
	    test_write_file(tmpdir, "cred", valid_doc, strlen(valid_doc), 0400);
	setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
	assert_int_equal(zitadel_keyfile_load_credential("cred", &k, NULL),
			 ZITADEL_OK);
	assert_string_equal(zitadel_keyfile_key_id(k), "k1");
	zitadel_keyfile_free(k);

	assert_int_equal(zitadel_keyfile_load_credential("../cred", &k, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(zitadel_keyfile_load_credential("..", &k, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(zitadel_keyfile_load_credential("", &k, NULL),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_int_equal(zitadel_keyfile_load_credential("absent", &k, NULL),
			 ZITADEL_ERR_IO);
	assert_null(k);
	unsetenv("CREDENTIALS_DIRECTORY");
	free(path);
}

/* Every allocation failing in turn ends in NOMEM, never a half result. */
static void test_alloc_failures(void **state)
{
	zitadel_keyfile *k;
	zitadel_status rc;
	long n;

	(void)state;
	for (n = 1; n < 50; n++) {
		k = NULL;
		zt_alloc_fail_at(n);
		rc = zitadel_keyfile_parse(valid_doc, strlen(valid_doc), "a",
					   &k, NULL);
		zt_alloc_fail_at(0);
		if (rc == ZITADEL_OK) {
			zitadel_keyfile_free(k);
			break;
		}
		assert_int_equal(rc, ZITADEL_ERR_NOMEM);
		assert_null(k);
	}
	assert_true(n < 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shapes),
	    cmocka_unit_test(test_getters),
	    cmocka_unit_test(test_nul_and_huge),
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_file_types),
	    cmocka_unit_test(test_load_fd),
	    cmocka_unit_test(test_load_credential),
	    cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, setup_files, teardown_files);
}
