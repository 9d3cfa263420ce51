#!/usr/bin/env python3
"""craft_ckpt.py - rewrite records of an ESSIM checkpoint (layout in workloads/ckpt.h) and fix
its CRC, so a test can hand ESSIM a file whose bytes are intact but whose values are hostile.

  craft_ckpt.py IN OUT EDIT...
  EDIT is NAME[INDEX]=VALUE (set one element; VALUE an int, or nan/inf/a float for f32/f64
  records), NAME[A:B]*=FACTOR (multiply elements A to B-1 of a float record) or dup:NAME
  (append a second copy of record NAME)."""
import struct, sys, zlib

T_F32, T_F64, T_U64, T_BYTES = 1, 2, 3, 4
SIZE = {1: 4, 2: 8, 3: 8, 4: 1}
FMT = {1: '<f', 2: '<d', 3: '<Q'}


def read(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'ESSIMCKP' and b[-4:] == b'ENDC'
    off, end, recs = 12, len(b) - 12, []
    while off < end:
        nl = struct.unpack_from('<H', b, off)[0]
        name = b[off + 2:off + 2 + nl].decode()
        off += 2 + nl
        typ = b[off]
        cnt = struct.unpack_from('<Q', b, off + 1)[0]
        off += 9
        data = bytearray(b[off:off + cnt * SIZE[typ]])
        off += cnt * SIZE[typ]
        recs.append([name, typ, cnt, data])
    return recs


def write(path, recs):
    out = bytearray(b'ESSIMCKP' + struct.pack('<I', 1))
    for name, typ, cnt, data in recs:
        nb = name.encode()
        out += struct.pack('<H', len(nb)) + nb + bytes([typ]) + struct.pack('<Q', cnt) + data
    out += struct.pack('<I', len(recs))
    out += struct.pack('<I', zlib.crc32(bytes(out)) & 0xffffffff) + b'ENDC'
    open(path, 'wb').write(out)


def main():
    src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
    recs = read(src)
    for e in edits:
        if e.startswith('dup:'):
            r = [x for x in recs if x[0] == e[4:]][0]
            recs.append([r[0], r[1], r[2], bytearray(r[3])])
            continue
        if '*=' in e:
            lhs, fac = e.split('*=', 1)
            name, rng = lhs[:-1].split('[')
            r = [x for x in recs if x[0] == name][0]
            a, b = (int(x) for x in rng.split(':'))
            for i in range(a, b):
                v = struct.unpack_from(FMT[r[1]], r[3], i * SIZE[r[1]])[0]
                struct.pack_into(FMT[r[1]], r[3], i * SIZE[r[1]], v * float(fac))
            continue
        lhs, val = e.split('=', 1)
        name, idx = lhs[:-1].split('[')
        r = [x for x in recs if x[0] == name][0]
        v = float(val) if r[1] in (T_F32, T_F64) else int(val)
        struct.pack_into(FMT[r[1]], r[3], int(idx) * SIZE[r[1]], v)
    write(dst, recs)


main()
