"""export.py - a torch.nn.Module as ESSIM's network description (workloads/netdesc.h): a chain
of conv, bn, relu, maxpool, avgpool, gap, flatten and fc layers, with residual additions as
ESSIM's ResNet basic blocks. The model is traced with torch.fx and its shapes propagated with
an example input; anything ESSIM cannot express is an UnmappableModule error that names the
module (or graph node) and says what ESSIM can map.

The result also records which PyTorch module holds the weights of every ESSIM mapped layer,
in ESSIM's layer-table order, for the recorder.
"""
import operator
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

CAN_MAP = ("ESSIM maps Conv2d (square kernel, stride and padding; no groups or dilation), "
           "Linear, BatchNorm1d/2d, ReLU, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d(1), Flatten, "
           "and residual additions in the form of a ResNet basic block")


class UnmappableModule(ValueError):
    """A module or operation ESSIM's network description cannot express."""


@dataclass
class Exported:
    """A network description and where each mapped layer's weights live in the model."""
    name: str
    layers: List[Tuple[str, Dict]]  # (kind, options) in network order
    mapped: List[Tuple[str, str]] = field(default_factory=list)  # (ESSIM name, module name)

    def yaml(self) -> str:
        out = ["# written by essim_trace.export from a PyTorch model", "version: 1",
               "network:", f'  name: "{self.name}"', "  layers:"]
        for kind, opts in self.layers:
            if not opts:
                out.append(f"    - {kind}")
                continue
            items = []
            for k, v in opts.items():
                if isinstance(v, bool):
                    v = "true" if v else "false"
                elif isinstance(v, str):
                    v = f'"{v}"'
                items.append(f"{k}: {v}")
            out.append(f"    - {kind}: {{{', '.join(items)}}}")
        return "\n".join(out) + "\n"

    def write(self, path: str) -> str:
        with open(path, "w") as f:
            f.write(self.yaml())
        return path


def _pair(v, what, where):
    if isinstance(v, str):
        raise UnmappableModule(f"{where}: {what}='{v}' (ESSIM needs an integer {what}); {CAN_MAP}")
    if isinstance(v, int):
        return v
    v = tuple(v)
    if len(v) != 2 or v[0] != v[1]:
        raise UnmappableModule(f"{where}: non-square {what} {v}; {CAN_MAP}")
    return int(v[0])


def _shape(node):
    tm = node.meta.get("tensor_meta")
    return tuple(tm.shape) if tm is not None and hasattr(tm, "shape") else None


def _is_tensor(node):
    return isinstance(node, torch.fx.Node) and _shape(node) is not None


class _Exporter:
    def __init__(self, model: nn.Module, example_input: torch.Tensor, name: str):
        self.model = model
        try:
            self.gm = torch.fx.symbolic_trace(model)
        except Exception as e:  # data-dependent control flow and the like
            raise UnmappableModule(f"torch.fx cannot trace {type(model).__name__}: {e}") from e
        was = model.training
        model.eval()
        try:
            with torch.no_grad():
                ShapeProp(self.gm).propagate(example_input)
        except RuntimeError as e:
            raise ValueError(f"{type(model).__name__} does not run on an input of shape "
                             f"{tuple(example_input.shape)}: {str(e).splitlines()[0]}") from None
        finally:
            model.train(was)
        self.modules = dict(self.gm.named_modules())
        self.out = Exported(name, [])
        self.names = set()
        self.nblocks = 0

    # ---- naming ------------------------------------------------------------------------
    def _name(self, want: str) -> str:
        base = "".join(c if c.isalnum() or c in "_.-" else "_" for c in want)[:80] or "layer"
        n, i = base, 1
        while n in self.names:
            n, i = f"{base}_{i}", i + 1
        self.names.add(n)
        return n

    def _where(self, node) -> str:
        if node.op == "placeholder":
            return "the model's input"
        if node.op == "call_module":
            return f"module '{node.target}' ({type(self.modules[node.target]).__name__})"
        t = getattr(node.target, "__name__", str(node.target))
        return f"operation '{node.name}' ({node.op} {t})"

    # ---- one node of the chain -----------------------------------------------------------
    def _classify(self, node):
        """(kind, options, module name or None) of a chain node, or raises."""
        where = self._where(node)
        if node.op == "call_module":
            m = self.modules[node.target]
            if isinstance(m, nn.Conv2d):
                if m.groups != 1 or _pair(m.dilation, "dilation", where) != 1:
                    raise UnmappableModule(f"{where}: grouped or dilated convolution; {CAN_MAP}")
                if m.padding_mode != "zeros":
                    raise UnmappableModule(f"{where}: padding_mode={m.padding_mode}; {CAN_MAP}")
                return "conv", {"out": m.out_channels, "kernel": _pair(m.kernel_size, "kernel", where),
                                "stride": _pair(m.stride, "stride", where),
                                "pad": _pair(m.padding, "padding", where),
                                "bias": m.bias is not None}, node.target
            if isinstance(m, nn.Linear):
                s = _shape(node.args[0])
                if s is None or len(s) != 2:
                    raise UnmappableModule(f"{where}: applied to a {len(s or ())}-D tensor; ESSIM's "
                                           f"fc takes a flattened (batch, features) input")
                return "fc", {"out": m.out_features, "bias": m.bias is not None}, node.target
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                return "bn", {}, None
            if isinstance(m, nn.ReLU):
                return "relu", {}, None
            if isinstance(m, nn.MaxPool2d):
                if m.ceil_mode or _pair(m.dilation, "dilation", where) != 1:
                    raise UnmappableModule(f"{where}: ceil_mode or dilation; {CAN_MAP}")
                k = _pair(m.kernel_size, "kernel", where)
                return "maxpool", {"kernel": k, "stride": _pair(m.stride or k, "stride", where),
                                   "pad": _pair(m.padding, "padding", where)}, None
            if isinstance(m, nn.AvgPool2d):
                if m.ceil_mode or _pair(m.padding, "padding", where) != 0:
                    raise UnmappableModule(f"{where}: ceil_mode or padding; ESSIM's avgpool has "
                                           f"neither; {CAN_MAP}")
                k = _pair(m.kernel_size, "kernel", where)
                return "avgpool", {"kernel": k, "stride": _pair(m.stride or k, "stride", where)}, None
            if isinstance(m, nn.AdaptiveAvgPool2d):
                if _pair(m.output_size, "output_size", where) != 1:
                    raise UnmappableModule(f"{where}: output size {m.output_size}; ESSIM maps "
                                           f"only global average pooling (output 1)")
                return "gap", {}, None
            if isinstance(m, nn.Flatten):
                if m.start_dim != 1 or m.end_dim != -1:
                    raise UnmappableModule(f"{where}: flatten from dim {m.start_dim}; {CAN_MAP}")
                return "flatten", {}, None
            if isinstance(m, nn.Identity):
                return None, None, None
            raise UnmappableModule(f"{where} cannot be mapped: {CAN_MAP}")
        if node.op in ("call_function", "call_method"):
            t = node.target
            if t in (F.relu, torch.relu, "relu", "relu_") or t is torch.relu_:
                return "relu", {}, None
            if t in (torch.flatten, "flatten", "view", "reshape"):
                s, si = _shape(node), _shape(node.args[0])
                if s is not None and len(s) == 2 and si is not None and s[0] == si[0]:
                    return "flatten", {}, None  # (batch, C, H, W) -> (batch, C H W)
            if t in (F.adaptive_avg_pool2d,) and node.args[1:2] in ((1,), ((1, 1),)):
                return "gap", {}, None
            if t in (torch.mean, "mean"):
                s = _shape(node)
                if s is not None and s[2:] in ((), (1, 1)) and len(s) in (2, 4):
                    return ("gap", {}, None) if len(s) == 4 else ("gap_flat", {}, None)
            if t in (F.max_pool2d, F.avg_pool2d):
                k = node.args[1] if len(node.args) > 1 else node.kwargs.get("kernel_size")
                st = node.args[2] if len(node.args) > 2 else node.kwargs.get("stride") or k
                pd = node.args[3] if len(node.args) > 3 else node.kwargs.get("padding", 0)
                kind = "maxpool" if t is F.max_pool2d else "avgpool"
                opts = {"kernel": _pair(k, "kernel", where), "stride": _pair(st, "stride", where)}
                if kind == "maxpool":
                    opts["pad"] = _pair(pd, "padding", where)
                elif _pair(pd, "padding", where) != 0:
                    raise UnmappableModule(f"{where}: avg_pool2d with padding; {CAN_MAP}")
                return kind, opts, None
            if t == "contiguous":
                return None, None, None
            raise UnmappableModule(f"{where} cannot be mapped: {CAN_MAP}")
        raise UnmappableModule(f"{where} cannot be mapped: {CAN_MAP}")

    def _emit(self, node, kind, opts, module):
        if kind is None:
            return
        if kind == "gap_flat":  # x.mean((2, 3)) gives (batch, C): ESSIM's gap, then flatten
            self._emit(node, "gap", {}, None)
            kind = "flatten"
        base = module if module else node.name
        name = self._name(base)
        self.out.layers.append((kind, {"name": name, **opts}))
        if module:
            self.out.mapped.append((name, module))

    # ---- the chain -------------------------------------------------------------------------
    def _tensor_users(self, node):
        return [u for u in node.users if _is_tensor(u) or u.op == "output"]

    def _is_add(self, node):
        return (node.op == "call_function" and node.target in (operator.add, torch.add, operator.iadd)) \
            or (node.op == "call_method" and node.target in ("add", "add_"))

    def _branch(self, start, fork):
        """Nodes from start up to (excluding) the join, which must be an add."""
        nodes, cur = [], start
        while not self._is_add(cur):
            nodes.append(cur)
            users = self._tensor_users(cur)
            if len(users) != 1 or users[0].op == "output":
                raise UnmappableModule(f"{self._where(start)}: a branch from "
                                       f"{self._where(fork)} that does not end in a residual "
                                       f"addition; ESSIM's networks are chains with ResNet basic "
                                       f"blocks")
            cur = users[0]
        return nodes, cur

    def _conv_opts(self, node):
        if node.op != "call_module" or not isinstance(self.modules[node.target], nn.Conv2d):
            return None
        return self._classify(node)[1]

    def _kind(self, node):
        try:
            return self._classify(node)[0]
        except UnmappableModule:
            return None

    def _block(self, fork, users):
        b0, add0 = self._branch(users[0], fork) if not self._is_add(users[0]) else ([], users[0])
        b1, add1 = self._branch(users[1], fork) if not self._is_add(users[1]) else ([], users[1])
        if add0 is not add1:
            raise UnmappableModule(f"{self._where(fork)}: two branches that join in different "
                                   f"places; ESSIM maps residual additions only as ResNet basic "
                                   f"blocks")
        add = add0
        main, short = (b0, b1) if len(b0) >= len(b1) else (b1, b0)
        kinds = [self._kind(n) for n in main]
        where = f"residual block ending in {self._where(add)}"
        shape_ok = kinds == ["conv", "bn", "relu", "conv", "bn"]
        c1 = self._conv_opts(main[0]) if shape_ok else None
        c2 = self._conv_opts(main[3]) if shape_ok else None
        if not (shape_ok and c1["kernel"] == 3 and c1["pad"] == 1 and not c1["bias"] and
                c2["kernel"] == 3 and c2["pad"] == 1 and c2["stride"] == 1 and not c2["bias"]
                and c2["out"] == c1["out"]):
            got = ", ".join(self._where(n) for n in main)
            raise UnmappableModule(f"{where}: ESSIM's basic block is conv3x3 (no bias) - bn - relu "
                                   f"- conv3x3 (stride 1, no bias) - bn, plus a shortcut, then relu; "
                                   f"this main branch is: {got}")
        cin = _shape(fork)[1]
        out, stride = c1["out"], c1["stride"]
        after = self._tensor_users(add)
        if len(after) != 1 or self._kind(after[0]) != "relu":
            raise UnmappableModule(f"{where}: not followed by a ReLU (ESSIM's basic block ends "
                                   f"with one)")
        needs = stride != 1 or out != cin
        if not short:
            if needs:
                raise UnmappableModule(f"{where}: identity shortcut with a shape change")
            sc = "A"
        elif [self._kind(n) for n in short] == ["conv", "bn"]:
            o = self._conv_opts(short[0])
            if not (o["kernel"] == 1 and o["stride"] == stride and o["pad"] == 0 and not o["bias"]
                    and o["out"] == out and needs):
                raise UnmappableModule(f"{where}: the shortcut {self._where(short[0])} is not a "
                                       f"1x1 projection (stride {stride}, no bias) where the shape "
                                       f"changes, as in ESSIM's option-B block")
            sc = "B"
        else:
            for n in short:
                if n.op == "call_module" and any(True for _ in self.modules[n.target].parameters()):
                    raise UnmappableModule(f"{where}: shortcut {self._where(n)} has parameters but "
                                           f"is not a 1x1 conv + bn projection")
            if not needs or _shape(short[-1]) != _shape(main[-1]):
                raise UnmappableModule(f"{where}: a parameter-free shortcut is mapped as ESSIM's "
                                       f"option A (subsample and zero-pad channels); it needs a "
                                       f"shape change and the main branch's output shape")
            sc = "A"
        names = [main[0].target, main[3].target]
        common = names[0].rsplit(".", 1)[0] if "." in names[0] else ""
        if not common or names[1].rsplit(".", 1)[0] != common:
            common = f"block{self.nblocks}"
        prefix = self._name(common)
        for sfx in ("conv1", "bn1", "relu1", "conv2", "bn2", "shortcut", "shortcut.0",
                    "shortcut.1", "add", "relu2"):
            self.names.add(f"{prefix}.{sfx}")
        self.nblocks += 1
        self.out.layers.append(("block", {"name": prefix, "out": out, "stride": stride,
                                          "shortcut": sc}))
        self.out.mapped.append((f"{prefix}.conv1", main[0].target))
        self.out.mapped.append((f"{prefix}.conv2", main[3].target))
        if sc == "B":
            self.out.mapped.append((f"{prefix}.shortcut.0", short[0].target))
        return after[0]  # the block's relu; the chain continues after it

    def run(self) -> Exported:
        inputs = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise UnmappableModule(f"the model takes {len(inputs)} inputs; ESSIM's networks take one")
        cur = inputs[0]
        while True:
            users = self._tensor_users(cur)
            if len(users) == 1 and users[0].op == "output":
                break
            if len(users) == 2 and all(u.op != "output" for u in users):
                cur = self._block(cur, users)
                continue
            if len(users) != 1:
                raise UnmappableModule(f"{self._where(cur) if cur.op != 'placeholder' else 'the input'}"
                                       f" feeds {len(users)} operations; ESSIM's networks are "
                                       f"chains with ResNet basic blocks")
            nxt = users[0]
            others = [a for a in nxt.all_input_nodes if _is_tensor(a) and a is not cur]
            if others:
                raise UnmappableModule(f"{self._where(nxt)} combines several tensors outside a "
                                       f"residual block; {CAN_MAP}")
            kind, opts, module = self._classify(nxt)
            self._emit(nxt, kind, opts, module)
            cur = nxt
        if not self.out.mapped:
            raise UnmappableModule("the model has no Conv2d or Linear layer to map")
        return self.out


def export(model: nn.Module, example_input: torch.Tensor, name: Optional[str] = None) -> Exported:
    """Describe `model` (fed tensors shaped like example_input, batch first) for ESSIM."""
    return _Exporter(model, example_input, name or type(model).__name__).run()
