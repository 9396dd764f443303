/*
 * zt-sign-bench: how many assertions one process signs per second, to set
 * against openssl speed rsa2048. With --print it prints one assertion for
 * the curl floor of the cold-exchange benchmark.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_keyfile *key = NULL;
	int print = argc > 1 && strcmp(argv[1], "--print") == 0;
	char **args = argv + (print ? 2 : 1);
	double seconds, start, elapsed;
	long count = 0;
	char *jwt = NULL;

	if (argc - (print ? 2 : 1) < 2) {
		fprintf(stderr,
			"usage: zt-sign-bench [--print] KEYFILE AUDIENCE "
			"[SECONDS]\n");
		return 2;
	}
	if (zitadel_keyfile_load(args[0], &key, &err) != ZITADEL_OK) {
		fprintf(stderr, "zt-sign-bench: %s\n", err.message);
		return 1;
	}
	seconds = args[2] != NULL ? atof(args[2]) : 3.0;

	start = now_s();
	do {
		if (zt_assertion_build(key, args[1], time(NULL), &jwt, &err) !=
		    ZITADEL_OK) {
			fprintf(stderr, "zt-sign-bench: %s\n", err.message);
			return 1;
		}
		if (print) {
			puts(jwt);
			zt_free_secret(jwt);
			break;
		}
		zt_free_secret(jwt);
		count++;
		elapsed = now_s() - start;
	} while (elapsed < seconds);

	if (!print)
		printf("%.1f assertions/s\n", (double)count / elapsed);
	zitadel_keyfile_free(key);
	return 0;
}
