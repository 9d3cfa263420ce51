/* fuzz_trace.c - the trace reader (built with -DES_FUZZ_NO_CRC so mutations reach the chunk
 * decoder): open, read every record, then again in salvage mode with a seek. */
#include "fuzz_common.h"
#include "trace.h"

static void read_all(const char *path, int salvage)
{
    es_err err;
    es_err_clear(&err);
    trace_reader_options o;
    memset(&o, 0, sizeof o);
    o.salvage = salvage;
    trace_reader *r = NULL;
    if (trace_reader_open(path, &o, &r, &err) != ES_OK) return;
    trace_record rec;
    if (salvage) trace_reader_seek(r, 3, &err);
    for (int n = 0; n < 100000 && trace_reader_next(r, &rec, &err) == 1; n++) {
    }
    trace_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write(0, "t.trc", data, size);
    read_all(path, 0);
    read_all(path, 1);
    return 0;
}
