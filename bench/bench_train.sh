#!/bin/bash
# bench_train.sh - ESSIM's training engine against the PyTorch peer, in the same invocation:
# LeNet-5 (batch 64) and ResNet-20 (batch 128) on Fashion-MNIST 1x28x28, 2 threads, training
# images/s (forward + backward + SGD) and peak RSS. Needs python3-torch (setup.sh --bench).
#
#   bash bench/bench_train.sh [ROUNDS] [MODEL...]     (ROUNDS >= 5, default 5)
#
# Protocol (this machine is noisy; issue 16): the two engines alternate ROUNDS times per model,
# and for each engine the best and the median round are reported, with every round's figure
# (the distribution). Ratios are best / best and median / median. The machine must be quiet:
# the 1-minute load average before the start, and the CPU time used by other processes during
# the run (read from /proc/stat, minus this benchmark's own CPU time, per second of wall time),
# must both be at most 0.5; otherwise the figures are printed but no verdict on the goals.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
shift || true
models=${*:-lenet resnet20}
[ "$rounds" -ge 5 ] 2>/dev/null || { echo "bench_train.sh: ROUNDS must be >= 5 (got $rounds)" >&2; exit 2; }
peer=${PEER:-../shared/bench/pytorch_peer.py}
[ -f "$peer" ] || { echo "bench_train.sh: the PyTorch peer $peer is missing" >&2; exit 2; }
[ -x bench/bench_train ] || make -s bench/bench_train
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)
# busy CPU ticks of the whole machine (everything but idle and iowait)
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
best() { sort -g | tail -1; }
least() { sort -g | head -1; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.6f", a / b}'; }
field() { sed -n "s/.*\"$1\": \([0-9.]*\).*/\1/p"; }
# run CMD..., append its user+sys seconds to $tmp/own; its peak RSS (kB) is left in $tmp/rss
timed() {
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$@"
    awk '{print $2 + $3}' "$tmp/t" >>"$tmp/own"
    awk '{print $4}' "$tmp/t" >"$tmp/rss"
}
# wait (up to 3 minutes) for the 1-minute load average to settle below 0.5: it decays slowly
# after a build or a previous benchmark
for _ in $(seq 36); do
    awk '{exit !($1 > 0.5)}' /proc/loadavg || break
    sleep 5
done
load0=$(cut -d' ' -f1 /proc/loadavg)
b0=$(busy)
w0=$(date +%s.%N)
: >"$tmp/own"
for m in $models; do
    for r in $(seq "$rounds"); do
        timed ./bench/bench_train --model "$m" --threads 2 >"$tmp/e.$m.$r"
        timed /usr/bin/python3 "$peer" --model "$m" --mode throughput --threads 2 >"$tmp/t.$m.$r" 2>&1
        echo "\"maxrss_kb\": $(cat "$tmp/rss")" >>"$tmp/t.$m.$r"
    done
done
b1=$(busy)
w1=$(date +%s.%N)
own=$(awk '{s += $1} END {print s + 0}' "$tmp/own")
foreign=$(awk -v b0="$b0" -v b1="$b1" -v hz="$hz" -v own="$own" -v w0="$w0" -v w1="$w1" \
    'BEGIN {f = (b1 - b0) / hz - own; if (f < 0) f = 0; printf "%.2f", f / (w1 - w0)}')
quiet=$(awk -v a="$load0" -v b="$foreign" 'BEGIN {print (a <= 0.5 && b <= 0.5) ? 1 : 0}')
printf '%-9s %-6s %10s %12s %10s  %s\n' model engine best_img/s median_img/s median_MiB "every round, img/s"
verdicts=""
for m in $models; do
    for eng in e t; do
        cat "$tmp"/$eng.$m.[0-9]* | field train_img_s >"$tmp/$eng.$m.ips"
        cat "$tmp"/$eng.$m.[0-9]* | field maxrss_kb >"$tmp/$eng.$m.rss"
    done
    eb=$(best <"$tmp/e.$m.ips"); em=$(median <"$tmp/e.$m.ips")
    tb=$(best <"$tmp/t.$m.ips"); tm=$(median <"$tmp/t.$m.ips")
    er=$(median <"$tmp/e.$m.rss"); tr=$(median <"$tmp/t.$m.rss")
    printf '%-9s %-6s %10.0f %12.0f %10.0f  %s\n' "$m" essim "$eb" "$em" "$(div "$er" 1024)" \
        "$(tr '\n' ' ' <"$tmp/e.$m.ips")"
    printf '%-9s %-6s %10.0f %12.0f %10.0f  %s\n' "$m" torch "$tb" "$tm" "$(div "$tr" 1024)" \
        "$(tr '\n' ' ' <"$tmp/t.$m.ips")"
    rb=$(div "$eb" "$tb"); rm_=$(div "$em" "$tm"); rr=$(div "$er" "$tr")
    printf '%-9s ratio  best/best %.2f  median/median %.2f  memory %.2f  (worst essim round %.0f)\n' \
        "$m" "$rb" "$rm_" "$rr" "$(least <"$tmp/e.$m.ips")"
    case $m in
    lenet) goal=2.0 ;;
    resnet20) goal=1.5 ;;
    *) goal=1.0 ;;
    esac
    v=$(awk -v rb="$rb" -v rm="$rm_" -v rr="$rr" -v g="$goal" -v em="$em" -v m="$m" 'BEGIN {
        ok = rb >= g && rm >= g && rr <= 0.35 && (m != "lenet" || em >= 35000)
        printf "%s: %s (speed >= %.1fx best and median%s, memory <= 0.35x)", m, ok ? "met" : "NOT met", g,
            m == "lenet" ? ", >= 35k img/s" : "" }')
    verdicts="$verdicts$v"$'\n'
done
echo "load: 1-minute average $load0 before the start; other processes used $foreign CPUs during the run ($rounds alternating rounds, 2 threads)"
if [ "$quiet" = 1 ]; then
    printf '%s' "$verdicts"
else
    echo "no verdict: the machine was not quiet (either figure above 0.5); rerun when it is"
fi
