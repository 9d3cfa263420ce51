#!/usr/bin/env python3
"""craft_trace.py - set fields of layer 0 of an ESSIM trace header (docs/trace-format.md,
"Header") and fix the header CRC, so the file is intact but its sizes are hostile.

  craft_trace.py IN OUT FIELD=VALUE...   FIELD one of k n rtile ctile slices cells nw gran blocks xbars"""
import struct, sys, zlib

FIELDS = ['k', 'n', 'rtile', 'ctile', 'slices', 'cells', 'nw', 'gran', 'blocks', 'xbars']
b = bytearray(open(sys.argv[1], 'rb').read())
assert b[:8] == b'ESSIMTRC'
blen = struct.unpack_from('<I', b, 16)[0]
off = 20


def skip_str(o):
    return o + 4 + struct.unpack_from('<I', b, o)[0]


for _ in range(3):
    off = skip_str(off)
off += 8 + 16 + 4 + 4
off = skip_str(off)      # configuration YAML
off += 4                 # number of layers
off = skip_str(off)      # layer 0's name
pos = {}
for f in FIELDS:
    pos[f] = (off, 'B' if f == 'gran' else 'I')
    off += 1 if f == 'gran' else 4
for e in sys.argv[3:]:
    f, v = e.split('=')
    o, t = pos[f]
    struct.pack_into('<' + t, b, o, int(v))
struct.pack_into('<I', b, 20 + blen, zlib.crc32(bytes(b[:20 + blen])) & 0xffffffff)
open(sys.argv[2], 'wb').write(b)
