/*
 * assertion.c: the RFC 7523 assertion, a JWT signed RS256 with the key
 * file's private key. The only file that includes jwt.h. libjwt parses the
 * PEM on every signature, so the key is parsed here only when libjwt fails,
 * to say why.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "internal.h"

/* Zitadel makes 2048-bit keys; refuse what no server should accept. */
#define RSA_MIN_BITS 2048

/* An encrypted key fails instead of prompting on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)userdata;
	return 0;
}

/*
 * Parse the PEM (PKCS#1 or PKCS#8) and insist on RSA of RSA_MIN_BITS. libjwt
 * reports only an errno when it cannot sign; this gives the reason.
 */
static zitadel_status check_key(const zitadel_keyfile *key, const char *pem,
				zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_CRYPTO;
	EVP_PKEY *pkey = NULL;
	BIO *bio;

	bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pkey == NULL) {
		rc = zt_error(err, ZITADEL_ERR_KEYFILE,
			      "key %s: the private key cannot be parsed (not "
			      "an RSA key in PKCS#1 or PKCS#8 PEM form)",
			      zitadel_keyfile_key_id(key));
		goto out;
	}
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		rc = zt_error(err, ZITADEL_ERR_KEYFILE,
			      "key %s: the private key is %s, but Zitadel keys "
			      "are RSA (RS256)",
			      zitadel_keyfile_key_id(key),
			      OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
		goto out;
	}
	if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS) {
		rc = zt_error(err, ZITADEL_ERR_KEYFILE,
			      "key %s: the RSA key has %d bits, fewer than %d",
			      zitadel_keyfile_key_id(key),
			      EVP_PKEY_get_bits(pkey), RSA_MIN_BITS);
		goto out;
	}
	rc = ZITADEL_OK;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

static int add_claims(jwt_t *jwt, const zitadel_keyfile *key,
		      const char *audience, time_t now)
{
	const char *subject = zitadel_keyfile_subject(key);

	return jwt_add_header(jwt, "kid", zitadel_keyfile_key_id(key)) ||
	       jwt_add_header(jwt, "typ", "JWT") ||
	       jwt_add_grant(jwt, "iss", subject) ||
	       jwt_add_grant(jwt, "sub", subject) ||
	       jwt_add_grant(jwt, "aud", audience) ||
	       jwt_add_grant_int(jwt, "iat",
				 (long)(now - ZT_ASSERTION_BACKDATE)) ||
	       jwt_add_grant_int(jwt, "exp",
				 (long)(now + ZT_ASSERTION_LIFETIME));
}

/* An RS256 signature is exactly as long as the key's modulus. */
static int signature_bits(const char *jws)
{
	const char *dot = strrchr(jws, '.');
	size_t chars = dot != NULL ? strlen(dot + 1) : 0;

	return (int)(chars * 6 / 8 * 8);
}

/*
 * libjwt copies the PEM into its own buffer and wipes it in jwt_free; the
 * encoded token comes back in a libjwt buffer, which is wiped here once
 * copied. OpenSSL's decoding buffers are its own to clear.
 */
zitadel_status zt_assertion_build(const zitadel_keyfile *key,
				  const char *audience, time_t now, char **out,
				  zitadel_error *err)
{
	zitadel_status rc = ZITADEL_ERR_CRYPTO;
	const char *pem = zt_keyfile_pem(key);
	jwt_t *jwt = NULL;
	char *encoded = NULL;

	if (out != NULL)
		*out = NULL;
	if (key == NULL || pem == NULL || audience == NULL || out == NULL) {
		rc = zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
			      "zt_assertion_build: NULL argument");
		goto out;
	}
	if (jwt_new(&jwt) != 0) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (jwt_set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)pem,
			(int)strlen(pem)) != 0 ||
	    add_claims(jwt, key, audience, now) != 0) {
		rc = zt_error(err, ZITADEL_ERR_CRYPTO,
			      "key %s: cannot set up the assertion",
			      zitadel_keyfile_key_id(key));
		goto out;
	}
	errno = 0;
	if ((encoded = jwt_encode_str(jwt)) == NULL) {
		int saved = errno;

		rc = check_key(key, pem, err);
		if (rc == ZITADEL_OK)
			rc = zt_error(err, ZITADEL_ERR_CRYPTO,
				      "key %s: signing the assertion failed "
				      "(%s)",
				      zitadel_keyfile_key_id(key),
				      saved ? strerror(saved) : "libjwt error");
		goto out;
	}
	if (signature_bits(encoded) < RSA_MIN_BITS) {
		rc = zt_error(err, ZITADEL_ERR_KEYFILE,
			      "key %s: the RSA key has %d bits, fewer than %d",
			      zitadel_keyfile_key_id(key),
			      signature_bits(encoded), RSA_MIN_BITS);
		goto out;
	}
	if ((*out = zt_strdup(encoded)) == NULL) {
		rc = zt_error(err, ZITADEL_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = ZITADEL_OK;
out:
	if (encoded != NULL) {
		zt_wipe(encoded, strlen(encoded));
		free(encoded);
	}
	jwt_free(jwt);
	return rc;
}
