#!/bin/bash
# bench/bench_replay.sh - replay speed and memory of `essim simulate` (issue 5 goals: >= 1,300
# iterations per second for ResNet-20 on isaac-train on one core; memory not growing with the
# trace length). The peer measured in the same run is the trace decoder alone (`essim trace
# verify` inflates, CRC-checks and decodes every record): the ratio says what the hardware
# model adds on top of reading the trace. Memory: peak RSS of a 9,400-iteration and a
# 78,200-iteration (paper-scale: 200 epochs of CIFAR-10 at batch 128) replay.
# Usage: bash bench/bench_replay.sh [REAL_TRACE]   (REAL_TRACE: e.g. a 20-epoch ResNet-20
# Fashion-MNIST trace from `essim train --network resnet20 --epochs 20 --trace F`)
set -euo pipefail
cd "$(dirname "$0")/.."
E=./essim
T=${TMPDIR:-/tmp}/essim-bench-replay
mkdir -p "$T"
rss() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1; }
measure() { # measure NAME TRACE
    local name=$1 tr=$2
    local n; n=$($E trace info "$tr" | awk '/^iterations/ {print $2}')
    read -r vt vm <<<"$(rss taskset -c 0 $E trace verify "$tr")"
    read -r st sm <<<"$(rss taskset -c 0 $E simulate --trace "$tr" -o "$T/sim-$name" -q)"
    local ips; ips=$(awk -v n="$n" -v t="$st" 'BEGIN{printf "%.0f", n/t}')
    local vps; vps=$(awk -v n="$n" -v t="$vt" 'BEGIN{printf "%.0f", n/t}')
    printf "%-34s %8s it  simulate %6.2f s = %6s it/s  decode-only %6.2f s = %7s it/s  ratio %.2f  peak RSS %6.1f MB\n" \
        "$name" "$n" "$st" "$ips" "$vt" "$vps" "$(awk -v a="$st" -v b="$vt" 'BEGIN{print a/b}')" \
        "$(awk -v m="$sm" 'BEGIN{print m/1024}')"
    echo "$sm" > "$T/rss-$name"
}
[ -f "$T/rn20-9400.trc" ] || $E trace synth "$T/rn20-9400.trc" --network resnet20 --iterations 9400 --density 0.1 --set train.batch=128 -q
[ -f "$T/rn20-78200.trc" ] || $E trace synth "$T/rn20-78200.trc" --network resnet20 --iterations 78200 --density 0.1 --set train.batch=128 -q
echo "essim simulate replay speed (one core, taskset -c 0), ResNet-20 on isaac-train, ESSENCE-like masks (rho 0.1)"
measure "synthetic 9,400 iterations" "$T/rn20-9400.trc"
measure "synthetic 78,200 iterations" "$T/rn20-78200.trc"
if [ $# -ge 1 ]; then measure "real: $(basename "$1")" "$1"; fi
echo "memory growth 78,200 / 9,400 iterations: $(awk -v a="$(cat "$T/rss-synthetic 78,200 iterations")" -v b="$(cat "$T/rss-synthetic 9,400 iterations")" 'BEGIN{printf "%.3f", a/b}')x"
