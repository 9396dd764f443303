/*
 * main.c: zitadel-credential's entry point: options, the environment, the
 * face chosen by command or by the name the program was run under, and the
 * process hardening every face shares.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "internal.h"
#include "prog.h"

/* Positional words after the options are parsed out; bounded on purpose. */
#define MAX_WORDS 16

static const char usage_text[] =
    "Usage: " ZH_PROG " [OPTIONS] COMMAND [ARGS]\n"
    "       git-credential-zitadel [OPTIONS] get|store|erase|capability\n"
    "       docker-credential-zitadel get|store|erase|list\n"
    "\n"
    "Print a Zitadel access token for a machine user, from the token cache\n"
    "when it holds one, in the protocol of the caller.\n"
    "\n"
    "Commands:\n"
    "  token                 print the access token and a newline\n"
    "  erase                 drop the cached token (a PAT: nothing to do)\n"
    "  git get|store|erase|capability\n"
    "                        git's credential-helper protocol\n"
    "  docker get|store|erase|list\n"
    "                        docker's credential-helper protocol\n"
    "  kubectl               a kubectl exec plugin (ExecCredential)\n"
    "  help, version\n"
    "\n"
    "Options (also accepted after the command):\n"
    "  --issuer URL          Zitadel instance (env ZITADEL_ISSUER)\n"
    "  --key-file FILE       machine key file (env ZITADEL_KEY_FILE)\n"
    "  --scope SCOPES        space-separated scopes\n"
    "                        (default: " ZITADEL_DEFAULT_SCOPE ")\n"
    "  --ca-file FILE        trusted CA bundle (env ZITADEL_CA_FILE)\n"
    "  --timeout SECONDS     bound on the whole token request (1-600)\n"
    "  --profile NAME        config profile (env ZITADEL_PROFILE)\n"
    "  --config FILE         config file (env ZITADEL_CONFIG)\n"
    "  --cache-dir DIR       token cache directory\n"
    "  --cache-margin SECONDS\n"
    "                        serve a cached token only while more is left\n"
    "                        (0-86400)\n"
    "  --no-cache            neither read nor write the token cache\n"
    "  -v, --verbose         debug output on stderr (never a secret)\n"
    "  -h, --help            this text\n"
    "  -V, --version         the version\n"
    "\n"
    "Options win over the environment, which wins over the config profile.\n"
    "\n"
    "Credentials (one per profile; --key-file replaces the profile's):\n"
    "  key_file, key_credential   machine key, jwt-bearer grant, cached\n"
    "  client_id with client_secret_file\n"
    "                             client_credentials grant, cached\n"
    "  pat_file                   the PAT is the token: no exchange, no\n"
    "                             cache; answered without an expiry (git:\n"
    "                             no password_expiry_utc, kubectl: no\n"
    "                             expirationTimestamp)\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  the server refused the credential (docker: any failure;\n"
    "     git: malformed protocol input)\n"
    "  2  usage error\n"
    "  3  config error, or no profile for the target\n"
    "  4  credential file error: key, PAT or client secret file\n"
    "     (missing, malformed, permissions)\n"
    "  5  network error (DNS, connect, TLS, timeout)\n"
    "  6  server error (5xx after retries, malformed response, rate limited)\n"
    "  7  local error (cache unsafe, lock timeout, I/O, out of memory,\n"
    "     libzitadel not loadable)\n";

enum {
	OPT_ISSUER = 256,
	OPT_KEY_FILE,
	OPT_SCOPE,
	OPT_CA_FILE,
	OPT_TIMEOUT,
	OPT_PROFILE,
	OPT_CONFIG,
	OPT_CACHE_DIR,
	OPT_CACHE_MARGIN,
	OPT_NO_CACHE,
};

static const struct option long_options[] = {
    {"issuer", required_argument, NULL, OPT_ISSUER},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"scope", required_argument, NULL, OPT_SCOPE},
    {"ca-file", required_argument, NULL, OPT_CA_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
    {"cache-margin", required_argument, NULL, OPT_CACHE_MARGIN},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/*
 * What stdio still holds must reach stdout, and a failure there (a full
 * disk, a closed stdout) is a failure of the run, not a silent success.
 * code is the exit status for it; an earlier failure's status is kept.
 */
static int finish_stdout(int rc, int code)
{
	int e = zt_prog_close_stdout();

	if (e == 0 || rc != ZH_EXIT_OK)
		return rc;
	fprintf(stderr, "%s: writing the output: %s\n", zh_prog, strerror(e));
	return code;
}

static int parse_seconds(const char *opt, const char *s, long min, long max,
			 long *out)
{
	char *end;
	long v;

	/* Digits only: strtol would take leading blanks and a sign. */
	errno = 0;
	v = *s >= '0' && *s <= '9' ? strtol(s, &end, 10) : -1;
	if (v < 0 || errno != 0 || *end != '\0' || v < min || v > max) {
		fprintf(stderr,
			"%s: --%s wants whole seconds from %ld to %ld\n",
			zh_prog, opt, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static void options_from_env(zh_options *o)
{
	o->issuer = secure_getenv("ZITADEL_ISSUER");
	o->key_file = secure_getenv("ZITADEL_KEY_FILE");
	o->ca_file = secure_getenv("ZITADEL_CA_FILE");
	o->profile = secure_getenv("ZITADEL_PROFILE");
	o->config = secure_getenv("ZITADEL_CONFIG");
	o->timeout_s = -1;
	o->cache_margin = -1;
}

/* An empty value in the environment or on the command line means unset,
 * so that ZITADEL_PROFILE= does not name a profile called "". */
static const char *nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/*
 * Parse options anywhere on the line; the words that are not options land
 * in words[] in order. The leading '-' in the option string collects them
 * ourselves, so POSIXLY_CORRECT cannot stop the scan at the command.
 * Returns -1 after a usage message, 0 to go on, 1 when --help or
 * --version answered already.
 */
static int parse_options(int argc, char **argv, zh_options *o, char **words,
			 int *nwords)
{
	int c;

	opterr = 0;
	*nwords = 0;
	while ((c = getopt_long(argc, argv, "-:vhV", long_options, NULL)) !=
	       -1) {
		switch (c) {
		case 1:
			if (*nwords == MAX_WORDS) {
				fprintf(stderr, "%s: too many words\n",
					zh_prog);
				return -1;
			}
			words[(*nwords)++] = optarg;
			break;
		case OPT_ISSUER:
			o->issuer = optarg;
			break;
		case OPT_KEY_FILE:
			o->key_file = optarg;
			break;
		case OPT_SCOPE:
			o->scope = optarg;
			break;
		case OPT_CA_FILE:
			o->ca_file = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_seconds("timeout", optarg, 1, 600,
					  &o->timeout_s) < 0)
				return -1;
			break;
		case OPT_PROFILE:
			o->profile = optarg;
			break;
		case OPT_CONFIG:
			o->config = optarg;
			break;
		case OPT_CACHE_DIR:
			o->cache_dir = optarg;
			break;
		case OPT_CACHE_MARGIN:
			if (parse_seconds("cache-margin", optarg, 0, 86400,
					  &o->cache_margin) < 0)
				return -1;
			break;
		case OPT_NO_CACHE:
			o->no_cache = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case 'V':
			printf("%s %s\n", ZH_PROG, ZITADEL_VERSION_STRING);
			return 1;
		case ':':
			fprintf(stderr, "%s: option %s needs a value\n",
				zh_prog, argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "%s: unknown option %s (see --help)\n",
				zh_prog, argv[optind - 1]);
			return -1;
		}
	}
	o->issuer = nonempty(o->issuer);
	o->key_file = nonempty(o->key_file);
	o->ca_file = nonempty(o->ca_file);
	o->profile = nonempty(o->profile);
	o->config = nonempty(o->config);
	o->scope = nonempty(o->scope);
	return 0;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

static int run_command(const zh_options *o, int nwords, char **words)
{
	const char *cmd = words[0];

	if (strcmp(cmd, "token") == 0)
		return zh_cmd_token(o, nwords - 1, words + 1);
	if (strcmp(cmd, "erase") == 0)
		return zh_cmd_erase(o, nwords - 1, words + 1);
	if (strcmp(cmd, "git") == 0)
		return zh_face_git(o, nwords - 1, words + 1);
	if (strcmp(cmd, "docker") == 0)
		return zh_face_docker(o, nwords - 1, words + 1);
	if (strcmp(cmd, "kubectl") == 0)
		return zh_face_kubectl(o, nwords - 1, words + 1);
	if (strcmp(cmd, "help") == 0) {
		fputs(usage_text, stdout);
		return ZH_EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("%s %s\n", ZH_PROG, ZITADEL_VERSION_STRING);
		return ZH_EXIT_OK;
	}
	fprintf(stderr, "%s: unknown command '%s' (see --help)\n", zh_prog,
		cmd);
	return ZH_EXIT_USAGE;
}

static int run(const char *name, int argc, char **argv)
{
	zh_options o;
	char *words[MAX_WORDS];
	int nwords, r;

	memset(&o, 0, sizeof(o));
	options_from_env(&o);
	r = parse_options(argc, argv, &o, words, &nwords);
	if (r != 0)
		return r < 0 ? ZH_EXIT_USAGE : ZH_EXIT_OK;
	zh_verbose = o.verbose;

	if (strcmp(name, "git-credential-zitadel") == 0)
		return zh_face_git(&o, nwords, words);
	if (strcmp(name, "docker-credential-zitadel") == 0)
		return zh_face_docker(&o, nwords, words);
	if (nwords == 0) {
		fprintf(stderr, "%s: no command given (see --help)\n", zh_prog);
		return ZH_EXIT_USAGE;
	}
	return run_command(&o, nwords, words);
}

int main(int argc, char **argv)
{
	const char *name = argc > 0 ? base_name(argv[0]) : ZH_PROG;
	int docker = strcmp(name, "docker-credential-zitadel") == 0;

	if (docker || strcmp(name, "git-credential-zitadel") == 0)
		zh_prog = name;
	if (zt_prog_std_fds_open() < 0)
		return ZH_EXIT_LOCAL;
	zt_prog_harden();
	/* docker's protocol knows exit status 1 only. */
	return finish_stdout(run(name, argc, argv),
			     docker ? ZH_EXIT_REFUSED : ZH_EXIT_LOCAL);
}
