/*
 * fuzz_cache.c: reading a token cache entry. The input is written as the
 * entry file (0600, in a private 0700 directory) and looked up, as a
 * process of the same user could have left it.
 */
#include "config.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

const char zt_fuzz_target[] = "cache";

#define NOW 1700000000

static const zt_cache_id id = {
    "https://zitadel.example", "jwt-bearer", "200000000000000002",
    "100000000000000001",      "openid",
};

static char entry[NAME_MAX + 1];

/* The entry's file name is cache.c's business: store a token once and
 * see what appeared. */
static void learn_entry_name(const char *dir)
{
	zitadel_token tok = {(char *)"seed-token", (char *)"Bearer", NOW + 3600,
			     NOW, 0};
	zitadel_error err = ZITADEL_ERROR_INIT;
	struct dirent *e;
	DIR *d;

	if (zt_cache_store(dir, &id, &tok, &err) != ZITADEL_OK) {
		fprintf(stderr, "fuzz_cache: cannot store: %s\n", err.message);
		abort();
	}
	d = opendir(dir);
	if (d == NULL)
		abort();
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0)
			snprintf(entry, sizeof(entry), "%s", e->d_name);
	}
	closedir(d);
	if (entry[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *dir = zt_fuzz_tmpdir();
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_token *tok = NULL;
	zitadel_status st;

	if (entry[0] == '\0')
		learn_entry_name(dir);
	zt_fuzz_write(dir, entry, data, size, 0600);

	st = zt_cache_lookup(dir, &id, -1, NOW, &tok, &err);
	if (st != ZITADEL_OK)
		abort(); /* a corrupt entry is a miss, never an error */
	if (tok != NULL &&
	    (tok->access_token == NULL || tok->access_token[0] == '\0' ||
	     tok->expires_at <= NOW || !tok->from_cache))
		abort();
	zitadel_token_free(tok);
	return 0;
}
