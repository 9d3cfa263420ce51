/* fuzz_cfg.c - the YAML configuration loader with includes: the input is main.yaml, whose
 * part after a line "---8<---" becomes inc.yaml beside it (so `include: inc.yaml` reads it),
 * then the whole configuration is bound and validated as `essim config check` does. */
#include "cfg.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cut = fz_split(data, size, "---8<---\n");
    const char *main_path = fz_write(0, "main.yaml", data, cut);
    size_t rest = cut < size ? cut + 9 : size;
    fz_write(1, "inc.yaml", data + rest, size - rest);
    es_err err;
    es_err_clear(&err);
    cfg_doc *doc = NULL;
    if (cfg_doc_load(main_path, &doc, &err) == ES_OK) {
        essim_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg_bind(doc, &cfg, &err); /* defaults, then the document */
        cfg_free(&cfg);
        cfg_doc_destroy(doc);
    }
    return 0;
}
