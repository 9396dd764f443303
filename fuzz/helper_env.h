/*
 * helper_env.h: setting up the helper's faces for a fuzz target
 * (helper_env.c).
 */
#ifndef ZT_FUZZ_HELPER_ENV_H
#define ZT_FUZZ_HELPER_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "helper.h"

/* Options that point at the fuzz config and a scratch cache directory. */
void zt_fuzz_helper_options(zh_options *o);
/* Make data the whole of descriptor 0, read from its start. */
void zt_fuzz_helper_stdin(const uint8_t *data, size_t size);

/* A face of the get/erase/store protocols (git, docker). */
typedef int (*zt_fuzz_face)(const zh_options *o, int argc, char **argv);
/* The whole of a protocol target: the first byte picks get, erase or
 * store, the rest is stdin. Returns 0 for LLVMFuzzerTestOneInput. */
int zt_fuzz_helper_protocol(zt_fuzz_face face, const uint8_t *data,
			    size_t size);

#endif /* ZT_FUZZ_HELPER_ENV_H */
