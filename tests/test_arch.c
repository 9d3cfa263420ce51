/* test_arch.c - the hardware component models of arch/: every component's energy, latency and
 * area arithmetic against values worked out by hand (the arithmetic is in the comments), the
 * ISAAC roll-up against Table I, implementation selection by name, and impossible
 * configurations rejected with a message that names the key (at its file:line:col). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "chip.h"
#include "tap.h"
#include "map.h"

/* Relative closeness, for values worked out by hand to ~9 digits. */
#define CHECK_REL(a, b, rel) CHECK_NEAR((a), (b), fabs((double)(b)) * (rel) + 1e-300)

static const char *srcdir(void)
{
    const char *s = getenv("ES_SRCDIR");
    return s && *s ? s : ES_SRCDIR;
}

/* Bind a preset (configs/NAME.yaml) or the built-in defaults (name NULL). */
static int load_preset(const char *name, essim_config *cfg)
{
    char path[1024];
    es_err err;
    cfg_doc *doc = NULL;
    int rc;
    if (name) {
        snprintf(path, sizeof path, "%s/configs/%s.yaml", srcdir(), name);
        rc = cfg_doc_load(path, &doc, &err);
    } else {
        rc = cfg_doc_create_empty(&doc, &err);
    }
    if (rc == ES_OK) rc = cfg_bind(doc, cfg, &err);
    cfg_doc_destroy(doc);
    if (rc != ES_OK) CHECK_MSG(0, "load %s: %s", name ? name : "(defaults)", err.msg);
    return rc;
}

/* The chip of a preset; NULL (after a failed check) on error. Free with free(). */
static chip_model *preset_chip(const char *name)
{
    essim_config cfg;
    if (load_preset(name, &cfg) != ES_OK) return NULL;
    chip_model *m = malloc(sizeof *m);
    es_err err;
    int rc = m ? chip_from_config(m, &cfg, NULL, &err) : ES_ENOMEM;
    cfg_free(&cfg);
    if (!CHECK_MSG(rc == ES_OK, "chip of %s: %s", name ? name : "(defaults)",
                   rc == ES_OK ? "" : err.msg)) {
        free(m);
        return NULL;
    }
    return m;
}

/* ---- cell ------------------------------------------------------------------------------- */

static void test_cell_neurosim(void)
{
    essim_config cfg;
    if (load_preset("isaac-train", &cfg) != ES_OK) return;
    cell_config c;
    cell_config_from(&cfg, NULL, &c);
    cell_model m;
    es_err err;
    if (!CHECK(cell_init(&m, &c, &err) == ES_OK)) goto out;
    CHECK_STR(m.ops->name, "rram-neurosim");
    CHECK_INT(m.levels, 4); /* 2 bits per cell */
    /* G_on = 1/6k = 1.666667e-4 S, G_off = 1/900k = 1.111111e-6 S, mean 8.388889e-5 S */
    CHECK_REL(m.g_mean_s, 8.3888888889e-5, 1e-9);
    /* level 1 of 0..3: G_off + (G_on - G_off)/3 = 1.111111e-6 + 5.518519e-5 = 5.629630e-5 */
    CHECK_REL(cell_level_conductance(&m, 1), 5.6296296296e-5, 1e-9);
    CHECK_REL(cell_level_conductance(&m, 9), 1.0 / 6000.0, 1e-12); /* clamped to G_on */
    /* C_line = 128 rows x 32 aF = 4.096 fF; V^2 C in pJ = C x 1e12 x V^2 */
    CHECK_REL(m.line_cap_f, 4.096e-15, 1e-12);
    /* read: 0.5^2 x (8.388889e-5 S x 2000 ps + 0.004096) = 0.25 x 0.171873778 = 0.0429684 pJ */
    CHECK_REL(m.read_energy_pj, 0.04296844444, 1e-8);
    /* mean pulse: 2^2 x (8.388889e-5 x 50000 + 0.004096) = 4 x 4.198540444 = 16.794161778 pJ */
    CHECK_REL(m.pulse_energy_pj, 16.794161778, 1e-9);
    /* top level: 4 x (1/6000 x 50000 + 0.004096) = 4 x 8.337429333 = 33.349717333 pJ;
     * bottom: 4 x (1/900000 x 50000 + 0.004096) = 4 x 0.059651556 = 0.238606222 pJ */
    CHECK_REL(cell_pulse_energy_pj(&m, 3), 33.349717333, 1e-9);
    CHECK_REL(cell_pulse_energy_pj(&m, 0), 0.238606222, 1e-8);
    /* the mean of the levels' pulse energies is the mean pulse energy (linear in G) */
    double s = 0;
    for (int l = 0; l < 4; l++)
        s += cell_pulse_energy_pj(&m, l) / 4.0;
    CHECK_REL(s, m.pulse_energy_pj, 1e-12);
    /* write: 4 pulses x (16.794161778 + 0.042968444) = 67.348520889 pJ per cell;
     * a row segment: 4 x (50 ns + 2 ns) = 208000 ps */
    CHECK_NEAR(m.pulses, 4.0, 0);
    CHECK_REL(m.verify_energy_pj, m.read_energy_pj, 0);
    CHECK_REL(m.write_energy_pj, 67.348520889, 1e-9);
    CHECK_UINT(m.write_latency_ps, 208000);
    /* endurance: mu = log10(1e7) - 0.4^2 ln(10)/2 = 7 - 0.184206807 = 6.815793193 */
    CHECK_REL(m.endurance_mu_log10, 6.815793193, 1e-9);
    CHECK_REL(cell_endurance(&m, 0.0), pow(10.0, 6.815793193), 1e-8);
    CHECK_REL(cell_endurance(&m, 1.0) / cell_endurance(&m, 0.0), pow(10.0, 0.4), 1e-12);
    /* and the mean of the lognormal is endurance_mean: integrate over z numerically */
    double mean = 0, dz = 1e-3;
    for (double z = -9; z < 9; z += dz)
        mean += exp(-0.5 * z * z) / sqrt(2 * M_PI) * cell_endurance(&m, z) * dz;
    CHECK_REL(mean, 1e7, 1e-6);
out:
    cfg_free(&cfg);
}

static void test_cell_puma(void)
{
    essim_config cfg;
    if (load_preset("isaac-train", &cfg) != ES_OK) return;
    cell_config c;
    cell_config_from(&cfg, NULL, &c);
    c.impl = "rram-puma";
    cell_model m;
    es_err err;
    if (CHECK(cell_init(&m, &c, &err) == ES_OK)) {
        CHECK_STR(m.ops->name, "rram-puma");
        /* puma: a 128 x 128 crossbar in 351us/32 = 10968.75 ns and 676uJ/32 = 21125 pJ... */
        CHECK_NEAR(m.pulses, 1.0, 0);
        CHECK_UINT(m.write_latency_ps, 85693); /* 10968750 ps / 128 = 85693.36 ps, rounded */
        CHECK_REL(m.write_energy_pj * 16384.0, 21125.0, 1e-12); /* ...per cell 1.289368 pJ */
        CHECK_REL(cell_pulse_energy_pj(&m, 0), cell_pulse_energy_pj(&m, 3), 0);
        CHECK_NEAR(m.verify_energy_pj, 0.0, 0);
    }
    cfg_free(&cfg);
}

/* ---- crossbar, DAC, S&H, ADC ------------------------------------------------------------ */

static void test_xbar_dac_sh(void)
{
    essim_config cfg;
    if (load_preset("isaac-train", &cfg) != ES_OK) return;
    es_err err;
    cell_config cc;
    cell_model cell;
    wdrv_config wc;
    wdrv_model wd;
    xbar_config xc;
    xbar_model x;
    cell_config_from(&cfg, NULL, &cc);
    wdrv_config_from(&cfg, NULL, &wc);
    xbar_config_from(&cfg, NULL, &xc);
    if (!CHECK(cell_init(&cell, &cc, &err) == ES_OK && wdrv_init(&wd, &wc, &err) == ES_OK &&
               xbar_init(&x, &xc, &cell, &wd, &err) == ES_OK))
        goto out;
    /* read at the calibration point (ISAAC's 128 x 128 with the NeuroSim cell): Table I's
     * 30 pJ, i.e. 0.3 mW reading every 100 ns; area 25 um2. The formula there:
     * 16384 x 0.5^2 x (8.388889e-5 S x 2000 ps + 2 x 32e-18 x 1e12) = 4096 x 0.167841778
     * = 687.48 pJ, so k = 30 / 687.48 = 0.0436379 */
    CHECK_REL(x.read_energy_pj, 30.0, 1e-12);
    CHECK_REL(x.physics_read_energy_pj, 4096 * 0.16784177778, 1e-9);
    CHECK_REL(x.read_scale, 30.0 / (4096 * 0.16784177778), 1e-9);
    CHECK(x.at_calibration);
    CHECK_UINT(x.read_latency_ps, 100000);
    CHECK_REL(x.cost.area_mm2, 25e-6, 1e-12);
    CHECK_REL(x.cost.power_w, 0.3e-3, 1e-12);
    /* the geometry: twice the rows, twice the read energy and area (everything else fixed);
     * 256 x 64 as much as 128 x 128 */
    {
        xbar_config x2c = xc;
        xbar_model x2;
        x2c.rows = 256;
        if (CHECK(xbar_init(&x2, &x2c, &cell, &wd, &err) == ES_OK)) {
            CHECK_REL(x2.read_energy_pj, 60.0, 1e-12);
            CHECK_REL(x2.cost.area_mm2, 50e-6, 1e-12);
            CHECK_REL(x2.read_scale, x.read_scale, 0);
            CHECK(!x2.at_calibration);
        }
        x2c.cols = 64;
        if (CHECK(xbar_init(&x2, &x2c, &cell, &wd, &err) == ES_OK))
            CHECK_REL(x2.read_energy_pj, 30.0, 1e-12);
    }
    /* the cell: 10x the resistances (and so a tenth of G_mean) with the same k: the G term
     * falls tenfold, the wire term stays: 30 x (0.016777778 + 0.000064) / 0.167841778 */
    {
        cell_config c10 = cc;
        cell_model cell10;
        xbar_model x10;
        c10.r_on_ohm *= 10;
        c10.r_off_ohm *= 10;
        if (CHECK(cell_init(&cell10, &c10, &err) == ES_OK &&
                  xbar_init(&x10, &xc, &cell10, &wd, &err) == ES_OK))
            CHECK_REL(x10.read_energy_pj, 30.0 * 0.01684177778 / 0.16784177778, 1e-9);
    }
    /* write, per cell with drivers: 67.348520889 + 4 pulses x 0.04 pJ = 67.508520889 pJ;
     * a full row of 128: 8641.090674 pJ in 208 ns -> 8641.090674 / 208000 = 0.0415437 W */
    CHECK_REL(x.cell_write_energy_pj, 67.508520889, 1e-9);
    CHECK_REL(x.row_write_energy_pj, 8641.0906738, 1e-9);
    CHECK_UINT(x.row_write_latency_ps, 208000);
    CHECK_REL(x.write_power_w, 8641.0906738 / 208000.0, 1e-9);
    CHECK_REL(xbar_row_write_energy_pj(&x, 10), 675.08520889, 1e-9);
    /* physics estimate of a read: 16384 cells x 0.0429684444 pJ = 703.99 pJ */
    CHECK_REL(x.cell_read_energy_pj, 16384 * 0.04296844444, 1e-8);

    dac_config dc;
    dac_model d;
    dac_config_from(&cfg, NULL, &dc);
    if (CHECK(dac_init(&d, &dc, &err) == ES_OK)) {
        /* (3.90625 uW - 0.390625 uW) x 100 ns = 3.515625e-6 W x 1e5 ps = 0.3515625 pJ */
        CHECK_REL(d.drive_energy_pj, 0.3515625, 1e-12);
        CHECK_REL(d.cost.area_mm2 * 1024, 0.00017, 1e-12);
        CHECK_REL(d.cost.power_w * 1024, 4e-3, 1e-12); /* Table I: 4 mW for 8 x 128 */
    }
    /* a 2-bit DAC is 3 unit drivers: 3x the energy, area and leakage */
    dc.bits = 2;
    if (CHECK(dac_init(&d, &dc, &err) == ES_OK)) {
        CHECK_REL(d.drive_energy_pj, 3 * 0.3515625, 1e-12);
        CHECK_REL(d.cost.area_mm2 * 1024, 3 * 0.00017, 1e-12);
        CHECK_REL(d.cost.leak_w, 3 * 0.390625e-6, 1e-12);
    }
    sh_config sc;
    sh_model sh;
    sh_config_from(&cfg, NULL, &sc);
    if (CHECK(sh_init(&sh, &sc, &err) == ES_OK)) {
        /* (9.765625 nW - 0.9765625 nW) x 1e5 ps = 8.7890625e-9 x 1e5 = 0.00087890625 pJ */
        CHECK_REL(sh.sample_energy_pj, 0.00087890625, 1e-12);
        CHECK_REL(sh.cost.power_w * 1024, 10e-6, 1e-12);
    }
out:
    cfg_free(&cfg);
}

static void test_adc(void)
{
    essim_config cfg;
    if (load_preset("isaac", &cfg) != ES_OK) return;
    es_err err;
    adc_config c;
    adc_model m;
    adc_config_from(&cfg, NULL, &c);
    if (CHECK(adc_init(&m, &c, &err) == ES_OK)) {
        CHECK_STR(m.ops->name, "sar");
        /* (2 mW - 0.2 mW) / 1.28 GS/s = 1.8e-3 / 1.28e9 J = 1.40625 pJ */
        CHECK_REL(m.conversion_energy_pj, 1.40625, 1e-12);
        CHECK_REL(adc_conversion_energy_pj(&m, 4), 0.703125, 1e-12); /* 4 of 8 bits */
        CHECK_REL(adc_conversion_energy_pj(&m, 99), 1.40625, 1e-12); /* clamped */
        CHECK_UINT(m.conversion_latency_ps, 781);                    /* 781.25 ps */
        CHECK_UINT(m.xbar_read_time_ps, 100000); /* 128 columns x 781.25 ps = 100 ns */
        CHECK_UINT(m.per_xbar, 1);
        CHECK_REL(m.cost.area_mm2, 0.0012, 1e-12);
    }
    /* the same SAR at 6 bits: x 2^(6 - 8) = 1/4: 0.3515625 pJ, 0.5 mW, 0.05 mW, 0.0003 mm2 */
    c.bits = 6;
    if (CHECK(adc_init(&m, &c, &err) == ES_OK)) {
        CHECK_REL(m.conversion_energy_pj, 0.3515625, 1e-12);
        CHECK_REL(m.cost.power_w, 0.5e-3, 1e-12);
        CHECK_REL(m.cost.leak_w, 0.05e-3, 1e-12);
        CHECK_REL(m.cost.area_mm2, 0.0003, 1e-12);
    }
    /* and at 10 bits: x 4 */
    c.bits = 10;
    if (CHECK(adc_init(&m, &c, &err) == ES_OK)) CHECK_REL(m.conversion_energy_pj, 5.625, 1e-12);
    c.bits = 8;
    /* flash, 6 bits: 63 comparators x 0.1 pJ = 6.3 pJ; area 63 x 50 um2 = 0.00315 mm2;
     * leakage 63 x 1 uW = 63 uW; power 6.3 pJ x 1.28 GS/s + 63 uW = 8.064 mW + 0.063 mW */
    c.impl = "flash";
    c.bits = 6;
    c.cols_per_adc = 8;
    c.comparator_energy_pj = 0.1;
    c.comparator_area_mm2 = 50e-6;
    c.comparator_leak_w = 1e-6;
    if (CHECK(adc_init(&m, &c, &err) == ES_OK)) {
        CHECK_STR(m.ops->name, "flash");
        CHECK_REL(m.conversion_energy_pj, 6.3, 1e-12);
        CHECK_REL(adc_conversion_energy_pj(&m, 3), 6.3, 1e-12); /* every comparator fires */
        CHECK_REL(m.cost.area_mm2, 0.00315, 1e-12);
        CHECK_REL(m.cost.leak_w, 63e-6, 1e-12);
        CHECK_REL(m.cost.power_w, 8.127e-3, 1e-12);
        CHECK_UINT(m.per_xbar, 16);            /* 128 / 8 */
        CHECK_UINT(m.xbar_read_time_ps, 6250); /* 8 x 781.25 ps */
    }
    cfg_free(&cfg);
}

/* ---- IMA, tile, units ------------------------------------------------------------------- */

static void test_ima_isaac(void)
{
    chip_model *c = preset_chip("isaac");
    if (!c) return;
    const ima_model *m = &c->tile.ima;
    CHECK_UINT(m->adcs, 8);
    CHECK_UINT(m->dacs, 1024);
    CHECK_UINT(m->shs, 1024);
    CHECK_UINT(m->sas, 4);
    /* 16 bits / 2 per cell = 8 slices across 8 crossbars: one position of 128 x 128 weights */
    CHECK_NEAR(m->positions, 1.0, 0);
    CHECK_NEAR(m->macs_per_mvm, 16384.0, 0);
    CHECK_NEAR(m->outputs_per_mvm, 128.0, 0);
    CHECK_UINT(m->out_bytes, 2);
    CHECK_UINT(m->read_cycle_ps, 100000);
    CHECK_UINT(m->mvm_interval_ps, 1600000);          /* 16 x 100 ns */
    CHECK_UINT(m->mvm_latency_ps, 17 * 100000 + 781); /* 17 cycles + one S&A op */
    /* S&A: 8 crossbars x 128 columns per 100 ns over 4 units = 2.56 Gop/s each;
     * (0.05 - 0.005) mW / 2.56e9 = 0.017578125 pJ */
    CHECK_REL(m->sa.cfg.rate_hz, 2.56e9, 1e-12);
    CHECK_REL(m->sa.op_energy_pj, 0.017578125, 1e-12);
    /* input register: 2 x 128/8 = 32 B per read x 8e7 reads/s = 2.56 GB/s;
     * (1.24 - 0.124) mW / 2.56e9 = 0.4359375 pJ/B */
    CHECK_NEAR(m->in_reg_bytes_per_read, 32.0, 0);
    CHECK_REL(m->in_reg.byte_energy_pj, 0.4359375, 1e-12);
    /* output register: 128 columns x 2 x 2 B = 512 B per read x 8e7 = 40.96 GB/s;
     * 0.207 mW / 4.096e10 = 0.0050537109375 pJ/B */
    CHECK_NEAR(m->out_reg_bytes_per_read, 512.0, 0);
    CHECK_REL(m->out_reg.byte_energy_pj, 0.0050537109375, 1e-12);
    /* one crossbar read with periphery: 30 + 128 x 0.3515625 + 128 x 0.00087890625
     * + 128 x 1.40625 + 128 x 0.017578125 + 32 x 0.4359375 + 512 x 0.0050537109375
     * = 30 + 45 + 0.1125 + 180 + 2.25 + 13.95 + 2.5875 = 273.9 pJ */
    CHECK_REL(m->read_energy_pj, 273.9, 1e-12);
    CHECK_REL(m->mvm_energy_pj, 16 * 8 * 273.9, 1e-12);
    /* Table I: an IMA is 24.08 mW and 0.01312 mm2 (289 mW / 0.157 mm2 for 12) */
    CHECK_REL(m->cost.power_w, 0.02408, 1e-12);
    CHECK_REL(m->cost.area_mm2, 0.01312, 1e-12);
    /* The ADCs exactly keep up, so a full-rate MVM draws the dynamic power:
     * (24.08 - 2.168) mW x 1.6 us = 35059.2 pJ */
    CHECK_REL(m->mvm_energy_pj, (m->cost.power_w - m->cost.leak_w) * 1.6e6, 1e-12);
    free(c);
}

static void test_tile_isaac(void)
{
    chip_model *c = preset_chip("isaac");
    if (!c) return;
    const tile_model *t = &c->tile;
    /* 12 IMAs x 128 outputs per 1.6 us = 9.6e8 outputs/s */
    CHECK_REL(t->outputs_per_s, 9.6e8, 1e-12);
    /* 12 x (8 x 128 x 16/8 B of input fills + 128 x 2 B of outputs) / 1.6 us = 1.728e10 B/s */
    CHECK_REL(t->traffic_bps, 1.728e10, 1e-12);
    /* eDRAM: (20.7 - 2.07) mW / 1.728e10 B/s = 1.078125 pJ/B; 32-byte access 34.5 pJ;
     * ports 4 x 32 B x 1.28 GHz = 163.84 GB/s */
    CHECK_REL(t->edram.byte_energy_pj, 1.078125, 1e-12);
    CHECK_REL(t->edram.access_energy_pj, 34.5, 1e-12);
    CHECK_UINT(t->edram.ports, 4);
    CHECK_REL(t->edram.peak_bandwidth_bps, 1.6384e11, 1e-12);
    CHECK_UINT(t->edram.access_latency_ps, 2000);
    /* bus: 6.3 mW / 1.728e10 = 0.364583333 pJ/B; 384/8 B x 1.28 GHz = 61.44 GB/s;
     * 100 bytes take ceil(800 / 384) = 3 cycles of 781 ps */
    CHECK_REL(t->bus.byte_energy_pj, 0.36458333333, 1e-10);
    CHECK_REL(t->bus.bandwidth_bps, 6.144e10, 1e-12);
    CHECK_UINT(bus_transfer_ps(&t->bus, 100), 3 * 781);
    /* tile S&A 0.045 mW / 9.6e8 = 0.046875 pJ; sigmoid 0.234 mW / 4.8e8 = 0.4875 pJ;
     * max-pool 0.36 mW / 9.6e8 = 0.375 pJ; output register 1.512 mW / 3.84e9 B/s =
     * 0.39375 pJ/B */
    CHECK_REL(t->sa.op_energy_pj, 0.046875, 1e-12);
    CHECK_REL(t->act.op_energy_pj, 0.4875, 1e-12);
    CHECK_REL(t->pool.op_energy_pj, 0.375, 1e-12);
    CHECK_REL(t->out_reg.byte_energy_pj, 0.39375, 1e-12);
    /* Table I without the router share: 289 + 20.7 + 7 + 0.05 + 1.68 + 0.52 + 0.4 mW
     * (IMAs exactly 288.96) = 319.31 mW; 0.15744 + 0.083 + 0.090 + 0.00006 + 0.0032 + 0.0006
     * + 0.00024 = 0.33454 mm2 */
    CHECK_UINT(t->nparts, 7); /* no gradient unit, no write drivers */
    CHECK_REL(t->cost.power_w, 0.31931, 1e-12);
    CHECK_REL(t->cost.area_mm2, 0.33454, 1e-12);
    /* with its quarter router (42 mW, 0.1512 mm2 / 4): 329.81 mW, 0.37234 mm2 (Table I:
     * 330 mW, 0.372 mm2) */
    CHECK_REL(c->tile_with_router.power_w, 0.32981, 1e-12);
    CHECK_REL(c->tile_with_router.area_mm2, 0.37234, 1e-12);
    free(c);
}

static void test_gu_wdrv(void)
{
    chip_model *c = preset_chip("isaac-train");
    if (!c) return;
    const gu_model *g = &c->tile.gu;
    /* 96 MACs x 1.28 GHz = 1.2288e11 MAC/s; power = 1.2288e11 x 0.64 pJ + 32 B x 1.28 GHz x
     * 2.45 pJ + leakage = 0.0786432 + 0.100352 + (96 x 0.08 mW + 65536 x 10 nW = 0.00833536)
     * = 0.18733056 W; area = 96 x 640 um2 + 65536 x 2.8 um2 = 0.06144 + 0.1835008 mm2 */
    CHECK_REL(g->mac_rate, 1.2288e11, 1e-12);
    CHECK_REL(g->cost.leak_w, 0.00833536, 1e-12);
    CHECK_REL(g->cost.power_w, 0.18733056, 1e-12);
    CHECK_REL(g->cost.area_mm2, 0.2449408, 1e-12);
    CHECK_UINT(gu_macs_ps(g, 1000), 11 * 781); /* ceil(1000 / 96) = 11 cycles */
    /* write drivers: 2 sets per tile of 0.002 mm2 and 0.01 mW; min(64, 168 x 2) at once */
    const wdrv_model *w = &c->tile.wdrv;
    CHECK_REL(w->tile.area_mm2, 0.004, 1e-12);
    CHECK_REL(w->tile.leak_w, 2e-5, 1e-12);
    CHECK_UINT(wdrv_chip_concurrency(w, 168), 64);
    CHECK_UINT(wdrv_chip_concurrency(w, 10), 20); /* 10 tiles x 2 */
    CHECK_UINT(c->write_concurrency, 64);
    /* 64 crossbars x 8641.0906738 pJ / 208000 ps = 2.658797 W */
    CHECK_REL(c->write_power_w, 64 * 8641.0906738 / 208000.0, 1e-9);
    CHECK_UINT(c->tile.nparts, 9);
    free(c);
}

/* ---- network and off-chip --------------------------------------------------------------- */

static void test_noc_isaac(void)
{
    chip_model *c = preset_chip("isaac");
    if (!c) return;
    const noc_model *n = &c->noc;
    CHECK_STR(n->ops->name, "cmesh");
    /* 168 tiles / 4 = 42 routers on 7 x 6; links 2 x (6 x 6 + 7 x 5) = 142 */
    CHECK_UINT(n->routers, 42);
    CHECK_UINT(n->grid_x, 7);
    CHECK_UINT(n->grid_y, 6);
    CHECK_UINT(n->links, 142);
    CHECK_UINT(n->max_degree, 4);
    /* uniform traffic on a full 7 x 6 grid: (49 - 1)/(3 x 7) + (36 - 1)/(3 x 6) = 4.2301587 */
    CHECK_REL(n->avg_hops, 48.0 / 21.0 + 35.0 / 18.0, 1e-12);
    /* router: (42 - 4.2) mW / (8 ports x 1.28 GHz) = 3.69140625 pJ per flit; 3 x 781 ps */
    CHECK_REL(n->router.flit_energy_pj, 3.69140625, 1e-12);
    CHECK_UINT(n->router.latency_ps, 2343);
    CHECK_UINT(n->link.latency_ps, 781);
    CHECK_REL(n->link.bandwidth_bps, 5.12e9, 1e-12); /* 4 B x 1.28 GHz */
    CHECK_REL(n->hop_energy_pj, 3.69140625, 1e-12);  /* + 0 pJ per link (ISAAC) */
    CHECK_UINT(n->hop_latency_ps, 2343 + 781);
    /* tile 0 on router 0 at (0,0); tile 167 on router 41 at (6,5): 11 hops, 12 routers */
    CHECK_UINT(noc_hops(n, 0, 167), 11);
    CHECK_UINT(noc_hops(n, 0, 3), 0); /* same router */
    CHECK_REL(noc_flit_energy_pj(n, 0, 167), 12 * 3.69140625, 1e-12);
    CHECK_UINT(noc_flit_latency_ps(n, 0, 167), 12 * 2343 + 11 * 781);
    CHECK_UINT(noc_flits(n, 10), 3); /* ceil(80 / 32) */
    CHECK_UINT(noc_transfer_latency_ps(n, 0, 167, 10), 12 * 2343 + 11 * 781 + 2 * 781);
    CHECK_REL(noc_transfer_energy_pj(n, 0, 167, 10), 3 * 12 * 3.69140625, 1e-12);
    /* 42 routers x 42 mW, 0.1512 mm2 */
    CHECK_REL(n->cost.power_w, 1.764, 1e-12);
    CHECK_REL(n->cost.area_mm2, 6.3504, 1e-12);

    const offchip_model *o = &c->offchip;
    /* 2.6 W / 6.4 GB/s = 406.25 pJ/B = 50.78125 pJ/bit; 100 B = 4 packets x 5 ns */
    CHECK_REL(o->byte_energy_pj, 406.25, 1e-12);
    CHECK_REL(o->bit_energy_pj, 50.78125, 1e-12);
    CHECK_UINT(offchip_transfer_ps(o, 100), 20000);
    CHECK_REL(o->cost.power_w, 10.4, 1e-12);
    CHECK_REL(o->cost.area_mm2, 22.88, 1e-12);
    free(c);
}

static void test_noc_partial_grid(void)
{
    essim_config cfg;
    if (load_preset("isaac", &cfg) != ES_OK) return;
    cfg.arch.chip.tiles = 10; /* routers 3 on a 2 x 2 grid, the last row partial */
    noc_config nc;
    noc_model n;
    es_err err;
    noc_config_from(&cfg, NULL, &nc);
    if (CHECK(noc_init(&n, &nc, &err) == ES_OK)) {
        CHECK_UINT(n.routers, 3);
        CHECK_UINT(n.grid_x, 2);
        CHECK_UINT(n.grid_y, 2);
        CHECK_UINT(n.links, 4);      /* r0-r1 and r0-r2, both ways */
        CHECK_UINT(n.max_degree, 2); /* r0 */
        /* tiles per column x: {6, 4}/10, per row y: {8, 2}/10:
         * E|dx| = 2 x 0.6 x 0.4 = 0.48, E|dy| = 2 x 0.8 x 0.2 = 0.32 */
        CHECK_REL(n.avg_hops, 0.8, 1e-12);
        double brute = 0;
        for (uint64_t a = 0; a < 10; a++)
            for (uint64_t b = 0; b < 10; b++)
                brute += (double)noc_hops(&n, a, b) / 100.0;
        CHECK_REL(n.avg_hops, brute, 1e-12);
    }
    cfg_free(&cfg);
}

/* ---- chip: the ISAAC roll-up and the peak ----------------------------------------------- */

static void test_rollup_isaac(void)
{
    chip_model *c = preset_chip("isaac");
    if (!c) return;
    /* 168 x 319.31 mW + 1.764 W + 10.4 W = 65.80808 W;
     * 168 x 0.33454 mm2 + 6.3504 + 22.88 = 85.43312 mm2 (Table I: 65.8 W, 85.4 mm2) */
    CHECK_REL(c->cost.power_w, 65.80808, 1e-12);
    CHECK_REL(c->cost.area_mm2, 85.43312, 1e-12);
    CHECK_MSG(fabs(c->cost.power_w / 65.8 - 1) < 0.01, "power %g W within 1%% of 65.8 W",
              c->cost.power_w);
    CHECK_MSG(fabs(c->cost.area_mm2 / 85.4 - 1) < 0.01, "area %g mm2 within 1%% of 85.4 mm2",
              c->cost.area_mm2);
    /* peak: 168 x 12 x 16384 MACs / 1.6 us x 2 = 4.128768e13 op/s */
    CHECK_REL(c->peak_ops_per_s, 4.128768e13, 1e-12);
    CHECK_UINT(c->write_concurrency, 0);
    /* the roll-up lines: 7 IMA parts + total, 7 tile parts + total, 3 chip parts + total */
    chip_rollup_row rows[CHIP_ROLLUP_MAX];
    size_t n = chip_rollup(c, rows, CHIP_ROLLUP_MAX);
    CHECK_UINT(n, 20);
    CHECK_STR(rows[0].level, "ima");
    CHECK_STR(rows[0].part->name, "adc");
    CHECK_STR(rows[7].part->name, "total");
    CHECK_STR(rows[8].level, "tile");
    CHECK_STR(rows[19].part->name, "total");
    CHECK_REL(rows[19].part->total.power_w, c->cost.power_w, 0);
    double sum = 0;
    for (size_t i = 16; i < 19; i++)
        sum += rows[i].part->total.area_mm2;
    CHECK_REL(sum, c->cost.area_mm2, 1e-12);
    CHECK_UINT(chip_rollup(c, rows, 3), 20); /* a short buffer still reports the count */
    free(c);
}

static void test_rollup_train_and_defaults(void)
{
    chip_model *t = preset_chip("isaac-train"), *d = preset_chip(NULL), *i = preset_chip("isaac");
    if (t && d && i) {
        /* the built-in defaults are isaac-train */
        CHECK_REL(d->cost.power_w, t->cost.power_w, 0);
        CHECK_REL(d->cost.area_mm2, t->cost.area_mm2, 0);
        /* the training units add: per tile the gradient unit (0.2449408 mm2, 0.18733056 W)
         * and 2 driver sets (0.004 mm2, 0.02 mW); per chip the write budget (2.658797 W) */
        double dtile_area = 0.2449408 + 0.004, dtile_power = 0.18733056 + 2e-5;
        CHECK_REL(t->cost.area_mm2 - i->cost.area_mm2, 168 * dtile_area, 1e-9);
        CHECK_REL(t->cost.power_w - i->cost.power_w,
                  168 * dtile_power + 64 * 8641.0906738 / 208000.0, 1e-9);
        CHECK_REL(t->peak_ops_per_s, i->peak_ops_per_s, 0);
    }
    free(t);
    free(d);
    free(i);
}

static void test_neurosim_preset(void)
{
    chip_model *c = preset_chip("neurosim-v2");
    if (!c) return;
    const ima_model *m = &c->tile.ima;
    CHECK_STR(m->adc.ops->name, "flash");
    /* 4 crossbars x 128 / 8 columns per ADC = 64 ADCs; 5-bit weights on 5-bit cells: one
     * slice, so 4 positions of 128 x 128 weights */
    CHECK_UINT(m->adcs, 64);
    CHECK_NEAR(m->positions, 4.0, 0);
    /* ADC: 8 columns x 1 ns = 8 ns < the 10 ns crossbar cycle: crossbar-bound;
     * 8 input bits x 10 ns = 80 ns per MVM */
    CHECK_UINT(m->read_cycle_ps, 10000);
    CHECK_UINT(m->mvm_interval_ps, 80000);
    /* peak: 64 tiles x 4 IMAs x 65536 MACs / 80 ns x 2 = 4.194304e14 op/s */
    CHECK_REL(c->peak_ops_per_s, 4.194304e14, 1e-12);
    /* cell write at 4 V, 50 ns, R 100k..1M: G_mean = 5.5 uS, C_line 4.096 fF:
     * pulse 16 x (5.5e-6 x 50000 + 0.004096) = 4.465536 pJ; verify 0.25 x (5.5e-6 x 10000 +
     * 0.004096) = 0.014774 pJ; 8 pulses: 35.84248 pJ; row 8 x 60 ns = 480 ns */
    CHECK_REL(m->cell.write_energy_pj, 8 * (4.465536 + 0.014774), 1e-9);
    CHECK_UINT(m->xbar.row_write_latency_ps, 480000);
    CHECK_UINT(c->write_concurrency, 1024);
    free(c);
}

static void test_adc_bound(void)
{
    essim_config cfg;
    if (load_preset("isaac", &cfg) != ES_OK) return;
    cfg.arch.adc.sample_rate_hz = 0.64e9; /* half rate: 128 conversions take 200 ns */
    chip_model *c = malloc(sizeof *c);
    es_err err;
    if (c && CHECK(chip_from_config(c, &cfg, NULL, &err) == ES_OK)) {
        CHECK_UINT(c->tile.ima.read_cycle_ps, 200000);
        CHECK_UINT(c->tile.ima.mvm_interval_ps, 3200000);
        CHECK_REL(c->peak_ops_per_s, 4.128768e13 / 2, 1e-12);
        /* Walden: the energy per conversion does not depend on the rate, fom x 2^8 =
         * 5.4931640625 fJ x 256 = 1.40625 pJ; the power does: 1.40625 pJ x 0.64 GS/s = 0.9 mW
         * dynamic (half of ISAAC's 1.8 mW) + 0.2 mW static */
        CHECK_REL(c->tile.ima.adc.conversion_energy_pj, 1.40625, 1e-12);
        CHECK_REL(c->tile.ima.adc.cost.power_w, 1.1e-3, 1e-12);
        CHECK_REL(c->tile.ima.adc.cost.power_w - c->tile.ima.adc.cost.leak_w, 0.9e-3, 1e-12);
        /* the crossbars and DACs now read every 200 ns: their energies per read stay, their
         * power at full activity halves (30 pJ / 200 ns = 0.15 mW) */
        CHECK_REL(c->tile.ima.xbar.read_energy_pj, 30.0, 1e-12);
        CHECK_REL(c->tile.ima.xbar.cost.power_w, 0.15e-3, 1e-12);
        CHECK_REL(c->tile.ima.dac.drive_energy_pj, 0.3515625, 1e-12);
    }
    free(c);
    cfg_free(&cfg);
}

/* Registers and the eDRAM follow their size (arch.sizing): 4x the bytes, 4x the area and
 * leakage (exponent 1) and 2x the dynamic energy per byte (exponent 0.5); at cal_size they
 * are Table I's figures. */
static void test_size_scaling(void)
{
    essim_config cfg;
    if (load_preset("isaac", &cfg) != ES_OK) return;
    chip_model *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    es_err err;
    if (!a || !b || !CHECK(chip_from_config(a, &cfg, NULL, &err) == ES_OK)) goto out;
    /* at the calibration size: ISAAC's 2 KB input register, 1.24 mW / 0.0021 mm2 */
    CHECK_REL(a->tile.ima.in_reg.cost.power_w, 1.24e-3, 1e-12);
    CHECK_REL(a->tile.ima.in_reg.cost.area_mm2, 0.0021, 1e-12);
    CHECK_REL(a->tile.edram.cost.power_w, 20.7e-3, 1e-12);
    cfg.arch.ima.in_reg.size *= 4;
    cfg.arch.ima.out_reg.size *= 4;
    cfg.arch.tile.out_reg.size *= 4;
    cfg.arch.edram.size *= 4;
    if (!CHECK(chip_from_config(b, &cfg, NULL, &err) == ES_OK)) goto out;
    const reg_model *ra[3] = {&a->tile.ima.in_reg, &a->tile.ima.out_reg, &a->tile.out_reg};
    const reg_model *rb[3] = {&b->tile.ima.in_reg, &b->tile.ima.out_reg, &b->tile.out_reg};
    for (int i = 0; i < 3; i++) {
        CHECK_REL(rb[i]->byte_energy_pj, 2 * ra[i]->byte_energy_pj, 1e-12);
        CHECK_REL(rb[i]->cost.area_mm2, 4 * ra[i]->cost.area_mm2, 1e-12);
        CHECK_REL(rb[i]->cost.leak_w, 4 * ra[i]->cost.leak_w, 1e-12);
    }
    /* 8 KB input register: 2 x (1.24 - 0.124) + 4 x 0.124 = 2.728 mW */
    CHECK_REL(b->tile.ima.in_reg.cost.power_w, 2.728e-3, 1e-12);
    CHECK_REL(b->tile.edram.byte_energy_pj, 2 * a->tile.edram.byte_energy_pj, 1e-12);
    CHECK_REL(b->tile.edram.cost.area_mm2, 4 * 0.083, 1e-12);
    /* with a linear energy law (exponent 1) the energy per byte follows the size */
    cfg.arch.sizing.energy_exponent = 1.0;
    if (CHECK(chip_from_config(b, &cfg, NULL, &err) == ES_OK))
        CHECK_REL(b->tile.ima.in_reg.byte_energy_pj, 4 * a->tile.ima.in_reg.byte_energy_pj,
                  1e-12);
out:
    free(a);
    free(b);
    cfg_free(&cfg);
}

/* ---- implementations by name ------------------------------------------------------------ */

/* The schema's choices for `path` equal the registry's names in order. */
static void check_choices(const char *path, size_t n, const char *(*name_at)(size_t))
{
    const cfg_key *k = cfg_schema_find(path);
    if (!CHECK_MSG(k && k->type == CFG_T_ENUM, "%s is a choice", path)) return;
    char want[256] = "";
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(want + o, sizeof want - o, "%s%s", i ? "|" : "", name_at(i));
    CHECK_STR(k->choices, want);
}
static const char *cell_name(size_t i)
{
    return cell_impl_at(i)->name;
}
static const char *adc_name(size_t i)
{
    return adc_impl_at(i)->name;
}
static const char *noc_name(size_t i)
{
    return noc_impl_at(i)->name;
}

static void test_impls(void)
{
    CHECK(cell_impl_find("rram-neurosim") == &cell_rram_neurosim_ops);
    CHECK(cell_impl_find("rram-puma") == &cell_rram_puma_ops);
    CHECK(adc_impl_find("sar") == &adc_sar_ops);
    CHECK(adc_impl_find("flash") == &adc_flash_ops);
    CHECK(noc_impl_find("cmesh") == &noc_cmesh_ops);
    CHECK(cell_impl_find("pcm") == NULL);
    CHECK(adc_impl_find("sigma-delta") == NULL);
    CHECK(noc_impl_find("torus") == NULL);
    CHECK(cell_impl_find(NULL) == NULL);
    CHECK(cell_impl_at(cell_impl_count()) == NULL);
    check_choices("arch.cell.impl", cell_impl_count(), cell_name);
    check_choices("arch.adc.impl", adc_impl_count(), adc_name);
    check_choices("arch.noc.impl", noc_impl_count(), noc_name);
    for (size_t i = 0; i < cell_impl_count(); i++)
        CHECK_INT(cell_impl_at(i)->version, CELL_OPS_VERSION);

    /* an unknown name given to a model is an error that lists the known ones */
    essim_config cfg;
    if (load_preset("isaac-train", &cfg) != ES_OK) return;
    es_err err;
    cell_config cc;
    cell_model cm;
    cell_config_from(&cfg, NULL, &cc);
    cc.impl = "rram-bogus";
    CHECK(cell_init(&cm, &cc, &err) == ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "arch.cell.impl: unknown cell model 'rram-bogus' (known: "
                            "rram-neurosim, rram-puma)");
    adc_config ac;
    adc_model am;
    adc_config_from(&cfg, NULL, &ac);
    ac.impl = "delta";
    CHECK(adc_init(&am, &ac, &err) == ES_ECONFIG);
    char known[256] = "unknown ADC model 'delta' (known: ";
    for (size_t i = 0; i < adc_impl_count(); i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                 adc_name(i));
    CHECK_CONTAINS(err.msg, known);
    noc_config nc;
    noc_model nm;
    noc_config_from(&cfg, NULL, &nc);
    nc.impl = "ring";
    CHECK(noc_init(&nm, &nc, &err) == ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "unknown network model 'ring'");
    cfg_free(&cfg);
    /* and in a file the schema rejects it at its position */
    cfg_doc *doc = NULL;
    CHECK(cfg_doc_load_string("version: 1\narch:\n  adc:\n    impl: delta\n", "impl.yaml", &doc,
                              &err) == ES_OK);
    if (doc) {
        CHECK(cfg_bind(doc, &cfg, &err) == ES_ECONFIG);
        CHECK_CONTAINS(err.msg, "impl.yaml:4:11: error: arch.adc.impl: 'delta' is not one of: "
                                "sar,flash");
        cfg_doc_destroy(doc);
    }
}

/* ---- impossible configurations ---------------------------------------------------------- */

/* Bind `yaml` and build the chip with the document: the error (ES_ECONFIG) must contain
 * `want`, which starts with the position when the key is in the file. */
static void check_impossible(const char *yaml, const char *want)
{
    cfg_doc *doc = NULL;
    essim_config cfg;
    es_err err;
    es_err_clear(&err);
    if (!CHECK_MSG(cfg_doc_load_string(yaml, "bad.yaml", &doc, &err) == ES_OK, "%s", err.msg))
        return;
    if (CHECK_MSG(cfg_bind(doc, &cfg, &err) == ES_OK, "%s", err.msg)) {
        chip_model *m = malloc(sizeof *m);
        int rc = m ? chip_from_config(m, &cfg, doc, &err) : ES_ENOMEM;
        CHECK_MSG(rc == ES_ECONFIG, "rejected (rc %d) for: %s", rc, want);
        CHECK_CONTAINS(err.msg, want);
        free(m);
        cfg_free(&cfg);
    }
    cfg_doc_destroy(doc);
}

static void test_impossible(void)
{
    check_impossible("version: 1\narch:\n  adc:\n    cols_per_adc: 0\n",
                     "bad.yaml:4:19: error: arch.adc.cols_per_adc = 0 leaves the crossbars "
                     "with zero ADCs: set it to a divisor of arch.xbar.cols = 128");
    check_impossible("version: 1\narch:\n  adc:\n    cols_per_adc: 3\n",
                     "bad.yaml:4:19: error: arch.adc.cols_per_adc = 3 does not divide "
                     "arch.xbar.cols = 128 (an ADC serves columns of one crossbar): use 128, 64, "
                     "32, 16 or 8");
    check_impossible("version: 1\narch:\n  xbar:\n    cols: 96\n",
                     "arch.adc.cols_per_adc = 128 does not divide arch.xbar.cols = 96");
    check_impossible("version: 1\narch:\n  wdrv:\n    per_tile: 0\n",
                     "bad.yaml:4:15: error: arch.wdrv.per_tile = 0: a write budget of zero");
    check_impossible("version: 1\narch:\n  wdrv:\n    per_chip: 0\n",
                     "bad.yaml:4:15: error: arch.wdrv.per_chip = 0: a write budget of zero");
    check_impossible("version: 1\narch:\n  noc:\n    ports: 7\n",
                     "bad.yaml:4:12: error: arch.noc.ports = 7 is too few for a "
                     "concentrated-mesh router with 4 tiles and 4 mesh neighbours: raise "
                     "arch.noc.ports to at least 8");
    check_impossible("version: 1\narch:\n  sh:\n    leakage: 3mW\n",
                     "bad.yaml:4:14: error: arch.sh.leakage = 0.003 W exceeds arch.sh.power");
    check_impossible("version: 1\narch:\n  cell:\n    impl: rram-neurosim\n    read_voltage: 0V\n",
                     "bad.yaml:5:19: error: arch.cell.read_voltage and arch.cell.read_pulse "
                     "must be > 0");
    /* a zero write budget is fine on an inference chip */
    cfg_doc *doc = NULL;
    essim_config cfg;
    es_err err;
    if (CHECK(cfg_doc_load_string("version: 1\narch:\n  training: false\n  wdrv:\n"
                                  "    per_tile: 0\n",
                                  "inf.yaml", &doc, &err) == ES_OK) &&
        CHECK(cfg_bind(doc, &cfg, &err) == ES_OK)) {
        chip_model *m = malloc(sizeof *m);
        CHECK_MSG(m && chip_from_config(m, &cfg, doc, &err) == ES_OK, "%s", err.msg);
        free(m);
        cfg_free(&cfg);
    }
    cfg_doc_destroy(doc);
    /* without a document the message still names the key */
    if (load_preset("isaac-train", &cfg) == ES_OK) {
        cfg.arch.wdrv.per_chip = 0;
        chip_model *m = malloc(sizeof *m);
        CHECK(m && chip_from_config(m, &cfg, NULL, &err) == ES_ECONFIG);
        CHECK(strncmp(err.msg, "arch.wdrv.per_chip = 0: a write budget of zero", 46) == 0);
        free(m);
        cfg_free(&cfg);
    }
}

static void test_layer_does_not_fit(void)
{
    essim_config cfg;
    if (load_preset("isaac-train", &cfg) != ES_OK) return;
    cfg.arch.chip.tiles = 2;
    map_config mc;
    map_config_from(&cfg, &mc);
    /* 4096 x 4096 weights: 32 x 32 positions x 8 slices = 8192 crossbars = 1024 IMAs, the
     * chip has 2 x 12 */
    map_layer_spec spec = {"fc", 4096, 4096, 0};
    map_plan *plan = NULL;
    es_err err;
    CHECK(map_create(&mc, &spec, 1, &plan, &err) == ES_ECONFIG);
    CHECK_CONTAINS(err.msg, "raise arch.chip.tiles to at least 86");
    map_destroy(plan);
    cfg_free(&cfg);
}

static const tap_test tests[] = {
    {"cell_neurosim", test_cell_neurosim},
    {"cell_puma", test_cell_puma},
    {"xbar_dac_sh", test_xbar_dac_sh},
    {"adc", test_adc},
    {"ima_isaac", test_ima_isaac},
    {"tile_isaac", test_tile_isaac},
    {"gu_wdrv", test_gu_wdrv},
    {"noc_isaac", test_noc_isaac},
    {"noc_partial_grid", test_noc_partial_grid},
    {"rollup_isaac", test_rollup_isaac},
    {"rollup_train_and_defaults", test_rollup_train_and_defaults},
    {"neurosim_preset", test_neurosim_preset},
    {"adc_bound", test_adc_bound},
    {"size_scaling", test_size_scaling},
    {"impls", test_impls},
    {"impossible", test_impossible},
    {"layer_does_not_fit", test_layer_does_not_fit},
};

int main(int argc, char **argv)
{
    return tap_main(tests, ES_ARRAY_LEN(tests), argc, argv);
}
