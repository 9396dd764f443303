/*
 * kubectl.c: the client-go exec credential plugin (`zitadel-credential
 * kubectl`). Reads KUBERNETES_EXEC_INFO, answers an ExecCredential of the
 * same apiVersion on stdout; on every failure stdout stays empty and the
 * one-line error goes to stderr, which kubectl shows to the user.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "helper.h"
#include "internal.h"

/* client-go's ExecCredential input is small: a bound well above it. */
#define EXEC_INFO_MAX (64 * 1024)

static const char *const api_versions[] = {
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
};

/* What the input says: the apiVersion to answer with and, when the
 * kubeconfig sets provideClusterInfo, the cluster's server URL. Both
 * point into info. */
struct exec_info {
	json_t *info;
	const char *api_version;
	const char *server;
	int cluster_given; /* spec.cluster is there, so server is too */
};

/*
 * spec.cluster is there only when the kubeconfig sets provideClusterInfo,
 * and then client-go always fills in server. A null counts as absent (an
 * omitted pointer); any other shape is malformed input, never "no cluster
 * given", which would let the default profile answer.
 */
static int read_cluster(struct exec_info *ei, zh_fail *fail)
{
	json_t *spec = json_object_get(ei->info, "spec");
	json_t *cluster, *server;

	if (spec == NULL || json_is_null(spec))
		return ZH_EXIT_OK;
	if (!json_is_object(spec))
		return zh_failf(fail, ZH_EXIT_USAGE,
				"kubectl: KUBERNETES_EXEC_INFO: spec is not "
				"an object");
	cluster = json_object_get(spec, "cluster");
	if (cluster == NULL || json_is_null(cluster))
		return ZH_EXIT_OK;
	if (!json_is_object(cluster))
		return zh_failf(fail, ZH_EXIT_USAGE,
				"kubectl: KUBERNETES_EXEC_INFO: spec.cluster "
				"is not an object");
	server = json_object_get(cluster, "server");
	if (!json_is_string(server))
		return zh_failf(fail, ZH_EXIT_USAGE,
				"kubectl: KUBERNETES_EXEC_INFO: "
				"spec.cluster.server is %s",
				server == NULL ? "missing" : "not a string");
	ei->cluster_given = 1;
	ei->server = json_string_value(server);
	return ZH_EXIT_OK;
}

static int read_exec_info(struct exec_info *ei, zh_fail *fail)
{
	const char *text = secure_getenv("KUBERNETES_EXEC_INFO");
	json_error_t jerr;
	const char *kind;
	size_t i;

	memset(ei, 0, sizeof(*ei));
	if (text == NULL || *text == '\0')
		return zh_failf(fail, ZH_EXIT_USAGE,
				"kubectl: KUBERNETES_EXEC_INFO is not set; "
				"run this as a kubectl exec plugin");
	if (strlen(text) > EXEC_INFO_MAX)
		return zh_failf(fail, ZH_EXIT_USAGE,
				"kubectl: KUBERNETES_EXEC_INFO is longer than "
				"%d bytes",
				EXEC_INFO_MAX);
	ei->info = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (ei->info == NULL || !json_is_object(ei->info))
		return zh_failf(fail, ZH_EXIT_USAGE,
				"kubectl: KUBERNETES_EXEC_INFO is not a JSON "
				"object (line %d, column %d)",
				jerr.line, jerr.column);

	ei->api_version =
	    json_string_value(json_object_get(ei->info, "apiVersion"));
	for (i = 0; i < sizeof(api_versions) / sizeof(api_versions[0]); i++)
		if (ei->api_version != NULL &&
		    strcmp(ei->api_version, api_versions[i]) == 0)
			break;
	if (i == sizeof(api_versions) / sizeof(api_versions[0])) {
		char clipped[ZT_LOG_CLIP + 4];

		zt_clip(ei->api_version != NULL ? ei->api_version : "(none)",
			strlen(ei->api_version != NULL ? ei->api_version
						       : "(none)"),
			clipped, sizeof(clipped));
		return zh_failf(fail, ZH_EXIT_USAGE,
				"kubectl: apiVersion %s is not supported; "
				"use %s or %s",
				clipped, api_versions[0], api_versions[1]);
	}
	kind = json_string_value(json_object_get(ei->info, "kind"));
	if (kind == NULL || strcmp(kind, "ExecCredential") != 0)
		return zh_failf(fail, ZH_EXIT_USAGE,
				"kubectl: KUBERNETES_EXEC_INFO is not an "
				"ExecCredential");
	return read_cluster(ei, fail);
}

/*
 * --profile, else the profile whose kube_clusters lists the cluster's
 * server. Only when kubectl gives no cluster info is the default profile
 * used: a server that no profile lists must not get some other cluster's
 * token. With --issuer and --key-file no profile is needed.
 */
static int kube_target(const zh_options *o, const struct exec_info *ei,
		       zitadel_config **cfg, zh_target *t, zh_fail *fail)
{
	const zitadel_profile *p = NULL;
	char shown[ZT_LOG_CLIP + 4];
	int rc;

	rc = zh_config_load(o, 0, cfg, fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	rc = zh_profile_named(o, *cfg, &p, fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	if (p == NULL && ei->cluster_given) {
		p = zitadel_config_profile_for_kube_cluster(*cfg, ei->server);
		if (p == NULL && (o->issuer == NULL || o->key_file == NULL)) {
			zt_clip(ei->server, strlen(ei->server), shown,
				sizeof(shown));
			return zh_failf(fail, ZH_EXIT_CONFIG,
					"kubectl: no profile lists the "
					"cluster '%s' in kube_clusters; add it "
					"there or give --profile",
					shown);
		}
	} else if (p == NULL && *cfg != NULL) {
		p = zitadel_config_default_profile(*cfg);
	}
	if (p == NULL && (o->issuer == NULL || o->key_file == NULL))
		return zh_failf(fail, ZH_EXIT_CONFIG,
				"kubectl: no profile for this cluster; give "
				"--profile or set kube_clusters in a profile");
	return zh_target_resolve(o, *cfg, p, t, fail);
}

static int answer(const struct exec_info *ei, const zh_token *tok,
		  zh_fail *fail)
{
	json_t *root = NULL, *status = NULL, *secret = NULL;
	char stamp[32];
	int rc = ZH_EXIT_LOCAL;

	secret = json_string(tok->token->access_token);
	root = json_object();
	status = json_object();
	if (secret == NULL || root == NULL || status == NULL ||
	    json_object_set_new(root, "apiVersion",
				json_string(ei->api_version)) != 0 ||
	    json_object_set_new(root, "kind", json_string("ExecCredential")) !=
		0 ||
	    json_object_set(status, "token", secret) != 0 ||
	    json_object_set(root, "status", status) != 0) {
		rc = zh_failf(fail, ZH_EXIT_LOCAL,
			      "kubectl: cannot encode the answer");
		goto out;
	}
	/* Without an expiry (a PAT) client-go keeps the token until the API
	 * server answers 401, then runs the plugin again. */
	if (tok->expiry_known) {
		zt_time_format(zh_token_announce_expiry(tok, time(NULL)), stamp,
			       sizeof(stamp));
		if (json_object_set_new(status, "expirationTimestamp",
					json_string(stamp)) != 0) {
			rc = zh_failf(fail, ZH_EXIT_LOCAL,
				      "kubectl: cannot encode the answer");
			goto out;
		}
	}
	if (zh_json_print(1, root) < 0) {
		rc = zh_failf(fail, ZH_EXIT_LOCAL,
			      "kubectl: cannot write the answer");
		goto out;
	}
	rc = ZH_EXIT_OK;
out:
	if (secret != NULL)
		zh_json_wipe_string(secret);
	json_decref(secret);
	json_decref(status);
	json_decref(root);
	return rc;
}

int zh_face_kubectl(const zh_options *o, int argc, char **argv)
{
	zh_fail fail = {0, ""};
	struct exec_info ei = {NULL, NULL, NULL, 0};
	zitadel_config *cfg = NULL;
	zh_target t = {0};
	zh_token tok = {0};
	int rc;

	if (argc != 0) {
		fprintf(stderr, "%s: kubectl takes no argument, got '%s'\n",
			zh_prog, argv[0]);
		return ZH_EXIT_USAGE;
	}
	rc = read_exec_info(&ei, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = kube_target(o, &ei, &cfg, &t, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = zh_token_get(&t, &tok, &fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = answer(&ei, &tok, &fail);
out:
	if (rc != ZH_EXIT_OK)
		fprintf(stderr, "%s: %s\n", zh_prog, fail.message);
	zh_token_release(&tok);
	zh_target_clear(&t);
	zitadel_config_free(cfg);
	json_decref(ei.info);
	return rc;
}
