/*
 * fuzz.h: what the fuzz targets share. Each target defines
 * LLVMFuzzerTestOneInput and names itself in zt_fuzz_target, which replay.c
 * uses to find the target's corpus when the target runs as a plain
 * regression test (no libFuzzer).
 */
#ifndef ZT_FUZZ_H
#define ZT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The target's name: its corpus is fuzz/corpus/<name>/. */
extern const char zt_fuzz_target[];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (parsers that take C strings), or NULL
 * when out of memory. Free with free(). */
char *zt_fuzz_cstr(const uint8_t *data, size_t size);

/* A private temporary directory (0700) for the whole run, created on first
 * use and removed at exit; aborts when it cannot be made, since a target
 * that silently skips its input finds nothing. */
const char *zt_fuzz_tmpdir(void);

/* Write data to dir/name with mode; aborts on failure. */
void zt_fuzz_write(const char *dir, const char *name, const uint8_t *data,
		   size_t size, unsigned mode);

#endif /* ZT_FUZZ_H */
