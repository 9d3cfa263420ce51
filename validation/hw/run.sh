#!/bin/bash
# validation/hw/run.sh - validation of the event-driven hardware model (issue 5):
#   1. the ISAAC roll-up (65.8 W, 85.4 mm^2) and what isaac-train adds;
#   2. with writes free (no block written) and no contention (one IMA per tile, so no two
#      layers share a tile), the simulated compute time equals the analytic pipeline bound
#      (hw.compute_bound_s_per_iteration, arch/hwsim.h) within 1%, for LeNet-5 and ResNet-20;
#      on the shared-tile preset the difference is the contention;
#   3. SGD, No Endurance and ESSENCE on the same LeNet-5 run: update-phase time and energy
#      fall with the write count, lifetime rises with the max-count reduction.
# Usage: bash validation/hw/run.sh [OUTDIR]   (from the source tree, after make)
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
bash validation/hw/balance.sh "$OUT"
} | tee "$OUT/results.md"
# validation/hw/results.md is a copy of the last full run, kept in git.
