/* fuzz_netdesc.c - the network description reader: the input is a YAML network file, built
 * for 1x28x28 images and 10 classes as `--network FILE` would. */
#include "fuzz_common.h"
#include "netdesc.h"
#include "nn_net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write(0, "net.yaml", data, size);
    es_err err;
    es_err_clear(&err);
    nn_net *net = NULL;
    char name[128];
    nn_shape in = {1, 28, 28};
    if (netdesc_build(path, in, 10, 1, &net, name, sizeof name, &err) == ES_OK) nn_net_destroy(net);
    return 0;
}
