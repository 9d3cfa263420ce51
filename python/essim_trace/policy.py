"""policy.py - ESSIM's write policies (arch/wpol*.c, design: essence.md) in NumPy, so a PyTorch
training loop can prune its updates the way ESSIM's write scheduler does: sgd, threshold,
ssgp ("No Endurance"), essence and essence-aggressive, with the parameters of the
configuration's `policy:` section.

A policy sees numbers only: per block the L2 norm of the layer's update (or of update plus
residual for threshold training), the block sizes and the blocks' update counts so far; it
returns per block a keep flag and the scale the kept update is written with. Random draws
come from a stream seeded by (seed, iteration), so a run is reproducible; the numbers drawn
are NumPy's, not ESSIM's, so an ESSIM run and a PyTorch run agree in distribution, not bit
for bit.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

import numpy as np

NAMES = ("sgd", "threshold", "ssgp", "essence", "essence-aggressive")


@dataclass
class PolicyConfig:
    """policy.* and the train.milestones of an ESSIM configuration."""
    name: str = "essence"
    density: float = 0.1
    tau_scale: float = 0.0
    normalize: bool = False
    endurance: str = "relative"
    lam: float = 1.0
    budget: float = 10000.0
    budget_gamma: float = 1.0
    p_min: float = 0.01
    schedule: str = "step"
    kappa: float = 0.5
    layers: Dict[str, float] = field(default_factory=dict)
    threshold: float = 1.0
    milestones: List[float] = field(default_factory=list)

    @classmethod
    def from_config(cls, value) -> "PolicyConfig":
        """value(key) returns the raw text of a key of `essim config show` output."""
        from .essim import parse_flow_list, parse_flow_map
        b = lambda s: s.strip() in ("true", "yes")
        return cls(value("policy.name"), float(value("policy.density")),
                   float(value("policy.tau_scale")), b(value("policy.normalize")),
                   value("policy.endurance"), float(value("policy.lambda")),
                   float(value("policy.budget")), float(value("policy.budget_gamma")),
                   float(value("policy.p_min")), value("policy.schedule"),
                   float(value("policy.kappa")), parse_flow_map(value("policy.layers")),
                   float(value("policy.threshold")),
                   parse_flow_list(value("train.milestones")))


def solve_tau(a: np.ndarray, b, target: float) -> float:
    """tau with sum_g min(1, a_g / tau) b_g = target (b None: all ones), exactly, by sorting
    (wpol_solve_tau bisects to the same value). 0 when the target cannot be reached (every
    block with a > 0 is kept with probability b); inf for a target <= 0."""
    bb = np.ones_like(a) if b is None else b
    reachable = float(bb[a > 0].sum())
    if a.size == 0 or a.max() <= 0 or target >= reachable:
        return 0.0
    if target <= 0:
        return math.inf
    order = np.argsort(-a, kind="stable")
    sa, sb = a[order], bb[order]
    # With the k largest saturated (p = b) and the rest below tau:
    # E(tau) = B_k + AB_k / tau, valid when sa[k] <= tau <= sa[k-1].
    Bk = np.concatenate(([0.0], np.cumsum(sb)))  # B_k, k = 0..n
    ab = sa * sb
    ABk = np.concatenate((np.cumsum(ab[::-1])[::-1], [0.0]))  # sum over i >= k
    rem = target - Bk[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where((rem > 0) & (ABk[:-1] > 0), ABk[:-1] / rem, np.nan)
    hi = np.concatenate(([math.inf], sa[:-1]))
    ok = np.flatnonzero((sa <= tau) & (tau <= hi))
    return float(tau[ok[0]]) if ok.size else 0.0


class Policy:
    """Per-layer state (update counts, the weight-weighted mean count) and the decisions."""

    def __init__(self, cfg: PolicyConfig, names: Sequence[str], block_sizes: Sequence[np.ndarray],
                 seed: int):
        if cfg.name not in NAMES:
            raise ValueError(f"unknown write policy '{cfg.name}' (known: {', '.join(NAMES)})")
        self.cfg = cfg
        self.names = list(names)
        self.bsize = [np.asarray(s, dtype=np.float64) for s in block_sizes]
        self.count = [np.zeros(s.size, dtype=np.int64) for s in self.bsize]
        self.weighted = [0.0] * len(self.bsize)
        self.numel = [float(s.sum()) for s in self.bsize]
        self.seed = int(seed)
        self.rng = None

    @property
    def residual(self) -> bool:
        return self.cfg.name == "threshold"

    def begin(self, iteration: int, epoch: int):
        self.rng = np.random.Generator(np.random.PCG64([self.seed, iteration]))
        self.epoch = epoch

    def density(self, l: int) -> float:
        rho = self.cfg.layers.get(self.names[l], self.cfg.density)
        if self.cfg.name == "essence-aggressive" and self.cfg.schedule == "step":
            passed = sum(1 for m in self.cfg.milestones if m <= self.epoch)
            rho *= self.cfg.kappa ** passed
        return rho

    def decide(self, l: int, norm: np.ndarray):
        """keep (bool) and scale (float32) per block of layer l; counts the kept blocks."""
        c = self.cfg
        n = norm.size
        if c.name == "sgd":
            keep = np.ones(n, dtype=bool)
            scale = np.ones(n, dtype=np.float32)
        elif c.name == "threshold":
            t = c.threshold * (norm.mean() if n else 0.0)
            keep = (norm > 0) & (norm >= t)
            scale = keep.astype(np.float32)
        else:
            ng = norm / np.sqrt(self.bsize[l]) if c.normalize else norm
            endurance = "none" if c.name == "ssgp" else c.endurance
            cbar = max(self.weighted[l] / self.numel[l], 1.0) if self.numel[l] else 1.0
            cnt = self.count[l].astype(np.float64)
            a = ng / (1.0 + c.lam * cnt / cbar) if endurance == "relative" else ng
            b = None
            if endurance == "budget":
                x = 1.0 - cnt / c.budget
                b = np.where(x > 0, np.power(np.maximum(x, 0), c.budget_gamma), 0.0)
            if c.tau_scale > 0:
                tau = c.tau_scale * (ng.mean() if n else 0.0)
                tau = tau if tau > 0 else math.inf
            else:
                tau = solve_tau(a, b, self.density(l) * n)
            bb = np.ones(n) if b is None else b
            with np.errstate(divide="ignore", invalid="ignore"):
                p = np.where(a <= 0, 0.0, np.where((tau <= 0) | (a >= tau), bb, a / tau * bb))
            keep = p >= 1.0
            mid = (p > 0) & (p < 1)
            keep[mid] = self.rng.random(int(mid.sum())) < p[mid]
            scale = np.where(keep, 1.0 / np.maximum(p, c.p_min), 0.0).astype(np.float32)
        self.count_kept(l, keep)
        return keep, scale

    def count_kept(self, l: int, keep: np.ndarray):
        self.count[l] += keep
        self.weighted[l] += float(self.bsize[l][keep].sum())
