"""essim.py - what the Python side asks the `essim` program: the effective configuration
(`essim config show`, whose text and hash go into the trace header exactly as ESSIM's own
traces record them), and the mapped layers and op template of one training iteration of a
network (`essim map --ops --json`: ESSIM's own mapper and compiler, so a replay of a
Python-written trace prices the same ops as a replay of ESSIM's trace of that network).

The essim binary is found from the `essim` argument, else $ESSIM, else `essim` on PATH.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from . import fmt
from .mapping import Geometry

# Op kinds in ESSIM's order (traces/lop.h); a kind the compiler adds later is
# appended by name (readers match kinds by name, docs/trace-format.md).
KIND_NAMES = ["mvm", "mvm_transposed", "gradient", "write", "activation", "pool",
              "batchnorm", "eltwise"]
_NOT_COUNTS = ("phase", "kind", "layer", "node", "name")


class EssimError(RuntimeError):
    """essim refused something; the message is essim's own."""


def find_essim(essim: Optional[str] = None) -> str:
    exe = essim or os.environ.get("ESSIM") or shutil.which("essim")
    if not exe or not os.path.exists(exe):
        raise EssimError("cannot find the essim program: pass essim=PATH or set $ESSIM")
    return exe


def run(args: Sequence[str], essim: Optional[str] = None) -> str:
    exe = find_essim(essim)
    p = subprocess.run([exe, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise EssimError(p.stderr.strip() or f"essim {' '.join(args)} failed ({p.returncode})")
    return p.stdout


def config_show(config: Optional[str] = None, sets: Sequence[str] = (),
                essim: Optional[str] = None) -> str:
    """The effective configuration text (defaults, FILE, then the --set overrides)."""
    args = ["config", "show"] + ([config] if config else [])
    for s in sets:
        args += ["--set", s]
    return run(args, essim)


def config_hash(yaml_text: str) -> str:
    m = re.match(r"# ESSIM effective configuration \(config hash ([0-9a-f]{16})\)", yaml_text)
    if not m:
        raise EssimError("essim config show did not print its configuration hash line")
    return m.group(1)


def config_value(yaml_text: str, key: str) -> str:
    """One key ("policy.density") of a `config show` text, as its raw scalar text. Enough
    YAML for that output: two-space indentation, one key per line, flow lists/maps."""
    parts = key.split(".")
    path: List[str] = []
    for line in yaml_text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        k, _, v = line.strip().partition(":")
        path = path[:depth] + [k]
        if path == parts:
            v = v.strip()
            return v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v
    raise KeyError(key)


def parse_flow_map(text: str) -> Dict[str, float]:
    """{conv1: 0.3, fc: 0.2} -> dict."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"not a flow mapping: {text}")
    out = {}
    for item in filter(None, (x.strip() for x in text[1:-1].split(","))):
        k, _, v = item.partition(":")
        out[k.strip().strip('"')] = float(v)
    return out


def parse_flow_list(text: str) -> List[float]:
    text = text.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError(f"not a flow list: {text}")
    return [float(x) for x in text[1:-1].split(",") if x.strip()]


@dataclass
class RunSetup:
    """Everything the header needs, from essim: configuration text and hash, the network's
    mapped layers (with the Python mapping's check) and the op template."""
    config_yaml: str
    config_hash: str
    geometry: Geometry
    network: str
    dataset: str
    map_json: dict
    header: fmt.Header

    def value(self, key: str) -> str:
        return config_value(self.config_yaml, key)


def setup(network: str, *, config: Optional[str] = None, sets: Sequence[str] = (),
          dataset: Optional[str] = None, batch: Optional[int] = None,
          seed: Optional[int] = None, producer: str = "essim_trace (PyTorch)",
          essim: Optional[str] = None) -> RunSetup:
    """Build the trace header of a run of `network` (a network description file or a preset
    name) under `config` with `sets`, the dataset, batch and seed given (each also settable
    through sets). Raises EssimError with essim's message when essim refuses (a network
    that does not fit the chip, a description with an error, ...)."""
    sets = list(sets)
    sets.append(f"train.network={network}")
    if dataset is not None:
        sets.append(f"train.dataset={dataset}")
    if batch is not None:
        sets.append(f"train.batch={int(batch)}")
    if seed is not None:
        sets.append(f"seed={int(seed)}")
    yaml_text = config_show(config, sets, essim)
    chash = config_hash(yaml_text)
    with tempfile.TemporaryDirectory(prefix="essim-trace-") as d:
        cpath = os.path.join(d, "config.yaml")
        with open(cpath, "w") as f:
            f.write(yaml_text)
        mj = json.loads(run(["map", cpath, "--ops", "--json"], essim))
    geo = Geometry.from_map_json(mj["geometry"])
    layers = []
    for L in mj["layers"]:
        mine = geo.place(L["name"], int(L["k"]), int(L["n"]))
        theirs = (int(L["row_tiles"]), int(L["col_tiles"]), int(L["slices"]), int(L["blocks"]),
                  int(L["xbars"]))
        if (mine.row_tiles, mine.col_tiles, mine.slices, mine.blocks, mine.crossbars) != theirs:
            raise EssimError(f"layer {L['name']}: the Python mapping gives {mine}, essim map "
                             f"{theirs}: essim_trace and essim disagree (version mismatch?)")
        layers.append(mine)
    recs = mj.get("ops", {}).get("records", [])
    count_names = [k for k in recs[0] if k not in _NOT_COUNTS] if recs else []
    kinds = list(KIND_NAMES)
    ops = []
    for r in recs:
        if r["kind"] not in kinds:
            kinds.append(r["kind"])
        layer = fmt.NO_LAYER if int(r["layer"]) < 0 else int(r["layer"])
        ops.append(fmt.Op(layer, fmt.PHASES.index(r["phase"]), kinds.index(r["kind"]),
                          tuple(int(r[c]) for c in count_names)))
    hdr = fmt.Header(producer=producer, network=mj["network"], dataset=mj["dataset"],
                     seed=int(config_value(yaml_text, "seed")), config_hash=chash,
                     config_yaml=yaml_text, layers=layers, kind_names=kinds,
                     count_names=count_names, ops=ops)
    hdr.validate()
    return RunSetup(yaml_text, chash, geo, mj["network"], mj["dataset"], mj, hdr)
