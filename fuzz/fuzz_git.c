/*
 * fuzz_git.c: git's credential protocol as the helper reads it. The first
 * byte picks the operation (get, erase, store), the rest is stdin.
 */
#include "config.h"

#include "fuzz.h"
#include "helper_env.h"

const char zt_fuzz_target[] = "git";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return zt_fuzz_helper_protocol(zh_face_git, data, size);
}
