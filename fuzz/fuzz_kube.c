/*
 * fuzz_kube.c: KUBERNETES_EXEC_INFO as the helper's kubectl face reads it
 * (up to the first NUL, since it is an environment variable).
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "helper_env.h"

const char zt_fuzz_target[] = "kube";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	zh_options o;
	char *info = zt_fuzz_cstr(data, size);

	if (info == NULL)
		return 0;
	zt_fuzz_helper_options(&o);
	zt_fuzz_helper_stdin(NULL, 0);
	if (setenv("KUBERNETES_EXEC_INFO", info, 1) != 0)
		abort();
	(void)zh_face_kubectl(&o, 0, NULL);
	unsetenv("KUBERNETES_EXEC_INFO");
	free(info);
	return 0;
}
