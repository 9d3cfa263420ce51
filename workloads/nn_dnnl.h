/* nn_dnnl.h - the oneDNN convolution backend of the training engine (an nn_conv_backend, see
 * nn_layers.h). Calls oneDNN's C API directly with the activations in the layout the network
 * keeps (NCHW, or nChw16c end to end between layers), so the only reorders per call are of the
 * small weight tensors. Built only when configure found oneDNN (ES_HAVE_DNNL); everything else
 * in the engine works without it. */
#ifndef NN_DNNL_H
#define NN_DNNL_H

#include "config.h"

#include "nn_layers.h"

#ifdef ES_HAVE_DNNL
/* Direct convolutions (oneDNN's JIT kernels; run-to-run deterministic for a fixed thread
 * count, which tests/test_nn_dnnl.c checks). Primitives are built by prepare for the batch
 * capacity and, on first use, for any other batch size (the two most recent are cached), so a
 * step with a new batch size allocates. */
extern const nn_conv_backend nn_conv_backend_dnnl;
#endif

/* 1 when the build has the oneDNN backend. */
int nn_dnnl_available(void);

#endif
