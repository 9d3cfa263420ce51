/* lop_compile.h - the compiler from a network to the hardware: the list of mapped layers placed by
 * arch/map.h, and the layer-op stream, the template of operations one training iteration
 * makes the chip execute (per layer and phase, with their sizes). The architecture model runs
 * the stream live or from a trace; the write policy fills in, per iteration, which of the
 * update records' blocks are written. The records, their kinds and counts are defined in
 * traces/lop.h. */
#ifndef ES_LOP_COMPILE_H
#define ES_LOP_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"
#include "lop.h"
#include "nn_layers.h"
#include "nn_net.h"
#include "map.h"
#include "trace_hdr.h"

typedef struct lop_stream lop_stream;

/* Input shape and class count of a dataset (CFG_DS_*) without loading it: fashion-mnist,
 * mnist and synthetic 1x28x28 / 10, cifar10 3x32x32 / 10, cifar100 3x32x32 / 100.
 * ES_EINVAL for an unknown dataset. */
int lop_dataset_shape(int dataset, nn_shape *in, int *classes);

/* The mapped layers of a network, in parameter order, as map_layer_spec (name = the layer's
 * node name, K = param rows, N = param cols). *specs is malloc'ed (free it); the names are
 * borrowed from the network. */
int lop_layer_specs(const nn_net *net, map_layer_spec **specs, size_t *n, es_err *err);
/* lop_layer_specs + map_create: place a network's mapped layers. */
int lop_map_net(const map_config *mc, const nn_net *net, map_plan **out, es_err *err);

/* The op stream of one training iteration with batch `batch` for a network placed by
 * lop_map_net (the plan must hold exactly the network's mapped layers: ES_EINVAL otherwise).
 * The network and plan are only read during the call. */
int lop_compile(const map_plan *plan, const nn_net *net, int batch, lop_stream **out, es_err *err);
void lop_destroy(lop_stream *s); /* NULL is fine */

/* The records (valid until lop_destroy) and their number. */
const lop_op *lop_ops(const lop_stream *s, size_t *n);
int lop_batch(const lop_stream *s);
/* Sum of every record's counts in a phase (phase < 0: all phases) into total[LOP_NCOUNT].
 * Only additive counts make sense summed (not vector_len, input_bits, weight_slices, xbars or
 * the per-block sizes). */
void lop_totals(const lop_stream *s, int phase, uint64_t total[LOP_NCOUNT]);

/* The trace header of a run of `net` (named net_name) placed by `plan` (both borrowed; they
 * must outlive th): the configuration, the op template of one iteration with cfg's batch, and
 * the layer table. On failure th is freed. */
int lop_trace_hdr(trace_hdr *th, const essim_config *cfg, const nn_net *net, const map_plan *plan,
                  const char *net_name, const char *producer, es_err *err);

#endif
