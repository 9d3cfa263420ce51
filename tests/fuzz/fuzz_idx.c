/* fuzz_idx.c - the IDX loader (MNIST, Fashion-MNIST): the input up to a line "---8<---" is
 * the images file, the rest the labels file (each plain or gzipped: zlib reads both). */
#include "ds_dataset.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cut = fz_split(data, size, "---8<---\n");
    const char *img = fz_write(0, "images-idx3-ubyte", data, cut);
    size_t rest = cut < size ? cut + 9 : size;
    const char *lab = fz_write(1, "labels-idx1-ubyte", data + rest, size - rest);
    es_err err;
    es_err_clear(&err);
    ds_dataset *ds = NULL;
    if (ds_load_idx(img, lab, 10, "fuzz", &ds, &err) == ES_OK) ds_destroy(ds);
    return 0;
}
