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

static char fz_dir_path[64];
static char fz_paths[8][256];

/* At exit: the files of every slot, the folders fuzz_cifar makes, the folder. */
static inline void fz_cleanup(void)
{
    char sub[128];
    for (int i = 0; i < 8; i++)
        if (fz_paths[i][0]) unlink(fz_paths[i]);
    for (int i = 0; i < 2; i++) {
        snprintf(sub, sizeof sub, "%s/%s", fz_dir_path, i ? "c100" : "c10");
        rmdir(sub);
    }
    rmdir(fz_dir_path);
}

/* The folder, created once per process, removed at exit. */
static inline const char *fz_dir(void)
{
    char *dir = fz_dir_path;
    if (!dir[0]) {
        /* in memory when there is a tmpfs: every execution writes its input there */
        struct stat st;
        const char *base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof fz_dir_path, "%s/essim-fuzz-XXXXXX", base);
        if (!mkdtemp(dir)) abort();
        atexit(fz_cleanup);
    }
    return dir;
}

/* Write bytes to fz_dir()/name; returns the path (static storage, one per slot). */
static inline const char *fz_write(int slot, const char *name, const void *data, size_t size)
{
    char *path = fz_paths[slot];
    snprintf(path, sizeof fz_paths[slot], "%s/%s", fz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
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
