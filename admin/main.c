/*
 * main.c: zitadelctl's command line: options (global ones anywhere on the
 * line), the command table, help texts, exit codes, and the connection to
 * the server built from options, environment and the config profile.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prog.h"
#include "zitadelctl.h"

typedef struct command {
	const char *group; /* first word */
	const char *verb;  /* second word, NULL for one-word commands */
	int min_args, max_args;
	unsigned allowed; /* O_* bits */
	int (*run)(app *a);
	const char *synopsis;
	const char *help;
} command;

#define LIST_OPTS   (O_OFFSET | O_LIMIT | O_ALL | O_ASC)
#define SECRET_OPTS (O_OUTPUT_FILE | O_SHOW_SECRET | O_FORCE)

static const command commands[] = {
    {"machine", "add", 1, 1, O_NAME | O_DESCRIPTION | O_TOKEN_TYPE | O_USER_ID,
     cmd_machine_add,
     "machine add USERNAME --name NAME [--description TEXT]\n"
     "    [--access-token-type bearer|jwt] [--user-id ID]",
     "Create a machine user (AddMachineUser)."},
    {"machine", "update", 1, 1, O_NAME | O_DESCRIPTION | O_TOKEN_TYPE,
     cmd_machine_update,
     "machine update USER_ID --name NAME [--description TEXT]\n"
     "    [--access-token-type bearer|jwt]",
     "Replace a machine user's name, description and token type\n"
     "(UpdateMachine). Every field is replaced: an omitted description is\n"
     "cleared and an omitted token type becomes bearer. An update that\n"
     "changes nothing fails with exit code 9 (COMMAND-2n8vs)."},
    {"key", "add", 1, 1, O_EXPIRES | O_PUBLIC_KEY | SECRET_OPTS, cmd_key_add,
     "key add USER_ID [--expires DATE] [--public-key FILE]\n"
     "    [--output-file FILE [--force] | --show-secret]",
     "Add a machine key (AddMachineKey). Without --public-key the server\n"
     "makes the key pair and returns the private key once, as a key file:\n"
     "name where it goes with --output-file (created 0600) or print it\n"
     "with --show-secret. With --public-key FILE (a PKIX PEM public key)\n"
     "only the public key is uploaded; prefer 'enroll'."},
    {"key", "get", 2, 2, 0, cmd_key_get, "key get USER_ID KEY_ID",
     "Show one machine key's metadata (GetMachineKeyByIDs)."},
    {"key", "list", 1, 1, LIST_OPTS, cmd_key_list,
     "key list USER_ID [--offset N --limit N [--asc] | --all]",
     "List a user's machine keys (ListMachineKeys): every page (--all, the\n"
     "default) or one page given by --offset and --limit. --asc orders\n"
     "that single page and is refused without --offset/--limit."},
    {"key", "remove", 2, 2, 0, cmd_key_remove, "key remove USER_ID KEY_ID",
     "Remove a machine key (RemoveMachineKey); it stops working at once."},
    {"key", "rotate", 1, 1, O_TARGET_KEY | O_EXPIRES, cmd_key_rotate,
     "key rotate USER_ID --key-file PATH [--expires DATE]",
     "Replace the key in the key file PATH: enroll a new key, prove it with\n"
     "a token exchange, replace the file atomically, then remove the old\n"
     "key on the server. If only that last step fails, the new file stays\n"
     "in place and the exit code says why the old key could not go."},
    {"pat", "add", 1, 1, O_EXPIRES | SECRET_OPTS, cmd_pat_add,
     "pat add USER_ID [--expires DATE]\n"
     "    [--output-file FILE [--force] | --show-secret]",
     "Add a personal access token (AddPersonalAccessToken). The token is\n"
     "shown once: it goes to --output-file (created 0600) or, with\n"
     "--show-secret, to standard output."},
    {"pat", "get", 2, 2, 0, cmd_pat_get, "pat get USER_ID TOKEN_ID",
     "Show one PAT's metadata (GetPersonalAccessTokenByIDs)."},
    {"pat", "list", 1, 1, LIST_OPTS, cmd_pat_list,
     "pat list USER_ID [--offset N --limit N [--asc] | --all]",
     "List a user's PATs (ListPersonalAccessTokens): every page (--all, the\n"
     "default) or one page given by --offset and --limit. --asc orders\n"
     "that single page and is refused without --offset/--limit."},
    {"pat", "remove", 2, 2, 0, cmd_pat_remove, "pat remove USER_ID TOKEN_ID",
     "Remove a PAT (RemovePersonalAccessToken)."},
    {"secret", "generate", 1, 1, SECRET_OPTS, cmd_secret_generate,
     "secret generate USER_ID [--output-file FILE [--force] | --show-secret]",
     "Make a new client secret for the client credentials grant\n"
     "(GenerateMachineSecret), replacing any earlier one. The secret goes\n"
     "to --output-file (created 0600) or, with --show-secret, to standard\n"
     "output; the client id is printed."},
    {"secret", "remove", 1, 1, 0, cmd_secret_remove, "secret remove USER_ID",
     "Remove the client secret (RemoveMachineSecret)."},
    {"enroll", NULL, 1, 1, O_TARGET_KEY | O_EXPIRES | O_FORCE, cmd_enroll,
     "enroll USER_ID --key-file PATH [--expires DATE] [--force]",
     "Make an RSA 2048 key pair here, upload only the public key, write the\n"
     "key file PATH (0600, Zitadel's format) and prove it with a token\n"
     "exchange. On any failure the uploaded key and the file are removed.\n"
     "PATH must not exist unless --force is given."},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
    "Global options (before or after the command):\n"
    "  --issuer URL            Zitadel instance (env ZITADEL_ISSUER)\n"
    "  --key-file FILE         your serviceaccount key (env "
    "ZITADEL_KEY_FILE);\n"
    "                          for enroll and key rotate it names the file to\n"
    "                          write, and --admin-key-file is your key\n"
    "  --admin-key-file FILE   your serviceaccount key, in every command\n"
    "  --pat-file FILE         your PAT, from a 0600 file (env "
    "ZITADEL_PAT_FILE)\n"
    "  --client-id ID --client-secret-file FILE\n"
    "                          client credentials; the secret file is 0600\n"
    "  --org ID                organisation (x-zitadel-orgid; env "
    "ZITADEL_ORG)\n"
    "  --ca-file FILE          trusted CAs, PEM (env ZITADEL_CA_FILE)\n"
    "  --config FILE           client config (default: the usual search)\n"
    "  --profile NAME          config profile for issuer, key, CA and org\n"
    "  --timeout SECONDS       bound on each call, retries included "
    "(1-600)\n"
    "  --output json|table     json for scripts; default table\n"
    "  --verbose               log requests (never a secret) to stderr\n"
    "  --help                  this text, or a command's with the command\n"
    "  --version\n"
    "DATE is YYYY-MM-DD (midnight UTC) or RFC 3339.\n"
    "A PAT or secret is never taken on the command line.\n";

static const char exit_help[] =
    "Exit codes:\n"
    "  0 success\n"
    "  1 the server refused the request (4xx not listed below)\n"
    "  2 usage: bad command line or input\n"
    "  3 config, key file or secret file unusable or missing\n"
    "  4 not found\n"
    "  5 network: DNS, connect, TLS, timeout\n"
    "  6 server error (5xx) or a malformed answer\n"
    "  7 local failure: file I/O, out of memory\n"
    "  8 permission denied or not authenticated\n"
    "  9 already exists or failed precondition (also an existing\n"
    "    --output-file or key file without --force)\n";

static void usage_all(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: zitadelctl [OPTIONS] COMMAND [ARGS]\n\n"
		   "Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fprintf(f, "  help [COMMAND]\n  version\n\n%s\n%s", global_help,
		exit_help);
}

/* A first word that names a group of commands (key, pat, ...), not a
 * one-word command such as enroll. */
static int is_group(const char *word)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (commands[i].verb != NULL &&
		    strcmp(commands[i].group, word) == 0)
			return 1;
	return 0;
}

static void usage_group(FILE *f, const char *group)
{
	size_t i;

	fprintf(f,
		"Usage: zitadelctl [OPTIONS] %s COMMAND [ARGS]\n\n"
		"Commands:\n",
		group);
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].group, group) == 0)
			fprintf(f, "  %s\n", commands[i].synopsis);
	fprintf(f,
		"\nSee zitadelctl %s COMMAND --help for one command, and "
		"zitadelctl --help\nfor the global options and exit codes.\n",
		group);
}

static void usage_command(const command *c)
{
	printf("Usage: zitadelctl [OPTIONS] %s\n\n%s\n\n%s\n%s", c->synopsis,
	       c->help, global_help, exit_help);
}

/* ---- option parsing --------------------------------------------------- */

enum {
	OPT_ISSUER = 256,
	OPT_KEY_FILE,
	OPT_ADMIN_KEY_FILE,
	OPT_PAT_FILE,
	OPT_CLIENT_ID,
	OPT_CLIENT_SECRET_FILE,
	OPT_ORG,
	OPT_CA_FILE,
	OPT_CONFIG,
	OPT_PROFILE,
	OPT_TIMEOUT,
	OPT_OUTPUT,
	OPT_VERBOSE,
	OPT_HELP,
	OPT_VERSION,
	OPT_NAME,
	OPT_DESCRIPTION,
	OPT_TOKEN_TYPE,
	OPT_USER_ID,
	OPT_EXPIRES,
	OPT_PUBLIC_KEY,
	OPT_OFFSET,
	OPT_LIMIT,
	OPT_ALL,
	OPT_ASC,
	OPT_FORCE,
	OPT_OUTPUT_FILE,
	OPT_SHOW_SECRET,
};

static const struct option long_options[] = {
    {"issuer", required_argument, NULL, OPT_ISSUER},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"admin-key-file", required_argument, NULL, OPT_ADMIN_KEY_FILE},
    {"pat-file", required_argument, NULL, OPT_PAT_FILE},
    {"client-id", required_argument, NULL, OPT_CLIENT_ID},
    {"client-secret-file", required_argument, NULL, OPT_CLIENT_SECRET_FILE},
    {"org", required_argument, NULL, OPT_ORG},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"name", required_argument, NULL, OPT_NAME},
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {"access-token-type", required_argument, NULL, OPT_TOKEN_TYPE},
    {"user-id", required_argument, NULL, OPT_USER_ID},
    {"expires", required_argument, NULL, OPT_EXPIRES},
    {"public-key", required_argument, NULL, OPT_PUBLIC_KEY},
    {"offset", required_argument, NULL, OPT_OFFSET},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"all", no_argument, NULL, OPT_ALL},
    {"asc", no_argument, NULL, OPT_ASC},
    {"force", no_argument, NULL, OPT_FORCE},
    {"output-file", required_argument, NULL, OPT_OUTPUT_FILE},
    {"show-secret", no_argument, NULL, OPT_SHOW_SECRET},
    {NULL, 0, NULL, 0},
};

/* The option's name for messages, from its O_* bit. */
static const char *bit_name(unsigned bit)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	    {O_NAME, "--name"},
	    {O_DESCRIPTION, "--description"},
	    {O_TOKEN_TYPE, "--access-token-type"},
	    {O_USER_ID, "--user-id"},
	    {O_EXPIRES, "--expires"},
	    {O_PUBLIC_KEY, "--public-key"},
	    {O_OFFSET, "--offset"},
	    {O_LIMIT, "--limit"},
	    {O_ALL, "--all"},
	    {O_ASC, "--asc"},
	    {O_FORCE, "--force"},
	    {O_OUTPUT_FILE, "--output-file"},
	    {O_SHOW_SECRET, "--show-secret"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].bit == bit)
			return names[i].name;
	return "an option";
}

static int number(const char *s, unsigned long long max,
		  unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out > max)
		return -1;
	return 0;
}

static int bad_value(const char *option, const char *value, const char *want)
{
	fprintf(stderr, "zitadelctl: %s %s: expected %s\n", option, value,
		want);
	return EXIT_USAGE;
}

/* One command-specific option. */
static int parse_command_option(options *o, int c, const char *v)
{
	unsigned long long n;

	switch (c) {
	case OPT_NAME:
		o->given |= O_NAME;
		o->name = v;
		break;
	case OPT_DESCRIPTION:
		o->given |= O_DESCRIPTION;
		o->description = v;
		break;
	case OPT_TOKEN_TYPE:
		o->given |= O_TOKEN_TYPE;
		if (strcmp(v, "bearer") == 0)
			o->token_type = ZITADEL_ACCESS_TOKEN_BEARER;
		else if (strcmp(v, "jwt") == 0)
			o->token_type = ZITADEL_ACCESS_TOKEN_JWT;
		else
			return bad_value("--access-token-type", v,
					 "bearer or jwt");
		break;
	case OPT_USER_ID:
		o->given |= O_USER_ID;
		o->user_id = v;
		break;
	case OPT_EXPIRES:
		o->given |= O_EXPIRES;
		if (date_parse(v, &o->expires) != 0 || o->expires <= 0)
			return bad_value("--expires", v,
					 "YYYY-MM-DD or an RFC 3339 time");
		break;
	case OPT_PUBLIC_KEY:
		o->given |= O_PUBLIC_KEY;
		o->public_key = v;
		break;
	case OPT_OFFSET:
		o->given |= O_OFFSET;
		if (number(v, UINT64_MAX, &n) != 0)
			return bad_value("--offset", v, "a number");
		o->offset = n;
		break;
	case OPT_LIMIT:
		o->given |= O_LIMIT;
		if (number(v, UINT32_MAX, &n) != 0 || n == 0)
			return bad_value("--limit", v, "a number from 1");
		o->limit = (uint32_t)n;
		break;
	case OPT_ALL:
		o->given |= O_ALL;
		break;
	case OPT_ASC:
		o->given |= O_ASC;
		o->asc = 1;
		break;
	case OPT_FORCE:
		o->given |= O_FORCE;
		o->force = 1;
		break;
	case OPT_OUTPUT_FILE:
		o->given |= O_OUTPUT_FILE;
		o->output_file = v;
		break;
	case OPT_SHOW_SECRET:
		o->given |= O_SHOW_SECRET;
		o->show_secret = 1;
		break;
	default:
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Options parsed; *help and *version say what was asked. */
static int parse_options(int argc, char **argv, options *o, int *help,
			 int *version)
{
	unsigned long long n;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		const char *v = optarg;

		switch (c) {
		case OPT_ISSUER:
			o->issuer = v;
			break;
		case OPT_KEY_FILE:
			o->key_file = v;
			break;
		case OPT_ADMIN_KEY_FILE:
			o->admin_key_file = v;
			break;
		case OPT_PAT_FILE:
			o->pat_file = v;
			break;
		case OPT_CLIENT_ID:
			o->client_id = v;
			break;
		case OPT_CLIENT_SECRET_FILE:
			o->client_secret_file = v;
			break;
		case OPT_ORG:
			o->org = v;
			break;
		case OPT_CA_FILE:
			o->ca_file = v;
			break;
		case OPT_CONFIG:
			o->config = v;
			break;
		case OPT_PROFILE:
			o->profile = v;
			break;
		case OPT_VERBOSE:
			o->verbose = 1;
			break;
		case OPT_HELP:
			*help = 1;
			break;
		case OPT_VERSION:
			*version = 1;
			break;
		case OPT_TIMEOUT:
			/* the same range as the config file's timeout */
			if (number(v, 600, &n) != 0 || n == 0)
				return bad_value("--timeout", v,
						 "whole seconds from 1 to 600");
			o->timeout_s = (long)n;
			break;
		case OPT_OUTPUT:
			if (strcmp(v, "json") == 0)
				o->output = OUTPUT_JSON;
			else if (strcmp(v, "table") == 0)
				o->output = OUTPUT_TABLE;
			else
				return bad_value("--output", v,
						 "json or table");
			break;
		case '?':
			if (optopt != 0)
				fprintf(stderr,
					"zitadelctl: option needs a value or "
					"is unknown: %s\n",
					argv[optind - 1]);
			else
				fprintf(stderr,
					"zitadelctl: unknown option %s\n",
					argv[optind - 1]);
			return EXIT_USAGE;
		default:
			rc = parse_command_option(o, c, v);
			if (rc != EXIT_OK)
				return rc;
		}
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	return EXIT_OK;
}

static const command *find_command(char **words, int n, int *used)
{
	size_t i;

	*used = 0;
	if (n < 1)
		return NULL;
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(commands[i].group, words[0]) != 0)
			continue;
		if (commands[i].verb == NULL) {
			*used = 1;
			return &commands[i];
		}
		if (n >= 2 && strcmp(commands[i].verb, words[1]) == 0) {
			*used = 2;
			return &commands[i];
		}
	}
	return NULL;
}

/* ---- errors and exit codes -------------------------------------------- */

int exit_code_for(const zitadel_error *err)
{
	switch (err->status) {
	case ZITADEL_OK:
		return EXIT_OK;
	case ZITADEL_ERR_INVALID_ARGUMENT:
		return EXIT_USAGE;
	case ZITADEL_ERR_KEYFILE:
	case ZITADEL_ERR_KEYFILE_PERMISSIONS:
	case ZITADEL_ERR_CONFIG:
	case ZITADEL_ERR_NOT_CONFIGURED:
	case ZITADEL_ERR_CACHE_UNSAFE:
		return EXIT_CONFIG;
	case ZITADEL_ERR_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case ZITADEL_ERR_DNS:
	case ZITADEL_ERR_CONNECT:
	case ZITADEL_ERR_TLS:
	case ZITADEL_ERR_TIMEOUT:
		return EXIT_NETWORK;
	case ZITADEL_ERR_TOO_LARGE:
	case ZITADEL_ERR_PROTOCOL:
	case ZITADEL_ERR_SERVER:
		return EXIT_SERVER;
	case ZITADEL_ERR_HTTP:
		return err->http_status >= 400 && err->http_status < 500
			   ? EXIT_REFUSED
			   : EXIT_SERVER;
	case ZITADEL_ERR_INVALID_REQUEST:
	case ZITADEL_ERR_RATE_LIMITED:
		return EXIT_REFUSED;
	case ZITADEL_ERR_UNAUTHENTICATED:
	case ZITADEL_ERR_PERMISSION_DENIED:
	case ZITADEL_ERR_ASSERTION_REJECTED:
	case ZITADEL_ERR_OAUTH:
		return EXIT_DENIED;
	case ZITADEL_ERR_ALREADY_EXISTS:
	case ZITADEL_ERR_FAILED_PRECONDITION:
		return EXIT_EXISTS;
	default:
		return EXIT_LOCAL;
	}
}

int fail(app *a, const zitadel_error *err)
{
	char extra[ZITADEL_ERROR_ID_MAX + 40] = "";
	const char *msg = err->message;
	size_t used = 0, n = a->call != NULL ? strlen(a->call) : 0;

	/* the library names some steps as the command does ("enroll: ...");
	 * say the command once */
	if (n > 0 && strncmp(msg, a->call, n) == 0 && msg[n] == ':' &&
	    msg[n + 1] == ' ')
		msg += n + 2;

	/* the status and id are what scripts branch on: make sure both
	 * appear even if the message did not carry them */
	if (err->http_status != 0 && strstr(err->message, "HTTP ") == NULL)
		used += (size_t)snprintf(extra, sizeof(extra), " (HTTP %ld)",
					 err->http_status);
	if (err->error_id[0] != '\0' &&
	    strstr(err->message, err->error_id) == NULL)
		snprintf(extra + used, sizeof(extra) - used, " [%s]",
			 err->error_id);
	fprintf(stderr, "zitadelctl: %s: %s%s\n", a->call,
		msg[0] != '\0' ? msg : zitadel_strerror(err->status), extra);
	return exit_code_for(err);
}

int fail_msg(app *a, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zitadelctl: %s: ", a->call);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* ---- connecting ------------------------------------------------------- */

static void log_stderr(void *userdata, zitadel_log_level level,
		       const char *message)
{
	(void)userdata;
	(void)level;
	fprintf(stderr, "zitadelctl: %s\n", message);
}

static const char *first(const char *a, const char *b, const char *c)
{
	if (a != NULL && *a != '\0')
		return a;
	if (b != NULL && *b != '\0')
		return b;
	return c != NULL && *c != '\0' ? c : NULL;
}

static int load_profile(app *a, const zitadel_profile **prof)
{
	zitadel_error err = ZITADEL_ERROR_INIT;

	*prof = NULL;
	if (zitadel_config_load(a->opt->config, &a->cfg, &err) != ZITADEL_OK)
		return fail(a, &err) == EXIT_LOCAL ? EXIT_LOCAL : EXIT_CONFIG;
	if (a->opt->profile != NULL) {
		*prof = zitadel_config_profile(a->cfg, a->opt->profile);
		if (*prof == NULL)
			return fail_msg(a, EXIT_CONFIG,
					"no profile \"%s\" in the config",
					a->opt->profile);
	} else {
		*prof = zitadel_config_default_profile(a->cfg);
	}
	return EXIT_OK;
}

/* The caller's credential: command line, then environment, then profile. */
static int set_credential(app *a, const zitadel_profile *p)
{
	const options *o = a->opt;
	zitadel_error err = ZITADEL_ERROR_INIT;
	const char *key, *pat, *cid, *csf;
	char *secret = NULL, msg[512];
	int given, rc;

	key = a->target_key_file != NULL
		  ? o->admin_key_file
		  : first(o->key_file, o->admin_key_file, NULL);
	given = (key != NULL) + (o->pat_file != NULL) + (o->client_id != NULL);
	if (given > 1)
		return fail_msg(a, EXIT_USAGE,
				"give only one of --key-file, --pat-file and "
				"--client-id");
	pat = o->pat_file;
	cid = o->client_id;
	csf = o->client_secret_file;
	if (given == 0) {
		key = first(getenv("ZITADEL_KEY_FILE"), NULL, NULL);
		pat = key == NULL
			  ? first(getenv("ZITADEL_PAT_FILE"), NULL, NULL)
			  : NULL;
	}
	if (given == 0 && key == NULL && pat == NULL && p != NULL) {
		key = p->key_file;
		pat = key == NULL ? p->pat_file : NULL;
		cid = key == NULL && pat == NULL ? p->client_id : NULL;
		csf = p->client_secret_file;
		if (key == NULL && pat == NULL && cid == NULL &&
		    p->key_credential != NULL) {
			rc = zitadel_keyfile_load_credential(
			    p->key_credential, &a->caller_key, &err);
			if (rc != ZITADEL_OK)
				return fail(a, &err);
			if (zitadel_ctx_set_key(a->ctx, a->caller_key, &err) !=
			    ZITADEL_OK)
				return fail(a, &err);
			return EXIT_OK;
		}
	}

	if (key != NULL) {
		/* any failure to use one's own key file is a credential
		 * problem, whatever the library's class for it */
		if (zitadel_keyfile_load(key, &a->caller_key, &err) !=
			ZITADEL_OK ||
		    zitadel_ctx_set_key(a->ctx, a->caller_key, &err) !=
			ZITADEL_OK)
			return fail(a, &err) == EXIT_LOCAL &&
				       err.status == ZITADEL_ERR_NOMEM
				   ? EXIT_LOCAL
				   : EXIT_CONFIG;
		return EXIT_OK;
	}
	if (pat == NULL && cid == NULL)
		return fail_msg(
		    a, EXIT_CONFIG,
		    "no credential: give --key-file, --pat-file or "
		    "--client-id with --client-secret-file (or "
		    "ZITADEL_KEY_FILE, ZITADEL_PAT_FILE, a profile)");
	if (cid != NULL && csf == NULL)
		return fail_msg(a, EXIT_USAGE,
				"--client-id needs --client-secret-file");
	if (secret_file_read(pat != NULL ? pat : csf, &secret, msg,
			     sizeof(msg)) != 0)
		return fail_msg(a, EXIT_CONFIG, "%s", msg);
	if (pat != NULL)
		rc = zitadel_ctx_set_pat(a->ctx, secret, &err);
	else
		rc = zitadel_ctx_set_client_secret(a->ctx, cid, secret, &err);
	secret_free(secret);
	return rc == ZITADEL_OK ? EXIT_OK : fail(a, &err);
}

int app_connect(app *a)
{
	const options *o = a->opt;
	zitadel_error err = ZITADEL_ERROR_INIT;
	const zitadel_profile *p = NULL;
	const char *issuer, *ca, *org;
	long timeout_ms;
	int rc;

	rc = load_profile(a, &p);
	if (rc != EXIT_OK)
		return rc;
	issuer =
	    first(o->issuer, getenv("ZITADEL_ISSUER"), p ? p->issuer : NULL);
	ca =
	    first(o->ca_file, getenv("ZITADEL_CA_FILE"), p ? p->ca_file : NULL);
	org = first(o->org, getenv("ZITADEL_ORG"), p ? p->org : NULL);
	if (issuer == NULL)
		return fail_msg(a, EXIT_CONFIG,
				"no issuer: give --issuer, set ZITADEL_ISSUER "
				"or use a config profile");

	if (zitadel_ctx_new(issuer, &a->ctx, &err) != ZITADEL_OK)
		return fail(a, &err) == EXIT_USAGE ? EXIT_CONFIG
						   : exit_code_for(&err);
	zitadel_ctx_set_log(a->ctx, log_stderr, NULL,
			    o->verbose ? ZITADEL_LOG_DEBUG
				       : ZITADEL_LOG_WARNING);
	timeout_ms =
	    o->timeout_s > 0 ? o->timeout_s * 1000 : (p ? p->timeout_ms : 0);
	zitadel_ctx_set_timeouts(a->ctx, p ? p->connect_timeout_ms : 0,
				 timeout_ms);
	/* an admin tool makes few calls: keep no tokens on disk */
	if (zitadel_ctx_set_cache(a->ctx, NULL, 0, &err) != ZITADEL_OK ||
	    (ca != NULL &&
	     zitadel_ctx_set_ca_file(a->ctx, ca, &err) != ZITADEL_OK) ||
	    (org != NULL &&
	     zitadel_ctx_set_org(a->ctx, org, &err) != ZITADEL_OK)) {
		rc = fail(a, &err);
		return rc == EXIT_USAGE ? EXIT_CONFIG : rc;
	}
	return set_credential(a, p);
}

/* ---- main ------------------------------------------------------------- */

/* What stdio still holds must reach stdout; a full disk or a closed stdout
 * fails the run. An earlier failure's exit code is kept. */
static int finish_stdout(int rc)
{
	int e = zt_prog_close_stdout();

	if (e == 0 || rc != EXIT_OK)
		return rc;
	fprintf(stderr, "zitadelctl: writing the output: %s\n", strerror(e));
	return EXIT_LOCAL;
}

static int help_for(char **words, int n)
{
	const command *c;
	int used;

	if (n == 0) {
		usage_all(stdout);
		return EXIT_OK;
	}
	if (n == 1 && is_group(words[0])) {
		usage_group(stdout, words[0]);
		return EXIT_OK;
	}
	c = find_command(words, n, &used);
	if (c == NULL) {
		fprintf(stderr, "zitadelctl: no command \"%s%s%s\"\n", words[0],
			n > 1 ? " " : "", n > 1 ? words[1] : "");
		return EXIT_USAGE;
	}
	usage_command(c);
	return EXIT_OK;
}

/* Options the command does not take, and argument counts. */
static int check_command(const command *c, const options *o, int nargs,
			 const char *call)
{
	unsigned extra = o->given & ~c->allowed, bit;

	for (bit = 1; extra != 0; bit <<= 1)
		if (extra & bit) {
			fprintf(stderr,
				"zitadelctl: %s: %s does not apply here; see "
				"zitadelctl %s%s%s --help\n",
				call, bit_name(bit), c->group,
				c->verb ? " " : "", c->verb ? c->verb : "");
			return EXIT_USAGE;
		}
	if (nargs < c->min_args || nargs > c->max_args) {
		fprintf(stderr,
			"zitadelctl: %s: wrong number of arguments; see "
			"zitadelctl %s --help\n",
			call, call);
		return EXIT_USAGE;
	}
	if ((c->allowed & O_TARGET_KEY) && o->key_file == NULL) {
		fprintf(stderr, "zitadelctl: %s: --key-file PATH is required\n",
			call);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int run(int argc, char **argv)
{
	options o;
	app a;
	const command *c;
	char call[64];
	int help = 0, version = 0, used, rc;

	memset(&o, 0, sizeof(o));
	memset(&a, 0, sizeof(a));
	a.opt = &o;
	rc = parse_options(argc, argv, &o, &help, &version);
	if (rc != EXIT_OK)
		return rc;
	if (version || (o.nargs > 0 && strcmp(o.args[0], "version") == 0)) {
		printf("zitadelctl %s\n", ZITADEL_VERSION_STRING);
		return EXIT_OK;
	}
	if (o.nargs > 0 && strcmp(o.args[0], "help") == 0)
		return help_for(o.args + 1, o.nargs - 1);
	if (o.nargs == 0 && help) {
		usage_all(stdout);
		return EXIT_OK;
	}
	if (o.nargs == 0) {
		fprintf(
		    stderr,
		    "zitadelctl: no command given; see zitadelctl --help\n");
		return EXIT_USAGE;
	}
	c = find_command(o.args, o.nargs, &used);
	if (c == NULL && o.nargs == 1 && is_group(o.args[0])) {
		if (help) {
			usage_group(stdout, o.args[0]);
			return EXIT_OK;
		}
		fprintf(stderr, "zitadelctl: %s: which command?\n\n",
			o.args[0]);
		usage_group(stderr, o.args[0]);
		return EXIT_USAGE;
	}
	if (c == NULL) {
		fprintf(stderr,
			"zitadelctl: unknown command \"%s%s%s\"; see "
			"zitadelctl --help\n",
			o.args[0], o.nargs > 1 ? " " : "",
			o.nargs > 1 ? o.args[1] : "");
		return EXIT_USAGE;
	}
	if (help) {
		usage_command(c);
		return EXIT_OK;
	}
	snprintf(call, sizeof(call), "%s%s%s", c->group, c->verb ? " " : "",
		 c->verb ? c->verb : "");
	a.call = call;
	o.args += used;
	o.nargs -= used;
	rc = check_command(c, &o, o.nargs, call);
	if (rc != EXIT_OK)
		return rc;
	if (c->allowed & O_TARGET_KEY)
		a.target_key_file = o.key_file;

	rc = c->run(&a);
	zitadel_ctx_free(a.ctx);
	zitadel_keyfile_free(a.caller_key);
	zitadel_config_free(a.cfg);
	return rc;
}

int main(int argc, char **argv)
{
	if (zt_prog_std_fds_open() < 0)
		return EXIT_LOCAL;
	zt_prog_harden();
	return finish_stdout(run(argc, argv));
}
