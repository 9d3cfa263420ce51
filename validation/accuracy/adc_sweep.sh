#!/bin/bash
# adc_sweep.sh - LeNet-5 test accuracy on Fashion-MNIST against ADC resolution (issue 13):
# ideal (float32), quantized (16-bit weights and inputs, power-of-two fixed point) and
# bit-exact crossbars at the ISAAC point (128 rows, 2-bit cells, 16-bit weights, 16-bit
# inputs, offset encoding with flipped weights) with arch.adc.bits = 8 (exact for ISAAC),
# 7, 6, 5, 4, 3, either with a unit step that clips large column sums (accuracy.adc_shift 0)
# or with the step chosen to cover the largest column sum (accuracy.adc_shift -1: rounding,
# no clipping). A run whose loss diverges is recorded as "diverged".
# Short runs (EPOCHS epochs over TRAIN images, cosine schedule); one line per point and a CSV
# in validation/out/accuracy-adc/results.csv. Resumable: finished points are skipped.
# Usage: EPOCHS=2 TRAIN=20000 THREADS=2 bash validation/accuracy/adc_sweep.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${EPOCHS:-2}
train=${TRAIN:-20000}
threads=${THREADS:-2}
seed=${SEED:-1}
out=validation/out/accuracy-adc
mkdir -p "$out"
csv=$out/results.csv
[ -f "$csv" ] || echo "point,model,adc_bits,adc_shift,epochs,train_images,seed,test_accuracy_final,images_per_s" > "$csv"
run() { # name model adc_bits adc_shift
    local name=$1 model=$2 bits=$3 shift=$4 o=$out/$1-s$seed
    if [ -f "$o/diverged" ]; then echo "RESULT $name: diverged"; return; fi
    if [ ! -f "$o/stats.json" ]; then
        mkdir -p "$o"
        if ! ${ESSIM:-./essim} train --network lenet5 --dataset fashion-mnist --epochs "$epochs" --batch 64 \
            --lr 0.05 --momentum 0.9 --schedule cosine --seed "$seed" --threads "$threads" \
            --set train.train_limit="$train" --set accuracy.model="$model" \
            --set arch.adc.bits="$bits" --set accuracy.adc_shift="$shift" -o "$o" -q \
            2>"$o/stderr.txt"; then
            if grep -q diverged "$o/stderr.txt"; then
                touch "$o/diverged"
                echo "$name,$model,$bits,$shift,$epochs,$train,$seed,diverged," >> "$csv"
                echo "RESULT $name: diverged ($(cat "$o/stderr.txt"))"
                return
            fi
            cat "$o/stderr.txt" >&2
            exit 1
        fi
        acc=$(sed -n 's/.*"test_accuracy_final": \([0-9.]*\).*/\1/p' "$o/stats.json")
        ips=$(sed -n 's/.*"images_per_s": \([0-9.]*\).*/\1/p' "$o/stats.json")
        echo "$name,$model,$bits,$shift,$epochs,$train,$seed,$acc,$ips" >> "$csv"
    fi
    echo "RESULT $name: $(sed -n 's/.*"test_accuracy_final": \([0-9.]*\).*/\1/p' "$o/stats.json")"
}
run ideal ideal 8 -1
run quantized quantized 8 -1
run bit-exact-adc8 bit-exact 8 -1   # exact at this geometry: the step is 1 either way
for b in 7 6 5 4 3; do run bit-exact-adc$b-clip bit-exact $b 0; done
for b in 7 6 5 4 3; do run bit-exact-adc$b bit-exact $b -1; done
