#!/usr/bin/env python3
"""bench_recorder.py - what the PyTorch front end's recorder costs in a ResNet-20 training step
(CPU, CIFAR-10-shaped batches): the same model and optimizer step with and without the
recorder, alternating in one process (rounds of S plain steps, then S recorded steps), plus
the time spent inside the recorder itself (before_step + after_step, trace writing included).

    ESSIM=./essim /usr/bin/python3 bench/bench_recorder.py [--rounds 5] [--steps 4]
          [--batch 128] [--threads 1] [--policy none|essence]

Prints the median step time of each side, the overhead between the medians, and the
recorder's own time as a fraction of a plain step. Inputs are random (seeded): the step's
cost does not depend on the pixel values.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

SRC = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(SRC, "python"))
sys.path.insert(0, os.path.join(SRC, "python", "tests"))
from essim_trace.recorder import Recorder  # noqa: E402
from models import ResNet20  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--policy", default="none")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = ResNet20()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(a.batch, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (a.batch,), generator=g)
    with tempfile.TemporaryDirectory() as d:
        sets = [f"policy.name={a.policy}"] if a.policy != "none" else []
        rec = Recorder(model, os.path.join(d, "r20.trc"), example_input=x[:2], dataset="cifar10",
                       batch=a.batch, sets=sets, apply_policy=a.policy != "none")
        plain, recorded, inside = [], [], []
        it = 0

        def step(record):
            nonlocal it
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            if record:
                r0 = time.perf_counter()
                rec.before_step()
                r1 = time.perf_counter()
                opt.step()
                r2 = time.perf_counter()
                rec.after_step(loss, 0.1, 0)
                r3 = time.perf_counter()
                inside.append((r1 - r0) + (r3 - r2))
            else:
                opt.step()
            it += 1
            return time.perf_counter() - t0

        step(False)  # warm up both paths
        step(True)
        inside.clear()
        for _ in range(a.rounds):
            plain += [step(False) for _ in range(a.steps)]
            recorded += [step(True) for _ in range(a.steps)]
        rec.close()
        size = os.path.getsize(os.path.join(d, "r20.trc"))
    mp, mr, mi = statistics.median(plain), statistics.median(recorded), statistics.median(inside)
    print(f"ResNet-20, batch {a.batch}, {a.threads} thread(s), policy {a.policy}, "
          f"{a.rounds} rounds x {a.steps} steps each side")
    print(f"step without recorder: median {1e3 * mp:.1f} ms (min {1e3 * min(plain):.1f}, "
          f"max {1e3 * max(plain):.1f})")
    print(f"step with recorder:    median {1e3 * mr:.1f} ms (min {1e3 * min(recorded):.1f}, "
          f"max {1e3 * max(recorded):.1f})")
    print(f"overhead between medians: {100 * (mr - mp) / mp:+.2f}%")
    print(f"inside the recorder: median {1e3 * mi:.2f} ms per step = {100 * mi / mp:.2f}% of a "
          f"plain step (trace {size} bytes for {len(inside) + 1} iterations)")


if __name__ == "__main__":
    main()
