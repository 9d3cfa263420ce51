#!/bin/bash
# bench_trace.sh - trace size against the entropy of the masks, and the writer's cost, on
# synthetic i.i.d. traces over real layer tables (the rows of "Size and speed" in
# docs/trace-format.md). For each row: the trace at density rho and the same trace at rho = 0
# (whose compressed size is the scalars and tags alone), so "masks only" = (c(rho) - c(0)) /
# entropy. The writer time is the median of RUNS runs of the writer calls alone.
#
#   bash bench/bench_trace.sh            (RUNS=3 ITER=2000 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
E=${ESSIM:-./essim}
RUNS=${RUNS:-3}
ITER=${ITER:-2000}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
W="--set arch.xbar.slicing=within --set arch.xbar.encoding=differential"

synth() { # synth NET GEOMETRY RHO -> "compressed entropy writer_us" (median writer time)
    local net=$1 geo=$2 rho=$3 us=() c=0 e=0
    for ((k = 0; k < RUNS; k++)); do
        out=$($E trace synth "$T/s.trc" --network "$net" --dataset cifar10 $geo --iterations "$ITER" --density "$rho")
        c=$(sed -n 's/.*compressed \([0-9]*\) .*/\1/p' <<<"$out" | head -1)
        e=$(sed -n 's/^entropy: .* = \([0-9]*\) bytes.*/\1/p' <<<"$out")
        us+=("$(sed -n 's/^writer: \([0-9.]*\) us.*/\1/p' <<<"$out")")
    done
    med=$(printf '%s\n' "${us[@]}" | sort -g | sed -n "$(((RUNS + 1) / 2))p")
    echo "$c ${e:-0} $med"
}

printf '| network, geometry | blocks G | rho | compressed bytes/iteration | compressed / entropy | masks only / entropy | writer us/iteration |\n'
printf '|---|---|---|---|---|---|---|\n'
for row in "resnet20|within + differential|$W" "resnet20|default (ISAAC)|" "lenet5|within + differential|$W" "lenet5|default (ISAAC)|"; do
    IFS='|' read -r net name geo <<<"$row"
    read -r c0 _ us0 <<<"$(synth "$net" "$geo" 0)"
    blocks=$($E trace info "$T/s.trc" | sed -n 's/^layers .* mapped, \([0-9]*\) blocks.*/\1/p')
    for rho in 0.1 1.0; do
        read -r c e us <<<"$(synth "$net" "$geo" "$rho")"
        if [ "$rho" = 1.0 ]; then
            awk -v n="$net, $name" -v g="$blocks" -v r="$rho" -v c="$c" -v t="$ITER" -v us="$us" \
                'BEGIN { printf "| %s | %s | %s | %.1f | - | - | %s |\n", n, g, r, c / t, us }'
        else
            awk -v n="$net, $name" -v g="$blocks" -v r="$rho" -v c="$c" -v c0="$c0" -v e="$e" -v t="$ITER" -v us="$us" \
                'BEGIN { printf "| %s | %s | %s | %.1f | %.3f | %.3f | %s |\n", n, g, r, c / t, c / e, (c - c0) / e, us }'
        fi
    done
done
