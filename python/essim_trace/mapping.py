"""mapping.py - ESSIM's weight mapping (arch/map.h) in Python: how a layer's unrolled
weight matrix W (K rows = fan-in, N columns = output channels) is tiled onto crossbars and cut
into the blocks the write policy decides on, and which block each weight belongs to.

A PyTorch conv weight (N, C_in, k_h, k_w) or linear weight (N, K) reshaped to (N, K) is
exactly ESSIM's weight memory: W[r][c] is element (c, r), so block indices computed here are
the ones ESSIM's write masks use. Pure Python + NumPy.
"""
from dataclasses import dataclass

import numpy as np

from .fmt import GRANULARITIES, Layer

SLICINGS = ("across", "within")
ENCODINGS = ("offset", "differential")


def _ceil_div(a, b):
    return (a + b - 1) // b


@dataclass(frozen=True)
class Geometry:
    """The configuration keys that fix the mapping (arch.xbar.*, policy.granularity)."""
    rows: int = 128
    cols: int = 128
    bits_per_cell: int = 2
    weight_bits: int = 16
    slicing: str = "across"
    encoding: str = "offset"
    granularity: str = "row"

    @classmethod
    def from_map_json(cls, g: dict) -> "Geometry":
        """From the "geometry" object of `essim map --json`."""
        return cls(int(g["rows"]), int(g["cols"]), int(g["bits_per_cell"]),
                   int(g["weight_bits"]), g["slicing"], g["encoding"], g["granularity"])

    def __post_init__(self):
        if min(self.rows, self.cols, self.bits_per_cell, self.weight_bits) < 1:
            raise ValueError("crossbar geometry must be positive")
        if self.slicing not in SLICINGS or self.encoding not in ENCODINGS or \
                self.granularity not in GRANULARITIES:
            raise ValueError(f"unknown slicing/encoding/granularity {self.slicing}/"
                             f"{self.encoding}/{self.granularity}")
        if self.cols < self.per_weight:
            raise ValueError(f"arch.xbar.cols = {self.cols} cannot hold one weight "
                             f"({self.per_weight} columns with slicing {self.slicing})")

    @property
    def slices(self) -> int:  # S
        return _ceil_div(self.weight_bits, self.bits_per_cell)

    @property
    def cells_per_slice(self) -> int:  # P
        return 2 if self.encoding == "differential" else 1

    @property
    def per_weight(self) -> int:
        return self.slices * self.cells_per_slice if self.slicing == "within" else self.cells_per_slice

    @property
    def weights_per_row(self) -> int:  # n_w
        return self.cols // self.per_weight

    @property
    def xbars_per_pos(self) -> int:
        return self.slices if self.slicing == "across" else 1

    def place(self, name: str, k: int, n: int) -> Layer:
        """The layer-table entry of a K x N layer (map.c, place_layer)."""
        if k < 1 or n < 1:
            raise ValueError(f"layer '{name}' has an empty weight matrix ({k} x {n})")
        nw = self.weights_per_row
        rt, ct = _ceil_div(k, self.rows), _ceil_div(n, nw)
        gran = GRANULARITIES.index(self.granularity)
        blocks = (k * ct, rt * ct, k * n)[gran]
        return Layer(name, k, n, rt, ct, self.slices, self.cells_per_slice, nw, gran, blocks,
                     rt * ct * self.xbars_per_pos)


def block_index(layer: Layer, rows: int) -> np.ndarray:
    """Block of every weight, as an (N, K) int64 array in PyTorch's weight order (element
    (c, r) is W[r][c]). rows: the crossbar's rows (arch.xbar.rows)."""
    K, N, nw = layer.k_rows, layer.n_cols, layer.n_w
    r = np.arange(K, dtype=np.int64)[None, :]
    c = np.arange(N, dtype=np.int64)[:, None]
    if layer.granularity == 0:
        return (c // nw) * K + r
    if layer.granularity == 1:
        return (c // nw) * layer.row_tiles + r // rows
    return c * K + r


def block_weights(layer: Layer, rows: int) -> np.ndarray:
    """Weights in each block (edge blocks may be smaller), G entries."""
    return np.bincount(block_index(layer, rows).ravel(), minlength=layer.blocks)
