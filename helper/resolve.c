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

/* Say which credential is missing in the words of where it would come
 * from, since a profile may hold a kind the helper does not use. */
static int missing_credential(const zitadel_profile *p, zh_fail *fail)
{
	if (p != NULL && (p->pat_file != NULL || p->client_id != NULL))
		return zh_failf(fail, ZH_EXIT_CONFIG,
				"config: profile '%s' has no key_file or "
				"key_credential; the helper exchanges only "
				"machine keys",
				p->name);
	if (p != NULL)
		return zh_failf(fail, ZH_EXIT_CONFIG,
				"config: profile '%s' has no key_file",
				p->name);
	return zh_failf(fail, ZH_EXIT_CONFIG,
			"no key file: give --key-file, ZITADEL_KEY_FILE or a "
			"profile in the config");
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
		t->scope = p->scope;
		t->ca_file = p->ca_file;
		t->username = p->username;
		t->git_bearer = p->git_bearer;
	}
	t->issuer = first(o->issuer, t->issuer);
	if (o->key_file != NULL) {
		t->key_file = o->key_file;
		t->key_credential = NULL;
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
	if (t->key_file == NULL && t->key_credential == NULL)
		return missing_credential(p, fail);
	zh_debug("profile %s, issuer %s, key %s%s",
		 t->profile_name != NULL ? t->profile_name : "(none)",
		 t->issuer, t->key_file != NULL ? t->key_file : "credential ",
		 t->key_file != NULL ? "" : t->key_credential);
	return ZH_EXIT_OK;
}
