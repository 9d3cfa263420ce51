/* xmvm.h - what a ReRAM crossbar computes for one matrix-vector product, in integers: signed
 * weights sliced over multi-bit cells (offset or differential encoding, ISAAC's flipped
 * weights), inputs streamed one bit per cycle through 1-bit DACs, each slice's column sum over
 * one crossbar's rows converted by an ADC of finite resolution, then shift-and-add. The
 * training engine (workloads/nn_xbar.c) runs its conv and fc layers through it in the
 * bit-exact accuracy model; the forward pass uses W, the backward pass the transposed copy W^T
 * (PipeLayer keeps transposed crossbars for the error pass), each packed once per iteration.
 *
 * Arithmetic (y = W x, W: M x K integers, x: K integers):
 *   weights  q in [-(2^(wb-1) - 1), 2^(wb-1) - 1];
 *            offset: stored u = q + 2^(wb-1) in [1, 2^wb - 1], ceil(wb / bpc) slices, the
 *                    offset term 2^(wb-1) sum(x) removed digitally (ISAAC);
 *            differential: u+ = max(q, 0), u- = max(-q, 0), ceil((wb - 1) / bpc) slices each,
 *                    two columns per slice, subtracted after conversion;
 *            flip (offset only): a slice of one row chunk (one crossbar column segment) whose
 *                    levels sum past half their maximum is stored complemented, u' = L - u
 *                    (L = 2^bpc - 1), and corrected digitally as L popcount(x bits) - S';
 *   inputs   unsigned: x in [0, 2^ib - 1]; signed: two's complement of ib bits, the top bit's
 *            partial sums weigh -2^(ib-1) (PUMA);
 *   rows     K is cut into chunks of `rows` (one crossbar each); every (chunk, input bit,
 *            slice[, sign]) column sum S in [0, rows L] is converted separately:
 *            ADC(S) = min((S + 2^(s-1)) >> s, 2^adc_bits - 1) << s  (s = adc_shift; s = 0: no
 *            rounding, clipped at 2^adc_bits - 1).
 * With enough ADC bits (and s = 0) the result is exactly the integer dot product. */
#ifndef ES_XMVM_H
#define ES_XMVM_H

#include <stddef.h>
#include <stdint.h>

#include "es_common.h"

typedef struct xmvm_config {
    int rows;          /* crossbar rows summed in one column read (>= 1) */
    int weight_bits;   /* 1..31 */
    int bits_per_cell; /* 1..8 */
    int input_bits;    /* 1..31 */
    int adc_bits;      /* 1..30 */
    int adc_shift;     /* -1: auto (smallest step covering the largest column sum) */
    int differential;  /* 0: offset encoding, 1: differential pairs */
    int flip;          /* offset encoding: ISAAC's flipped weights */
} xmvm_config;

/* Check the numbers; ES_ECONFIG with a message naming the one out of range. */
int xmvm_config_check(const xmvm_config *c, es_err *err);
/* Slices per weight (per sign for differential). */
int xmvm_slices(const xmvm_config *c);
/* The largest sum one column read can present to the ADC (rows L, halved by flipping). */
int64_t xmvm_column_max(const xmvm_config *c);
/* The ADC step exponent in use (adc_shift, or auto's choice). */
int xmvm_adc_shift(const xmvm_config *c);
/* True when the ADC reproduces every possible column sum exactly (then y = W x exactly). */
int xmvm_adc_exact(const xmvm_config *c);

/* An M x K integer matrix programmed onto crossbars. */
typedef struct xmvm_mat xmvm_mat;

int xmvm_mat_create(const xmvm_config *c, int m, int k, xmvm_mat **out, es_err *err);
void xmvm_mat_destroy(xmvm_mat *w);
/* Program element (r, c) = q[r rs + c cs] (weights already clamped to the weight range;
 * values outside it are clamped). Decides the flips. */
void xmvm_mat_set(xmvm_mat *w, const int32_t *q, size_t rs, size_t cs);
/* Tests: use kernel version `level` (0 baseline, 1 AVX2, 2 AVX-512 VPOPCNTDQ) instead of the
 * one picked for this CPU; 0 when this build or CPU has no such version. */
int xmvm_mat_use(xmvm_mat *w, int level);
/* uint64 words of scratch one xmvm_run call needs. */
size_t xmvm_work_words(const xmvm_mat *w);
/* y (M) = what the crossbars give for input x (K integers, unsigned or two's complement of
 * input_bits as `is_signed` says; out-of-range values are clamped). work: xmvm_work_words. */
void xmvm_run(const xmvm_mat *w, const int32_t *x, int is_signed, uint64_t *work, int64_t *y);

/* The same, written as plainly as possible (loops over rows, bits and slices, no packing):
 * the reference the tests compare xmvm_run with. q is M x K row-major. */
void xmvm_reference(const xmvm_config *c, const int32_t *q, int m, int k, const int32_t *x,
                    int is_signed, int64_t *y);

#endif
