#!/bin/bash
# plot_adc.sh - accuracy against ADC resolution and bits per cell, bit-exact crossbars
# (issue 13): runs configs/sweeps/accuracy-adc.yaml (12 points of LeNet-5, one epoch over
# 8,192 Fashion-MNIST images, resumable: finished points are kept) and plots test accuracy
# against arch.adc.bits, one line per arch.xbar.bits_per_cell, into
# validation/accuracy/accuracy-adc.png; prints the table it plotted.
# Usage: [JOBS=1] [OUT=DIR] bash validation/accuracy/plot_adc.sh   (from the source tree)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-validation/out/accuracy-adc-sweep}
${ESSIM:-./essim} sweep configs/sweeps/accuracy-adc.yaml -j "${JOBS:-1}" --out "$out" -q || true
csv=$out/results.csv
[ -f "$csv" ] || { echo "plot_adc.sh: no $csv" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# one data file per bits_per_cell: adc_bits accuracy (failed points, e.g. diverged, at 10%:
# chance on ten classes, marked in the table)
python3 - "$csv" "$tmp" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| bits per cell | ADC bits | test accuracy | status |")
print("|---|---|---|---|")
by = {}
for r in rows:
    b, a = int(r["arch.xbar.bits_per_cell"]), int(r["arch.adc.bits"])
    acc = float(r["train.test_accuracy_final"]) * 100 if r.get("train.test_accuracy_final") else None
    by.setdefault(b, []).append((a, acc if acc is not None else 10.0))
    print(f"| {b} | {a} | {'%.2f%%' % acc if acc is not None else '-'} | {r['status']} |")
for b, pts in by.items():
    with open(f"{sys.argv[2]}/b{b}.dat", "w") as f:
        for a, acc in sorted(pts):
            f.write(f"{a} {acc}\n")
PY
plots=""
for f in "$tmp"/b*.dat; do
    b=$(basename "$f" .dat); b=${b#b}
    plots="$plots${plots:+, }'$f' using 1:2 with linespoints lw 2 title '$b-bit cells'"
done
gnuplot <<GP
set terminal pngcairo noenhanced size 720,440 font 'DejaVu Sans,10'
set output 'validation/accuracy/accuracy-adc.png'
set title 'LeNet-5 on Fashion-MNIST, bit-exact crossbars (128 rows, 16-bit weights and inputs)'
set xlabel 'ADC bits (runs that diverged drawn at 10%, chance)'
set xtics 1
set ylabel 'test accuracy (%), one epoch over 8,192 images'
set key bottom right
set grid
set yrange [0:100]
plot $plots
GP
echo "wrote validation/accuracy/accuracy-adc.png"
