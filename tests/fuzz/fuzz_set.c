/* fuzz_set.c - `--set KEY=VALUE` parsing: each input line is one assignment applied to an
 * empty document, then the result is bound and validated. */
#include "cfg.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    es_err err;
    es_err_clear(&err);
    cfg_doc *doc = NULL;
    if (cfg_doc_create_empty(&doc, &err) == ES_OK) {
        int ok = 1;
        for (char *line = text, *nl; ok && line; line = nl) {
            nl = strchr(line, '\n');
            if (nl) *nl++ = '\0';
            if (*line) ok = cfg_doc_set(doc, line, &err) == ES_OK;
        }
        essim_config cfg;
        memset(&cfg, 0, sizeof cfg);
        if (ok) cfg_bind(doc, &cfg, &err); /* defaults, then the document */
        cfg_free(&cfg);
        cfg_doc_destroy(doc);
    }
    free(text);
    return 0;
}
