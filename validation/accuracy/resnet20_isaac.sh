#!/bin/bash
# resnet20_isaac.sh - ResNet-20 on Fashion-MNIST, ideal against quantized at ISAAC's point
# (16-bit weights and inputs; with 128 rows, 2-bit cells, flipped weights and an 8-bit ADC,
# bit-exact equals quantized up to float rounding of the 16 x 16-bit sums, see
# tests/test_xbar.c), short recipe: EPOCHS epochs, batch 128, lr 0.1, momentum 0.9, weight
# decay 1e-4, cosine, seed 1, 2 threads. Resumable (finished runs are skipped).
# Usage: EPOCHS=3 bash validation/accuracy/resnet20_isaac.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${EPOCHS:-3}
out=validation/out/accuracy-resnet20
for m in ideal quantized; do
    o=$out/$m-e$epochs
    [ -f "$o/stats.json" ] || ${ESSIM:-./essim} train --network resnet20 --dataset fashion-mnist \
        --epochs "$epochs" --batch 128 --lr 0.1 --momentum 0.9 --weight-decay 1e-4 \
        --schedule cosine --seed 1 --threads 2 --set accuracy.model=$m -o "$o" -q
    echo "RESULT resnet20 $m $epochs epochs: $(sed -n 's/.*"test_accuracy_final": \([0-9.]*\).*/\1/p' "$o/stats.json"), $(sed -n 's/.*"images_per_s": \([0-9.]*\).*/\1/p' "$o/stats.json") images/s"
done
