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

#endif /* ZT_FUZZ_HELPER_ENV_H */
