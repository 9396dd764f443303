/*
 * machine.c: the twelve machine-user calls of Zitadel's Management API v1
 * (users, keys, PATs, secrets), their typed results and the protojson
 * parsing rules they need (64-bit numbers as strings, omitted zero values).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

#define ID_MAX_RUNES          200
#define NAME_MAX_RUNES        200
#define DESCRIPTION_MAX_RUNES 500

/* Page size for "every page" lists, and how many pages we follow before
 * deciding the server will never stop answering. */
#define LIST_PAGE_SIZE 100
#define LIST_MAX_PAGES 1000

/* ---- input checks ----------------------------------------------------- */

/* Code points in a UTF-8 string: the server's limits count runes. */
static size_t rune_count(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static zitadel_status check_text(const char *what, const char *field,
				 const char *s, size_t min, size_t max,
				 zitadel_error *err)
{
	size_t n;

	if (s == NULL) {
		if (min == 0)
			return ZITADEL_OK;
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: %s is required", what, field);
	}
	n = rune_count(s);
	if (n < min || n > max)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: %s must be %zu to %zu characters, not %zu",
				what, field, min, max, n);
	return ZITADEL_OK;
}

static zitadel_status check_id(const char *what, const char *field,
			       const char *id, zitadel_error *err)
{
	return check_text(what, field, id, 1, ID_MAX_RUNES, err);
}

static const char *token_type_name(zitadel_access_token_type t)
{
	return t == ZITADEL_ACCESS_TOKEN_JWT ? "ACCESS_TOKEN_TYPE_JWT"
					     : "ACCESS_TOKEN_TYPE_BEARER";
}

static zitadel_status check_token_type(const char *what,
				       zitadel_access_token_type t,
				       zitadel_error *err)
{
	if (t != ZITADEL_ACCESS_TOKEN_BEARER && t != ZITADEL_ACCESS_TOKEN_JWT)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: unknown access token type %d", what,
				(int)t);
	return ZITADEL_OK;
}

/* ---- base64 ----------------------------------------------------------- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int zt_base64_decode(const char *in, size_t in_len, unsigned char **out,
		     size_t *out_len)
{
	unsigned char *buf;
	unsigned long acc = 0;
	size_t i, n = 0, pad = 0;
	int bits = 0, v;

	*out = NULL;
	*out_len = 0;
	/* protojson accepts padded and unpadded, standard and URL-safe */
	while (in_len > 0 && in[in_len - 1] == '=' && pad < 2) {
		in_len--;
		pad++;
	}
	if (in_len % 4 == 1 || (pad > 0 && (in_len + pad) % 4 != 0))
		return -1;
	buf = zt_malloc(in_len / 4 * 3 + 3);
	if (buf == NULL)
		return -2;
	for (i = 0; i < in_len; i++) {
		v = b64_value((unsigned char)in[i]);
		if (v < 0)
			goto bad;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	/* leftover bits must be zero, or the text was not canonical */
	if (acc != 0)
		goto bad;
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
bad:
	zt_wipe(buf, in_len / 4 * 3 + 3);
	free(buf);
	return -1;
}

char *zt_base64_encode(const unsigned char *in, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out, *p;
	size_t i;
	unsigned long v;

	out = zt_malloc((len + 2) / 3 * 4 + 1);
	if (out == NULL)
		return NULL;
	p = out;
	for (i = 0; i + 2 < len; i += 3) {
		v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 |
		    in[i + 2];
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = alphabet[v & 63];
	}
	if (i < len) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)in[i + 1] << 8;
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return out;
}

/* ---- protojson reading ------------------------------------------------ */

/* An optional member: absent and null both read as "not there". */
static json_t *member(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	return json_is_null(v) ? NULL : v;
}

/* uint64 arrives as a string of digits; numbers are accepted too. */
static int json_uint64(json_t *v, uint64_t *out)
{
	const char *s;
	uint64_t n = 0;
	size_t i;

	*out = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0)
			return -1;
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (s[0] == '\0' || json_string_length(v) > 20)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		if (n > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*out = n;
	return 0;
}

/* Copy an optional string member; a wrong type is -1, no memory -2. */
static int opt_string(json_t *obj, const char *name, char **out)
{
	json_t *v = member(obj, name);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = zt_strdup(json_string_value(v));
	return *out == NULL ? -2 : 0;
}

/* jansson keeps its own copy of every string it parsed. For the few that
 * are secrets, wipe that copy in place once ours is made, so it does not
 * linger in freed memory after json_decref. */
static void wipe_json_string(json_t *v)
{
	if (json_is_string(v))
		zt_wipe((void *)(uintptr_t)json_string_value(v),
			json_string_length(v));
}

static zitadel_status malformed(const char *what, const char *field,
				zitadel_error *err)
{
	return zt_error(err, ZITADEL_ERR_PROTOCOL,
			"%s: malformed response: bad or missing \"%s\"", what,
			field);
}

/* Map opt_string's result to a status. */
static zitadel_status string_field(json_t *obj, const char *name, int required,
				   char **out, const char *what,
				   zitadel_error *err)
{
	int r = opt_string(obj, name, out);

	if (r == -2)
		return zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory",
				what);
	if (r < 0 || (required && (*out == NULL || **out == '\0'))) {
		free(*out);
		*out = NULL;
		return malformed(what, name, err);
	}
	return ZITADEL_OK;
}

/* A timestamp member: kept as sent and, when wanted, as Unix seconds. */
static zitadel_status time_field(json_t *obj, const char *name, char **str,
				 time_t *t, const char *what,
				 zitadel_error *err)
{
	zitadel_status rc;
	time_t parsed = 0;

	rc = string_field(obj, name, 0, str, what, err);
	if (rc != ZITADEL_OK)
		return rc;
	if (*str != NULL && zt_time_parse(*str, &parsed) != 0) {
		free(*str);
		*str = NULL;
		return malformed(what, name, err);
	}
	if (t != NULL)
		*t = parsed;
	return ZITADEL_OK;
}

static void details_clear(zitadel_details *d)
{
	free(d->creation_date);
	free(d->change_date);
	free(d->resource_owner);
	memset(d, 0, sizeof(*d));
}

void zitadel_details_free(zitadel_details *details)
{
	if (details == NULL)
		return;
	details_clear(details);
	free(details);
}

/* ObjectDetails in member "details" of obj; absent means all zero. */
static zitadel_status details_parse(json_t *obj, zitadel_details *d,
				    const char *what, zitadel_error *err)
{
	zitadel_status rc;
	json_t *v = member(obj, "details");

	memset(d, 0, sizeof(*d));
	if (v == NULL)
		return ZITADEL_OK;
	if (!json_is_object(v))
		return malformed(what, "details", err);
	if (json_uint64(member(v, "sequence"), &d->sequence) != 0)
		return malformed(what, "details.sequence", err);
	rc = time_field(v, "creationDate", &d->creation_date, NULL, what, err);
	if (rc == ZITADEL_OK)
		rc = time_field(v, "changeDate", &d->change_date, NULL, what,
				err);
	if (rc == ZITADEL_OK)
		rc = string_field(v, "resourceOwner", 0, &d->resource_owner,
				  what, err);
	if (rc != ZITADEL_OK)
		details_clear(d);
	return rc;
}

static zitadel_status list_details_parse(json_t *obj, zitadel_list_details *d,
					 const char *what, zitadel_error *err)
{
	zitadel_status rc;
	json_t *v = member(obj, "details");

	memset(d, 0, sizeof(*d));
	if (v == NULL)
		return ZITADEL_OK;
	if (!json_is_object(v))
		return malformed(what, "details", err);
	if (json_uint64(member(v, "totalResult"), &d->total_result) != 0)
		return malformed(what, "details.totalResult", err);
	if (json_uint64(member(v, "processedSequence"),
			&d->processed_sequence) != 0)
		return malformed(what, "details.processedSequence", err);
	rc =
	    time_field(v, "viewTimestamp", &d->view_timestamp, NULL, what, err);
	return rc;
}

/* The body as a JSON object. The body may hold a secret; jansson copies
 * the strings it needs, and the caller wipes the body itself. */
static zitadel_status body_parse(const char *body, size_t len, const char *what,
				 json_t **out, zitadel_error *err)
{
	json_error_t jerr;
	json_t *root;

	*out = NULL;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return zt_error(err, ZITADEL_ERR_PROTOCOL,
				"%s: response is not JSON (line %d column %d)",
				what, jerr.line, jerr.column);
	if (!json_is_object(root)) {
		json_decref(root);
		return zt_error(err, ZITADEL_ERR_PROTOCOL,
				"%s: response is not a JSON object", what);
	}
	*out = root;
	return ZITADEL_OK;
}

/* ---- result types ----------------------------------------------------- */

void zitadel_machine_user_added_free(zitadel_machine_user_added *added)
{
	if (added == NULL)
		return;
	free(added->user_id);
	details_clear(&added->details);
	free(added);
}

void zitadel_machine_key_added_free(zitadel_machine_key_added *added)
{
	if (added == NULL)
		return;
	free(added->key_id);
	if (added->key_details != NULL) {
		zt_wipe(added->key_details, added->key_details_len);
		free(added->key_details);
	}
	details_clear(&added->details);
	free(added);
}

static void key_clear(zitadel_machine_key *k)
{
	free(k->id);
	details_clear(&k->details);
	free(k->expiration_date);
	memset(k, 0, sizeof(*k));
}

void zitadel_machine_key_free(zitadel_machine_key *key)
{
	if (key == NULL)
		return;
	key_clear(key);
	free(key);
}

void zitadel_machine_keys_free(zitadel_machine_keys *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->count; i++)
		key_clear(&list->keys[i]);
	free(list->keys);
	free(list->details.view_timestamp);
	free(list);
}

void zitadel_pat_added_free(zitadel_pat_added *added)
{
	if (added == NULL)
		return;
	free(added->token_id);
	zt_free_secret(added->token);
	details_clear(&added->details);
	free(added);
}

static void pat_clear(zitadel_pat *p)
{
	size_t i;

	free(p->id);
	details_clear(&p->details);
	free(p->expiration_date);
	for (i = 0; i < p->scope_count; i++)
		free(p->scopes[i]);
	free(p->scopes);
	memset(p, 0, sizeof(*p));
}

void zitadel_pat_free(zitadel_pat *pat)
{
	if (pat == NULL)
		return;
	pat_clear(pat);
	free(pat);
}

void zitadel_pats_free(zitadel_pats *list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; i < list->count; i++)
		pat_clear(&list->pats[i]);
	free(list->pats);
	free(list->details.view_timestamp);
	free(list);
}

void zitadel_machine_secret_free(zitadel_machine_secret *secret)
{
	if (secret == NULL)
		return;
	free(secret->client_id);
	zt_free_secret(secret->client_secret);
	details_clear(&secret->details);
	free(secret);
}

/* ---- response parsers (internal.h, tested without HTTP) --------------- */

zitadel_status zt_machine_user_added_parse(const char *body, size_t len,
					   zitadel_machine_user_added **out,
					   zitadel_error *err)
{
	const char *what = "AddMachineUser";
	zitadel_machine_user_added *a = NULL;
	zitadel_status rc;
	json_t *root = NULL;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc != ZITADEL_OK)
		goto out;
	a = zt_calloc(1, sizeof(*a));
	if (a == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = string_field(root, "userId", 1, &a->user_id, what, err);
	if (rc == ZITADEL_OK)
		rc = details_parse(root, &a->details, what, err);
	if (rc != ZITADEL_OK)
		goto out;

	*out = a;
	a = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_machine_user_added_free(a);
	json_decref(root);
	return rc;
}

zitadel_status zt_details_response_parse(const char *body, size_t len,
					 const char *what,
					 zitadel_details **out,
					 zitadel_error *err)
{
	zitadel_details *d = NULL;
	zitadel_status rc;
	json_t *root = NULL;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc != ZITADEL_OK)
		goto out;
	d = zt_calloc(1, sizeof(*d));
	if (d == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = details_parse(root, d, what, err);
	if (rc != ZITADEL_OK)
		goto out;

	*out = d;
	d = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_details_free(d);
	json_decref(root);
	return rc;
}

/* keyDetails is the base64 of the key-file JSON, which holds the private
 * key: decode it straight into the result and wipe every copy. */
static zitadel_status key_details_decode(json_t *root,
					 zitadel_machine_key_added *a,
					 const char *what, zitadel_error *err)
{
	json_t *v = member(root, "keyDetails");
	unsigned char *raw = NULL;
	size_t raw_len = 0;
	int r;

	if (v == NULL)
		return ZITADEL_OK;
	if (!json_is_string(v))
		return malformed(what, "keyDetails", err);
	r = zt_base64_decode(json_string_value(v), json_string_length(v), &raw,
			     &raw_len);
	wipe_json_string(v);
	if (r == -2)
		return zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory",
				what);
	if (r != 0 || raw_len == 0 || memchr(raw, '\0', raw_len) != NULL) {
		if (raw != NULL) {
			zt_wipe(raw, raw_len);
			free(raw);
		}
		return zt_error(err, ZITADEL_ERR_PROTOCOL,
				"%s: malformed response: keyDetails is not "
				"base64 of a key file",
				what);
	}
	a->key_details = (char *)raw;
	a->key_details_len = raw_len;
	return ZITADEL_OK;
}

zitadel_status zt_machine_key_added_parse(const char *body, size_t len,
					  zitadel_machine_key_added **out,
					  zitadel_error *err)
{
	const char *what = "AddMachineKey";
	zitadel_machine_key_added *a = NULL;
	zitadel_status rc;
	json_t *root = NULL;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc != ZITADEL_OK)
		goto out;
	a = zt_calloc(1, sizeof(*a));
	if (a == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = string_field(root, "keyId", 1, &a->key_id, what, err);
	if (rc == ZITADEL_OK)
		rc = key_details_decode(root, a, what, err);
	if (rc == ZITADEL_OK)
		rc = details_parse(root, &a->details, what, err);
	if (rc != ZITADEL_OK)
		goto out;

	*out = a;
	a = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_machine_key_added_free(a);
	json_decref(root);
	return rc;
}

/* One zitadel.authn.v1.Key object. */
static zitadel_status key_parse(json_t *v, zitadel_machine_key *k,
				const char *what, zitadel_error *err)
{
	zitadel_status rc;
	json_t *type;

	memset(k, 0, sizeof(*k));
	if (!json_is_object(v))
		return malformed(what, "key", err);
	rc = string_field(v, "id", 1, &k->id, what, err);
	if (rc == ZITADEL_OK)
		rc = details_parse(v, &k->details, what, err);
	if (rc == ZITADEL_OK)
		rc = time_field(v, "expirationDate", &k->expiration_date,
				&k->expiration, what, err);
	if (rc != ZITADEL_OK)
		goto out;

	/* enums come as names; the value 0 is omitted */
	type = member(v, "type");
	if (type == NULL)
		k->type = 0;
	else if (json_is_string(type) &&
		 strcmp(json_string_value(type), "KEY_TYPE_JSON") == 0)
		k->type = 1;
	else if (json_is_string(type) &&
		 strcmp(json_string_value(type), "KEY_TYPE_UNSPECIFIED") == 0)
		k->type = 0;
	else if (json_is_integer(type) && json_integer_value(type) >= 0 &&
		 json_integer_value(type) <= 1)
		k->type = (int)json_integer_value(type);
	else
		rc = malformed(what, "type", err);
out:
	if (rc != ZITADEL_OK)
		key_clear(k);
	return rc;
}

zitadel_status zt_machine_key_parse(const char *body, size_t len,
				    zitadel_machine_key **out,
				    zitadel_error *err)
{
	const char *what = "GetMachineKeyByIDs";
	zitadel_machine_key *k = NULL;
	zitadel_status rc;
	json_t *root = NULL;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc != ZITADEL_OK)
		goto out;
	k = zt_calloc(1, sizeof(*k));
	if (k == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = key_parse(member(root, "key"), k, what, err);
	if (rc != ZITADEL_OK)
		goto out;

	*out = k;
	k = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_machine_key_free(k);
	json_decref(root);
	return rc;
}

/* "result" of a list: absent means empty. */
static zitadel_status result_array(json_t *root, const char *what, json_t **out,
				   zitadel_error *err)
{
	json_t *v = member(root, "result");

	*out = v;
	if (v != NULL && !json_is_array(v))
		return malformed(what, "result", err);
	return ZITADEL_OK;
}

zitadel_status zt_machine_key_list_parse(const char *body, size_t len,
					 zitadel_machine_keys **out,
					 zitadel_error *err)
{
	const char *what = "ListMachineKeys";
	zitadel_machine_keys *l = NULL;
	zitadel_status rc;
	json_t *root = NULL, *result = NULL;
	size_t i, n;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc == ZITADEL_OK)
		rc = result_array(root, what, &result, err);
	if (rc != ZITADEL_OK)
		goto out;
	n = json_array_size(result);
	l = zt_calloc(1, sizeof(*l));
	if (l == NULL ||
	    (n > 0 && (l->keys = zt_calloc(n, sizeof(*l->keys))) == NULL)) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = list_details_parse(root, &l->details, what, err);
	for (i = 0; rc == ZITADEL_OK && i < n; i++) {
		rc = key_parse(json_array_get(result, i), &l->keys[i], what,
			       err);
		if (rc == ZITADEL_OK)
			l->count++;
	}
	if (rc != ZITADEL_OK)
		goto out;

	*out = l;
	l = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_machine_keys_free(l);
	json_decref(root);
	return rc;
}

zitadel_status zt_pat_added_parse(const char *body, size_t len,
				  zitadel_pat_added **out, zitadel_error *err)
{
	const char *what = "AddPersonalAccessToken";
	zitadel_pat_added *a = NULL;
	zitadel_status rc;
	json_t *root = NULL;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc != ZITADEL_OK)
		goto out;
	a = zt_calloc(1, sizeof(*a));
	if (a == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = string_field(root, "tokenId", 1, &a->token_id, what, err);
	if (rc == ZITADEL_OK)
		rc = string_field(root, "token", 1, &a->token, what, err);
	wipe_json_string(member(root, "token"));
	if (rc == ZITADEL_OK && strlen(a->token) > ZT_TOKEN_MAX)
		rc = zt_error(err, ZITADEL_ERR_TOO_LARGE,
			      "%s: token longer than %d bytes", what,
			      ZT_TOKEN_MAX);
	if (rc == ZITADEL_OK)
		rc = details_parse(root, &a->details, what, err);
	if (rc != ZITADEL_OK)
		goto out;

	*out = a;
	a = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_pat_added_free(a);
	json_decref(root);
	return rc;
}

static zitadel_status scopes_parse(json_t *v, zitadel_pat *p, const char *what,
				   zitadel_error *err)
{
	size_t i, n;

	v = member(v, "scopes");
	if (v == NULL)
		return ZITADEL_OK;
	if (!json_is_array(v))
		return malformed(what, "scopes", err);
	n = json_array_size(v);
	if (n == 0)
		return ZITADEL_OK;
	p->scopes = zt_calloc(n, sizeof(*p->scopes));
	if (p->scopes == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory",
				what);
	for (i = 0; i < n; i++) {
		json_t *s = json_array_get(v, i);

		if (!json_is_string(s))
			return malformed(what, "scopes", err);
		p->scopes[i] = zt_strdup(json_string_value(s));
		if (p->scopes[i] == NULL)
			return zt_error(err, ZITADEL_ERR_NOMEM,
					"%s: out of memory", what);
		p->scope_count++;
	}
	return ZITADEL_OK;
}

/* One zitadel.user.v1.PersonalAccessToken (metadata, no token). */
static zitadel_status pat_parse(json_t *v, zitadel_pat *p, const char *what,
				zitadel_error *err)
{
	zitadel_status rc;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(v))
		return malformed(what, "token", err);
	rc = string_field(v, "id", 1, &p->id, what, err);
	if (rc == ZITADEL_OK)
		rc = details_parse(v, &p->details, what, err);
	if (rc == ZITADEL_OK)
		rc = time_field(v, "expirationDate", &p->expiration_date,
				&p->expiration, what, err);
	if (rc == ZITADEL_OK)
		rc = scopes_parse(v, p, what, err);
	if (rc != ZITADEL_OK)
		pat_clear(p);
	return rc;
}

zitadel_status zt_pat_parse(const char *body, size_t len, zitadel_pat **out,
			    zitadel_error *err)
{
	const char *what = "GetPersonalAccessTokenByIDs";
	zitadel_pat *p = NULL;
	zitadel_status rc;
	json_t *root = NULL;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc != ZITADEL_OK)
		goto out;
	p = zt_calloc(1, sizeof(*p));
	if (p == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = pat_parse(member(root, "token"), p, what, err);
	if (rc != ZITADEL_OK)
		goto out;

	*out = p;
	p = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_pat_free(p);
	json_decref(root);
	return rc;
}

zitadel_status zt_pat_list_parse(const char *body, size_t len,
				 zitadel_pats **out, zitadel_error *err)
{
	const char *what = "ListPersonalAccessTokens";
	zitadel_pats *l = NULL;
	zitadel_status rc;
	json_t *root = NULL, *result = NULL;
	size_t i, n;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc == ZITADEL_OK)
		rc = result_array(root, what, &result, err);
	if (rc != ZITADEL_OK)
		goto out;
	n = json_array_size(result);
	l = zt_calloc(1, sizeof(*l));
	if (l == NULL ||
	    (n > 0 && (l->pats = zt_calloc(n, sizeof(*l->pats))) == NULL)) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = list_details_parse(root, &l->details, what, err);
	for (i = 0; rc == ZITADEL_OK && i < n; i++) {
		rc = pat_parse(json_array_get(result, i), &l->pats[i], what,
			       err);
		if (rc == ZITADEL_OK)
			l->count++;
	}
	if (rc != ZITADEL_OK)
		goto out;

	*out = l;
	l = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_pats_free(l);
	json_decref(root);
	return rc;
}

zitadel_status zt_machine_secret_parse(const char *body, size_t len,
				       zitadel_machine_secret **out,
				       zitadel_error *err)
{
	const char *what = "GenerateMachineSecret";
	zitadel_machine_secret *s = NULL;
	zitadel_status rc;
	json_t *root = NULL;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc != ZITADEL_OK)
		goto out;
	s = zt_calloc(1, sizeof(*s));
	if (s == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = string_field(root, "clientId", 1, &s->client_id, what, err);
	if (rc == ZITADEL_OK)
		rc = string_field(root, "clientSecret", 1, &s->client_secret,
				  what, err);
	wipe_json_string(member(root, "clientSecret"));
	if (rc == ZITADEL_OK)
		rc = details_parse(root, &s->details, what, err);
	if (rc != ZITADEL_OK)
		goto out;

	*out = s;
	s = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_machine_secret_free(s);
	json_decref(root);
	return rc;
}

/* ---- one management request ------------------------------------------- */

typedef struct mgmt_request {
	const char *method;
	const char *url;
	const char *body;
	const char *bearer;
} mgmt_request;

static zitadel_status mgmt_build(void *userdata, unsigned attempt,
				 zt_http_request *req, zitadel_error *err)
{
	const mgmt_request *m = userdata;

	(void)attempt;
	(void)err;
	memset(req, 0, sizeof(*req));
	req->method = m->method;
	req->url = m->url;
	if (m->body != NULL) {
		req->content_type = "application/json";
		req->body = m->body;
		req->body_len = strlen(m->body);
	}
	req->bearer = m->bearer;
	req->send_org = 1;
	return ZITADEL_OK;
}

/*
 * Send one call to {issuer}/management/v1{path}, path already escaped. A
 * non-2xx answer becomes the status and detail; on success resp holds the
 * body. Reads and searches may be repeated after any transient failure;
 * writes only when the server cannot have acted.
 */
static zitadel_status mgmt_call(zitadel_ctx *ctx, const char *what,
				const char *method, const char *path,
				const char *body, zt_http_response *resp,
				zitadel_error *err)
{
	mgmt_request m = {method, NULL, body, NULL};
	zitadel_status rc;
	zt_retry policy;
	size_t plen = strlen(path);
	char *url = NULL;

	memset(resp, 0, sizeof(*resp));
	url = zt_asprintf("%s/management/v1%s", ctx->issuer, path);
	if (url == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	m.url = url;
	rc = zt_mgmt_bearer(ctx, &m.bearer, err);
	if (rc != ZITADEL_OK)
		goto out;

	policy = ZT_RETRY_SAFE;
	if (strcmp(method, "GET") == 0 ||
	    (plen >= 8 && strcmp(path + plen - 8, "/_search") == 0))
		policy = ZT_RETRY_ALL;
	rc = zt_http_send(ctx, policy, mgmt_build, &m, resp, err);
	if (rc != ZITADEL_OK)
		goto out;
	if (resp->status < 200 || resp->status > 299) {
		rc = zt_http_status(resp, what, err);
		if (rc == ZITADEL_OK)
			rc = zt_error(err, ZITADEL_ERR_HTTP, "%s: HTTP %ld",
				      what, resp->status);
		goto out;
	}

	rc = ZITADEL_OK;
out:
	if (rc != ZITADEL_OK)
		zt_http_response_free(resp);
	free(url);
	return rc;
}

/* "/users/{a}" or "/users/{a}/{mid}/{b}" with each id percent-encoded. */
static char *user_path(const char *user_id, const char *rest,
		       const char *sub_id)
{
	char *u = NULL, *s = NULL, *path = NULL;

	u = zt_url_escape(user_id);
	if (u == NULL)
		goto out;
	if (sub_id != NULL) {
		s = zt_url_escape(sub_id);
		if (s == NULL)
			goto out;
		path = zt_asprintf("/users/%s/%s/%s", u, rest, s);
	} else {
		path = zt_asprintf("/users/%s/%s", u, rest);
	}
out:
	free(u);
	free(s);
	return path;
}

/* Serialise a request object; NULL on allocation failure. */
static char *json_body(json_t *obj)
{
	char *s, *copy;

	if (obj == NULL)
		return NULL;
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL)
		return NULL;
	/* hand over memory that free() releases whatever jansson's
	 * allocator is */
	copy = zt_strdup(s);
	free(s);
	return copy;
}

/* Set a string member; returns -1 on allocation failure. */
static int set_str(json_t *obj, const char *name, const char *value)
{
	json_t *v = json_string(value);

	if (v == NULL)
		return -1;
	return json_object_set_new(obj, name, v);
}

static int set_time(json_t *obj, const char *name, time_t t)
{
	char buf[40];

	zt_time_format(t, buf, sizeof(buf));
	return set_str(obj, name, buf);
}

/* ---- 1. AddMachineUser ------------------------------------------------ */

static char *machine_user_body(const zitadel_machine_user_new *req)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (set_str(o, "userName", req->user_name) != 0 ||
	    set_str(o, "name", req->name) != 0 ||
	    (req->description != NULL && req->description[0] != '\0' &&
	     set_str(o, "description", req->description) != 0) ||
	    set_str(o, "accessTokenType",
		    token_type_name(req->access_token_type)) != 0 ||
	    (req->user_id != NULL && set_str(o, "userId", req->user_id) != 0)) {
		json_decref(o);
		return NULL;
	}
	return json_body(o);
}

zitadel_status zitadel_machine_user_add(zitadel_ctx *ctx,
					const zitadel_machine_user_new *req,
					zitadel_machine_user_added **out,
					zitadel_error *err)
{
	const char *what = "AddMachineUser";
	zt_http_response resp = {0};
	zitadel_status rc;
	char *body = NULL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || req == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_text(what, "user name", req->user_name, 1, NAME_MAX_RUNES,
			err);
	if (rc == ZITADEL_OK)
		rc =
		    check_text(what, "name", req->name, 1, NAME_MAX_RUNES, err);
	if (rc == ZITADEL_OK)
		rc = check_text(what, "description", req->description, 0,
				DESCRIPTION_MAX_RUNES, err);
	if (rc == ZITADEL_OK && req->user_id != NULL)
		rc = check_id(what, "user id", req->user_id, err);
	if (rc == ZITADEL_OK)
		rc = check_token_type(what, req->access_token_type, err);
	if (rc != ZITADEL_OK)
		goto out;

	body = machine_user_body(req);
	if (body == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = mgmt_call(ctx, what, "POST", "/users/machine", body, &resp, err);
	if (rc == ZITADEL_OK)
		rc = zt_machine_user_added_parse(resp.body, resp.body_len, out,
						 err);
out:
	zt_http_response_free(&resp);
	free(body);
	return rc;
}

/* ---- shared shape: a call whose answer is only "details" -------------- */

static zitadel_status details_call(zitadel_ctx *ctx, const char *what,
				   const char *method, const char *path,
				   const char *body, zitadel_details **out,
				   zitadel_error *err)
{
	zt_http_response resp = {0};
	zitadel_details *d = NULL;
	zitadel_status rc;

	rc = mgmt_call(ctx, what, method, path, body, &resp, err);
	if (rc == ZITADEL_OK)
		rc = zt_details_response_parse(resp.body, resp.body_len, what,
					       &d, err);
	zt_http_response_free(&resp);
	if (rc == ZITADEL_OK && out != NULL)
		*out = d;
	else
		zitadel_details_free(d);
	return rc;
}

/* ---- 2. UpdateMachine ------------------------------------------------- */

zitadel_status
zitadel_machine_user_update(zitadel_ctx *ctx, const char *user_id,
			    const zitadel_machine_user_change *req,
			    zitadel_details **out, zitadel_error *err)
{
	const char *what = "UpdateMachine";
	zitadel_status rc;
	char *path = NULL, *body = NULL;
	json_t *o;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || req == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc == ZITADEL_OK)
		rc =
		    check_text(what, "name", req->name, 1, NAME_MAX_RUNES, err);
	if (rc == ZITADEL_OK)
		rc = check_text(what, "description", req->description, 0,
				DESCRIPTION_MAX_RUNES, err);
	if (rc == ZITADEL_OK)
		rc = check_token_type(what, req->access_token_type, err);
	if (rc != ZITADEL_OK)
		goto out;

	/* the server replaces every field, so send them all */
	o = json_object();
	if (o != NULL &&
	    (set_str(o, "name", req->name) != 0 ||
	     (req->description != NULL && req->description[0] != '\0' &&
	      set_str(o, "description", req->description) != 0) ||
	     set_str(o, "accessTokenType",
		     token_type_name(req->access_token_type)) != 0)) {
		json_decref(o);
		o = NULL;
	}
	body = json_body(o);
	path = user_path(user_id, "machine", NULL);
	if (body == NULL || path == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = details_call(ctx, what, "PUT", path, body, out, err);
out:
	free(path);
	free(body);
	return rc;
}

/* ---- 3-6. machine keys ------------------------------------------------ */

static char *key_add_body(const zitadel_machine_key_new *req)
{
	json_t *o = json_object();
	char *b64 = NULL;
	int bad;

	if (o == NULL)
		return NULL;
	bad = set_str(o, "type", "KEY_TYPE_JSON") != 0;
	if (!bad && req != NULL && req->expiration != 0)
		bad = set_time(o, "expirationDate", req->expiration) != 0;
	if (!bad && req != NULL && req->public_key_pem != NULL) {
		/* bytes field: the PEM text itself is base64'd */
		b64 =
		    zt_base64_encode((const unsigned char *)req->public_key_pem,
				     strlen(req->public_key_pem));
		bad = b64 == NULL || set_str(o, "publicKey", b64) != 0;
		free(b64);
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return json_body(o);
}

zitadel_status zitadel_machine_key_add(zitadel_ctx *ctx, const char *user_id,
				       const zitadel_machine_key_new *req,
				       zitadel_machine_key_added **out,
				       zitadel_error *err)
{
	const char *what = "AddMachineKey";
	zt_http_response resp = {0};
	zitadel_status rc;
	char *path = NULL, *body = NULL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc == ZITADEL_OK && req != NULL && req->public_key_pem != NULL &&
	    strstr(req->public_key_pem, "-----BEGIN ") == NULL)
		rc = zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
			      "%s: public key is not PEM text", what);
	if (rc != ZITADEL_OK)
		goto out;

	body = key_add_body(req);
	path = user_path(user_id, "keys", NULL);
	if (body == NULL || path == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = mgmt_call(ctx, what, "POST", path, body, &resp, err);
	if (rc == ZITADEL_OK)
		rc = zt_machine_key_added_parse(resp.body, resp.body_len, out,
						err);
out:
	zt_http_response_free(&resp);
	free(path);
	free(body);
	return rc;
}

zitadel_status zitadel_machine_key_get(zitadel_ctx *ctx, const char *user_id,
				       const char *key_id,
				       zitadel_machine_key **out,
				       zitadel_error *err)
{
	const char *what = "GetMachineKeyByIDs";
	zt_http_response resp = {0};
	zitadel_status rc;
	char *path = NULL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc == ZITADEL_OK)
		rc = check_id(what, "key id", key_id, err);
	if (rc != ZITADEL_OK)
		goto out;

	path = user_path(user_id, "keys", key_id);
	if (path == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = mgmt_call(ctx, what, "GET", path, NULL, &resp, err);
	if (rc == ZITADEL_OK)
		rc = zt_machine_key_parse(resp.body, resp.body_len, out, err);
out:
	zt_http_response_free(&resp);
	free(path);
	return rc;
}

zitadel_status zitadel_machine_key_remove(zitadel_ctx *ctx, const char *user_id,
					  const char *key_id,
					  zitadel_details **out,
					  zitadel_error *err)
{
	const char *what = "RemoveMachineKey";
	zitadel_status rc;
	char *path = NULL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc == ZITADEL_OK)
		rc = check_id(what, "key id", key_id, err);
	if (rc != ZITADEL_OK)
		return rc;
	path = user_path(user_id, "keys", key_id);
	if (path == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory",
				what);
	rc = details_call(ctx, what, "DELETE", path, NULL, out, err);
	free(path);
	return rc;
}

/* ---- lists ------------------------------------------------------------ */

static char *search_body(const zitadel_list_query *q)
{
	json_t *o = json_object(), *query = json_object();
	char off[32];

	if (o == NULL || query == NULL)
		goto bad;
	snprintf(off, sizeof(off), "%llu", (unsigned long long)q->offset);
	/* offset is a uint64, so a string; limit a uint32, so a number */
	if (set_str(query, "offset", off) != 0 ||
	    (q->limit != 0 &&
	     json_object_set_new(query, "limit", json_integer(q->limit)) !=
		 0) ||
	    (q->asc && json_object_set_new(query, "asc", json_true()) != 0))
		goto bad;
	if (json_object_set_new(o, "query", query) != 0) {
		query = NULL;
		goto bad;
	}
	return json_body(o);
bad:
	json_decref(query);
	json_decref(o);
	return NULL;
}

/* One page of a list call: body and status only, parsing is the
 * caller's. */
static zitadel_status list_page(zitadel_ctx *ctx, const char *what,
				const char *path, const zitadel_list_query *q,
				zt_http_response *resp, zitadel_error *err)
{
	zitadel_status rc;
	char *body = search_body(q);

	if (body == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory",
				what);
	rc = mgmt_call(ctx, what, "POST", path, body, resp, err);
	free(body);
	return rc;
}

/*
 * Whether to fetch another page: not when the server's total is reached,
 * a page came back short, or the page cap is hit (an error).
 */
static zitadel_status list_more(const char *what, size_t have, size_t got,
				uint64_t total, unsigned pages, int *more,
				zitadel_error *err)
{
	*more = 0;
	if (got < LIST_PAGE_SIZE || (uint64_t)have >= total)
		return ZITADEL_OK;
	if (pages >= LIST_MAX_PAGES)
		return zt_error(err, ZITADEL_ERR_PROTOCOL,
				"%s: server still sending after %u pages of "
				"%d; giving up",
				what, pages, LIST_PAGE_SIZE);
	*more = 1;
	return ZITADEL_OK;
}

zitadel_status zitadel_machine_key_list(zitadel_ctx *ctx, const char *user_id,
					const zitadel_list_query *query,
					zitadel_machine_keys **out,
					zitadel_error *err)
{
	const char *what = "ListMachineKeys";
	zitadel_list_query q = {0, LIST_PAGE_SIZE, 1};
	zitadel_machine_keys *all = NULL, *page = NULL;
	zitadel_machine_key *grown;
	zt_http_response resp = {0};
	zitadel_status rc;
	unsigned pages = 0;
	char *path = NULL;
	size_t got = 0;
	int more = 1;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc != ZITADEL_OK)
		goto out;
	path = user_path(user_id, "keys/_search", NULL);
	if (path == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}

	while (more) {
		rc = list_page(ctx, what, path, query != NULL ? query : &q,
			       &resp, err);
		if (rc == ZITADEL_OK)
			rc = zt_machine_key_list_parse(resp.body, resp.body_len,
						       &page, err);
		zt_http_response_free(&resp);
		if (rc != ZITADEL_OK)
			goto out;
		pages++;
		if (all == NULL) {
			all = page;
			page = NULL;
			if (query != NULL)
				break;
			got = all->count;
		} else {
			free(all->details.view_timestamp);
			all->details = page->details;
			page->details.view_timestamp = NULL;
			got = page->count;
			grown = zt_realloc(all->keys,
					   (all->count + got) * sizeof(*grown));
			if (grown == NULL) {
				rc = zt_error(err, ZITADEL_ERR_NOMEM,
					      "%s: out of memory", what);
				goto out;
			}
			/* the items move; the page keeps only its shell */
			memcpy(grown + all->count, page->keys,
			       got * sizeof(*grown));
			all->keys = grown;
			all->count += got;
			page->count = 0;
			zitadel_machine_keys_free(page);
			page = NULL;
		}
		rc = list_more(what, all->count, got, all->details.total_result,
			       pages, &more, err);
		if (rc != ZITADEL_OK)
			goto out;
		q.offset = all->count;
	}

	*out = all;
	all = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_machine_keys_free(page);
	zitadel_machine_keys_free(all);
	free(path);
	return rc;
}

zitadel_status zitadel_pat_list(zitadel_ctx *ctx, const char *user_id,
				const zitadel_list_query *query,
				zitadel_pats **out, zitadel_error *err)
{
	const char *what = "ListPersonalAccessTokens";
	zitadel_list_query q = {0, LIST_PAGE_SIZE, 1};
	zitadel_pats *all = NULL, *page = NULL;
	zitadel_pat *grown;
	zt_http_response resp = {0};
	zitadel_status rc;
	unsigned pages = 0;
	char *path = NULL;
	size_t got = 0;
	int more = 1;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc != ZITADEL_OK)
		goto out;
	path = user_path(user_id, "pats/_search", NULL);
	if (path == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}

	while (more) {
		rc = list_page(ctx, what, path, query != NULL ? query : &q,
			       &resp, err);
		if (rc == ZITADEL_OK)
			rc = zt_pat_list_parse(resp.body, resp.body_len, &page,
					       err);
		zt_http_response_free(&resp);
		if (rc != ZITADEL_OK)
			goto out;
		pages++;
		if (all == NULL) {
			all = page;
			page = NULL;
			if (query != NULL)
				break;
			got = all->count;
		} else {
			free(all->details.view_timestamp);
			all->details = page->details;
			page->details.view_timestamp = NULL;
			got = page->count;
			grown = zt_realloc(all->pats,
					   (all->count + got) * sizeof(*grown));
			if (grown == NULL) {
				rc = zt_error(err, ZITADEL_ERR_NOMEM,
					      "%s: out of memory", what);
				goto out;
			}
			/* the items move; the page keeps only its shell */
			memcpy(grown + all->count, page->pats,
			       got * sizeof(*grown));
			all->pats = grown;
			all->count += got;
			page->count = 0;
			zitadel_pats_free(page);
			page = NULL;
		}
		rc = list_more(what, all->count, got, all->details.total_result,
			       pages, &more, err);
		if (rc != ZITADEL_OK)
			goto out;
		q.offset = all->count;
	}

	*out = all;
	all = NULL;
	rc = ZITADEL_OK;
out:
	zitadel_pats_free(page);
	zitadel_pats_free(all);
	free(path);
	return rc;
}

/* ---- 7-10. personal access tokens ------------------------------------- */

zitadel_status zitadel_pat_add(zitadel_ctx *ctx, const char *user_id,
			       time_t expiration, zitadel_pat_added **out,
			       zitadel_error *err)
{
	const char *what = "AddPersonalAccessToken";
	zt_http_response resp = {0};
	zitadel_status rc;
	char *path = NULL, *body = NULL;
	json_t *o;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc != ZITADEL_OK)
		goto out;

	o = json_object();
	if (o != NULL && expiration != 0 &&
	    set_time(o, "expirationDate", expiration) != 0) {
		json_decref(o);
		o = NULL;
	}
	body = json_body(o);
	path = user_path(user_id, "pats", NULL);
	if (body == NULL || path == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = mgmt_call(ctx, what, "POST", path, body, &resp, err);
	if (rc == ZITADEL_OK)
		rc = zt_pat_added_parse(resp.body, resp.body_len, out, err);
out:
	zt_http_response_free(&resp);
	free(path);
	free(body);
	return rc;
}

zitadel_status zitadel_pat_get(zitadel_ctx *ctx, const char *user_id,
			       const char *token_id, zitadel_pat **out,
			       zitadel_error *err)
{
	const char *what = "GetPersonalAccessTokenByIDs";
	zt_http_response resp = {0};
	zitadel_status rc;
	char *path = NULL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc == ZITADEL_OK)
		rc = check_id(what, "token id", token_id, err);
	if (rc != ZITADEL_OK)
		goto out;

	path = user_path(user_id, "pats", token_id);
	if (path == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	rc = mgmt_call(ctx, what, "GET", path, NULL, &resp, err);
	if (rc == ZITADEL_OK)
		rc = zt_pat_parse(resp.body, resp.body_len, out, err);
out:
	zt_http_response_free(&resp);
	free(path);
	return rc;
}

zitadel_status zitadel_pat_remove(zitadel_ctx *ctx, const char *user_id,
				  const char *token_id, zitadel_details **out,
				  zitadel_error *err)
{
	const char *what = "RemovePersonalAccessToken";
	zitadel_status rc;
	char *path = NULL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc == ZITADEL_OK)
		rc = check_id(what, "token id", token_id, err);
	if (rc != ZITADEL_OK)
		return rc;
	path = user_path(user_id, "pats", token_id);
	if (path == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory",
				what);
	rc = details_call(ctx, what, "DELETE", path, NULL, out, err);
	free(path);
	return rc;
}

/* ---- 11-12. machine secret -------------------------------------------- */

zitadel_status zitadel_machine_secret_generate(zitadel_ctx *ctx,
					       const char *user_id,
					       zitadel_machine_secret **out,
					       zitadel_error *err)
{
	const char *what = "GenerateMachineSecret";
	zt_http_response resp = {0};
	zitadel_status rc;
	char *path = NULL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL || out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc != ZITADEL_OK)
		goto out;

	path = user_path(user_id, "secret", NULL);
	if (path == NULL) {
		rc =
		    zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
		goto out;
	}
	/* the body is an empty message; "{}" is what the gateway expects */
	rc = mgmt_call(ctx, what, "PUT", path, "{}", &resp, err);
	if (rc == ZITADEL_OK)
		rc =
		    zt_machine_secret_parse(resp.body, resp.body_len, out, err);
out:
	zt_http_response_free(&resp);
	free(path);
	return rc;
}

zitadel_status zitadel_machine_secret_remove(zitadel_ctx *ctx,
					     const char *user_id,
					     zitadel_details **out,
					     zitadel_error *err)
{
	const char *what = "RemoveMachineSecret";
	zitadel_status rc;
	char *path = NULL;

	if (out != NULL)
		*out = NULL;
	if (ctx == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", what);
	zt_deadline_start(ctx);
	rc = check_id(what, "user id", user_id, err);
	if (rc != ZITADEL_OK)
		return rc;
	path = user_path(user_id, "secret", NULL);
	if (path == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory",
				what);
	rc = details_call(ctx, what, "DELETE", path, NULL, out, err);
	free(path);
	return rc;
}
