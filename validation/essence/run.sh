#!/bin/bash
# run.sh - the ESSENCE reproduction: every write policy on the same network, data, recipe and
# seeds, over densities rho, on Fashion-MNIST; then summarize.py turns the runs into the table
# (accuracy, mean / max / p99 update counts, savings against SGD) and the plots.
#
#   bash validation/essence/run.sh [NETWORK...]      (default: lenet5 resnet20)
#   SEEDS="1 2 3" RHOS="0.05 0.1 0.2" JOBS=2 EPOCHS=10 bash validation/essence/run.sh lenet5
#   SEEDS="1 2 3" EPOCHS=3 MILESTONES=2 bash validation/essence/run.sh resnet20   (the table in README.md)
#
# Runs are independent folders under validation/essence/out/NETWORK/; a finished run (one
# with stats.json) is skipped, and an unfinished one resumes from its checkpoint (every
# CKPT_EVERY iterations, default 200), so an interrupted reproduction continues where it
# stopped, even inside a run.
# OUTROOT=DIR puts the runs elsewhere; ESSIM=PATH runs another binary (a copy, so that
# rebuilding the tree does not change a long reproduction half-way); EXTRA="--set ..." adds options to every run (smoke tests).
set -euo pipefail
cd "$(dirname "$0")/../.."
nets=${*:-lenet5 resnet20}
seeds=${SEEDS:-1 2 3}
rhos=${RHOS:-0.05 0.1 0.2}
jobs=${JOBS:-2}
policies=${POLICIES:-ssgp essence essence-aggressive}

recipe() { # the training recipe of a network (identical for every policy)
    case $1 in
    lenet5) echo "--network lenet5 --epochs ${EPOCHS:-10} --batch 64 --lr 0.05 --momentum 0.9 --schedule step --milestones 5,8" ;;
    resnet20) echo "--network resnet20 --epochs ${EPOCHS:-20} --batch 128 --lr 0.1 --momentum 0.9 --weight-decay 1e-4 --schedule step --milestones ${MILESTONES:-10,15}" ;;
    *) echo "unknown network $1" >&2; exit 2 ;;
    esac
}

list=$(mktemp)
trap 'rm -f "$list"' EXIT
for net in $nets; do
    base=${OUTROOT:-validation/essence/out}/$net
    for s in $seeds; do
        echo "$base/sgd-s$s $(recipe "$net") --seed $s --policy sgd" >>"$list"
        for p in $policies; do
            for r in $rhos; do
                echo "$base/$p-rho$r-s$s $(recipe "$net") --seed $s --policy $p --density $r" >>"$list"
            done
        done
    done
done

run_one() {
    out=$1
    shift
    if [ -f "$out/stats.json" ]; then
        # Finished: skip it - but only if it ran this recipe (the folder names do not say the
        # epochs, so a pilot's runs must not pass for a longer recipe's).
        if ! grep -qF -- "train $* " "$out/stats.json"; then
            echo "MISMATCH $out holds a run of another recipe; move it away or set OUTROOT"
            return 1
        fi
        return 0
    fi
    mkdir -p "$out"
    # a run checkpoints every CKPT_EVERY iterations; one that was interrupted continues from
    # its checkpoint (byte-identical to an uninterrupted run)
    resume=
    [ -f "$out/checkpoint.ckpt" ] && resume=--resume
    if "${ESSIM:-./essim}" train "$@" --dataset fashion-mnist --threads 1 -q ${EXTRA:-} \
        --set train.checkpoint_every="${CKPT_EVERY:-200}" $resume \
        -o "$out" >"$out/summary.txt" 2>"$out/stderr.txt"; then
        echo "done $out: $(sed -n 2p "$out/summary.txt")"
    else
        echo "FAILED $out (see $out/stderr.txt)"
    fi
}
export -f run_one
total=$(wc -l <"$list")
echo "$total runs, $jobs at a time"
xargs -P "$jobs" -L 1 bash -c 'run_one "$@"' _ <"$list"
OUTROOT=${OUTROOT:-} /usr/bin/python3 validation/essence/summarize.py $nets
