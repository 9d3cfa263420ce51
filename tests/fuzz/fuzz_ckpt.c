/* fuzz_ckpt.c - the checkpoint container (built with -DES_FUZZ_NO_CRC so mutations reach
 * the record table): load, then fetch the records a trainer asks for. */
#include "ckpt.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write(0, "c.ckpt", data, size);
    es_err err;
    es_err_clear(&err);
    ckpt *c = NULL;
    if (ckpt_load(path, &c, &err) != ES_OK) return 0;
    uint64_t st[4];
    double d[3];
    char h[16];
    ckpt_get_u64(c, "state", st, 4, &err);
    ckpt_get_f64(c, "dstate", d, 3, &err);
    ckpt_get_bytes(c, "config_hash", h, 16, &err);
    size_t n = ckpt_count(c, "param/w");
    if (n && n < (1u << 20)) {
        float *w = malloc(n * sizeof *w);
        if (w) ckpt_get_f32(c, "param/w", w, n, &err);
        free(w);
    }
    ckpt_free(c);
    return 0;
}
