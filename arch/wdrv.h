/* wdrv.h - write drivers: the bitline drivers and charge pump that program one crossbar row
 * segment at a time, and the budget that limits how many crossbars write at once. A "driver
 * set" serves one writing crossbar; a tile has per_tile of them, and the chip's charge-pump
 * power budget allows per_chip crossbars writing at once in all. The hardware simulator's write
 * sessions (hwsim.c) treat both as counting resources; xbar.h adds the driver energy to every row write:
 *     driver energy of a row write = cells x pulses x pulse_energy.
 * Costs: a tile holds per_tile sets: area = per_tile x area, leakage = per_tile x leakage;
 * their dynamic power is the write power itself, counted at chip level under the budget. */
#ifndef ES_WDRV_H
#define ES_WDRV_H

#include <stdint.h>

#include "arch_util.h"

typedef struct wdrv_config {
    int64_t per_tile;       /* crossbars of a tile writing at once (>= 1) */
    int64_t per_chip;       /* crossbars of the chip writing at once (>= 1) */
    double pulse_energy_pj; /* per cell per write pulse */
    double area_mm2;        /* per driver set */
    double leak_w;          /* per driver set */
    const cfg_doc *doc;
} wdrv_config;

typedef struct wdrv_model {
    wdrv_config cfg;
    arch_cost set;  /* one driver set: area, power = leakage (dynamic is charged per write) */
    arch_cost tile; /* per_tile sets */
} wdrv_model;

void wdrv_config_from(const essim_config *cfg, const cfg_doc *doc, wdrv_config *c);
/* ES_ECONFIG when either budget is zero ("a write budget of zero"), naming the key. */
int wdrv_init(wdrv_model *m, const wdrv_config *c, es_err *err);
/* Crossbars that may write at once on a chip of `tiles` tiles: min(per_chip, tiles x per_tile). */
uint64_t wdrv_chip_concurrency(const wdrv_model *m, uint64_t tiles);

#endif
