/* ima.h - the in-situ multiply-accumulate unit (IMA): `xbars` crossbars with their cells, a
 * 1-bit DAC per row and a sample-and-hold per column of every crossbar, ADCs shared by
 * cols_per_adc columns, shift-and-add units, and the input and output registers. It composes
 * the component models and derives what the event-driven execution needs per action, and the
 * rates at which each part draws its published power (its "full activity").
 *
 * Organisation (S slices, n_w weights per crossbar row, from map.h's geometry):
 *   dacs = xbars x rows,  shs = xbars x cols,  adcs = xbars x cols / cols_per_adc;
 *   positions = xbars / xbars_per_pos (S across, 1 within): weight tiles held at once;
 *   macs_per_mvm = positions x rows x n_w,  outputs_per_mvm = positions x n_w;
 *   out_bytes = ceil(input_bits / 8) (activations travel at input precision).
 * Timing (inputs stream one bit per read; the ADCs convert read i while read i+1 settles):
 *   read_cycle   = max(xbar_cycle, cols_per_adc / adc sample rate)   ADC-bound if larger
 *   mvm_interval = input_bits x read_cycle        one MVM per IMA at full rate (throughput)
 *   mvm_latency  = (input_bits + 1) x read_cycle + one shift-and-add op   first bit in to
 *                                                                          last output out
 * Full activity = every crossbar reads every read_cycle. Per crossbar read:
 *   in_reg bytes  = 2 x rows / 8     (one bit per row read out; the same refilled, amortised)
 *   out_reg bytes = cols x 2 x out_bytes   (a read-modify-write per shift-and-add op)
 *   shift-and-add ops = cols         (every converted column)
 * so the shift-and-add units run at xbars x cols / read_cycle / count ops/s each, and the
 * registers at xbars x bytes / read_cycle bytes/s: their published powers are drawn at those
 * rates (dunit.h, reg.h).
 * The crossbars and DACs price an action (xbar.h, dac.h): their power at full activity is
 * energy per read / read_cycle + leakage, so an ADC-bound read cycle lowers it.
 * Energy of one crossbar read with its periphery:
 *   read_energy = xbar.read + rows x dac.drive + cols x sh.sample + cols x adc.conversion
 *                 + cols x sa.op + in_reg bytes x in_reg.byte + out_reg bytes x out_reg.byte
 *   mvm_energy  = input_bits x xbars x read_energy     one MVM on every crossbar of the IMA
 * When the ADCs exactly keep up (ISAAC), mvm_energy = (power - leakage) x mvm_interval. */
#ifndef ES_IMA_H
#define ES_IMA_H

#include <stddef.h>
#include <stdint.h>

#include "adc.h"
#include "arch_util.h"
#include "cell.h"
#include "dac.h"
#include "reg.h"
#include "dunit.h"
#include "sh.h"
#include "wdrv.h"
#include "xbar.h"
#include "map.h"

typedef struct ima_config {
    int64_t xbars;
    int64_t input_bits;
    map_config map; /* crossbar geometry (rows, cols, bits, slicing, encoding) */
    cell_config cell;
    xbar_config xbar;
    dac_config dac;
    sh_config sh;
    adc_config adc;
    dunit_config sa;               /* rate_hz derived by ima_init */
    reg_config in_reg, out_reg; /* bandwidth_bps derived by ima_init */
    const cfg_doc *doc;
} ima_config;

enum {
    IMA_PART_ADC,
    IMA_PART_DAC,
    IMA_PART_SH,
    IMA_PART_XBAR,
    IMA_PART_SA,
    IMA_PART_IN_REG,
    IMA_PART_OUT_REG,
    IMA_NPARTS
};

typedef struct ima_model {
    ima_config cfg;
    cell_model cell;
    xbar_model xbar;
    dac_model dac;
    sh_model sh;
    adc_model adc;
    dunit_model sa;
    reg_model in_reg, out_reg;
    map_geometry geo;
    uint64_t xbars, dacs, shs, adcs, sas;
    double positions, macs_per_mvm, outputs_per_mvm;
    uint64_t out_bytes;
    sim_time read_cycle_ps, mvm_interval_ps, mvm_latency_ps;
    double in_reg_bytes_per_read, out_reg_bytes_per_read;
    double read_energy_pj;
    double mvm_energy_pj;
    arch_part part[IMA_NPARTS]; /* the roll-up lines, in ISAAC's Table I order */
    arch_cost cost;             /* the whole IMA */
} ima_model;

void ima_config_from(const essim_config *cfg, const cfg_doc *doc, ima_config *c);
/* wd (the tile's write drivers) is read during the call only: the crossbar's write figures
 * include the driver energy. ES_ECONFIG naming the key to change. */
int ima_init(ima_model *m, const ima_config *c, const wdrv_model *wd, es_err *err);

#endif
