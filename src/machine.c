/*
 * machine.c: the twelve machine-user calls of Zitadel's Management API v1
 * (users, keys, PATs, secrets), their typed results and the protojson
 * parsing rules they need (64-bit numbers as strings, omitted zero values).
 * Each call is a row of data (method, path, retry policy, body builder,
 * answer type) run by one request path; the two lists share one paging loop.
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
#define LIST_PAGE_SIZE 1000 /* the documented maximum of ListQuery.limit */
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

static zitadel_status nomem(const char *what, zitadel_error *err)
{
	return zt_error(err, ZITADEL_ERR_NOMEM, "%s: out of memory", what);
}

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
		return nomem(what, err);
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

/* Member "details" of obj, NULL when absent (then every field is zero). */
static zitadel_status details_member(json_t *obj, const char *what,
				     json_t **out, zitadel_error *err)
{
	*out = member(obj, "details");
	if (*out != NULL && !json_is_object(*out))
		return malformed(what, "details", err);
	return ZITADEL_OK;
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

/*
 * How to read one result object and release what it holds. fill reads v
 * (the body, one of its members or a list element) into a zeroed object
 * and may stop half way; clear frees whatever fill left, in any state.
 */
typedef struct obj_type {
	size_t size;
	zitadel_status (*fill)(json_t *v, void *obj, const char *what,
			       zitadel_error *err);
	void (*clear)(void *obj);
} obj_type;

static void obj_free(void *obj, void (*clear)(void *))
{
	if (obj == NULL)
		return;
	clear(obj);
	free(obj);
}

/* Parse a body into a new object of type t, read from its member name
 * (NULL: the body itself). */
static zitadel_status obj_parse(const char *body, size_t len, const char *what,
				const obj_type *t, const char *name, void **out,
				zitadel_error *err)
{
	zitadel_status rc;
	json_t *root = NULL;
	void *obj = NULL;

	*out = NULL;
	rc = body_parse(body, len, what, &root, err);
	if (rc != ZITADEL_OK)
		goto out;
	obj = zt_calloc(1, t->size);
	if (obj == NULL) {
		rc = nomem(what, err);
		goto out;
	}
	rc = t->fill(name != NULL ? member(root, name) : root, obj, what, err);
	if (rc != ZITADEL_OK)
		goto out;

	*out = obj;
	obj = NULL;
	rc = ZITADEL_OK;
out:
	obj_free(obj, t->clear);
	json_decref(root);
	return rc;
}

/* ObjectDetails in member "details" of v; absent means all zero. */
static zitadel_status details_fill(json_t *v, void *obj, const char *what,
				   zitadel_error *err)
{
	zitadel_details *d = obj;
	zitadel_status rc;

	rc = details_member(v, what, &v, err);
	if (rc != ZITADEL_OK || v == NULL)
		return rc;
	if (json_uint64(member(v, "sequence"), &d->sequence) != 0)
		return malformed(what, "details.sequence", err);
	rc = time_field(v, "creationDate", &d->creation_date, NULL, what, err);
	if (rc == ZITADEL_OK)
		rc = time_field(v, "changeDate", &d->change_date, NULL, what,
				err);
	if (rc == ZITADEL_OK)
		rc = string_field(v, "resourceOwner", 0, &d->resource_owner,
				  what, err);
	return rc;
}

static void details_clear(void *obj)
{
	zitadel_details *d = obj;

	free(d->creation_date);
	free(d->change_date);
	free(d->resource_owner);
}

void zitadel_details_free(zitadel_details *details)
{
	obj_free(details, details_clear);
}

static const obj_type details_type = {sizeof(zitadel_details), details_fill,
				      details_clear};

/* AddMachineUser */
static zitadel_status user_added_fill(json_t *v, void *obj, const char *what,
				      zitadel_error *err)
{
	zitadel_machine_user_added *a = obj;
	zitadel_status rc;

	rc = string_field(v, "userId", 1, &a->user_id, what, err);
	if (rc == ZITADEL_OK)
		rc = details_fill(v, &a->details, what, err);
	return rc;
}

static void user_added_clear(void *obj)
{
	zitadel_machine_user_added *a = obj;

	free(a->user_id);
	details_clear(&a->details);
}

void zitadel_machine_user_added_free(zitadel_machine_user_added *added)
{
	obj_free(added, user_added_clear);
}

static const obj_type user_added_type = {sizeof(zitadel_machine_user_added),
					 user_added_fill, user_added_clear};

/* AddMachineKey. keyDetails is the base64 of the key-file JSON, which holds
 * the private key: decode it straight into the result and wipe every copy. */
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
		return nomem(what, err);
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

static zitadel_status key_added_fill(json_t *v, void *obj, const char *what,
				     zitadel_error *err)
{
	zitadel_machine_key_added *a = obj;
	zitadel_status rc;

	rc = string_field(v, "keyId", 1, &a->key_id, what, err);
	if (rc == ZITADEL_OK)
		rc = key_details_decode(v, a, what, err);
	if (rc == ZITADEL_OK)
		rc = details_fill(v, &a->details, what, err);
	return rc;
}

static void key_added_clear(void *obj)
{
	zitadel_machine_key_added *a = obj;

	free(a->key_id);
	if (a->key_details != NULL) {
		zt_wipe(a->key_details, a->key_details_len);
		free(a->key_details);
	}
	details_clear(&a->details);
}

void zitadel_machine_key_added_free(zitadel_machine_key_added *added)
{
	obj_free(added, key_added_clear);
}

static const obj_type key_added_type = {sizeof(zitadel_machine_key_added),
					key_added_fill, key_added_clear};

/* One zitadel.authn.v1.Key object. */
static zitadel_status key_fill(json_t *v, void *obj, const char *what,
			       zitadel_error *err)
{
	zitadel_machine_key *k = obj;
	zitadel_status rc;
	json_t *type;

	if (!json_is_object(v))
		return malformed(what, "key", err);
	rc = string_field(v, "id", 1, &k->id, what, err);
	if (rc == ZITADEL_OK)
		rc = details_fill(v, &k->details, what, err);
	if (rc == ZITADEL_OK)
		rc = time_field(v, "expirationDate", &k->expiration_date,
				&k->expiration, what, err);
	if (rc != ZITADEL_OK)
		return rc;

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
		return malformed(what, "type", err);
	return ZITADEL_OK;
}

static void key_clear(void *obj)
{
	zitadel_machine_key *k = obj;

	free(k->id);
	details_clear(&k->details);
	free(k->expiration_date);
}

void zitadel_machine_key_free(zitadel_machine_key *key)
{
	obj_free(key, key_clear);
}

static const obj_type key_type = {sizeof(zitadel_machine_key), key_fill,
				  key_clear};

/* AddPersonalAccessToken */
static zitadel_status pat_added_fill(json_t *v, void *obj, const char *what,
				     zitadel_error *err)
{
	zitadel_pat_added *a = obj;
	zitadel_status rc;

	rc = string_field(v, "tokenId", 1, &a->token_id, what, err);
	if (rc == ZITADEL_OK)
		rc = string_field(v, "token", 1, &a->token, what, err);
	wipe_json_string(member(v, "token"));
	if (rc == ZITADEL_OK && strlen(a->token) > ZT_TOKEN_MAX)
		rc = zt_error(err, ZITADEL_ERR_TOO_LARGE,
			      "%s: token longer than %d bytes", what,
			      ZT_TOKEN_MAX);
	if (rc == ZITADEL_OK)
		rc = details_fill(v, &a->details, what, err);
	return rc;
}

static void pat_added_clear(void *obj)
{
	zitadel_pat_added *a = obj;

	free(a->token_id);
	zt_free_secret(a->token);
	details_clear(&a->details);
}

void zitadel_pat_added_free(zitadel_pat_added *added)
{
	obj_free(added, pat_added_clear);
}

static const obj_type pat_added_type = {sizeof(zitadel_pat_added),
					pat_added_fill, pat_added_clear};

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
		return nomem(what, err);
	for (i = 0; i < n; i++) {
		json_t *s = json_array_get(v, i);

		if (!json_is_string(s))
			return malformed(what, "scopes", err);
		p->scopes[i] = zt_strdup(json_string_value(s));
		if (p->scopes[i] == NULL)
			return nomem(what, err);
		p->scope_count++;
	}
	return ZITADEL_OK;
}

/* One zitadel.user.v1.PersonalAccessToken (metadata, no token). */
static zitadel_status pat_fill(json_t *v, void *obj, const char *what,
			       zitadel_error *err)
{
	zitadel_pat *p = obj;
	zitadel_status rc;

	if (!json_is_object(v))
		return malformed(what, "token", err);
	rc = string_field(v, "id", 1, &p->id, what, err);
	if (rc == ZITADEL_OK)
		rc = details_fill(v, &p->details, what, err);
	if (rc == ZITADEL_OK)
		rc = time_field(v, "expirationDate", &p->expiration_date,
				&p->expiration, what, err);
	if (rc == ZITADEL_OK)
		rc = scopes_parse(v, p, what, err);
	return rc;
}

static void pat_clear(void *obj)
{
	zitadel_pat *p = obj;
	size_t i;

	free(p->id);
	details_clear(&p->details);
	free(p->expiration_date);
	for (i = 0; i < p->scope_count; i++)
		free(p->scopes[i]);
	free(p->scopes);
}

void zitadel_pat_free(zitadel_pat *pat)
{
	obj_free(pat, pat_clear);
}

static const obj_type pat_type = {sizeof(zitadel_pat), pat_fill, pat_clear};

/* GenerateMachineSecret */
static zitadel_status secret_fill(json_t *v, void *obj, const char *what,
				  zitadel_error *err)
{
	zitadel_machine_secret *s = obj;
	zitadel_status rc;

	rc = string_field(v, "clientId", 1, &s->client_id, what, err);
	if (rc == ZITADEL_OK)
		rc = string_field(v, "clientSecret", 1, &s->client_secret, what,
				  err);
	wipe_json_string(member(v, "clientSecret"));
	if (rc == ZITADEL_OK)
		rc = details_fill(v, &s->details, what, err);
	return rc;
}

static void secret_clear(void *obj)
{
	zitadel_machine_secret *s = obj;

	free(s->client_id);
	zt_free_secret(s->client_secret);
	details_clear(&s->details);
}

void zitadel_machine_secret_free(zitadel_machine_secret *secret)
{
	obj_free(secret, secret_clear);
}

static const obj_type secret_type = {sizeof(zitadel_machine_secret),
				     secret_fill, secret_clear};

/* ---- lists ------------------------------------------------------------ */

/*
 * zitadel_machine_keys and zitadel_pats differ only in their item type.
 * Both are read and paged in this shape, and handed over into the public
 * struct at the end.
 */
typedef struct list_shape {
	zitadel_list_details details;
	void *items; /* count objects of the item type, one after another */
	size_t count;
} list_shape;

static void items_free(void *items, size_t count, const obj_type *item)
{
	size_t i;

	for (i = 0; i < count; i++)
		item->clear((char *)items + i * item->size);
	free(items);
}

static void shape_clear(list_shape *l, const obj_type *item)
{
	items_free(l->items, l->count, item);
	free(l->details.view_timestamp);
	memset(l, 0, sizeof(*l));
}

/* What the two public list frees share. */
static void list_free(void *list, void *items, size_t count,
		      zitadel_list_details *details, const obj_type *item)
{
	items_free(items, count, item);
	free(details->view_timestamp);
	free(list);
}

void zitadel_machine_keys_free(zitadel_machine_keys *list)
{
	if (list != NULL)
		list_free(list, list->keys, list->count, &list->details,
			  &key_type);
}

void zitadel_pats_free(zitadel_pats *list)
{
	if (list != NULL)
		list_free(list, list->pats, list->count, &list->details,
			  &pat_type);
}

/* The public structs, from a shape whose contents they take over; NULL
 * when out of memory (the shape keeps its contents then). */
static void *keys_wrap(list_shape *l)
{
	zitadel_machine_keys *keys = zt_calloc(1, sizeof(*keys));

	if (keys == NULL)
		return NULL;
	keys->details = l->details;
	keys->keys = l->items;
	keys->count = l->count;
	return keys;
}

static void *pats_wrap(list_shape *l)
{
	zitadel_pats *pats = zt_calloc(1, sizeof(*pats));

	if (pats == NULL)
		return NULL;
	pats->details = l->details;
	pats->pats = l->items;
	pats->count = l->count;
	return pats;
}

static zitadel_status list_details_fill(json_t *obj, zitadel_list_details *d,
					const char *what, zitadel_error *err)
{
	zitadel_status rc;
	json_t *v;

	rc = details_member(obj, what, &v, err);
	if (rc != ZITADEL_OK || v == NULL)
		return rc;
	if (json_uint64(member(v, "totalResult"), &d->total_result) != 0)
		return malformed(what, "details.totalResult", err);
	if (json_uint64(member(v, "processedSequence"),
			&d->processed_sequence) != 0)
		return malformed(what, "details.processedSequence", err);
	return time_field(v, "viewTimestamp", &d->view_timestamp, NULL, what,
			  err);
}

/* One page: ListDetails and "result" (absent means empty), each element
 * read as an item. On failure l is cleared. */
static zitadel_status shape_parse(const char *body, size_t len,
				  const char *what, const obj_type *item,
				  list_shape *l, zitadel_error *err)
{
	zitadel_status rc;
	json_t *root = NULL, *result = NULL;
	size_t i, n;

	memset(l, 0, sizeof(*l));
	rc = body_parse(body, len, what, &root, err);
	if (rc != ZITADEL_OK)
		goto out;
	result = member(root, "result");
	if (result != NULL && !json_is_array(result)) {
		rc = malformed(what, "result", err);
		goto out;
	}
	n = json_array_size(result);
	if (n > 0 && (l->items = zt_calloc(n, item->size)) == NULL) {
		rc = nomem(what, err);
		goto out;
	}
	rc = list_details_fill(root, &l->details, what, err);
	for (i = 0; rc == ZITADEL_OK && i < n; i++) {
		/* counted first, so that a failure clears this one too */
		l->count++;
		rc = item->fill(json_array_get(result, i),
				(char *)l->items + i * item->size, what, err);
	}
out:
	if (rc != ZITADEL_OK)
		shape_clear(l, item);
	json_decref(root);
	return rc;
}

/* ---- request bodies --------------------------------------------------- */

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

/* Serialise a request object into *out and release it; bad says that
 * building it failed already. Any failure is an allocation failure. */
static zitadel_status body_take(json_t *obj, int bad, const char *what,
				char **out, zitadel_error *err)
{
	char *s = NULL;

	*out = NULL;
	if (obj != NULL && !bad)
		s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s != NULL) {
		/* hand over memory that free() releases whatever jansson's
		 * allocator is */
		*out = zt_strdup(s);
		free(s);
	}
	return *out != NULL ? ZITADEL_OK : nomem(what, err);
}

/*
 * A call's body builder checks the request (whose type the call fixes)
 * the way the server would, then writes it as JSON.
 */
typedef zitadel_status (*body_fn)(const void *req, const char *what, char **out,
				  zitadel_error *err);

/* The limits on name and description, which AddMachineUser and
 * UpdateMachine share. */
static zitadel_status check_machine(const char *what, const char *name,
				    const char *description, zitadel_error *err)
{
	zitadel_status rc;

	rc = check_text(what, "name", name, 1, NAME_MAX_RUNES, err);
	if (rc == ZITADEL_OK)
		rc = check_text(what, "description", description, 0,
				DESCRIPTION_MAX_RUNES, err);
	return rc;
}

/* name, description and accessTokenType, as both calls send them; -1 on
 * allocation failure. */
static int set_machine(json_t *o, const char *name, const char *description,
		       zitadel_access_token_type type)
{
	if (set_str(o, "name", name) != 0 ||
	    (description != NULL && description[0] != '\0' &&
	     set_str(o, "description", description) != 0) ||
	    set_str(o, "accessTokenType", token_type_name(type)) != 0)
		return -1;
	return 0;
}

static zitadel_status user_add_body(const void *arg, const char *what,
				    char **out, zitadel_error *err)
{
	const zitadel_machine_user_new *req = arg;
	zitadel_status rc;
	json_t *o;
	int bad;

	rc = check_text(what, "user name", req->user_name, 1, NAME_MAX_RUNES,
			err);
	if (rc == ZITADEL_OK)
		rc = check_machine(what, req->name, req->description, err);
	if (rc == ZITADEL_OK && req->user_id != NULL)
		rc = check_id(what, "user id", req->user_id, err);
	if (rc == ZITADEL_OK)
		rc = check_token_type(what, req->access_token_type, err);
	if (rc != ZITADEL_OK)
		return rc;

	o = json_object();
	bad = o == NULL || set_str(o, "userName", req->user_name) != 0 ||
	      set_machine(o, req->name, req->description,
			  req->access_token_type) != 0 ||
	      (req->user_id != NULL && set_str(o, "userId", req->user_id) != 0);
	return body_take(o, bad, what, out, err);
}

static zitadel_status user_update_body(const void *arg, const char *what,
				       char **out, zitadel_error *err)
{
	const zitadel_machine_user_change *req = arg;
	zitadel_status rc;
	json_t *o;

	rc = check_machine(what, req->name, req->description, err);
	if (rc == ZITADEL_OK)
		rc = check_token_type(what, req->access_token_type, err);
	if (rc != ZITADEL_OK)
		return rc;

	/* the server replaces every field, so send them all */
	o = json_object();
	return body_take(o,
			 o == NULL ||
			     set_machine(o, req->name, req->description,
					 req->access_token_type) != 0,
			 what, out, err);
}

/* req may be NULL: a server-made key without expiry. */
static zitadel_status key_add_body(const void *arg, const char *what,
				   char **out, zitadel_error *err)
{
	const zitadel_machine_key_new *req = arg;
	json_t *o;
	char *b64;
	int bad;

	if (req != NULL && req->public_key_pem != NULL &&
	    strstr(req->public_key_pem, "-----BEGIN ") == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: public key is not PEM text", what);

	o = json_object();
	bad = o == NULL || set_str(o, "type", "KEY_TYPE_JSON") != 0;
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
	return body_take(o, bad, what, out, err);
}

/* req is the expiration (time_t), 0 for none. */
static zitadel_status pat_add_body(const void *arg, const char *what,
				   char **out, zitadel_error *err)
{
	const time_t *expiration = arg;
	json_t *o = json_object();

	return body_take(o,
			 o == NULL ||
			     (*expiration != 0 &&
			      set_time(o, "expirationDate", *expiration) != 0),
			 what, out, err);
}

/* GenerateMachineSecret's request is an empty message; "{}" is what the
 * gateway expects. */
static zitadel_status empty_body(const void *arg, const char *what, char **out,
				 zitadel_error *err)
{
	(void)arg;
	*out = zt_strdup("{}");
	return *out != NULL ? ZITADEL_OK : nomem(what, err);
}

/* req is the zitadel_list_query of one page. */
static zitadel_status search_body(const void *arg, const char *what, char **out,
				  zitadel_error *err)
{
	const zitadel_list_query *q = arg;
	json_t *o = json_object(), *query = json_object();
	char off[32];
	int bad;

	snprintf(off, sizeof(off), "%llu", (unsigned long long)q->offset);
	/* offset is a uint64, so a string; limit a uint32, so a number */
	bad = o == NULL || query == NULL ||
	      set_str(query, "offset", off) != 0 ||
	      (q->limit != 0 &&
	       json_object_set_new(query, "limit", json_integer(q->limit)) !=
		   0) ||
	      (q->asc && json_object_set_new(query, "asc", json_true()) != 0);
	if (!bad) {
		bad = json_object_set_new(o, "query", query) != 0;
		/* set_new took the reference, even when it failed */
		query = NULL;
	}
	json_decref(query);
	return body_take(o, bad, what, out, err);
}

/* ---- the twelve calls ------------------------------------------------- */

enum {
	CALL_NO_USER = 1u << 0,      /* path is /users/{path} */
	CALL_NEEDS_REQ = 1u << 1,    /* the request must not be NULL */
	CALL_OUT_OPTIONAL = 1u << 2, /* out may be NULL (answer: details) */
};

/*
 * One Management API call. Its URL is {issuer}/management/v1/users/
 * {userId}/{path}[/{id}], each id percent-encoded. Reads and searches may
 * be repeated after any transient failure; writes only when the server
 * cannot have acted.
 */
typedef struct mgmt_call {
	const char *what; /* the RPC, for messages */
	const char *method;
	const char *path;
	const char *id_name; /* "key id" or "token id": the path ends in it */
	zt_retry retry;
	unsigned flags;
	body_fn body;           /* NULL: no body */
	const obj_type *answer; /* the answer, or each item of a list */
	const char *member;     /* the answer is this member of the body */
	void *(*wrap)(list_shape *l); /* lists: the public struct */
	/* the error id with which this call says the user is unknown, when
	 * that is not a 404 */
	const char *user_not_found_id;
} mgmt_call;

static const mgmt_call user_add_call = {
    .what = "AddMachineUser",
    .method = "POST",
    .path = "machine",
    .retry = ZT_RETRY_SAFE,
    .flags = CALL_NO_USER | CALL_NEEDS_REQ,
    .body = user_add_body,
    .answer = &user_added_type,
};

static const mgmt_call user_update_call = {
    .what = "UpdateMachine",
    .method = "PUT",
    .path = "machine",
    .retry = ZT_RETRY_SAFE,
    .flags = CALL_NEEDS_REQ | CALL_OUT_OPTIONAL,
    .body = user_update_body,
    .answer = &details_type,
};

static const mgmt_call key_add_call = {
    .what = "AddMachineKey",
    .method = "POST",
    .path = "keys",
    .retry = ZT_RETRY_SAFE,
    .body = key_add_body,
    .answer = &key_added_type,
    .user_not_found_id = "COMMAND-bnipwm1", /* reference 2.5 */
};

static const mgmt_call key_get_call = {
    .what = "GetMachineKeyByIDs",
    .method = "GET",
    .path = "keys",
    .id_name = "key id",
    .retry = ZT_RETRY_ALL,
    .answer = &key_type,
    .member = "key",
};

static const mgmt_call key_list_call = {
    .what = "ListMachineKeys",
    .method = "POST",
    .path = "keys/_search",
    .retry = ZT_RETRY_ALL,
    .body = search_body,
    .answer = &key_type,
    .wrap = keys_wrap,
};

static const mgmt_call key_remove_call = {
    .what = "RemoveMachineKey",
    .method = "DELETE",
    .path = "keys",
    .id_name = "key id",
    .retry = ZT_RETRY_SAFE,
    .flags = CALL_OUT_OPTIONAL,
    .answer = &details_type,
};

static const mgmt_call pat_add_call = {
    .what = "AddPersonalAccessToken",
    .method = "POST",
    .path = "pats",
    .retry = ZT_RETRY_SAFE,
    .body = pat_add_body,
    .answer = &pat_added_type,
    .user_not_found_id = "COMMAND-Dggw2", /* reference 2.9 */
};

static const mgmt_call pat_get_call = {
    .what = "GetPersonalAccessTokenByIDs",
    .method = "GET",
    .path = "pats",
    .id_name = "token id",
    .retry = ZT_RETRY_ALL,
    .answer = &pat_type,
    .member = "token",
};

static const mgmt_call pat_list_call = {
    .what = "ListPersonalAccessTokens",
    .method = "POST",
    .path = "pats/_search",
    .retry = ZT_RETRY_ALL,
    .body = search_body,
    .answer = &pat_type,
    .wrap = pats_wrap,
};

static const mgmt_call pat_remove_call = {
    .what = "RemovePersonalAccessToken",
    .method = "DELETE",
    .path = "pats",
    .id_name = "token id",
    .retry = ZT_RETRY_SAFE,
    .flags = CALL_OUT_OPTIONAL,
    .answer = &details_type,
};

static const mgmt_call secret_generate_call = {
    .what = "GenerateMachineSecret",
    .method = "PUT",
    .path = "secret",
    .retry = ZT_RETRY_SAFE,
    .body = empty_body,
    .answer = &secret_type,
};

static const mgmt_call secret_remove_call = {
    .what = "RemoveMachineSecret",
    .method = "DELETE",
    .path = "secret",
    .retry = ZT_RETRY_SAFE,
    .flags = CALL_OUT_OPTIONAL,
    .answer = &details_type,
};

/* ---- response parsers (internal.h, tested without HTTP) --------------- */

zitadel_status zt_details_response_parse(const char *body, size_t len,
					 const char *what,
					 zitadel_details **out,
					 zitadel_error *err)
{
	zitadel_status rc;
	void *got;

	rc = obj_parse(body, len, what, &details_type, NULL, &got, err);
	*out = got;
	return rc;
}

/* The answer of call c, as its public function hands it over. */
static zitadel_status call_parse(const mgmt_call *c, const char *body,
				 size_t len, void **out, zitadel_error *err)
{
	zitadel_status rc;
	list_shape l;

	if (c->wrap == NULL)
		return obj_parse(body, len, c->what, c->answer, c->member, out,
				 err);
	*out = NULL;
	rc = shape_parse(body, len, c->what, c->answer, &l, err);
	if (rc != ZITADEL_OK)
		return rc;
	*out = c->wrap(&l);
	if (*out == NULL) {
		shape_clear(&l, c->answer);
		return nomem(c->what, err);
	}
	return ZITADEL_OK;
}

zitadel_status zt_machine_user_added_parse(const char *body, size_t len,
					   zitadel_machine_user_added **out,
					   zitadel_error *err)
{
	void *got;
	zitadel_status rc = call_parse(&user_add_call, body, len, &got, err);

	*out = got;
	return rc;
}

zitadel_status zt_machine_key_added_parse(const char *body, size_t len,
					  zitadel_machine_key_added **out,
					  zitadel_error *err)
{
	void *got;
	zitadel_status rc = call_parse(&key_add_call, body, len, &got, err);

	*out = got;
	return rc;
}

zitadel_status zt_machine_key_parse(const char *body, size_t len,
				    zitadel_machine_key **out,
				    zitadel_error *err)
{
	void *got;
	zitadel_status rc = call_parse(&key_get_call, body, len, &got, err);

	*out = got;
	return rc;
}

zitadel_status zt_machine_key_list_parse(const char *body, size_t len,
					 zitadel_machine_keys **out,
					 zitadel_error *err)
{
	void *got;
	zitadel_status rc = call_parse(&key_list_call, body, len, &got, err);

	*out = got;
	return rc;
}

zitadel_status zt_pat_added_parse(const char *body, size_t len,
				  zitadel_pat_added **out, zitadel_error *err)
{
	void *got;
	zitadel_status rc = call_parse(&pat_add_call, body, len, &got, err);

	*out = got;
	return rc;
}

zitadel_status zt_pat_parse(const char *body, size_t len, zitadel_pat **out,
			    zitadel_error *err)
{
	void *got;
	zitadel_status rc = call_parse(&pat_get_call, body, len, &got, err);

	*out = got;
	return rc;
}

zitadel_status zt_pat_list_parse(const char *body, size_t len,
				 zitadel_pats **out, zitadel_error *err)
{
	void *got;
	zitadel_status rc = call_parse(&pat_list_call, body, len, &got, err);

	*out = got;
	return rc;
}

zitadel_status zt_machine_secret_parse(const char *body, size_t len,
				       zitadel_machine_secret **out,
				       zitadel_error *err)
{
	void *got;
	zitadel_status rc =
	    call_parse(&secret_generate_call, body, len, &got, err);

	*out = got;
	return rc;
}

/* ---- one request path ------------------------------------------------- */

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
 * A non-2xx answer of call c as a status and detail. Zitadel answers
 * AddMachineKey and AddPersonalAccessToken for a user it does not know with
 * 400 and gRPC code 9 (FAILED_PRECONDITION), where every other call says
 * 404 (reference 2.5, 2.9); that id on those calls alone is
 * ZITADEL_ERR_NOT_FOUND, so that callers report "not found" alike. The
 * detail keeps the HTTP status, code and id as the server sent them.
 */
static zitadel_status call_status(const mgmt_call *c,
				  const zt_http_response *resp,
				  zitadel_error *err)
{
	zitadel_error local = ZITADEL_ERROR_INIT;
	zitadel_status rc;

	rc = zt_http_status(resp, c->what, &local);
	if (rc == ZITADEL_OK)
		rc = zt_error(&local, ZITADEL_ERR_HTTP, "%s: HTTP %ld", c->what,
			      resp->status);
	if (c->user_not_found_id != NULL &&
	    strcmp(local.error_id, c->user_not_found_id) == 0)
		rc = ZITADEL_ERR_NOT_FOUND;
	return zt_error_http(err, rc, local.http_status, local.grpc_code,
			     local.error_id[0] != '\0' ? local.error_id : NULL,
			     "%s", local.message);
}

/*
 * Send call c to {issuer}/management/v1{path}, path already escaped. A
 * non-2xx answer becomes the status and detail; on success resp holds the
 * body.
 */
static zitadel_status mgmt_send(zitadel_ctx *ctx, const mgmt_call *c,
				const char *path, const char *body,
				zt_http_response *resp, zitadel_error *err)
{
	mgmt_request m = {c->method, NULL, body, NULL};
	zitadel_status rc;
	char *url = NULL;

	memset(resp, 0, sizeof(*resp));
	url = zt_asprintf("%s/management/v1%s", ctx->issuer, path);
	if (url == NULL) {
		rc = nomem(c->what, err);
		goto out;
	}
	m.url = url;
	rc = zt_mgmt_bearer(ctx, &m.bearer, err);
	if (rc != ZITADEL_OK)
		goto out;

	rc = zt_http_send(ctx, c->retry, mgmt_build, &m, resp, err);
	if (rc != ZITADEL_OK)
		goto out;
	if (resp->status < 200 || resp->status > 299) {
		rc = call_status(c, resp, err);
		goto out;
	}

	rc = ZITADEL_OK;
out:
	if (rc != ZITADEL_OK)
		zt_http_response_free(resp);
	free(url);
	return rc;
}

/* What every call checks before it builds anything; this also starts the
 * call's time budget. */
static zitadel_status mgmt_check(zitadel_ctx *ctx, const mgmt_call *c,
				 const char *user_id, const char *id,
				 const void *req, void **out,
				 zitadel_error *err)
{
	zitadel_status rc = ZITADEL_OK;

	if (ctx == NULL || (req == NULL && (c->flags & CALL_NEEDS_REQ)) ||
	    (out == NULL && !(c->flags & CALL_OUT_OPTIONAL)))
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"%s: NULL argument", c->what);
	zt_deadline_start(ctx);
	if (!(c->flags & CALL_NO_USER))
		rc = check_id(c->what, "user id", user_id, err);
	if (rc == ZITADEL_OK && c->id_name != NULL)
		rc = check_id(c->what, c->id_name, id, err);
	return rc;
}

/* The path below /management/v1 for call c; NULL when out of memory. */
static char *call_path(const mgmt_call *c, const char *user_id, const char *id)
{
	char *u = NULL, *i = NULL, *path = NULL;

	if (c->flags & CALL_NO_USER)
		return zt_asprintf("/users/%s", c->path);
	u = zt_url_escape(user_id);
	if (u == NULL)
		goto out;
	if (c->id_name == NULL) {
		path = zt_asprintf("/users/%s/%s", u, c->path);
		goto out;
	}
	i = zt_url_escape(id);
	if (i != NULL)
		path = zt_asprintf("/users/%s/%s/%s", u, c->path, i);
out:
	free(u);
	free(i);
	return path;
}

/*
 * Run call c: check the arguments, build the body from req, send, and
 * parse the answer into *out. out may be NULL only where the call allows
 * it; the answer is still read, and then dropped.
 */
static zitadel_status mgmt_run(zitadel_ctx *ctx, const mgmt_call *c,
			       const char *user_id, const char *id,
			       const void *req, void **out, zitadel_error *err)
{
	zt_http_response resp = {0};
	char *path = NULL, *body = NULL;
	zitadel_status rc;
	void *got = NULL;

	if (out != NULL)
		*out = NULL;
	rc = mgmt_check(ctx, c, user_id, id, req, out, err);
	if (rc == ZITADEL_OK && c->body != NULL)
		rc = c->body(req, c->what, &body, err);
	if (rc != ZITADEL_OK)
		goto out;

	path = call_path(c, user_id, id);
	if (path == NULL) {
		rc = nomem(c->what, err);
		goto out;
	}
	rc = mgmt_send(ctx, c, path, body, &resp, err);
	if (rc == ZITADEL_OK)
		rc = call_parse(c, resp.body, resp.body_len, &got, err);
	if (rc != ZITADEL_OK)
		goto out;

	if (out != NULL) {
		*out = got;
		got = NULL;
	}
	rc = ZITADEL_OK;
out:
	obj_free(got, c->answer->clear);
	zt_http_response_free(&resp);
	free(path);
	free(body);
	return rc;
}

/* ---- paging ----------------------------------------------------------- */

/* One page of list call c, read into page. */
static zitadel_status list_page(zitadel_ctx *ctx, const mgmt_call *c,
				const char *path, const zitadel_list_query *q,
				list_shape *page, zitadel_error *err)
{
	zt_http_response resp = {0};
	zitadel_status rc;
	char *body = NULL;

	memset(page, 0, sizeof(*page));
	rc = c->body(q, c->what, &body, err);
	if (rc == ZITADEL_OK)
		rc = mgmt_send(ctx, c, path, body, &resp, err);
	if (rc == ZITADEL_OK)
		rc = shape_parse(resp.body, resp.body_len, c->what, c->answer,
				 page, err);
	zt_http_response_free(&resp);
	free(body);
	return rc;
}

/* Move the page's items behind those of all and keep the newer list
 * details; the page is left empty. */
static zitadel_status list_append(list_shape *all, list_shape *page,
				  const mgmt_call *c, zitadel_error *err)
{
	size_t size = c->answer->size;
	void *grown;

	free(all->details.view_timestamp);
	all->details = page->details;
	page->details.view_timestamp = NULL;
	grown = zt_realloc(all->items, (all->count + page->count) * size);
	if (grown == NULL)
		return nomem(c->what, err);
	if (page->count > 0)
		memcpy((char *)grown + all->count * size, page->items,
		       page->count * size);
	all->items = grown;
	all->count += page->count;
	free(page->items);
	page->items = NULL;
	page->count = 0;
	return ZITADEL_OK;
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

/* Run list call c: the one page query asks for, or every page when query
 * is NULL. */
static zitadel_status list_run(zitadel_ctx *ctx, const mgmt_call *c,
			       const char *user_id,
			       const zitadel_list_query *query, void **out,
			       zitadel_error *err)
{
	zitadel_list_query q = {0, LIST_PAGE_SIZE, 1};
	list_shape all = {0}, page = {0};
	unsigned pages = 0;
	char *path = NULL;
	zitadel_status rc;
	size_t got;
	int more = 1;

	if (out != NULL)
		*out = NULL;
	rc = mgmt_check(ctx, c, user_id, NULL, NULL, out, err);
	if (rc != ZITADEL_OK)
		goto out;
	path = call_path(c, user_id, NULL);
	if (path == NULL) {
		rc = nomem(c->what, err);
		goto out;
	}

	while (more) {
		rc = list_page(ctx, c, path, query != NULL ? query : &q, &page,
			       err);
		if (rc != ZITADEL_OK)
			goto out;
		pages++;
		got = page.count;
		if (pages == 1) {
			all = page;
			memset(&page, 0, sizeof(page));
		} else {
			rc = list_append(&all, &page, c, err);
			if (rc != ZITADEL_OK)
				goto out;
		}
		if (query != NULL)
			break;
		rc = list_more(c->what, all.count, got,
			       all.details.total_result, pages, &more, err);
		if (rc != ZITADEL_OK)
			goto out;
		q.offset = all.count;
	}

	*out = c->wrap(&all);
	if (*out == NULL) {
		rc = nomem(c->what, err);
		goto out;
	}
	memset(&all, 0, sizeof(all));
	rc = ZITADEL_OK;
out:
	shape_clear(&page, c->answer);
	shape_clear(&all, c->answer);
	free(path);
	return rc;
}

/* ---- the public calls ------------------------------------------------- */

/* 1. AddMachineUser */
zitadel_status zitadel_machine_user_add(zitadel_ctx *ctx,
					const zitadel_machine_user_new *req,
					zitadel_machine_user_added **out,
					zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = mgmt_run(ctx, &user_add_call, NULL, NULL, req,
				     out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 2. UpdateMachine */
zitadel_status
zitadel_machine_user_update(zitadel_ctx *ctx, const char *user_id,
			    const zitadel_machine_user_change *req,
			    zitadel_details **out, zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = mgmt_run(ctx, &user_update_call, user_id, NULL, req,
				     out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 3. AddMachineKey */
zitadel_status zitadel_machine_key_add(zitadel_ctx *ctx, const char *user_id,
				       const zitadel_machine_key_new *req,
				       zitadel_machine_key_added **out,
				       zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = mgmt_run(ctx, &key_add_call, user_id, NULL, req,
				     out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 4. GetMachineKeyByIDs */
zitadel_status zitadel_machine_key_get(zitadel_ctx *ctx, const char *user_id,
				       const char *key_id,
				       zitadel_machine_key **out,
				       zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = mgmt_run(ctx, &key_get_call, user_id, key_id, NULL,
				     out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 5. ListMachineKeys */
zitadel_status zitadel_machine_key_list(zitadel_ctx *ctx, const char *user_id,
					const zitadel_list_query *query,
					zitadel_machine_keys **out,
					zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = list_run(ctx, &key_list_call, user_id, query,
				     out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 6. RemoveMachineKey */
zitadel_status zitadel_machine_key_remove(zitadel_ctx *ctx, const char *user_id,
					  const char *key_id,
					  zitadel_details **out,
					  zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = mgmt_run(ctx, &key_remove_call, user_id, key_id,
				     NULL, out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 7. AddPersonalAccessToken */
zitadel_status zitadel_pat_add(zitadel_ctx *ctx, const char *user_id,
			       time_t expiration, zitadel_pat_added **out,
			       zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc =
	    mgmt_run(ctx, &pat_add_call, user_id, NULL, &expiration,
		     out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 8. GetPersonalAccessTokenByIDs */
zitadel_status zitadel_pat_get(zitadel_ctx *ctx, const char *user_id,
			       const char *token_id, zitadel_pat **out,
			       zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = mgmt_run(ctx, &pat_get_call, user_id, token_id,
				     NULL, out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 9. ListPersonalAccessTokens */
zitadel_status zitadel_pat_list(zitadel_ctx *ctx, const char *user_id,
				const zitadel_list_query *query,
				zitadel_pats **out, zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = list_run(ctx, &pat_list_call, user_id, query,
				     out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 10. RemovePersonalAccessToken */
zitadel_status zitadel_pat_remove(zitadel_ctx *ctx, const char *user_id,
				  const char *token_id, zitadel_details **out,
				  zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = mgmt_run(ctx, &pat_remove_call, user_id, token_id,
				     NULL, out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 11. GenerateMachineSecret */
zitadel_status zitadel_machine_secret_generate(zitadel_ctx *ctx,
					       const char *user_id,
					       zitadel_machine_secret **out,
					       zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = mgmt_run(ctx, &secret_generate_call, user_id, NULL,
				     NULL, out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}

/* 12. RemoveMachineSecret */
zitadel_status zitadel_machine_secret_remove(zitadel_ctx *ctx,
					     const char *user_id,
					     zitadel_details **out,
					     zitadel_error *err)
{
	void *got = NULL;
	zitadel_status rc = mgmt_run(ctx, &secret_remove_call, user_id, NULL,
				     NULL, out != NULL ? &got : NULL, err);

	if (out != NULL)
		*out = got;
	return rc;
}
