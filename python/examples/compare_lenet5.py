#!/usr/bin/env python3
"""compare_lenet5.py - the two sides agree: LeNet-5 on Fashion-MNIST with ESSENCE (rho 0.1),
trained once by ESSIM's own engine (`essim train --trace`) and once in PyTorch with the
policy applied by essim_trace, same recipe (run-default.yaml: batch 64, lr 0.05, momentum
0.9) and seed; both traces replayed by `essim simulate` on isaac-train. Prints one row per
side and seed: write counts (mean, max, p99 from the replay), savings against dense SGD,
lifetime, simulated time per iteration and energy.

    ESSIM=./essim /usr/bin/python3 python/examples/compare_lenet5.py --epochs 1 --seeds 1,2,3

The write counts agree in distribution, not bit for bit: ESSIM and PyTorch order the data,
initialise the weights and draw the policy's random numbers differently.
"""
import argparse
import json
import os
import subprocess
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SRC, "python"))
sys.path.insert(0, os.path.join(SRC, "python", "tests"))
sys.path.insert(0, HERE)
from essim_trace.recorder import Recorder  # noqa: E402
from fashion_cnn import fashion_mnist  # noqa: E402
from models import LeNet5  # noqa: E402


def essim(*args):
    exe = os.environ.get("ESSIM") or os.path.join(SRC, "essim")
    subprocess.run([exe, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def replay(trace, out, config):
    essim("simulate", "--trace", trace, "--config", config, "-o", out, "-q")
    with open(os.path.join(out, "stats.json")) as f:
        j = json.load(f)
    w, hw, life = j["writes"], j["hw"], j["lifetime"]
    return {"iterations": w["iterations"], "mean": w["mean"], "max": w["max"],
            "savings_mean": w["savings_mean_vs_sgd"], "savings_max": w["savings_max_vs_sgd"],
            "runs_to_first_failure": life["runs_to_first_failure"],
            "ms_per_iteration": 1e3 * hw["time_s_per_iteration"], "energy_j": hw["energy_j"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--out", default="essim-out/compare-lenet5")
    ap.add_argument("--config", default=os.path.join(SRC, "configs", "isaac-train.yaml"))
    a = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(a.out, exist_ok=True)
    xtr, ytr = fashion_mnist("train")
    rows = []
    for seed in map(int, a.seeds.split(",")):
        d = os.path.join(a.out, f"seed{seed}")
        own = os.path.join(d, "essim.trc")
        essim("train", "--network", "lenet5", "--dataset", "fashion-mnist", "--policy", "essence",
              "--density", "0.1", "--epochs", str(a.epochs), "--seed", str(seed), "--trace", own,
              "-o", os.path.join(d, "train"))
        rows.append(("essim", seed, replay(own, os.path.join(d, "sim-essim"), a.config)))

        torch.manual_seed(seed)
        model = LeNet5()
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        py = os.path.join(d, "pytorch.trc")
        rec = Recorder(model, py, example_input=xtr[:2], dataset="fashion-mnist", batch=64,
                       config=a.config, sets=["policy.name=essence", "policy.density=0.1",
                                              f"train.epochs={a.epochs}", "train.lr=0.05"],
                       seed=seed, apply_policy=True, name="lenet5-pytorch")
        g = torch.Generator().manual_seed(seed)
        with rec:
            for epoch in range(a.epochs):
                perm = torch.randperm(len(xtr), generator=g)
                for i in range(0, len(xtr) - 63, 64):
                    idx = perm[i:i + 64]
                    opt.zero_grad()
                    loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
                    loss.backward()
                    rec.step(opt, loss, epoch)
        rows.append(("pytorch", seed, replay(py, os.path.join(d, "sim-pytorch"), a.config)))
        print(f"seed {seed} done", file=sys.stderr)
    keys = list(rows[0][2])
    print("| side | seed | " + " | ".join(keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for side, seed, r in rows:
        print(f"| {side} | {seed} | " + " | ".join(f"{r[k]:.4g}" for k in keys) + " |")


if __name__ == "__main__":
    main()
