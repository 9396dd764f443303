/*
 * commands.c: one function per zitadelctl command. Each checks its input,
 * connects, makes its call and prints the result; secrets received go only
 * where the user said (--output-file or --show-secret).
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

/* {"details": ...} for update and the removals. */
static int print_details(app *a, zitadel_details *d)
{
	json_t *o = json_object();

	if (o != NULL)
		json_object_set_new(o, "details", details_json(d));
	zitadel_details_free(d);
	return output(a, o, details_cols, 0);
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

/*
 * Store the secret in the prepared file. On failure the caller takes the
 * new credential back on the server, so nothing usable is left unowned.
 */
static int secret_store(app *a, secret_out *so, const char *data, size_t len)
{
	char msg[512];

	if (secret_out_commit(so, data, len, msg, sizeof(msg)) != 0)
		return fail_msg(a, EXIT_LOCAL, "%s", msg);
	return EXIT_OK;
}

/* Put the secret (shown) or the file's path into the result. */
static void secret_result(app *a, json_t *o, const char *name,
			  const char *value)
{
	if (a->opt->show_secret)
		json_object_set_new(o, name, json_string(value));
	else
		json_object_set_new(o, "outputFile",
				    json_string(a->opt->output_file));
}

/* ---- machine users ---------------------------------------------------- */

int cmd_machine_add(app *a)
{
	static const column cols[] = {
	    {"USER_ID", "userId"},
	    {"SEQUENCE", "details.sequence"},
	    {"CHANGED", "details.changeDate"},
	    {"RESOURCE_OWNER", "details.resourceOwner"},
	    {NULL, NULL},
	};
	const options *o = a->opt;
	zitadel_machine_user_new req = {o->args[0], o->name, o->description,
					o->token_type, o->user_id};
	zitadel_machine_user_added *added = NULL;
	zitadel_error err = ZITADEL_ERROR_INIT;
	json_t *j;
	int rc;

	if (o->name == NULL)
		return fail_msg(a, EXIT_USAGE, "--name NAME is required");
	rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_machine_user_add(a->ctx, &req, &added, &err) != ZITADEL_OK)
		return fail(a, &err);
	j = json_object();
	if (j != NULL) {
		json_object_set_new(j, "userId", json_string(added->user_id));
		json_object_set_new(j, "details",
				    details_json(&added->details));
	}
	zitadel_machine_user_added_free(added);
	return output(a, j, cols, 0);
}

int cmd_machine_update(app *a)
{
	const options *o = a->opt;
	zitadel_machine_user_change req = {o->name, o->description,
					   o->token_type};
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_details *d = NULL;
	int rc;

	if (o->name == NULL)
		return fail_msg(a, EXIT_USAGE, "--name NAME is required");
	rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_machine_user_update(a->ctx, o->args[0], &req, &d, &err) !=
	    ZITADEL_OK)
		return fail(a, &err);
	return print_details(a, d);
}

/* ---- machine keys ----------------------------------------------------- */

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
	j = json_object();
	if (j != NULL) {
		json_object_set_new(j, "keyId", json_string(added->key_id));
		json_object_set_new(j, "details",
				    details_json(&added->details));
	}
	zitadel_machine_key_added_free(added);
	return output(a, j, cols, 0);
}

/* Take a just-made key back after its key file could not be stored. */
static void key_take_back(app *a, const char *user_id, const char *key_id)
{
	zitadel_error err = ZITADEL_ERROR_INIT;

	if (zitadel_machine_key_remove(a->ctx, user_id, key_id, NULL, &err) ==
	    ZITADEL_OK)
		fprintf(stderr, "zitadelctl: %s: key %s removed again\n",
			a->call, key_id);
	else
		fprintf(stderr,
			"zitadelctl: %s: key %s is left on the server: %s\n",
			a->call, key_id, err.message);
}

int cmd_key_add(app *a)
{
	static const column to_file[] = {
	    {"KEY_ID", "keyId"},
	    {"CREATED", "details.creationDate"},
	    {"OUTPUT_FILE", "outputFile"},
	    {NULL, NULL},
	};
	static const column shown[] = {
	    {"KEY_ID", "keyId"},
	    {"CREATED", "details.creationDate"},
	    {NULL, NULL},
	};
	const options *o = a->opt;
	zitadel_machine_key_new req = {o->expires, NULL};
	zitadel_machine_key_added *added = NULL;
	zitadel_error err = ZITADEL_ERROR_INIT;
	secret_out so;
	json_t *j = NULL;
	int rc;

	if (o->public_key != NULL)
		return key_add_public(a);
	rc = secret_prepare(a, &so);
	if (rc == EXIT_OK)
		rc = app_connect(a);
	if (rc != EXIT_OK)
		goto out;
	if (zitadel_machine_key_add(a->ctx, o->args[0], &req, &added, &err) !=
	    ZITADEL_OK) {
		rc = fail(a, &err);
		goto out;
	}
	if (added->key_details == NULL) {
		rc = fail_msg(a, EXIT_SERVER, "the server sent no key file");
		key_take_back(a, o->args[0], added->key_id);
		goto out;
	}
	if (o->output_file != NULL &&
	    (rc = secret_store(a, &so, added->key_details,
			       added->key_details_len)) != EXIT_OK) {
		key_take_back(a, o->args[0], added->key_id);
		goto out;
	}

	j = json_object();
	if (j != NULL) {
		json_object_set_new(j, "keyId", json_string(added->key_id));
		json_object_set_new(j, "details",
				    details_json(&added->details));
		if (o->output_file != NULL)
			secret_result(a, j, NULL, NULL);
	}
	if (o->show_secret && o->output == OUTPUT_JSON && j != NULL)
		/* the key file itself, as the object it is */
		json_object_set_new(j, "keyDetails",
				    json_loadb(added->key_details,
					       added->key_details_len, 0,
					       NULL));
	rc = output(a, j, o->show_secret ? shown : to_file, 0);
	if (rc == EXIT_OK && o->show_secret && o->output != OUTPUT_JSON)
		printf("%s\n", added->key_details);
	j = NULL;
out:
	secret_out_abort(&so);
	json_decref(j);
	zitadel_machine_key_added_free(added);
	return rc;
}

int cmd_key_get(app *a)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_machine_key *k = NULL;
	json_t *j;
	int rc;

	rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_machine_key_get(a->ctx, a->opt->args[0], a->opt->args[1],
				    &k, &err) != ZITADEL_OK)
		return fail(a, &err);
	j = key_json(k);
	zitadel_machine_key_free(k);
	return output(a, j, key_cols, 0);
}

/* One page from --offset/--limit, or every page. */
static int list_query(app *a, zitadel_list_query *q, int *all)
{
	const options *o = a->opt;

	*all = !(o->given & (O_OFFSET | O_LIMIT));
	if ((o->given & O_ALL) && (o->given & (O_OFFSET | O_LIMIT)))
		return fail_msg(a, EXIT_USAGE,
				"--all fetches every page; it does not go "
				"with --offset or --limit");
	q->offset = o->offset;
	q->limit = o->limit;
	q->asc = o->asc;
	return EXIT_OK;
}

int cmd_key_list(app *a)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_machine_keys *l = NULL;
	zitadel_list_query q;
	json_t *j, *arr;
	size_t i;
	int rc, all;

	rc = list_query(a, &q, &all);
	if (rc == EXIT_OK)
		rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_machine_key_list(a->ctx, a->opt->args[0], all ? NULL : &q,
				     &l, &err) != ZITADEL_OK)
		return fail(a, &err);
	j = json_object();
	arr = json_array();
	for (i = 0; arr != NULL && i < l->count; i++)
		json_array_append_new(arr, key_json(&l->keys[i]));
	if (j != NULL) {
		json_object_set_new(j, "details",
				    list_details_json(&l->details));
		json_object_set_new(j, "result", arr);
	}
	zitadel_machine_keys_free(l);
	return output(a, j, key_cols, 1);
}

int cmd_key_remove(app *a)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_details *d = NULL;
	int rc;

	rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_machine_key_remove(a->ctx, a->opt->args[0], a->opt->args[1],
				       &d, &err) != ZITADEL_OK)
		return fail(a, &err);
	return print_details(a, d);
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

static void pat_take_back(app *a, const char *user_id, const char *token_id)
{
	zitadel_error err = ZITADEL_ERROR_INIT;

	if (zitadel_pat_remove(a->ctx, user_id, token_id, NULL, &err) ==
	    ZITADEL_OK)
		fprintf(stderr, "zitadelctl: %s: token %s removed again\n",
			a->call, token_id);
	else
		fprintf(stderr,
			"zitadelctl: %s: token %s is left on the server: %s\n",
			a->call, token_id, err.message);
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

int cmd_pat_add(app *a)
{
	static const column to_file[] = {
	    {"TOKEN_ID", "tokenId"},
	    {"CREATED", "details.creationDate"},
	    {"OUTPUT_FILE", "outputFile"},
	    {NULL, NULL},
	};
	static const column shown[] = {
	    {"TOKEN_ID", "tokenId"},
	    {"CREATED", "details.creationDate"},
	    {"TOKEN", "token"},
	    {NULL, NULL},
	};
	const options *o = a->opt;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_pat_added *added = NULL;
	secret_out so;
	json_t *j;
	int rc;

	rc = secret_prepare(a, &so);
	if (rc == EXIT_OK)
		rc = app_connect(a);
	if (rc != EXIT_OK)
		goto out;
	if (zitadel_pat_add(a->ctx, o->args[0], o->expires, &added, &err) !=
	    ZITADEL_OK) {
		rc = fail(a, &err);
		goto out;
	}
	if (o->output_file != NULL &&
	    (rc = store_line(a, &so, added->token)) != EXIT_OK) {
		pat_take_back(a, o->args[0], added->token_id);
		goto out;
	}
	j = json_object();
	if (j != NULL) {
		json_object_set_new(j, "tokenId", json_string(added->token_id));
		json_object_set_new(j, "details",
				    details_json(&added->details));
		secret_result(a, j, "token", added->token);
	}
	rc = output(a, j, o->show_secret ? shown : to_file, 0);
out:
	secret_out_abort(&so);
	zitadel_pat_added_free(added);
	return rc;
}

int cmd_pat_get(app *a)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_pat *p = NULL;
	json_t *j;
	int rc;

	rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_pat_get(a->ctx, a->opt->args[0], a->opt->args[1], &p,
			    &err) != ZITADEL_OK)
		return fail(a, &err);
	j = pat_json(p);
	zitadel_pat_free(p);
	return output(a, j, pat_cols, 0);
}

int cmd_pat_list(app *a)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_pats *l = NULL;
	zitadel_list_query q;
	json_t *j, *arr;
	size_t i;
	int rc, all;

	rc = list_query(a, &q, &all);
	if (rc == EXIT_OK)
		rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_pat_list(a->ctx, a->opt->args[0], all ? NULL : &q, &l,
			     &err) != ZITADEL_OK)
		return fail(a, &err);
	j = json_object();
	arr = json_array();
	for (i = 0; arr != NULL && i < l->count; i++)
		json_array_append_new(arr, pat_json(&l->pats[i]));
	if (j != NULL) {
		json_object_set_new(j, "details",
				    list_details_json(&l->details));
		json_object_set_new(j, "result", arr);
	}
	zitadel_pats_free(l);
	return output(a, j, pat_cols, 1);
}

int cmd_pat_remove(app *a)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_details *d = NULL;
	int rc;

	rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_pat_remove(a->ctx, a->opt->args[0], a->opt->args[1], &d,
			       &err) != ZITADEL_OK)
		return fail(a, &err);
	return print_details(a, d);
}

/* ---- machine secret --------------------------------------------------- */

int cmd_secret_generate(app *a)
{
	static const column to_file[] = {
	    {"CLIENT_ID", "clientId"},
	    {"CREATED", "details.creationDate"},
	    {"OUTPUT_FILE", "outputFile"},
	    {NULL, NULL},
	};
	static const column shown[] = {
	    {"CLIENT_ID", "clientId"},
	    {"CREATED", "details.creationDate"},
	    {"CLIENT_SECRET", "clientSecret"},
	    {NULL, NULL},
	};
	const options *o = a->opt;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_machine_secret *s = NULL;
	secret_out so;
	json_t *j;
	int rc;

	rc = secret_prepare(a, &so);
	if (rc == EXIT_OK)
		rc = app_connect(a);
	if (rc != EXIT_OK)
		goto out;
	if (zitadel_machine_secret_generate(a->ctx, o->args[0], &s, &err) !=
	    ZITADEL_OK) {
		rc = fail(a, &err);
		goto out;
	}
	if (o->output_file != NULL &&
	    (rc = store_line(a, &so, s->client_secret)) != EXIT_OK) {
		zitadel_error rm = ZITADEL_ERROR_INIT;

		if (zitadel_machine_secret_remove(a->ctx, o->args[0], NULL,
						  &rm) != ZITADEL_OK)
			fprintf(stderr,
				"zitadelctl: %s: the new secret is left on "
				"the server: %s\n",
				a->call, rm.message);
		goto out;
	}
	j = json_object();
	if (j != NULL) {
		json_object_set_new(j, "clientId", json_string(s->client_id));
		json_object_set_new(j, "details", details_json(&s->details));
		secret_result(a, j, "clientSecret", s->client_secret);
	}
	rc = output(a, j, o->show_secret ? shown : to_file, 0);
out:
	secret_out_abort(&so);
	zitadel_machine_secret_free(s);
	return rc;
}

int cmd_secret_remove(app *a)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_details *d = NULL;
	int rc;

	rc = app_connect(a);
	if (rc != EXIT_OK)
		return rc;
	if (zitadel_machine_secret_remove(a->ctx, a->opt->args[0], &d, &err) !=
	    ZITADEL_OK)
		return fail(a, &err);
	return print_details(a, d);
}
