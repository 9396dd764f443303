/*
 * config.c: the client config file (INI, read with libinih) and its
 * profiles, shared by the helper, the PAM module and zitadelctl. Every
 * mistake is refused with "FILE:LINE: what is wrong"; the file holds paths
 * to secrets, never secrets. Part of libzitadel-core: libc and inih only.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "internal.h"

#define SYSTEM_CONFIG    "/etc/zitadel/client.conf"
#define PROFILE_NAME_MAX 64
#define LIST_MAX         64 /* entries in one list value */

/* One [profile NAME]. pub's pointers borrow the owned fields below. */
struct profile {
	zitadel_profile pub;
	char *name;
	char *issuer, *key_file, *key_credential, *pat_file, *client_id;
	char *client_secret_file, *scope, *org, *ca_file, *username;
	long connect_timeout_s, timeout_s;
	int git_bearer;
	char **git_hosts, **docker_registries, **kube_clusters;
	char *origin; /* where the section last appeared, for messages */
	int line;
};

struct pam {
	zitadel_pam_config pub;
	char *issuer, *ca_file, *app_key_file, *client_id, *client_secret_file;
	char *admin_key_file, *admin_pat_file, *org, *user_claim, *map_file;
	char *require_role, *require_org, *token_dir;
	long session_lifetime_s, timeout_s;
	int required_credential, debug;
};

struct zitadel_config {
	struct profile **profiles; /* in the order first seen */
	size_t nprofiles;
	struct pam pam;
	char *default_profile;
	char *default_profile_origin;
	int default_profile_line;
	char *cache_dir;
	long cache_margin;
};

/* Test hook: where the system and user files are looked for. */
static const char *search_system;
static const char *search_user;

void zt_config_set_search_paths(const char *system_path, const char *user_path)
{
	search_system = system_path;
	search_user = user_path;
}

/* ---- key tables ------------------------------------------------------- */

enum kind {
	K_URL,     /* https:// issuer */
	K_PATH,    /* a file or directory; relative to the config file */
	K_CRED,    /* a systemd credential name */
	K_STRING,  /* a single word or phrase without control characters */
	K_SECONDS, /* integer seconds in [min, max] */
	K_BOOL,
	K_HOSTS, /* list of host[:port] */
	K_LIST,  /* list of anything without control characters */
};

struct key_def {
	const char *name;
	enum kind kind;
	size_t offset;
	long min, max;
};

#define P(f) offsetof(struct profile, f)
static const struct key_def profile_keys[] = {
    {"issuer", K_URL, P(issuer), 0, 0},
    {"key_file", K_PATH, P(key_file), 0, 0},
    {"key_credential", K_CRED, P(key_credential), 0, 0},
    {"pat_file", K_PATH, P(pat_file), 0, 0},
    {"client_id", K_STRING, P(client_id), 0, 0},
    {"client_secret_file", K_PATH, P(client_secret_file), 0, 0},
    {"scope", K_STRING, P(scope), 0, 0},
    {"org", K_STRING, P(org), 0, 0},
    {"ca_file", K_PATH, P(ca_file), 0, 0},
    {"username", K_STRING, P(username), 0, 0},
    {"connect_timeout", K_SECONDS, P(connect_timeout_s), 1, 600},
    {"timeout", K_SECONDS, P(timeout_s), 1, 600},
    {"git_bearer", K_BOOL, P(git_bearer), 0, 0},
    {"git_hosts", K_HOSTS, P(git_hosts), 0, 0},
    {"docker_registries", K_LIST, P(docker_registries), 0, 0},
    {"kube_clusters", K_LIST, P(kube_clusters), 0, 0},
    {NULL, K_STRING, 0, 0, 0},
};
#undef P

#define M(f) offsetof(struct pam, f)
static const struct key_def pam_keys[] = {
    {"issuer", K_URL, M(issuer), 0, 0},
    {"ca_file", K_PATH, M(ca_file), 0, 0},
    {"app_key_file", K_PATH, M(app_key_file), 0, 0},
    {"client_id", K_STRING, M(client_id), 0, 0},
    {"client_secret_file", K_PATH, M(client_secret_file), 0, 0},
    {"admin_key_file", K_PATH, M(admin_key_file), 0, 0},
    {"admin_pat_file", K_PATH, M(admin_pat_file), 0, 0},
    {"org", K_STRING, M(org), 0, 0},
    {"user_claim", K_STRING, M(user_claim), 0, 0},
    {"map_file", K_PATH, M(map_file), 0, 0},
    {"require_role", K_STRING, M(require_role), 0, 0},
    {"require_org", K_STRING, M(require_org), 0, 0},
    {"token_dir", K_PATH, M(token_dir), 0, 0},
    {"session_lifetime", K_SECONDS, M(session_lifetime_s), 60, 2592000},
    {"timeout", K_SECONDS, M(timeout_s), 1, 600},
    {"required_credential", K_BOOL, M(required_credential), 0, 0},
    {"debug", K_BOOL, M(debug), 0, 0},
    {NULL, K_STRING, 0, 0, 0},
};
#undef M

/* Keys people reach for that would put a secret in the file. */
static const struct {
	const char *key, *instead;
} secret_keys[] = {
    {"client_secret", "client_secret_file"},
    {"pat", "pat_file"},
    {"key", "key_file"},
    {"private_key", "key_file"},
    {"secret", "client_secret_file"},
    {"password", "pat_file"},
    {"token", "pat_file"},
    {"access_token", "pat_file"},
    {"admin_pat", "admin_pat_file"},
    {"admin_key", "admin_key_file"},
    {"app_key", "app_key_file"},
};

/* ---- where a setting came from ---------------------------------------- */

struct where {
	const char *origin; /* file name or the caller's origin */
	int line;           /* 0: none */
};

static zitadel_status bad(zitadel_error *err, const struct where *at,
			  const char *fmt, ...) ZT_PRINTF(3, 4);

static zitadel_status bad(zitadel_error *err, const struct where *at,
			  const char *fmt, ...)
{
	char what[ZITADEL_ERROR_MESSAGE_MAX], shown[ZT_LOG_CLIP + 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	zt_clip(at->origin, strlen(at->origin), shown, sizeof(shown));
	if (at->line > 0)
		return zt_error(err, ZITADEL_ERR_CONFIG, "%s:%d: %s", shown,
				at->line, what);
	return zt_error(err, ZITADEL_ERR_CONFIG, "%s: %s", shown, what);
}

/* ---- freeing ---------------------------------------------------------- */

static void free_list(char **list)
{
	size_t i;

	if (list == NULL)
		return;
	for (i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

static void free_fields(void *base, const struct key_def *keys)
{
	const struct key_def *k;

	for (k = keys; k->name != NULL; k++) {
		char **slot = (char **)(void *)((char *)base + k->offset);

		if (k->kind == K_HOSTS || k->kind == K_LIST)
			free_list(*(char ***)(void *)slot);
		else if (k->kind != K_SECONDS && k->kind != K_BOOL)
			free(*slot);
	}
}

static void profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	free_fields(p, profile_keys);
	free(p->name);
	free(p->origin);
	free(p);
}

void zitadel_config_free(zitadel_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nprofiles; i++)
		profile_free(cfg->profiles[i]);
	free(cfg->profiles);
	free_fields(&cfg->pam, pam_keys);
	free(cfg->default_profile);
	free(cfg->default_profile_origin);
	free(cfg->cache_dir);
	free(cfg);
}

/* Point the public structs at the owned values, defaults filled in. */
static void sync_profile(struct profile *p)
{
	zitadel_profile *o = &p->pub;

	o->name = p->name;
	o->issuer = p->issuer;
	o->key_file = p->key_file;
	o->key_credential = p->key_credential;
	o->pat_file = p->pat_file;
	o->client_id = p->client_id;
	o->client_secret_file = p->client_secret_file;
	o->scope = p->scope;
	o->org = p->org;
	o->ca_file = p->ca_file;
	o->username = p->username;
	o->connect_timeout_ms = p->connect_timeout_s * 1000;
	o->timeout_ms = p->timeout_s * 1000;
	o->git_bearer = p->git_bearer;
	o->git_hosts = (const char *const *)p->git_hosts;
	o->docker_registries = (const char *const *)p->docker_registries;
	o->kube_clusters = (const char *const *)p->kube_clusters;
}

static void sync_pam(struct pam *m)
{
	zitadel_pam_config *o = &m->pub;

	o->issuer = m->issuer;
	o->ca_file = m->ca_file;
	o->app_key_file = m->app_key_file;
	o->client_id = m->client_id;
	o->client_secret_file = m->client_secret_file;
	o->admin_key_file = m->admin_key_file;
	o->admin_pat_file = m->admin_pat_file;
	o->org = m->org;
	o->user_claim = m->user_claim != NULL ? m->user_claim : "username";
	o->map_file = m->map_file;
	o->require_role = m->require_role;
	o->require_org = m->require_org;
	o->token_dir = m->token_dir != NULL ? m->token_dir : "/run/zitadel";
	o->session_lifetime_s =
	    m->session_lifetime_s > 0 ? m->session_lifetime_s : 8 * 3600;
	o->timeout_ms = m->timeout_s > 0 ? m->timeout_s * 1000 : 15000;
	o->required_credential = m->required_credential;
	o->debug = m->debug;
}

zitadel_status zitadel_config_new(zitadel_config **out, zitadel_error *err)
{
	zitadel_config *cfg;

	if (out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"no place for the config");
	*out = NULL;
	cfg = zt_calloc(1, sizeof(*cfg));
	if (cfg == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory creating a config");
	cfg->cache_margin = -1;
	sync_pam(&cfg->pam);
	*out = cfg;
	return ZITADEL_OK;
}

/* ---- values ----------------------------------------------------------- */

static int has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int has_space(const char *s)
{
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s))
			return 1;
	return 0;
}

static zitadel_status parse_seconds(const char *value, const struct key_def *k,
				    long *out, const struct where *at,
				    zitadel_error *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (value[0] == '\0' || *end != '\0' || errno != 0 ||
	    !isdigit((unsigned char)value[0]) || v < k->min || v > k->max)
		return bad(err, at,
			   "%s must be a whole number of seconds from %ld to "
			   "%ld",
			   k->name, k->min, k->max);
	*out = v;
	return ZITADEL_OK;
}

static zitadel_status parse_bool(const char *value, const char *key, int *out,
				 const struct where *at, zitadel_error *err)
{
	if (strcasecmp(value, "yes") == 0 || strcasecmp(value, "true") == 0 ||
	    strcmp(value, "1") == 0) {
		*out = 1;
		return ZITADEL_OK;
	}
	if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 ||
	    strcmp(value, "0") == 0) {
		*out = 0;
		return ZITADEL_OK;
	}
	return bad(err, at, "%s must be yes, no, true, false, 1 or 0", key);
}

static zitadel_status parse_url(const char *value, const char *key, char **out,
				const struct where *at, zitadel_error *err)
{
	const char *why;
	int may_echo;

	/* The rules of zitadel_ctx_new, so that a config that loads is one
	 * whose issuer the library takes. The value is never echoed. */
	why = zt_issuer_problem(value, &may_echo);
	if (why != NULL)
		return bad(err, at, "%s %s", key, why);
	*out = zt_strdup(value);
	return *out != NULL ? ZITADEL_OK
			    : zt_error(err, ZITADEL_ERR_NOMEM,
				       "out of memory reading config");
}

/* A relative path is relative to the directory of the file it is in. */
static zitadel_status parse_path(const char *value, const char *key,
				 const char *file_dir, char **out,
				 const struct where *at, zitadel_error *err)
{
	if (has_control(value))
		return bad(err, at, "%s holds a control character", key);
	if (value[0] == '~')
		return bad(err, at,
			   "%s starts with '~', which is not expanded; write "
			   "the full path",
			   key);
	if (value[0] != '/' && file_dir != NULL)
		*out = zt_asprintf("%s/%s", file_dir, value);
	else
		*out = zt_strdup(value);
	return *out != NULL ? ZITADEL_OK
			    : zt_error(err, ZITADEL_ERR_NOMEM,
				       "out of memory reading config");
}

/* Split on commas and white space; empty items are skipped. */
static zitadel_status parse_list(const char *value, const struct key_def *k,
				 char ***out, const struct where *at,
				 zitadel_error *err)
{
	char **list;
	const char *p = value;
	size_t n = 0;

	*out = NULL;
	if (has_control(value))
		return bad(err, at, "%s holds a control character", k->name);
	list = zt_calloc(LIST_MAX + 1, sizeof(*list));
	if (list == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory reading config");
	for (;;) {
		size_t len;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t");
		if (n == LIST_MAX) {
			free_list(list);
			return bad(err, at, "%s has more than %d entries",
				   k->name, LIST_MAX);
		}
		list[n] = zt_strndup(p, len);
		if (list[n] == NULL) {
			free_list(list);
			return zt_error(err, ZITADEL_ERR_NOMEM,
					"out of memory reading config");
		}
		if (k->kind == K_HOSTS && strchr(list[n], '/') != NULL) {
			zitadel_status rc =
			    bad(err, at,
				"%s entry \"%s\" is not host[:port]: write the "
				"host as git sends it, without scheme or path",
				k->name, list[n]);

			free_list(list);
			return rc;
		}
		n++;
		p += len;
	}
	*out = list;
	return ZITADEL_OK;
}

static zitadel_status parse_string(const char *value, const char *key,
				   char **out, const struct where *at,
				   zitadel_error *err)
{
	if (has_control(value))
		return bad(err, at, "%s holds a control character", key);
	*out = zt_strdup(value);
	return *out != NULL ? ZITADEL_OK
			    : zt_error(err, ZITADEL_ERR_NOMEM,
				       "out of memory reading config");
}

static zitadel_status parse_cred(const char *value, const char *key, char **out,
				 const struct where *at, zitadel_error *err)
{
	if (strchr(value, '/') != NULL || strcmp(value, ".") == 0 ||
	    strcmp(value, "..") == 0 || has_space(value) || has_control(value))
		return bad(err, at,
			   "%s must be a credential name (as in "
			   "LoadCredential=), not a path",
			   key);
	*out = zt_strdup(value);
	return *out != NULL ? ZITADEL_OK
			    : zt_error(err, ZITADEL_ERR_NOMEM,
				       "out of memory reading config");
}

/*
 * Apply one key of a table to base. An empty value unsets the key, so a
 * later file can take back what an earlier one set.
 */
static zitadel_status apply_key(void *base, const struct key_def *k,
				const char *value, const char *file_dir,
				const struct where *at, zitadel_error *err)
{
	void *slot = (char *)base + k->offset;
	zitadel_status rc = ZITADEL_OK;
	char *s = NULL, **list = NULL;
	long secs = 0;
	int b = 0;

	if (value[0] == '\0') {
		if (k->kind == K_SECONDS)
			*(long *)slot = 0;
		else if (k->kind == K_BOOL)
			*(int *)slot = 0;
		else if (k->kind == K_HOSTS || k->kind == K_LIST) {
			free_list(*(char ***)slot);
			*(char ***)slot = NULL;
		} else {
			free(*(char **)slot);
			*(char **)slot = NULL;
		}
		return ZITADEL_OK;
	}

	switch (k->kind) {
	case K_URL:
		rc = parse_url(value, k->name, &s, at, err);
		break;
	case K_PATH:
		rc = parse_path(value, k->name, file_dir, &s, at, err);
		break;
	case K_CRED:
		rc = parse_cred(value, k->name, &s, at, err);
		break;
	case K_STRING:
		rc = parse_string(value, k->name, &s, at, err);
		break;
	case K_SECONDS:
		rc = parse_seconds(value, k, &secs, at, err);
		if (rc == ZITADEL_OK)
			*(long *)slot = secs;
		return rc;
	case K_BOOL:
		rc = parse_bool(value, k->name, &b, at, err);
		if (rc == ZITADEL_OK)
			*(int *)slot = b;
		return rc;
	case K_HOSTS:
	case K_LIST:
		rc = parse_list(value, k, &list, at, err);
		if (rc == ZITADEL_OK) {
			free_list(*(char ***)slot);
			*(char ***)slot = list;
		}
		return rc;
	}
	if (rc == ZITADEL_OK) {
		free(*(char **)slot);
		*(char **)slot = s;
	}
	return rc;
}

static const struct key_def *find_key(const struct key_def *keys,
				      const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

static zitadel_status unknown_key(const char *section, const char *key,
				  const struct where *at, zitadel_error *err)
{
	char shown[ZT_LOG_CLIP + 4];
	size_t i;

	zt_clip(key, strlen(key), shown, sizeof(shown));
	for (i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
		if (strcmp(key, secret_keys[i].key) == 0)
			return bad(err, at,
				   "key \"%s\" would hold a secret; the config "
				   "holds only paths to secrets (use %s)",
				   shown, secret_keys[i].instead);
	return bad(err, at, "unknown key \"%s\" in [%s]", shown, section);
}

/* ---- sections --------------------------------------------------------- */

static int valid_profile_name(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > PROFILE_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			return 0;
	return 1;
}

static struct profile *find_profile(const zitadel_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nprofiles; i++)
		if (strcmp(cfg->profiles[i]->name, name) == 0)
			return cfg->profiles[i];
	return NULL;
}

/* The profile NAME, created at the end of the list when new; the place it
 * was (re)opened is remembered for whole-profile messages. */
static zitadel_status open_profile(zitadel_config *cfg, const char *name,
				   const struct where *at, struct profile **out,
				   zitadel_error *err)
{
	struct profile *p = find_profile(cfg, name), **grown;
	char *origin;

	*out = NULL;
	if (p == NULL) {
		p = zt_calloc(1, sizeof(*p));
		grown = zt_realloc(cfg->profiles,
				   (cfg->nprofiles + 1) * sizeof(*grown));
		if (p != NULL)
			p->name = zt_strdup(name);
		if (p == NULL || grown == NULL || p->name == NULL) {
			if (grown != NULL)
				cfg->profiles = grown;
			profile_free(p);
			return zt_error(err, ZITADEL_ERR_NOMEM,
					"out of memory reading config");
		}
		cfg->profiles = grown;
		cfg->profiles[cfg->nprofiles++] = p;
		sync_profile(p);
	}
	origin = zt_strdup(at->origin);
	if (origin == NULL)
		return zt_error(err, ZITADEL_ERR_NOMEM,
				"out of memory reading config");
	free(p->origin);
	p->origin = origin;
	p->line = at->line;
	*out = p;
	return ZITADEL_OK;
}

static zitadel_status set_defaults_key(zitadel_config *cfg, const char *key,
				       const char *value, const char *file_dir,
				       const struct where *at,
				       zitadel_error *err)
{
	static const struct key_def margin = {"cache_margin", K_SECONDS, 0, 0,
					      86400};
	zitadel_status rc;
	char *s = NULL;
	long secs;

	if (strcmp(key, "profile") == 0) {
		if (value[0] != '\0' && !valid_profile_name(value))
			return bad(err, at,
				   "profile must name a profile (letters, "
				   "digits, '.', '-', '_')");
		s = value[0] != '\0' ? zt_strdup(value) : NULL;
		if (value[0] != '\0' && s == NULL)
			return zt_error(err, ZITADEL_ERR_NOMEM,
					"out of memory reading config");
		free(cfg->default_profile);
		cfg->default_profile = s;
		s = zt_strdup(at->origin);
		if (s == NULL)
			return zt_error(err, ZITADEL_ERR_NOMEM,
					"out of memory reading config");
		free(cfg->default_profile_origin);
		cfg->default_profile_origin = s;
		cfg->default_profile_line = at->line;
		return ZITADEL_OK;
	}
	if (strcmp(key, "cache_dir") == 0) {
		if (value[0] == '\0') {
			free(cfg->cache_dir);
			cfg->cache_dir = NULL;
			return ZITADEL_OK;
		}
		rc = parse_path(value, key, file_dir, &s, at, err);
		if (rc == ZITADEL_OK) {
			free(cfg->cache_dir);
			cfg->cache_dir = s;
		}
		return rc;
	}
	if (strcmp(key, "cache_margin") == 0) {
		if (value[0] == '\0') {
			cfg->cache_margin = -1;
			return ZITADEL_OK;
		}
		rc = parse_seconds(value, &margin, &secs, at, err);
		if (rc == ZITADEL_OK)
			cfg->cache_margin = secs;
		return rc;
	}
	return unknown_key("defaults", key, at, err);
}

/* Split "profile NAME"; *name points into section. 1 when it is one. */
static int profile_section(const char *section, const char **name)
{
	if (strncmp(section, "profile", 7) != 0 ||
	    !isspace((unsigned char)section[7]))
		return 0;
	section += 7;
	while (isspace((unsigned char)*section))
		section++;
	*name = section;
	return 1;
}

static zitadel_status set_key(zitadel_config *cfg, const char *section,
			      const char *key, const char *value,
			      const char *file_dir, const struct where *at,
			      zitadel_error *err)
{
	const struct key_def *k;
	struct profile *p = NULL;
	zitadel_status rc;
	const char *name;

	if (strcmp(section, "defaults") == 0)
		return set_defaults_key(cfg, key, value, file_dir, at, err);
	if (strcmp(section, "pam") == 0) {
		k = find_key(pam_keys, key);
		if (k == NULL)
			return unknown_key(section, key, at, err);
		rc = apply_key(&cfg->pam, k, value, file_dir, at, err);
		sync_pam(&cfg->pam);
		return rc;
	}
	if (!profile_section(section, &name))
		return bad(err, at, "unknown section [%s]", section);
	if (!valid_profile_name(name))
		return bad(err, at,
			   "profile name \"%s\" may hold only letters, digits, "
			   "'.', '-' and '_' (at most %d)",
			   name, PROFILE_NAME_MAX);
	k = find_key(profile_keys, key);
	if (k == NULL)
		return unknown_key(section, key, at, err);
	p = find_profile(cfg, name);
	if (p == NULL) {
		rc = open_profile(cfg, name, at, &p, err);
		if (rc != ZITADEL_OK)
			return rc;
	}
	rc = apply_key(p, k, value, file_dir, at, err);
	sync_profile(p);
	return rc;
}

zitadel_status zitadel_config_set(zitadel_config *cfg, const char *section,
				  const char *key, const char *value,
				  const char *origin, zitadel_error *err)
{
	struct where at;
	char shown[ZT_LOG_CLIP + 4];

	if (cfg == NULL || section == NULL || key == NULL || value == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"config setting without section, key or value");
	at.origin = origin != NULL ? origin : "setting";
	at.line = 0;
	if (strlen(value) > ZT_CONFIG_MAX) {
		zt_clip(key, strlen(key), shown, sizeof(shown));
		return bad(err, &at, "value of %s is too long", shown);
	}
	return set_key(cfg, section, key, value, NULL, &at, err);
}

/* ---- reading a file --------------------------------------------------- */

/* What one file's parse needs; the reader and handler share it. */
struct parse {
	zitadel_config *cfg;
	const char *path;
	char *dir; /* of path, for relative paths */
	const char *text;
	size_t pos, len;
	int line;
	char section[128]; /* the current section, trimmed; "" before one */
	int section_ok;
	char **seen; /* "section\nkey" and "[profile NAME" seen in this file */
	size_t nseen;
	zitadel_error *err;
	zitadel_status rc;
};

static int seen_before(struct parse *ps, const char *a, const char *b)
{
	char *entry, **grown;
	size_t i;

	entry = zt_asprintf("%s\n%s", a, b);
	if (entry == NULL) {
		ps->rc = zt_error(ps->err, ZITADEL_ERR_NOMEM,
				  "out of memory reading config");
		return -1;
	}
	for (i = 0; i < ps->nseen; i++) {
		if (strcmp(ps->seen[i], entry) == 0) {
			free(entry);
			return 1;
		}
	}
	grown = zt_realloc(ps->seen, (ps->nseen + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(entry);
		ps->rc = zt_error(ps->err, ZITADEL_ERR_NOMEM,
				  "out of memory reading config");
		return -1;
	}
	ps->seen = grown;
	ps->seen[ps->nseen++] = entry;
	return 0;
}

/* A [section] line, seen by the reader before inih gets it. */
static void on_section(struct parse *ps, const char *start, size_t len)
{
	struct where at = {ps->path, ps->line};
	const char *name;
	struct profile *p;
	int dup;

	while (len > 0 && isspace((unsigned char)start[len - 1]))
		len--;
	while (len > 0 && isspace((unsigned char)*start)) {
		start++;
		len--;
	}
	ps->section_ok = 0;
	if (len >= sizeof(ps->section)) {
		ps->rc = bad(ps->err, &at, "section name too long");
		return;
	}
	memcpy(ps->section, start, len);
	ps->section[len] = '\0';

	if (strcmp(ps->section, "defaults") == 0 ||
	    strcmp(ps->section, "pam") == 0) {
		ps->section_ok = 1;
		return;
	}
	if (!profile_section(ps->section, &name)) {
		ps->rc = bad(ps->err, &at,
			     "unknown section [%s] (expected [defaults], "
			     "[pam] or [profile NAME])",
			     ps->section);
		return;
	}
	if (!valid_profile_name(name)) {
		ps->rc = bad(ps->err, &at,
			     "profile name \"%s\" may hold only letters, "
			     "digits, '.', '-' and '_' (at most %d)",
			     name, PROFILE_NAME_MAX);
		return;
	}
	dup = seen_before(ps, "[profile", name);
	if (dup < 0)
		return;
	if (dup) {
		ps->rc = bad(ps->err, &at,
			     "duplicate profile \"%s\" (each profile is one "
			     "section)",
			     name);
		return;
	}
	ps->rc = open_profile(ps->cfg, name, &at, &p, ps->err);
	if (ps->rc == ZITADEL_OK)
		ps->section_ok = 1;
}

/*
 * inih's line source. Counting lines here gives the line number inih does
 * not pass on; leading white space is dropped so that an indented key is a
 * key, never a continuation of the previous value.
 */
static char *reader(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	const char *start, *nl;
	size_t len;

	if (ps->rc != ZITADEL_OK || ps->pos >= ps->len)
		return NULL;
	start = ps->text + ps->pos;
	nl = memchr(start, '\n', ps->len - ps->pos);
	len = nl != NULL ? (size_t)(nl - start) : ps->len - ps->pos;
	ps->pos += len + (nl != NULL ? 1 : 0);
	ps->line++;

	if (len > 0 && start[len - 1] == '\r')
		len--;
	while (len > 0 && (*start == ' ' || *start == '\t')) {
		start++;
		len--;
	}
	if (num < 4 || len + 3 > (size_t)num) {
		struct where at = {ps->path, ps->line};

		ps->rc = bad(ps->err, &at, "line longer than %d characters",
			     num - 3);
		return NULL;
	}
	memcpy(str, start, len);
	str[len] = '\n';
	str[len + 1] = '\0';

	if (len > 0 && start[0] == '[') {
		const char *end = memchr(start, ']', len);
		struct where at = {ps->path, ps->line};

		/* Said here, on its own line: inih would go on, and the keys
		 * below would be blamed for standing before any section. */
		if (end == NULL) {
			ps->rc = bad(ps->err, &at,
				     "malformed section header: no closing "
				     "']'");
			return NULL;
		}
		on_section(ps, start + 1, (size_t)(end - start - 1));
	}
	return str;
}

static int handler(void *user, const char *section, const char *name,
		   const char *value)
{
	struct parse *ps = user;
	struct where at = {ps->path, ps->line};
	char shown[ZT_LOG_CLIP + 4];
	int dup;

	(void)section; /* inih's copy is untrimmed; the reader keeps ours */
	if (ps->rc != ZITADEL_OK)
		return 0;
	if (ps->section[0] == '\0') {
		ps->rc =
		    bad(ps->err, &at, "key \"%s\" before any [section]", name);
		return 0;
	}
	if (!ps->section_ok)
		return 0;

	dup = seen_before(ps, ps->section, name);
	if (dup < 0)
		return 0;
	if (dup) {
		zt_clip(name, strlen(name), shown, sizeof(shown));
		ps->rc = bad(ps->err, &at, "key \"%s\" given twice in [%s]",
			     shown, ps->section);
		return 0;
	}
	ps->rc =
	    set_key(ps->cfg, ps->section, name, value, ps->dir, &at, ps->err);
	return ps->rc == ZITADEL_OK;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return zt_strdup(".");
	if (slash == path)
		return zt_strdup("/");
	return zt_strndup(path, (size_t)(slash - path));
}

/* Read path (following symlinks: /etc/zitadel/client.conf may be one). A
 * missing file is *missing = 1 and no error. */
static zitadel_status read_config_file(const char *path, char **text,
				       size_t *len, int *missing,
				       zitadel_error *err)
{
	struct where at = {path, 0};
	zitadel_status rc;
	struct stat st;
	int fd;

	*text = NULL;
	*missing = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT) {
			*missing = 1;
			return ZITADEL_OK;
		}
		return zt_error(err, ZITADEL_ERR_CONFIG,
				"cannot open config file %s: %s", path,
				strerror(errno));
	}
	/* The open did not wait on a FIFO (O_NONBLOCK); refuse one here. */
	rc = zt_fd_require_regular(fd, "config file", path, ZITADEL_ERR_CONFIG,
				   err);
	if (rc != ZITADEL_OK) {
		close(fd);
		return rc;
	}
	/* Anyone who can write the file chooses where tokens are sent. */
	if (fstat(fd, &st) == 0 && (st.st_mode & 022) != 0) {
		close(fd);
		return bad(err, &at,
			   "writable by group or others (mode %04o); refusing "
			   "to use it (chmod 644 %s)",
			   (unsigned)(st.st_mode & 07777), path);
	}
	if (fstat(fd, &st) == 0 && st.st_uid != 0 && st.st_uid != geteuid()) {
		close(fd);
		return bad(err, &at,
			   "owned by uid %lu; refusing to use it (it must be "
			   "owned by root or by uid %lu)",
			   (unsigned long)st.st_uid, (unsigned long)geteuid());
	}
	rc = zt_read_fd_checked(fd, path, ZT_CONFIG_MAX, 0, text, len, err);
	close(fd);
	if (rc == ZITADEL_OK && memchr(*text, '\0', *len) != NULL) {
		free(*text);
		*text = NULL;
		return bad(err, &at, "contains a NUL byte");
	}
	return rc;
}

static zitadel_status parse_file(zitadel_config *cfg, const char *path,
				 int must_exist, zitadel_error *err)
{
	struct parse ps;
	char *text = NULL;
	size_t len = 0, i;
	int missing, line;

	memset(&ps, 0, sizeof(ps));
	ps.rc = read_config_file(path, &text, &len, &missing, err);
	if (ps.rc != ZITADEL_OK)
		return ps.rc;
	if (missing) {
		if (must_exist)
			return zt_error(err, ZITADEL_ERR_CONFIG,
					"config file %s does not exist", path);
		return ZITADEL_OK;
	}

	ps.cfg = cfg;
	ps.path = path;
	ps.text = text;
	ps.len = len;
	/* A UTF-8 byte order mark, as some Windows editors write, is not part
	 * of the first line. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		ps.pos = 3;
	ps.err = err;
	ps.dir = dir_of(path);
	if (ps.dir == NULL) {
		ps.rc = zt_error(err, ZITADEL_ERR_NOMEM,
				 "out of memory reading config");
		goto out;
	}

	line = ini_parse_stream(reader, &ps, handler, &ps);
	if (ps.rc == ZITADEL_OK && line != 0) {
		struct where at = {path, line};

		ps.rc = line > 0 ? bad(err, &at,
				       "expected \"key = value\" or "
				       "\"[section]\"")
				 : zt_error(err, ZITADEL_ERR_NOMEM,
					    "out of memory reading config");
	}
out:
	for (i = 0; i < ps.nseen; i++)
		free(ps.seen[i]);
	free(ps.seen);
	free(ps.dir);
	free(text);
	return ps.rc;
}

/* ---- whole-config checks ---------------------------------------------- */

static zitadel_status check_profile(const struct profile *p, zitadel_error *err)
{
	struct where at = {p->origin != NULL ? p->origin : "config", p->line};
	int creds = 0;

	if (p->issuer == NULL)
		return bad(err, &at, "profile \"%s\" has no issuer", p->name);
	if ((p->client_id == NULL) != (p->client_secret_file == NULL))
		return bad(err, &at,
			   "profile \"%s\": client_id and client_secret_file "
			   "go together",
			   p->name);
	creds = (p->key_file != NULL) + (p->key_credential != NULL) +
		(p->pat_file != NULL) + (p->client_id != NULL);
	if (creds == 0)
		return bad(err, &at,
			   "profile \"%s\" has no credential: set one of "
			   "key_file, key_credential, pat_file, or client_id "
			   "with client_secret_file",
			   p->name);
	if (creds > 1)
		return bad(err, &at,
			   "profile \"%s\" has more than one credential; keep "
			   "one of key_file, key_credential, pat_file, "
			   "client_id with client_secret_file",
			   p->name);
	return ZITADEL_OK;
}

static zitadel_status check_config(const zitadel_config *cfg,
				   zitadel_error *err)
{
	zitadel_status rc;
	size_t i;

	for (i = 0; i < cfg->nprofiles; i++) {
		rc = check_profile(cfg->profiles[i], err);
		if (rc != ZITADEL_OK)
			return rc;
	}
	if (cfg->default_profile != NULL &&
	    find_profile(cfg, cfg->default_profile) == NULL) {
		struct where at = {cfg->default_profile_origin,
				   cfg->default_profile_line};

		return bad(err, &at, "default profile \"%s\" is not defined",
			   cfg->default_profile);
	}
	return ZITADEL_OK;
}

static char *user_config_path(void)
{
	const char *xdg = secure_getenv("XDG_CONFIG_HOME");
	const char *home = secure_getenv("HOME");
	struct passwd *pw;

	if (xdg != NULL && xdg[0] == '/')
		return zt_asprintf("%s/zitadel/client.conf", xdg);
	if (home == NULL || home[0] != '/') {
		pw = getpwuid(geteuid());
		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if (home == NULL || home[0] != '/')
		return zt_strdup("");
	return zt_asprintf("%s/.config/zitadel/client.conf", home);
}

zitadel_status zitadel_config_load(const char *path, zitadel_config **out,
				   zitadel_error *err)
{
	zitadel_config *cfg = NULL;
	zitadel_status rc;
	const char *env;
	char *user = NULL;

	if (out == NULL)
		return zt_error(err, ZITADEL_ERR_INVALID_ARGUMENT,
				"no place for the config");
	*out = NULL;
	rc = zitadel_config_new(&cfg, err);
	if (rc != ZITADEL_OK)
		goto out;

	env = secure_getenv("ZITADEL_CONFIG");
	if (path != NULL && path[0] != '\0') {
		rc = parse_file(cfg, path, 1, err);
	} else if (env != NULL && env[0] != '\0') {
		rc = parse_file(cfg, env, 1, err);
	} else {
		rc = parse_file(
		    cfg, search_system != NULL ? search_system : SYSTEM_CONFIG,
		    0, err);
		if (rc != ZITADEL_OK)
			goto out;
		user = search_user != NULL ? zt_strdup(search_user)
					   : user_config_path();
		if (user == NULL) {
			rc = zt_error(err, ZITADEL_ERR_NOMEM,
				      "out of memory reading config");
			goto out;
		}
		if (user[0] != '\0')
			rc = parse_file(cfg, user, 0, err);
	}
	if (rc != ZITADEL_OK)
		goto out;
	rc = check_config(cfg, err);
	if (rc != ZITADEL_OK)
		goto out;

	*out = cfg;
	cfg = NULL;
	rc = ZITADEL_OK;
out:
	free(user);
	zitadel_config_free(cfg);
	return rc;
}

/* ---- lookups ---------------------------------------------------------- */

const zitadel_profile *zitadel_config_profile(const zitadel_config *cfg,
					      const char *name)
{
	const struct profile *p;

	if (cfg == NULL || name == NULL)
		return NULL;
	p = find_profile(cfg, name);
	return p != NULL ? &p->pub : NULL;
}

size_t zt_config_profile_count(const zitadel_config *cfg)
{
	return cfg != NULL ? cfg->nprofiles : 0;
}

const zitadel_profile *zt_config_profile_at(const zitadel_config *cfg, size_t i)
{
	if (cfg == NULL || i >= cfg->nprofiles)
		return NULL;
	return &cfg->profiles[i]->pub;
}

const zitadel_profile *zitadel_config_default_profile(const zitadel_config *cfg)
{
	if (cfg == NULL)
		return NULL;
	if (cfg->default_profile != NULL)
		return zitadel_config_profile(cfg, cfg->default_profile);
	if (cfg->nprofiles == 1)
		return &cfg->profiles[0]->pub;
	return NULL;
}

const zitadel_profile *
zitadel_config_profile_for_git_host(const zitadel_config *cfg, const char *host)
{
	size_t i, j;

	if (cfg == NULL || host == NULL || host[0] == '\0')
		return NULL;
	for (i = 0; i < cfg->nprofiles; i++) {
		char **hosts = cfg->profiles[i]->git_hosts;

		for (j = 0; hosts != NULL && hosts[j] != NULL; j++)
			if (strcasecmp(hosts[j], host) == 0)
				return &cfg->profiles[i]->pub;
	}
	return NULL;
}

/* "https://Registry.example.com/v1/" -> "Registry.example.com": the
 * scheme and everything from the first '/' after the host go. */
static void registry_host(const char *in, const char **start, size_t *len)
{
	const char *scheme = strstr(in, "://");

	if (scheme != NULL)
		in = scheme + 3;
	*start = in;
	*len = strcspn(in, "/");
}

const zitadel_profile *
zitadel_config_profile_for_docker_registry(const zitadel_config *cfg,
					   const char *registry)
{
	const char *want, *have;
	size_t wlen, hlen, i, j;

	if (cfg == NULL || registry == NULL)
		return NULL;
	registry_host(registry, &want, &wlen);
	if (wlen == 0)
		return NULL;
	for (i = 0; i < cfg->nprofiles; i++) {
		char **regs = cfg->profiles[i]->docker_registries;

		for (j = 0; regs != NULL && regs[j] != NULL; j++) {
			registry_host(regs[j], &have, &hlen);
			if (hlen == wlen && strncasecmp(have, want, wlen) == 0)
				return &cfg->profiles[i]->pub;
		}
	}
	return NULL;
}

const zitadel_profile *
zitadel_config_profile_for_kube_cluster(const zitadel_config *cfg,
					const char *server)
{
	size_t i, j;

	if (cfg == NULL || server == NULL || server[0] == '\0')
		return NULL;
	for (i = 0; i < cfg->nprofiles; i++) {
		char **kc = cfg->profiles[i]->kube_clusters;

		for (j = 0; kc != NULL && kc[j] != NULL; j++)
			if (strcmp(kc[j], server) == 0)
				return &cfg->profiles[i]->pub;
	}
	return NULL;
}

const zitadel_pam_config *zitadel_config_pam(const zitadel_config *cfg)
{
	return cfg != NULL ? &cfg->pam.pub : NULL;
}

const char *zitadel_config_cache_dir(const zitadel_config *cfg)
{
	return cfg != NULL ? cfg->cache_dir : NULL;
}

long zitadel_config_cache_margin(const zitadel_config *cfg)
{
	return cfg != NULL ? cfg->cache_margin : -1;
}
