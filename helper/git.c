/*
 * git.c: git's credential-helper protocol (get, store, erase, capability),
 * as git-credential-zitadel or `zitadel-credential git OP`. The input is
 * key=value lines up to a blank line or EOF; this file reads them exactly
 * as git defines them and answers only for an https host a profile serves.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "internal.h"

/* git's bound on one line, its LF included. */
#define GIT_LINE_MAX 65535

struct reader {
	char buf[GIT_LINE_MAX + 1]; /* one byte for the terminating NUL */
	size_t start;
	size_t end;
	int eof;
};

/* What a request says; the values are copies, the rest is dropped. */
struct request {
	char *protocol;
	char *host;
	int authtype; /* git announced capability[]=authtype */
};

/*
 * The next line without its LF, NUL-terminated in place. Returns 1 for a
 * line, 0 at EOF, -1 for a line over GIT_LINE_MAX, -2 on a read error.
 */
static int next_line(struct reader *rd, char **line, size_t *len)
{
	char *lf;
	ssize_t n;

	for (;;) {
		lf = memchr(rd->buf + rd->start, '\n', rd->end - rd->start);
		if (lf != NULL) {
			*line = rd->buf + rd->start;
			*len = (size_t)(lf - *line);
			if (*len + 1 > GIT_LINE_MAX)
				return -1;
			*lf = '\0';
			rd->start += *len + 1;
			return 1;
		}
		if (rd->end - rd->start >= GIT_LINE_MAX)
			return -1;
		if (rd->eof) {
			if (rd->start == rd->end)
				return 0;
			*line = rd->buf + rd->start;
			*len = rd->end - rd->start;
			(*line)[*len] = '\0';
			rd->start = rd->end;
			return 1;
		}
		if (rd->start > 0) {
			memmove(rd->buf, rd->buf + rd->start,
				rd->end - rd->start);
			rd->end -= rd->start;
			rd->start = 0;
		}
		n = read(0, rd->buf + rd->end, sizeof(rd->buf) - 1 - rd->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -2;
		if (n == 0)
			rd->eof = 1;
		rd->end += (size_t)n;
	}
}

static int key_is(const char *key, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(key, name, len) == 0;
}

static int replace(char **slot, const char *value, size_t len, zh_fail *fail)
{
	char *copy = zt_strndup(value, len);

	if (copy == NULL)
		return zh_failf(fail, ZH_EXIT_LOCAL, "out of memory");
	free(*slot);
	*slot = copy;
	return ZH_EXIT_OK;
}

/*
 * url=scheme://[userinfo@]host[:port][/path]: git fills protocol and host
 * from it (a URL without a host gives an empty host). The host is kept as
 * written, not percent-decoded, so "%0a" can never become a line break or
 * match a configured host.
 */
static int parse_url(struct request *req, const char *url, zh_fail *fail)
{
	const char *sep = strstr(url, "://");
	const char *host, *end, *at;
	int rc;

	if (sep == NULL)
		return zh_failf(fail, ZH_EXIT_REFUSED,
				"git: url without a scheme in the request");
	rc = replace(&req->protocol, url, (size_t)(sep - url), fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	host = sep + 3;
	end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(end - host));
	if (at != NULL)
		host = at + 1;
	return replace(&req->host, host, (size_t)(end - host), fail);
}

static int take_line(struct request *req, char *line, size_t len, zh_fail *fail)
{
	char *eq;
	size_t klen;

	if (memchr(line, '\0', len) != NULL)
		return zh_failf(fail, ZH_EXIT_REFUSED,
				"git: NUL byte in the request");
	eq = memchr(line, '=', len);
	if (eq == NULL)
		return zh_failf(fail, ZH_EXIT_REFUSED,
				"git: request line without '='");
	klen = (size_t)(eq - line);
	/* git refuses a bare CR in a value since CVE-2024-52006: it could
	 * smuggle a second line past a careless parser. */
	if (strchr(eq + 1, '\r') != NULL)
		return zh_failf(fail, ZH_EXIT_REFUSED,
				"git: carriage return in the value of a "
				"request line");

	if (key_is(line, klen, "protocol"))
		return replace(&req->protocol, eq + 1, strlen(eq + 1), fail);
	if (key_is(line, klen, "host"))
		return replace(&req->host, eq + 1, strlen(eq + 1), fail);
	if (key_is(line, klen, "url"))
		return parse_url(req, eq + 1, fail);
	if (key_is(line, klen, "capability[]")) {
		/* An empty value clears the list. */
		if (eq[1] == '\0')
			req->authtype = 0;
		else if (strcmp(eq + 1, "authtype") == 0)
			req->authtype = 1;
	}
	return ZH_EXIT_OK;
}

/* Read the whole request; the buffer may hold a password git passed on,
 * so it is wiped however reading ends. */
static int read_request(struct request *req, zh_fail *fail)
{
	struct reader *rd;
	char *line;
	size_t len;
	int r, rc = ZH_EXIT_LOCAL;

	rd = zt_calloc(1, sizeof(*rd));
	if (rd == NULL)
		return zh_failf(fail, ZH_EXIT_LOCAL, "out of memory");
	for (;;) {
		r = next_line(rd, &line, &len);
		if (r == 0 || (r == 1 && len == 0))
			break;
		if (r == -1) {
			rc = zh_failf(fail, ZH_EXIT_REFUSED,
				      "git: request line longer than %d "
				      "bytes",
				      GIT_LINE_MAX);
			goto out;
		}
		if (r < 0) {
			rc = zh_failf(fail, ZH_EXIT_LOCAL,
				      "git: cannot read the request: %s",
				      strerror(errno));
			goto out;
		}
		rc = take_line(req, line, len, fail);
		if (rc != ZH_EXIT_OK)
			goto out;
	}
	rc = ZH_EXIT_OK;
out:
	zt_wipe(rd, sizeof(*rd));
	free(rd);
	return rc;
}

static void request_free(struct request *req)
{
	free(req->protocol);
	free(req->host);
}

static int host_listed(const zitadel_profile *p, const char *host)
{
	const char *const *h;

	for (h = p->git_hosts; h != NULL && *h != NULL; h++)
		if (strcasecmp(*h, host) == 0)
			return 1;
	return 0;
}

/*
 * The profile that serves the request, or NULL for "no answer". Only https
 * with a host is ever answered (CVE-2020-11008 class: a request without a
 * host must not get some other host's token). --profile narrows the choice
 * to that profile's hosts; it never widens it.
 */
static int find_profile(const zh_options *o, const struct request *req,
			zitadel_config **cfg, const zitadel_profile **p,
			zh_fail *fail)
{
	int rc;

	*p = NULL;
	if (req->protocol == NULL || req->host == NULL ||
	    req->host[0] == '\0') {
		zh_debug("git: no protocol or host in the request");
		return ZH_EXIT_OK;
	}
	if (strcmp(req->protocol, "https") != 0) {
		zh_debug("git: protocol is not https");
		return ZH_EXIT_OK;
	}
	rc = zh_config_load(o, 1, cfg, fail);
	if (rc != ZH_EXIT_OK)
		return rc;
	if (o->profile != NULL) {
		rc = zh_profile_named(o, *cfg, p, fail);
		if (rc != ZH_EXIT_OK)
			return rc;
		if (!host_listed(*p, req->host))
			*p = NULL;
	} else {
		*p = zitadel_config_profile_for_git_host(*cfg, req->host);
	}
	if (*p == NULL)
		zh_debug("git: no profile serves this host");
	return ZH_EXIT_OK;
}

/* A PAT's expiry is unknown here: then the line is left out, and git
 * treats the password as good until the server refuses it. */
static void expiry_line(const zh_token *tok, char *buf, size_t size)
{
	buf[0] = '\0';
	if (tok->expiry_known)
		snprintf(buf, size, "password_expiry_utc=%lld\n",
			 (long long)zh_token_announce_expiry(tok, time(NULL)));
}

static int answer(const zh_target *t, const struct request *req,
		  const zh_token *tok, zh_fail *fail)
{
	const char *secret = tok->token->access_token;
	char expiry[64];
	char *text;
	int r;

	expiry_line(tok, expiry, sizeof(expiry));
	if (req->authtype && t->git_bearer)
		text = zt_asprintf("capability[]=authtype\n"
				   "authtype=Bearer\n"
				   "credential=%s\n"
				   "ephemeral=true\n"
				   "%s",
				   secret, expiry);
	else
		text =
		    zt_asprintf("username=%s\n"
				"password=%s\n"
				"%s",
				t->username != NULL ? t->username : "zitadel",
				secret, expiry);
	if (text == NULL)
		return zh_failf(fail, ZH_EXIT_LOCAL, "out of memory");
	r = zh_write_all(1, text, strlen(text));
	zt_free_secret(text);
	if (r < 0)
		return zh_failf(fail, ZH_EXIT_LOCAL,
				"git: cannot write the answer");
	return ZH_EXIT_OK;
}

static int git_get_or_erase(const zh_options *o, int erase, zh_fail *fail)
{
	struct request req = {NULL, NULL, 0};
	const zitadel_profile *p = NULL;
	zitadel_config *cfg = NULL;
	zh_target t = {0};
	zh_token tok = {0};
	int rc;

	rc = read_request(&req, fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = find_profile(o, &req, &cfg, &p, fail);
	if (rc != ZH_EXIT_OK || p == NULL)
		goto out;
	rc = zh_target_resolve(o, cfg, p, &t, fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	if (erase) {
		rc = zh_token_erase(&t, fail);
		goto out;
	}
	rc = zh_token_get(&t, &tok, fail);
	if (rc != ZH_EXIT_OK)
		goto out;
	rc = answer(&t, &req, &tok, fail);
out:
	zh_token_release(&tok);
	zh_target_clear(&t);
	zitadel_config_free(cfg);
	request_free(&req);
	return rc;
}

/* store: we generate credentials and keep none, but the input is read so
 * that git never writes into a closed pipe. */
static int git_store(zh_fail *fail)
{
	struct request req = {NULL, NULL, 0};
	int rc = read_request(&req, fail);

	request_free(&req);
	(void)rc;
	return ZH_EXIT_OK;
}

int zh_face_git(const zh_options *o, int argc, char **argv)
{
	static const char caps[] = "version 0\ncapability authtype\n";
	zh_fail fail = {0, ""};
	int rc;

	if (argc != 1) {
		fprintf(stderr,
			"%s: git: want one operation (get, store, erase, "
			"capability)\n",
			zh_prog);
		return ZH_EXIT_USAGE;
	}
	if (strcmp(argv[0], "get") == 0)
		rc = git_get_or_erase(o, 0, &fail);
	else if (strcmp(argv[0], "erase") == 0)
		rc = git_get_or_erase(o, 1, &fail);
	else if (strcmp(argv[0], "store") == 0)
		rc = git_store(&fail);
	else if (strcmp(argv[0], "capability") == 0)
		rc = zh_write_all(1, caps, sizeof(caps) - 1) == 0
			 ? ZH_EXIT_OK
			 : ZH_EXIT_LOCAL;
	else
		rc = ZH_EXIT_OK; /* git: unknown operations are ignored */
	if (rc != ZH_EXIT_OK && fail.message[0] != '\0')
		fprintf(stderr, "%s: %s\n", zh_prog, fail.message);
	return rc;
}
