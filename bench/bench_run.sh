#!/bin/bash
# bench/bench_run.sh - what the hardware model costs inside training: `essim run` (training,
# the event-driven execution of every iteration and the wear model) against `essim train`
# (the same training without the hardware), same recipe, one thread, alternated REPS times;
# prints each pair and the median ratio. Usage: bash bench/bench_run.sh [REPS] [NETWORK]
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-3}
net=${2:-lenet5}
T=${TMPDIR:-/tmp}/essim-bench-run
mkdir -p "$T"
args="--network $net --epochs 1 --policy essence --threads 1 -q --set train.test_limit=1000"
ratios=()
for i in $(seq "$reps"); do
    t0=$(date +%s.%N); ./essim train $args -o "$T/train" >/dev/null; t1=$(date +%s.%N)
    ./essim run $args -o "$T/run" >/dev/null; t2=$(date +%s.%N)
    tr=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'); rn=$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}')
    r=$(awk -v a="$rn" -v b="$tr" 'BEGIN{printf "%.4f", a/b}')
    ratios+=("$r")
    printf "rep %d: train %.2f s, run %.2f s, run / train %.3f\n" "$i" "$tr" "$rn" "$r"
done
med=$(printf "%s\n" "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "median run / train: $med ($net, 1 epoch, ESSENCE, 1 thread)"
