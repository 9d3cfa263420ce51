#!/bin/bash
# residual.sh - the write policies' accuracy gap on LeNet-5 / Fashion-MNIST with error feedback
# (policy.residual, issue 13): ESSENCE at rho 0.1 with policy.residual true, on the recipe and
# seeds of the ESSENCE reproduction (validation/essence/run.sh: 10 epochs, batch 64, lr 0.05,
# momentum 0.9, step schedule at epochs 5 and 8, 1 thread), so its SGD and ESSENCE runs
# (validation/essence/results-lenet5.csv; the float path is byte-identical) are the baseline.
# RUNS="sgd essence essence+residual" runs the baselines again too. Resumable: finished runs
# are skipped. One line per run; CSV in validation/out/accuracy-residual/results.csv.
# Usage: SEEDS="1 2 3" bash validation/accuracy/residual.sh     (ESSIM=PATH: another binary)
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${SEEDS:-1 2 3}
runs=${RUNS:-essence+residual}
out=validation/out/accuracy-residual
mkdir -p "$out"
csv=$out/results.csv
[ -f "$csv" ] || echo "run,seed,test_accuracy_final,writes_mean,writes_max" > "$csv"
recipe="--network lenet5 --epochs 10 --batch 64 --lr 0.05 --momentum 0.9 --schedule step --milestones 5,8"
for seed in $seeds; do
    for p in $runs; do
        case $p in
        sgd) opts="--policy sgd" ;;
        essence) opts="--policy essence --density 0.1" ;;
        essence+residual) opts="--policy essence --density 0.1 --set policy.residual=true" ;;
        *) echo "unknown run $p" >&2; exit 2 ;;
        esac
        o=$out/$p-s$seed
        if [ ! -f "$o/stats.json" ]; then
            ${ESSIM:-./essim} train $recipe $opts --seed "$seed" --dataset fashion-mnist \
                --threads 1 -q -o "$o"
            python3 - "$o/stats.json" "$p" "$seed" >> "$csv" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(f"{sys.argv[2]},{sys.argv[3]},{d['train']['test_accuracy_final']},"
      f"{d['writes']['mean']},{d['writes']['max']}")
PY
        fi
        echo "RESULT $p seed $seed: $(sed -n 's/.*"test_accuracy_final": \([0-9.]*\).*/\1/p' "$o/stats.json")"
    done
done
