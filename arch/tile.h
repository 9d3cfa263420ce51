/* tile.h - one tile: `imas` IMAs, the eDRAM buffer and its bus to the IMAs, a shift-and-add
 * unit for partial sums across IMAs, the output register, activation and max-pool units, and,
 * on a training chip, the weight-gradient unit and the write-driver sets. It composes their
 * models and derives the full-activity rates of its shared parts from the IMAs:
 *   outputs_per_s = imas x ima.outputs_per_mvm / ima.mvm_interval       IMA results per second
 *   traffic_bps   = imas x (xbars x rows x input_bits / 8 + outputs_per_mvm x out_bytes)
 *                   / ima.mvm_interval     bytes the eDRAM and bus move: input-register fills
 *                                          plus outputs
 *   tile shift-and-add:  outputs_per_s / count ops/s each
 *   activation, max-pool: outputs_per_s / count ops/s each
 *   output register:     2 x out_bytes x outputs_per_s bytes/s (written, then read)
 * Cost (one tile): the parts below; the router share is not in it (chip.h counts routers). */
#ifndef ES_TILE_H
#define ES_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "arch_util.h"
#include "bus.h"
#include "edram.h"
#include "gu.h"
#include "ima.h"
#include "reg.h"
#include "dunit.h"
#include "wdrv.h"

typedef struct tile_config {
    int64_t imas;
    int training; /* count the gradient unit and the write drivers */
    ima_config ima;
    edram_config edram;
    bus_config bus;
    dunit_config sa;
    reg_config out_reg;
    dunit_config act;
    dunit_config pool;
    gu_config gu;
    wdrv_config wdrv;
    const cfg_doc *doc;
} tile_config;

enum {
    TILE_PART_IMA,
    TILE_PART_EDRAM,
    TILE_PART_BUS,
    TILE_PART_SA,
    TILE_PART_OUT_REG,
    TILE_PART_SIGMOID,
    TILE_PART_MAXPOOL,
    TILE_PART_GU,
    TILE_PART_WDRV,
    TILE_NPARTS
};

typedef struct tile_model {
    tile_config cfg;
    ima_model ima; /* one IMA (all of a tile's IMAs are alike) */
    edram_model edram;
    bus_model bus;
    dunit_model sa;
    reg_model out_reg;
    dunit_model act;
    dunit_model pool;
    gu_model gu;     /* only when training */
    wdrv_model wdrv; /* always derived (the crossbar write figures need it); counted only
                        when training */
    double outputs_per_s;
    double traffic_bps;
    arch_part part[TILE_NPARTS]; /* nparts of them are used */
    size_t nparts;
    arch_cost cost; /* one tile */
} tile_model;

void tile_config_from(const essim_config *cfg, const cfg_doc *doc, tile_config *c);
int tile_init(tile_model *m, const tile_config *c, es_err *err);

#endif
