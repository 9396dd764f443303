/*
 * pamdriver.c: runs PAM calls for a service and user through real libpam
 * (under pam_wrapper in the tests) and prints each result, so that the
 * Python tests can drive pam_zitadel.so. Conversation replies come from a
 * file or a named misbehaviour, never from argv, since they are secrets.
 *
 * usage: pamdriver [-n COUNT] SERVICE USER OP...
 *   OP: auth acct open close setcred chauthtok
 *   PAMDRIVER_CONV: file (default: PAMDRIVER_REPLY_FILE's bytes), error,
 *                   null-array, null-string
 * Output: "OP NAME" per call (COUNT 1); with COUNT > 1 the last round's
 * results, "stable 0|1" (every round answered alike) and "fds FIRST LAST"
 * (open descriptors after the first and the last round).
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#define MAX_OPS   16
#define REPLY_MAX (1024 * 1024)

static char *reply;
static const char *conv_mode = "file";

static const char *code_name(int rc)
{
	static const struct {
		int rc;
		const char *name;
	} names[] = {
	    {PAM_SUCCESS, "PAM_SUCCESS"},
	    {PAM_AUTH_ERR, "PAM_AUTH_ERR"},
	    {PAM_USER_UNKNOWN, "PAM_USER_UNKNOWN"},
	    {PAM_AUTHINFO_UNAVAIL, "PAM_AUTHINFO_UNAVAIL"},
	    {PAM_SERVICE_ERR, "PAM_SERVICE_ERR"},
	    {PAM_BUF_ERR, "PAM_BUF_ERR"},
	    {PAM_CONV_ERR, "PAM_CONV_ERR"},
	    {PAM_PERM_DENIED, "PAM_PERM_DENIED"},
	    {PAM_SESSION_ERR, "PAM_SESSION_ERR"},
	    {PAM_CRED_ERR, "PAM_CRED_ERR"},
	    {PAM_IGNORE, "PAM_IGNORE"},
	    {PAM_SYSTEM_ERR, "PAM_SYSTEM_ERR"},
	    {PAM_ABORT, "PAM_ABORT"},
	    {PAM_INCOMPLETE, "PAM_INCOMPLETE"},
	    {PAM_AUTHTOK_ERR, "PAM_AUTHTOK_ERR"},
	    {PAM_MODULE_UNKNOWN, "PAM_MODULE_UNKNOWN"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].rc == rc)
			return names[i].name;
	return "PAM_OTHER";
}

static int conversation(int n, const struct pam_message **msg,
			struct pam_response **resp, void *data)
{
	struct pam_response *r;
	int i;

	(void)data;
	*resp = NULL;
	if (strcmp(conv_mode, "error") == 0)
		return PAM_CONV_ERR;
	if (strcmp(conv_mode, "null-array") == 0)
		return PAM_SUCCESS;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if (strcmp(conv_mode, "null-string") == 0)
			continue;
		r[i].resp = strdup(reply != NULL ? reply : "");
	}
	*resp = r;
	return PAM_SUCCESS;
}

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = calloc(1, REPLY_MAX + 1)) != NULL) {
		n = fread(buf, 1, REPLY_MAX, f);
		buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static int op_run(pam_handle_t *pamh, const char *op)
{
	if (strcmp(op, "auth") == 0)
		return pam_authenticate(pamh, 0);
	if (strcmp(op, "acct") == 0)
		return pam_acct_mgmt(pamh, 0);
	if (strcmp(op, "open") == 0)
		return pam_open_session(pamh, 0);
	if (strcmp(op, "close") == 0)
		return pam_close_session(pamh, 0);
	if (strcmp(op, "setcred") == 0)
		return pam_setcred(pamh, PAM_ESTABLISH_CRED);
	if (strcmp(op, "chauthtok") == 0)
		return pam_chauthtok(pamh, 0);
	return -1;
}

int main(int argc, char **argv)
{
	struct pam_conv conv = {conversation, NULL};
	int first[MAX_OPS], last[MAX_OPS];
	long count = 1, round;
	int i, nops, stable = 1, fds_first = -1, rc;
	const char *env, *val;
	pam_handle_t *pamh;

	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		count = strtol(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	nops = argc - 3;
	if (argc < 4 || nops > MAX_OPS || count < 1) {
		fprintf(stderr,
			"usage: pamdriver [-n COUNT] SERVICE USER OP...\n");
		return 2;
	}
	if ((env = getenv("PAMDRIVER_CONV")) != NULL)
		conv_mode = env;
	if ((env = getenv("PAMDRIVER_REPLY_FILE")) != NULL &&
	    (reply = file_read(env)) == NULL) {
		fprintf(stderr, "pamdriver: cannot read %s\n", env);
		return 2;
	}

	for (round = 0; round < count; round++) {
		if ((rc = pam_start(argv[1], argv[2], &conv, &pamh)) !=
		    PAM_SUCCESS) {
			printf("start %s\n", code_name(rc));
			return 1;
		}
		for (i = 0; i < nops; i++) {
			last[i] = op_run(pamh, argv[3 + i]);
			if (last[i] == -1) {
				fprintf(stderr, "pamdriver: unknown op %s\n",
					argv[3 + i]);
				return 2;
			}
			if (round == 0) {
				first[i] = last[i];
			} else if (last[i] != first[i]) {
				/* Name the odd rounds: a failure must say what. */
				if (stable-- > -4)
					printf("round %ld %s %s\n", round,
					       argv[3 + i], code_name(last[i]));
			}
			if (count == 1)
				printf("%s %s\n", argv[3 + i],
				       code_name(last[i]));
			if (count == 1 && strcmp(argv[3 + i], "open") == 0 &&
			    (val = pam_getenv(pamh, "ZITADEL_TOKEN_FILE")))
				printf("env ZITADEL_TOKEN_FILE=%s\n", val);
		}
		pam_end(pamh, last[nops - 1]);
		if (round == 0)
			fds_first = fd_count();
	}
	if (count > 1) {
		for (i = 0; i < nops; i++)
			printf("%s %s\n", argv[3 + i], code_name(last[i]));
		printf("stable %d\nfds %d %d\n", stable == 1, fds_first,
		       fd_count());
	}
	free(reply);
	return 0;
}
