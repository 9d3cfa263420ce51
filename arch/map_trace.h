/* map_trace.h - a mapping and a trace header side by side: fill a trace's layer table from a
 * placement (what `essim train --trace` and `essim trace synth` record), and check that a
 * trace recorded with one crossbar geometry can replay on another configuration. */
#ifndef ES_MAP_TRACE_H
#define ES_MAP_TRACE_H

#include "cfg.h"
#include "es_common.h"
#include "map.h"
#include "trace.h"
#include "trace_hdr.h"

/* th's layer table from plan (borrowed: the names point into it, so it must outlive th).
 * ES_ERANGE for a layer too large for the format's 32-bit fields. */
int map_trace_layers(trace_hdr *th, const map_plan *plan, es_err *err);

/* Can a trace (header th, recorded with the configuration tcfg, named path in messages)
 * replay on cfg? Places the trace's layers with cfg's crossbar geometry and compares every
 * layer's row and column tiles, slices, cells per slice, weights per row, block granularity,
 * blocks and crossbars, and the input bits. ES_OK, with the placement in *plan_out when it is
 * not NULL (map_destroy it); ES_ECONFIG with a message naming the layer, the field and the
 * configuration keys that differ ("arch.xbar.rows is 256 here, 128 in the trace"); ES_ENOMEM
 * or map_create's errors otherwise. */
int map_check_trace(const trace_header *th, const char *path, const essim_config *tcfg,
                    const essim_config *cfg, map_plan **plan_out, es_err *err);

#endif
