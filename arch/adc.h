/* adc.h - the ADC that converts crossbar columns, shared by cols_per_adc columns of one
 * crossbar through the sample-and-holds (an IMA has xbars x cols / cols_per_adc of them).
 * Alternatives, selected by `arch.adc.impl`, are one file each behind adc_ops:
 *   sar (adc_sar.c)    Walden figure of merit: a conversion step costs `fom` whatever the
 *       sample rate, so
 *       conversion_energy = fom x 2^bits,
 *       power = conversion_energy x sample_rate + leakage'   (half the rate, half the dynamic
 *                                                              power, same energy),
 *       leakage' = f leakage, area' = f area, f = 2^(bits - ref_bits)  (given at ref_bits:
 *       the capacitive DAC doubles per bit);
 *       a conversion that resolves only k of the bits costs k / bits of that (one
 *       comparison per bit). The default fom is ISAAC's 8-bit 1.28 GS/s SAR (2 mW, 0.2 mW
 *       of it static): 1.8 mW / 1.28 GS/s / 256 = 5.49 fJ per step.
 *   flash (adc_flash.c)  2^bits - 1 comparators fire on every conversion:
 *       conversion_energy = (2^bits - 1) x comparator_energy,
 *       area = (2^bits - 1) x comparator_area, leakage = (2^bits - 1) x comparator_leakage,
 *       power = conversion_energy x sample_rate + leakage.
 * Both: conversion_latency = 1 / sample_rate; one crossbar read keeps each ADC busy for
 *       xbar_read_time = cols_per_adc / sample_rate (the IMA's read cycle is the larger of this
 *       and the crossbar cycle).
 * cols_per_adc must divide the crossbar's columns (an ADC serves columns of one crossbar). */
#ifndef ES_ADC_H
#define ES_ADC_H

#include <stddef.h>
#include <stdint.h>

#include "arch_util.h"

typedef struct adc_config {
    const char *impl; /* "sar" | "flash" (borrowed) */
    int64_t bits;
    double sample_rate_hz;
    int64_t cols_per_adc;
    int64_t xbar_cols;                /* columns of the crossbar it serves */
    double fom_pj;            /* sar: energy per conversion step */
    double leak_w, area_mm2;  /* sar, at ref_bits */
    int64_t ref_bits;
    double comparator_energy_pj, comparator_area_mm2, comparator_leak_w; /* flash */
    const cfg_doc *doc;
} adc_config;

typedef struct adc_model adc_model;

#define ADC_OPS_VERSION 1

typedef struct adc_ops {
    int version; /* ADC_OPS_VERSION */
    const char *name;
    const char *summary;
    /* Check the implementation's parameters and fill cost and conversion_energy_pj. */
    int (*derive)(adc_model *m, es_err *err);
    /* Energy (pJ) of one conversion resolving `bits` bits (1 <= bits <= cfg.bits). */
    double (*energy_pj)(const adc_model *m, int bits);
} adc_ops;

struct adc_model {
    adc_config cfg;
    const adc_ops *ops;
    arch_cost cost;                 /* one ADC */
    double conversion_energy_pj;    /* full-resolution conversion */
    sim_time conversion_latency_ps; /* 1 / sample_rate */
    sim_time xbar_read_time_ps;     /* cols_per_adc conversions: one crossbar read's worth */
    uint64_t per_xbar;              /* xbar_cols / cols_per_adc */
};

void adc_config_from(const essim_config *cfg, const cfg_doc *doc, adc_config *c);
/* ES_ECONFIG naming the key: unknown impl, cols_per_adc = 0 (no ADC) or not dividing the
 * crossbar's columns, leakage above power. */
int adc_init(adc_model *m, const adc_config *c, es_err *err);
/* Energy (pJ) of one conversion resolving `bits` bits (clamped to [1, cfg.bits]). */
double adc_conversion_energy_pj(const adc_model *m, int bits);

const adc_ops *adc_impl_find(const char *name);
size_t adc_impl_count(void);
const adc_ops *adc_impl_at(size_t i);

extern const adc_ops adc_sar_ops;
extern const adc_ops adc_flash_ops;

#endif
