/* cfg_sections.c - the schema: one declarative table row per configuration key (path, type,
 * unit, bounds, default, help). The same rows drive parsing, validation, --set, the dump and
 * `essim config reference`. Keys of one section stay contiguous (the dump relies on it).
 * Hardware defaults are ISAAC's (Shafiee et al., ISCA 2016, Table I) unless said otherwise;
 * per-unit values are the table's totals divided by the unit count. */
#include <math.h>
#include <stddef.h>

#include "cfg.h"

#define OFF(field) offsetof(essim_config, field)
#define NOLIM 0, 0, 0.0, 0.0
#define MIN(a) 1, 0, (double)(a), 0.0
#define RANGE(a, b) 1, 1, (double)(a), (double)(b)

static const cfg_key schema[] = {
    {"version", CFG_T_INT, 0, OFF(version), RANGE(1, 1), "1", NULL,
     "configuration format version; must be 1 at the top of every file"},
    {"seed", CFG_T_INT, 0, OFF(seed), RANGE(0, 9007199254740991.0), "1", NULL,
     "global seed; every random stream is derived from (seed, stream name)"},
    {"threads", CFG_T_INT, 0, OFF(threads), RANGE(1, 256), "1", NULL,
     "threads for the training kernels (BLAS); results are byte-identical only for the same "
     "thread count"},

    {"sim.max_time", CFG_T_QTY, CFG_DIM_TIME, OFF(sim.max_time_ps), MIN(0), "0ps", NULL,
     "stop the simulation at this simulated time (0: no limit)"},
    {"sim.max_events", CFG_T_INT, 0, OFF(sim.max_events), MIN(0), "0", NULL,
     "stop after this many events (0: no limit)"},
    {"sim.progress", CFG_T_ENUM, 0, OFF(sim.progress), NOLIM, "auto", "auto|always|never",
     "progress on stderr: auto shows it only on a terminal"},

    {"train.network", CFG_T_STRING, 0, OFF(train.network), NOLIM, "lenet5", NULL,
     "network: a preset (lenet5, resnet20, resnet32, resnet56, vgg8, mlp) or a network "
     "description file (YAML)"},
    {"train.dataset", CFG_T_ENUM, 0, OFF(train.dataset), NOLIM, "fashion-mnist",
     "fashion-mnist|mnist|cifar10|cifar100|synthetic",
     "dataset; the input shape and class count follow it"},
    {"train.data_dir", CFG_T_STRING, 0, OFF(train.data_dir), NOLIM, "\"\"", NULL,
     "folder holding the dataset files (empty: $ESSIM_DATA_DIR, then the system default)"},
    {"train.epochs", CFG_T_INT, 0, OFF(train.epochs), RANGE(1, 100000), "10", NULL,
     "training epochs"},
    {"train.batch", CFG_T_INT, 0, OFF(train.batch), RANGE(1, 65536), "64", NULL,
     "mini-batch size (weights are written once per batch)"},
    {"train.lr", CFG_T_REAL, 0, OFF(train.lr), RANGE(0, 100), "0.05", NULL,
     "base learning rate"},
    {"train.momentum", CFG_T_REAL, 0, OFF(train.momentum), RANGE(0, 0.9999), "0.9", NULL,
     "SGD momentum (kept in digital SRAM)"},
    {"train.nesterov", CFG_T_BOOL, 0, OFF(train.nesterov), NOLIM, "false", NULL,
     "Nesterov momentum"},
    {"train.weight_decay", CFG_T_REAL, 0, OFF(train.weight_decay), RANGE(0, 1), "0", NULL,
     "L2 weight decay added to the gradient"},
    {"train.schedule", CFG_T_ENUM, 0, OFF(train.schedule), NOLIM, "constant",
     "constant|step|cosine", "learning-rate schedule after warm-up"},
    {"train.milestones", CFG_T_INT_LIST, 0, OFF(train.milestones), MIN(1), "[]", NULL,
     "epochs at which the step schedule multiplies the rate by gamma"},
    {"train.gamma", CFG_T_REAL, 0, OFF(train.gamma), RANGE(0, 1), "0.1", NULL,
     "step schedule factor"},
    {"train.warmup_epochs", CFG_T_INT, 0, OFF(train.warmup_epochs), RANGE(0, 100000), "0",
     NULL, "linear warm-up: the rate rises per iteration from lr/W to lr over the first W epochs (0: none)"},
    {"train.augment", CFG_T_ENUM, 0, OFF(train.augment), NOLIM, "auto", "auto|none|crop-flip",
     "augmentation: auto is crop-flip (4-pixel padding, horizontal flip) for CIFAR, none "
     "otherwise"},
    {"train.train_limit", CFG_T_INT, 0, OFF(train.train_limit), MIN(0), "0", NULL,
     "use only the first N training images (0: all)"},
    {"train.test_limit", CFG_T_INT, 0, OFF(train.test_limit), MIN(0), "0", NULL,
     "evaluate on only the first N test images (0: all)"},
    {"train.checkpoint_every", CFG_T_INT, 0, OFF(train.checkpoint_every), MIN(0), "0", NULL,
     "save a checkpoint every N iterations (0: only at the end of each epoch when a "
     "checkpoint file is given)"},
    {"train.synthetic_train", CFG_T_INT, 0, OFF(train.synthetic_train), RANGE(1, 10000000),
     "2048", NULL, "synthetic dataset: training images"},
    {"train.synthetic_test", CFG_T_INT, 0, OFF(train.synthetic_test), RANGE(1, 10000000), "512",
     NULL, "synthetic dataset: test images"},

    {"policy.name", CFG_T_ENUM, 0, OFF(policy.name), NOLIM, "sgd",
     "sgd|threshold|ssgp|essence|essence-aggressive",
     "write policy: which crossbar row blocks are reprogrammed each iteration (see the user "
     "guide; ssgp is 'No Endurance')"},
    {"policy.granularity", CFG_T_ENUM, 0, OFF(policy.granularity), NOLIM, "row",
     "row|crossbar|weight",
     "structure unit: a row block (one crossbar row segment), a whole crossbar tile, or one "
     "weight (unstructured, for ablation)"},
    {"policy.density", CFG_T_REAL, 0, OFF(policy.density), RANGE(0.0001, 1), "0.1", NULL,
     "expected fraction of blocks written per iteration (rho); the layer threshold is solved "
     "for it"},
    {"policy.tau_scale", CFG_T_REAL, 0, OFF(policy.tau_scale), RANGE(0, 1000), "0", NULL,
     "if > 0, use tau = tau_scale * mean block norm instead of solving for the density"},
    {"policy.normalize", CFG_T_BOOL, 0, OFF(policy.normalize), NOLIM, "false", NULL,
     "divide each block's norm by sqrt(block size), so edge tiles are treated fairly"},
    {"policy.endurance", CFG_T_ENUM, 0, OFF(policy.endurance), NOLIM, "relative",
     "relative|budget|none",
     "ESSENCE endurance term: relative (tau grows with the count over the layer mean), budget "
     "(p shrinks as the count nears a write budget) or none"},
    {"policy.lambda", CFG_T_REAL, 0, OFF(policy.lambda), RANGE(0, 1000), "1", NULL,
     "strength of the relative endurance term (0 gives No Endurance)"},
    {"policy.budget", CFG_T_REAL, 0, OFF(policy.budget), RANGE(1, 1e15), "10000", NULL,
     "write budget B per block for endurance: budget (e.g. cell endurance / planned runs)"},
    {"policy.budget_gamma", CFG_T_REAL, 0, OFF(policy.budget_gamma), RANGE(0, 100), "1", NULL,
     "exponent of the budget factor max(0, 1 - c/B)^gamma"},
    {"policy.p_min", CFG_T_REAL, 0, OFF(policy.p_min), RANGE(1e-6, 1), "0.01", NULL,
     "cap on the unbiased rescaling: a kept block is written with U/max(p, p_min)"},
    {"policy.schedule", CFG_T_ENUM, 0, OFF(policy.schedule), NOLIM, "step", "none|step",
     "aggressive ESSENCE: multiply the density by kappa at every learning-rate milestone"},
    {"policy.kappa", CFG_T_REAL, 0, OFF(policy.kappa), RANGE(0, 1), "0.5", NULL,
     "aggressive ESSENCE: density factor per milestone"},
    {"policy.layers", CFG_T_REAL_MAP, 0, OFF(policy.layers), RANGE(0.0001, 1), "{}", NULL,
     "per-layer densities for sensitive layers, e.g. {conv1: 0.3, fc3: 0.2} (layer names as "
     "in the weights)"},
    {"policy.threshold", CFG_T_REAL, 0, OFF(policy.threshold), RANGE(0, 1e6), "1", NULL,
     "threshold policy: write a block when its accumulated update norm exceeds threshold x "
     "the layer's mean block norm of this iteration"},

    {"arch.name", CFG_T_STRING, 0, OFF(arch.name), NOLIM, "isaac", NULL,
     "name of the hardware configuration, echoed in reports"},
    {"arch.chip.tiles", CFG_T_INT, 0, OFF(arch.chip.tiles), RANGE(1, 1 << 20), "168", NULL,
     "tiles on the chip (ISAAC: 168)"},
    {"arch.chip.tiles_per_router", CFG_T_INT, 0, OFF(arch.chip.tiles_per_router), RANGE(1, 64),
     "4", NULL, "tiles sharing one router of the concentrated mesh (ISAAC: 4)"},
    {"arch.chip.xbar_cycle", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.chip.xbar_cycle_ps),
     RANGE(1, 1e12), "100ns", NULL, "crossbar read cycle, one input bit per cycle (ISAAC: 100ns)"},
    {"arch.tile.imas", CFG_T_INT, 0, OFF(arch.tile.imas), RANGE(1, 1024), "12", NULL,
     "in-situ multiply-accumulate units (IMAs) per tile (ISAAC: 12)"},
    {"arch.tile.edram_size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.tile.edram_size),
     RANGE(1, 1099511627776.0), "64KiB", NULL, "eDRAM buffer per tile (ISAAC: 64KB)"},
    {"arch.tile.edram_power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.tile.edram_power_w), MIN(0),
     "20.7mW", NULL, "eDRAM buffer power (ISAAC: 20.7mW)"},
    {"arch.tile.edram_area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.tile.edram_area_mm2), MIN(0),
     "0.083mm2", NULL, "eDRAM buffer area (ISAAC: 0.083mm2)"},
    {"arch.ima.xbars", CFG_T_INT, 0, OFF(arch.ima.xbars), RANGE(1, 1024), "8", NULL,
     "crossbars per IMA (ISAAC: 8)"},
    {"arch.ima.adcs", CFG_T_INT, 0, OFF(arch.ima.adcs), RANGE(1, 1024), "8", NULL,
     "ADCs per IMA (ISAAC: 8)"},
    {"arch.xbar.rows", CFG_T_INT, 0, OFF(arch.xbar.rows), RANGE(1, 8192), "128", NULL,
     "crossbar rows (wordlines) (ISAAC: 128)"},
    {"arch.xbar.cols", CFG_T_INT, 0, OFF(arch.xbar.cols), RANGE(1, 8192), "128", NULL,
     "crossbar columns (bitlines) (ISAAC: 128)"},
    {"arch.xbar.bits_per_cell", CFG_T_INT, 0, OFF(arch.xbar.bits_per_cell), RANGE(1, 8), "2",
     NULL, "bits stored per ReRAM cell (ISAAC: 2)"},
    {"arch.xbar.weight_bits", CFG_T_INT, 0, OFF(arch.xbar.weight_bits), RANGE(1, 32), "16", NULL,
     "bits per weight, sliced across cells (ISAAC: 16)"},
    {"arch.xbar.input_bits", CFG_T_INT, 0, OFF(arch.xbar.input_bits), RANGE(1, 32), "16", NULL,
     "bits per input, streamed one bit per crossbar cycle (ISAAC: 16)"},
    {"arch.xbar.slicing", CFG_T_ENUM, 0, OFF(arch.xbar.slicing), NOLIM, "across",
     "across|within",
     "weight bit slices on separate crossbars at the same position (ISAAC) or side by side "
     "within one crossbar row"},
    {"arch.xbar.encoding", CFG_T_ENUM, 0, OFF(arch.xbar.encoding), NOLIM, "offset",
     "offset|differential",
     "signed weights as one cell plus a shared offset (ISAAC) or as a differential pair of "
     "cells (two columns per weight slice)"},
    {"arch.xbar.read_power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.xbar.read_power_w), MIN(0),
     "0.3mW", NULL, "power of one crossbar while reading (ISAAC: 2.4mW for 8)"},
    {"arch.xbar.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.xbar.area_mm2), MIN(0), "25um2", NULL,
     "area of one crossbar (ISAAC: 0.0002mm2 for 8)"},
    {"arch.adc.bits", CFG_T_INT, 0, OFF(arch.adc.bits), RANGE(1, 16), "8", NULL,
     "ADC resolution (ISAAC: 8)"},
    {"arch.adc.sample_rate", CFG_T_QTY, CFG_DIM_FREQ, OFF(arch.adc.sample_rate_hz),
     RANGE(1, 1e12), "1.28GHz", NULL, "ADC conversions per second (ISAAC: 1.28GS/s)"},
    {"arch.adc.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.adc.power_w), MIN(0), "2mW", NULL,
     "power of one ADC (ISAAC: 16mW for 8)"},
    {"arch.adc.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.adc.area_mm2), MIN(0), "0.0012mm2", NULL,
     "area of one ADC (ISAAC: 0.0096mm2 for 8)"},
    {"arch.cell.write_voltage", CFG_T_QTY, CFG_DIM_VOLTAGE, OFF(arch.cell.write_voltage_v),
     RANGE(0, 100), "2V", NULL, "write pulse amplitude (NeuroSim default RRAM cell: 2V)"},
    {"arch.cell.write_pulse", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.cell.write_pulse_ps),
     RANGE(1, 1e12), "50ns", NULL, "write pulse width (NeuroSim default RRAM cell: 50ns)"},
    {"arch.cell.r_on", CFG_T_QTY, CFG_DIM_RESISTANCE, OFF(arch.cell.r_on_ohm), MIN(1), "6kOhm",
     NULL, "low-resistance state (NeuroSim default RRAM cell: 6kOhm)"},
    {"arch.cell.r_off", CFG_T_QTY, CFG_DIM_RESISTANCE, OFF(arch.cell.r_off_ohm), MIN(1),
     "900kOhm", NULL, "high-resistance state (NeuroSim default RRAM cell: 900kOhm)"},
    {"arch.cell.endurance_mean", CFG_T_REAL, 0, OFF(arch.cell.endurance_mean), RANGE(1, 1e15),
     "1e7", NULL,
     "mean write endurance in cycles (assumption: 1e7, analog multi-level use; literature "
     "range 1e5-1e12)"},
    {"arch.cell.endurance_sigma_log10", CFG_T_REAL, 0, OFF(arch.cell.endurance_sigma_log10),
     RANGE(0, 3), "0.4", NULL,
     "device-to-device spread of log10(endurance), lognormal (assumption: 0.3-0.5)"},
};

const cfg_key *cfg_schema(size_t *count)
{
    *count = ES_ARRAY_LEN(schema);
    return schema;
}
