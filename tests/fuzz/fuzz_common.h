/* fuzz_common.h - shared by the libFuzzer targets in tests/fuzz (built by scripts/fuzz.sh):
 * each target hands the fuzzer's bytes to one reader through a file in a private temporary
 * folder, because ESSIM's readers take paths (and must refuse what a path can be). */
#ifndef ES_FUZZ_COMMON_H
#define ES_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "es_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The folder, created once per process. */
static inline const char *fz_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/essim-fuzz-XXXXXX");
        if (!mkdtemp(dir)) abort();
    }
    return dir;
}

/* Write bytes to fz_dir()/name; returns the path (static storage, one per slot). */
static inline const char *fz_write(int slot, const char *name, const void *data, size_t size)
{
    static char path[8][256];
    snprintf(path[slot], sizeof path[slot], "%s/%s", fz_dir(), name);
    FILE *f = fopen(path[slot], "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path[slot];
}

/* Split the input at the first occurrence of a separator line, for targets that need two
 * files (images and labels, a file and the file it includes). */
static inline size_t fz_split(const uint8_t *data, size_t size, const char *sep)
{
    size_t n = strlen(sep);
    for (size_t i = 0; i + n <= size; i++)
        if (!memcmp(data + i, sep, n)) return i;
    return size;
}

#endif
