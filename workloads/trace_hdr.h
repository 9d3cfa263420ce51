/* trace_hdr.h - the trace header of a training run: the network's mapped layers as placed on
 * the configured crossbars (arch/xbar_map.h), the op template of one iteration
 * (workloads/compile.h) and the effective configuration, in the form traces/trace.h writes.
 * Used by `essim train --trace` and `essim trace synth`, so both describe a run the same way. */
#ifndef ES_TRACE_HDR_H
#define ES_TRACE_HDR_H

#include "cfg.h"
#include "compile.h"
#include "es_common.h"
#include "nn_net.h"
#include "trace.h"
#include "xbar_map.h"

typedef struct th_header {
    trace_header h; /* what trace_writer_create takes; points into the fields below */
    lop_stream *ops;
    trace_layer *layers;
    trace_op *tops;
    uint64_t *counts;
    const char *kind_names[LOP_NKIND];
    const char *count_names[LOP_NCOUNT];
    char *yaml;
    char network[256];
    char producer[96];
} th_header;

/* Fill th for a run of `net` (named net_name) placed by `plan` (both borrowed; they must
 * outlive th) with cfg's batch, seed and configuration. producer: e.g. "essim 0.1.0". */
int th_build(th_header *th, const essim_config *cfg, const nn_net *net, const map_plan *plan,
             const char *net_name, const char *producer, es_err *err);
/* Only the configuration part (no layers or ops): for traces of bare synthetic layers. */
int th_build_config(th_header *th, const essim_config *cfg, const char *net_name,
                    const char *producer, es_err *err);
void th_free(th_header *th);

/* Can a trace (header th, recorded with the configuration tcfg, named path in messages)
 * replay on cfg? Places the trace's layers with cfg's crossbar geometry and compares every
 * layer's row and column tiles, slices, cells per slice, weights per row, block granularity,
 * blocks and crossbars, and the input bits. ES_OK, with the placement in *plan_out when it is
 * not NULL (map_destroy it); ES_ECONFIG with a message naming the layer, the field and the
 * configuration keys that differ ("arch.xbar.rows is 256 here, 128 in the trace"); ES_ENOMEM
 * or map_create's errors otherwise. */
int th_check_replay(const trace_header *th, const char *path, const essim_config *tcfg,
                    const essim_config *cfg, map_plan **plan_out, es_err *err);

#endif
