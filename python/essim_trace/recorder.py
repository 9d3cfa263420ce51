"""recorder.py - record a PyTorch training loop as an ESSIM trace.

    rec = Recorder(model, "run.trc", example_input=x0, dataset="fashion-mnist", batch=64,
                   config="configs/isaac-train.yaml")
    for epoch in range(E):
        for x, y in loader:
            opt.zero_grad(); loss = F.cross_entropy(model(x), y); loss.backward()
            rec.step(opt, loss, epoch)          # = rec.before_step(); opt.step(); rec.after_step(...)
    rec.close()

After each optimizer step the recorder finds, for every mapped layer (conv and linear
weights; biases and batch norm stay digital, as in ESSIM), which blocks - at the crossbar
geometry of the configuration - hold a weight that changed, and appends that write mask with
the iteration, epoch, learning rate and loss. With apply_policy=True it applies the
configuration's write policy (policy.name: sgd, threshold, ssgp, essence, essence-aggressive)
to the optimizer's update instead, as ESSIM's write scheduler does: dropped blocks keep their
old weights, kept ones get the (rescaled) update, and the mask is the policy's decision.
"""
import os
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import essim as essim_mod
from .export import export
from .fmt import TraceWriter
from .mapping import block_weights
from .policy import Policy, PolicyConfig


class LayerView:
    """One mapped layer: its weight parameter viewed as ESSIM's (N, K) matrix, and the block
    reductions at the configured geometry."""

    def __init__(self, name, module_name, param, layer, rows):
        self.name, self.module_name, self.param, self.layer, self.rows = name, module_name, param, layer, rows
        N, K = layer.n_cols, layer.k_rows
        if param.numel() != N * K or param.shape[0] != N:
            raise ValueError(f"layer {name}: module '{module_name}' has weights {tuple(param.shape)}, "
                             f"ESSIM maps a {K} x {N} matrix")
        self.N, self.K = N, K
        self.ct, self.rt, self.nw = layer.col_tiles, layer.row_tiles, layer.n_w
        self.gran = layer.granularity

    def reduce(self, x: torch.Tensor) -> torch.Tensor:
        """Per-block sums of x, given as (N, K) in weight order: G entries, block order."""
        if self.gran == 2:
            return x.reshape(-1)
        padn = self.ct * self.nw - self.N
        if padn:
            x = F.pad(x, (0, 0, 0, padn))
        x = x.reshape(self.ct, self.nw, self.K).sum(1)  # (ct, K): row blocks j K + r
        if self.gran == 0:
            return x.reshape(-1)
        padk = self.rt * self.rows - self.K
        if padk:
            x = F.pad(x, (0, padk))
        return x.reshape(self.ct, self.rt, self.rows).sum(2).reshape(-1)

    def expand(self, s: torch.Tensor) -> torch.Tensor:
        """A per-block value for every weight, (N, K)."""
        if self.gran == 2:
            return s.reshape(self.N, self.K)
        if self.gran == 1:
            s = s.reshape(self.ct, self.rt).repeat_interleave(self.rows, 1)[:, :self.K]
        else:
            s = s.reshape(self.ct, self.K)
        return s.repeat_interleave(self.nw, 0)[:self.N]


class Recorder:
    """Records a PyTorch training loop as an ESSIM trace (see the module's comment).

    model, example_input: the network and an input batch shaped like the training data (used
    once, to export the network with torch.fx). dataset, batch: ESSIM's dataset name (for
    the input shape and class count) and the training batch size (the op template depends on
    it). config, sets: an ESSIM configuration file and KEY=VALUE overrides, exactly as for
    `essim`; they fix the crossbar geometry and are recorded in the header. seed: recorded
    (and seeds the policy's random draws). network_file: where to write the exported
    description (default PATH.net.yaml). direct: write PATH in place (see fmt.TraceWriter).
    essim: the essim program (default $ESSIM or PATH). epoch_images: the training images per
    epoch (e.g. len(train_set)), recorded so a replay charges each epoch's partial last batch
    for its images; None records it as unknown (every iteration a full batch)."""

    def __init__(self, model: torch.nn.Module, path: str, *, example_input: torch.Tensor,
                 dataset: str, batch: int, config: Optional[str] = None,
                 sets: Sequence[str] = (), seed: Optional[int] = None, apply_policy: bool = False,
                 name: Optional[str] = None, network_file: Optional[str] = None,
                 direct: bool = False, essim: Optional[str] = None,
                 producer: str = "essim_trace (PyTorch)", epoch_images: Optional[int] = None):
        self.model = model
        self.exported = export(model, example_input, name)
        self.network_file = network_file or path + ".net.yaml"
        self.exported.write(self.network_file)
        self.setup = essim_mod.setup(os.path.abspath(self.network_file), config=config,
                                     sets=sets, dataset=dataset, batch=batch, seed=seed,
                                     producer=producer, essim=essim)
        hdr = self.setup.header
        if epoch_images is not None:
            if epoch_images < 1:
                raise ValueError(f"epoch_images is {epoch_images}: it must be at least 1")
            hdr.epoch_images = int(epoch_images)
        want = tuple(int(d) for d in self.setup.map_json["input"])
        if tuple(example_input.shape[1:]) != want:
            raise ValueError(f"the model's input is {tuple(example_input.shape[1:])} but ESSIM's "
                             f"dataset {dataset} has samples of {want} (C, H, W): pick the "
                             f"dataset whose shape and class count the model was built for")
        names = [n for n, _ in self.exported.mapped]
        if names != [L.name for L in hdr.layers]:
            raise RuntimeError(f"essim maps layers {[L.name for L in hdr.layers]}, the export "
                               f"expected {names}")
        mods = dict(model.named_modules())
        rows = self.setup.geometry.rows
        self.layers = [LayerView(n, m, mods[m].weight, L, rows)
                       for (n, m), L in zip(self.exported.mapped, hdr.layers)]
        self.policy = None
        if apply_policy:
            pc = PolicyConfig.from_config(self.setup.value)
            self.policy = Policy(pc, names, [block_weights(v.layer, rows) for v in self.layers],
                                 hdr.seed)
            self.residual = [torch.zeros_like(v.param) if self.policy.residual else None
                             for v in self.layers]
        self.counts = [np.zeros(v.layer.blocks, dtype=np.int64) for v in self.layers]
        self.writer = TraceWriter(path, hdr, direct=direct)
        self.iteration = 0
        self._before = None

    @property
    def header(self):
        return self.setup.header

    def before_step(self):
        """Snapshot the mapped weights; call right before optimizer.step()."""
        self._before = [v.param.detach().clone() for v in self.layers]

    @torch.no_grad()
    def after_step(self, loss, lr: float, epoch: int = 0):
        """Record (and with a policy, decide and apply) the step since before_step()."""
        if self._before is None:
            raise RuntimeError("after_step without before_step")
        if isinstance(loss, torch.Tensor):
            loss = float(loss.detach())
        masks = []
        if self.policy:
            self.policy.begin(self.iteration, epoch)
        for l, (v, w0) in enumerate(zip(self.layers, self._before)):
            w = v.param.data
            if self.policy is None:
                changed = (w != w0).reshape(v.N, v.K)
                m = (v.reduce(changed.to(torch.float32)) > 0).cpu().numpy()
            else:
                u = (w0 - w)  # the optimizer's update: new weights = w0 - u
                if self.residual[l] is not None:
                    self.residual[l] += u
                    u = self.residual[l]
                norm = torch.sqrt(v.reduce(u.reshape(v.N, v.K).double() ** 2)).cpu().numpy()
                m, scale = self.policy.decide(l, norm)
                s = v.expand(torch.from_numpy(scale).to(w.device)).reshape(w.shape)
                w.copy_(w0 - s.to(w.dtype) * u)
                if self.residual[l] is not None:
                    self.residual[l].mul_(1 - v.expand(torch.from_numpy(m.astype(np.float32))
                                                       .to(w.device)).reshape(w.shape))
            self.counts[l] += m
            masks.append(m)
        self.writer.append(self.iteration, int(epoch), float(lr), float(loss), masks)
        self.iteration += 1
        self._before = None

    def step(self, optimizer: torch.optim.Optimizer, loss, epoch: int = 0):
        """before_step(), optimizer.step(), after_step() with the first group's lr."""
        self.before_step()
        optimizer.step()
        self.after_step(loss, optimizer.param_groups[0]["lr"], epoch)

    def flush(self):
        self.writer.flush()

    def close(self):
        self.writer.close()

    def abort(self):
        self.writer.abort()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

    def summary(self) -> dict:
        """Update counts as ESSIM reports them (writes.mean is weighted by the weights in each
        block, writes.max is over blocks)."""
        rows = self.setup.geometry.rows
        w = np.concatenate([block_weights(v.layer, rows) for v in self.layers]).astype(np.float64)
        c = np.concatenate(self.counts).astype(np.float64)
        mean = float((w * c).sum() / w.sum())
        T = self.iteration
        return {"iterations": T, "blocks": int(c.size), "mean": mean, "max": int(c.max()),
                "savings_mean_vs_sgd": T / mean if mean else float("inf"),
                "savings_max_vs_sgd": T / c.max() if c.max() else float("inf"),
                "layers": {v.name: {"mean": float((block_weights(v.layer, rows) * k).sum() /
                                                   (v.N * v.K)), "max": int(k.max())}
                           for v, k in zip(self.layers, self.counts)}}
