/*
 * docker.c: docker's credential-helper protocol (get, store, erase, list,
 * version), as docker-credential-zitadel or `zitadel-credential docker OP`.
 * As docker's reference helpers do, every failure is one line of text on
 * stdout and exit status 1; docker matches the not-found text exactly.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "helper.h"
#include "internal.h"

#define NOT_FOUND "credentials not found in native keychain"
#define NO_URL    "no credentials server URL"

/* A server URL is short; docker's store request carries a secret and is
 * JSON of three strings. */
#define URL_MAX   4096
#define STORE_MAX (64 * 1024)

/* docker reads a "<token>" user name as "the secret is a refresh token for
 * the registry's token service", which ours is not. */
#define DOCKER_IDENTITY_TOKEN_USER "<token>"

static int say(const char *text)
{
	printf("%s\n", text);
	fflush(stdout);
	return ZH_EXIT_REFUSED;
}

static int fail_out(const zh_fail *fail)
{
	printf("%s: %s\n", zh_prog, fail->message);
	fflush(stdout);
	return ZH_EXIT_REFUSED;
}

/* The server URL from stdin, surrounding whitespace trimmed. */
static int read_url(char **url, zh_fail *fail)
{
	char *buf, *start, *end;
	size_t len;
	int r;

	*url = NULL;
	r = zh_read_all(0, URL_MAX, &buf, &len);
	if (r == -2)
		return zh_failf(fail, ZH_EXIT_USAGE,
				"docker: server URL longer than %d bytes",
				URL_MAX);
	if (r < 0)
		return zh_failf(fail, ZH_EXIT_LOCAL,
				"docker: cannot read the server URL");
	start = buf;
	while (*start != '\0' && isspace((unsigned char)*start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	memmove(buf, start, (size_t)(end - start) + 1);
	*url = buf;
	return ZH_EXIT_OK;
}

/*
 * docker talks https to a registry unless told otherwise, so a bare host
 * (no scheme) is https. A URL that names any other scheme, or whose text
 * before "://" is no scheme at all, is a registry we do not serve: a token
 * must not travel in the clear, and the config matches hosts only.
 */
static int https_or_bare(const char *url)
{
	const char *sep = strstr(url, "://");

	if (sep == NULL)
		return 1;
	return sep - url == 5 && strncasecmp(url, "https", 5) == 0;
}

/* The profile for a registry; NULL when none serves it (or when
 * --profile names another one). */
static int find_profile(const zh_options *o, const char *url,
			zitadel_config **cfg, const zitadel_profile **p,
			zh_fail *fail)
{
	const zitadel_profile *named = NULL;
	int rc;

	*p = NULL;
	rc = zh_config_load(o, 1, cfg, fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	rc = zh_profile_named(o, *cfg, &named, fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	*p = zitadel_config_profile_for_docker_registry(*cfg, url);
	if (named != NULL && *p != named)
		*p = NULL;
	return ZH_EXIT_OK;
}

static const char *docker_username(const zh_target *t)
{
	return t->username != NULL ? t->username : "zitadel";
}

static int answer(const char *url, const zh_target *t, const zh_token *tok,
		  zh_fail *fail)
{
	json_t *root = json_object(), *secret = NULL;
	int rc = ZH_EXIT_LOCAL;

	if (root == NULL)
		goto nomem;
	secret = json_string(tok->token->access_token);
	if (secret == NULL ||
	    json_object_set_new(root, "ServerURL", json_string(url)) != 0 ||
	    json_object_set_new(root, "Username",
				json_string(docker_username(t))) != 0 ||
	    json_object_set(root, "Secret", secret) != 0)
		goto nomem;
	if (zh_json_print(1, root) < 0) {
		rc = zh_failf(fail, ZH_EXIT_LOCAL,
			      "docker: cannot write the answer");
		goto out;
	}
	rc = ZH_EXIT_OK;
	goto out;
nomem:
	rc = zh_failf(fail, ZH_EXIT_LOCAL,
		      "docker: cannot encode the answer (bad UTF-8 in the "
		      "URL or out of memory)");
out:
	if (secret != NULL) {
		zh_json_wipe_string(secret);
		json_decref(secret);
	}
	json_decref(root);
	return rc;
}

static int docker_get_or_erase(const zh_options *o, int erase)
{
	zh_fail fail = {0, ""};
	const zitadel_profile *p = NULL;
	zitadel_config *cfg = NULL;
	zh_target t = {0};
	zh_token tok = {0};
	char *url = NULL;
	int rc;

	rc = read_url(&url, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	if (url == NULL || url[0] == '\0') {
		rc = say(NO_URL);
		goto done;
	}
	if (!https_or_bare(url)) {
		zh_debug("docker: the server URL is not https");
		rc = say(NOT_FOUND);
		goto done;
	}
	rc = find_profile(o, url, &cfg, &p, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	if (p == NULL) {
		zh_debug("docker: no profile serves this registry");
		rc = say(NOT_FOUND);
		goto done;
	}
	rc = zh_target_resolve(o, cfg, p, &t, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	if (erase) {
		rc = zh_token_erase(&t, &fail);
		goto out;
	}
	if (strcmp(docker_username(&t), DOCKER_IDENTITY_TOKEN_USER) == 0) {
		rc = zh_failf(&fail, ZH_EXIT_CONFIG,
			      "config: profile '%s': username <token> would "
			      "make docker use the token as a refresh token",
			      p->name);
		goto out;
	}
	rc = zh_token_get(&t, &tok, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = answer(url, &t, &tok, &fail);
out:
	if (rc != ZH_EXIT_OK)
		rc = fail_out(&fail);
done:
	zh_token_release(&tok);
	zh_target_clear(&t);
	zitadel_config_free(cfg);
	free(url);
	return rc;
}

/* store: docker hands over a credential it got elsewhere; ours are minted
 * on demand, so there is nothing to keep. The input may hold a secret. */
static int docker_store(void)
{
	zh_fail fail = {0, ""};
	char *buf = NULL;
	size_t len;
	int r = zh_read_all(0, STORE_MAX, &buf, &len);

	zt_free_secret(buf);
	if (r == -2) {
		zh_failf(&fail, ZH_EXIT_USAGE,
			 "docker: store request longer than %d bytes",
			 STORE_MAX);
		return fail_out(&fail);
	}
	if (r < 0) {
		zh_failf(&fail, ZH_EXIT_LOCAL,
			 "docker: cannot read the store request");
		return fail_out(&fail);
	}
	return ZH_EXIT_OK;
}

/*
 * Add p's registries to the list, each with the user name get answers
 * with. A registry is listed only under the profile get picks for it (the
 * first one that names its host), and a profile get refuses for its
 * <token> user name lists nothing.
 */
static int list_profile(const zitadel_config *cfg, const zitadel_profile *p,
			json_t *root)
{
	const char *user = p->username != NULL ? p->username : "zitadel";
	const char *const *r;

	if (strcmp(user, DOCKER_IDENTITY_TOKEN_USER) == 0)
		return 0;
	for (r = p->docker_registries; r != NULL && *r != NULL; r++) {
		if (zitadel_config_profile_for_docker_registry(cfg, *r) != p)
			continue;
		if (json_object_set_new(root, *r, json_string(user)) != 0)
			return -1;
	}
	return 0;
}

/*
 * list: a JSON object of server URL -> user name, as docker's reference
 * helpers answer, over every profile; --profile narrows it to that one.
 */
static int docker_list(const zh_options *o)
{
	zh_fail fail = {0, ""};
	zitadel_config *cfg = NULL;
	const zitadel_profile *p = NULL;
	json_t *root = NULL;
	size_t i, n;
	int rc;

	rc = zh_config_load(o, 1, &cfg, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = zh_profile_named(o, cfg, &p, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	root = json_object();
	if (root == NULL) {
		rc = zh_failf(&fail, ZH_EXIT_LOCAL, "out of memory");
		goto out;
	}
	n = p != NULL ? 1 : zt_config_profile_count(cfg);
	for (i = 0; i < n; i++) {
		if (list_profile(cfg,
				 p != NULL ? p : zt_config_profile_at(cfg, i),
				 root) < 0) {
			rc = zh_failf(&fail, ZH_EXIT_LOCAL,
				      "docker: cannot encode the list");
			goto out;
		}
	}
	if (zh_json_print(1, root) < 0) {
		rc = zh_failf(&fail, ZH_EXIT_LOCAL,
			      "docker: cannot write the list");
		goto out;
	}
	rc = ZH_EXIT_OK;
out:
	json_decref(root);
	zitadel_config_free(cfg);
	if (rc != ZH_EXIT_OK)
		rc = fail_out(&fail);
	return rc;
}

int zh_face_docker(const zh_options *o, int argc, char **argv)
{
	const char *op = argc == 1 ? argv[0] : "";

	if (strcmp(op, "get") == 0)
		return docker_get_or_erase(o, 0);
	if (strcmp(op, "erase") == 0)
		return docker_get_or_erase(o, 1);
	if (strcmp(op, "store") == 0)
		return docker_store();
	if (strcmp(op, "list") == 0)
		return docker_list(o);
	if (strcmp(op, "version") == 0) {
		printf("docker-credential-zitadel (%s) %s\n", ZH_PROG,
		       ZITADEL_VERSION_STRING);
		return ZH_EXIT_OK;
	}
	printf("Usage: docker-credential-zitadel <get|store|erase|list|"
	       "version>\n");
	return ZH_EXIT_REFUSED;
}
