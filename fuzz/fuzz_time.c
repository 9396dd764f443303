/*
 * fuzz_time.c: zt_time_parse, the RFC 3339 reader behind key-file
 * expirationDate and every date the Management API returns.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "internal.h"

const char zt_fuzz_target[] = "time";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = zt_fuzz_cstr(data, size);
	char buf[64];
	time_t t = 0, again = 0;

	if (s == NULL)
		return 0;
	if (zt_time_parse(s, &t) == 0) {
		/* What parses must survive a round trip through the formatter
		 * (which writes UTC with no fraction). */
		zt_time_format(t, buf, sizeof(buf));
		if (buf[0] != '\0' &&
		    (zt_time_parse(buf, &again) != 0 || again != t))
			abort();
	}
	free(s);
	return 0;
}
