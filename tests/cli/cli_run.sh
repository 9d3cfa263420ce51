#!/bin/sh
# cli_run.sh - `essim run` and `essim simulate`: the main job's summary and stats keys (on a
# slice of Fashion-MNIST when it is installed), live execution against replay of its trace
# (identical hardware statistics), refusal of a trace whose crossbar geometry differs (naming
# the key), a timeline that parses as JSON, heat maps, wear that fails cells and shows in
# repeated runs, determinism, and the error paths.
. "${ES_SRCDIR:-.}/tests/tap.sh"
PY=/usr/bin/python3

run_essim run --help; expect_rc "run --help" 0
expect_grep "help names --repeat" "$TMP/out" "--repeat N"
run_essim simulate --help; expect_rc "simulate --help" 0
run_essim simulate; expect_rc "simulate without --trace" 2
expect_grep "simulate says --trace is required" "$TMP/err" "--trace FILE is required"
run_essim run --repeat 0; expect_rc "run --repeat 0" 2
run_essim run --bogus; expect_rc "run: unknown option" 2
run_essim simulate --trace "$TMP/nonexistent.trc"; expect_rc "simulate a missing trace" 1
run_essim run --set arch.training=false --dataset synthetic; expect_rc "run on a chip without training units" 2
expect_grep "says arch.training" "$TMP/err" "arch.training"
run_essim run --set arch.xbar.cols=0; expect_rc "run with an impossible crossbar" 2

# A small run on the synthetic dataset, with its trace and a timeline.
# 240 images in batches of 32: each epoch ends with a partial batch of 16 (8 iterations still)
SYN="--dataset synthetic --set train.synthetic_train=240 --set train.synthetic_test=64 --batch 32 --epochs 2 --policy essence -q"
run_essim run $SYN -o "$TMP/r" --trace "$TMP/r.trc" --timeline "$TMP/tl.json"
expect_rc "run synthetic with trace and timeline" 0
for line in "  accuracy    " "  writes      mean " "  time        " "  energy      " "  lifetime    first cell fails after" "  host        "; do
    expect_grep "summary line '$line'" "$TMP/out" "$line"
done
for key in hw.time_s hw.energy_j hw.area_mm2 hw.power_w_avg hw.peak_tops \
    hw.energy_j_by_component.adc hw.energy_j_by_component.write hw.energy_j_by_component.leakage_tile \
    hw.energy_j_by_component.leakage_ima hw.energy_j_by_component.leakage_gu hw.energy_j_by_component.leakage_noc hw.energy_j_idle hw.leakage_fraction \
    hw.energy_j_by_phase.forward hw.energy_j_by_phase.backward hw.energy_j_by_phase.gradient \
    hw.energy_j_by_phase.update hw.time_s_by_phase.forward hw.time_s_by_phase.update \
    hw.stall_s_by_cause.edram hw.stall_s_by_cause.wdrv_tile lifetime.endurance_mean \
    lifetime.runs_to_first_failure lifetime.runs_to_1pct_failed lifetime.runs_to_10pct_failed \
    writes.mean writes.max train.test_accuracy_final; do
    expect_grep "stats.csv has $key" "$TMP/r/stats.csv" "$key,"
done
ok "stats.json parses, meta has events" $PY -c "
import json,sys
d=json.load(open('$TMP/r/stats.json'))
assert d['meta']['events'] > 0 and d['meta']['events_per_s'] > 0
assert 'sim_seconds_per_host_second' in d['meta']
h=d['hw']
assert abs(sum(h['energy_j_by_phase'].values()) - h['energy_j']) < 1e-9 * h['energy_j']
assert abs(sum(h['time_s_by_phase'].values()) - h['time_s']) < 1e-9 * h['time_s']
assert abs(sum(h['energy_j_by_component'].values()) - h['energy_j']) < 1e-9 * h['energy_j']
"
ok "timeline is Chrome trace-event JSON with compute and write events" $PY -c "
import json
d=json.load(open('$TMP/tl.json'))
ev=d['traceEvents']
cats={e.get('cat') for e in ev}
assert {'forward','backward','gradient','write'} <= cats, cats
assert all(e['dur'] >= 0 for e in ev if e['ph']=='X')
"
ok "no timeline temporary left" test ! -e "$TMP/tl.json.tmp"
ok "the effective configuration is written and is a valid input" "$ESSIM" config check "$TMP/r/config.yaml"
ok "heat map of conv1" test -s "$TMP/r/heatmap-conv1.csv"
ok "heat map has one line per weight row (25 for conv1)" sh -c "test \$(grep -vc '^#' '$TMP/r/heatmap-conv1.csv') -eq 25"

# The same run again: byte-identical statistics apart from host timings.
run_essim run $SYN -o "$TMP/r2"
ok "deterministic stats.txt (host lines removed)" sh -c \
    "grep -v 'host\|per_s\|images_per' '$TMP/r/stats.txt' > '$TMP/a'; grep -v 'host\|per_s\|images_per' '$TMP/r2/stats.txt' > '$TMP/b'; cmp '$TMP/a' '$TMP/b'"

# The recipe's shorthands are essim train's (one shared table): momentum, Nesterov, schedule,
# milestones and weight decay reach the effective configuration.
run_essim run $SYN --momentum 0.5 --nesterov --schedule step --milestones 1 --weight-decay 3e-4 -o "$TMP/rc"
expect_rc "run takes train's recipe shorthands" 0
ok "recipe shorthands in the effective configuration" sh -c "grep -q 'momentum: 0.5' '$TMP/rc/config.yaml' && grep -q 'nesterov: true' '$TMP/rc/config.yaml' && grep -q 'milestones: \[1\]' '$TMP/rc/config.yaml' && grep -q 'weight_decay: 0.0003' '$TMP/rc/config.yaml'"

# Replay of the trace on the same configuration: the same hardware results as live.
run_essim simulate --trace "$TMP/r.trc" -o "$TMP/s" -q; expect_rc "simulate the run's trace" 0
expect_grep "simulate summary" "$TMP/out" "  replay      "
ok "replay = live: hw.time_s, hw.energy_j, writes" $PY -c "
import json
a=json.load(open('$TMP/r/stats.json'))['hw']; b=json.load(open('$TMP/s/stats.json'))['hw']
for k in ('time_s','energy_j','row_writes','cells_written','write_busy_s','images'):
    assert a[k] == b[k], (k, a[k], b[k])
assert a['images'] == 480 and a['iterations'] == 16, (a['images'], a['iterations'])
for k in a['energy_j_by_phase']: assert a['energy_j_by_phase'][k] == b['energy_j_by_phase'][k], k
"
ok "replay heat map = live heat map" cmp "$TMP/r/heatmap-conv2.csv" "$TMP/s/heatmap-conv2.csv"

# Another chip with the same geometry replays; one with other crossbars is refused.
run_essim simulate --trace "$TMP/r.trc" -o "$TMP/s2" -q --set arch.adc.bits=6 --set arch.wdrv.per_tile=1
expect_rc "replay with other ADCs and drivers" 0
run_essim simulate --trace "$TMP/r.trc" -o "$TMP/s3" -q --set arch.xbar.rows=256
expect_rc "replay with 256-row crossbars is refused" 2
expect_grep "refusal names the key" "$TMP/err" "arch.xbar.rows is 256 here, 128 in the trace"
expect_grep "refusal names the layer field" "$TMP/err" "was recorded with row_tiles"
run_essim simulate --trace "$TMP/r.trc" -o "$TMP/s4" -q --set policy.granularity=crossbar
expect_rc "replay with another block granularity is refused" 2
expect_grep "refusal names policy.granularity" "$TMP/err" "policy.granularity is crossbar here, row in the trace"
run_essim simulate --trace "$TMP/r.trc" -o "$TMP/s5" -q -n 3; expect_rc "replay 3 iterations" 0
expect_grep "replays 3" "$TMP/out" "3 iterations) on"

# A truncated trace: an error naming the damage; --salvage replays the intact prefix.
head -c 3000 "$TMP/r.trc" > "$TMP/cut.trc"
run_essim simulate --trace "$TMP/cut.trc" -o "$TMP/s6" -q; expect_rc "truncated trace" 1

# Wear: endurance of 3 writes; every cell of a block written more often fails, which the
# network's weights then carry; repeated runs on the same chip keep the failures.
run_essim run $SYN -o "$TMP/w" --repeat 2 --set arch.cell.endurance_mean=3 --set arch.cell.endurance_sigma_log10=0 --policy sgd
expect_rc "run --repeat 2 on a chip that wears out" 0
expect_grep "repeat summary" "$TMP/out" "run         2 of 2 on the same chip"
expect_grep "repeat: accuracy of a dead chip stays (at chance)" "$TMP/out" "lifetime: accuracy stayed within 1 points of run 1's for all 2 runs"
ok "repeat.csv has two runs" sh -c "test \$(wc -l < '$TMP/w/repeat.csv') -eq 3"
ok "cells failed (SGD writes every block 16 times per run, endurance 3)" $PY -c "
import csv
r=list(csv.DictReader(open('$TMP/w/repeat.csv')))
assert int(r[0]['cells_failed']) > 0 and float(r[1]['failed_fraction']) == 1.0, r
"
ok "lifetime: first failure within the first run" $PY -c "
import json
l=json.load(open('$TMP/w/run-1/stats.json'))['lifetime']
assert l['runs_to_first_failure'] < 1 and l['cells_failed'] > 0, l
"

# Endurance 30 (sigma 0.2 decades) with ESSENCE: run 1 trains, cells fail, run 2 on the same
# chip loses accuracy. One copy per layer, so that the failures are those of the weights the
# network trains with (with copies the functional model takes the union of the copies'
# failures, arch/wear.h).
run_essim run $SYN -o "$TMP/w2" --repeat 2 --set arch.cell.endurance_mean=30 --set arch.cell.endurance_sigma_log10=0.2 --set arch.map.replication=none
expect_rc "run --repeat 2, cells failing during run 2" 0
expect_grep "repeat reports the accuracy drop" "$TMP/out" "lifetime: accuracy fell more than 1 points below run 1's in run 2 of 2"

# The main job (the preset run-default) on a slice of Fashion-MNIST, if installed.
if [ -d /usr/share/datasets/fashion-mnist ] || [ -n "$ESSIM_DATA_DIR" ]; then
    run_essim run -o "$TMP/main" --epochs 1 --set train.train_limit=1024 --set train.test_limit=256 -q
    expect_rc "main job (sliced)" 0
    expect_grep "main job: LeNet-5 with ESSENCE on isaac-train" "$TMP/out" "essim run: lenet5 on fashion-mnist, 1 epochs (16 iterations), policy essence, chip isaac-train"
    expect_grep "main job: savings" "$TMP/out" "fewer than SGD (mean / max)"
else
    skip "main job" "Fashion-MNIST not installed"
fi
# Checkpoint and resume: a run stopped after 11 of its 16 iterations (checkpoints every 4 and
# at the end of epoch 1) and resumed ends byte-identical to an uninterrupted one: statistics
# (host-time fields aside), heat maps, weights, iterations.csv and the trace's records. The endurance is
# so low that cells fail on the way, so the wear state must come back too.
CK="$SYN --set arch.cell.endurance_mean=3 --set arch.cell.endurance_sigma_log10=0.2 --checkpoint-every 4"
run_essim run $CK -o "$TMP/ck-full" --trace "$TMP/ck-full.trc"; expect_rc "checkpointed run" 0
run_essim run $CK -o "$TMP/ck" --trace "$TMP/ck.trc" --stop-after 11; expect_rc "stopped run" 0
expect_grep "stopped run says how to continue" "$TMP/out" "stopped after 11 iterations; continue with --resume"
run_essim run $CK -o "$TMP/ck" --trace "$TMP/ck.trc" --resume; expect_rc "resumed run" 0
strip='host_seconds\|trace_write_seconds\|events_per_s\|images_per_s\|command_line\|sim_seconds_per_host_second'
ok "resumed: identical stats.json" sh -c "grep -v '$strip' '$TMP/ck-full/stats.json' >'$TMP/ck-s1' && grep -v '$strip' '$TMP/ck/stats.json' >'$TMP/ck-s2' && cmp '$TMP/ck-s1' '$TMP/ck-s2'"
ok "resumed: cells failed on the way" grep -q '"cells_failed_this_run": [1-9]' "$TMP/ck/stats.json"
for f in weights.npz iterations.csv heatmap-conv1.csv heatmap-fc1.csv; do
    ok "resumed: identical $f" cmp "$TMP/ck-full/$f" "$TMP/ck/$f"
done
# the same records; the chunks end at other places (a chunk ends at each checkpoint, and the
# stopped run took one at iteration 11)
"$ESSIM" trace dump "$TMP/ck-full.trc" >"$TMP/ck-full.dump" 2>&1
"$ESSIM" trace dump "$TMP/ck.trc" >"$TMP/ck.dump" 2>&1
ok "resumed: the trace holds the same records" cmp "$TMP/ck-full.dump" "$TMP/ck.dump"
ok "resumed: the trace verifies" "$ESSIM" trace verify "$TMP/ck.trc"
run_essim run $SYN -o "$TMP/ck" --stop-after -1; expect_rc "--stop-after -1 (not 2^64 - 1)" 2
expect_grep "says what --stop-after needs" "$TMP/err" "--stop-after needs an integer of at least 1, not '-1'"
run_essim run $SYN -o "$TMP/ck" --resume --repeat 2; expect_rc "--resume with --repeat" 2
run_essim run $SYN -o "$TMP/ck" --resume --timeline "$TMP/x.json"; expect_rc "--resume with --timeline" 2
expect_grep "says why not with --timeline" "$TMP/err" "a resumed run does not execute again"
run_essim train $SYN -o "$TMP/ckt" --stop-after 3; expect_rc "a checkpoint of essim train" 0
run_essim run $SYN -o "$TMP/ckt" --resume; expect_rc "essim run cannot resume essim train's checkpoint" 1
expect_grep "names the missing chip state" "$TMP/err" "run/state"

tap_done
