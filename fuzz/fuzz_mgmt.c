/*
 * fuzz_mgmt.c: the Management API response parsers of machine.c. The first
 * byte picks the parser, the rest is the body.
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "internal.h"

const char zt_fuzz_target[] = "mgmt";

static void one(unsigned which, const char *body, size_t len)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_machine_user_added *ua = NULL;
	zitadel_details *d = NULL;
	zitadel_machine_key_added *ka = NULL;
	zitadel_machine_key *k = NULL;
	zitadel_machine_keys *kl = NULL;
	zitadel_pat_added *pa = NULL;
	zitadel_pat *p = NULL;
	zitadel_pats *pl = NULL;
	zitadel_machine_secret *s = NULL;
	zitadel_status st;
	void *got;

	switch (which % 9) {
	case 0:
		st = zt_machine_user_added_parse(body, len, &ua, &err);
		got = ua;
		break;
	case 1:
		st = zt_details_response_parse(body, len, "fuzz", &d, &err);
		got = d;
		break;
	case 2:
		st = zt_machine_key_added_parse(body, len, &ka, &err);
		got = ka;
		break;
	case 3:
		st = zt_machine_key_parse(body, len, &k, &err);
		got = k;
		break;
	case 4:
		st = zt_machine_key_list_parse(body, len, &kl, &err);
		got = kl;
		break;
	case 5:
		st = zt_pat_added_parse(body, len, &pa, &err);
		got = pa;
		break;
	case 6:
		st = zt_pat_parse(body, len, &p, &err);
		got = p;
		break;
	case 7:
		st = zt_pat_list_parse(body, len, &pl, &err);
		got = pl;
		break;
	default:
		st = zt_machine_secret_parse(body, len, &s, &err);
		got = s;
		break;
	}
	/* Success hands over a result; failure none, and says why. */
	if ((st == ZITADEL_OK) != (got != NULL) ||
	    (st != ZITADEL_OK && err.status != st))
		abort();

	zitadel_machine_user_added_free(ua);
	zitadel_details_free(d);
	zitadel_machine_key_added_free(ka);
	zitadel_machine_key_free(k);
	zitadel_machine_keys_free(kl);
	zitadel_pat_added_free(pa);
	zitadel_pat_free(p);
	zitadel_pats_free(pl);
	zitadel_machine_secret_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body;

	if (size < 1)
		return 0;
	body = zt_fuzz_cstr(data + 1, size - 1);
	if (body == NULL)
		return 0;
	one(data[0], body, size - 1);
	free(body);
	return 0;
}
