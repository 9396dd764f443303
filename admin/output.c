/*
 * output.c: results as JSON (the API's lowerCamelCase names, one object per
 * call) or as an aligned table with a header row.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zitadelctl.h"

/* Set when value is not NULL; jansson steals the new reference. */
static void put_str(json_t *obj, const char *name, const char *value)
{
	if (value != NULL)
		json_object_set_new(obj, name, json_string(value));
}

/* uint64 goes out as a string, as protojson writes it. */
static void put_u64(json_t *obj, const char *name, uint64_t v)
{
	char buf[32];

	if (v == 0)
		return;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	json_object_set_new(obj, name, json_string(buf));
}

json_t *details_json(const zitadel_details *d)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	put_u64(o, "sequence", d->sequence);
	put_str(o, "creationDate", d->creation_date);
	put_str(o, "changeDate", d->change_date);
	put_str(o, "resourceOwner", d->resource_owner);
	return o;
}

json_t *list_details_json(const zitadel_list_details *d)
{
	json_t *o = json_object();
	char buf[32];

	if (o == NULL)
		return NULL;
	/* unlike the API, say 0 out loud: scripts read it */
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)d->total_result);
	json_object_set_new(o, "totalResult", json_string(buf));
	put_u64(o, "processedSequence", d->processed_sequence);
	put_str(o, "viewTimestamp", d->view_timestamp);
	return o;
}

json_t *key_json(const zitadel_machine_key *k)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	put_str(o, "id", k->id);
	json_object_set_new(o, "details", details_json(&k->details));
	put_str(o, "type",
		k->type == 1 ? "KEY_TYPE_JSON" : "KEY_TYPE_UNSPECIFIED");
	put_str(o, "expirationDate", k->expiration_date);
	return o;
}

json_t *pat_json(const zitadel_pat *p)
{
	json_t *o = json_object(), *scopes = json_array();
	size_t i;

	if (o == NULL || scopes == NULL) {
		json_decref(o);
		json_decref(scopes);
		return NULL;
	}
	put_str(o, "id", p->id);
	json_object_set_new(o, "details", details_json(&p->details));
	put_str(o, "expirationDate", p->expiration_date);
	for (i = 0; i < p->scope_count; i++)
		json_array_append_new(scopes, json_string(p->scopes[i]));
	json_object_set_new(o, "scopes", scopes);
	return o;
}

/* The cell text for a dotted path in row; "-" when absent. */
static char *cell(json_t *row, const char *path)
{
	char key[64], *text = NULL;
	const char *dot;
	json_t *v = row;
	size_t i, n;

	while (v != NULL && (dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n >= sizeof(key))
			return strdup("-");
		memcpy(key, path, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		path = dot + 1;
	}
	v = json_object_get(v, path);
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		if (asprintf(&text, "%lld", (long long)json_integer_value(v)) <
		    0)
			return NULL;
		return text;
	}
	if (json_is_array(v) && json_array_size(v) > 0) {
		n = json_array_size(v);
		for (i = 0; i < n; i++) {
			char *prev = text;
			const char *s = json_string_value(json_array_get(v, i));

			if (asprintf(&text, "%s%s%s", prev ? prev : "",
				     prev ? "," : "", s ? s : "?") < 0)
				text = NULL;
			free(prev);
			if (text == NULL)
				return NULL;
		}
		return text;
	}
	return strdup("-");
}

static int print_table(json_t *rows, const column *cols)
{
	size_t ncols = 0, nrows = json_array_size(rows), r, c, *width;
	char **cells;

	while (cols[ncols].header != NULL)
		ncols++;
	width = calloc(ncols, sizeof(*width));
	cells = calloc((nrows + 1) * ncols, sizeof(*cells));
	if (width == NULL || cells == NULL) {
		free(width);
		free(cells);
		return -1;
	}
	for (c = 0; c < ncols; c++) {
		cells[c] = strdup(cols[c].header);
		for (r = 0; r < nrows; r++)
			cells[(r + 1) * ncols + c] =
			    cell(json_array_get(rows, r), cols[c].path);
	}
	for (r = 0; r < (nrows + 1) * ncols; r++)
		if (cells[r] != NULL && strlen(cells[r]) > width[r % ncols])
			width[r % ncols] = strlen(cells[r]);
	for (r = 0; r <= nrows; r++)
		for (c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];

			if (c + 1 < ncols)
				printf("%-*s  ", (int)width[c], s ? s : "?");
			else
				printf("%s\n", s ? s : "?");
		}
	for (r = 0; r < (nrows + 1) * ncols; r++)
		free(cells[r]);
	free(cells);
	free(width);
	return 0;
}

int output(app *a, json_t *obj, const column *cols, int list)
{
	json_t *rows;
	int rc = 0;

	if (obj == NULL) {
		fprintf(stderr, "zitadelctl: %s: out of memory\n", a->call);
		return EXIT_LOCAL;
	}
	if (a->opt->output == OUTPUT_JSON) {
		if (json_dumpf(obj, stdout, JSON_INDENT(2)) != 0)
			rc = -1;
		fputc('\n', stdout);
	} else if (list) {
		rc = print_table(json_object_get(obj, "result"), cols);
	} else {
		rows = json_pack("[O]", obj);
		rc = rows != NULL ? print_table(rows, cols) : -1;
		json_decref(rows);
	}
	json_decref(obj);
	errno = 0;
	if (rc != 0 || fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "zitadelctl: %s: writing the output: %s\n",
			a->call, errno != 0 ? strerror(errno) : "failed");
		return EXIT_LOCAL;
	}
	return EXIT_OK;
}
