#!/bin/bash
# make_seeds.sh OUTDIR ESSIM - write the small seed corpora of the fuzz targets (one folder per
# target) from the presets, tiny hand-made files (Python) and, when ESSIM is given, a real
# trace and checkpoint of a tiny run. Nothing large is kept in the repository.
set -euo pipefail
out=$1
essim=${2:-}
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"/{cfg,set,netdesc,trace,ckpt,npy,idx,cifar}

# configuration loader: the presets, one with an include (after the ---8<--- line)
cp "$src"/configs/*.yaml "$src"/configs/sweeps/*.yaml "$out/cfg/"
printf 'version: 1\ninclude: inc.yaml\ntrain: {epochs: 2, lr: 0.1}\n---8<---\nversion: 1\narch: {xbar: {rows: 64}}\n' >"$out/cfg/include"
printf 'version: 1\na: &a [1, 2, *b]\nb: &b {x: 1}\nc: [*a, *a]\n' >"$out/cfg/alias"
# --set: one assignment a line
printf 'arch.xbar.rows=256\ntrain.milestones=[1,2]\npolicy.name=essence\n' >"$out/set/basic"
printf 'train.lr=0.1\narch.cell.endurance_mean=1e7\nsweep.axes=[{key: train.lr, values: [0.1]}]\n' >"$out/set/more"
# network descriptions
cat >"$out/netdesc/small-cnn" <<'YAML'
version: 1
network:
  name: small-cnn
  layers:
    - conv: {name: conv1, out: 16, kernel: 3, pad: 1, bias: false}
    - bn
    - relu
    - block: {name: layer1.0, out: 32, stride: 2}
    - gap
    - fc: {name: fc, out: classes}
YAML
printf 'version: 1\nnetwork:\n  name: m\n  layers:\n    - flatten\n    - fc: {name: fc1, out: 4}\n    - relu\n    - fc: {name: fc2, out: classes}\n' >"$out/netdesc/mlp"

python3 - "$out" <<'PY'
import gzip, io, struct, sys, zipfile, zlib
out = sys.argv[1]

def npy(descr, shape, data):  # the .npy format, version 1.0, without NumPy
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    h += ' ' * (63 - (10 + len(h)) % 64) + '\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h.encode() + data
open(out + '/npy/a.npy', 'wb').write(npy('<f4', (2, 3), struct.pack('<6f', *range(6))))
open(out + '/npy/b.npy', 'wb').write(npy('<f8', (3,), struct.pack('<3d', 1, 1, 1)))
for name, comp in (('c.npz', zipfile.ZIP_STORED), ('d.npz', zipfile.ZIP_DEFLATED)):
    with zipfile.ZipFile(out + '/npy/' + name, 'w', comp) as z:
        z.writestr('w.npy', npy('<f4', (2, 2), bytes(16)))
        z.writestr('b.npy', npy('<f4', (2,), struct.pack('<2f', 1, 1)))
# IDX: 3 images of 4x4 and their labels, plain and gzipped
img = struct.pack('>IIII', 0x803, 3, 4, 4) + bytes(range(48))
lab = struct.pack('>II', 0x801, 3) + bytes([0, 1, 9])
open(out + '/idx/plain', 'wb').write(img + b'---8<---\n' + lab)
open(out + '/idx/gz', 'wb').write(gzip.compress(img) + b'---8<---\n' + gzip.compress(lab))
# CIFAR-10 / -100 records: 2 records each
open(out + '/cifar/c10', 'wb').write((bytes([3]) + bytes(3072)) * 2)
open(out + '/cifar/c100', 'wb').write((bytes([1, 42]) + bytes(3072)) * 2)
# a checkpoint of three records with a valid CRC
recs = [('config_hash', 4, b'0123456789abcdef'), ('state', 3, struct.pack('<4Q', 1, 0, 2, 3)),
        ('param/w', 1, struct.pack('<4f', 1, 2, 3, 4))]
b = bytearray(b'ESSIMCKP' + struct.pack('<I', 1))
for name, t, data in recs:
    size = {1: 4, 2: 8, 3: 8, 4: 1}[t]
    b += struct.pack('<H', len(name)) + name.encode() + bytes([t]) + struct.pack('<Q', len(data) // size) + data
b += struct.pack('<I', len(recs))
b += struct.pack('<I', zlib.crc32(bytes(b)) & 0xffffffff) + b'ENDC'
open(out + '/ckpt/small', 'wb').write(b)
PY

cp "$src/tests/data/trace-v1.0.trc" "$out/trace/v1.0"
if [ -n "$essim" ] && [ -x "$essim" ]; then
    t=$(mktemp -d)
    "$essim" trace synth "$out/trace/synth" --blocks 40,9 --iterations 30 --chunk-records 8 -q >/dev/null
    "$essim" trace synth "$out/trace/synth-sparse" --blocks 300 --iterations 12 --density 0.01 -q >/dev/null
    "$essim" train --dataset synthetic --set train.synthetic_train=64 --set train.synthetic_test=16 \
        --network "$out/netdesc/mlp" --batch 32 --epochs 1 --stop-after 1 -q -o "$t" >/dev/null
    cp "$t/checkpoint.ckpt" "$out/ckpt/mlp"
    rm -rf "$t"
fi
