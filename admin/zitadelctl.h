/*
 * zitadelctl.h: what the admin tool's files share: parsed options, the exit
 * codes, output helpers and the secret-file helpers.
 */
#ifndef ZITADELCTL_H
#define ZITADELCTL_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "zitadel.h"

/* Exit codes, one per class of failure (documented in --help and
 * zitadelctl(1)). */
enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1,   /* the server refused (4xx not named below) */
	EXIT_USAGE = 2,     /* bad command line or input */
	EXIT_CONFIG = 3,    /* config, key or secret file */
	EXIT_NOT_FOUND = 4, /* 404 */
	EXIT_NETWORK = 5,   /* DNS, connect, TLS, timeout */
	EXIT_SERVER = 6,    /* 5xx or a malformed answer */
	EXIT_LOCAL = 7,     /* local I/O, out of memory */
	EXIT_DENIED = 8,    /* 401, 403, credential refused */
	EXIT_EXISTS = 9,    /* already exists, failed precondition */
};

enum output_format { OUTPUT_TABLE = 0, OUTPUT_JSON = 1 };

/* Per-command option bits: a command names those it accepts. */
enum {
	O_NAME = 1u << 0,
	O_DESCRIPTION = 1u << 1,
	O_TOKEN_TYPE = 1u << 2,
	O_USER_ID = 1u << 3,
	O_EXPIRES = 1u << 4,
	O_PUBLIC_KEY = 1u << 5,
	O_OFFSET = 1u << 6,
	O_LIMIT = 1u << 7,
	O_ALL = 1u << 8,
	O_ASC = 1u << 9,
	O_FORCE = 1u << 10,
	O_OUTPUT_FILE = 1u << 11,
	O_SHOW_SECRET = 1u << 12,
	O_TARGET_KEY = 1u << 13, /* --key-file names the file to write */
};

typedef struct options {
	/* global */
	const char *issuer;
	const char *key_file; /* the caller's key, or the target for enroll */
	const char *admin_key_file;
	const char *pat_file;
	const char *client_id;
	const char *client_secret_file;
	const char *org;
	const char *ca_file;
	const char *config;
	const char *profile;
	long timeout_s;
	int output;
	int verbose;

	/* per command */
	unsigned given; /* O_* bits seen */
	const char *name;
	const char *description;
	zitadel_access_token_type token_type;
	const char *user_id;
	time_t expires;
	const char *public_key;
	uint64_t offset;
	uint32_t limit;
	int asc;
	int force;
	const char *output_file;
	int show_secret;

	char **args; /* positional arguments after the command words */
	int nargs;
} options;

typedef struct app {
	options *opt;
	const char *call; /* "key add": prefix of error lines */
	zitadel_ctx *ctx;
	zitadel_config *cfg;
	zitadel_keyfile *caller_key;
	const char *target_key_file; /* enroll and rotate */
} app;

/* main.c */
int app_connect(app *a);
/* Print "zitadelctl: <call>: <message>" and return the exit code. */
int fail(app *a, const zitadel_error *err);
int fail_msg(app *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int exit_code_for(const zitadel_error *err);

/* commands.c */
int cmd_machine_add(app *a);
int cmd_machine_update(app *a);
int cmd_key_add(app *a);
int cmd_key_get(app *a);
int cmd_key_list(app *a);
int cmd_key_remove(app *a);
int cmd_key_rotate(app *a);
int cmd_pat_add(app *a);
int cmd_pat_get(app *a);
int cmd_pat_list(app *a);
int cmd_pat_remove(app *a);
int cmd_secret_generate(app *a);
int cmd_secret_remove(app *a);
int cmd_enroll(app *a);

/* output.c: a column of a table, read from a dotted path in each row */
typedef struct column {
	const char *header;
	const char *path;
} column;

json_t *details_json(const zitadel_details *d);
json_t *list_details_json(const zitadel_list_details *d);
json_t *key_json(const zitadel_machine_key *k);
json_t *pat_json(const zitadel_pat *p);
/* Print obj as JSON, or as a table: one row, or a row per element of
 * obj.result when list is set. Takes the reference. */
int output(app *a, json_t *obj, const column *cols, int list);

/* files.c */
/* Read a secret (PAT, client secret) from a file that only the owner may
 * read; one trailing newline is dropped. Free with secret_free. */
int secret_file_read(const char *path, char **out, char *msg, size_t size);
void secret_free(char *s);
/* Read a small public file (a PEM public key). */
int public_file_read(const char *path, char **out, char *msg, size_t size);

/* A file for a received secret: created 0600 next to the target before the
 * server is asked, filled and moved into place afterwards. */
typedef struct secret_out {
	char *path;
	char *tmp;
	int fd;
	int force;
} secret_out;

int secret_out_open(secret_out *so, const char *path, int force, char *msg,
		    size_t size);
int secret_out_commit(secret_out *so, const char *data, size_t len, char *msg,
		      size_t size);
void secret_out_abort(secret_out *so);

/* DATE: YYYY-MM-DD (midnight UTC) or RFC 3339. 0 on success. */
int date_parse(const char *s, time_t *out);

#endif /* ZITADELCTL_H */
