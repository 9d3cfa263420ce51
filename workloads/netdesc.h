/* netdesc.h - networks from a name or a YAML description. The trainer asks for "lenet5" or
 * "my-net.yaml" and gets an initialised nn_net for the dataset's input shape and class count.
 *
 * A description file:
 *
 *   version: 1
 *   network:
 *     name: small-cnn
 *     init: {conv: kaiming-fan-in, fc: torch-default}     # optional
 *     layers:
 *       - conv: {name: conv1, out: 16, kernel: 3, pad: 1, bias: false}
 *       - bn                                               # options may be omitted
 *       - relu
 *       - block: {name: layer1.0, out: 32, stride: 2, shortcut: A}   # ResNet basic block
 *       - maxpool: {kernel: 2}                             # stride defaults to kernel
 *       - gap
 *       - fc: {name: fc, out: classes}                     # "classes": the dataset's count
 *
 * Layer kinds: conv (out, kernel, stride=1, pad=0, bias=true), bn, relu, maxpool and avgpool
 * (kernel, stride=kernel, pad=0), gap, flatten, fc (out, bias=true), block (out, stride=1,
 * shortcut=A|B). Unknown kinds or options, missing values, and shape mismatches are
 * configuration errors with the file:line:col of the layer. */
#ifndef ES_NETDESC_H
#define ES_NETDESC_H

#include "cfg.h"
#include "es_common.h"
#include "nn_net.h"

/* Build the network `spec` (a preset name, or a path to a description file) for samples of
 * shape `in` with `classes` outputs, and initialise its parameters from `seed`.
 * *name_out (may be NULL) receives the network's name (static or owned by the net's caller:
 * copy it before destroying nothing; it lives as long as the process). */
int netdesc_build(const char *spec, nn_shape in, int classes, uint64_t seed, nn_net **out,
             char *name, size_t name_len, es_err *err);

/* Check that `spec` builds (the preset exists, or the file reads and describes a network for
 * that input), without keeping it: for `essim sweep --dry-run`. */
int netdesc_check(const char *spec, nn_shape in, int classes, es_err *err);

/* Build from an already loaded document's `network` section (tests use this). */
int netdesc_build_doc(const cfg_doc *doc, nn_shape in, int classes, uint64_t seed, nn_net **out,
                 char *name, size_t name_len, es_err *err);

#endif
