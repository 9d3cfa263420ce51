#!/usr/bin/env python3
"""fashion_cnn.py - bring your own training run: train a small CNN of our own (not one of
ESSIM's presets) on Fashion-MNIST in PyTorch, with ESSIM's ESSENCE write policy applied to
every optimizer step, record the run as an ESSIM trace, and price it on two chips with
`essim simulate`: the isaac-train preset, and the same chip with a slower, less durable cell.

    PYTHONPATH=python ESSIM=./essim python3 python/examples/fashion_cnn.py --epochs 1

Options: --epochs N, --train-limit N (first N training images), --batch N, --lr X,
--policy NAME (sgd, threshold, ssgp, essence, essence-aggressive; or "none" to record the
changed blocks of plain SGD), --config FILE (default configs/isaac-train.yaml), --out DIR,
--seed S, --threads N. Fashion-MNIST is read from $ESSIM_DATA_DIR/fashion-mnist or Debian's
/usr/share/datasets/fashion-mnist (package dataset-fashion-mnist).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))  # run from the source tree without installing
from essim_trace.recorder import Recorder  # noqa: E402


class SmallResCNN(nn.Module):
    """conv 16 - bn - relu, one residual block to 32 channels with a projection shortcut,
    2x2 max pool, a 64-unit hidden layer, 10 classes."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU())
        self.conv1 = nn.Conv2d(16, 32, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.short = nn.Sequential(nn.Conv2d(16, 32, 1, 2, bias=False), nn.BatchNorm2d(32))
        self.pool = nn.MaxPool2d(2)
        self.hidden = nn.Linear(32 * 7 * 7, 64)
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stem(x)
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        x = self.pool(F.relu(y + self.short(x)))
        return self.out(F.relu(self.hidden(torch.flatten(x, 1))))


def load_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist(split):
    dirs = [os.path.join(os.environ["ESSIM_DATA_DIR"], "fashion-mnist")] \
        if os.environ.get("ESSIM_DATA_DIR") else []
    dirs.append("/usr/share/datasets/fashion-mnist")
    pre = "train" if split == "train" else "t10k"
    for d in dirs:
        img = os.path.join(d, f"{pre}-images-idx3-ubyte.gz")
        if os.path.exists(img):
            x = load_idx(img).astype(np.float32) / 255.0
            y = load_idx(os.path.join(d, f"{pre}-labels-idx1-ubyte.gz")).astype(np.int64)
            return torch.from_numpy((x - 0.2860) / 0.3530).unsqueeze(1), torch.from_numpy(y)
    sys.exit("fashion_cnn.py: Fashion-MNIST not found (apt-get install dataset-fashion-mnist, "
             "or set ESSIM_DATA_DIR)")


def simulate(essim, trace, out, config, sets=()):
    args = [essim, "simulate", "--trace", trace, "--config", config, "-o", out, "-q"]
    for s in sets:
        args += ["--set", s]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "stats.json")) as f:
        return json.load(f)


def main():
    src = os.path.normpath(os.path.join(HERE, "..", ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train-limit", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--policy", default="essence")
    ap.add_argument("--config", default=os.path.join(src, "configs", "isaac-train.yaml"))
    ap.add_argument("--out", default="essim-out/fashion-cnn")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    essim = os.environ.get("ESSIM") or os.path.join(src, "essim")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)

    xtr, ytr = fashion_mnist("train")
    xte, yte = fashion_mnist("test")
    if a.train_limit:
        xtr, ytr = xtr[:a.train_limit], ytr[:a.train_limit]
    model = SmallResCNN()
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)
    trace = os.path.join(a.out, "run.trc")
    sets = [f"policy.name={a.policy}"] if a.policy != "none" else []
    rec = Recorder(model, trace, example_input=xtr[:2], dataset="fashion-mnist", batch=a.batch,
                   config=a.config, sets=sets + [f"train.epochs={a.epochs}", f"train.lr={a.lr}"],
                   seed=a.seed, apply_policy=a.policy != "none", essim=essim)
    print(f"network: {len(rec.layers)} mapped layers, {sum(v.layer.blocks for v in rec.layers)} "
          f"row blocks; description in {rec.network_file}")
    g = torch.Generator().manual_seed(a.seed)
    t0 = time.time()
    with rec:
        for epoch in range(a.epochs):
            model.train()
            perm = torch.randperm(len(xtr), generator=g)
            for i in range(0, len(xtr) - a.batch + 1, a.batch):  # full batches only
                idx = perm[i:i + a.batch]
                opt.zero_grad()
                loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
                loss.backward()
                rec.step(opt, loss, epoch)
            model.eval()
            with torch.no_grad():
                acc = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                          for i in range(0, len(xte), 1000)) / len(xte)
            print(f"epoch {epoch}: loss {loss.item():.4f}, test accuracy {100 * acc:.2f}% "
                  f"({time.time() - t0:.1f} s)")
    s = rec.summary()
    print(f"writes ({a.policy}): mean {s['mean']:.2f}, max {s['max']} per weight over "
          f"{s['iterations']} iterations; savings vs SGD {s['savings_mean_vs_sgd']:.2f}x mean")
    print(f"trace: {trace}, {os.path.getsize(trace)} bytes")

    chips = [("isaac-train", []),
             ("isaac-train, slow cell", ["arch.cell.write_pulse=100ns",
                                          "arch.cell.endurance_mean=1000000",
                                          "arch.wdrv.per_tile=1"])]
    for k, (name, over) in enumerate(chips):
        j = simulate(essim, trace, os.path.join(a.out, f"sim{k}"), a.config, over)
        hw, life = j["hw"], j["lifetime"]
        print(f"{name:24s}: {1e3 * hw['time_s_per_iteration']:.3f} ms/iteration, "
              f"{hw['energy_j']:.3f} J in all, {life['runs_to_first_failure']:.3g} runs of this "
              f"training to the first worn-out cell")

if __name__ == "__main__":
    main()
