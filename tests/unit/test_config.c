/*
 * test_config.c: the client config (src/config.c). A table of config texts,
 * each with the status and "file:line: phrase" it must produce; valid files
 * with every key; the order in which files override each other; profile
 * matching for git, docker and kubectl.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

#define GOOD_PROFILE                                                           \
	"[profile work]\n"                                                     \
	"issuer = https://id.example.com\n"                                    \
	"key_file = /etc/zitadel/work.json\n"

struct error_case {
	const char *text;
	zitadel_status status;
	int line; /* 0: the message names the file without a line */
	const char *phrase;
};

static const struct error_case error_cases[] = {
    {"[bogus]\nissuer = https://x\n", ZITADEL_ERR_CONFIG, 1,
     "unknown section [bogus]"},
    {"[profile]\n", ZITADEL_ERR_CONFIG, 1, "unknown section [profile]"},
    {"[profiles work]\n", ZITADEL_ERR_CONFIG, 1, "unknown section"},
    {"[profile a/b]\n", ZITADEL_ERR_CONFIG, 1, "may hold only letters"},
    {GOOD_PROFILE "isuer = https://id.example.com\n", ZITADEL_ERR_CONFIG, 4,
     "unknown key \"isuer\" in [profile work]"},
    {"[pam]\nissuer = https://id.example.com\nkey_file = /x\n",
     ZITADEL_ERR_CONFIG, 3, "unknown key \"key_file\" in [pam]"},
    {"[defaults]\nprofiles = work\n", ZITADEL_ERR_CONFIG, 2,
     "unknown key \"profiles\" in [defaults]"},
    {"issuer = https://id.example.com\n", ZITADEL_ERR_CONFIG, 1,
     "before any [section]"},
    {"; comment\nthis line is not ini\n", ZITADEL_ERR_CONFIG, 2,
     "expected \"key = value\""},
    {"[pam\n", ZITADEL_ERR_CONFIG, 1, "malformed section header"},
    {"[profile a\nissuer = https://id.example.com\n", ZITADEL_ERR_CONFIG, 1,
     "malformed section header: no closing ']'"},
    {"; c\n  [profile a\n", ZITADEL_ERR_CONFIG, 2, "malformed section"},
    /* a byte order mark is skipped, and lines still count from 1 */
    {"\xef\xbb\xbf" GOOD_PROFILE "bogus = 1\n", ZITADEL_ERR_CONFIG, 4,
     "unknown key \"bogus\" in [profile work]"},
    {"\xef\xbb\xbfissuer = https://x\n", ZITADEL_ERR_CONFIG, 1,
     "before any [section]"},
    /* values */
    {GOOD_PROFILE "timeout = 0\n", ZITADEL_ERR_CONFIG, 4,
     "timeout must be a whole number of seconds from 1 to 600"},
    {GOOD_PROFILE "timeout = 601\n", ZITADEL_ERR_CONFIG, 4, "from 1 to 600"},
    {GOOD_PROFILE "timeout = 10s\n", ZITADEL_ERR_CONFIG, 4,
     "whole number of seconds"},
    {GOOD_PROFILE "timeout = -5\n", ZITADEL_ERR_CONFIG, 4,
     "whole number of seconds"},
    {GOOD_PROFILE "connect_timeout = 99999999999999999999\n",
     ZITADEL_ERR_CONFIG, 4, "connect_timeout must be a whole number"},
    {GOOD_PROFILE "git_bearer = maybe\n", ZITADEL_ERR_CONFIG, 4,
     "git_bearer must be yes, no, true, false, 1 or 0"},
    {"[pam]\ndebug = on\n", ZITADEL_ERR_CONFIG, 2, "debug must be yes"},
    {"[pam]\nsession_lifetime = 10\n", ZITADEL_ERR_CONFIG, 2,
     "from 60 to 2592000"},
    {"[pam]\ntimeout = 0\n", ZITADEL_ERR_CONFIG, 2, "from 1 to 600"},
    {"[defaults]\ncache_margin = soon\n", ZITADEL_ERR_CONFIG, 2,
     "cache_margin must be a whole number of seconds from 0 to 86400"},
    {"[profile work]\nissuer = http://id.example.com\n", ZITADEL_ERR_CONFIG, 2,
     "issuer must be an https:// URL"},
    {"[profile work]\nissuer = id.example.com\n", ZITADEL_ERR_CONFIG, 2,
     "https:// URL"},
    {"[profile work]\nissuer = https://\n", ZITADEL_ERR_CONFIG, 2,
     "https:// URL"},
    {"[profile work]\nissuer = https://id.example.com/\n", ZITADEL_ERR_CONFIG,
     2, "must not end with '/'"},
    {"[pam]\nissuer = http://id.example.com\n", ZITADEL_ERR_CONFIG, 2,
     "https:// URL"},
    /* the issuer rules of zitadel_ctx_new (test_ctx.c has them all) */
    {"[profile work]\nissuer = https://id.example.com/zitadel\n",
     ZITADEL_ERR_CONFIG, 2, "issuer must not have a path"},
    {"[pam]\nissuer = https://id.example.com/zitadel/\n", ZITADEL_ERR_CONFIG, 2,
     "issuer must not have a path"},
    {"[profile work]\nissuer = https://u:hunter2@id.example.com\n",
     ZITADEL_ERR_CONFIG, 2, "issuer must not contain a user name or password"},
    {"[profile work]\nissuer = https://id.example.com?x\n", ZITADEL_ERR_CONFIG,
     2, "a query or a fragment"},
    {"[profile work]\nissuer = https://id.example.com\n"
     "key_credential = /run/creds/key\n",
     ZITADEL_ERR_CONFIG, 3, "key_credential must be a credential name"},
    {GOOD_PROFILE "git_hosts = git.example.com, https://git.example.com\n",
     ZITADEL_ERR_CONFIG, 4, "\"https://git.example.com\" is not host[:port]"},
    {GOOD_PROFILE "ca_file = ~/ca.pem\n", ZITADEL_ERR_CONFIG, 4,
     "not expanded"},
    {GOOD_PROFILE "scope = openid\x01\n", ZITADEL_ERR_CONFIG, 4,
     "control character"},
    /* secrets never live in the file */
    {GOOD_PROFILE "client_secret = abc\n", ZITADEL_ERR_CONFIG, 4,
     "the config holds only paths to secrets (use client_secret_file)"},
    {GOOD_PROFILE "pat = abc\n", ZITADEL_ERR_CONFIG, 4,
     "holds only paths to secrets (use pat_file)"},
    {GOOD_PROFILE "key = {}\n", ZITADEL_ERR_CONFIG, 4,
     "holds only paths to secrets (use key_file)"},
    {"[pam]\nadmin_pat = abc\n", ZITADEL_ERR_CONFIG, 2,
     "holds only paths to secrets (use admin_pat_file)"},
    /* structure */
    {GOOD_PROFILE "[profile work]\nscope = openid\n", ZITADEL_ERR_CONFIG, 4,
     "duplicate profile \"work\""},
    {GOOD_PROFILE "issuer = https://other.example.com\n", ZITADEL_ERR_CONFIG, 4,
     "key \"issuer\" given twice in [profile work]"},
    {"[profile work]\nkey_file = /k.json\n", ZITADEL_ERR_CONFIG, 1,
     "profile \"work\" has no issuer"},
    {"[profile work]\nissuer = https://id.example.com\n", ZITADEL_ERR_CONFIG, 1,
     "profile \"work\" has no credential"},
    {GOOD_PROFILE "pat_file = /etc/zitadel/work.pat\n", ZITADEL_ERR_CONFIG, 1,
     "more than one credential"},
    {GOOD_PROFILE "\n[profile other]\nissuer = https://id.example.com\n"
		  "client_id = app\n",
     ZITADEL_ERR_CONFIG, 5, "client_id and client_secret_file go together"},
    {"[profile work]\nissuer = https://id.example.com\n"
     "key_credential = work-key\nclient_id = c\nclient_secret_file = /s\n",
     ZITADEL_ERR_CONFIG, 1, "more than one credential"},
    {"[defaults]\nprofile = home\n" GOOD_PROFILE, ZITADEL_ERR_CONFIG, 2,
     "default profile \"home\" is not defined"},
    {"[defaults]\nprofile = a b\n", ZITADEL_ERR_CONFIG, 2,
     "profile must name a profile"},
};

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/zt-config-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/client.conf", f->dir);
	unsetenv("ZITADEL_CONFIG");
	zt_config_set_search_paths("/nonexistent/system.conf",
				   "/nonexistent/user.conf");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	zt_config_set_search_paths(NULL, NULL);
	unsetenv("ZITADEL_CONFIG");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_text(const char *path, const char *text, size_t len,
		       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void write_conf(const char *path, const char *text)
{
	write_text(path, text, strlen(text), 0644);
}

static zitadel_config *load_ok(const char *path)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_config *cfg = NULL;
	zitadel_status st = zitadel_config_load(path, &cfg, &err);

	if (st != ZITADEL_OK)
		fail_msg("load failed: %s", err.message);
	assert_non_null(cfg);
	return cfg;
}

static void expect_error(const char *path, zitadel_status want_st,
			 const char *want_prefix, const char *phrase)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_config *cfg = (zitadel_config *)1;
	zitadel_status st = zitadel_config_load(path, &cfg, &err);

	assert_null(cfg);
	if (st != want_st || err.status != want_st)
		fail_msg("status %d (%s), want %d", st, err.message, want_st);
	if (strncmp(err.message, want_prefix, strlen(want_prefix)) != 0 ||
	    strstr(err.message, phrase) == NULL)
		fail_msg("message \"%s\", want \"%s...%s\"", err.message,
			 want_prefix, phrase);
	if (strchr(err.message, '\n') != NULL)
		fail_msg("message spans lines: %s", err.message);
	/* the password of the cases' issuer URLs */
	if (strstr(err.message, "hunter2") != NULL)
		fail_msg("message shows a password: %s", err.message);
}

static void test_error_table(void **state)
{
	struct fixture *f = *state;
	char prefix[200];
	size_t i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];

		print_message("case %zu: %s\n", i, c->phrase);
		write_conf(f->path, c->text);
		if (c->line > 0)
			snprintf(prefix, sizeof(prefix), "%s:%d: ", f->path,
				 c->line);
		else
			snprintf(prefix, sizeof(prefix), "%s: ", f->path);
		expect_error(f->path, c->status, prefix, c->phrase);
	}
}

static void test_file_errors(void **state)
{
	struct fixture *f = *state;
	char prefix[200], *big;
	size_t n = ZT_CONFIG_MAX + 1;

	/* A named file must exist. */
	expect_error("/nonexistent/zitadel.conf", ZITADEL_ERR_CONFIG,
		     "config file /nonexistent/zitadel.conf", "does not exist");

	/* Anyone who may write it could send our credentials elsewhere. */
	write_text(f->path, GOOD_PROFILE, strlen(GOOD_PROFILE), 0666);
	snprintf(prefix, sizeof(prefix), "%s: ", f->path);
	expect_error(f->path, ZITADEL_ERR_CONFIG, prefix,
		     "writable by group or others (mode 0666)");
	assert_int_equal(chmod(f->path, 0664), 0);
	expect_error(f->path, ZITADEL_ERR_CONFIG, prefix, "mode 0664");

	write_text(f->path, "[pam]\ndebug = 1\0\n", 17, 0644);
	expect_error(f->path, ZITADEL_ERR_CONFIG, prefix, "NUL byte");

	big = malloc(n);
	assert_non_null(big);
	memset(big, ';', n);
	write_text(f->path, big, n, 0644);
	free(big);
	expect_error(f->path, ZITADEL_ERR_TOO_LARGE, f->path, "allowed");

	/* A directory is not a config file, and neither is a FIFO, which
	 * must be refused without waiting for a writer. */
	expect_error(f->dir, ZITADEL_ERR_CONFIG, "config file ",
		     "not a regular file");
	unlink(f->path);
	assert_int_equal(mkfifo(f->path, 0644), 0);
	expect_error(f->path, ZITADEL_ERR_CONFIG, "config file ",
		     "not a regular file");
	unlink(f->path);
}

static void test_long_line(void **state)
{
	struct fixture *f = *state;
	char text[1200], prefix[200];

	snprintf(text, sizeof(text), GOOD_PROFILE "scope = %01000d\n", 7);
	write_conf(f->path, text);
	snprintf(prefix, sizeof(prefix), "%s:4: ", f->path);
	expect_error(f->path, ZITADEL_ERR_CONFIG, prefix, "line longer than");
}

static void test_every_key(void **state)
{
	static const char text[] =
	    "\xef\xbb\xbf# a full file\r\n"
	    "[defaults]\n"
	    "profile = work\n"
	    "cache_dir = cache\n"
	    "cache_margin = 120\n"
	    "\n"
	    "[profile work]\n"
	    "  issuer = https://id.example.com   ; indented, inline comment\n"
	    "\tkey_file = keys/work.json\n"
	    "scope = openid urn:zitadel:iam:org:project:id:zitadel:aud\n"
	    "org = 123456\n"
	    "ca_file = /etc/ssl/ca.pem\n"
	    "username = robot\n"
	    "connect_timeout = 5\n"
	    "timeout = 600\n"
	    "git_bearer = yes\n"
	    "git_hosts = git.example.com, Git.Example.com:8443 other\n"
	    "docker_registries = https://registry.example.com/v1/,ghcr.io\n"
	    "kube_clusters = https://k8s.example.com:6443\n"
	    "\n"
	    "[profile pat]\n"
	    "issuer = https://id.example.com\n"
	    "pat_file = /etc/zitadel/pat\n"
	    "git_bearer = FALSE\n"
	    "[profile cc]\n"
	    "issuer = https://id.example.com\n"
	    "client_id = robot\n"
	    "client_secret_file = /etc/zitadel/secret\n"
	    "[profile cred]\n"
	    "issuer = https://id.example.com\n"
	    "key_credential = zitadel-key\n"
	    "[pam]\n"
	    "issuer = https://id.example.com\n"
	    "ca_file = ca.pem\n"
	    "app_key_file = /etc/zitadel/app.json\n"
	    "client_id = app\n"
	    "client_secret_file = /etc/zitadel/app.secret\n"
	    "admin_key_file = /etc/zitadel/admin.json\n"
	    "admin_pat_file = /etc/zitadel/admin.pat\n"
	    "org = 99\n"
	    "user_claim = preferred_username\n"
	    "map_file = /etc/zitadel/map\n"
	    "require_role = login\n"
	    "require_org = 99\n"
	    "token_dir = /run/zt\n"
	    "session_lifetime = 3600\n"
	    "timeout = 20\n"
	    "required_credential = true\n"
	    "debug = 1\n";
	struct fixture *f = *state;
	const zitadel_profile *p;
	const zitadel_pam_config *pam;
	zitadel_config *cfg;
	char want[200];

	write_conf(f->path, text);
	cfg = load_ok(f->path);

	p = zitadel_config_default_profile(cfg);
	assert_non_null(p);
	assert_string_equal(p->name, "work");
	assert_string_equal(p->issuer, "https://id.example.com");
	snprintf(want, sizeof(want), "%s/keys/work.json", f->dir);
	assert_string_equal(p->key_file, want);
	assert_null(p->pat_file);
	assert_string_equal(
	    p->scope, "openid urn:zitadel:iam:org:project:id:zitadel:aud");
	assert_string_equal(p->org, "123456");
	assert_string_equal(p->ca_file, "/etc/ssl/ca.pem");
	assert_string_equal(p->username, "robot");
	assert_int_equal(p->connect_timeout_ms, 5000);
	assert_int_equal(p->timeout_ms, 600000);
	assert_int_equal(p->git_bearer, 1);
	assert_string_equal(p->git_hosts[0], "git.example.com");
	assert_string_equal(p->git_hosts[1], "Git.Example.com:8443");
	assert_string_equal(p->git_hosts[2], "other");
	assert_null(p->git_hosts[3]);
	assert_string_equal(p->docker_registries[0],
			    "https://registry.example.com/v1/");
	assert_string_equal(p->docker_registries[1], "ghcr.io");
	assert_null(p->docker_registries[2]);
	assert_string_equal(p->kube_clusters[0],
			    "https://k8s.example.com:6443");
	assert_null(p->kube_clusters[1]);

	p = zitadel_config_profile(cfg, "pat");
	assert_non_null(p);
	assert_string_equal(p->pat_file, "/etc/zitadel/pat");
	assert_int_equal(p->git_bearer, 0);
	assert_null(p->git_hosts);
	assert_null(p->scope);
	assert_int_equal(p->timeout_ms, 0);
	p = zitadel_config_profile(cfg, "cc");
	assert_string_equal(p->client_id, "robot");
	assert_string_equal(p->client_secret_file, "/etc/zitadel/secret");
	p = zitadel_config_profile(cfg, "cred");
	assert_string_equal(p->key_credential, "zitadel-key");
	assert_null(zitadel_config_profile(cfg, "nope"));

	snprintf(want, sizeof(want), "%s/cache", f->dir);
	assert_string_equal(zitadel_config_cache_dir(cfg), want);
	assert_int_equal(zitadel_config_cache_margin(cfg), 120);

	pam = zitadel_config_pam(cfg);
	assert_string_equal(pam->issuer, "https://id.example.com");
	snprintf(want, sizeof(want), "%s/ca.pem", f->dir);
	assert_string_equal(pam->ca_file, want);
	assert_string_equal(pam->app_key_file, "/etc/zitadel/app.json");
	assert_string_equal(pam->client_id, "app");
	assert_string_equal(pam->client_secret_file, "/etc/zitadel/app.secret");
	assert_string_equal(pam->admin_key_file, "/etc/zitadel/admin.json");
	assert_string_equal(pam->admin_pat_file, "/etc/zitadel/admin.pat");
	assert_string_equal(pam->org, "99");
	assert_string_equal(pam->user_claim, "preferred_username");
	assert_string_equal(pam->map_file, "/etc/zitadel/map");
	assert_string_equal(pam->require_role, "login");
	assert_string_equal(pam->require_org, "99");
	assert_string_equal(pam->token_dir, "/run/zt");
	assert_int_equal(pam->session_lifetime_s, 3600);
	assert_int_equal(pam->timeout_ms, 20000);
	assert_int_equal(pam->required_credential, 1);
	assert_int_equal(pam->debug, 1);
	zitadel_config_free(cfg);
}

static void test_defaults_when_empty(void **state)
{
	struct fixture *f = *state;
	const zitadel_pam_config *pam;
	zitadel_config *cfg;

	write_conf(f->path, "# nothing\n\n");
	cfg = load_ok(f->path);
	assert_null(zitadel_config_default_profile(cfg));
	assert_null(zitadel_config_cache_dir(cfg));
	assert_int_equal(zitadel_config_cache_margin(cfg), -1);
	pam = zitadel_config_pam(cfg);
	assert_non_null(pam);
	assert_null(pam->issuer);
	assert_string_equal(pam->user_claim, "username");
	assert_string_equal(pam->token_dir, "/run/zitadel");
	assert_int_equal(pam->session_lifetime_s, 8 * 3600);
	assert_int_equal(pam->timeout_ms, 15000);
	assert_int_equal(pam->required_credential, 0);
	zitadel_config_free(cfg);

	/* The only profile is the default one. */
	write_conf(f->path, GOOD_PROFILE);
	cfg = load_ok(f->path);
	assert_string_equal(zitadel_config_default_profile(cfg)->name, "work");
	zitadel_config_free(cfg);
	/* Two and no [defaults] profile: none. */
	write_conf(f->path, GOOD_PROFILE "[profile b]\nissuer = https://b\n"
					 "pat_file = /p\n");
	cfg = load_ok(f->path);
	assert_null(zitadel_config_default_profile(cfg));
	zitadel_config_free(cfg);

	zitadel_config_free(NULL);
	assert_null(zitadel_config_pam(NULL));
	assert_null(zitadel_config_profile(NULL, "x"));
}

static void test_override_order(void **state)
{
	struct fixture *f = *state;
	char sys[160], user[160], env[160];
	const zitadel_profile *p;
	zitadel_config *cfg;

	snprintf(sys, sizeof(sys), "%s/system.conf", f->dir);
	snprintf(user, sizeof(user), "%s/user.conf", f->dir);
	snprintf(env, sizeof(env), "%s/env.conf", f->dir);
	write_conf(sys, "[defaults]\ncache_margin = 30\n"
			"[profile work]\n"
			"issuer = https://id.example.com\n"
			"key_file = /sys/work.json\n"
			"scope = openid\n"
			"timeout = 10\n"
			"git_hosts = a.example.com b.example.com\n");
	write_conf(user, "[profile work]\n"
			 "scope = openid profile\n"
			 "git_hosts = c.example.com\n"
			 "timeout =\n"
			 "[profile home]\n"
			 "issuer = https://home.example.com\n"
			 "pat_file = /home/pat\n");
	write_conf(env, "[profile env]\n"
			"issuer = https://env.example.com\n"
			"pat_file = /env/pat\n");
	zt_config_set_search_paths(sys, user);

	/* system, then user per key */
	cfg = load_ok(NULL);
	p = zitadel_config_profile(cfg, "work");
	assert_non_null(p);
	assert_string_equal(p->key_file, "/sys/work.json");
	assert_string_equal(p->scope, "openid profile");
	assert_int_equal(p->timeout_ms, 0); /* emptied by the user */
	assert_string_equal(p->git_hosts[0], "c.example.com");
	assert_null(p->git_hosts[1]);
	assert_non_null(zitadel_config_profile(cfg, "home"));
	assert_int_equal(zitadel_config_cache_margin(cfg), 30);
	zitadel_config_free(cfg);

	/* A user file that makes a profile invalid is named. */
	write_conf(user, "[profile work]\npat_file = /p\n");
	{
		char prefix[200];

		snprintf(prefix, sizeof(prefix), "%s:1: ", user);
		expect_error(NULL, ZITADEL_ERR_CONFIG, prefix,
			     "more than one credential");
	}
	/* ... and the user can take a key back to switch credentials. */
	write_conf(user, "[profile work]\nkey_file =\npat_file = /p\n");
	cfg = load_ok(NULL);
	p = zitadel_config_profile(cfg, "work");
	assert_null(p->key_file);
	assert_string_equal(p->pat_file, "/p");
	zitadel_config_free(cfg);

	/* Missing default files are fine. */
	assert_int_equal(unlink(user), 0);
	cfg = load_ok(NULL);
	assert_string_equal(zitadel_config_profile(cfg, "work")->scope,
			    "openid");
	zitadel_config_free(cfg);
	assert_int_equal(unlink(sys), 0);
	cfg = load_ok(NULL);
	assert_null(zitadel_config_profile(cfg, "work"));
	zitadel_config_free(cfg);
	write_conf(sys, GOOD_PROFILE);

	/* $ZITADEL_CONFIG alone */
	setenv("ZITADEL_CONFIG", env, 1);
	cfg = load_ok(NULL);
	assert_non_null(zitadel_config_profile(cfg, "env"));
	assert_null(zitadel_config_profile(cfg, "work"));
	zitadel_config_free(cfg);

	/* the path argument alone, over $ZITADEL_CONFIG */
	cfg = load_ok(sys);
	assert_non_null(zitadel_config_profile(cfg, "work"));
	assert_null(zitadel_config_profile(cfg, "env"));
	zitadel_config_free(cfg);

	/* a named file that is missing is an error */
	setenv("ZITADEL_CONFIG", "/nonexistent/env.conf", 1);
	expect_error(NULL, ZITADEL_ERR_CONFIG,
		     "config file /nonexistent/env.conf", "does not exist");
	unsetenv("ZITADEL_CONFIG");
}

static void test_user_path_from_env(void **state)
{
	struct fixture *f = *state;
	char xdg[160], path[200];
	zitadel_config *cfg;

	(void)state;
	snprintf(xdg, sizeof(xdg), "%s/xdg", f->dir);
	snprintf(path, sizeof(path), "%s/zitadel", xdg);
	assert_int_equal(mkdir(xdg, 0700), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/zitadel/client.conf", xdg);
	write_conf(path, GOOD_PROFILE);
	zt_config_set_search_paths("/nonexistent/system.conf", NULL);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	cfg = load_ok(NULL);
	assert_non_null(zitadel_config_profile(cfg, "work"));
	zitadel_config_free(cfg);
	unsetenv("XDG_CONFIG_HOME");
}

static void test_matching(void **state)
{
	struct fixture *f = *state;
	zitadel_config *cfg;

	write_conf(f->path,
		   "[profile one]\nissuer = https://a\npat_file = /p\n"
		   "git_hosts = git.example.com\n"
		   "docker_registries = Registry.Example.com\n"
		   "kube_clusters = https://k8s.example.com:6443\n"
		   "[profile two]\nissuer = https://b\npat_file = /p\n"
		   "git_hosts = GIT.example.com git.example.com:8443\n"
		   "docker_registries = https://registry.example.com/v2/ "
		   "ghcr.io/\n"
		   "kube_clusters = https://k8s.example.com:6443/ k2\n");
	cfg = load_ok(f->path);

#define NAME(p) ((p) != NULL ? (p)->name : "(none)")
	/* git: host[:port], case-insensitive, first profile wins */
	assert_string_equal(
	    NAME(zitadel_config_profile_for_git_host(cfg, "git.example.com")),
	    "one");
	assert_string_equal(
	    NAME(zitadel_config_profile_for_git_host(cfg, "Git.Example.COM")),
	    "one");
	assert_string_equal(NAME(zitadel_config_profile_for_git_host(
				cfg, "git.example.com:8443")),
			    "two");
	assert_null(
	    zitadel_config_profile_for_git_host(cfg, "git.example.com:443"));
	assert_null(zitadel_config_profile_for_git_host(cfg, "example.com"));
	assert_null(zitadel_config_profile_for_git_host(
	    cfg, "git.example.com%0a")); /* no URL decoding */
	assert_null(zitadel_config_profile_for_git_host(cfg, ""));
	assert_null(zitadel_config_profile_for_git_host(cfg, NULL));

	/* docker: scheme, path and trailing slash ignored */
	assert_string_equal(NAME(zitadel_config_profile_for_docker_registry(
				cfg, "https://registry.example.com/v1/")),
			    "one");
	assert_string_equal(NAME(zitadel_config_profile_for_docker_registry(
				cfg, "registry.example.com")),
			    "one");
	assert_string_equal(
	    NAME(zitadel_config_profile_for_docker_registry(cfg, "GHCR.io")),
	    "two");
	assert_string_equal(NAME(zitadel_config_profile_for_docker_registry(
				cfg, "https://ghcr.io/")),
			    "two");
	assert_null(zitadel_config_profile_for_docker_registry(
	    cfg, "registry.example.com.evil"));
	assert_null(
	    zitadel_config_profile_for_docker_registry(cfg, "https://"));

	/* kubectl: the exact string */
	assert_string_equal(NAME(zitadel_config_profile_for_kube_cluster(
				cfg, "https://k8s.example.com:6443")),
			    "one");
	assert_string_equal(NAME(zitadel_config_profile_for_kube_cluster(
				cfg, "https://k8s.example.com:6443/")),
			    "two");
	assert_string_equal(
	    NAME(zitadel_config_profile_for_kube_cluster(cfg, "k2")), "two");
	assert_null(zitadel_config_profile_for_kube_cluster(
	    cfg, "https://K8S.example.com:6443"));
#undef NAME
	zitadel_config_free(cfg);
}

/* The internal walk over profiles: config order, a profile that a later
 * file extends keeps its place, NULL past the end and for no config. */
static void test_profile_walk(void **state)
{
	struct fixture *f = *state;
	zitadel_config *cfg;
	zitadel_error err = ZITADEL_ERROR_INIT;

	assert_int_equal(zt_config_profile_count(NULL), 0);
	assert_null(zt_config_profile_at(NULL, 0));

	write_conf(f->path, "[profile b]\nissuer = https://b\npat_file = /p\n"
			    "[profile a]\nissuer = https://a\npat_file = /p\n"
			    "[profile c]\nissuer = https://c\npat_file = /p\n");
	cfg = load_ok(f->path);
	assert_int_equal(zt_config_profile_count(cfg), 3);
	assert_string_equal(zt_config_profile_at(cfg, 0)->name, "b");
	assert_string_equal(zt_config_profile_at(cfg, 1)->name, "a");
	assert_string_equal(zt_config_profile_at(cfg, 2)->name, "c");
	assert_ptr_equal(zt_config_profile_at(cfg, 1),
			 zitadel_config_profile(cfg, "a"));
	assert_null(zt_config_profile_at(cfg, 3));
	assert_null(zt_config_profile_at(cfg, (size_t)-1));

	assert_int_equal(zitadel_config_set(cfg, "profile d", "issuer",
					    "https://d", "test", &err),
			 ZITADEL_OK);
	assert_int_equal(zitadel_config_set(cfg, "profile a", "scope", "openid",
					    "test", &err),
			 ZITADEL_OK);
	assert_int_equal(zt_config_profile_count(cfg), 4);
	assert_string_equal(zt_config_profile_at(cfg, 1)->scope, "openid");
	assert_string_equal(zt_config_profile_at(cfg, 3)->name, "d");
	zitadel_config_free(cfg);

	assert_int_equal(zitadel_config_new(&cfg, &err), ZITADEL_OK);
	assert_int_equal(zt_config_profile_count(cfg), 0);
	assert_null(zt_config_profile_at(cfg, 0));
	zitadel_config_free(cfg);
}

static void test_config_set(void **state)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_config *cfg = NULL;
	const zitadel_profile *p;

	(void)state;
	assert_int_equal(zitadel_config_new(&cfg, &err), ZITADEL_OK);
	assert_int_equal(zitadel_config_set(cfg, "pam", "issuer",
					    "https://id.example.com",
					    "module arguments", &err),
			 ZITADEL_OK);
	assert_int_equal(
	    zitadel_config_set(cfg, "pam", "debug", "yes", "args", &err),
	    ZITADEL_OK);
	assert_string_equal(zitadel_config_pam(cfg)->issuer,
			    "https://id.example.com");
	assert_int_equal(zitadel_config_pam(cfg)->debug, 1);

	assert_int_equal(zitadel_config_set(cfg, "pam", "timeout", "0",
					    "module arguments", &err),
			 ZITADEL_ERR_CONFIG);
	assert_string_equal(err.message,
			    "module arguments: timeout must be a whole number "
			    "of seconds from 1 to 600");
	zitadel_error_clear(&err);
	assert_int_equal(zitadel_config_set(cfg, "pam", "client_secret", "x",
					    "module arguments", &err),
			 ZITADEL_ERR_CONFIG);
	assert_non_null(strstr(err.message, "only paths to secrets"));
	zitadel_error_clear(&err);
	assert_int_equal(
	    zitadel_config_set(cfg, "nope", "a", "b", "--opt", &err),
	    ZITADEL_ERR_CONFIG);
	assert_string_equal(err.message, "--opt: unknown section [nope]");
	zitadel_error_clear(&err);

	assert_int_equal(zitadel_config_set(cfg, "profile cli", "issuer",
					    "https://id.example.com",
					    "--issuer", &err),
			 ZITADEL_OK);
	assert_int_equal(zitadel_config_set(cfg, "profile cli", "key_file",
					    "rel/key.json", "--key-file", &err),
			 ZITADEL_OK);
	p = zitadel_config_profile(cfg, "cli");
	assert_non_null(p);
	assert_string_equal(p->key_file, "rel/key.json"); /* as given */
	assert_int_equal(zitadel_config_set(cfg, "defaults", "cache_margin",
					    "0", "--cache-margin", &err),
			 ZITADEL_OK);
	assert_int_equal(zitadel_config_cache_margin(cfg), 0);
	assert_int_equal(zitadel_config_set(cfg, "profile cli", "git_hosts",
					    "a b", "x", &err),
			 ZITADEL_OK);
	assert_string_equal(p->git_hosts[1], "b");
	assert_int_equal(err.status, ZITADEL_OK);

	assert_int_equal(
	    zitadel_config_set(NULL, "pam", "debug", "1", "x", &err),
	    ZITADEL_ERR_INVALID_ARGUMENT);
	zitadel_config_free(cfg);
}

/* tests/data/config: valid/ files load; each invalid/ file starts with
 * "# expect LINE: phrase" and must fail with exactly that. */
static void test_fixture_files(void **state)
{
	const char *src = getenv("ZT_SRCDIR");
	char dir[512], path[1024], prefix[1100], first[256], *colon;
	struct dirent *de;
	zitadel_config *cfg;
	int valid, n = 0;
	FILE *fp;
	DIR *d;

	(void)state;
	if (src == NULL)
		skip();
	for (valid = 1; valid >= 0; valid--) {
		snprintf(dir, sizeof(dir), "%s/tests/data/config/%s", src,
			 valid ? "valid" : "invalid");
		d = opendir(dir);
		assert_non_null(d);
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			print_message("fixture %s\n", path);
			n++;
			if (valid) {
				cfg = load_ok(path);
				zitadel_config_free(cfg);
				continue;
			}
			fp = fopen(path, "r");
			assert_non_null(fp);
			assert_non_null(fgets(first, sizeof(first), fp));
			fclose(fp);
			first[strcspn(first, "\n")] = '\0';
			assert_int_equal(strncmp(first, "# expect ", 9), 0);
			colon = strchr(first, ':');
			assert_non_null(colon);
			*colon = '\0';
			snprintf(prefix, sizeof(prefix), "%s:%s: ", path,
				 first + 9);
			expect_error(path, ZITADEL_ERR_CONFIG, prefix,
				     colon + 2);
		}
		closedir(d);
	}
	assert_true(n >= 8);
}

static void test_alloc_failures(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_config *cfg;
	zitadel_status st;
	long n, made;

	write_conf(f->path,
		   "[defaults]\nprofile = work\ncache_dir = c\n" GOOD_PROFILE
		   "git_hosts = a b c\n"
		   "[pam]\nissuer = https://x\nca_file = ca\n");
	zt_alloc_fail_at(0);
	cfg = load_ok(f->path);
	zitadel_config_free(cfg);
	zt_alloc_fail_at(1000000);
	cfg = load_ok(f->path);
	made = zt_alloc_fail_at(0);
	zitadel_config_free(cfg);
	assert_true(made > 5);

	for (n = 1; n <= made; n++) {
		cfg = NULL;
		zitadel_error_clear(&err);
		zt_alloc_fail_at(n);
		st = zitadel_config_load(f->path, &cfg, &err);
		zt_alloc_fail_at(0);
		if (st == ZITADEL_OK) {
			assert_non_null(cfg);
		} else {
			assert_int_equal(st, ZITADEL_ERR_NOMEM);
			assert_null(cfg);
		}
		zitadel_config_free(cfg);
	}
}

/* A file saved with a UTF-8 byte order mark reads as without one. */
static void test_byte_order_mark(void **state)
{
	struct fixture *f = *state;
	const zitadel_profile *p;
	zitadel_config *cfg;

	write_conf(f->path, "\xef\xbb\xbf" GOOD_PROFILE);
	cfg = load_ok(f->path);
	p = zitadel_config_profile(cfg, "work");
	assert_non_null(p);
	assert_string_equal(p->issuer, "https://id.example.com");
	assert_ptr_equal(zitadel_config_default_profile(cfg), p);
	zitadel_config_free(cfg);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_error_table),         T(test_file_errors),
	    T(test_long_line),           T(test_every_key),
	    T(test_defaults_when_empty), T(test_override_order),
	    T(test_user_path_from_env),  T(test_matching),
	    T(test_config_set),          T(test_fixture_files),
	    T(test_alloc_failures),      T(test_profile_walk),
	    T(test_byte_order_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
