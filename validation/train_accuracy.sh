#!/bin/bash
# train_accuracy.sh - the accuracy goals of the training engine on Fashion-MNIST:
#   LeNet-5   >= 89%   test accuracy after 10 epochs
#   ResNet-20 >= 92.5% test accuracy after 20 epochs (step or cosine schedule)
# Runs `essim train` with the recipes below and prints one line per network; the outputs
# (stats.json, epochs.csv, weights.npz) stay in validation/out/. Long: LeNet-5 takes minutes,
# ResNet-20 hours on 2 cores. Results are recorded in validation/README.md.
# Usage: bash validation/train_accuracy.sh [lenet5] [resnet20]
set -euo pipefail
cd "$(dirname "$0")/.."
nets=${*:-lenet5 resnet20}
threads=${THREADS:-2}
for net in $nets; do
    case $net in
    lenet5)
        goal=0.89
        args="--network lenet5 --epochs 10 --batch 64 --lr 0.05 --momentum 0.9 --schedule cosine"
        ;;
    resnet20)
        goal=0.925
        args="--network resnet20 --epochs 20 --batch 128 --lr 0.1 --momentum 0.9 --weight-decay 1e-4 --schedule cosine"
        ;;
    *) echo "unknown network $net" >&2; exit 2 ;;
    esac
    out=validation/out/accuracy-$net
    ./essim train $args --dataset fashion-mnist --seed 1 --threads "$threads" -o "$out" --progress
    acc=$(sed -n 's/.*"test_accuracy_final": \([0-9.]*\).*/\1/p' "$out/stats.json")
    best=$(sed -n 's/.*"test_accuracy_best": \([0-9.]*\).*/\1/p' "$out/stats.json")
    verdict=$(awk -v a="$acc" -v g="$goal" 'BEGIN { print (a >= g) ? "MET" : "NOT MET" }')
    echo "RESULT $net: final $acc, best $best, goal $goal: $verdict  (essim train $args)"
done
