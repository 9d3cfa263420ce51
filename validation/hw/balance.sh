#!/bin/bash
# validation/hw/balance.sh OUTDIR - pipeline balancing and leakage (issue 12): LeNet-5,
# ResNet-20 and VGG-8 training iterations on isaac-train with one copy per layer and with the
# balanced replication, from synthetic traces at density 0.1 (ESSENCE-like masks; the timing
# does not depend on the data): time per iteration, achieved crossbar throughput against the
# chip's peak, the share of static energy, and the event simulation against the closed-form
# balanced-pipeline bound with writes free. Prints a markdown section; run.sh includes it.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-validation/hw/out}
mkdir -p "$OUT"
E=./essim
py=/usr/bin/python3
echo "## 5. Pipeline balancing, throughput and leakage (isaac-train, batch 128)"
echo
echo "Synthetic traces of 20 iterations (density 0.1) replayed with \`arch.map.replication\`"
echo "none and balance. The last column replays the same network with writes free (density 0)"
echo "with as many IMAs as the chip, one per tile (\`arch.tile.imas=1\`, \`arch.chip.tiles=2016\`, so no"
echo "two layers share a tile's units and the bound's no-contention assumption holds) against the"
echo "closed-form pipeline bound"
echo "(\`hw.compute_bound_s_per_iteration\`). The bound takes each op alone (its busiest tile unit,"
echo "IMA or router port, with its own broadcast, partial sums and hand-over) and each phase as a"
echo "whole (B images times the per-image load of the phase's busiest shared resource: a tile"
echo "unit, a layer's IMAs, the off-chip links or a router port, summed over the ops that use"
echo "it). What it leaves out is the order: how much of the shared resources' time the"
echo "first-come-first-served reservations leave idle, e.g. wormhole messages that hold some"
echo "ports of their route while they wait for the next. Where the column is far above 0 that is"
echo "that, not error (the NoC stalls are in the second table)."
echo
echo "| network | replication | copies | IMAs | ms/iteration | achieved Tops/s | of peak | static energy | mJ/iteration | sim vs bound (writes free) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
T2=$(mktemp)
trap 'rm -f "$T2"' EXIT
for spec in "lenet5 fashion-mnist" "resnet20 cifar10" "vgg8 cifar10"; do
    set -- $spec
    net=$1 ds=$2
    $E trace synth "$OUT/bal-$net.trc" --network $net --iterations 20 --density 0.1 \
        --set train.dataset=$ds --set train.batch=128 -q
    $E trace synth "$OUT/bal-$net-free.trc" --network $net --iterations 3 --density 0 \
        --set train.dataset=$ds --set train.batch=128 -q
    for rep in none balance; do
        $E simulate --trace "$OUT/bal-$net.trc" -o "$OUT/bal-$net-$rep" -q --set arch.map.replication=$rep >/dev/null
        $E simulate --trace "$OUT/bal-$net-free.trc" -o "$OUT/bal-$net-$rep-free" -q --set arch.map.replication=$rep \
            --set arch.tile.imas=1 --set arch.chip.tiles=2016 >/dev/null
        $py - "$OUT/bal-$net-$rep/stats.json" "$OUT/bal-$net-$rep-free/stats.json" $net $rep <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))['hw']
f = json.load(open(sys.argv[2]))['hw']
it = h['iterations']
sim = f['time_s'] / f['iterations']
b = f['compute_bound_s_per_iteration']
print(f"| {sys.argv[3]} | {sys.argv[4]} | {h['map']['copies']:.0f} | {h['map']['imas']:.0f} | "
      f"{1e3 * h['time_s'] / it:.4g} | {h['achieved_tops']:.3g} | {100 * h['achieved_fraction_of_peak']:.2f}% | "
      f"{100 * h['leakage_fraction']:.1f}% | {1e3 * h['energy_j'] / it:.4g} | {100 * (sim / b - 1):+.2f}% |")
PY
        $py - "$OUT/bal-$net-$rep/stats.json" $net $rep >>"$T2" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))['hw']
it = h['iterations']
n = h['noc']
M = 1e-6 / it
print(f"| {sys.argv[2]} | {sys.argv[3]} | {1e-6 * h['spill_kept_bytes']:.3g} | {1e-6 * h['spill_capacity_bytes']:.3g} | "
      f"{1e-6 * h['spill_bytes']:.3g} | {1e3 * h['spill_time_s'] / it:.3g} | {1e3 * h['energy_j_by_component']['offchip'] / it:.3g} | "
      f"{n['bytes_activation'] * M:.3g} | {n['bytes_broadcast'] * M:.3g} | {n['bytes_psum'] * M:.3g} | "
      f"{1e3 * h['energy_j_by_component']['noc'] / it:.3g} | {h['stall_s_by_cause']['noc'] / it:.3g} |")
PY
    done
done
echo
echo
echo "Buffer capacity and NoC traffic of the same runs, per iteration (\`hw.spill_*\`, \`hw.noc.*\`;"
echo "arch/spill.h says what is kept: each mapped layer's input for its weight gradient, the"
echo "ReLU and max-pool masks, the batch-norm inputs). eDRAM is that of the tiles holding weights;"
echo "what does not fit is written off chip in the forward pass and read back in the backward"
echo "pass over the four HyperTransport links (25.6 GB/s, about 406 pJ per byte):"
echo
echo "| network | replication | kept MB | eDRAM MB | spilled MB | spill link time ms | off-chip mJ | NoC MB hand-over | NoC MB broadcast | NoC MB partial sums | NoC mJ | NoC stalls job-s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
cat "$T2"
echo
