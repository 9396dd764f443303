/*
 * cmd.c: the commands for people and scripts: `token` prints the access
 * token, `erase` drops its cache entry. Both use --profile, else the
 * default profile, with options and environment on top.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "internal.h"

static int plain_target(const zh_options *o, zitadel_config **cfg, zh_target *t,
			zh_fail *fail)
{
	const zitadel_profile *p = NULL;
	int rc;

	rc = zh_config_load(o, 0, cfg, fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	rc = zh_profile_named(o, *cfg, &p, fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	if (p == NULL && *cfg != NULL)
		p = zitadel_config_default_profile(*cfg);
	return zh_target_resolve(o, *cfg, p, t, fail);
}

static int no_arguments(const char *cmd, int argc, char **argv)
{
	if (argc == 0)
		return ZH_EXIT_OK;
	fprintf(stderr, "%s: %s takes no argument, got '%s'\n", zh_prog, cmd,
		argv[0]);
	return ZH_EXIT_USAGE;
}

static int print_token(const zh_token *tok, zh_fail *fail)
{
	size_t n = strlen(tok->token->access_token);
	char *line;
	int r, e;

	line = zt_malloc(n + 2);
	if (line == NULL)
		return zh_failf(fail, ZH_EXIT_LOCAL, "out of memory");
	memcpy(line, tok->token->access_token, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	r = zh_write_all(1, line, n + 1);
	e = errno;
	zt_free_secret(line);
	if (r < 0)
		return zh_failf(fail, ZH_EXIT_LOCAL,
				"cannot write the token to stdout: %s",
				strerror(e));
	return ZH_EXIT_OK;
}

int zh_cmd_token(const zh_options *o, int argc, char **argv)
{
	zh_fail fail = {0, ""};
	zitadel_config *cfg = NULL;
	zh_target t = {0};
	zh_token tok = {0};
	int rc;

	rc = no_arguments("token", argc, argv);
	if (rc != ZH_EXIT_OK)
		return rc;
	rc = plain_target(o, &cfg, &t, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = zh_token_get(&t, &tok, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = print_token(&tok, &fail);
out:
	if (rc != ZH_EXIT_OK)
		fprintf(stderr, "%s: %s\n", zh_prog, fail.message);
	zh_token_release(&tok);
	zh_target_clear(&t);
	zitadel_config_free(cfg);
	return rc;
}

int zh_cmd_erase(const zh_options *o, int argc, char **argv)
{
	zh_fail fail = {0, ""};
	zitadel_config *cfg = NULL;
	zh_target t = {0};
	int rc;

	rc = no_arguments("erase", argc, argv);
	if (rc != ZH_EXIT_OK)
		return rc;
	rc = plain_target(o, &cfg, &t, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = zh_token_erase(&t, &fail);
out:
	if (rc != ZH_EXIT_OK)
		fprintf(stderr, "%s: %s\n", zh_prog, fail.message);
	zh_target_clear(&t);
	zitadel_config_free(cfg);
	return rc;
}
