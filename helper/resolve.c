/*
 * resolve.c: from options, environment and config profile to the settings
 * of one target. The config parser is libzitadel-core's; this file only
 * decides which value wins.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "internal.h"

void zh_target_clear(zh_target *t)
{
	free(t->cache_dir);
	memset(t, 0, sizeof(*t));
}

int zh_config_load(const zh_options *o, int need, zitadel_config **out,
		   zh_fail *fail)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_status st;

	*out = NULL;

	/* Options alone are enough: a broken default config must not stop a
	 * caller that named everything itself. An explicit file is read. */
	if (!need && o->issuer != NULL && o->key_file != NULL &&
	    o->config == NULL)
		return ZH_EXIT_OK;

	st = zitadel_config_load(o->config, out, &err);
	if (st != ZITADEL_OK) {
		*out = NULL;
		return zh_failf(fail,
				st == ZITADEL_ERR_NOMEM ? ZH_EXIT_LOCAL
							: ZH_EXIT_CONFIG,
				"config: %s",
				err.message[0] != '\0' ? err.message
						       : zitadel_strerror(st));
	}
	zh_debug("config loaded from %s",
		 o->config != NULL ? o->config : "the default locations");
	return ZH_EXIT_OK;
}

int zh_profile_named(const zh_options *o, const zitadel_config *cfg,
		     const zitadel_profile **out, zh_fail *fail)
{
	*out = NULL;
	if (o->profile == NULL)
		return ZH_EXIT_OK;
	if (cfg != NULL)
		*out = zitadel_config_profile(cfg, o->profile);
	if (*out == NULL)
		return zh_failf(fail, ZH_EXIT_CONFIG,
				"config: no profile named '%s'", o->profile);
	return ZH_EXIT_OK;
}

static const char *first(const char *a, const char *b)
{
	return a != NULL ? a : b;
}

static void resolve_timeouts(const zh_options *o, const zitadel_profile *p,
			     zh_target *t)
{
	if (p != NULL) {
		t->connect_ms = p->connect_timeout_ms;
		t->total_ms = p->timeout_ms;
	}
	if (o->timeout_s > 0) {
		t->total_ms = o->timeout_s * 1000;
		if (t->connect_ms == 0 || t->connect_ms > t->total_ms)
			t->connect_ms = t->total_ms;
	}
}

static int resolve_cache(const zh_options *o, const zitadel_config *cfg,
			 zh_target *t, zh_fail *fail)
{
	const char *dir = o->cache_dir;

	t->cache_enabled = !o->no_cache;
	t->margin = o->cache_margin;
	if (t->margin < 0 && cfg != NULL)
		t->margin = zitadel_config_cache_margin(cfg);
	if (dir == NULL && cfg != NULL)
		dir = zitadel_config_cache_dir(cfg);
	if (dir != NULL) {
		t->cache_dir = zt_strdup(dir);
		if (t->cache_dir == NULL)
			return zh_failf(fail, ZH_EXIT_LOCAL, "out of memory");
	}
	return ZH_EXIT_OK;
}

/* Which credential the target uses. The config allows one per profile;
 * --key-file has already replaced the profile's. */
static int pick_credential(const zitadel_profile *p, zh_target *t,
			   zh_fail *fail)
{
	if (t->key_file != NULL || t->key_credential != NULL) {
		t->cred = ZH_CRED_KEY;
		return ZH_EXIT_OK;
	}
	if (t->client_id != NULL && t->client_secret_file != NULL) {
		t->cred = ZH_CRED_SECRET;
		return ZH_EXIT_OK;
	}
	if (t->pat_file != NULL) {
		t->cred = ZH_CRED_PAT;
		return ZH_EXIT_OK;
	}
	if (p != NULL)
		return zh_failf(fail, ZH_EXIT_CONFIG,
				"config: profile '%s' has no credential: set "
				"key_file, key_credential, pat_file, or "
				"client_id with client_secret_file",
				p->name);
	return zh_failf(fail, ZH_EXIT_CONFIG,
			"no key file: give --key-file, ZITADEL_KEY_FILE or a "
			"profile in the config");
}

static void debug_target(const zh_target *t)
{
	const char *what, *which;

	switch (t->cred) {
	case ZH_CRED_PAT:
		what = "PAT file ";
		which = t->pat_file;
		break;
	case ZH_CRED_SECRET:
		what = "client id ";
		which = t->client_id;
		break;
	default:
		what = t->key_file != NULL ? "key " : "key credential ";
		which = t->key_file != NULL ? t->key_file : t->key_credential;
		break;
	}
	zh_debug("profile %s, issuer %s, %s%s",
		 t->profile_name != NULL ? t->profile_name : "(none)",
		 t->issuer, what, which);
}

int zh_target_resolve(const zh_options *o, const zitadel_config *cfg,
		      const zitadel_profile *p, zh_target *t, zh_fail *fail)
{
	int rc;

	memset(t, 0, sizeof(*t));
	t->margin = -1;

	if (p != NULL) {
		t->profile_name = p->name;
		t->issuer = p->issuer;
		t->key_file = p->key_file;
		t->key_credential = p->key_credential;
		t->pat_file = p->pat_file;
		t->client_id = p->client_id;
		t->client_secret_file = p->client_secret_file;
		t->scope = p->scope;
		t->ca_file = p->ca_file;
		t->username = p->username;
		t->git_bearer = p->git_bearer;
	}
	t->issuer = first(o->issuer, t->issuer);
	if (o->key_file != NULL) {
		t->key_file = o->key_file;
		t->key_credential = NULL;
		t->pat_file = NULL;
		t->client_id = NULL;
		t->client_secret_file = NULL;
	}
	t->scope = first(o->scope, t->scope);
	t->ca_file = first(o->ca_file, t->ca_file);
	resolve_timeouts(o, p, t);

	rc = resolve_cache(o, cfg, t, fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	if (t->issuer == NULL)
		return zh_failf(fail, ZH_EXIT_CONFIG,
				p != NULL ? "config: profile '%s' has no issuer"
					  : "no issuer: give --issuer, "
					    "ZITADEL_ISSUER or a profile in "
					    "the config%s",
				p != NULL ? p->name : "");
	rc = pick_credential(p, t, fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	debug_target(t);
	return ZH_EXIT_OK;
}
