/* fuzz_cifar.c - the CIFAR binary loaders: the input is CIFAR-10's test_batch.bin, then
 * CIFAR-100's test.bin. */
#include "ds_dataset.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[300];
    es_err err;
    es_err_clear(&err);
    ds_dataset *ds = NULL;
    snprintf(dir, sizeof dir, "%s/c10", fz_dir());
    mkdir(dir, 0700);
    fz_write(0, "c10/test_batch.bin", data, size);
    if (ds_load_cifar10(dir, DS_TEST, &ds, &err) == ES_OK) ds_destroy(ds);
    snprintf(dir, sizeof dir, "%s/c100", fz_dir());
    mkdir(dir, 0700);
    fz_write(1, "c100/test.bin", data, size);
    ds = NULL;
    if (ds_load_cifar100(dir, DS_TEST, &ds, &err) == ES_OK) ds_destroy(ds);
    return 0;
}
