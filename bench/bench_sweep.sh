#!/bin/sh
# bench_sweep.sh - what the sweep machinery costs and how it scales (docs/sweeps.md,
# "Scaling to many nodes"): per-point overhead with trivial points, points per second per
# rank, coordinator messages per point, validation cost per point, and the parallel
# efficiency of 2 workers locally (-j 2) and over MPI (mpirun -np 3: a coordinator and 2
# workers) on points of about a second.
#   sh bench/bench_sweep.sh [TRIVIAL_POINTS [HEAVY_POINTS]]      (defaults 200 and 8)
# Uses $ESSIM (default ./essim) and a scratch folder under $TMPDIR.
set -eu
ESSIM=${ESSIM:-./essim}
ESSIM=$(cd "$(dirname "$ESSIM")" && pwd)/$(basename "$ESSIM") # mpirun wants a full path
NTRIV=${1:-200}
NHEAVY=${2:-8}
W=$(mktemp -d "${TMPDIR:-/tmp}/essim-bench-sweep-XXXXXX")
trap 'rm -rf "$W"' EXIT
# --bind-to none: ranks fork point processes, which inherit the rank's binding; with the
# coordinator taking a slot, Open MPI's default binding can put both workers' points on one core.
MPIRUN="mpirun --allow-run-as-root --oversubscribe --bind-to none"
REPS=${REPS:-3} # timed heavy runs are repeated; the median is reported

field() { # field FILE KEY: a number from sweep.json
    sed -n "s/^  \"$2\": \\([-0-9.e]*\\).*/\\1/p" "$1"
}
now() { date +%s.%N; }

# Trivial points: a 2-layer MLP on 32 synthetic images, one iteration.
cat >"$W/triv.yaml" <<EOF
version: 1
command: train
base:
  train: {network: mlp, dataset: synthetic, synthetic_train: 32, synthetic_test: 32, batch: 32,
          epochs: 1}
axes:
  - key: train.lr
    range: {from: 0.001, to: 0.1, count: $NTRIV}
EOF
# Heavy points: LeNet-5 on 4096 synthetic images, about a second each.
cat >"$W/heavy.yaml" <<EOF
version: 1
command: train
base:
  train: {network: lenet5, dataset: synthetic, synthetic_train: 4096, synthetic_test: 256,
          batch: 32, epochs: 1, lr: 0.01}
axes:
  - key: policy.density
    range: {from: 0.05, to: 0.4, count: $NHEAVY}
EOF

calc() { awk "BEGIN { printf \"%.${2:-6}f\", $1 }"; } # calc EXPR [DECIMALS]
echo "# essim sweep benchmark ($(nproc) cores, $(uname -m)), $NTRIV trivial and $NHEAVY heavy points"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# What the machine offers right now: two busy loops at once versus one (1.0 on an idle
# 2-core machine; lower when other work shares the cores). The sweep's efficiency is bounded
# by this.
loop='i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'
t0=$(now); sh -c "$loop"; t1=$(now)
sh -c "$loop" & sh -c "$loop"; wait; t2=$(now)
echo "machine_efficiency_2_busy_loops $(calc "($t1 - $t0) / ($t2 - $t1)" 3)"

t0=$(now)
"$ESSIM" sweep "$W/triv.yaml" --dry-run >/dev/null
t1=$(now)
echo "validation_ms_per_point $(calc "($t1 - $t0) * 1000 / $NTRIV" 3)"

"$ESSIM" sweep "$W/triv.yaml" -j 1 -q -o "$W/t1" >/dev/null
echo "trivial_j1_command_ms_per_point $(calc "$(field "$W/t1/sweep.json" command_seconds) * 1000 / $NTRIV" 3)"
echo "trivial_j1_overhead_ms_per_point $(field "$W/t1/sweep.json" overhead_ms_per_point)"
echo "trivial_j1_points_per_s $(field "$W/t1/sweep.json" points_per_second)"
t0=$(now)
"$ESSIM" sweep "$W/triv.yaml" -j 1 -q -o "$W/t1" >/dev/null
t1=$(now)
echo "rerun_all_skipped_ms_per_point $(calc "($t1 - $t0) * 1000 / $NTRIV" 3)"
"$ESSIM" sweep "$W/triv.yaml" -j 2 -q -o "$W/t2" >/dev/null
echo "trivial_j2_points_per_s $(field "$W/t2/sweep.json" points_per_second)"
cmp -s "$W/t1/results.csv" "$W/t2/results.csv" && echo "trivial_j1_j2_results identical"

median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
t1s=; t2s=
for r in $(seq "$REPS"); do
    rm -rf "$W/h1" "$W/h2"
    "$ESSIM" sweep "$W/heavy.yaml" -j 1 -q -o "$W/h1" >/dev/null
    "$ESSIM" sweep "$W/heavy.yaml" -j 2 -q -o "$W/h2" >/dev/null
    t1s="$t1s $(field "$W/h1/sweep.json" host_seconds)"
    t2s="$t2s $(field "$W/h2/sweep.json" host_seconds)"
done
T1=$(median $t1s)
T2=$(median $t2s)
echo "heavy_seconds_per_point $(calc "$T1 / $NHEAVY" 3)"
echo "heavy_j1_seconds $T1"
echo "heavy_j2_seconds $T2"
echo "efficiency_local_2_workers $(calc "$T1 / (2 * $T2)" 3)"
cmp -s "$W/h1/results.csv" "$W/h2/results.csv" && echo "heavy_j1_j2_results identical"
# The peer: the same heavy points as plain `essim train` processes, one at a time and two at a
# time, no sweep machinery. Its efficiency is what this machine gives two such processes; the
# sweep's efficiency divided by it is what the machinery itself keeps.
p1s=; p2s=
for r in $(seq "$REPS"); do
    t0=$(now)
    for c in "$W"/h1/points/*/config.yaml; do "$ESSIM" train "$c" -q -o "$W/peer1" >/dev/null; done
    t1=$(now)
    set -- "$W"/h1/points/*/config.yaml
    while [ $# -gt 0 ]; do
        "$ESSIM" train "$1" -q -o "$W/peer2a" >/dev/null &
        if [ $# -gt 1 ]; then "$ESSIM" train "$2" -q -o "$W/peer2b" >/dev/null; shift; fi
        wait; shift
    done
    t2=$(now)
    p1s="$p1s $(calc "$t1 - $t0" 6)"
    p2s="$p2s $(calc "$t2 - $t1" 6)"
done
P1=$(median $p1s); P2=$(median $p2s)
PE=$(calc "$P1 / (2 * $P2)" 3)
echo "peer_plain_processes_1_at_a_time_seconds $(calc "$P1" 3)"
echo "peer_plain_processes_2_at_a_time_seconds $(calc "$P2" 3)"
echo "peer_efficiency_2_plain_processes $PE"
echo "efficiency_local_2_workers_vs_peer $(calc "$T1 / (2 * $T2) / $PE" 3)"

if command -v mpirun >/dev/null 2>&1; then
    $MPIRUN -np 3 "$ESSIM" sweep "$W/triv.yaml" -q -o "$W/tm" >/dev/null
    msgs=$(field "$W/tm/sweep.json" coordinator_messages)
    pps=$(field "$W/tm/sweep.json" points_per_second)
    echo "mpi_trivial_points_per_s $pps"
    echo "mpi_trivial_points_per_s_per_worker_rank $(calc "$pps / 2" 2)"
    echo "mpi_coordinator_messages_per_point $(calc "$msgs / $NTRIV" 3)"
    echo "mpi_trivial_overhead_ms_per_point $(field "$W/tm/sweep.json" overhead_ms_per_point)"
    echo "mpi_coordinator_us_per_request $(field "$W/tm/sweep.json" coordinator_us_per_request)"
    cmp -s "$W/t1/results.csv" "$W/tm/results.csv" && echo "mpi_trivial_results identical"
    tms=; tws=
    for r in $(seq "$REPS"); do
        rm -rf "$W/hm"
        t0=$(now)
        $MPIRUN -np 3 "$ESSIM" sweep "$W/heavy.yaml" -q -o "$W/hm" >/dev/null
        t1=$(now)
        tms="$tms $(field "$W/hm/sweep.json" host_seconds)"
        tws="$tws $(calc "$t1 - $t0" 6)"
    done
    TM=$(median $tms)
    TW=$(median $tws)
    echo "heavy_mpi_seconds $TM"
    echo "heavy_mpi_wall_seconds_with_startup $(printf '%.3f' "$TW")"
    echo "efficiency_mpi_2_workers $(calc "$T1 / (2 * $TM)" 3)"
    echo "efficiency_mpi_2_workers_with_startup $(calc "$T1 / (2 * $TW)" 3)"
    echo "efficiency_mpi_2_workers_vs_peer $(calc "$T1 / (2 * $TM) / $PE" 3)"
    cmp -s "$W/h1/results.csv" "$W/hm/results.csv" && echo "heavy_mpi_results identical"
else
    echo "# mpirun not installed: MPI figures skipped"
fi
