#!/bin/bash
# validation/hw/run.sh - validation of the event-driven hardware model (issue 5):
#   1. the ISAAC roll-up (65.8 W, 85.4 mm^2) and what isaac-train adds;
#   2. with writes free (no block written) and no contention (one IMA per tile, so no two
#      layers share a tile), the simulated compute time equals the analytic pipeline bound
#      (hw.compute_bound_s_per_iteration, arch/hwsim.h) within 1%, for LeNet-5 and ResNet-20;
#      on the shared-tile preset the difference is the contention;
#   3. SGD, No Endurance and ESSENCE on the same LeNet-5 run: update-phase time and energy
#      fall with the write count, lifetime rises with the max-count reduction;
#   5. pipeline balancing (validation/hw/balance.sh): LeNet-5, ResNet-20 and VGG-8 with one
#      copy per layer and balanced: time, achieved throughput against peak, static energy, the
#      event simulation against the pipeline bound;
#   4. published designs (issue 12): ISAAC's Table I per component and its peak efficiency,
#      PUMA's 128x128 16-bit MVM and chip efficiency, PipeLayer's training efficiency, from
#      `essim config area-power` of configs/{isaac,puma,pipelayer}.yaml (a second).
# Usage: bash validation/hw/run.sh [OUTDIR]   (from the source tree, after make)
#        QUICK=1 runs sections 1 and 4 only (seconds; sections 2 and 3 take minutes).
# Writes OUTDIR/results.md (default validation/hw/out) and prints it.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-validation/hw/out}
EPOCHS=${EPOCHS:-1}
mkdir -p "$OUT"
E=./essim
py=/usr/bin/python3
get() { # get STATS.json KEY.PATH
    $py -c "import json,sys; d=json.load(open('$1'))
for k in '$2'.split('.'): d=d[k]
print(d)"
}
{
echo "# Hardware model validation"
echo
echo "Produced by \`bash validation/hw/run.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores)."
echo
echo "## 1. Area and power roll-up"
echo
echo '```'
$E config area-power configs/isaac.yaml | tail -n 3
echo "--- isaac-train (adds the gradient unit, write drivers and the write budget):"
$E config area-power configs/isaac-train.yaml | tail -n 4
echo '```'
echo
if [ "${QUICK:-0}" != 1 ]; then
echo "## 2. Simulated compute time against the analytic pipeline bound (writes free)"
echo
echo "| network | chip | simulated s/iteration | bound s/iteration | difference | contention stalls (job-s/iteration) |"
echo "|---|---|---|---|---|---|"
for net in lenet5 resnet20; do
    $E trace synth "$OUT/$net-free.trc" --network $net --iterations 3 --density 0 --set train.batch=128 -q
    for chip in "isaac-train (one IMA per tile)|--set arch.tile.imas=1" "isaac-train|"; do
        name=${chip%%|*}; sets=${chip#*|}
        $E simulate --trace "$OUT/$net-free.trc" -o "$OUT/$net-free-sim" -q $sets >/dev/null
        j="$OUT/$net-free-sim/stats.json"
        $py - "$j" "$net" "$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))['hw']
it = d['iterations']
sim = d['time_s'] / it
b = d['compute_bound_s_per_iteration']
st = sum(v for k, v in d['stall_s_by_cause'].items() if k != 'adc') / it
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sim:.6g} | {b:.6g} | {100*(sim/b-1):+.3f}% | {st:.4g} |")
PY
    done
done
echo
echo "## 3. Write policies on the same run (LeNet-5, Fashion-MNIST, $EPOCHS epochs, isaac-train)"
echo
echo "Writes overlap compute by default (\`sim.overlap_writes: true\`); the second block"
echo "serialises them after compute so the update phase is exposed."
for ov in true false; do
echo
echo "sim.overlap_writes: $ov"
echo
echo "| policy | test acc. | writes mean | writes max | update time s | driver busy s | update energy J | write energy J | total energy J | runs to first failure | runs to 1% failed | E / max |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for pol in sgd ssgp essence; do
    $E run --policy $pol --epochs $EPOCHS -o "$OUT/run-$pol-$ov" -q --set sim.overlap_writes=$ov >/dev/null
    $py - "$OUT/run-$pol-$ov/stats.json" $pol <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); h = d['hw']; w = d['writes']; t = d['train']; l = d['lifetime']
print(f"| {sys.argv[2]} | {100*t['test_accuracy_final']:.2f}% | {w['mean']:.1f} | {w['max']} | "
      f"{h['time_s_by_phase']['update']:.4g} | {h['write_busy_s']:.4g} | {h['energy_j_by_phase']['update']:.4g} | "
      f"{h['energy_j_by_component']['write']:.4g} | {h['energy_j']:.4g} | {l['runs_to_first_failure']:.4g} | "
      f"{l['runs_to_1pct_failed']:.4g} | {l['endurance_mean']/w['max']:.4g} |")
PY
done
done
fi
echo
echo "## 4. Published designs"
echo
echo "ESSIM's presets beside the figures their papers publish (\`essim config area-power"
echo "--json\`; peak throughput counts a MAC as 2 ops). The ISAAC rows are not independent"
echo "checks of the component formulas: each is calibrated at Table I's figure (crossbar at"
echo "128x128, ADC figure of merit at 8 bits and 1.28 GS/s, registers and eDRAM at their sizes),"
echo "so they show that the formulas reproduce their calibration point; the PUMA and PipeLayer"
echo "rows are the out-of-sample checks. Differences over 20% are explained below the table."
echo
for p in isaac puma pipelayer; do $E config area-power configs/$p.yaml --json >"$OUT/$p-ap.json"; done
# The scaling laws away from their calibration point, against puma-simulator's own tables
# (include/constants.py): crossbars of 64x64 and 256x256, data memories of 512 B to 2 KB.
$E config area-power configs/isaac.yaml --json --set arch.xbar.rows=64 --set arch.xbar.cols=64 \
    --set arch.adc.cols_per_adc=64 >"$OUT/xbar64-ap.json"
$E config area-power configs/isaac.yaml --json --set arch.xbar.rows=256 --set arch.xbar.cols=256 \
    >"$OUT/xbar256-ap.json"
for sz in 256 512 1024 2048; do
    $E config area-power configs/isaac.yaml --json --set arch.ima.in_reg.cal_size=256B \
        --set arch.ima.in_reg.power=0.16mW --set arch.ima.in_reg.leakage=0W \
        --set arch.ima.in_reg.area=0.00056mm2 --set arch.ima.in_reg.size=${sz}B >"$OUT/mem$sz-ap.json"
done
$py - "$OUT" <<'PY'
import json, os, sys
d = {p: json.load(open(os.path.join(sys.argv[1], p + "-ap.json"))) for p in ("isaac", "puma", "pipelayer")}
rows = []
def row(design, qty, pub, val, unit, fmt="%.4g"):
    err = 100.0 * (val / pub - 1.0) if pub else float("nan")
    rows.append((design, qty, (fmt % pub) + " " + unit, (fmt % val) + " " + unit, "%+.2f%%" % err, abs(err)))
i = d["isaac"]
# ISAAC Table I: per component (count x each), mW and mm2
t1 = [("ima", "adc", "ADC 8-bit 1.28 GS/s x 8", 16, 0.0096), ("ima", "dac", "DAC 1-bit x 8x128", 4, 0.00017),
      ("ima", "sh", "sample-and-hold x 8x128", 0.01, 0.00004), ("ima", "xbar", "crossbar 128x128 x 8", 2.4, 0.0002),
      ("ima", "sa", "IMA shift-and-add x 4", 0.2, 0.00024), ("ima", "in_reg", "IMA input register 2 KB", 1.24, 0.0021),
      ("ima", "out_reg", "IMA output register 256 B", 0.23, 0.00077), ("tile", "ima", "12 IMAs", 289, 0.157),
      ("tile", "edram", "eDRAM 64 KB", 20.7, 0.083), ("tile", "bus", "eDRAM-to-IMA bus", 7, 0.090),
      ("tile", "sigmoid", "sigmoid x 2", 0.52, 0.0006), ("tile", "sa", "tile shift-and-add", 0.05, 0.00006),
      ("tile", "maxpool", "max-pool", 0.4, 0.00024), ("tile", "out_reg", "tile output register 3 KB", 1.68, 0.0032)]
for lvl, name, label, mw, mm2 in t1:
    p = i[lvl][name]
    row("ISAAC", label + ", power", mw, 1e3 * p["power_w"], "mW")
    row("ISAAC", label + ", area", mm2, p["area_mm2"], "mm2")
nr = i["chip"]["noc"]
row("ISAAC", "router share (1/4 per tile), power", 10.5, 1e3 * nr["power_w"] / 168, "mW")
row("ISAAC", "router share (1/4 per tile), area", 0.0378, nr["area_mm2"] / 168, "mm2")
tw = i["tile"]["with_router_share"]
row("ISAAC", "tile with router share, power", 330, 1e3 * tw["power_w"], "mW")
row("ISAAC", "tile with router share, area", 0.372, tw["area_mm2"], "mm2")
row("ISAAC", "HyperTransport, power", 10.4, i["chip"]["offchip"]["power_w"], "W")
row("ISAAC", "chip power", 65.8, i["total"]["power_w"], "W")
row("ISAAC", "chip area", 85.4, i["total"]["area_mm2"], "mm2")
pk = i["peak"]
row("ISAAC", "peak GOPS/s/mm2", 479, 1e3 * pk["tops_per_mm2"], "")
row("ISAAC", "peak GOPS/s/W (ISAAC-CE, as cited by PUMA and PipeLayer)", 380.7, 1e3 * pk["tops_per_w"], "")
u = d["puma"]; up = u["peak"]
row("PUMA", "one 128x128 16-bit MVM, latency", 2304, up["mvm_latency_ps"] / 1e3, "ns")
row("PUMA", "one 128x128 16-bit MVM, energy", 43.97, up["mvm_energy_pj"] / 1e3, "nJ")
row("PUMA", "peak GOPS/s/mm2", 577, 1e3 * up["tops_per_mm2"], "")
row("PUMA", "peak GOPS/s/W", 837, 1e3 * up["tops_per_w"], "")
for n, pw, ar in ((64, 0.075, 6.25e-6), (256, 1.2, 1.0e-4)):
    x = json.load(open(os.path.join(sys.argv[1], "xbar%d-ap.json" % n)))["ima"]["xbar"]
    row("puma-simulator", "crossbar %dx%d read power (ESSIM: scaled from ISAAC's 128x128)" % (n, n),
        pw, 1e3 * x["power_w"] / x["count"], "mW")
    row("puma-simulator", "crossbar %dx%d area" % (n, n), ar, x["area_mm2"] / x["count"], "mm2")
for sz, pw, ar in ((512, 0.24, 0.00108), (1024, 0.33, 0.00192), (2048, 0.57, 0.00392)):
    r = json.load(open(os.path.join(sys.argv[1], "mem%d-ap.json" % sz)))["ima"]["in_reg"]
    row("puma-simulator", "%d B data memory, dynamic power (ESSIM: sqrt law from 256 B)" % sz,
        pw, 1e3 * r["power_w"], "mW")
    row("puma-simulator", "%d B data memory, area (ESSIM: linear from 256 B)" % sz, ar,
        r["area_mm2"], "mm2")
q = d["pipelayer"]["peak"]
row("PipeLayer", "training GOPS/s/mm2 (ESSIM: peak)", 1485, 1e3 * q["tops_per_mm2"], "")
row("PipeLayer", "training GOPS/W (ESSIM: peak)", 142.9, 1e3 * q["tops_per_w"], "")
print("| design | quantity | published | ESSIM | error | |")
print("|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %s | %s | %s | %s | %s |" % (r[:5] + ("**> 20%: see below**" if r[5] > 20 else "",)))
n = len(rows); within = sum(1 for r in rows if r[5] <= 20)
print()
print("%d of %d within 20%%; ISAAC chip power and area within 1%%: %s" % (within, n,
      "yes" if abs(i["total"]["power_w"] / 65.8 - 1) < 0.01 and abs(i["total"]["area_mm2"] / 85.4 - 1) < 0.01 else "NO"))
PY
cat <<'TXT'

Why the rows over 20% differ (nothing was tuned to close them):

- **puma-simulator's tables** check the scaling laws away from the calibration point. Its
  crossbar power and area are proportional to rows x cols, as ESSIM's formula with a fixed
  cell gives; but that table was itself scaled from ISAAC's 128x128, so it confirms the law
  both use rather than measuring it. Its data memories (CACTI figures) grow in dynamic power
  by 3.6x from 256 B to 2 KB, between ESSIM's square-root law (2.8x, -21% at 2 KB) and a
  linear one (8x), and in area by 7x (ESSIM's linear law: 8x, +14%): the square-root
  exponent is on the low side of what CACTI gives for these small arrays.

- **ISAAC GOPS/s/W.** The organisation that gives 483 GOPS/s/mm² (+0.9% against the
  published 479) gives 41.29 Tops/s at Table I's 65.8 W, i.e. 627 GOPS/s/W; 380.7 GOPS/s/W
  would need 108 W. 380.7 is the figure PUMA's and PipeLayer's comparison tables attribute to
  ISAAC; it cannot be reproduced from Table I's powers and the 16-cycle MVM, so the difference
  is in what the paper's efficiency counts (not stated in Table I), not in a component.
- **PUMA GOPS/s/mm² and GOPS/s/W.** ESSIM's MVM interval is 16 reads of 128 ns: at 1 GHz
  one ADC needs 128 ns for a crossbar's 128 columns, so the ADC, not the 100 ns crossbar,
  sets the read cycle (the published 2,304 ns MVM = 18 x 128 ns says the same). At a 100 ns
  read cycle ESSIM's peak would be about 1.28x higher, 572 GOPS/s/mm² (-0.9%) and 775 GOPS/s/W
  (-7%): PUMA's peak figures look like they assume crossbar-bound reads. ESSIM also leaves out
  PUMA's cores (instruction memories, register files, vector units), which would lower its
  efficiency further: the near-agreement at 100 ns is partly coincidence.
- **PUMA MVM energy (-16%, within 20%).** puma-simulator charges an ADC its 1.8 mW dynamic
  power for each 1 ns conversion (1.8 pJ); ESSIM charges the Walden energy, fom x 2^8 =
  1.41 pJ whatever the rate. With puma's per-conversion energy ESSIM's MVM would be
  36.83 + 16 x 8 x 128 x 0.39 pJ = 43.3 nJ (-1.6%). Latency (-5.5%): ESSIM fills the pipeline
  with one read (17 x 128 ns + one shift-and-add cycle), PUMA with two (18 x 128 ns).
- **PipeLayer.** ESSIM's figures are the preset's peak forward throughput (ISAAC's 32 nm
  periphery with 4-bit cells); PipeLayer's are training throughput with its own periphery
  (spike-coded inputs, integrate-and-fire counters instead of ADCs, gradients computed in
  crossbars). Area: ESSIM's training chip carries a digital gradient unit (41.2 mm² of
  127.3) and ISAAC's HyperTransport links (22.9 mm²) that PipeLayer does not; without them
  the same peak gives 1,306 GOPS/s/mm² (-12%). Power: 142.9 GOPS/W is an achieved training
  efficiency (forward, backward, weight updates written every batch) where ESSIM's 826 is
  the peak forward efficiency; ESSIM's achieved training efficiency comes from a run (the
  achieved-versus-peak rows), not from this roll-up.
TXT
if [ -z "${QUICK:-}" ]; then
echo
bash validation/hw/balance.sh "$OUT"
fi
} | tee "$OUT/results.md"
# validation/hw/results.md is a copy of the last full run, kept in git.
