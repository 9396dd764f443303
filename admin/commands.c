/*
 * commands.c: what each zitadelctl command does. Most connect, make one
 * call and print its answer through run(); the three that receive a
 * secret share run_secret(), so secrets go only where the user said
 * (--output-file or --show-secret).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zitadelctl.h"

static const column details_cols[] = {
    {"SEQUENCE", "details.sequence"},
    {"CHANGED", "details.changeDate"},
    {"RESOURCE_OWNER", "details.resourceOwner"},
    {NULL, NULL},
};

static const column key_cols[] = {
    {"ID", "id"},
    {"TYPE", "type"},
    {"EXPIRATION", "expirationDate"},
    {"CREATED", "details.creationDate"},
    {NULL, NULL},
};

static const column pat_cols[] = {
    {"ID", "id"},
    {"EXPIRATION", "expirationDate"},
    {"CREATED", "details.creationDate"},
    {"SCOPES", "scopes"},
    {NULL, NULL},
};

/* ---- one call, its answer printed ------------------------------------- */

/* A command's library call. On success *out is the answer as JSON (NULL
 * when that ran out of memory, which output() reports). */
typedef zitadel_status (*call_fn)(app *a, json_t **out, zitadel_error *err);

static int run(app *a, call_fn call, const column *cols, int list)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	json_t *j = NULL;
	int rc;

	rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (call(a, &j, &err) != ZITADEL_OK)
		return fail(a, &err);
	return output(a, j, cols, list);
}

/* {"details": ...}, the answer of update and the removals; frees d. */
static json_t *details_result(zitadel_details *d)
{
	json_t *o = json_object();

	if (o != NULL)
		json_object_set_new(o, "details", details_json(d));
	zitadel_details_free(d);
	return o;
}

/* {"<id_name>": id, "details": ...}, the answer of the add calls. */
static json_t *added_result(const char *id_name, const char *id,
			    const zitadel_details *d)
{
	json_t *o = json_object();

	if (o != NULL) {
		json_object_set_new(o, id_name, json_string(id));
		json_object_set_new(o, "details", details_json(d));
	}
	return o;
}

/* {"details": ..., "result": items}; takes items. */
static json_t *list_result(const zitadel_list_details *d, json_t *items)
{
	json_t *o = json_object();

	if (o == NULL) {
		json_decref(items);
		return NULL;
	}
	json_object_set_new(o, "details", list_details_json(d));
	json_object_set_new(o, "result", items);
	return o;
}

/* --all does not go with --offset or --limit. --asc needs a single page:
 * the library asks for every page with asc set (so that paging stays the
 * same from page to page) and ignoring the option would drop it silently. */
static int list_check(app *a)
{
	const options *o = a->opt;

	if ((o->given & O_ALL) && (o->given & (O_OFFSET | O_LIMIT)))
		return fail_msg(a, EXIT_USAGE,
				"--all fetches every page; it does not go "
				"with --offset or --limit");
	if ((o->given & O_ASC) && !(o->given & (O_OFFSET | O_LIMIT)))
		return fail_msg(
		    a, EXIT_USAGE,
		    "--asc orders a single page (--offset/--limit); it does "
		    "not go with every page");
	return EXIT_OK;
}

/* The page --offset/--limit ask for, or NULL for every page. */
static const zitadel_list_query *page_query(const options *o,
					    zitadel_list_query *q)
{
	q->offset = o->offset;
	q->limit = o->limit;
	q->asc = o->asc;
	return (o->given & (O_OFFSET | O_LIMIT)) ? q : NULL;
}

/* ---- secrets received ------------------------------------------------- */

/* Decide where a secret goes before the server is asked, so that it is
 * never made and then lost, nor printed by surprise. */
static int secret_prepare(app *a, secret_out *so)
{
	const options *o = a->opt;
	char msg[512];
	int rc;

	memset(so, 0, sizeof(*so));
	so->fd = -1;
	if (o->output_file == NULL && !o->show_secret)
		return fail_msg(a, EXIT_USAGE,
				"the answer holds a secret: give --output-file "
				"FILE to store it (0600) or --show-secret to "
				"print it");
	if (o->output_file != NULL && o->show_secret)
		return fail_msg(a, EXIT_USAGE,
				"give either --output-file or --show-secret");
	if (o->force && o->output_file == NULL)
		return fail_msg(a, EXIT_USAGE, "--force needs --output-file");
	if (o->output_file == NULL)
		return EXIT_OK;
	rc = secret_out_open(so, o->output_file, o->force, msg, sizeof(msg));
	if (rc != 0)
		return fail_msg(a, rc, "%s", msg);
	return EXIT_OK;
}

/* Store the secret in the prepared file. */
static int secret_store(app *a, secret_out *so, const char *data, size_t len)
{
	char msg[512];

	if (secret_out_commit(so, data, len, msg, sizeof(msg)) != 0)
		return fail_msg(a, EXIT_LOCAL, "%s", msg);
	return EXIT_OK;
}

/* The secret plus a newline, as the secret-file readers expect. */
static char *with_newline(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *line = malloc(n + 2);

	if (line != NULL) {
		memcpy(line, s, n);
		line[n] = '\n';
		line[n + 1] = '\0';
		*len = n + 1;
	}
	return line;
}

static int store_line(app *a, secret_out *so, const char *secret)
{
	size_t len = 0;
	char *line;
	int rc;

	line = with_newline(secret, &len);
	if (line == NULL)
		return fail_msg(a, EXIT_LOCAL, "out of memory");
	rc = secret_store(a, so, line, len);
	secret_free(line);
	return rc;
}

/* What a secret-making call returned: one of the three results, and views
 * into it. */
typedef struct received {
	zitadel_machine_key_added *key;
	zitadel_pat_added *pat;
	zitadel_machine_secret *secret;
	const char *id;
	const zitadel_details *details;
	const char *text; /* the secret */
	size_t len;
} received;

/* A command that receives a secret. */
typedef struct secret_command {
	zitadel_status (*make)(app *a, received *r, zitadel_error *err);
	/* takes a key or PAT back by id; NULL: the client secret */
	zitadel_status (*remove)(zitadel_ctx *ctx, const char *user_id,
				 const char *id, zitadel_details **out,
				 zitadel_error *err);
	const char *noun;          /* "key", "token": in take-back messages */
	const char *secret_what;   /* "key file": when the server sent none */
	const char *id_header;     /* "KEY_ID" */
	const char *id_name;       /* "keyId" */
	const char *secret_header; /* "TOKEN", the column under --show-secret */
	const char *secret_name;   /* "token" */
	/* the secret is a key file: stored as it is, shown as the JSON
	 * object it is or printed after the table */
	int key_file;
} secret_command;

/*
 * Take the new credential back on the server after its secret could not
 * be stored, so that nothing usable is left unowned.
 */
static void take_back(app *a, const secret_command *sc, const received *r)
{
	const char *user_id = a->opt->args[0];
	zitadel_error err = ZITADEL_ERROR_INIT;

	if (sc->remove == NULL) {
		/* the new secret replaced any earlier one, so none is left */
		if (zitadel_machine_secret_remove(a->ctx, user_id, NULL,
						  &err) == ZITADEL_OK)
			fprintf(stderr,
				"zitadelctl: %s: the new secret was removed "
				"again; the machine user now has no secret\n",
				a->call);
		else
			fprintf(stderr,
				"zitadelctl: %s: the new secret is left on "
				"the server: %s\n",
				a->call, err.message);
		return;
	}
	if (sc->remove(a->ctx, user_id, r->id, NULL, &err) == ZITADEL_OK)
		fprintf(stderr, "zitadelctl: %s: %s %s removed again\n",
			a->call, sc->noun, r->id);
	else
		fprintf(stderr,
			"zitadelctl: %s: %s %s is left on the server: %s\n",
			a->call, sc->noun, r->id, err.message);
}

/* The answer with the file's path or, under --show-secret, the secret. */
static json_t *secret_result(app *a, const secret_command *sc,
			     const received *r)
{
	const options *o = a->opt;
	json_t *j = added_result(sc->id_name, r->id, r->details);

	if (j == NULL)
		return NULL;
	if (o->output_file != NULL)
		json_object_set_new(j, "outputFile",
				    json_string(o->output_file));
	else if (!sc->key_file)
		json_object_set_new(j, sc->secret_name, json_string(r->text));
	else if (o->output == OUTPUT_JSON)
		/* the key file itself, as the object it is */
		json_object_set_new(j, sc->secret_name,
				    json_loadb(r->text, r->len, 0, NULL));
	return j;
}

static int run_secret(app *a, const secret_command *sc)
{
	const options *o = a->opt;
	zitadel_error err = ZITADEL_ERROR_INIT;
	column cols[] = {
	    {sc->id_header, sc->id_name},
	    {"CREATED", "details.creationDate"},
	    {NULL, NULL},
	    {NULL, NULL},
	};
	received r;
	secret_out so;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = secret_prepare(a, &so);
	if (rc == EXIT_OK)
		rc = app_connect(a);
	if (rc != EXIT_OK)
		goto out;
	if (sc->make(a, &r, &err) != ZITADEL_OK) {
		rc = fail(a, &err);
		goto out;
	}
	if (r.text == NULL) {
		rc = fail_msg(a, EXIT_SERVER, "the server sent no %s",
			      sc->secret_what);
		take_back(a, sc, &r);
		goto out;
	}
	if (o->output_file != NULL) {
		rc = sc->key_file ? secret_store(a, &so, r.text, r.len)
				  : store_line(a, &so, r.text);
		if (rc != EXIT_OK) {
			take_back(a, sc, &r);
			goto out;
		}
	}

	if (o->output_file != NULL) {
		cols[2].header = "OUTPUT_FILE";
		cols[2].path = "outputFile";
	} else if (!sc->key_file) {
		cols[2].header = sc->secret_header;
		cols[2].path = sc->secret_name;
	}
	rc = output(a, secret_result(a, sc, &r), cols, 0);
	if (rc == EXIT_OK && sc->key_file && o->show_secret &&
	    o->output != OUTPUT_JSON)
		printf("%s\n", r.text);
out:
	secret_out_abort(&so);
	zitadel_machine_key_added_free(r.key);
	zitadel_pat_added_free(r.pat);
	zitadel_machine_secret_free(r.secret);
	return rc;
}

/* ---- machine users ---------------------------------------------------- */

/*
 * User names, names and descriptions end up in tables, logs and consoles:
 * a control character (C0, DEL, or a C1 code point in UTF-8) could break a
 * line or send a terminal escape, so it is refused before any request.
 * The value itself is not echoed, for the same reason.
 */
static int plain_text(app *a, const char *what, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; s != NULL && *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f ||
		    (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return fail_msg(a, EXIT_USAGE,
					"%s holds a control character", what);
	return EXIT_OK;
}

/* The texts a machine user carries; username is NULL for an update. */
static int machine_texts(app *a, const char *username)
{
	const options *o = a->opt;
	int rc;

	rc = plain_text(a, "the user name", username);
	if (rc == EXIT_OK)
		rc = plain_text(a, "--name", o->name);
	if (rc == EXIT_OK)
		rc = plain_text(a, "--description", o->description);
	return rc;
}

static zitadel_status machine_add(app *a, json_t **out, zitadel_error *err)
{
	const options *o = a->opt;
	zitadel_machine_user_new req = {o->args[0], o->name, o->description,
					o->token_type, o->user_id};
	zitadel_machine_user_added *added = NULL;
	zitadel_status st;

	st = zitadel_machine_user_add(a->ctx, &req, &added, err);
	if (st == ZITADEL_OK)
		*out = added_result("userId", added->user_id, &added->details);
	zitadel_machine_user_added_free(added);
	return st;
}

int cmd_machine_add(app *a)
{
	static const column cols[] = {
	    {"USER_ID", "userId"},
	    {"SEQUENCE", "details.sequence"},
	    {"CHANGED", "details.changeDate"},
	    {"RESOURCE_OWNER", "details.resourceOwner"},
	    {NULL, NULL},
	};

	int rc;

	if (a->opt->name == NULL)
		return fail_msg(a, EXIT_USAGE, "--name NAME is required");
	rc = machine_texts(a, a->opt->args[0]);
	return rc != EXIT_OK ? rc : run(a, machine_add, cols, 0);
}

static zitadel_status machine_update(app *a, json_t **out, zitadel_error *err)
{
	const options *o = a->opt;
	zitadel_machine_user_change req = {o->name, o->description,
					   o->token_type};
	zitadel_details *d = NULL;
	zitadel_status st;

	st = zitadel_machine_user_update(a->ctx, o->args[0], &req, &d, err);
	if (st == ZITADEL_OK)
		*out = details_result(d);
	return st;
}

int cmd_machine_update(app *a)
{
	int rc;

	if (a->opt->name == NULL)
		return fail_msg(a, EXIT_USAGE, "--name NAME is required");
	rc = machine_texts(a, NULL);
	return rc != EXIT_OK ? rc : run(a, machine_update, details_cols, 0);
}

/* ---- machine keys ----------------------------------------------------- */

static zitadel_status key_make(app *a, received *r, zitadel_error *err)
{
	zitadel_machine_key_new req = {a->opt->expires, NULL};
	zitadel_status st;

	st = zitadel_machine_key_add(a->ctx, a->opt->args[0], &req, &r->key,
				     err);
	if (st == ZITADEL_OK) {
		r->id = r->key->key_id;
		r->details = &r->key->details;
		r->text = r->key->key_details;
		r->len = r->key->key_details_len;
	}
	return st;
}

static const secret_command key_add_command = {
    .make = key_make,
    .remove = zitadel_machine_key_remove,
    .noun = "key",
    .secret_what = "key file",
    .id_header = "KEY_ID",
    .id_name = "keyId",
    .secret_name = "keyDetails",
    .key_file = 1,
};

/* Only the public key is uploaded: there is no secret to handle. */
static int key_add_public(app *a)
{
	static const column cols[] = {
	    {"KEY_ID", "keyId"},
	    {"CREATED", "details.creationDate"},
	    {NULL, NULL},
	};
	const options *o = a->opt;
	zitadel_machine_key_new req = {o->expires, NULL};
	zitadel_machine_key_added *added = NULL;
	zitadel_error err = ZITADEL_ERROR_INIT;
	char *pem = NULL, msg[512];
	json_t *j;
	int rc;

	if (o->given & (O_OUTPUT_FILE | O_SHOW_SECRET | O_FORCE))
		return fail_msg(a, EXIT_USAGE,
				"with --public-key there is no secret to "
				"store or show");
	if (public_file_read(o->public_key, &pem, msg, sizeof(msg)) != 0)
		return fail_msg(a, EXIT_CONFIG, "%s", msg);
	req.public_key_pem = pem;
	rc = app_connect(a);
	if (rc == EXIT_OK &&
	    zitadel_machine_key_add(a->ctx, o->args[0], &req, &added, &err) !=
		ZITADEL_OK)
		rc = fail(a, &err);
	free(pem);
	if (rc != EXIT_OK)
		return rc;
	j = added_result("keyId", added->key_id, &added->details);
	zitadel_machine_key_added_free(added);
	return output(a, j, cols, 0);
}

int cmd_key_add(app *a)
{
	if (a->opt->public_key != NULL)
		return key_add_public(a);
	return run_secret(a, &key_add_command);
}

static zitadel_status key_get(app *a, json_t **out, zitadel_error *err)
{
	zitadel_machine_key *k = NULL;
	zitadel_status st;

	st = zitadel_machine_key_get(a->ctx, a->opt->args[0], a->opt->args[1],
				     &k, err);
	if (st == ZITADEL_OK)
		*out = key_json(k);
	zitadel_machine_key_free(k);
	return st;
}

int cmd_key_get(app *a)
{
	return run(a, key_get, key_cols, 0);
}

static zitadel_status key_list(app *a, json_t **out, zitadel_error *err)
{
	zitadel_machine_keys *l = NULL;
	zitadel_list_query q;
	zitadel_status st;
	json_t *items;
	size_t i;

	st = zitadel_machine_key_list(a->ctx, a->opt->args[0],
				      page_query(a->opt, &q), &l, err);
	if (st != ZITADEL_OK)
		return st;
	items = json_array();
	for (i = 0; items != NULL && i < l->count; i++)
		json_array_append_new(items, key_json(&l->keys[i]));
	*out = list_result(&l->details, items);
	zitadel_machine_keys_free(l);
	return ZITADEL_OK;
}

int cmd_key_list(app *a)
{
	int rc = list_check(a);

	return rc != EXIT_OK ? rc : run(a, key_list, key_cols, 1);
}

static zitadel_status key_remove(app *a, json_t **out, zitadel_error *err)
{
	zitadel_details *d = NULL;
	zitadel_status st;

	st = zitadel_machine_key_remove(a->ctx, a->opt->args[0],
					a->opt->args[1], &d, err);
	if (st == ZITADEL_OK)
		*out = details_result(d);
	return st;
}

int cmd_key_remove(app *a)
{
	return run(a, key_remove, details_cols, 0);
}

/* ---- enroll and rotate ------------------------------------------------ */

int cmd_enroll(app *a)
{
	static const column cols[] = {
	    {"USER_ID", "userId"},
	    {"KEY_ID", "keyId"},
	    {"KEY_FILE", "keyFile"},
	    {NULL, NULL},
	};
	const options *o = a->opt;
	zitadel_error err = ZITADEL_ERROR_INIT;
	char *key_id = NULL;
	struct stat st;
	json_t *j;
	int rc;

	if (!o->force && lstat(a->target_key_file, &st) == 0)
		return fail_msg(a, EXIT_EXISTS,
				"%s exists; refusing to overwrite it (use "
				"--force, or 'key rotate')",
				a->target_key_file);
	rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_machine_key_enroll(a->ctx, o->args[0], o->expires,
				       a->target_key_file, o->force, &key_id,
				       &err) != ZITADEL_OK)
		return fail(a, &err);
	j = json_pack("{s:s, s:s, s:s}", "userId", o->args[0], "keyId", key_id,
		      "keyFile", a->target_key_file);
	free(key_id);
	return output(a, j, cols, 0);
}

/* The key id in the current key file, which must be the user's. */
static int old_key_id(app *a, const char *user_id, char **out)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *k = NULL;
	int rc = EXIT_OK;

	*out = NULL;
	if (zitadel_keyfile_load(a->target_key_file, &k, &err) != ZITADEL_OK) {
		rc = fail(a, &err);
		return err.status == ZITADEL_ERR_NOMEM ? rc : EXIT_CONFIG;
	}
	if (zitadel_keyfile_get_type(k) != ZITADEL_KEYFILE_SERVICEACCOUNT ||
	    strcmp(zitadel_keyfile_subject(k), user_id) != 0)
		rc = fail_msg(a, EXIT_CONFIG,
			      "%s is not a key of user %s; nothing changed",
			      a->target_key_file, user_id);
	else if ((*out = strdup(zitadel_keyfile_key_id(k))) == NULL)
		rc = fail_msg(a, EXIT_LOCAL, "out of memory");
	zitadel_keyfile_free(k);
	return rc;
}

int cmd_key_rotate(app *a)
{
	static const column cols[] = {
	    {"USER_ID", "userId"},
	    {"KEY_ID", "keyId"},
	    {"OLD_KEY_ID", "oldKeyId"},
	    {"KEY_FILE", "keyFile"},
	    {NULL, NULL},
	};
	const options *o = a->opt;
	const char *user = o->args[0];
	zitadel_error err = ZITADEL_ERROR_INIT;
	char *old_id = NULL, *new_id = NULL;
	json_t *j;
	int rc;

	rc = old_key_id(a, user, &old_id);
	if (rc == EXIT_OK)
		rc = app_connect(a);
	if (rc != EXIT_OK)
		goto out;
	/* enroll proves the new key before it replaces the file, so a
	 * failure here leaves the old file and key as they were */
	if (zitadel_machine_key_enroll(a->ctx, user, o->expires,
				       a->target_key_file, 1, &new_id,
				       &err) != ZITADEL_OK) {
		rc = fail(a, &err);
		goto out;
	}
	if (zitadel_machine_key_remove(a->ctx, user, old_id, NULL, &err) !=
	    ZITADEL_OK) {
		fprintf(stderr,
			"zitadelctl: %s: new key %s is in %s and works, but "
			"the old key %s is still on the server: %s\n",
			a->call, new_id, a->target_key_file, old_id,
			err.message);
		rc = exit_code_for(&err);
		goto out;
	}
	j = json_pack("{s:s, s:s, s:s, s:s}", "userId", user, "keyId", new_id,
		      "oldKeyId", old_id, "keyFile", a->target_key_file);
	rc = output(a, j, cols, 0);
out:
	free(old_id);
	free(new_id);
	return rc;
}

/* ---- personal access tokens ------------------------------------------- */

static zitadel_status pat_make(app *a, received *r, zitadel_error *err)
{
	zitadel_status st;

	st = zitadel_pat_add(a->ctx, a->opt->args[0], a->opt->expires, &r->pat,
			     err);
	if (st == ZITADEL_OK) {
		r->id = r->pat->token_id;
		r->details = &r->pat->details;
		r->text = r->pat->token;
	}
	return st;
}

static const secret_command pat_add_command = {
    .make = pat_make,
    .remove = zitadel_pat_remove,
    .noun = "token",
    .secret_what = "token",
    .id_header = "TOKEN_ID",
    .id_name = "tokenId",
    .secret_header = "TOKEN",
    .secret_name = "token",
};

int cmd_pat_add(app *a)
{
	return run_secret(a, &pat_add_command);
}

static zitadel_status pat_get(app *a, json_t **out, zitadel_error *err)
{
	zitadel_pat *p = NULL;
	zitadel_status st;

	st = zitadel_pat_get(a->ctx, a->opt->args[0], a->opt->args[1], &p, err);
	if (st == ZITADEL_OK)
		*out = pat_json(p);
	zitadel_pat_free(p);
	return st;
}

int cmd_pat_get(app *a)
{
	return run(a, pat_get, pat_cols, 0);
}

static zitadel_status pat_list(app *a, json_t **out, zitadel_error *err)
{
	zitadel_list_query q;
	zitadel_pats *l = NULL;
	zitadel_status st;
	json_t *items;
	size_t i;

	st = zitadel_pat_list(a->ctx, a->opt->args[0], page_query(a->opt, &q),
			      &l, err);
	if (st != ZITADEL_OK)
		return st;
	items = json_array();
	for (i = 0; items != NULL && i < l->count; i++)
		json_array_append_new(items, pat_json(&l->pats[i]));
	*out = list_result(&l->details, items);
	zitadel_pats_free(l);
	return ZITADEL_OK;
}

int cmd_pat_list(app *a)
{
	int rc = list_check(a);

	return rc != EXIT_OK ? rc : run(a, pat_list, pat_cols, 1);
}

static zitadel_status pat_remove(app *a, json_t **out, zitadel_error *err)
{
	zitadel_details *d = NULL;
	zitadel_status st;

	st = zitadel_pat_remove(a->ctx, a->opt->args[0], a->opt->args[1], &d,
				err);
	if (st == ZITADEL_OK)
		*out = details_result(d);
	return st;
}

int cmd_pat_remove(app *a)
{
	return run(a, pat_remove, details_cols, 0);
}

/* ---- machine secret --------------------------------------------------- */

static zitadel_status secret_make(app *a, received *r, zitadel_error *err)
{
	zitadel_status st;

	st = zitadel_machine_secret_generate(a->ctx, a->opt->args[0],
					     &r->secret, err);
	if (st == ZITADEL_OK) {
		r->id = r->secret->client_id;
		r->details = &r->secret->details;
		r->text = r->secret->client_secret;
	}
	return st;
}

static const secret_command secret_generate_command = {
    .make = secret_make,
    .secret_what = "client secret",
    .id_header = "CLIENT_ID",
    .id_name = "clientId",
    .secret_header = "CLIENT_SECRET",
    .secret_name = "clientSecret",
};

int cmd_secret_generate(app *a)
{
	return run_secret(a, &secret_generate_command);
}

static zitadel_status secret_remove(app *a, json_t **out, zitadel_error *err)
{
	zitadel_details *d = NULL;
	zitadel_status st;

	st = zitadel_machine_secret_remove(a->ctx, a->opt->args[0], &d, err);
	if (st == ZITADEL_OK)
		*out = details_result(d);
	return st;
}

int cmd_secret_remove(app *a)
{
	return run(a, secret_remove, details_cols, 0);
}
