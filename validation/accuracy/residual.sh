#!/bin/bash
# residual.sh - the write policies' accuracy gap on LeNet-5 / Fashion-MNIST with and without
# error feedback (policy.residual, issue 13): SGD, ESSENCE at rho 0.1, ESSENCE at rho 0.1 with
# policy.residual true; float32 crossbars (accuracy.model ideal) to isolate the policy.
# Resumable (finished runs are skipped); one line per run, CSV in
# validation/out/accuracy-residual/results.csv.
# Usage: EPOCHS=10 SEEDS="1 2 3" THREADS=2 bash validation/accuracy/residual.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${EPOCHS:-10}
seeds=${SEEDS:-1 2 3}
threads=${THREADS:-2}
out=validation/out/accuracy-residual
mkdir -p "$out"
csv=$out/results.csv
[ -f "$csv" ] || echo "policy,residual,seed,epochs,test_accuracy_final,writes_mean" > "$csv"
for seed in $seeds; do
    for p in sgd essence essence+residual; do
        pol=${p%%+*}
        res=false
        [ "$p" = essence+residual ] && res=true
        o=$out/$p-e$epochs-s$seed
        if [ ! -f "$o/stats.json" ]; then
            ./essim train --network lenet5 --dataset fashion-mnist --epochs "$epochs" --batch 64 \
                --lr 0.05 --momentum 0.9 --schedule cosine --seed "$seed" --threads "$threads" \
                --policy "$pol" --density 0.1 --set policy.residual=$res -o "$o" -q
            acc=$(sed -n 's/.*"test_accuracy_final": \([0-9.]*\).*/\1/p' "$o/stats.json")
            wm=$(sed -n 's/.*"writes.mean": \([0-9.e+-]*\).*/\1/p' "$o/stats.json" | head -1)
            echo "$pol,$res,$seed,$epochs,$acc,$wm" >> "$csv"
        fi
        echo "RESULT $p seed $seed: $(sed -n 's/.*"test_accuracy_final": \([0-9.]*\).*/\1/p' "$o/stats.json")"
    done
done
