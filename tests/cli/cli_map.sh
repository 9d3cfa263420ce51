#!/bin/sh
# cli_map.sh - `essim map`: the placement table and totals for LeNet-5 and ResNet-20 on the
# default (ISAAC) configuration, --set and the shorthands, the op stream, valid JSON, and
# exit codes (2 for usage errors, bad values and a network that does not fit).
. "${ES_SRCDIR:-.}/tests/tap.sh"

run_essim map --help; expect_rc "map --help" 0
expect_grep "help names --json" "$TMP/out" "--json"
run_essim help map; expect_rc "help map" 0

# LeNet-5, ISAAC, one copy per layer: 72 crossbars in 9 IMAs on one tile, 779 row blocks
# (see test_map.c).
run_essim map --set arch.map.replication=none; expect_rc "map lenet5 (one copy each)" 0
expect_grep "header" "$TMP/out" "network lenet5 on fashion-mnist (input 1x28x28, 10 classes), architecture isaac"
expect_grep "geometry line" "$TMP/out" "16-bit weights in 8 slices across crossbars, offset encoding (1 cell per slice): 128 weights per crossbar row"
expect_grep "fc1 row" "$TMP/out" "fc1      400    120         4         1      8     32  73.24%      400         960      1       1   0.1%     4 0-0"
expect_grep "lenet5 totals" "$TMP/out" "total: 72 crossbars in 9 IMAs on 1 tile"
expect_grep "lenet5 blocks" "$TMP/out" "779 row blocks, 61470 weights"
# Balanced (the default): conv1's 784 output positions get 784 copies, conv2's 100 get 100
# (test_map.c derives them); the table says so, and each layer takes one vector time.
run_essim map; expect_rc "map lenet5 (balanced)" 0
expect_grep "conv1 copies" "$TMP/out" "conv1     25      6         1         1      8      8   0.92%       25          48    784     784  20.0%   784 0-65"
expect_grep "balanced totals" "$TMP/out" "total: 7920 crossbars in 990 IMAs on 83 tiles"
expect_grep "replication named" "$TMP/out" "arch.map.replication = balance"

# ResNet-20 option A, 1x28x28: 472 crossbars, 59 IMAs, 5 tiles, 5689 row blocks.
run_essim map --network resnet20 --set arch.map.replication=none; expect_rc "map resnet20" 0
expect_grep "resnet20 stage-3 row" "$TMP/out" "layers.8.conv2    576     64         5         1      8     40  45.00%      576         512      1      49   0.7%     5"
expect_grep "resnet20 totals" "$TMP/out" "total: 472 crossbars in 59 IMAs on 5 tiles"
run_essim map --network resnet20 --set arch.xbar.slicing=within --set arch.xbar.encoding=differential --set arch.map.replication=none
expect_rc "resnet20 within differential" 0
expect_grep "within differential totals" "$TMP/out" "total: 320 crossbars in 47 IMAs on 4 tiles"
run_essim map --dataset cifar10 --granularity crossbar; expect_rc "cifar10 shape, crossbar blocks" 0
expect_grep "cifar10 input" "$TMP/out" "input 3x32x32, 10 classes"
expect_grep "crossbar blocks" "$TMP/out" "crossbar blocks"
run_essim map --ops --batch 2; expect_rc "map --ops" 0
expect_grep "op stream header" "$TMP/out" "layer-op stream of one training iteration, batch 2 (31 records):"
expect_grep "gradient total" "$TMP/out" "gradient total: macs=833040"

# JSON
run_essim map --network resnet20 --json --ops --set arch.map.replication=none
expect_rc "map --json --ops" 0
expect_grep "json totals" "$TMP/out" '"xbars": 472'
PY=${PYTHON:-/usr/bin/python3}
if [ -x "$PY" ]; then
    ok "--json parses" "$PY" -c 'import json,sys; json.load(sys.stdin)' <"$TMP/out"
    ok "--json totals and ops" "$PY" -c '
import json, sys
d = json.load(sys.stdin)
t = d["totals"]
assert (t["xbars"], t["imas"], t["tiles"], t["blocks"]) == (472, 59, 5, 5689), t
assert len(d["layers"]) == 20 and d["layers"][0]["name"] == "conv"
assert d["geometry"]["slices"] == 8 and d["geometry"]["granularity"] == "row"
ph = [r["phase"] for r in d["ops"]["records"]]
assert ph.count("update") == 20 and ph.count("gradient") == 20
' <"$TMP/out"
else
    skip "--json parses" "no python3"
fi

# Errors: the network does not fit; bad options; bad values.
run_essim map --network resnet20 --set arch.chip.tiles=4; expect_rc "does not fit exits 2" 2
expect_grep "says what to raise" "$TMP/err" "raise arch.chip.tiles to at least 5"
run_essim map --network resnet20 --set arch.chip.tiles=4 --allow-overflow; expect_rc "--allow-overflow" 0
expect_grep "overflow noted" "$TMP/out" "does not fit: needs 5 tiles"
run_essim map --set arch.xbar.slicing=within --set arch.xbar.cols=4; expect_rc "row too narrow exits 2" 2
expect_grep "names the key" "$TMP/err" "raise arch.xbar.cols to at least 8"
run_essim map --bogus; expect_rc "unknown option" 2
run_essim map --network; expect_rc "missing argument" 2
run_essim map a.yaml b.yaml; expect_rc "two files" 2
run_essim map --granularity diagonal; expect_rc "bad granularity" 2
run_essim map --network nosuchnet; expect_rc "unknown network" 2
run_essim map /nonexistent.yaml; expect_rc "missing config file" 1
tap_done
