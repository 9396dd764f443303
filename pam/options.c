/*
 * options.c: module arguments and the config file. key=value arguments go
 * through the library's own config validation (the [pam] section); the
 * few bare flags are the module's.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>

#include "pam_zitadel.h"

static int flag_set(const char *arg, struct pz_opts *opts)
{
	if (strcmp(arg, "debug") == 0)
		opts->debug = 1;
	else if (strcmp(arg, "use_first_pass") == 0)
		opts->use_first_pass = 1;
	else if (strcmp(arg, "try_first_pass") == 0)
		opts->try_first_pass = 1;
	else if (strcmp(arg, "required_credential") == 0)
		opts->required_credential = 1;
	else
		return -1;
	return 0;
}

/*
 * The config file steers who may log in, so it gets the same scrutiny as a
 * key file minus the secrecy: no symlink, regular, owned by root (or the
 * effective uid, for tests), not writable by group or others.
 */
static int config_file_safe(pam_handle_t *pamh, const char *path, int *missing)
{
	struct stat st;
	int fd;

	*missing = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			*missing = 1;
		else
			pz_log(pamh, LOG_ERR, "config file %s: %s", path,
			       strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		pz_log(pamh, LOG_ERR,
		       "config file %s is not a regular file owned by root and "
		       "writable only by it (mode %04o, uid %ld)",
		       path, (unsigned)(st.st_mode & 07777), (long)st.st_uid);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int config_read(pam_handle_t *pamh, const char *path, int explicit_path,
		       zitadel_config **out)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_status st;
	int missing;

	if (config_file_safe(pamh, path, &missing) != 0) {
		if (missing && !explicit_path)
			st = zitadel_config_new(out, &err);
		else {
			if (missing)
				pz_log(pamh, LOG_ERR,
				       "config file %s does not exist", path);
			return PAM_SERVICE_ERR;
		}
	} else
		st = zitadel_config_load(path, out, &err);
	if (st != ZITADEL_OK) {
		pz_log(pamh, LOG_ERR, "config: %s",
		       err.message[0] != '\0' ? err.message
					      : zitadel_strerror(st));
		return st == ZITADEL_ERR_NOMEM ? PAM_BUF_ERR : PAM_SERVICE_ERR;
	}
	return PAM_SUCCESS;
}

/* Apply one key=value argument with the file's validation. */
static int argument_apply(pam_handle_t *pamh, zitadel_config *cfg,
			  const char *arg)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	const char *eq = strchr(arg, '=');
	zitadel_status st;
	char *key;

	if (eq == NULL || eq == arg) {
		pz_log(pamh, LOG_ERR, "unknown module argument \"%.64s\"", arg);
		return PAM_SERVICE_ERR;
	}
	if ((key = strndup(arg, (size_t)(eq - arg))) == NULL)
		return PAM_BUF_ERR;
	st = zitadel_config_set(cfg, "pam", key, eq + 1, "module argument",
				&err);
	if (st != ZITADEL_OK)
		pz_log(pamh, LOG_ERR, "module argument %.64s: %s", key,
		       err.message[0] != '\0' ? err.message
					      : zitadel_strerror(st));
	free(key);
	if (st == ZITADEL_ERR_NOMEM)
		return PAM_BUF_ERR;
	return st == ZITADEL_OK ? PAM_SUCCESS : PAM_SERVICE_ERR;
}

int pz_opts_parse(pam_handle_t *pamh, int argc, const char **argv,
		  struct pz_opts *opts)
{
	const char *config_path = NULL;
	int i, rc = PAM_SERVICE_ERR;

	memset(opts, 0, sizeof(*opts));

	/* config= is read first wherever it stands, so that the other
	 * arguments always override the file. */
	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL || strncmp(argv[i], "config=", 7) != 0)
			continue;
		if (config_path != NULL || argv[i][7] == '\0') {
			pz_log(pamh, LOG_ERR,
			       "module argument config= given twice or empty");
			goto out;
		}
		config_path = argv[i] + 7;
	}
	rc = config_read(pamh, config_path ? config_path : PZ_DEFAULT_CONFIG,
			 config_path != NULL, &opts->cfg);
	if (rc != PAM_SUCCESS)
		goto out;
	rc = PAM_SERVICE_ERR;

	for (i = 0; i < argc; i++) {
		if (argv[i] == NULL || strncmp(argv[i], "config=", 7) == 0)
			continue;
		if (flag_set(argv[i], opts) == 0)
			continue;
		if ((rc = argument_apply(pamh, opts->cfg, argv[i])) !=
		    PAM_SUCCESS)
			goto out;
		rc = PAM_SERVICE_ERR;
	}

	opts->pam = zitadel_config_pam(opts->cfg);
	if (opts->pam == NULL) {
		pz_log(pamh, LOG_ERR, "config has no [pam] settings");
		goto out;
	}
	if (opts->pam->debug)
		opts->debug = 1;
	if (opts->pam->required_credential)
		opts->required_credential = 1;
	if (opts->use_first_pass && opts->try_first_pass) {
		pz_log(pamh, LOG_ERR,
		       "use_first_pass and try_first_pass exclude each other");
		goto out;
	}
	if (opts->pam->issuer == NULL || opts->pam->issuer[0] == '\0') {
		pz_log(pamh, LOG_ERR, "no issuer configured");
		goto out;
	}

	rc = PAM_SUCCESS;
out:
	if (rc != PAM_SUCCESS)
		pz_opts_free(opts);
	return rc;
}

void pz_opts_free(struct pz_opts *opts)
{
	if (opts == NULL)
		return;
	zitadel_config_free(opts->cfg);
	opts->cfg = NULL;
	opts->pam = NULL;
}
