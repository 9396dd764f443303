/*
 * fuzz_config.c: the client config file (INI), written to a private file
 * and loaded with zitadel_config_load, then queried the way the helper,
 * zitadelctl and the PAM module query it. Users write this file, and root
 * reads it inside sshd.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "internal.h"

const char zt_fuzz_target[] = "config";

static void query(const zitadel_config *cfg)
{
	const zitadel_profile *p;
	const zitadel_pam_config *pam;
	const char *const *h;

	(void)zitadel_config_profile(cfg, "default");
	(void)zitadel_config_profile_for_git_host(cfg, "git.example");
	(void)zitadel_config_profile_for_docker_registry(
	    cfg, "https://registry.example:5000/v2/");
	(void)zitadel_config_profile_for_kube_cluster(
	    cfg, "https://kube.example:6443");
	(void)zitadel_config_cache_dir(cfg);
	(void)zitadel_config_cache_margin(cfg);
	p = zitadel_config_default_profile(cfg);
	if (p != NULL) {
		/* Walk the lists so ASan sees a bad terminator. */
		for (h = p->git_hosts; h != NULL && *h != NULL; h++)
			;
		for (h = p->docker_registries; h != NULL && *h != NULL; h++)
			;
		for (h = p->kube_clusters; h != NULL && *h != NULL; h++)
			;
	}
	pam = zitadel_config_pam(cfg);
	(void)pam;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *dir = zt_fuzz_tmpdir();
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_config *cfg = NULL;
	zitadel_status st;
	char path[4200];

	zt_fuzz_write(dir, "client.conf", data, size, 0600);
	snprintf(path, sizeof(path), "%s/client.conf", dir);
	st = zitadel_config_load(path, &cfg, &err);
	if (st == ZITADEL_OK) {
		if (cfg == NULL)
			abort();
		query(cfg);
	} else if (cfg != NULL || err.status != st || err.message[0] == '\0') {
		abort();
	}
	zitadel_config_free(cfg);
	return 0;
}
