/* trace_hdr.h - the header of a training run's trace, in the form traces/trace.h writes: the
 * effective configuration, the op template of one iteration (lop.h) and the mapped layers
 * (filled by arch/map_trace.h from a placement). workloads/lop_compile.h's lop_trace_hdr
 * builds the whole header for a network, so `essim train --trace` and `essim trace synth`
 * describe a run the same way. */
#ifndef ES_TRACE_HDR_H
#define ES_TRACE_HDR_H

#include <stddef.h>

#include "cfg.h"
#include "es_common.h"
#include "lop.h"
#include "trace.h"

typedef struct trace_hdr {
    trace_header h; /* what trace_writer_create takes; points into the fields below */
    trace_layer *layers;
    trace_op *tops;
    uint64_t *counts;
    const char *kind_names[LOP_NKIND];
    const char *count_names[LOP_NCOUNT];
    char *yaml;
    char network[256];
    char producer[96];
} trace_hdr;

/* Start th with the configuration part (no layers or ops; enough for traces of bare
 * synthetic layers): cfg's batch, seed, hash and dump, the network's name and the producer
 * (e.g. "essim 0.1.0"). */
int trace_hdr_build_config(trace_hdr *th, const essim_config *cfg, const char *net_name,
                           const char *producer, es_err *err);
/* The op template of one iteration: a copy of ops[0..n). */
int trace_hdr_set_ops(trace_hdr *th, const lop_op *ops, size_t n, es_err *err);
void trace_hdr_free(trace_hdr *th); /* NULL is fine; leaves th zeroed */

#endif
