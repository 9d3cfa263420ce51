"""fmt.py - ESSIM's layer-op trace format 2.0 (docs/trace-format.md) in pure Python + NumPy:
a streaming writer that produces what ESSIM's C writer (traces/trace.c) produces for the
same decisions (same encodings, chunking and deflate settings, so the chunks are
byte-identical), and a reader of formats 1.x and 2.x with the CRC checks, used by the tests
and to take a header from an existing trace.

Everything here is NumPy and the standard library; no PyTorch.
"""
import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np

MAGIC = b"ESSIMTRC"
END_MAGIC = b"ESSIMEND"
CHUNK_MAGIC = b"CHNK"
FOOT_MAGIC = b"FOOT"
VERSION = (2, 1)
FLAG_DIRECT = 1

DEFAULT_CHUNK_BYTES = 1 << 20
DEFAULT_CHUNK_RECORDS = 1024
MAX_CHUNK_BYTES = 1 << 30
MAX_CHUNK_RECORDS = 1 << 20
NO_COUNT = 0xFFFFFFFFFFFFFFFF
NO_LAYER = 0xFFFFFFFF

ENC_NONE, ENC_ALL, ENC_BITMAP, ENC_SPARSE = 0, 1, 2, 3
GRANULARITIES = ("row", "crossbar", "weight")
PHASES = ("forward", "backward", "gradient", "update")

# Bytes of a record's columns at most, and the four section sizes closing a chunk's data
# (trace.c: V2_FIXED_MAX, V2_CLOSE; 1.x: REC_FIXED + V1_CLOSE = 28 < 48).
_V2_FIXED_MAX = 32
_V2_CLOSE = 16


class TraceError(Exception):
    """A malformed header given to the writer, a bad mask, or a damaged file."""


@dataclass
class Layer:
    """One mapped layer of the layer table (what `essim map --json` reports per layer)."""
    name: str
    k_rows: int
    n_cols: int
    row_tiles: int
    col_tiles: int
    slices: int
    cells_per_slice: int
    n_w: int
    granularity: int  # 0 row, 1 crossbar, 2 weight
    blocks: int
    crossbars: int


@dataclass
class Op:
    """One op template record: (layer index or NO_LAYER, phase, kind index, counts)."""
    layer: int
    phase: int
    kind: int
    counts: Tuple[int, ...]


@dataclass
class Header:
    """Everything a trace header records (docs/trace-format.md, "Header")."""
    producer: str
    network: str
    dataset: str
    seed: int
    config_hash: str
    config_yaml: str
    layers: List[Layer]
    kind_names: List[str] = field(default_factory=list)
    count_names: List[str] = field(default_factory=list)
    ops: List[Op] = field(default_factory=list)
    # filled by the reader
    version: Tuple[int, int] = VERSION
    flags: int = 0
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    chunk_records: int = DEFAULT_CHUNK_RECORDS
    # training images per epoch (format 2.1): every iteration holds the batch except the
    # last of an epoch, which holds the rest; 0 = unknown (every iteration a full batch)
    epoch_images: int = 0

    def validate(self):
        h = self.config_hash
        if len(h) != 16 or any(c not in "0123456789abcdef" for c in h):
            raise TraceError(f"trace: config hash '{h}' is not 16 lower-case hex digits")
        if not self.layers:
            raise TraceError("trace: the layer table is empty")
        seen = set()
        for i, L in enumerate(self.layers):
            if not L.name:
                raise TraceError(f"trace: layer {i} has no name")
            if L.name in seen:
                raise TraceError(f"trace: layer name {L.name} appears twice")
            seen.add(L.name)
            if L.blocks < 1:
                raise TraceError(f"trace: layer {L.name} has no blocks")
            if not 0 <= L.granularity <= 2:
                raise TraceError(f"trace: layer {L.name}: bad granularity {L.granularity}")
        if len(self.kind_names) > 256 or len(self.count_names) > 255:
            raise TraceError("trace: too many op kinds or count names")
        for i, o in enumerate(self.ops):
            if ((o.layer >= len(self.layers) and o.layer != NO_LAYER) or not 0 <= o.phase <= 3
                    or o.kind >= len(self.kind_names) or len(o.counts) > len(self.count_names)):
                raise TraceError(f"trace: op {i} (layer {o.layer}, phase {o.phase}, kind "
                                 f"{o.kind}, {len(o.counts)} counts) is out of range")

    def encode(self, flags: int, chunk_bytes: int, chunk_records: int) -> bytes:
        """The whole header: prefix, body and CRC."""
        body = bytearray()
        def s(x):
            b = x.encode()
            body.extend(struct.pack("<I", len(b)))
            body.extend(b)
        s(self.producer)
        s(self.network)
        s(self.dataset)
        body.extend(struct.pack("<Q", self.seed))
        body.extend(self.config_hash.encode())
        body.extend(struct.pack("<II", chunk_bytes, chunk_records))
        s(self.config_yaml)
        body.extend(struct.pack("<I", len(self.layers)))
        for L in self.layers:
            s(L.name)
            body.extend(struct.pack("<7IBII", L.k_rows, L.n_cols, L.row_tiles, L.col_tiles,
                                    L.slices, L.cells_per_slice, L.n_w, L.granularity,
                                    L.blocks, L.crossbars))
        body.extend(struct.pack("<I", len(self.kind_names)))
        for k in self.kind_names:
            s(k)
        body.extend(struct.pack("<I", len(self.count_names)))
        for c in self.count_names:
            s(c)
        body.extend(struct.pack("<I", len(self.ops)))
        for o in self.ops:
            body.extend(struct.pack("<IBBB", o.layer, o.phase, o.kind, len(o.counts)))
            body.extend(struct.pack(f"<{len(o.counts)}Q", *o.counts))
        body.extend(struct.pack("<Q", self.epoch_images))
        pre = MAGIC + struct.pack("<HHII", VERSION[0], VERSION[1], flags, len(body))
        out = pre + bytes(body)
        return out + struct.pack("<I", zlib.crc32(out))


# ---- varints ---------------------------------------------------------------------------

def varint(v: int) -> bytes:
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint_len(v: int) -> int:
    n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


def varints(values: np.ndarray) -> bytes:
    """LEB128 of many non-negative integers at once (NumPy, no Python loop per value)."""
    v = np.asarray(values, dtype=np.uint64)
    if v.size == 0:
        return b""
    if int(v.max()) < 0x80:
        return v.astype(np.uint8).tobytes()
    nbytes = np.ones(v.size, dtype=np.int64)
    t = v >> np.uint64(7)
    while t.any():
        nbytes += t > 0
        t >>= np.uint64(7)
    ends = np.cumsum(nbytes)
    out = np.empty(int(ends[-1]), dtype=np.uint8)
    starts = ends - nbytes
    rest = v.copy()
    for k in range(int(nbytes.max())):
        live = nbytes > k
        byte = (rest[live] & np.uint64(0x7F)).astype(np.uint8)
        more = nbytes[live] > k + 1
        out[starts[live] + k] = byte | (more.astype(np.uint8) << 7)
        rest[live] >>= np.uint64(7)
    return out.tobytes()


def _zigzag(d: int) -> int:
    return (d << 1) if d >= 0 else (-2 * d - 1)


# ---- masks -----------------------------------------------------------------------------

def mask_indices(mask, g: int) -> np.ndarray:
    """A layer's mask as sorted int64 block indices. Accepts a boolean (or 0/1) array of G
    entries, or an integer array of strictly increasing indices."""
    m = np.asarray(mask)
    if m.dtype.kind not in "biu":
        raise TraceError(f"a mask is a boolean array or integer block indices, not {m.dtype}")
    if m.dtype == np.bool_:
        if m.size != g:
            raise TraceError(f"mask has {m.size} entries, the layer has {g} blocks")
        return np.flatnonzero(m)
    return m.astype(np.int64, copy=False).ravel()


# ---- writer ----------------------------------------------------------------------------

class TraceWriter:
    """Write a trace, one iteration at a time (docs/trace-format.md, "Writing").

    Default mode writes PATH.part and renames it to PATH on close (PATH never holds half a
    trace; a killed loop leaves PATH.part, whose complete chunks `essim trace ... --salvage`
    and `essim simulate --salvage` read). direct=True writes PATH itself. Each finished
    chunk is flushed to the operating system, so a crash loses at most the chunk being
    filled. Usable as a context manager (close on success, abort on an exception)."""

    def __init__(self, path: str, header: Header, *, direct: bool = False,
                 chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                 chunk_records: int = DEFAULT_CHUNK_RECORDS, level: int = 4):
        header.validate()
        if not 4096 <= chunk_bytes <= MAX_CHUNK_BYTES:
            raise TraceError(f"trace: chunk size {chunk_bytes} is not in [4096, {MAX_CHUNK_BYTES}]")
        if not 1 <= chunk_records <= MAX_CHUNK_RECORDS:
            raise TraceError(f"trace: {chunk_records} iterations per chunk is out of range")
        if not 1 <= level <= 9:
            raise TraceError(f"trace: zlib level {level} is not in 1..9")
        self.path = path
        self.tmp = None if direct else path + ".part"
        self.header = header
        self.g = [L.blocks for L in header.layers]
        self.nb = [(g + 7) // 8 for g in self.g]
        self.chunk_bytes, self.chunk_records, self.level = chunk_bytes, chunk_records, level
        self.fp = open(self.tmp or path, "wb")
        self.fp.write(header.encode(FLAG_DIRECT if direct else 0, chunk_bytes, chunk_records))
        self.fp.flush()
        self.sec = [bytearray(), bytearray(), bytearray()]
        self.c_it, self.c_ep, self.c_lr, self.c_loss = [], [], [], []
        self.ck_cols = 0
        self.ck_first = self.ck_last = 0
        self.ck_index = 0
        self.records = 0
        self.first = self.last = NO_COUNT
        self.raw = self.comp = 0
        self.enc = [0, 0, 0, 0]
        self.writes = [0] * len(self.g)
        self.counts = [np.zeros(g, dtype=np.uint32) for g in self.g]
        self.closed = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    def _encode(self, l: int, idx: np.ndarray):
        """(tag, head bytes for A, payload bytes, section index of the payload or -1)."""
        g, nb = self.g[l], self.nb[l]
        cnt = int(idx.size)
        if cnt == 0:
            return ENC_NONE, b"\x00", b"", -1
        if cnt == g:
            return ENC_ALL, b"\x01", b"", -1
        if cnt < nb:
            gaps = np.diff(idx, prepend=-1) - 1
            payload = varints(gaps)
            if len(payload) < nb:
                return ENC_SPARSE, b"\x03" + varint(cnt), payload, 1
        bits = np.zeros(g, dtype=np.bool_)
        bits[idx] = True
        return ENC_BITMAP, b"\x02" + varint(cnt), np.packbits(bits, bitorder="little").tobytes(), 2

    def append(self, iteration: int, epoch: int, lr: float, loss: float, masks: Sequence):
        """One iteration: masks[l] for every layer in layer-table order, each a boolean
        array of G_l entries or strictly increasing block indices. Raises TraceError (and
        writes nothing) for a bad mask or an iteration not above the previous one."""
        if self.closed:
            raise TraceError(f"{self.path}: the writer is closed")
        if len(masks) != len(self.g):
            raise TraceError(f"trace: {len(masks)} masks for {len(self.g)} layers")
        if self.records and iteration <= self.last:
            raise TraceError(f"trace: iteration {iteration} does not follow iteration {self.last}")
        if not 0 <= epoch <= 0xFFFFFFFF:
            raise TraceError(f"trace: epoch {epoch} is out of range")
        encs, idxs = [], []
        for l, m in enumerate(masks):
            idx = mask_indices(m, self.g[l])
            if idx.size and (idx[0] < 0 or idx[-1] >= self.g[l] or
                             (idx.size > 1 and np.any(np.diff(idx) <= 0))):
                raise TraceError(f"trace: layer {self.header.layers[l].name}: an index is out "
                                 f"of range or out of order")
            idxs.append(idx)
            encs.append(self._encode(l, idx))
        rec_len = sum(len(e[1]) + len(e[2]) for e in encs)
        if self.c_it:
            cols = (varint_len(iteration - self.ck_last - 1) +
                    varint_len(_zigzag(epoch - self.c_ep[-1])) + 12)
            total = (len(self.sec[0]) + len(self.sec[1]) + len(self.sec[2]) + rec_len +
                     self.ck_cols + cols + _V2_CLOSE)
            if total > self.chunk_bytes or len(self.c_it) >= self.chunk_records:
                self._finish_chunk()
        if not self.c_it:
            self.ck_first = iteration
            self.ck_cols = 0
        i = len(self.c_it)
        self.ck_cols += (varint_len(iteration - self.ck_last - 1 if i else 0) +
                         varint_len(_zigzag(epoch - (self.c_ep[-1] if i else 0))) + 12)
        for tag, head, payload, sec in encs:
            self.sec[0] += head
            if sec > 0:
                self.sec[sec] += payload
            self.enc[tag] += 1
        self.c_it.append(iteration)
        self.c_ep.append(epoch)
        self.c_lr.append(float(lr))
        self.c_loss.append(float(loss))
        self.ck_last = iteration
        if self.records == 0:
            self.first = iteration
        self.last = iteration
        self.records += 1
        for l, idx in enumerate(idxs):
            self.writes[l] += int(idx.size)
            if idx.size:
                self.counts[l][idx] += 1

    def _finish_chunk(self):
        n = len(self.c_it)
        if n == 0:
            return
        it = np.asarray(self.c_it, dtype=np.uint64)
        d = bytearray()
        d += varints(np.concatenate(([it[0] - np.uint64(self.ck_first)], np.diff(it) - np.uint64(1)))
                     if n > 1 else [it[0] - np.uint64(self.ck_first)])
        ep = np.asarray(self.c_ep, dtype=np.int64)
        de = np.diff(ep, prepend=0)
        d += varints(np.where(de >= 0, de << 1, -2 * de - 1).astype(np.uint64))
        lr = np.asarray(self.c_lr, dtype="<f8").view(np.uint8).reshape(n, 8)
        loss = np.asarray(self.c_loss, dtype="<f4").view(np.uint8).reshape(n, 4)
        d += lr.T.tobytes() + loss.T.tobytes()
        dlen = len(d)
        d += struct.pack("<4I", len(self.sec[0]), len(self.sec[1]), len(self.sec[2]), dlen)
        raw = len(self.sec[0]) + len(self.sec[1]) + len(self.sec[2]) + len(d)
        z = zlib.compressobj(self.level, zlib.DEFLATED, 15, 8, zlib.Z_FILTERED)
        parts, crc = [], 0
        for s in self.sec:
            if s:
                crc = zlib.crc32(s, crc)
                parts.append(z.compress(bytes(s)))
                parts.append(z.flush(zlib.Z_BLOCK))
        crc = zlib.crc32(d, crc)
        parts.append(z.compress(bytes(d)))
        parts.append(z.flush(zlib.Z_FINISH))
        payload = b"".join(parts)
        h = CHUNK_MAGIC + struct.pack("<IIQQIII", self.ck_index, n, self.ck_first, self.ck_last,
                                      len(payload), raw, crc)
        h += struct.pack("<I", zlib.crc32(h))
        self.fp.write(h)
        self.fp.write(payload)
        self.fp.flush()
        self.raw += raw
        self.comp += len(payload)
        self.ck_index += 1
        self.sec = [bytearray(), bytearray(), bytearray()]
        self.c_it, self.c_ep, self.c_lr, self.c_loss = [], [], [], []

    def flush(self):
        """End the current chunk now, so everything appended so far is on disk."""
        self._finish_chunk()

    def close(self, max_count: Optional[Sequence[int]] = None):
        """Last chunk, footer and trailer, fsync, and (default mode) the rename to PATH.
        max_count: the caller's per-layer maximum update count (e.g. including wear from
        earlier runs), or None for "not given"."""
        if self.closed:
            return
        self._finish_chunk()
        body = bytearray(struct.pack("<QQQIQQ", self.records, self.first, self.last,
                                     self.ck_index, self.raw, self.comp))
        body += struct.pack("<4Q", *self.enc)
        body += struct.pack("<I", len(self.g))
        for l, c in enumerate(self.counts):
            mc = NO_COUNT if max_count is None else int(max_count[l])
            body += struct.pack("<4Q", self.writes[l], int(c.max()) if c.size else 0,
                                int(np.count_nonzero(c)), mc)
        foot = FOOT_MAGIC + struct.pack("<I", len(body)) + bytes(body)
        foot += struct.pack("<I", zlib.crc32(foot))
        off = self.fp.tell()
        self.fp.write(foot + struct.pack("<Q", off) + END_MAGIC)
        self.fp.flush()
        os.fsync(self.fp.fileno())
        self.fp.close()
        self.closed = True
        if self.tmp:
            os.replace(self.tmp, self.path)

    def abort(self):
        """Stop without a footer: the default mode removes PATH.part; direct mode leaves the
        complete chunks already in PATH (readable with --salvage)."""
        if self.closed:
            return
        self.fp.close()
        self.closed = True
        if self.tmp:
            try:
                os.remove(self.tmp)
            except FileNotFoundError:
                pass


# ---- reader ----------------------------------------------------------------------------

class _Cur:
    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise TraceError("a field runs past its end")
        self.pos += n
        return self.buf[self.pos - n:self.pos]

    def unpack(self, fmt):
        v = struct.unpack_from("<" + fmt, self.take(struct.calcsize("<" + fmt)))
        return v if len(v) > 1 else v[0]

    def str(self):
        return bytes(self.take(self.unpack("I"))).decode()

    def varint(self):
        v = shift = 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v


def parse_header(buf: bytes) -> Tuple[Header, int]:
    """The header at the start of buf; returns it and the offset of the first chunk."""
    if len(buf) < 20 or buf[:8] != MAGIC:
        raise TraceError("not an ESSIM trace (bad magic)")
    major, minor, flags, blen = struct.unpack_from("<HHII", buf, 8)
    if major not in (1, 2):
        raise TraceError(f"trace format version {major}.{minor} is not supported")
    if len(buf) < 24 + blen:
        raise TraceError("truncated in the header")
    if zlib.crc32(buf[:20 + blen]) != struct.unpack_from("<I", buf, 20 + blen)[0]:
        raise TraceError("header CRC mismatch (the header is corrupt)")
    c = _Cur(buf[20:20 + blen])
    producer, network, dataset = c.str(), c.str(), c.str()
    seed = c.unpack("Q")
    chash = bytes(c.take(16)).decode()
    cb, cr = c.unpack("II")
    yaml = c.str()
    layers = []
    for _ in range(c.unpack("I")):
        name = c.str()
        layers.append(Layer(name, *c.unpack("7IBII")))
    kinds = [c.str() for _ in range(c.unpack("I"))]
    counts = [c.str() for _ in range(c.unpack("I"))]
    ops = []
    for _ in range(c.unpack("I")):
        layer, phase, kind, n = c.unpack("IBBB")
        ops.append(Op(layer, phase, kind, tuple(c.unpack(f"{n}Q")) if n > 1 else
                      ((c.unpack("Q"),) if n == 1 else ())))
    epoch_images = c.unpack("Q") if (major, minor) >= (2, 1) else 0
    h = Header(producer, network, dataset, seed, chash, yaml, layers, kinds, counts, ops,
               (major, minor), flags, cb, cr, epoch_images)
    return h, 24 + blen


@dataclass
class Record:
    iteration: int
    epoch: int
    lr: float
    loss: float
    masks: List[np.ndarray]  # per layer: sorted block indices (int64)


def read_trace(path: str, salvage: bool = False):
    """(header, records, footer or None, damage message or None). Without salvage a missing
    footer or a damaged chunk raises TraceError; with it the intact prefix is returned."""
    with open(path, "rb") as f:
        buf = f.read()
    hdr, pos = parse_header(buf)
    major = hdr.version[0]
    G = [L.blocks for L in hdr.layers]
    records, damage, footer = [], None, None
    ck = 0
    while True:
        if buf[pos:pos + 4] == FOOT_MAGIC:
            break
        try:
            if len(buf) < pos + 44:
                raise TraceError(f"truncated in chunk {ck}" if pos < len(buf)
                                 else f"truncated after chunk {ck - 1} (the footer is missing)")
            h = buf[pos:pos + 44]
            if h[:4] != CHUNK_MAGIC:
                raise TraceError(f"chunk {ck}: bad chunk magic")
            idx, nrec, first, last, csize, usize, dcrc, hcrc = struct.unpack_from("<IIQQIIII", h, 4)
            if zlib.crc32(h[:40]) != hcrc:
                raise TraceError(f"chunk {ck}: chunk header CRC mismatch")
            if len(buf) < pos + 44 + csize:
                raise TraceError(f"truncated in chunk {ck}")
            data = zlib.decompress(buf[pos + 44:pos + 44 + csize])
            if len(data) != usize or zlib.crc32(data) != dcrc:
                raise TraceError(f"chunk {ck}: CRC mismatch")
            recs = _decode_chunk(data, major, nrec, first, G)
        except (TraceError, zlib.error) as e:
            if not salvage:
                raise TraceError(f"{path}: {e}") from None
            damage = str(e)
            break
        records.extend(recs)
        pos += 44 + csize
        ck += 1
    if damage is None:
        blen = struct.unpack_from("<I", buf, pos + 4)[0]
        body = _Cur(buf[pos + 8:pos + 8 + blen])
        n, fi, la, chunks, raw, comp = body.unpack("QQQIQQ")
        enc = body.unpack("4Q")
        nl = body.unpack("I")
        per = [body.unpack("4Q") for _ in range(nl)]
        footer = {"records": n, "first": fi, "last": la, "chunks": chunks, "raw_bytes": raw,
                  "compressed_bytes": comp, "encodings": list(enc),
                  "writes": [p[0] for p in per], "max_trace": [p[1] for p in per],
                  "touched": [p[2] for p in per], "max_count": [p[3] for p in per]}
    return hdr, records, footer, damage


def _decode_chunk(data, major, nrec, first, G):
    usize = len(data)
    if major == 1:
        F = struct.unpack_from("<I", data, usize - 4)[0]
        fixed = usize - 4 - nrec * F
        fields = [struct.unpack_from("<QIdf", data, fixed + r * F) for r in range(nrec)]
        a = b = c = _Cur(data, 0)
    else:
        sa, sb, sc, sd = struct.unpack_from("<4I", data, usize - 16)
        if sa + sb + sc + sd + 16 != usize:
            raise TraceError("section sizes do not add up")
        a, b, c = _Cur(data, 0), _Cur(data, sa), _Cur(data, sa + sb)
        d = _Cur(data, sa + sb + sc)
        its, eps, e = [], [], 0
        for _ in range(nrec):
            its.append((its[-1] + 1 if its else first) + d.varint())
        for _ in range(nrec):
            z = d.varint()
            e += (z >> 1) ^ -(z & 1)
            eps.append(e)
        planes = np.frombuffer(bytes(d.take(12 * nrec)), dtype=np.uint8).reshape(12, nrec)
        lrs = np.ascontiguousarray(planes[:8].T).view("<f8").ravel()
        losses = np.ascontiguousarray(planes[8:].T).view("<f4").ravel()
        fields = [(its[r], eps[r], float(lrs[r]), float(losses[r])) for r in range(nrec)]
    out = []
    for r in range(nrec):
        masks = []
        for g in G:
            tag = a.take(1)[0]
            if tag == ENC_NONE:
                masks.append(np.zeros(0, dtype=np.int64))
            elif tag == ENC_ALL:
                masks.append(np.arange(g, dtype=np.int64))
            elif tag == ENC_BITMAP:
                a.varint()
                bm = np.frombuffer(bytes(c.take((g + 7) // 8)), dtype=np.uint8)
                masks.append(np.flatnonzero(np.unpackbits(bm, bitorder="little")[:g]))
            elif tag == ENC_SPARSE:
                cnt, prev, lst = a.varint(), -1, []
                for _ in range(cnt):
                    prev += 1 + b.varint()
                    lst.append(prev)
                masks.append(np.asarray(lst, dtype=np.int64))
            else:
                raise TraceError(f"bad mask tag {tag}")
        out.append(Record(*fields[r], masks))
    return out


def read_header(path: str) -> Header:
    """Only the header of a trace (the file may be truncated after it)."""
    with open(path, "rb") as f:
        pre = f.read(20)
        if len(pre) < 20 or pre[:8] != MAGIC:
            raise TraceError(f"{path}: not an ESSIM trace (bad magic)")
        blen = struct.unpack_from("<I", pre, 16)[0]
        return parse_header(pre + f.read(blen + 4))[0]
