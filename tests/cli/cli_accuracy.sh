#!/bin/sh
# cli_accuracy.sh - the accuracy models and device options of issue 13 end to end on the
# synthetic dataset: ideal is the default and changes nothing; every model and device option
# is deterministic; error feedback and incremental pulses resume byte-identically; the
# statistics name the model; bit-exact refuses cell noise; the accuracy sweep validates.
. "${ES_SRCDIR:-.}/tests/tap.sh"

small="--dataset synthetic --set train.synthetic_train=256 --set train.synthetic_test=64 --batch 32 --epochs 2 -q"
same_stats() { # same_stats DIR1 DIR2: stats.json equal apart from host-time fields and the config
    strip='host_seconds\|trace_write_seconds\|events_per_s\|images_per_s\|command_line\|config_hash'
    grep -v "$strip" "$1/stats.json" >"$TMP/s1" && grep -v "$strip" "$2/stats.json" >"$TMP/s2" &&
        cmp "$TMP/s1" "$TMP/s2"
}

run_essim train $small -o "$TMP/def"; expect_rc "default run" 0
run_essim train $small --set accuracy.model=ideal -o "$TMP/ideal"; expect_rc "explicit ideal" 0
ok "ideal is the default: identical weights" cmp "$TMP/def/weights.npz" "$TMP/ideal/weights.npz"
ok "ideal adds no statistic" sh -c "! grep -q accuracy_model '$TMP/def/stats.json'"

for m in quantized bit-exact; do
    run_essim train $small --set accuracy.model=$m --set arch.adc.bits=7 -o "$TMP/$m-a"
    expect_rc "$m runs" 0
    run_essim train $small --set accuracy.model=$m --set arch.adc.bits=7 -o "$TMP/$m-b"
    ok "$m: same seed, identical weights" cmp "$TMP/$m-a/weights.npz" "$TMP/$m-b/weights.npz"
    ok "$m: same seed, identical stats" same_stats "$TMP/$m-a" "$TMP/$m-b"
    expect_grep "$m named in stats.json" "$TMP/$m-a/stats.json" "\"accuracy_model\": \"$m\""
    ok "$m differs from ideal" sh -c "! cmp -s '$TMP/def/weights.npz' '$TMP/$m-a/weights.npz'"
done

noise="--set accuracy.model=quantized --set arch.cell.program_sigma=0.1 --set arch.cell.read_sigma=0.02"
run_essim train $small $noise -o "$TMP/n1"; expect_rc "cell noise runs" 0
run_essim train $small $noise -o "$TMP/n2"
ok "cell noise: same seed, identical weights" cmp "$TMP/n1/weights.npz" "$TMP/n2/weights.npz"
run_essim train $small --set accuracy.model=bit-exact --set arch.cell.read_sigma=0.02 -o "$TMP/x"
expect_rc "bit-exact with cell noise is a configuration error" 2
expect_grep "says why" "$TMP/err" "need accuracy.model quantized"

# resume at an arbitrary iteration ends byte-identical (residual buffer, pulse devices)
for opt in "--policy essence --set policy.residual=true" "--set arch.cell.update=pulse --set arch.cell.pulse.corrupt=0.1"; do
    run_essim train $small $opt -o "$TMP/full"; expect_rc "full run ($opt)" 0
    run_essim train $small $opt -o "$TMP/part" --stop-after 11; expect_rc "stopped ($opt)" 0
    run_essim train $small $opt -o "$TMP/part" --resume; expect_rc "resumed ($opt)" 0
    ok "resumed = uninterrupted weights ($opt)" cmp "$TMP/full/weights.npz" "$TMP/part/weights.npz"
    ok "resumed = uninterrupted stats ($opt)" same_stats "$TMP/full" "$TMP/part"
    rm -rf "$TMP/full" "$TMP/part"
done
run_essim train $small --set arch.cell.update=pulse -o "$TMP/p"
expect_grep "pulses counted" "$TMP/p/stats.json" '"write_pulses"'
# NeuroSim's exponential device, from its preset: it trains, counts pulses, repeats itself
run_essim train "$ES_SRCDIR/configs/device-neurosim-v21.yaml" $small -o "$TMP/ns1"
expect_rc "training with the NeuroSim V2.1 device preset" 0
expect_grep "NeuroSim device: pulses counted" "$TMP/ns1/stats.json" '"write_pulses"'
run_essim train "$ES_SRCDIR/configs/device-neurosim-v21.yaml" $small -o "$TMP/ns2"
ok "NeuroSim device: same seed, identical weights" cmp "$TMP/ns1/weights.npz" "$TMP/ns2/weights.npz"

run_essim sweep "$ES_SRCDIR/configs/sweeps/accuracy-adc.yaml" -n; expect_rc "accuracy sweep validates" 0
expect_grep "12 points" "$TMP/out" "0011"
run_essim sweep "$ES_SRCDIR/configs/sweeps/accuracy-device.yaml" -n; expect_rc "device sweep validates" 0
expect_grep "device sweep: 8 points, NeuroSim's last" "$TMP/out" "0007  arch.cell.update=pulse, arch.cell.pulse.model=neurosim"
tap_done
