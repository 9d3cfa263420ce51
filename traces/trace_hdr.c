/* trace_hdr.c - see trace_hdr.h. */
#include "trace_hdr.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trace_hdr_free(trace_hdr *th)
{
    if (!th) return;
    free(th->layers);
    free(th->tops);
    free(th->counts);
    free(th->yaml);
    memset(th, 0, sizeof *th);
}

int trace_hdr_build_config(trace_hdr *th, const essim_config *cfg, const char *net_name,
                           const char *producer, es_err *err)
{
    memset(th, 0, sizeof *th);
    size_t ylen = 0;
    FILE *mf = open_memstream(&th->yaml, &ylen);
    if (!mf) return es_fail(err, ES_ENOMEM, "out of memory");
    int dr = cfg_dump(cfg, mf);
    if (fclose(mf) != 0 || dr < 0) return es_fail(err, ES_ENOMEM, "cannot dump the configuration");
    snprintf(th->network, sizeof th->network, "%s", net_name);
    snprintf(th->producer, sizeof th->producer, "%s", producer);
    trace_header *h = &th->h;
    h->producer = th->producer;
    h->network = th->network;
    h->dataset = cfg_choice_name("train.dataset", cfg->train.dataset);
    h->seed = (uint64_t)cfg->seed;
    cfg_hash(cfg, h->config_hash);
    h->config_yaml = th->yaml;
    return ES_OK;
}

int trace_hdr_set_ops(trace_hdr *th, const lop_op *ops, size_t nops, es_err *err)
{
    trace_header *h = &th->h;
    th->tops = calloc(nops ? nops : 1, sizeof *th->tops);
    th->counts = calloc((nops ? nops : 1) * LOP_NCOUNT, sizeof *th->counts);
    if (!th->tops || !th->counts) return es_fail(err, ES_ENOMEM, "out of memory");
    for (size_t i = 0; i < nops; i++) {
        trace_op *o = &th->tops[i];
        o->layer = ops[i].layer < 0 ? TRACE_NO_LAYER : (uint32_t)ops[i].layer;
        o->phase = ops[i].phase;
        o->kind = ops[i].kind;
        o->n = LOP_NCOUNT;
        o->counts = th->counts + i * LOP_NCOUNT;
        memcpy(th->counts + i * LOP_NCOUNT, ops[i].n, sizeof ops[i].n);
    }
    for (int k = 0; k < LOP_NKIND; k++)
        th->kind_names[k] = lop_kind_name(k);
    for (int k = 0; k < LOP_NCOUNT; k++)
        th->count_names[k] = lop_count_name(k);
    h->n_kinds = LOP_NKIND;
    h->kind_names = th->kind_names;
    h->n_count_names = LOP_NCOUNT;
    h->count_names = th->count_names;
    h->n_ops = (uint32_t)nops;
    h->ops = th->tops;
    return ES_OK;
}
