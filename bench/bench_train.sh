#!/bin/bash
# bench_train.sh - ESSIM's training engine against the PyTorch peer, in the same invocation:
# LeNet-5 (batch 64) and ResNet-20 (batch 128) on Fashion-MNIST 1x28x28, 2 threads, training
# images/s (forward + backward + SGD) and peak RSS. The two engines alternate ROUNDS times and
# the medians are compared, because this machine is noisy. Needs python3-torch (setup.sh
# --bench). Usage: bash bench/bench_train.sh [ROUNDS] [MODEL...]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
models=${*:-lenet resnet20}
peer=${PEER:-../shared/bench/pytorch_peer.py}
[ -x bench/bench_train ] || make -s bench/bench_train
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }
printf '%-9s %12s %12s %7s %12s %12s %7s\n' model essim_img/s torch_img/s ratio essim_MiB torch_MiB ratio
for m in $models; do
    for r in $(seq "$rounds"); do
        ./bench/bench_train --model "$m" --threads 2 >"$tmp/e.$m.$r"
        /usr/bin/time -f '"maxrss_kb": %M' /usr/bin/python3 "$peer" --model "$m" --mode throughput \
            --threads 2 >"$tmp/t.$m.$r" 2>&1
    done
    e=$(cat "$tmp"/e.$m.* | field train_img_s | median)
    t=$(grep train_img_s "$tmp"/t.$m.* | field train_img_s | median)
    em=$(cat "$tmp"/e.$m.* | field maxrss_kb | median)
    tm=$(cat "$tmp"/t.$m.* | field maxrss_kb | median)
    awk -v m="$m" -v e="$e" -v t="$t" -v em="$em" -v tm="$tm" 'BEGIN {
        printf "%-9s %12.0f %12.0f %7.2f %12.0f %12.0f %7.2f\n", m, e, t, e / t, em / 1024, tm / 1024, em / tm }'
done
echo "(ratio > 1: ESSIM faster; memory ratio < 1: ESSIM smaller. $rounds rounds, medians.)"
