/*
 * testkeys.c: test-only RSA and EC keys generated with OpenSSL when a test
 * runs, so no private key lives in the repository.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "testkeys.h"

static char *bio_string(BIO *bio)
{
	char *data, *copy;
	long n = BIO_get_mem_data(bio, &data);

	copy = malloc((size_t)n + 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	return copy;
}

char *test_key_pem(enum test_key_kind kind)
{
	EVP_PKEY *pkey;
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem;
	int ok;

	switch (kind) {
	case TEST_KEY_EC:
		pkey = EVP_EC_gen("P-256");
		break;
	case TEST_KEY_RSA_1024:
		pkey = EVP_RSA_gen(1024);
		break;
	default:
		pkey = EVP_RSA_gen(2048);
		break;
	}
	if (pkey == NULL || bio == NULL)
		abort();
	if (kind == TEST_KEY_RSA_PKCS1 || kind == TEST_KEY_RSA_1024)
		ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL,
							  0, NULL, NULL);
	else
		ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
					      NULL);
	if (!ok)
		abort();
	pem = bio_string(bio);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return pem;
}

char *test_json_string(const char *s)
{
	char *out = malloc(2 * strlen(s) + 3), *p = out;

	if (out == NULL)
		abort();
	*p++ = '"';
	for (; *s != '\0'; s++) {
		if (*s == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (*s == '"' || *s == '\\') {
			*p++ = '\\';
			*p++ = *s;
		} else {
			*p++ = *s;
		}
	}
	*p++ = '"';
	*p = '\0';
	return out;
}

char *test_write_file(const char *dir, const char *name, const char *data,
		      size_t len, int mode)
{
	char *path = malloc(strlen(dir) + strlen(name) + 2);
	int fd;

	if (path == NULL)
		abort();
	sprintf(path, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	fchmod(fd, mode);
	close(fd);
	return path;
}
