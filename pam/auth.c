/*
 * auth.c: pam_sm_authenticate's work. The password is a Zitadel token; it
 * is introspected with the module's own application credential and admits
 * the PAM user only when active and mapped to that user.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>

#include "pam_zitadel.h"

#define PZ_ORG_CLAIM "urn:zitadel:iam:user:resourceowner:id"

static void authenticated_cleanup(pam_handle_t *pamh, void *data,
				  int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

/* Ask through the application's conversation. Every odd answer (an
 * error, no response array, no string) is a conversation failure. */
static int prompt_token(pam_handle_t *pamh, char **typed)
{
	const struct pam_conv *conv = NULL;
	const void *item = NULL;
	struct pam_message msg;
	const struct pam_message *msgs[1];
	struct pam_response *resp = NULL;
	int r;

	*typed = NULL;
	if (pam_get_item(pamh, PAM_CONV, &item) != PAM_SUCCESS || item == NULL)
		return PAM_CONV_ERR;
	conv = item;
	if (conv->conv == NULL)
		return PAM_CONV_ERR;
	msg.msg_style = PAM_PROMPT_ECHO_OFF;
	msg.msg = PZ_PROMPT;
	msgs[0] = &msg;
	r = conv->conv(1, msgs, &resp, conv->appdata_ptr);
	if (resp != NULL) {
		*typed = resp[0].resp;
		free(resp);
	}
	if (r != PAM_SUCCESS || *typed == NULL) {
		pz_free_secret(*typed);
		*typed = NULL;
		pz_log(pamh, LOG_ERR, "conversation failed: %s",
		       r != PAM_SUCCESS ? pam_strerror(pamh, r)
					: "no response");
		return PAM_CONV_ERR;
	}
	return PAM_SUCCESS;
}

/*
 * The token to check: PAM_AUTHTOK with use_first_pass (none denies) or
 * try_first_pass (none prompts), else the prompt. *typed is what we own
 * and must wipe; *token may borrow PAM's item.
 */
static int token_get(pam_handle_t *pamh, const struct pz_opts *opts,
		     const char **token, char **typed)
{
	const void *item = NULL;
	int r;

	*token = NULL;
	*typed = NULL;
	if (opts->use_first_pass || opts->try_first_pass) {
		r = pam_get_item(pamh, PAM_AUTHTOK, &item);
		if (r == PAM_SUCCESS && item != NULL) {
			*token = item;
			return PAM_SUCCESS;
		}
		if (opts->use_first_pass) {
			pz_log(
			    pamh, LOG_NOTICE,
			    "use_first_pass: no token from an earlier module");
			return PAM_AUTH_ERR;
		}
	}
	if ((r = prompt_token(pamh, typed)) != PAM_SUCCESS)
		return r;
	*token = *typed;

	/* As pam_unix does, hand what was typed to the modules stacked after
	 * this one, so the user types one secret once. Over-long input is
	 * not passed on. */
	if (strnlen(*typed, PZ_TOKEN_MAX + 1) <= PZ_TOKEN_MAX &&
	    (r = pam_set_item(pamh, PAM_AUTHTOK, *typed)) != PAM_SUCCESS)
		return r == PAM_BUF_ERR ? PAM_BUF_ERR : PAM_AUTH_ERR;
	return PAM_SUCCESS;
}

/* Zitadel tokens (PATs, opaque and JWT access tokens) are printable ASCII
 * without spaces; anything else is not a token and never goes out. */
static int token_plausible(pam_handle_t *pamh, const char *token)
{
	size_t n = strnlen(token, PZ_TOKEN_MAX + 1), i;

	if (n == 0) {
		pz_log(pamh, LOG_NOTICE, "empty token");
		return 0;
	}
	if (n > PZ_TOKEN_MAX) {
		pz_log(pamh, LOG_NOTICE, "token longer than %d bytes",
		       PZ_TOKEN_MAX);
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)token[i];

		if (c < 0x21 || c > 0x7e) {
			pz_log(
			    pamh, LOG_NOTICE,
			    "token holds a byte that is not printable ASCII");
			return 0;
		}
	}
	return 1;
}

/* Load whichever client credential the config names. */
static int client_auth_load(pam_handle_t *pamh, const zitadel_pam_config *pam,
			    zitadel_client_auth *auth, zitadel_keyfile **key,
			    char **secret)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_status st;
	size_t len;
	int rc;

	memset(auth, 0, sizeof(*auth));
	*key = NULL;
	*secret = NULL;
	if (pam->app_key_file != NULL) {
		st = zitadel_keyfile_load(pam->app_key_file, key, &err);
		if (st != ZITADEL_OK) {
			pz_log(pamh, LOG_ERR, "app_key_file: %s",
			       err.message[0] != '\0' ? err.message
						      : zitadel_strerror(st));
			return pz_pam_code(st);
		}
		auth->key = *key;
		return PAM_SUCCESS;
	}
	if (pam->client_id == NULL || pam->client_secret_file == NULL) {
		pz_log(pamh, LOG_ERR,
		       "no introspection credential: set app_key_file, or "
		       "client_id and client_secret_file");
		return PAM_SERVICE_ERR;
	}
	rc = pz_read_file(pamh, pam->client_secret_file, PZ_SECRET_FILE_MAX, 1,
			  secret, &len);
	if (rc != PAM_SUCCESS)
		return rc;
	if (len > 0 && (*secret)[len - 1] == '\n')
		(*secret)[--len] = '\0';
	auth->client_id = pam->client_id;
	auth->client_secret = *secret;
	return PAM_SUCCESS;
}

/* user equals the claim, or, when require_org pins the org in which
 * usernames are unique, the claim's part before its last '@'. */
static int claim_matches(const char *claim, const char *user, int org_pinned)
{
	const char *at;

	if (strcmp(claim, user) == 0)
		return 1;
	if (!org_pinned || (at = strrchr(claim, '@')) == NULL)
		return 0;
	return strlen(user) == (size_t)(at - claim) &&
	       strncmp(claim, user, (size_t)(at - claim)) == 0;
}

/* Every check of an active token, in order; PAM_SUCCESS admits. */
static int token_admits(pam_handle_t *pamh, const struct pz_opts *opts,
			const zitadel_introspection *in, const char *user)
{
	const zitadel_pam_config *pam = opts->pam;
	const char *sub = zitadel_introspection_claim(in, "sub");
	const char *claim_name = pam->user_claim ? pam->user_claim : "username";
	const char *claim, *org;
	int found = 0, listed = 0, rc;

	if (!zitadel_introspection_active(in)) {
		pz_log(pamh, LOG_NOTICE, "user %s: token not active", user);
		return PAM_AUTH_ERR;
	}
	if (sub == NULL) {
		pz_log(pamh, LOG_ERR, "user %s: active token without sub",
		       user);
		return PAM_AUTH_ERR;
	}
	if (pam->map_file != NULL) {
		rc = pz_map_check(pamh, pam->map_file, sub, user, &found,
				  &listed);
		if (rc != PAM_SUCCESS)
			return rc;
		if (!found) {
			pz_log(pamh, LOG_NOTICE,
			       "user %s: zitadel user %s is not mapped to it "
			       "in %s",
			       user, sub, pam->map_file);
			return listed ? PAM_AUTH_ERR : PAM_USER_UNKNOWN;
		}
	} else {
		claim = zitadel_introspection_claim(in, claim_name);
		if (claim == NULL ||
		    !claim_matches(claim, user, pam->require_org != NULL)) {
			pz_log(pamh, LOG_NOTICE,
			       "user %s: claim %s of zitadel user %s does not "
			       "name this user",
			       user, claim_name, sub);
			return PAM_AUTH_ERR;
		}
	}
	if (pam->require_role != NULL &&
	    !zitadel_introspection_has_role(in, pam->require_role)) {
		pz_log(pamh, LOG_NOTICE,
		       "user %s: zitadel user %s lacks role %s", user, sub,
		       pam->require_role);
		return PAM_AUTH_ERR;
	}
	if (pam->require_org != NULL) {
		org = zitadel_introspection_claim(in, PZ_ORG_CLAIM);
		if (org == NULL || strcmp(org, pam->require_org) != 0) {
			pz_log(pamh, LOG_NOTICE,
			       "user %s: zitadel user %s is not in org %s",
			       user, sub, pam->require_org);
			return PAM_AUTH_ERR;
		}
	}
	return PAM_SUCCESS;
}

int pz_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	struct pz_opts opts;
	zitadel_client_auth auth;
	zitadel_keyfile *key = NULL;
	zitadel_ctx *ctx = NULL;
	zitadel_introspection *in = NULL;
	zitadel_status st;
	const char *user = NULL, *token = NULL, *sub;
	char *typed = NULL, *secret = NULL, *marker = NULL;
	int found, listed, have_opts = 0, rc = PAM_AUTH_ERR;

	(void)flags;
	pam_set_data(pamh, PZ_DATA_AUTHENTICATED, NULL, NULL);
	if ((rc = pz_opts_parse(pamh, argc, argv, &opts)) != PAM_SUCCESS)
		goto out;
	have_opts = 1;
	rc = PAM_AUTH_ERR;

	if ((rc = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS) {
		pz_log(pamh, LOG_ERR, "no user name: %s",
		       pam_strerror(pamh, rc));
		if (rc == PAM_CONV_AGAIN)
			rc = PAM_INCOMPLETE;
		goto out;
	}
	rc = PAM_AUTH_ERR;
	if (user == NULL || user[0] == '\0')
		goto out;

	/* Read the map file before asking, so a broken one fails the same
	 * way whatever the user types. */
	if (opts.pam->map_file != NULL &&
	    (rc = pz_map_check(pamh, opts.pam->map_file, "", user, &found,
			       &listed)) != PAM_SUCCESS)
		goto out;
	rc = PAM_AUTH_ERR;

	if ((rc = token_get(pamh, &opts, &token, &typed)) != PAM_SUCCESS)
		goto out;
	rc = PAM_AUTH_ERR;
	if (!token_plausible(pamh, token))
		goto out;

	if ((rc = client_auth_load(pamh, opts.pam, &auth, &key, &secret)) !=
	    PAM_SUCCESS)
		goto out;
	if ((rc = pz_ctx_new(pamh, &opts, &ctx)) != PAM_SUCCESS)
		goto out;
	rc = PAM_AUTH_ERR;

	st = zitadel_introspect(ctx, &auth, token, &in, &err);
	if (st != ZITADEL_OK) {
		pz_log(pamh, LOG_ERR, "user %s: introspection failed: %s", user,
		       err.message[0] != '\0' ? err.message
					      : zitadel_strerror(st));
		rc = pz_pam_code(st);
		goto out;
	}
	sub = zitadel_introspection_claim(in, "sub");
	pz_debug(pamh, &opts, "user %s: token active=%d sub=%s", user,
		 zitadel_introspection_active(in), sub != NULL ? sub : "-");
	if ((rc = token_admits(pamh, &opts, in, user)) != PAM_SUCCESS)
		goto out;
	rc = PAM_AUTH_ERR;

	/* Remember, for account management, whom this handle admitted. */
	if ((marker = strdup(user)) == NULL) {
		rc = PAM_BUF_ERR;
		goto out;
	}
	if (pam_set_data(pamh, PZ_DATA_AUTHENTICATED, marker,
			 authenticated_cleanup) != PAM_SUCCESS) {
		free(marker);
		rc = PAM_BUF_ERR;
		goto out;
	}
	pz_log(pamh, LOG_INFO, "user %s admitted as zitadel user %s", user,
	       sub);
	rc = PAM_SUCCESS;
out:
	zitadel_introspection_free(in);
	zitadel_ctx_free(ctx);
	zitadel_keyfile_free(key);
	pz_free_secret(secret);
	pz_free_secret(typed);
	if (have_opts)
		pz_opts_free(&opts);
	return rc;
}
