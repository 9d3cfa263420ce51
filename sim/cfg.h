/* cfg.h - ESSIM configuration: YAML documents with source marks, the declarative schema that
 * drives parsing, validation, --set overrides, the effective-configuration dump and the
 * reference, and the typed configuration structure the models read.
 *
 * Data flow: cfg_doc_load() parses a YAML file with libyaml's document API into a tree of
 * cfg_node (every node keeps file:line:col), resolving `include:` / `preset:` by deep merge;
 * cfg_doc_set() grafts `--set a.b.c=value` overrides into the tree; cfg_bind() walks the tree
 * against the schema and fills an essim_config. Every error is one message of the form
 * "file:line:col: error: ..." in the es_err. */
#ifndef ES_CFG_H
#define ES_CFG_H

#include <stdint.h>
#include <stdio.h>

#include "es_common.h"

/* ---- YAML node tree ------------------------------------------------------------------- */

typedef enum { CFG_SCALAR, CFG_MAP, CFG_SEQ } cfg_node_kind;

typedef struct cfg_node cfg_node;
struct cfg_node {
    cfg_node_kind kind;
    const char *file; /* interned in the owning doc; "--set ..." for overrides */
    int line, col;    /* 1-based; 0 when the node has no position (overrides) */
    char *text;       /* scalar text (CFG_SCALAR) */
    int quoted;       /* scalar was written quoted ('..' or "..") */
    size_t n;         /* number of children */
    char **keys;      /* map keys (CFG_MAP), n of them */
    cfg_node **key_nodes; /* map key positions, n of them */
    cfg_node **items; /* map values or sequence items */
};

typedef struct cfg_doc cfg_doc;

/* Load a YAML configuration file (with its includes/presets). Rejects YAML syntax errors,
 * duplicate keys, merge keys (<<), multiple documents, a missing or unsupported `version`,
 * and include cycles. On success *out owns everything; free with cfg_doc_destroy(). */
int cfg_doc_load(const char *path, cfg_doc **out, es_err *err);
/* Same from a string; `name` is the file name used in messages. */
int cfg_doc_load_string(const char *text, const char *name, cfg_doc **out, es_err *err);
/* An empty document (the built-in defaults only). */
int cfg_doc_create_empty(cfg_doc **out, es_err *err);
void cfg_doc_destroy(cfg_doc *doc);
/* Root mapping of the merged document (never NULL for a loaded doc). */
const cfg_node *cfg_doc_root(const cfg_doc *doc);
/* Apply one override "a.b.c=value"; value is parsed as a YAML flow scalar/sequence/map. */
int cfg_doc_set(cfg_doc *doc, const char *assignment, es_err *err);

/* Child of a mapping by key, or NULL. */
const cfg_node *cfg_map_get(const cfg_node *map, const char *key);

/* ---- units ----------------------------------------------------------------------------- */

/* Physical dimensions a quantity may carry, with the canonical unit values are stored in. */
typedef enum {
    CFG_DIM_NONE = 0,
    CFG_DIM_TIME,        /* picoseconds  (ps, ns, us, ms, s)        */
    CFG_DIM_FREQ,        /* hertz        (Hz, kHz, MHz, GHz)        */
    CFG_DIM_POWER,       /* watts        (nW, uW, mW, W, kW)        */
    CFG_DIM_ENERGY,      /* picojoules   (fJ, pJ, nJ, uJ, mJ, J)    */
    CFG_DIM_SIZE,        /* bytes        (B, KiB/KB, MiB/MB, GiB/GB; binary multiples) */
    CFG_DIM_AREA,        /* mm^2         (um2, mm2, cm2, m2)        */
    CFG_DIM_VOLTAGE,     /* volts        (mV, V)                    */
    CFG_DIM_RESISTANCE,  /* ohms         (Ohm, kOhm, MOhm)          */
    CFG_DIM_CAPACITANCE, /* farads       (aF, fF, pF, nF, F)        */
    CFG_DIM_BANDWIDTH,   /* bytes/second (B/s, kB/s, MB/s, GB/s, TB/s; decimal multiples) */
    CFG_DIM_COUNT_
} cfg_dim;

/* Canonical unit symbol of a dimension ("ps", "Hz", ...), "" for CFG_DIM_NONE. */
const char *cfg_dim_unit(cfg_dim dim);
/* Human name of a dimension ("time", "frequency", ...). */
const char *cfg_dim_name(cfg_dim dim);
/* Parse "100ns" etc. into the canonical unit of dim. Returns ES_OK or ES_ECONFIG with a
 * message (no location; the caller adds it). */
int cfg_parse_quantity(const char *text, cfg_dim dim, double *out, es_err *err);
/* Format a canonical value with the most readable unit prefix, such that parsing the result
 * gives the same double back. buf must hold at least 64 bytes. */
void cfg_format_quantity(double v, cfg_dim dim, char *buf, size_t len);
/* Shortest %g form of v that reads back to the same double. */
void cfg_format_real(double v, char *buf, size_t len);

/* ---- schema ---------------------------------------------------------------------------- */

typedef enum {
    CFG_T_BOOL,     /* int: 0/1 (true/false/yes/no/on/off) */
    CFG_T_INT,      /* int64_t */
    CFG_T_REAL,     /* double (plain number, or NN% for fractions) */
    CFG_T_QTY,      /* double in the canonical unit of `dim`; the value must carry a unit */
    CFG_T_STRING,   /* char * (owned by the config) */
    CFG_T_ENUM,     /* int: index into the '|'-separated choices */
    CFG_T_INT_LIST, /* cfg_int_list */
    CFG_T_REAL_MAP, /* cfg_real_map: name -> real (e.g. per-layer densities) */
} cfg_type;

typedef struct cfg_int_list {
    size_t n;
    int64_t *v;
} cfg_int_list;

typedef struct cfg_real_map {
    size_t n;
    char **key;
    double *v;
} cfg_real_map;

/* One key of the schema. Bounds are inclusive and apply to numbers (in canonical units),
 * to list elements and map values; has_min/has_max say whether they are set. */
typedef struct cfg_key {
    const char *path; /* dotted path, e.g. "arch.xbar.rows" */
    cfg_type type;
    cfg_dim dim;      /* CFG_T_QTY only */
    size_t offset;    /* where the value lives in essim_config */
    int has_min, has_max;
    double min, max;
    const char *def;  /* default, written as in a file ("128", "100ns", "[]") */
    const char *choices; /* CFG_T_ENUM: "a|b|c" */
    const char *help;
} cfg_key;

/* The whole schema, in dump order (keys of one section are contiguous). */
const cfg_key *cfg_schema(size_t *count);
const cfg_key *cfg_schema_find(const char *path);

/* ---- the typed configuration --------------------------------------------------------- */

enum { CFG_PROGRESS_AUTO, CFG_PROGRESS_ALWAYS, CFG_PROGRESS_NEVER };
enum { CFG_SCHED_CONSTANT, CFG_SCHED_STEP, CFG_SCHED_COSINE };
enum { CFG_AUG_AUTO, CFG_AUG_NONE, CFG_AUG_CROP_FLIP };
enum { CFG_SLICE_ACROSS, CFG_SLICE_WITHIN };
enum { CFG_ENC_OFFSET, CFG_ENC_DIFFERENTIAL };
enum { CFG_GRAN_ROW, CFG_GRAN_CROSSBAR, CFG_GRAN_WEIGHT };
enum { CFG_ENDUR_RELATIVE, CFG_ENDUR_BUDGET, CFG_ENDUR_NONE };
enum { CFG_PSCHED_NONE, CFG_PSCHED_STEP };
enum { CFG_DETAIL_FAST, CFG_DETAIL_FULL };
enum { CFG_REPL_NONE, CFG_REPL_BALANCE, CFG_REPL_LIST };
enum { CFG_WEAR_SUDDEN, CFG_WEAR_GRADUAL };
enum { CFG_ACC_IDEAL, CFG_ACC_QUANTIZED, CFG_ACC_BIT_EXACT };
enum { CFG_UPD_VERIFY, CFG_UPD_PULSE };
enum { CFG_PULSE_SOFTBOUNDS, CFG_PULSE_NEUROSIM };
enum { CFG_DS_FASHION_MNIST, CFG_DS_MNIST, CFG_DS_CIFAR10, CFG_DS_CIFAR100, CFG_DS_SYNTHETIC };

/* A simple digital unit of the hardware (shift-and-add, activation, max-pool): how many,
 * and power, leakage and area per unit. */
typedef struct cfg_unit {
    int64_t count;
    double power_w, leakage_w, area_mm2;
} cfg_unit;

typedef struct essim_config {
    int64_t version;
    int64_t seed;
    int64_t threads;
    struct {
        double max_time_ps;
        int64_t max_events;
        int progress;
        int detail;                  /* CFG_DETAIL_* */
        int64_t chunk;               /* input vectors per compute event (detail fast) */
        int overlap_writes;          /* a layer's writes may overlap other layers' compute */
        int64_t timeline_iterations; /* iterations recorded by --timeline */
    } sim;
    struct {
        char *network;     /* preset name or network description file */
        int dataset;       /* CFG_DS_* */
        char *data_dir;    /* "" = search (see ds_dataset.h) */
        int64_t epochs;
        int64_t batch;
        double lr;
        double momentum;
        int nesterov;
        double weight_decay;
        int schedule;
        cfg_int_list milestones;
        double gamma;
        int64_t warmup_epochs;
        int augment;
        int64_t train_limit;
        int64_t test_limit;
        int64_t checkpoint_every;
        int64_t synthetic_train;
        int64_t synthetic_test;
    } train;
    struct {
        int name;          /* index into the choices of policy.name (arch/wpol.c's registry) */
        int granularity;   /* CFG_GRAN_* */
        double density;
        double tau_scale;
        int normalize;
        int endurance;     /* CFG_ENDUR_* */
        double lambda;
        double budget;
        double budget_gamma;
        double p_min;
        int schedule;      /* CFG_PSCHED_* */
        double kappa;
        cfg_real_map layers;
        double threshold;
        int residual;      /* error feedback: dropped updates kept and added to the next write */
    } policy;
    struct {
        int model;         /* CFG_ACC_* */
        int64_t adc_shift; /* -1: auto */
        int flip;
    } accuracy;
    /* The hardware (arch/ reads it; see arch/chip.h for the model and hardware.md for the
     * sources). Per-unit figures: power at full activity, leakage its static part, area. */
    struct {
        char *name;
        int training; /* the chip has the training units (gradient unit, write drivers) */
        struct {
            int64_t tiles;
            double xbar_cycle_ps;
            double clock_hz; /* digital logic: shift-add, registers, buffers, NoC, gradient unit */
            int power_gating;       /* idle tiles, routers and IMAs draw no leakage (hwsim.h) */
            double wakeup_time_ps;  /* latency of waking gated tiles and routers */
            double wakeup_breakeven_ps; /* wake-up energy = the unit's leakage x this time */
        } chip;
        struct {
            int replication;     /* CFG_REPL_*: copies of a layer's weights (map.h) */
            cfg_real_map copies; /* replication list: copies per layer name */
        } map;
        struct {
            int impl; /* index into the choices of arch.noc.impl (arch/noc.c's registry) */
            int64_t tiles_per_router;
            int64_t flit_bits;
            int64_t ports;
            int64_t router_cycles;
            int64_t link_cycles;
            double router_power_w;
            double router_leakage_w;
            double router_area_mm2;
            double link_energy_pj; /* per flit per link traversal */
        } noc;
        struct {
            int64_t links;
            double bandwidth_bps; /* per link, bytes/s */
            double power_w;       /* per link */
            double leakage_w;
            double area_mm2;
            double latency_ps;    /* per packet */
            double packet_bytes;
        } offchip;
        struct {
            double energy_exponent; /* dynamic energy per access ~ size^e (registers, eDRAM) */
            double area_exponent;   /* area and leakage ~ size^a */
        } sizing;
        struct {
            double size;
            double cal_size; /* power, leakage and area are given at this size */
            int64_t banks;
            int64_t width_bits;
            double power_w;
            double leakage_w;
            double area_mm2;
            double latency_ps;
        } edram;
        struct {
            int64_t wires;
            double power_w;
            double leakage_w;
            double area_mm2;
        } bus;
        struct {
            int64_t macs; /* per cycle of arch.chip.clock */
            double mac_energy_pj;
            double mac_area_mm2;
            double mac_leakage_w;
            double sram_size;
            int64_t sram_width; /* bytes per cycle */
            double sram_energy_pj;  /* per byte */
            double sram_area_mm2;   /* per byte */
            double sram_leakage_w;  /* per byte */
            int64_t residual_bits;  /* per weight of the residual buffer (policy.residual) */
        } gu;
        struct {
            int64_t per_tile;
            int64_t per_chip;
            double pulse_energy_pj; /* per cell per pulse */
            double area_mm2;        /* per driver set (one crossbar writing) */
            double leakage_w;       /* per driver set */
        } wdrv;
        struct {
            int64_t imas;
            cfg_unit sa, sigmoid, maxpool;
            struct {
                double size, cal_size; /* power, leakage and area are given at cal_size */
                double power_w, leakage_w, area_mm2;
            } out_reg;
        } tile;
        struct {
            int64_t xbars;
            cfg_unit sa;
            struct {
                double size, cal_size; /* power, leakage and area are given at cal_size */
                double power_w, leakage_w, area_mm2;
            } in_reg, out_reg;
        } ima;
        struct {
            int64_t rows;
            int64_t cols;
            int64_t bits_per_cell;
            int64_t weight_bits;
            int64_t input_bits;
            int slicing;   /* CFG_SLICE_* */
            int encoding;  /* CFG_ENC_* */
            double leakage_w;
            double area_mm2; /* at the calibration geometry */
            struct {           /* the published read the formula is calibrated at (xbar.h) */
                int64_t rows, cols;
                double read_energy_pj;
                double read_voltage_v, read_pulse_ps, r_on_ohm, r_off_ohm;
            } cal;
        } xbar;
        struct {
            int64_t bits;
            double drive_energy_pj; /* one row, one read cycle, at 1 bit */
            double leakage_w, area_mm2;
        } dac;
        struct {
            double power_w, leakage_w, area_mm2;
        } sh;
        struct {
            int impl; /* index into the choices of arch.adc.impl (arch/adc.c's registry) */
            int64_t bits;
            double sample_rate_hz;
            int64_t cols_per_adc;
            double fom_pj; /* sar: Walden figure of merit, energy per conversion step */
            double leakage_w;
            double area_mm2;
            int64_t ref_bits; /* sar: resolution the leakage and area are given at */
            struct {
                double comparator_energy_pj;
                double comparator_area_mm2;
                double comparator_leakage_w;
            } flash;
        } adc;
        struct {
            int impl; /* index into the choices of arch.cell.impl (arch/cell.c's registry) */
            double read_voltage_v;
            double read_pulse_ps;
            double write_voltage_v;
            double write_pulse_ps;
            double r_on_ohm;
            double r_off_ohm;
            double write_pulses;
            double wire_cap_f;
            double endurance_mean;
            double endurance_sigma_log10;
            struct {
                double row_write_ps;
                double cell_write_pj;
            } puma;
            double program_sigma; /* programming error, level steps */
            double read_sigma;    /* read noise relative to the conductance */
            int update;           /* CFG_UPD_* */
            struct {
                int model; /* CFG_PULSE_* */
                double dw_min, up_down, c2c, d2d, w_max_d2d, corrupt, omega;
                int64_t max_pulses;
                double nl_ltp, nl_ltd, nl_d2d; /* neurosim: nonlinearity labels */
                int64_t levels;                /* neurosim: pulses from G_min to G_max */
            } pulse;
        } cell;
        struct {
            int model;         /* CFG_WEAR_* */
            double stuck_high; /* fraction of failed cells stuck at the highest conductance */
            double gradual_slope; /* gradual: decades of R_on rise per decade of cycles past E */
        } wear;
    } arch;
} essim_config;

/* Name of choice `idx` of the enum key `path` ("train.dataset", 2 -> "cifar10"), or "?". */
const char *cfg_choice_name(const char *path, int idx);
/* The index of choice `name` of enum key `path`, -1 when it is not one of its choices. */
int cfg_choice_index(const char *path, const char *name);

/* Fill cfg with every default of the schema. */
int cfg_defaults(essim_config *cfg, es_err *err);
/* Defaults, then the document's values on top; validates everything. */
int cfg_bind(const cfg_doc *doc, essim_config *cfg, es_err *err);
/* cfg_bind for a configuration an older ESSIM recorded (a trace's header): keys that have
 * been replaced since are skipped (cfg_bind rejects them, naming what replaced them). */
int cfg_bind_recorded(const cfg_doc *doc, essim_config *cfg, es_err *err);
/* Release what a bound config owns (strings, lists); the struct itself is the caller's. */
void cfg_free(essim_config *cfg);

/* Write the effective configuration as YAML that is itself a valid input file. */
int cfg_dump(const essim_config *cfg, FILE *fp);
/* cfg_dump into `path`, atomically (temporary file, then rename). ES_EIO with a message. */
int cfg_dump_file(const essim_config *cfg, const char *path, es_err *err);
/* 16-hex-digit hash of the effective configuration (FNV-1a of its dump). */
void cfg_hash(const essim_config *cfg, char out[17]);
/* The reference: every key with type, unit, range, default and help. markdown != 0 writes
 * a Markdown table (docs/configuration.md is generated from it). */
int cfg_reference(FILE *fp, int markdown);

/* Directories searched for `preset: NAME` (NAME.yaml): $ESSIM_PRESET_PATH (colon list),
 * then the source tree's configs/ (uninstalled builds), then the installed data directory. */
int cfg_find_preset(const char *name, char *path, size_t len);

#endif
