/*
 * pam_zitadel.c: the six PAM entry points, the only symbols the module
 * exports. auth and session do their work in auth.c and session.c; the
 * rest answer here with the results pam_zitadel(8) documents.
 */
#include "config.h"

#include <string.h>

#include <security/pam_modules.h>

#include "pam_zitadel.h"

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	return pz_authenticate(pamh, flags, argc, argv);
}

/* Nothing to set: the session credential comes with open_session. Only a
 * broken option set fails. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
			      const char **argv)
{
	struct pz_opts opts;
	int rc = PAM_CRED_ERR;

	(void)flags;
	if ((rc = pz_opts_parse(pamh, argc, argv, &opts)) != PAM_SUCCESS)
		return rc;
	pz_opts_free(&opts);
	rc = PAM_SUCCESS;
	return rc;
}

/*
 * The account is this module's to vouch for only when this handle's
 * authentication admitted the same user through it. Otherwise it has no
 * opinion (PAM_IGNORE): another account module decides, and a stack where
 * it is the only one fails, as libpam fails a stack nobody answered.
 */
PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc,
				const char **argv)
{
	struct pz_opts opts;
	const void *data = NULL;
	const char *user = NULL;
	int rc = PAM_PERM_DENIED;

	(void)flags;
	if ((rc = pz_opts_parse(pamh, argc, argv, &opts)) != PAM_SUCCESS)
		return rc;
	pz_opts_free(&opts);
	rc = PAM_PERM_DENIED;
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS ||
	    user == NULL)
		return rc;
	if (pam_get_data(pamh, PZ_DATA_AUTHENTICATED, &data) != PAM_SUCCESS ||
	    data == NULL) {
		rc = PAM_IGNORE;
		return rc;
	}
	if (strcmp((const char *)data, user) != 0)
		return rc;
	rc = PAM_SUCCESS;
	return rc;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc,
				   const char **argv)
{
	(void)flags;
	return pz_open_session(pamh, argc, argv);
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc,
				    const char **argv)
{
	(void)flags;
	return pz_close_session(pamh, argc, argv);
}

/* Tokens are issued by Zitadel, never changed through PAM. */
PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc,
				const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SERVICE_ERR;
}
