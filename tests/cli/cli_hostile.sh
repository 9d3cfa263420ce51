#!/bin/sh
# cli_hostile.sh - crafted input (issue 14): every file here is made by the test, a few bytes
# to a few kilobytes, and each must fail fast with one message naming the file and a non-zero
# exit, under a 1 GiB address-space limit and a 10 s timeout (ulimit -v, timeout), and no
# existing file may be changed by a failed command.
. "${ES_SRCDIR:-.}/tests/tap.sh"
PY=/usr/bin/python3
CRAFT="$ES_SRCDIR/tests/fuzz/craft_ckpt.py"

# run_limited ARGS... : run_essim under 1 GiB of address space and 10 s. An AddressSanitizer
# build reserves terabytes of address space for its shadow memory and cannot start under
# ulimit -v: there (the CI's sanitizer run) only the time limit applies.
vlimit=1048576
(ulimit -v $vlimit 2>/dev/null && exec "$ESSIM" --version) >/dev/null 2>&1 || vlimit=unlimited
run_limited() {
    (ulimit -v $vlimit 2>/dev/null; exec timeout 10 "$ESSIM" "$@") >"$TMP/out" 2>"$TMP/err"
    rc=$?
}
[ "$vlimit" = unlimited ] && echo "# this essim cannot start under ulimit -v (a sanitizer build?): time limits only"

# ---- class 4: YAML alias bomb and depth ----------------------------------------------------
$PY - "$TMP" <<'PYEOF'
import sys
d = sys.argv[1]
s = 'version: 1\na0: &a0 [x,x,x,x,x,x,x,x,x,x]\n'
for i in range(1, 9):
    s += 'a%d: &a%d [%s]\n' % (i, i, ','.join(['*a%d' % (i - 1)] * 10))
open(d + '/bomb.yaml', 'w').write(s)
open(d + '/deep.yaml', 'w').write('version: 1\nx: ' + '[' * 100000 + ']' * 100000 + '\n')
PYEOF
run_limited config check "$TMP/bomb.yaml"; expect_rc "YAML alias bomb (500 bytes) refused" 2
expect_grep "alias bomb: names file:line:col and the limit" "$TMP/err" "bomb.yaml:7:38: error: the document expands to more than 1000000 nodes"
expect_grep "alias bomb: says how to raise the limit" "$TMP/err" "ESSIM_MAX_CONFIG_NODES"
run_limited config check "$TMP/deep.yaml"; expect_rc "10^5 nested levels refused" 2
expect_grep "depth: file:line:col where it crosses 256" "$TMP/err" "deep.yaml:2:259: error: nesting deeper than 256 levels"
run_limited config check --set "a=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]"
expect_rc "--set with 260 nested levels refused" 2
ESSIM_MAX_CONFIG_NODES=100 run_limited config check --set 'train.milestones=[1,2,3]' --set "x=[$(seq -s, 1 200)]"
expect_rc "the node limit applies to --set values and can be lowered" 2

# ---- class 3: not a regular file ----------------------------------------------------------------
mkdir "$TMP/adir"
run_limited config check "$TMP/adir"; expect_rc "configuration that is a directory" 1
expect_grep "says 'is a directory'" "$TMP/err" "adir: cannot read the configuration: is a directory"
run_limited config check /dev/zero; expect_rc "configuration /dev/zero" 1
expect_grep "/dev/zero: not a regular file" "$TMP/err" "/dev/zero: cannot read the configuration: is not a regular file"
if mkfifo "$TMP/fifo" 2>/dev/null; then
    run_limited config check "$TMP/fifo"; expect_rc "a FIFO with no writer does not hang" 1
    expect_grep "FIFO named" "$TMP/err" "is not a regular file"
else
    skip "a FIFO with no writer does not hang" "mkfifo unavailable"
    skip "FIFO named" "mkfifo unavailable"
fi
run_limited trace info /dev/zero; expect_rc "trace /dev/zero" 1
expect_grep "trace /dev/zero named" "$TMP/err" "/dev/zero: cannot read the trace: is not a regular file"
if [ -p "$TMP/fifo" ]; then
    run_limited trace info "$TMP/fifo"; expect_rc "a trace that is a FIFO does not hang" 1
    run_limited report "$TMP/fifo" -o "$TMP/rep"; ok "report of a FIFO does not hang" test "$rc" -ne 124
else
    skip "a trace that is a FIFO does not hang" "mkfifo unavailable"
    skip "report of a FIFO does not hang" "mkfifo unavailable"
fi
printf 'version: 1\ninclude: adir\n' >"$TMP/inc.yaml"
run_limited config check "$TMP/inc.yaml"; expect_rc "an include that is a directory" 1
expect_grep "include: is a directory" "$TMP/err" "is a directory"
head -c 2000 /dev/zero | tr '\0' 'x' >"$TMP/big.yaml"
ESSIM_MAX_TEXT_BYTES=1K run_limited config check "$TMP/big.yaml"; expect_rc "a configuration over the size cap" 1
expect_grep "size cap: both sizes and the variable" "$TMP/err" "is 2000 bytes, more than the limit of 1024 (set ESSIM_MAX_TEXT_BYTES"
SYN="--dataset synthetic --set train.synthetic_train=256 --set train.synthetic_test=64 --batch 32 --epochs 2 --policy essence -q"
run_limited train $SYN -o "$TMP/dz" --resume --checkpoint /dev/zero; expect_rc "checkpoint /dev/zero" 1
expect_grep "checkpoint /dev/zero refused by name" "$TMP/err" "/dev/zero: cannot read the checkpoint: is not a regular file"
run_limited train $SYN -o "$TMP/dz" --import-weights "$TMP/adir"; expect_rc ".npz that is a directory" 1
expect_grep ".npz directory named" "$TMP/err" "is a directory"

# ---- class 2: a gzipped IDX file of 32 bytes claiming 2^31 images ------------------------------
mkdir "$TMP/fm"
$PY - "$TMP/fm" <<'PYEOF'
import gzip, struct, sys
d = sys.argv[1]
for p in ('train', 't10k'):
    open('%s/%s-images-idx3-ubyte.gz' % (d, p), 'wb').write(gzip.compress(struct.pack('>IIII', 0x803, 2**31, 28, 28) + b'\0' * 100))
    open('%s/%s-labels-idx1-ubyte.gz' % (d, p), 'wb').write(gzip.compress(struct.pack('>II', 0x801, 2**31) + b'\0' * 100))
PYEOF
run_limited train --dataset fashion-mnist --data-dir "$TMP/fm" -o "$TMP/o" -q; expect_rc "gzipped IDX claiming 2^31 images" 1
expect_grep "IDX: blames the file (truncated), not memory" "$TMP/err" "train-images-idx3-ubyte.gz: error: truncated: the header promises 2147483648 images of 28x28"

# ---- class 1: checkpoints with a valid CRC and crafted values ---------------------------------
run_essim run $SYN -o "$TMP/ck" --stop-after 11; expect_rc "a run stopped after 11 iterations" 0
cp "$TMP/ck/checkpoint.ckpt" "$TMP/good.ckpt"
crafted() { # crafted DESCRIPTION EXPECTED-MESSAGE EDIT...
    d=$1; m=$2; shift 2
    rm -rf "$TMP/c2"; cp -r "$TMP/ck" "$TMP/c2"
    $PY "$CRAFT" "$TMP/good.ckpt" "$TMP/c2/checkpoint.ckpt" "$@"
    cp "$TMP/c2/checkpoint.ckpt" "$TMP/c2.before"
    run_limited run $SYN -o "$TMP/c2" --resume; expect_rc "crafted checkpoint: $d" 1
    expect_grep "crafted checkpoint: $d: message" "$TMP/err" "$m"
}
crafted "epoch tag beyond the last (heap overflow before)" "c2/checkpoint.ckpt: iteration 3 is tagged epoch 5 after epoch 0" "ws/epoch[3]=5"
crafted "next iteration 2^62 (endless loop before)" "next iteration 4611686018427387904 and 1 epochs done do not fit this run" "state[0]=4611686018427387904"
crafted "simulated time 1.8e7 s" "checkpoint.ckpt: the chip state's simulated time 1.8e+07 s is more than 11 iterations can take" "hw/fstate[0]=1.8e7"
crafted "simulated time not the sum of its phases" "checkpoint.ckpt: the chip state's simulated time" "hw/fstate[0:1]*=1.5"
expect_grep "crafted checkpoint: phases: says which sum" "$TMP/err" "is not the sum of its phases"
# consistent totals (the phases sum to the time), each iteration 10^5 times longer than the chip
# can take: more than its compute plus every row of every copy written one after the other
crafted "chip time scaled consistently" "s is more than 11 iterations can take on this chip (" "hw/fstate[0:1]*=1e5" "hw/fstate[3:7]*=1e5"
crafted "chip images beyond the batches" "the chip state counts 1000000 images in 11 iterations of at most 32" "hw/state[10]=1000000"
crafted "write energy not the cells written" "cells written at" "hw/fstate[25:26]*=2"
crafted "chip iterations that are not the training's" "checkpoint.ckpt: the chip state counts 12 iterations, the training 11" "hw/state[0]=12"
crafted "NaN best accuracy" "best accuracy nan" "dstate[1]=nan"
crafted "infinite weight" "parameter fc1.weight holds inf at 7" "param/fc1.weight[7]=inf"
crafted "NaN written fraction" "written fraction of iteration 2 is nan" "ws/fraction[2]=nan"
crafted "duplicate record" "record 'ws/fraction' appears more than once" "dup:ws/fraction"
crafted "block written more often than the iterations" "block 0 of layer 0 was written 1000 times" "ws/0/count[0]=1000"
# a malformed record after its name (found by fuzz_ckpt: the name leaked; the sanitizer build's
# leak check fails on it)
$PY - "$TMP/badrec.ckpt" <<'PYEOF'
import struct, sys, zlib
b = bytearray(b'ESSIMCKP' + struct.pack('<I', 1))
b += struct.pack('<H', 5) + b'state' + bytes([9]) + struct.pack('<Q', 1) + bytes(8)
b += struct.pack('<I', 1)
b += struct.pack('<I', zlib.crc32(bytes(b)) & 0xffffffff) + b'ENDC'
open(sys.argv[1], 'wb').write(b)
PYEOF
run_limited train $SYN -o "$TMP/br" --resume --checkpoint "$TMP/badrec.ckpt"; expect_rc "a record of an unknown type" 1
expect_grep "malformed record named" "$TMP/err" "badrec.ckpt: malformed record 0"
ok "a refused checkpoint is left as it was" cmp "$TMP/c2/checkpoint.ckpt" "$TMP/c2.before"
run_essim run $SYN -o "$TMP/ck" --resume; expect_rc "the untouched checkpoint still resumes" 0

# ---- class 2: a network layer of 10^6 outputs is refused before its weights are allocated -------
printf 'version: 1\nnetwork:\n  name: wide\n  layers:\n    - flatten\n    - fc: {name: fc1, out: 1000000}\n    - fc: {name: fc2, out: classes}\n' >"$TMP/wide.yaml"
run_limited map --network "$TMP/wide.yaml"; expect_rc "essim map: a layer of 10^6 outputs" 2
expect_grep "map: file:line:col, how much, the limit" "$TMP/err" "wide.yaml:6:7: error: layer 'fc': parameter fc1.weight (784000000 values) takes the network's parameters and their gradients to 5981 MB, more than the limit of 256 MB (set ESSIM_MAX_PARAM_BYTES"
# a residual block of 3232 channels is 94 M weights in one 3x3 convolution: the network's
# parameters and gradients come to 724 MiB, under the old 1 GiB default but not under the
# 512 MB a hostile 1 MB file may cost
# (the fuzzer's out-of-memory input, crash-netdesc-oom-f72a7b73, cut to its cause)
printf 'version: 1\nnetwork:\n  name: deep\n  layers:\n    - conv: {name: c1, out: 32, kernel: 3, pad: 1}\n    - block: {name: b1, out: 3232, stride: 2}\n    - gap\n    - fc: {name: fc, out: classes}\n' >"$TMP/deep.yaml"
run_limited map --network "$TMP/deep.yaml"; expect_rc "essim map: a block of 3232 channels" 2
expect_grep "the block's convolution is refused before it is allocated" "$TMP/err" "more than the limit of 256 MB (set ESSIM_MAX_PARAM_BYTES"

# ---- class 1: NaN is never written into stats.json as null silently ------------------------------
run_essim train --dataset synthetic --set train.synthetic_train=64 --set train.synthetic_test=16 --batch 32 \
    --epochs 1 --policy threshold --set policy.threshold=1e6 -q -o "$TMP/nf"
expect_rc "a run that writes nothing (its savings and lifetimes are 0/0)" 0
expect_grep "stats.json lists what its nulls were" "$TMP/nf/stats.json" '"lifetime.runs_to_first_failure": "nan"'
ok "stats.json is still JSON" $PY -c "import json, sys; d = json.load(open(sys.argv[1])); assert d['lifetime']['runs_to_first_failure'] is None and d['nonfinite']" "$TMP/nf/stats.json"

# ---- class 7: unclear or late failures made early and clear -------------------------------------
mkdir "$TMP/fm2"
$PY - "$TMP/fm2" <<'PYEOF'
import gzip, struct, sys
d = sys.argv[1]
def w(p, n, h):
    open('%s/%s-images-idx3-ubyte.gz' % (d, p), 'wb').write(gzip.compress(struct.pack('>IIII', 0x803, n, h, h) + bytes(n * h * h)))
    open('%s/%s-labels-idx1-ubyte.gz' % (d, p), 'wb').write(gzip.compress(struct.pack('>II', 0x801, n) + bytes(n)))
w('train', 64, 28); w('t10k', 16, 20)
PYEOF
run_limited train --dataset fashion-mnist --data-dir "$TMP/fm2" --batch 32 --epochs 1 -q -o "$TMP/o3"
expect_rc "train and test images of different sizes" 1
expect_grep "both shapes named" "$TMP/err" "the test images (fashion-mnist/test) are 1x20x20 with 10 classes, the training images (fashion-mnist/train) 1x28x28"
run_limited run --dataset synthetic --set train.synthetic_train=64 --batch 128 -q -o "$TMP/o4"
expect_rc "--batch larger than the dataset" 2
expect_grep "batch: says the limit" "$TMP/err" "train.batch = 128 is larger than the 64 training images: use at most 64"
run_limited config check --set 'train.epochs=[1]' "$ES_SRCDIR/configs/isaac-train.yaml"; expect_rc "a list for an integer key" 2
expect_grep "'expected an integer' (not 'a integer')" "$TMP/err" "train.epochs: expected an integer, got a list"
if [ -w /dev/full ]; then
    "$ESSIM" config show >/dev/full 2>"$TMP/err"; rc=$?
    expect_rc "output to a full device fails" 1
    expect_grep "and says why" "$TMP/err" "essim: cannot write the output: No space left on device"
else
    skip "output to a full device fails" "no /dev/full"
    skip "and says why" "no /dev/full"
fi
run_essim train --dataset synthetic --set train.synthetic_train=64 --set train.synthetic_test=16 --batch 32 --epochs 2 -q -o "$TMP/rep1"
expect_rc "a run to report on" 0
cp -r "$TMP/rep1" "$TMP/rep2"
awk -F, 'BEGIN { OFS = "," } NR == 3 { $4 = "oops" } { print }' "$TMP/rep1/epochs.csv" >"$TMP/rep2/epochs.csv"
run_limited report "$TMP/rep2" -o "$TMP/rep2.html"; expect_rc "report: a broken epochs.csv" 1
expect_grep "report: names the input file and line, not gnuplot" "$TMP/err" "rep2/epochs.csv:3: column 'train_loss' holds 'oops', not a number"
mkdir "$TMP/tldir"
run_limited run $SYN --timeline "$TMP/tldir" -o "$TMP/o5"; expect_rc "--timeline DIR refused before the run" 2
expect_grep "timeline: is a directory" "$TMP/err" "tldir: is a directory; give a file name for --timeline"
ok "nothing ran (no statistics)" test ! -e "$TMP/o5/stats.json"

# ---- class 8: --import-weights checks shapes, not only counts -----------------------------------
run_essim train $SYN -o "$TMP/w" --epochs 1; expect_rc "weights to import" 0
$PY - "$TMP/w/weights.npz" "$TMP/wt.npz" <<'PYEOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as zi, zipfile.ZipFile(sys.argv[2], 'w') as zo:
    for n in zi.namelist():
        b = zi.read(n)
        if n == 'fc3.weight.npy':
            b = b.replace(b'(10, 84)', b'(84, 10)')  # transposed: same count, same header length
        zo.writestr(n, b)
PYEOF
run_limited train $SYN -o "$TMP/wi" --import-weights "$TMP/wt.npz"; expect_rc "a transposed fc weight is refused" 1
expect_grep "names both shapes" "$TMP/err" "wt.npz: member 'fc3.weight' has shape (84, 10) (<f4), the network's parameter has shape (10, 84) (float32)"
run_limited train $SYN -o "$TMP/wi" --import-weights "$TMP/w/weights.npz" --epochs 1; expect_rc "the untouched weights import" 0

# ---- class 2: trace headers whose block counts do not fit the layer, or claim 2^31 ----------------
CT="$ES_SRCDIR/tests/fuzz/craft_trace.py"
run_essim run $SYN -o "$TMP/r" --trace "$TMP/r.trc"; expect_rc "a run with a trace" 0
$PY "$CT" "$TMP/r.trc" "$TMP/b1.trc" blocks=2147483648
$PY "$CT" "$TMP/r.trc" "$TMP/b2.trc" k=2147483648 ctile=1 gran=0 blocks=2147483648
$PY "$CT" "$TMP/r.trc" "$TMP/b3.trc" k=0 n=0 blocks=4294967295
for c in info verify dump; do
    run_limited trace $c "$TMP/b1.trc"; expect_rc "trace $c: 2^31 blocks in a 25-row layer" 1
    expect_grep "trace $c: the count against the geometry" "$TMP/err" "b1.trc: bad header: layer conv1 claims 2147483648 blocks, its geometry (25 x 6, 1 x 1 tiles, row granularity) makes 25"
    run_limited trace $c "$TMP/b2.trc"; expect_rc "trace $c: a consistent layer of 2^31 blocks" 1
    expect_grep "trace $c: the limit, the memory, the variable" "$TMP/err" "b2.trc: 2147484402 mask blocks in all, more than the limit of 16777216 (reading it needs about 32768 MB; set ESSIM_MAX_TRACE_BLOCKS"
done
run_limited simulate --trace "$TMP/b3.trc" -o "$TMP/s"; expect_rc "simulate: 2^32-1 blocks" 1
expect_grep "simulate: the limit" "$TMP/err" "b3.trc: 4294968049 mask blocks in all, more than the limit"
run_limited trace synth "$TMP/syn.trc" --blocks 4294967295; expect_rc "trace synth --blocks 4294967295" 1
expect_grep "synth: the limit before allocating" "$TMP/err" "4294967295 mask blocks in all, more than the limit of 16777216"
ok "synth left no file" test ! -e "$TMP/syn.trc"

# ---- class 5: a failed run leaves an existing trace as it was -----------------------------------
cp "$TMP/r.trc" "$TMP/old.trc"
run_limited run $SYN --lr 50 --set train.momentum=0.99 -o "$TMP/dv" --trace "$TMP/old.trc"
expect_rc "a run that diverges" 1
expect_grep "it diverged" "$TMP/err" "training diverged"
ok "the existing trace is unchanged" cmp "$TMP/r.trc" "$TMP/old.trc"
ok "the partial trace is beside it, not over it" test -e "$TMP/old.trc.part"
run_limited run $SYN -o "$TMP/ok" --trace "$TMP/old.trc"; expect_rc "a run that succeeds" 0
ok "a successful run replaces the trace" "$ESSIM" trace verify "$TMP/old.trc"
ok "and leaves no .part" test ! -e "$TMP/old.trc.part"

# ---- class 6: a sweep axis of 10^7 points is refused before it is expanded --------------------------
printf 'version: 1\ncommand: train\naxes:\n  - key: train.lr\n    range: {from: 0.001, to: 0.1, count: 10000000}\n' >"$TMP/sw.yaml"
run_limited sweep "$TMP/sw.yaml" --dry-run -o "$TMP/swo"; expect_rc "sweep: an axis of 10^7 points" 2
expect_grep "sweep: located, the limit, the variable" "$TMP/err" "sw.yaml:5:12: error: the range has 10000000 values, more than the limit of 1000000 points (set ESSIM_MAX_SWEEP_POINTS"
printf 'version: 1\ncommand: train\naxes:\n  - key: train.lr\n    range: {from: 0.001, to: 0.1, count: 2000}\n  - key: train.momentum\n    range: {from: 0, to: 0.9, count: 1000}\n' >"$TMP/sw2.yaml"
run_limited sweep "$TMP/sw2.yaml" --dry-run -o "$TMP/swo"; expect_rc "sweep: a grid of 2x10^6 points" 2
expect_grep "sweep: the product is checked" "$TMP/err" "the sweep has more than 1000000 points"

printf 'version: 1\ncommand: train\nbase:\n  train: {network: nothere/net.yaml, dataset: synthetic}\naxes:\n  - key: train.lr\n    values: [0.01, 0.02]\n' >"$TMP/swn.yaml"
run_limited sweep "$TMP/swn.yaml" --dry-run -o "$TMP/swno"; expect_rc "sweep --dry-run: a missing network file" 1
expect_grep "dry run names the point and the file" "$TMP/err" "point 0: train.network 'nothere/net.yaml': nothere/net.yaml: cannot open"

# ---- class 9: sweep workers die with their parent ---------------------------------------------------
printf 'version: 1\ncommand: train\nbase:\n  train: {network: lenet5, dataset: synthetic, synthetic_train: 8192, synthetic_test: 64, batch: 32, epochs: 50}\naxes:\n  - key: train.lr\n    values: [0.01, 0.02]\n' >"$TMP/orph.yaml"
"$ESSIM" sweep "$TMP/orph.yaml" -j 2 -o "$TMP/orphans-out" >/dev/null 2>&1 &
sweep_pid=$!
sleep 2
kill -9 "$sweep_pid" 2>/dev/null; wait "$sweep_pid" 2>/dev/null
sleep 1
left=$(pgrep -f "$TMP/orphans-out" || true)
ok "killing the sweep's parent ends its workers" test -z "$left"
[ -n "$left" ] && kill -9 $left 2>/dev/null

# ---- the resource test: every reader, a hostile file of at most 1 MB, 1 GiB and 10 s ----------------
$PY - "$TMP" <<'PYEOF'
import struct, sys, zipfile, zlib
d = sys.argv[1]
def npy(shape, data=b''):
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }" % (repr(tuple(shape)),)
    h += ' ' * (63 - (10 + len(h)) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode() + data
# an .npz whose members claim 2^31 x 2^31 floats, and one whose deflated member claims 4 GB
with zipfile.ZipFile(d + '/huge.npz', 'w') as z:
    z.writestr('fc3.weight.npy', npy((2**31, 2**31)))
b = bytearray(open(d + '/huge.npz', 'rb').read())
with zipfile.ZipFile(d + '/bomb.npz', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr('conv1.weight.npy', npy((6, 1, 5, 5), bytes(600)))
b = bytearray(open(d + '/bomb.npz', 'rb').read())
cd = b.rfind(b'PK\x01\x02')
struct.pack_into('<I', b, cd + 24, 0xfffffff0)   # uncompressed size in the central directory
open(d + '/bomb.npz', 'wb').write(b)
# a network description nested 10^5 deep, and one of 10^4 layers of 1 MB
open(d + '/deepnet.yaml', 'w').write('version: 1\nnetwork: ' + '{a: ' * 100000 + '1' + '}' * 100000 + '\n')
open(d + '/manynet.yaml', 'w').write('version: 1\nnetwork:\n  name: many\n  layers:\n' + '    - relu\n' * 90000)
# a CIFAR-10 test batch of 1 MB that is not a whole number of records
open(d + '/c10.bin', 'wb').write(bytes(1000000))
# a plain IDX file claiming 2^31 images of 28x28
open(d + '/plain-idx', 'wb').write(struct.pack('>IIII', 0x803, 2**31, 28, 28) + bytes(1000))
PYEOF
for f in huge.npz bomb.npz; do
    run_limited train $SYN -o "$TMP/ri" --import-weights "$TMP/$f"; expect_rc "resource: $f" 1
    expect_grep "resource: $f named" "$TMP/err" "$f"
done
for f in deepnet.yaml manynet.yaml; do
    run_limited map --network "$TMP/$f"; rc_ok=$rc
    tap_n=$((tap_n + 1))
    if [ "$rc_ok" -ne 0 ] && [ "$rc_ok" -lt 124 ] && grep -qF "$f" "$TMP/err"; then echo "ok $tap_n - resource: network $f fails clearly (exit $rc_ok)"
    else echo "not ok $tap_n - resource: network $f (exit $rc_ok)"; sed 's/^/# /' "$TMP/err"; tap_fail=$((tap_fail + 1)); fi
done
mkdir -p "$TMP/c10/cifar-10-batches-bin"
for i in 1 2 3 4 5; do cp "$TMP/c10.bin" "$TMP/c10/cifar-10-batches-bin/data_batch_$i.bin"; done
cp "$TMP/c10.bin" "$TMP/c10/cifar-10-batches-bin/test_batch.bin"
run_limited train --dataset cifar10 --data-dir "$TMP/c10" -q -o "$TMP/rc"; expect_rc "resource: a CIFAR batch of partial records" 1
expect_grep "resource: CIFAR file named" "$TMP/err" "data_batch_1.bin"
mkdir "$TMP/pidx"; cp "$TMP/plain-idx" "$TMP/pidx/train-images-idx3-ubyte"; cp "$TMP/plain-idx" "$TMP/pidx/t10k-images-idx3-ubyte"
printf '\0\0\10\1\200\0\0\0' >"$TMP/pidx/train-labels-idx1-ubyte"; cp "$TMP/pidx/train-labels-idx1-ubyte" "$TMP/pidx/t10k-labels-idx1-ubyte"
run_limited train --dataset mnist --data-dir "$TMP/pidx" -q -o "$TMP/rp"; expect_rc "resource: a plain IDX file claiming 2^31 images" 1
expect_grep "resource: IDX named, truncated" "$TMP/err" "train-images-idx3-ubyte: error: truncated"

tap_done
