#!/bin/bash
# cost.sh - training throughput of the accuracy models (issue 13), measured in one run so the
# machine's load is shared alike: LeNet-5 and ResNet-20 on Fashion-MNIST, ideal, quantized
# and bit-exact (ISAAC point: 16-bit weights and inputs, 2-bit cells, 128 rows, 8-bit ADC).
# Prints images/s per (network, model). Usage: bash validation/accuracy/cost.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=${1:-2}
out=validation/out/accuracy-cost
for net in lenet5 resnet20; do
    case $net in
    lenet5) lim=4096; be_lim=2048 ;;
    resnet20) lim=512; be_lim=64 ;;
    esac
    for model in ideal quantized bit-exact; do
        n=$lim
        [ $model = bit-exact ] && n=$be_lim
        o=$out/$net-$model
        ./essim train --network $net --epochs 1 --batch 64 --threads "$threads" \
            --set train.train_limit=$n --set train.test_limit=64 \
            --set accuracy.model=$model -o "$o" -q >/dev/null
        ips=$(sed -n 's/.*"images_per_s": \([0-9.]*\).*/\1/p' "$o/stats.json")
        echo "COST $net $model: $ips images/s (train_limit $n, threads $threads)"
    done
done
