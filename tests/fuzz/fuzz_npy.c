/* fuzz_npy.c - the .npy and .npz readers: the input is read as an .npy file, then as an
 * .npz archive whose every member is decoded. */
#include "fuzz_common.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_err err;
    es_err_clear(&err);
    npy_array a;
    const char *p1 = fz_write(0, "a.npy", data, size);
    if (npy_load(p1, &a, &err) == ES_OK) npy_array_free(&a);
    const char *p2 = fz_write(1, "a.npz", data, size);
    npy_npz *z = NULL;
    if (npy_npz_open(p2, &z, &err) == ES_OK) {
        for (size_t i = 0; i < npy_npz_count(z); i++) {
            memset(&a, 0, sizeof a);
            if (npy_npz_read(z, npy_npz_name(z, i), &a, &err) == ES_OK) npy_array_free(&a);
        }
        npy_npz_close(z);
    }
    return 0;
}
