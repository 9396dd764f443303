/*
 * fuzz_docker.c: docker's credential protocol as the helper reads it. The
 * first byte picks the operation (get, erase, store), the rest is stdin
 * (a server URL, or the store request's JSON).
 */
#include "config.h"

#include "fuzz.h"
#include "helper_env.h"

const char zt_fuzz_target[] = "docker";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char ops[3][8] = {"get", "erase", "store"};
	zh_options o;
	char *argv[2];

	if (size < 1)
		return 0;
	zt_fuzz_helper_options(&o);
	zt_fuzz_helper_stdin(data + 1, size - 1);
	argv[0] = ops[data[0] % 3];
	argv[1] = NULL;
	(void)zh_face_docker(&o, 1, argv);
	return 0;
}
