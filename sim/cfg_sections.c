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
    {"sim.detail", CFG_T_ENUM, 0, OFF(sim.detail), NOLIM, "fast", "fast|full",
     "hardware execution: fast simulates the compute phases once (they are identical in every "
     "iteration) in events of sim.chunk input vectors, then only the update phase per "
     "iteration; full simulates every iteration whole with one event per input vector "
     "(for checking the shortcut on small cases)"},
    {"sim.chunk", CFG_T_INT, 0, OFF(sim.chunk), RANGE(1, 1048576), "32", NULL,
     "input vectors per compute event with sim.detail fast (1 is the full detail)"},
    {"sim.overlap_writes", CFG_T_BOOL, 0, OFF(sim.overlap_writes), NOLIM, "true", NULL,
     "a layer's crossbar writes may start as soon as its gradient and backward reads are done, "
     "overlapping other layers' compute; false: all writes wait for the end of the compute "
     "phases"},
    {"sim.timeline_iterations", CFG_T_INT, 0, OFF(sim.timeline_iterations), RANGE(1, 1000000),
     "1", NULL, "iterations recorded in the --timeline file (compute and writes)"},

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
    {"policy.residual", CFG_T_BOOL, 0, OFF(policy.residual), NOLIM, "false", NULL,
     "error feedback (Stich et al., NeurIPS 2018, sparsified SGD with memory): a dropped "
     "block's update is kept in a digital buffer and added to its next write; kept blocks are "
     "then written unscaled, so written + kept = the dense update"},

    /* ---- accuracy: what the crossbars compute in training (issue 13) ---- */
    {"accuracy.model", CFG_T_ENUM, 0, OFF(accuracy.model), NOLIM, "ideal",
     "ideal|quantized|bit-exact",
     "crossbar arithmetic of the conv and fc layers: ideal (float32), quantized (weights to "
     "arch.xbar.weight_bits, inputs and errors to arch.xbar.input_bits, power-of-two scales) "
     "or bit-exact (bit-serial inputs, weight slices of arch.xbar.bits_per_cell, column sums "
     "over arch.xbar.rows rows through an ADC of arch.adc.bits, shift-and-add; forward and "
     "backward)"},
    {"accuracy.adc_shift", CFG_T_INT, 0, OFF(accuracy.adc_shift), RANGE(-1, 30), "0", NULL,
     "bit-exact: the ADC step is 2^adc_shift cell levels; 0 is a unit step (exact up to "
     "2^bits - 1, clipped above: ISAAC's design point); -1 (auto) picks the smallest step whose "
     "2^arch.adc.bits codes cover the largest column sum (rounds, never clips; with the offset "
     "encoding this rounds the top slice and training fails below the exact resolution, see "
     "validation/accuracy)"},
    {"accuracy.flip", CFG_T_BOOL, 0, OFF(accuracy.flip), NOLIM, "true", NULL,
     "bit-exact, offset encoding: ISAAC's flipped weights (a column slice whose stored levels "
     "sum past half the maximum is stored complemented, so its sum needs one ADC bit less)"},

    /* ---- arch: defaults are configs/isaac-train.yaml (ISAAC, Shafiee et al. ISCA 2016
     * Table I, plus the training units); each help says where the number comes from. Per-unit
     * values are Table I's totals divided by the unit count. "puma" is puma-simulator's
     * include/constants.py, whose static/dynamic split of ISAAC's figures (10% static) we
     * follow where it gives one and assume where it does not. ---- */
    {"arch.name", CFG_T_STRING, 0, OFF(arch.name), NOLIM, "isaac-train", NULL,
     "name of the hardware configuration, echoed in reports"},
    {"arch.training", CFG_T_BOOL, 0, OFF(arch.training), NOLIM, "true", NULL,
     "the chip has the training units (gradient unit, write drivers); false is an inference "
     "chip such as ISAAC as published"},

    {"arch.chip.tiles", CFG_T_INT, 0, OFF(arch.chip.tiles), RANGE(1, 1 << 20), "168", NULL,
     "tiles on the chip (ISAAC: 168)"},
    {"arch.chip.xbar_cycle", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.chip.xbar_cycle_ps),
     RANGE(1, 1e12), "100ns", NULL, "crossbar read cycle, one input bit per cycle (ISAAC: 100ns)"},
    {"arch.chip.clock", CFG_T_QTY, CFG_DIM_FREQ, OFF(arch.chip.clock_hz), RANGE(1e3, 1e11),
     "1.28GHz", NULL,
     "clock of the digital logic: shift-and-add, registers, buffers, NoC, gradient unit "
     "(assumption: ISAAC's ADC rate, 1.28GHz; ISAAC states none)"},
    {"arch.chip.power_gating", CFG_T_BOOL, 0, OFF(arch.chip.power_gating), NOLIM, "true", NULL,
     "power gating in the execution (arch/hwsim.h, 'Leakage'): tiles and routers with no work in "
     "an interval of the iteration (forward; backward with the weight gradients; gradient; the "
     "writes) are gated, and an IMA draws leakage only while it reads, a gradient unit only "
     "while it computes; false: every tile and router leaks all the time (the area/power "
     "roll-up always counts every unit)"},
    {"arch.chip.wakeup_time", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.chip.wakeup_time_ps),
     RANGE(0, 1e9), "100ns", NULL,
     "power gating: time to wake gated tiles and routers, added to an interval that wakes any "
     "(assumption: one crossbar cycle; sleep transistors wake in cycles to tens of cycles, Hu et "
     "al., ISLPED 2004). IMAs are woken ahead of their vectors and add no time"},
    {"arch.chip.wakeup_breakeven", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.chip.wakeup_breakeven_ps),
     RANGE(0, 1e12), "1us", NULL,
     "power gating: energy of one wake-up, as the time the unit's leakage takes to use it "
     "(the break-even time; assumption: 1us, conservative for a tile with its eDRAM)"},

    {"arch.map.replication", CFG_T_ENUM, 0, OFF(arch.map.replication), NOLIM, "balance",
     "none|balance|list",
     "copies of a layer's weights, so that its input vectors are split across them (ISAAC, "
     "ISCA 2016, balancing the pipeline; PipeLayer, HPCA 2017, parallelism granularity G): "
     "none = one copy each; balance = spend the chip's free IMAs on the slowest layer "
     "(most input vectors per copy) until no layer can be sped up or the IMAs run out; "
     "list = arch.map.copies. Every copy is written when its block is, and wears"},
    {"arch.map.copies", CFG_T_REAL_MAP, 0, OFF(arch.map.copies), RANGE(1, 1e6), "{}", NULL,
     "replication list: copies per layer, e.g. {conv1: 8, conv2: 2} (unlisted layers: 1)"},

    {"arch.noc.impl", CFG_T_ENUM, 0, OFF(arch.noc.impl), NOLIM, "cmesh", "cmesh",
     "network-on-chip model: cmesh (concentrated mesh, as ISAAC)"},
    {"arch.noc.tiles_per_router", CFG_T_INT, 0, OFF(arch.noc.tiles_per_router), RANGE(1, 64),
     "4", NULL, "tiles sharing one router of the concentrated mesh (ISAAC: 4)"},
    {"arch.noc.flit_bits", CFG_T_INT, 0, OFF(arch.noc.flit_bits), RANGE(1, 4096), "32", NULL,
     "flit width in bits (ISAAC: 32)"},
    {"arch.noc.ports", CFG_T_INT, 0, OFF(arch.noc.ports), RANGE(1, 256), "8", NULL,
     "ports per router: tiles_per_router local ports plus up to 4 mesh neighbours (ISAAC: 8)"},
    {"arch.noc.router_cycles", CFG_T_INT, 0, OFF(arch.noc.router_cycles), RANGE(1, 1000), "3",
     NULL, "router pipeline depth in clock cycles (assumption: 3 stages)"},
    {"arch.noc.link_cycles", CFG_T_INT, 0, OFF(arch.noc.link_cycles), RANGE(0, 1000), "1", NULL,
     "cycles to cross one link between neighbouring routers (assumption: 1)"},
    {"arch.noc.router_power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.noc.router_power_w), MIN(0),
     "42mW", NULL, "power of one router at full activity (ISAAC: 10.5mW per tile x 4)"},
    {"arch.noc.router_leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.noc.router_leakage_w), MIN(0),
     "4.2mW", NULL,
     "static part of the router power (assumption: 10%, as puma splits ISAAC's ADC)"},
    {"arch.noc.router_area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.noc.router_area_mm2), MIN(0),
     "0.1512mm2", NULL, "area of one router (ISAAC: 0.0378mm2 per tile x 4)"},
    {"arch.noc.link_energy", CFG_T_QTY, CFG_DIM_ENERGY, OFF(arch.noc.link_energy_pj), MIN(0),
     "0pJ", NULL,
     "energy of one flit crossing one link (ISAAC reports no link power: 0 keeps its roll-up)"},

    {"arch.offchip.links", CFG_T_INT, 0, OFF(arch.offchip.links), RANGE(0, 1024), "4", NULL,
     "off-chip links (ISAAC: 4 HyperTransport links at 1.6GHz)"},
    {"arch.offchip.bandwidth", CFG_T_QTY, CFG_DIM_BANDWIDTH, OFF(arch.offchip.bandwidth_bps),
     RANGE(1, 1e15), "6.4GB/s", NULL,
     "bandwidth of one link (ISAAC: 6.4GB/s); the links together carry the network input and "
     "the activations that spill from the eDRAM"},
    {"arch.offchip.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.offchip.power_w), MIN(0), "2.6W",
     NULL, "power of one link at full bandwidth (ISAAC: 10.4W for 4)"},
    {"arch.offchip.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.offchip.leakage_w), MIN(0), "0W",
     NULL, "static part of the link power (puma: 0, all of it charged per transfer)"},
    {"arch.offchip.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.offchip.area_mm2), MIN(0), "5.72mm2",
     NULL, "area of one link (ISAAC: 22.88mm2 for 4)"},
    {"arch.offchip.latency", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.offchip.latency_ps), MIN(0), "5ns",
     NULL, "latency of one packet over a link (puma: 5ns for 32 bytes at 6.4GB/s)"},
    {"arch.offchip.packet", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.offchip.packet_bytes),
     RANGE(1, 1 << 30), "32B", NULL, "packet size of the off-chip link (puma: 16 x 2 bytes)"},

    {"arch.sizing.energy_exponent", CFG_T_REAL, 0, OFF(arch.sizing.energy_exponent), RANGE(0, 2),
     "0.5", NULL,
     "registers and the eDRAM: dynamic energy per access grows as (size / cal_size)^e "
     "(CACTI-like: a square array's word and bit lines grow with the square root of its "
     "capacity; Horowitz, ISSCC 2014: 10, 20, 100pJ per 64-bit SRAM access at 8KB, 32KB, 1MB; "
     "puma's 256B-2KB data memories: 8x the size, 3.6x the power)"},
    {"arch.sizing.area_exponent", CFG_T_REAL, 0, OFF(arch.sizing.area_exponent), RANGE(0, 2), "1",
     NULL,
     "registers and the eDRAM: area and leakage grow as (size / cal_size)^a (linear: the cells "
     "dominate; ISAAC's 2KB and 3KB registers are 1.05 and 1.07um2 per byte, puma's 256B-2KB "
     "data memories 2.2 to 1.9um2 per byte)"},

    {"arch.edram.size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.edram.size),
     RANGE(1, 1099511627776.0), "64KiB", NULL,
     "eDRAM buffer per tile (ISAAC: 64KB); it holds the activations training keeps for the "
     "backward pass, and what does not fit spills to off-chip memory (arch/spill.h)"},
    {"arch.edram.cal_size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.edram.cal_size),
     RANGE(1, 1099511627776.0), "64KiB", NULL,
     "the size at which arch.edram.power, leakage and area are given (ISAAC Table I: 64KB); "
     "at arch.edram.size they follow arch.sizing"},
    {"arch.edram.banks", CFG_T_INT, 0, OFF(arch.edram.banks), RANGE(1, 1024), "4", NULL,
     "eDRAM banks, each one access per clock (ISAAC Table I: 4)"},
    {"arch.edram.width_bits", CFG_T_INT, 0, OFF(arch.edram.width_bits), RANGE(8, 65536), "256",
     NULL, "bits per eDRAM access (ISAAC Table I: bus width 256; puma: 256)"},
    {"arch.edram.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.edram.power_w), MIN(0), "20.7mW",
     NULL, "eDRAM buffer power at full activity (ISAAC: 20.7mW)"},
    {"arch.edram.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.edram.leakage_w), MIN(0), "2.07mW",
     NULL, "static part of the eDRAM power (assumption: 10%)"},
    {"arch.edram.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.edram.area_mm2), MIN(0), "0.083mm2",
     NULL, "eDRAM buffer area (ISAAC: 0.083mm2)"},
    {"arch.edram.latency", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.edram.latency_ps), MIN(0), "2ns",
     NULL, "eDRAM access latency (puma: 2 cycles of 1ns)"},

    {"arch.bus.wires", CFG_T_INT, 0, OFF(arch.bus.wires), RANGE(8, 65536), "384", NULL,
     "data wires of the eDRAM-to-IMA bus, one bit per clock each (ISAAC: 384)"},
    {"arch.bus.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.bus.power_w), MIN(0), "7mW", NULL,
     "bus power at full activity (ISAAC: 7mW)"},
    {"arch.bus.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.bus.leakage_w), MIN(0), "0.7mW", NULL,
     "static part of the bus power (assumption: 10%)"},
    {"arch.bus.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.bus.area_mm2), MIN(0), "0.09mm2", NULL,
     "bus area (ISAAC: 0.090mm2)"},

    {"arch.gu.macs", CFG_T_INT, 0, OFF(arch.gu.macs), RANGE(1, 1 << 20), "96", NULL,
     "weight-gradient unit: 16-bit MACs per clock cycle (assumption: 96 matches a tile's forward "
     "rate, 12 IMAs x 128 x 128 MACs per 1.6us = 96 per 1.28GHz cycle)"},
    {"arch.gu.mac_energy", CFG_T_QTY, CFG_DIM_ENERGY, OFF(arch.gu.mac_energy_pj), MIN(0),
     "0.64pJ", NULL,
     "energy of one 16-bit MAC (Horowitz ISSCC 2014, 45nm: 16-bit multiply ~0.8pJ + 32-bit add "
     "0.1pJ, scaled by 32/45 as puma does)"},
    {"arch.gu.mac_area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.gu.mac_area_mm2), MIN(0), "640um2",
     NULL, "area of one MAC (Horowitz 2014, 45nm: ~1128um2 multiply + 137um2 add, x (32/45)^2)"},
    {"arch.gu.mac_leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.gu.mac_leakage_w), MIN(0),
     "0.08mW", NULL, "static power of one MAC (assumption: ~10% of its power at 1.28GHz)"},
    {"arch.gu.sram_size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.gu.sram_size),
     RANGE(0, 1099511627776.0), "64KiB", NULL,
     "gradient unit SRAM per tile for operands and partial gradients (assumption)"},
    {"arch.gu.sram_width", CFG_T_INT, 0, OFF(arch.gu.sram_width), RANGE(1, 65536), "32", NULL,
     "bytes the gradient SRAM delivers per clock cycle (assumption)"},
    {"arch.gu.sram_energy", CFG_T_QTY, CFG_DIM_ENERGY, OFF(arch.gu.sram_energy_pj), MIN(0),
     "2.45pJ", NULL,
     "SRAM energy per byte accessed (Horowitz 2014: 64KB ~27.6pJ per 64-bit access at 45nm, "
     "x 32/45)"},
    {"arch.gu.sram_area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.gu.sram_area_mm2), MIN(0), "2.8um2",
     NULL, "SRAM area per byte (assumption: 0.35um2 per bit with periphery at 32nm)"},
    {"arch.gu.sram_leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.gu.sram_leakage_w), MIN(0),
     "10nW", NULL, "SRAM static power per byte (assumption)"},
    {"arch.gu.residual_bits", CFG_T_INT, 0, OFF(arch.gu.residual_bits), RANGE(1, 64), "32", NULL,
     "bits per weight of the digital residual buffer that error feedback (policy.residual) and "
     "threshold training keep: an SRAM with arch.gu.sram_energy, sram_area and sram_leakage per "
     "byte, one value per mapped weight, always powered; 32: the float32 the training keeps"},

    {"arch.wdrv.per_tile", CFG_T_INT, 0, OFF(arch.wdrv.per_tile), RANGE(0, 1 << 20), "2", NULL,
     "write-driver sets per tile: crossbars of one tile that may be written at once "
     "(assumption)"},
    {"arch.wdrv.per_chip", CFG_T_INT, 0, OFF(arch.wdrv.per_chip), RANGE(0, 1 << 30), "64", NULL,
     "crossbars of the chip that may be written at once, the charge-pump power budget "
     "(assumption: 64, about 5W of write power)"},
    {"arch.wdrv.pulse_energy", CFG_T_QTY, CFG_DIM_ENERGY, OFF(arch.wdrv.pulse_energy_pj), MIN(0),
     "0.04pJ", NULL,
     "driver energy per cell per write pulse (assumption: ~10fF of driver and level shifter "
     "switched at 2V)"},
    {"arch.wdrv.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.wdrv.area_mm2), MIN(0), "0.002mm2", NULL,
     "area of one driver set: a crossbar's bitline drivers and a charge pump (assumption)"},
    {"arch.wdrv.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.wdrv.leakage_w), MIN(0), "0.01mW",
     NULL, "static power of one driver set (assumption)"},

    {"arch.tile.imas", CFG_T_INT, 0, OFF(arch.tile.imas), RANGE(1, 1024), "12", NULL,
     "in-situ multiply-accumulate units (IMAs) per tile (ISAAC: 12)"},
    {"arch.tile.sa.count", CFG_T_INT, 0, OFF(arch.tile.sa.count), RANGE(1, 1024), "1", NULL,
     "tile shift-and-add units, adding partial sums across IMAs (ISAAC: 1)"},
    {"arch.tile.sa.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.tile.sa.power_w), MIN(0), "0.05mW",
     NULL, "power of one tile shift-and-add unit (ISAAC: 0.05mW)"},
    {"arch.tile.sa.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.tile.sa.leakage_w), MIN(0),
     "0.005mW", NULL, "its static part (puma: 0.005mW)"},
    {"arch.tile.sa.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.tile.sa.area_mm2), MIN(0),
     "0.00006mm2", NULL, "area of one tile shift-and-add unit (ISAAC: 0.00006mm2)"},
    {"arch.tile.sigmoid.count", CFG_T_INT, 0, OFF(arch.tile.sigmoid.count), RANGE(1, 1024), "2",
     NULL, "activation (sigmoid/ReLU) units per tile (ISAAC: 2)"},
    {"arch.tile.sigmoid.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.tile.sigmoid.power_w), MIN(0),
     "0.26mW", NULL, "power of one activation unit (ISAAC: 0.52mW for 2)"},
    {"arch.tile.sigmoid.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.tile.sigmoid.leakage_w),
     MIN(0), "0.026mW", NULL, "its static part (puma: 0.026mW)"},
    {"arch.tile.sigmoid.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.tile.sigmoid.area_mm2), MIN(0),
     "0.0003mm2", NULL, "area of one activation unit (ISAAC: 0.0006mm2 for 2)"},
    {"arch.tile.maxpool.count", CFG_T_INT, 0, OFF(arch.tile.maxpool.count), RANGE(1, 1024), "1",
     NULL, "max-pool units per tile (ISAAC: 1)"},
    {"arch.tile.maxpool.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.tile.maxpool.power_w), MIN(0),
     "0.4mW", NULL, "power of one max-pool unit (ISAAC: 0.4mW)"},
    {"arch.tile.maxpool.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.tile.maxpool.leakage_w),
     MIN(0), "0.04mW", NULL, "its static part (assumption: 10%)"},
    {"arch.tile.maxpool.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.tile.maxpool.area_mm2), MIN(0),
     "0.00024mm2", NULL, "area of one max-pool unit (ISAAC: 0.00024mm2)"},
    {"arch.tile.out_reg.size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.tile.out_reg.size),
     RANGE(1, 1 << 30), "3KiB", NULL, "tile output register (ISAAC: 3KB)"},
    {"arch.tile.out_reg.cal_size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.tile.out_reg.cal_size),
     RANGE(1, 1 << 30), "3KiB", NULL,
     "the size at which arch.tile.out_reg.power, leakage and area are given (ISAAC: 3KB); at arch.tile.out_reg.size they "
     "follow arch.sizing"},
    {"arch.tile.out_reg.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.tile.out_reg.power_w), MIN(0),
     "1.68mW", NULL, "tile output register power (ISAAC: 1.68mW)"},
    {"arch.tile.out_reg.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.tile.out_reg.leakage_w),
     MIN(0), "0.168mW", NULL, "its static part (assumption: 10%)"},
    {"arch.tile.out_reg.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.tile.out_reg.area_mm2), MIN(0),
     "0.0032mm2", NULL, "tile output register area (ISAAC: 0.0032mm2)"},

    {"arch.ima.xbars", CFG_T_INT, 0, OFF(arch.ima.xbars), RANGE(1, 1024), "8", NULL,
     "crossbars per IMA (ISAAC: 8)"},
    {"arch.ima.sa.count", CFG_T_INT, 0, OFF(arch.ima.sa.count), RANGE(1, 1024), "4", NULL,
     "shift-and-add units per IMA (ISAAC: 4)"},
    {"arch.ima.sa.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.ima.sa.power_w), MIN(0), "0.05mW",
     NULL, "power of one IMA shift-and-add unit (ISAAC: 0.2mW for 4)"},
    {"arch.ima.sa.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.ima.sa.leakage_w), MIN(0),
     "0.005mW", NULL, "its static part (puma: 0.005mW)"},
    {"arch.ima.sa.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.ima.sa.area_mm2), MIN(0), "0.00006mm2",
     NULL, "area of one IMA shift-and-add unit (ISAAC: 0.00024mm2 for 4)"},
    {"arch.ima.in_reg.size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.ima.in_reg.size),
     RANGE(1, 1 << 30), "2KiB", NULL, "IMA input register (ISAAC: 2KB)"},
    {"arch.ima.in_reg.cal_size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.ima.in_reg.cal_size),
     RANGE(1, 1 << 30), "2KiB", NULL,
     "the size at which arch.ima.in_reg.power, leakage and area are given (ISAAC: 2KB); at arch.ima.in_reg.size they "
     "follow arch.sizing"},
    {"arch.ima.in_reg.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.ima.in_reg.power_w), MIN(0),
     "1.24mW", NULL, "input register power (ISAAC: 1.24mW)"},
    {"arch.ima.in_reg.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.ima.in_reg.leakage_w), MIN(0),
     "0.124mW", NULL, "its static part (assumption: 10%)"},
    {"arch.ima.in_reg.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.ima.in_reg.area_mm2), MIN(0),
     "0.0021mm2", NULL, "input register area (ISAAC: 0.0021mm2)"},
    {"arch.ima.out_reg.size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.ima.out_reg.size),
     RANGE(1, 1 << 30), "256B", NULL, "IMA output register (ISAAC: 256B)"},
    {"arch.ima.out_reg.cal_size", CFG_T_QTY, CFG_DIM_SIZE, OFF(arch.ima.out_reg.cal_size),
     RANGE(1, 1 << 30), "256B", NULL,
     "the size at which arch.ima.out_reg.power, leakage and area are given (ISAAC: 256B); at arch.ima.out_reg.size they "
     "follow arch.sizing"},
    {"arch.ima.out_reg.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.ima.out_reg.power_w), MIN(0),
     "0.23mW", NULL, "output register power (ISAAC: 0.23mW)"},
    {"arch.ima.out_reg.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.ima.out_reg.leakage_w),
     MIN(0), "0.023mW", NULL, "its static part (assumption: 10%)"},
    {"arch.ima.out_reg.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.ima.out_reg.area_mm2), MIN(0),
     "0.00077mm2", NULL, "output register area (ISAAC: 0.00077mm2)"},

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
    {"arch.xbar.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.xbar.leakage_w), MIN(0), "0W", NULL,
     "static part of the crossbar power (puma: 0)"},
    {"arch.xbar.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.xbar.area_mm2), MIN(0), "25um2", NULL,
     "area of one crossbar of arch.xbar.cal.rows x cal.cols cells; it scales with rows x cols "
     "(ISAAC: 0.0002mm2 for 8 of 128 x 128)"},
    {"arch.xbar.cal.rows", CFG_T_INT, 0, OFF(arch.xbar.cal.rows), RANGE(1, 8192), "128", NULL,
     "rows of the crossbar whose read energy and area are published (ISAAC: 128)"},
    {"arch.xbar.cal.cols", CFG_T_INT, 0, OFF(arch.xbar.cal.cols), RANGE(1, 8192), "128", NULL,
     "columns of the crossbar whose read energy and area are published (ISAAC: 128)"},
    {"arch.xbar.cal.read_energy", CFG_T_QTY, CFG_DIM_ENERGY, OFF(arch.xbar.cal.read_energy_pj),
     RANGE(0, 1e12), "30pJ", NULL,
     "published energy of one read cycle of that crossbar (ISAAC Table I: 2.4mW for 8 "
     "crossbars reading once per 100ns = 30pJ each). Read energy = k x rows x cols x V_r^2 x "
     "(G_mean t_r + 2 C_pitch), with k fitted so that the formula gives this at the "
     "arch.xbar.cal.* point"},
    {"arch.xbar.cal.read_voltage", CFG_T_QTY, CFG_DIM_VOLTAGE, OFF(arch.xbar.cal.read_voltage_v),
     RANGE(0.001, 100), "0.5V", NULL,
     "read voltage the calibration assumes (ISAAC states none: the NeuroSim default cell, as "
     "arch.cell.read_voltage)"},
    {"arch.xbar.cal.read_pulse", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.xbar.cal.read_pulse_ps),
     RANGE(1, 1e12), "2ns", NULL,
     "read pulse the calibration assumes (NeuroSim default cell, as arch.cell.read_pulse)"},
    {"arch.xbar.cal.r_on", CFG_T_QTY, CFG_DIM_RESISTANCE, OFF(arch.xbar.cal.r_on_ohm), MIN(1),
     "6kOhm", NULL, "cell R_on the calibration assumes (NeuroSim default cell, as arch.cell.r_on)"},
    {"arch.xbar.cal.r_off", CFG_T_QTY, CFG_DIM_RESISTANCE, OFF(arch.xbar.cal.r_off_ohm), MIN(1),
     "900kOhm", NULL,
     "cell R_off the calibration assumes (NeuroSim default cell, as arch.cell.r_off)"},

    {"arch.dac.bits", CFG_T_INT, 0, OFF(arch.dac.bits), RANGE(1, 16), "1", NULL,
     "input bits a row DAC applies per read cycle, so an input takes ceil(input_bits / bits) "
     "read cycles (ISAAC, PUMA: 1). A b-bit DAC is 2^b - 1 unit drivers (thermometer-coded, a "
     "1-bit DAC is one): its drive energy, area and leakage are those of 1 bit x (2^b - 1)"},
    {"arch.dac.drive_energy", CFG_T_QTY, CFG_DIM_ENERGY, OFF(arch.dac.drive_energy_pj), MIN(0),
     "0.3515625pJ", NULL,
     "energy of a 1-bit DAC driving its row for one read cycle (ISAAC: 4mW for 8 x 128 DACs, "
     "less puma's 0.39uW static each, over 100ns; puma: 3.5uW dynamic)"},
    {"arch.dac.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.dac.leakage_w), MIN(0), "0.390625uW",
     NULL, "its static part (puma: 0.000390625mW)"},
    {"arch.dac.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.dac.area_mm2), MIN(0), "0.166015625um2",
     NULL, "area of one 1-bit DAC (ISAAC: 0.00017mm2 for 8 x 128)"},

    {"arch.sh.power", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.sh.power_w), MIN(0), "9.765625nW", NULL,
     "power of one sample-and-hold, one per crossbar column (ISAAC: 10uW for 8 x 128)"},
    {"arch.sh.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.sh.leakage_w), MIN(0), "0.9765625nW",
     NULL, "its static part (assumption: 10%; puma: 0.97nW)"},
    {"arch.sh.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.sh.area_mm2), MIN(0), "0.0390625um2", NULL,
     "area of one sample-and-hold (ISAAC: 0.00004mm2 for 8 x 128)"},

    {"arch.adc.impl", CFG_T_ENUM, 0, OFF(arch.adc.impl), NOLIM, "sar", "sar|flash",
     "ADC model: sar (energy per conversion from the Walden figure of merit arch.adc.fom, power "
     "= energy x sample rate + leakage) or flash (2^bits - 1 comparators, see arch.adc.flash)"},
    {"arch.adc.bits", CFG_T_INT, 0, OFF(arch.adc.bits), RANGE(1, 16), "8", NULL,
     "ADC resolution (ISAAC: 8)"},
    {"arch.adc.sample_rate", CFG_T_QTY, CFG_DIM_FREQ, OFF(arch.adc.sample_rate_hz),
     RANGE(1, 1e12), "1.28GHz", NULL, "ADC conversions per second (ISAAC: 1.28GS/s)"},
    {"arch.adc.cols_per_adc", CFG_T_INT, 0, OFF(arch.adc.cols_per_adc), RANGE(0, 8192), "128",
     NULL,
     "crossbar columns multiplexed onto one ADC; must divide arch.xbar.cols (ISAAC: 128, one "
     "ADC per crossbar; NeuroSim: 8)"},
    {"arch.adc.fom", CFG_T_QTY, CFG_DIM_ENERGY, OFF(arch.adc.fom_pj), MIN(0), "5.4931640625fJ",
     NULL,
     "sar: Walden figure of merit, energy per conversion step: a conversion costs fom x "
     "2^bits and the ADC draws that x sample rate (calibrated at ISAAC's 8-bit 1.28GS/s SAR: "
     "(2mW - 0.2mW static) / 1.28GS/s / 2^8; Murmann's ADC survey puts SARs near 1GS/s at "
     "about 1-50fJ per step)"},
    {"arch.adc.leakage", CFG_T_QTY, CFG_DIM_POWER, OFF(arch.adc.leakage_w), MIN(0), "0.2mW", NULL,
     "sar: its static part (puma: 0.2mW)"},
    {"arch.adc.area", CFG_T_QTY, CFG_DIM_AREA, OFF(arch.adc.area_mm2), MIN(0), "0.0012mm2", NULL,
     "sar: area of one ADC at arch.adc.ref_bits (ISAAC: 0.0096mm2 for 8)"},
    {"arch.adc.ref_bits", CFG_T_INT, 0, OFF(arch.adc.ref_bits), RANGE(1, 16), "8", NULL,
     "sar: the resolution at which arch.adc.leakage and area are given; at arch.adc.bits they "
     "scale by 2^(bits - ref_bits) (the capacitive DAC doubles per bit). ISAAC: 8"},
    {"arch.adc.flash.comparator_energy", CFG_T_QTY, CFG_DIM_ENERGY,
     OFF(arch.adc.flash.comparator_energy_pj), MIN(0), "0.1pJ", NULL,
     "flash: energy of one comparator decision (assumption)"},
    {"arch.adc.flash.comparator_area", CFG_T_QTY, CFG_DIM_AREA,
     OFF(arch.adc.flash.comparator_area_mm2), MIN(0), "50um2", NULL,
     "flash: area of one comparator with its reference tap (assumption)"},
    {"arch.adc.flash.comparator_leakage", CFG_T_QTY, CFG_DIM_POWER,
     OFF(arch.adc.flash.comparator_leakage_w), MIN(0), "1uW", NULL,
     "flash: static power of one comparator (assumption)"},

    {"arch.cell.impl", CFG_T_ENUM, 0, OFF(arch.cell.impl), NOLIM, "rram-neurosim",
     "rram-neurosim|rram-puma",
     "cell model: rram-neurosim (write energy V^2 G t per pulse plus V^2 C_wire, "
     "program-and-verify) or rram-puma (puma-simulator's lumped crossbar write constants)"},
    {"arch.cell.read_voltage", CFG_T_QTY, CFG_DIM_VOLTAGE, OFF(arch.cell.read_voltage_v),
     RANGE(0, 100), "0.5V", NULL,
     "read (and verify) pulse amplitude (NeuroSim default cell: 0.5V)"},
    {"arch.cell.read_pulse", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.cell.read_pulse_ps), RANGE(1, 1e12),
     "2ns", NULL, "read (and verify) pulse width (NeuroSim default cell: 2ns)"},
    {"arch.cell.write_voltage", CFG_T_QTY, CFG_DIM_VOLTAGE, OFF(arch.cell.write_voltage_v),
     RANGE(0, 100), "2V", NULL, "write pulse amplitude (NeuroSim default RRAM cell: 2V)"},
    {"arch.cell.write_pulse", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.cell.write_pulse_ps),
     RANGE(1, 1e12), "50ns", NULL, "write pulse width (NeuroSim default RRAM cell: 50ns)"},
    {"arch.cell.r_on", CFG_T_QTY, CFG_DIM_RESISTANCE, OFF(arch.cell.r_on_ohm), MIN(1), "6kOhm",
     NULL, "low-resistance state (NeuroSim default RRAM cell: 6kOhm)"},
    {"arch.cell.r_off", CFG_T_QTY, CFG_DIM_RESISTANCE, OFF(arch.cell.r_off_ohm), MIN(1),
     "900kOhm", NULL, "high-resistance state (NeuroSim default RRAM cell: 900kOhm)"},
    {"arch.cell.write_pulses", CFG_T_REAL, 0, OFF(arch.cell.write_pulses), RANGE(1, 1e6), "4",
     NULL,
     "mean program-and-verify iterations per cell write, each a write pulse and a verify read "
     "(assumption: 4 for a 2-bit cell)"},
    {"arch.cell.wire_cap", CFG_T_QTY, CFG_DIM_CAPACITANCE, OFF(arch.cell.wire_cap_f), MIN(0),
     "32aF", NULL,
     "line capacitance per cell pitch; a pulse charges a line of arch.xbar.rows cells "
     "(assumption: 0.2fF/um over NeuroSim's 4F = 160nm 1T1R pitch)"},
    {"arch.cell.endurance_mean", CFG_T_REAL, 0, OFF(arch.cell.endurance_mean), RANGE(1, 1e15),
     "1e7", NULL,
     "mean write endurance in cycles (assumption: 1e7, analog multi-level use; literature "
     "range 1e5-1e12)"},
    {"arch.cell.endurance_sigma_log10", CFG_T_REAL, 0, OFF(arch.cell.endurance_sigma_log10),
     RANGE(0, 3), "0.4", NULL,
     "device-to-device spread of log10(endurance), lognormal (assumption: 0.3-0.5)"},
    /* what the cells hold and give back (issue 13; used by accuracy.model quantized) */
    {"arch.cell.program_sigma", CFG_T_REAL, 0, OFF(arch.cell.program_sigma), RANGE(0, 10), "0",
     NULL,
     "program-and-verify residual error: sigma of a programmed cell's conductance in level "
     "steps (G_on - G_off) / (2^bits_per_cell - 1), drawn when the cell's level changes "
     "(0: exact; assumption, no published default)"},
    {"arch.cell.read_sigma", CFG_T_REAL, 0, OFF(arch.cell.read_sigma), RANGE(0, 1), "0", NULL,
     "read noise: sigma of the conductance at every read relative to the conductance, so "
     "the on/off ratio r_off / r_on sets how noisy the lowest level is (0: none)"},
    {"arch.cell.update", CFG_T_ENUM, 0, OFF(arch.cell.update), NOLIM, "verify", "verify|pulse",
     "how a write moves a weight: verify (program-and-verify: the weight becomes the target) "
     "or pulse (incremental pulses with the response of arch.cell.pulse.model)"},
    {"arch.cell.pulse.model", CFG_T_ENUM, 0, OFF(arch.cell.pulse.model), NOLIM, "softbounds",
     "softbounds|neurosim",
     "pulse: the conductance response. softbounds: aihwkit's soft-bounds device (steps shrink "
     "towards the bounds; dw_min, up_down, c2c, d2d, w_max_d2d); neurosim: DNN+NeuroSim V2.1's "
     "exponential curve W(P) = B (1 - exp(-P/A)) - 1 over `levels` pulses, A from the "
     "nonlinearity labels nl_ltp / nl_ltd, updates rounded to whole pulses, c2c as NeuroSim's "
     "additive sigma (x2 on [-1, 1]), nl_d2d its device-to-device sigma of the label"},
    {"arch.cell.pulse.dw_min", CFG_T_REAL, 0, OFF(arch.cell.pulse.dw_min), RANGE(1e-6, 1),
     "0.0949", NULL,
     "pulse: weight step of one pulse at w = 0, in units of the bound w_max (aihwkit "
     "ReRamArrayOMPresetDevice, Gong & Rasch IEDM 2022: 0.0949)"},
    {"arch.cell.pulse.up_down", CFG_T_REAL, 0, OFF(arch.cell.pulse.up_down), RANGE(-0.99, 0.99),
     "0", NULL, "pulse: asymmetry, up steps dw (1 + up_down), down steps dw (1 - up_down)"},
    {"arch.cell.pulse.c2c", CFG_T_REAL, 0, OFF(arch.cell.pulse.c2c), RANGE(0, 10), "0.4158",
     NULL, "pulse: cycle-to-cycle relative sigma of one step (aihwkit OM preset dw_min_std: "
     "0.4158)"},
    {"arch.cell.pulse.d2d", CFG_T_REAL, 0, OFF(arch.cell.pulse.d2d), RANGE(0, 10), "0.7829", NULL,
     "pulse: device-to-device sigma of log(dw) (aihwkit OM preset dw_min_dtod, log-normal: "
     "0.7829)"},
    {"arch.cell.pulse.w_max_d2d", CFG_T_REAL, 0, OFF(arch.cell.pulse.w_max_d2d), RANGE(0, 10),
     "0.3499", NULL, "pulse: device-to-device sigma of the bound (aihwkit OM preset w_max_dtod: "
     "0.3499)"},
    {"arch.cell.pulse.corrupt", CFG_T_REAL, 0, OFF(arch.cell.pulse.corrupt), RANGE(0, 1), "0",
     NULL, "pulse: fraction of stuck devices (aihwkit: 0 by default; 0.1348 measured for the OM "
     "array)"},
    {"arch.cell.pulse.omega", CFG_T_REAL, 0, OFF(arch.cell.pulse.omega), RANGE(0.01, 1), "0.6",
     NULL, "pulse: a layer's largest initial |weight| maps to omega w_max (assumption)"},
    {"arch.cell.pulse.max_pulses", CFG_T_INT, 0, OFF(arch.cell.pulse.max_pulses),
     RANGE(1, 1000000), "100", NULL, "pulse: longest pulse train of one update (assumption)"},
    {"arch.cell.pulse.nl_ltp", CFG_T_REAL, 0, OFF(arch.cell.pulse.nl_ltp), RANGE(-10, 10), "1.75",
     NULL,
     "pulse, neurosim: nonlinearity label of potentiation (the normalised curve comes at most "
     "0.07 |NL| from the diagonal; negative: convex; DNN+NeuroSim V2.1 train.py: 1.75)"},
    {"arch.cell.pulse.nl_ltd", CFG_T_REAL, 0, OFF(arch.cell.pulse.nl_ltd), RANGE(-10, 10), "1.46",
     NULL, "pulse, neurosim: nonlinearity label of depression (DNN+NeuroSim V2.1 train.py: 1.46)"},
    {"arch.cell.pulse.nl_d2d", CFG_T_REAL, 0, OFF(arch.cell.pulse.nl_d2d), RANGE(0, 10), "0",
     NULL,
     "pulse, neurosim: device-to-device sigma of the nonlinearity labels, one draw per device "
     "for both (DNN+NeuroSim V2.1 train.py d2dVari: 0)"},
    {"arch.cell.pulse.levels", CFG_T_INT, 0, OFF(arch.cell.pulse.levels), RANGE(2, 1000000), "32",
     NULL,
     "pulse, neurosim: pulses from the lowest to the highest conductance (DNN+NeuroSim V2.1 "
     "train.py max_level: 32)"},
    {"arch.cell.puma.row_write", CFG_T_QTY, CFG_DIM_TIME, OFF(arch.cell.puma.row_write_ps),
     RANGE(1, 1e12), "85.693359375ns", NULL,
     "rram-puma: time to write one crossbar row (puma: 351us / 32 per 128-row crossbar)"},
    {"arch.cell.puma.cell_write", CFG_T_QTY, CFG_DIM_ENERGY, OFF(arch.cell.puma.cell_write_pj),
     MIN(0), "1.28936767578125pJ", NULL,
     "rram-puma: energy to write one cell with its periphery (puma: 676uJ / 32 per 128 x 128 "
     "crossbar)"},

    {"arch.wear.model", CFG_T_ENUM, 0, OFF(arch.wear.model), NOLIM, "sudden", "sudden|gradual",
     "what a cell does past its endurance: sudden (stuck at one conductance) or gradual "
     "(Lammie et al. 2021: its conductance window narrows with further cycles)"},
    {"arch.wear.stuck_high", CFG_T_REAL, 0, OFF(arch.wear.stuck_high), RANGE(0, 1), "0.5", NULL,
     "fraction of failed cells stuck at the highest conductance (the rest at the lowest)"},
    {"arch.wear.gradual_slope", CFG_T_REAL, 0, OFF(arch.wear.gradual_slope), RANGE(0, 10), "0.5",
     NULL,
     "gradual model: decades by which a failed cell's low resistance R_on rises per decade of "
     "write cycles past its endurance, so its highest reachable conductance G_on (n/E)^-slope "
     "closes the window (follows the log-log linear endurance degradation of Lammie, Rahimi "
     "Azghadi and Ielmini, Semicond. Sci. Technol. 36, 2021; assumption: 0.5)"},
};

const cfg_key *cfg_schema(size_t *count)
{
    *count = ES_ARRAY_LEN(schema);
    return schema;
}
