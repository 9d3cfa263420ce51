#!/bin/bash
# bench_ablation.sh - what each training speed-up contributes (issue 16): for every model and
# every speed-up that bench_train can switch off (--without), ROUNDS alternating runs with and
# without it, 2 threads; prints the medians and their ratio, one row per change.
#
#   bash bench/bench_ablation.sh [ROUNDS] [MODEL...]     (default 5; lenet resnet20)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
shift || true
models=${*:-lenet resnet20}
[ -x bench/bench_train ] || make -s bench/bench_train
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ips() { ./bench/bench_train "$@" | sed -n 's/.*"train_img_s": \([0-9.]*\).*/\1/p'; }
echo "load: 1-minute average $(cut -d' ' -f1 /proc/loadavg) before the start; $rounds alternating rounds, 2 threads"
printf '%-9s %-12s %12s %12s %8s\n' model change with_img/s without_img/s speedup
for m in $models; do
    for c in direct-conv vector-pool folds; do
        : >"$tmp/with"
        : >"$tmp/without"
        for r in $(seq "$rounds"); do
            ips --model "$m" --threads 2 --without nothing >>"$tmp/with"
            ips --model "$m" --threads 2 --without "$c" >>"$tmp/without"
        done
        a=$(median <"$tmp/with")
        b=$(median <"$tmp/without")
        awk -v m="$m" -v c="$c" -v a="$a" -v b="$b" \
            'BEGIN {printf "%-9s %-12s %12.0f %12.0f %7.2fx\n", m, c, a, b, a / b}'
    done
done
