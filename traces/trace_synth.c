/* trace_synth.c - synthetic traces: i.i.d. Bernoulli write masks over a given header (layer
 * table and op template), for the trace tests, `essim trace synth`, and the replay benchmark
 * of the simulator. The
 * writer calls are timed apart from drawing the masks, which is how the write cost per
 * iteration in docs/trace-format.md is measured. */
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "trace_internal.h"

static double binary_entropy(double p)
{
    if (p <= 0 || p >= 1) return 0;
    return -(p * log2(p) + (1 - p) * log2(1 - p));
}

int trace_synth(const char *path, const trace_header *hdr, const trace_writer_options *wopt,
                const trace_synth_options *sopt, trace_synth_result *res, es_err *err)
{
    memset(res, 0, sizeof *res);
    uint32_t nl = hdr->n_layers;
    uint64_t gtot = 0;
    for (uint32_t l = 0; l < nl; l++)
        gtot += hdr->layers[l].blocks;
    /* before the per-layer buffers (9 bytes a block), not after them in the writer */
    ES_TRY(trace_header_validate(hdr, err));
    trace_mask *masks = calloc(nl, sizeof *masks);
    uint8_t **flags = calloc(nl, sizeof *flags);
    uint8_t **bits = calloc(nl, sizeof *bits);
    uint32_t **idx = calloc(nl, sizeof *idx);
    trace_writer *w = NULL;
    int rc = ES_OK;
    if (!masks || !flags || !bits || !idx) {
        rc = es_fail(err, ES_ENOMEM, "out of memory");
        goto done;
    }
    for (uint32_t l = 0; l < nl; l++) {
        uint32_t g = hdr->layers[l].blocks;
        flags[l] = malloc(g ? g : 1);
        bits[l] = malloc(((size_t)g + 7) / 8 + 1);
        idx[l] = malloc(((size_t)g ? g : 1) * sizeof **idx);
        if (!flags[l] || !bits[l] || !idx[l]) {
            rc = es_fail(err, ES_ENOMEM, "out of memory");
            goto done;
        }
    }
    double t0 = es_host_seconds();
    rc = trace_writer_create(path, hdr, wopt, &w, err);
    res->append_seconds += es_host_seconds() - t0;
    if (rc < 0) goto done;
    rng_stream rs;
    rng_init(&rs, sopt->seed, "trace/synth");
    uint32_t per_epoch = sopt->per_epoch ? sopt->per_epoch : 391;
    double rho = sopt->density;
    for (uint64_t it = 0; it < sopt->iterations; it++) {
        if (sopt->stop_after && it == sopt->stop_after) {
            /* A crash: complete chunks stay (direct mode), the rest is lost. */
            trace_writer_abort(w);
            w = NULL;
            goto done;
        }
        for (uint32_t l = 0; l < nl; l++) {
            uint32_t g = hdr->layers[l].blocks, c = 0;
            for (uint32_t i = 0; i < g; i++) {
                flags[l][i] = (uint8_t)(rng_uniform(&rs) < rho);
                c += flags[l][i];
            }
            memset(&masks[l], 0, sizeof masks[l]);
            if (sopt->input == 1) {
                masks[l].flags = flags[l];
            } else if (sopt->input == 2) {
                uint32_t j = 0;
                for (uint32_t i = 0; i < g; i++)
                    if (flags[l][i]) idx[l][j++] = i;
                masks[l].indices = idx[l];
                masks[l].count = j;
            } else {
                memset(bits[l], 0, ((size_t)g + 7) / 8);
                for (uint32_t i = 0; i < g; i++)
                    if (flags[l][i]) bits[l][i >> 3] |= (uint8_t)(1u << (i & 7));
                masks[l].bits = bits[l];
            }
            res->blocks_written += c;
        }
        trace_iter ti;
        ti.iteration = it;
        ti.epoch = (uint32_t)(it / per_epoch);
        ti.lr = 0.1 * 0.5 * (1 + cos(3.141592653589793 * (double)it / (double)sopt->iterations));
        ti.loss = (float)(0.2 + 2.1 * exp(-(double)it / 2000.0) + 0.05 * rng_uniform(&rs));
        t0 = es_host_seconds();
        rc = trace_writer_append(w, &ti, masks, err);
        if (rc == ES_OK && sopt->flush_every && (it + 1) % sopt->flush_every == 0)
            rc = trace_writer_flush(w, err);
        res->append_seconds += es_host_seconds() - t0;
        if (rc < 0) goto done;
        res->iterations++;
    }
    t0 = es_host_seconds();
    rc = trace_writer_close(w, NULL, err);
    w = NULL;
    res->append_seconds += es_host_seconds() - t0;
    if (rc < 0) goto done;
    res->entropy_bytes = (double)gtot * (double)res->iterations * binary_entropy(rho) / 8;
    {
        trace_reader *r;
        rc = trace_reader_open(path, NULL, &r, err);
        if (rc < 0) goto done;
        const trace_footer *f = trace_reader_footer(r);
        res->compressed_bytes = f->compressed_bytes;
        res->raw_bytes = f->raw_bytes;
        trace_reader_close(r);
        FILE *fp = fopen(path, "rb");
        if (fp) {
            fseek(fp, 0, SEEK_END);
            res->file_bytes = (uint64_t)ftell(fp);
            fclose(fp);
        }
    }
done:
    trace_writer_abort(w);
    for (uint32_t l = 0; l < nl && flags; l++) {
        free(flags[l]);
        if (bits) free(bits[l]);
        if (idx) free(idx[l]);
    }
    free(flags);
    free(bits);
    free(idx);
    free(masks);
    return rc;
}
