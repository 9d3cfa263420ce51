#!/bin/sh
# cli_trace.sh - `essim trace`: synth, info, verify and dump on small synthetic traces; a
# truncated or corrupted copy fails verify naming the chunk and iterations, --salvage reads
# the intact prefix; help and exit codes.
. "${ES_SRCDIR:-.}/tests/tap.sh"

run_essim trace --help; expect_rc "trace --help" 0
expect_grep "help names verify" "$TMP/out" "essim trace verify FILE"
run_essim help trace; expect_rc "help trace" 0
run_essim trace synth --help; expect_rc "trace synth --help" 0
expect_grep "synth help names --density" "$TMP/out" "--density"
run_essim trace; expect_rc "trace without subcommand" 2
run_essim trace frobnicate x.trc; expect_rc "unknown subcommand" 2
run_essim trace verify; expect_rc "verify without a file" 2
run_essim trace verify --salvage x.trc; expect_rc "verify --salvage does not apply" 2
run_essim trace info --bogus x.trc; expect_rc "unknown option" 2
run_essim trace synth "$TMP/x.trc" --density 2; expect_rc "synth --density out of range" 2
run_essim trace synth "$TMP/x.trc" --blocks 10,0; expect_rc "synth --blocks with a zero" 2
run_essim trace verify "$TMP/nonexistent.trc"; expect_rc "missing file" 1
printf 'hello, world, this is not a trace\n' >"$TMP/text.trc"
run_essim trace info "$TMP/text.trc"; expect_rc "not a trace" 1
expect_grep "not a trace: message" "$TMP/err" "not an ESSIM trace (bad magic)"

# A LeNet-5 trace placed by the mapper, 300 iterations in chunks of 50.
T="$TMP/t.trc"
run_essim trace synth "$T" --network lenet5 --iterations 300 --density 0.1 --chunk-records 50 --seed 3
expect_rc "synth lenet5" 0
expect_grep "synth summary" "$TMP/out" "wrote $T: lenet5, 300 iterations, 5 layers"
expect_grep "synth reports the entropy ratio" "$TMP/out" "compressed/entropy = "
ok "no temporary left behind" test ! -e "$T.part"
run_essim trace synth "$TMP/t2.trc" --network lenet5 --iterations 300 --density 0.1 --chunk-records 50 --seed 3 -q
ok "same seed, byte-identical trace" cmp "$T" "$TMP/t2.trc"

run_essim trace info "$T"; expect_rc "info" 0
expect_grep "info: network" "$TMP/out" "network      lenet5"
expect_grep "info: iterations and chunks" "$TMP/out" "iterations   300 (0-299) in 6 chunks"
expect_grep "info: complete" "$TMP/out" "trace format 2.1, complete"
expect_grep "info: layer table" "$TMP/out" "  fc3 "
expect_grep "info: entropy ratio" "$TMP/out" "the i.i.d. mask entropy"
expect_grep "info: op template" "$TMP/out" "kinds: mvm"
run_essim trace info --config --ops "$T"; expect_rc "info --config --ops" 0
expect_grep "info --config prints the YAML" "$TMP/out" "--- configuration"
expect_grep "info --ops lists update records" "$TMP/out" " update   write"

run_essim trace verify "$T"; expect_rc "verify intact" 0
expect_grep "verify says ok" "$TMP/out" "$T: ok: 300 iterations in 6 chunks"

run_essim trace dump "$T" --iterations 10:11 --layer conv1; expect_rc "dump a range of one layer" 0
expect_grep "dump: iteration 10" "$TMP/out" "iteration 10  epoch 0  lr "
expect_grep "dump: iteration 11" "$TMP/out" "iteration 11  epoch 0"
ok "dump stops at B" sh -c "! grep -q 'iteration 12 ' '$TMP/out'"
ok "dump shows only conv1" sh -c "! grep -q '  fc1 ' '$TMP/out'"
expect_grep "dump: count of blocks" "$TMP/out" "  conv1 "
run_essim trace dump "$T" --iterations 299: --counts; expect_rc "dump the last iteration" 0
expect_grep "dump --counts" "$TMP/out" "  fc3 "
ok "dump --counts prints no indices" sh -c "! grep -q ':' '$TMP/out'"
run_essim trace dump "$T" --layer nosuch; expect_rc "dump an unknown layer" 2
expect_grep "unknown layer lists the layers" "$TMP/err" "no layer 'nosuch'"
run_essim trace dump "$T" --iterations 5:2; expect_rc "dump a reversed range" 2

# A run that stops after 130 iterations, as a crash would (written in place): chunks 0 and 1
# (iterations 0-99) are complete, the rest is lost.
C="$TMP/crash.trc"
run_essim trace synth "$C" --network lenet5 --iterations 300 --chunk-records 50 --direct --stop-after 130
expect_rc "synth --stop-after" 0
run_essim trace verify "$C"; expect_rc "verify a crashed trace" 1
expect_grep "crash: names the chunk and the intact prefix" "$TMP/err" \
    "truncated after chunk 1 (the footer is missing); the first 100 iterations (0-99) are intact (use --salvage to read them)"
run_essim trace info "$C"; expect_rc "info without --salvage" 1
run_essim trace info --salvage "$C"; expect_rc "info --salvage" 0
expect_grep "info --salvage counts the intact part" "$TMP/out" "iterations   100 (0-99) in 2 chunks"
run_essim trace dump --salvage --counts "$C"; expect_rc "dump --salvage" 0
expect_grep "dump --salvage reaches iteration 99" "$TMP/out" "iteration 99 "
ok "dump --salvage stops there" sh -c "! grep -q 'iteration 100 ' '$TMP/out'"
expect_grep "dump --salvage reports the damage" "$TMP/err" "salvaged: "

# A truncated copy of the complete trace: verify names the chunk it was cut in.
size=$(wc -c <"$T")
head -c $((size * 2 / 3)) "$T" >"$TMP/cut.trc"
run_essim trace verify "$TMP/cut.trc"; expect_rc "verify a truncated copy" 1
expect_grep "truncated copy: chunk named" "$TMP/err" "cut.trc: truncated in chunk "
expect_grep "truncated copy: salvage suggested" "$TMP/err" "(use --salvage to read them)"

# One flipped byte in the middle of the file (inside some chunk's compressed data).
cp "$T" "$TMP/flip.trc"
printf '\377' | dd of="$TMP/flip.trc" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
run_essim trace verify "$TMP/flip.trc"; expect_rc "verify a corrupted copy" 1
expect_grep "corrupted copy: a chunk named" "$TMP/err" "flip.trc: chunk "
expect_grep "corrupted copy: the intact prefix named" "$TMP/err" "iterations (0-"

# ResNet-20 with the slicing of the size benchmark (docs/trace-format.md): 33,590 row blocks.
run_essim trace synth "$TMP/r20.trc" --network resnet20 --dataset cifar10 --iterations 20 \
    --set arch.xbar.slicing=within --set arch.xbar.encoding=differential
expect_rc "synth resnet20" 0
expect_grep "resnet20 blocks" "$TMP/out" "20 layers, 33590 blocks"

# A trace written by the format 1.0 writer (tests/data) still reads, record for record as the
# 1.0 reader dumped it.
V1="$ES_SRCDIR/tests/data/trace-v1.0.trc"
run_essim trace verify "$V1"; expect_rc "format 1.0 trace verifies" 0
run_essim trace info "$V1"; expect_grep "info names format 1.0" "$TMP/out" "trace format 1.0, complete"
run_essim trace dump "$V1"; expect_rc "format 1.0 trace dumps" 0
ok "format 1.0 dump is the 1.0 reader's" cmp "$TMP/out" "$ES_SRCDIR/tests/data/trace-v1.0.dump"
run_essim simulate --trace "$V1" -o "$TMP/simv1" -q; expect_rc "format 1.0 trace replays" 0
expect_grep "replay read all 40 iterations" "$TMP/out" "(lenet5, 40 iterations)"

# The Python reader printed in docs/trace-format.md reads what essim writes (every tag: the
# 3-block layer is often all or nothing written, the others sparse or bitmap) and format 1.0.
if command -v python3 >/dev/null 2>&1; then
    DOC="$ES_SRCDIR/docs/trace-format.md"
    CHK="$ES_SRCDIR/tests/check_trace_reader.py"
    run_essim trace synth "$TMP/mix.trc" --blocks 3,40,1000 --iterations 120 --density 0.5 --chunk-records 32 -q
    "$ESSIM" trace dump "$TMP/mix.trc" >"$TMP/mix.dump"
    ok "documented reader: all encodings" python3 "$CHK" "$DOC" "$TMP/mix.trc" "$TMP/mix.dump"
    "$ESSIM" trace dump "$T" >"$TMP/t.dump"
    ok "documented reader: LeNet-5 trace" python3 "$CHK" "$DOC" "$T" "$TMP/t.dump"
    ok "documented reader: format 1.0" python3 "$CHK" "$DOC" "$V1" "$ES_SRCDIR/tests/data/trace-v1.0.dump"
    # and the check can fail: a dump of another trace disagrees
    ok "documented reader: a different dump is caught" sh -c "! python3 '$CHK' '$DOC' '$TMP/mix.trc' '$TMP/t.dump'"
else
    skip "documented reader" "python3 not installed"
fi

tap_done
