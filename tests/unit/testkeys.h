/*
 * testkeys.h: throw-away test keys made at test time (never committed),
 * and key-file JSON around them. Shared by the core unit tests.
 */
#ifndef ZT_TESTKEYS_H
#define ZT_TESTKEYS_H

#include <stddef.h>

enum test_key_kind {
	TEST_KEY_RSA_PKCS1,
	TEST_KEY_RSA_PKCS8,
	TEST_KEY_RSA_1024,
	TEST_KEY_EC,
};

/* A PEM private key of that kind; free with free(). */
char *test_key_pem(enum test_key_kind kind);
/* The PEM as a JSON string literal, quotes included; free with free(). */
char *test_json_string(const char *s);
/* Write data to dir/name with mode; returns the path (free with free()). */
char *test_write_file(const char *dir, const char *name, const char *data,
		      size_t len, int mode);

#endif
