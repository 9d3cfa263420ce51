/* chip.h - the whole chip: `tiles` tiles on the on-chip network, the off-chip links, and on a
 * training chip the write budget. Entry point of the hardware model: chip_init builds every
 * component model from a bound configuration; the area/power roll-up (`essim config
 * area-power`) and the event-driven execution read it.
 *
 * Roll-up (chip_rollup): per level, each part's count, area, power at full activity and
 * leakage, then the level's total:
 *   ima:  adc, dac, sh, xbar, sa, in_reg, out_reg                 -> ima total
 *   tile: ima (x imas), edram, bus, sa, out_reg, sigmoid, maxpool [, gu, wdrv] -> tile total
 *   chip: tiles (x tiles), noc (routers with their links), offchip (x links)
 *         [, write: crossbars writing at once x one crossbar's write power]   -> chip total
 * ISAAC's Table I lists a quarter router in every tile; here routers are counted once at chip
 * level, so tile + router share = tile_total + noc / tiles.
 * Write (training): concurrency = min(arch.wdrv.per_chip, tiles x arch.wdrv.per_tile),
 *   write power = concurrency x xbar.write_power (cells and drivers, all sets busy).
 * Peak throughput (one MAC = 2 ops):
 *   peak_macs_per_s = tiles x imas x ima.macs_per_mvm / ima.mvm_interval
 *   ISAAC: 168 x 12 x (128 x 128) / (16 x 100ns) = 2.064e13 MAC/s = 41.3 Tops/s. */
#ifndef ES_CHIP_H
#define ES_CHIP_H

#include <stddef.h>
#include <stdint.h>

#include "arch_util.h"
#include "noc.h"
#include "offchip.h"
#include "tile.h"

typedef struct chip_config {
    const char *name; /* borrowed */
    int64_t tiles;
    int training;
    int power_gating; /* the execution gates idle units (hwsim.h, "Leakage") */
    double wakeup_time_ps, wakeup_breakeven_ps;
    tile_config tile;
    noc_config noc;
    offchip_config offchip;
    const cfg_doc *doc;
} chip_config;

enum { CHIP_PART_TILES, CHIP_PART_NOC, CHIP_PART_OFFCHIP, CHIP_PART_WRITE, CHIP_NPARTS };

typedef struct chip_model {
    chip_config cfg;
    tile_model tile; /* one tile (all alike) */
    noc_model noc;
    offchip_model offchip;
    uint64_t write_concurrency; /* crossbars writing at once (training), else 0 */
    double write_power_w;       /* write_concurrency x xbar.write_power */
    arch_part part[CHIP_NPARTS];
    size_t nparts;
    arch_cost cost;                              /* the chip */
    arch_part ima_total, tile_total, chip_total; /* the levels' "total" lines */
    arch_cost tile_with_router;                  /* tile + its router share (ISAAC's tile) */
    double peak_macs_per_s, peak_ops_per_s;
} chip_model;

/* The hardware of a bound configuration; doc (may be NULL) only places error messages at the
 * key's file:line:col. Strings (name, impl names) are borrowed from cfg / static tables. */
void chip_config_from(const essim_config *cfg, const cfg_doc *doc, chip_config *c);
/* Build every component model. ES_ECONFIG with a message that says which key to change for
 * an impossible configuration (zero ADCs, columns per ADC not dividing the columns, a write
 * budget of zero, too few router ports, leakage above power, ...). The model owns no memory:
 * there is nothing to free. */
int chip_init(chip_model *m, const chip_config *c, es_err *err);
/* Shorthand: chip_config_from + chip_init. */
int chip_from_config(chip_model *m, const essim_config *cfg, const cfg_doc *doc, es_err *err);

/* One line of the roll-up. level is "ima", "tile" or "chip"; a level's last line is its
 * "total" (count 1). part points into the model: valid while the model lives. */
typedef struct chip_rollup_row {
    const char *level;
    const arch_part *part;
} chip_rollup_row;

#define CHIP_ROLLUP_MAX (IMA_NPARTS + TILE_NPARTS + CHIP_NPARTS + 3)

/* The roll-up lines in order (see the top of this file): writes min(n, cap) of them and
 * returns n; a cap of CHIP_ROLLUP_MAX always suffices. */
size_t chip_rollup(const chip_model *m, chip_rollup_row *rows, size_t cap);

#endif
