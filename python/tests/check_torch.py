"""check_torch.py - tests of the PyTorch side of essim_trace (exporter, recorder, policies
applied in PyTorch), run by tests/cli/cli_python.sh when PyTorch is installed:
`python3 check_torch.py TEST TMPDIR`, exit 0 when TEST passes. Seeded, one thread."""
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SRC = os.environ.get("ES_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "python"))
sys.path.insert(0, os.path.join(SRC, "python", "tests"))

from essim_trace import essim, fmt, mapping  # noqa: E402
from essim_trace.export import UnmappableModule, export  # noqa: E402
from essim_trace.recorder import Recorder  # noqa: E402
from models import LeNet5, ResNet20  # noqa: E402

ESSIM = os.environ.get("ESSIM", "./essim")
torch.set_num_threads(1)


def sh(*args, check=True):
    p = subprocess.run([ESSIM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode:
        raise AssertionError(f"essim {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p


def t_export_presets(tmp):
    """LeNet-5 and ResNet-20 written in PyTorch export to descriptions that essim map accepts
    and that map and compile exactly like ESSIM's presets (layer table and op template)."""
    for model, x, ds, preset in ((LeNet5(), torch.zeros(2, 1, 28, 28), "fashion-mnist", "lenet5"),
                                 (ResNet20(), torch.zeros(2, 3, 32, 32), "cifar10", "resnet20")):
        path = export(model, x, f"torch-{preset}").write(f"{tmp}/{preset}.yaml")
        sh("map", "--network", path, "--dataset", ds)
        a = essim.setup(path, dataset=ds, essim=ESSIM).header
        b = essim.setup(preset, dataset=ds, essim=ESSIM).header
        assert a.layers == b.layers and a.ops == b.ops, preset


def t_export_custom(tmp):
    """A network that is not a preset (projection shortcut, avgpool, batch norm after a linear
    layer, nn.Sequential, x.view flattening) exports and maps."""
    net = CustomNet()
    e = export(net, torch.zeros(2, 1, 28, 28), "custom")
    kinds = [k for k, _ in e.layers]
    assert kinds == ["conv", "bn", "relu", "block", "avgpool", "flatten", "fc", "bn", "relu",
                     "fc"], kinds
    assert e.layers[3][1]["shortcut"] == "B" and e.layers[3][1]["stride"] == 2
    assert [m for _, m in e.mapped] == ["stem.0", "blk.conv1", "blk.conv2", "blk.proj.0",
                                        "head1", "head2"]
    path = e.write(f"{tmp}/custom.yaml")
    j = json.loads(sh("map", "--network", path, "--dataset", "fashion-mnist", "--json").stdout)
    assert [L["name"] for L in j["layers"]] == [n for n, _ in e.mapped]


class CustomNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
                                  nn.ReLU())
        self.blk = ProjBlock(8, 16, 2)
        self.pool = nn.AvgPool2d(2)
        self.head1 = nn.Linear(16 * 7 * 7, 32)
        self.bn = nn.BatchNorm1d(32)
        self.head2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(self.blk(self.stem(x)))
        x = x.view(x.size(0), -1)
        return self.head2(F.relu(self.bn(self.head1(x))))


class ProjBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + self.proj(x))


def t_unmappable(tmp):
    """Modules and graphs ESSIM cannot express are refused with a message naming them."""
    class Sig(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.act = nn.Sigmoid()
            self.fc = nn.Linear(4 * 26 * 26, 10)

        def forward(self, x):
            return self.fc(torch.flatten(self.act(self.conv(x)), 1))

    class Grouped(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(1, 4, 3)
            self.dw = nn.Conv2d(4, 4, 3, groups=4)
            self.fc = nn.Linear(4 * 24 * 24, 10)

        def forward(self, x):
            return self.fc(self.dw(self.c1(x)).flatten(1))

    class Cat(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 4, 3)
            self.b = nn.Conv2d(1, 4, 3)
            self.fc = nn.Linear(8 * 26 * 26, 10)

        def forward(self, x):
            return self.fc(torch.cat([self.a(x), self.b(x)], 1).flatten(1))

    x = torch.zeros(2, 1, 28, 28)
    for model, want in ((Sig(), "module 'act' (Sigmoid) cannot be mapped"),
                        (Grouped(), "module 'dw' (Conv2d): grouped or dilated convolution"),
                        (Cat(), "does not end in a residual addition")):
        try:
            export(model, x)
            raise AssertionError(f"{type(model).__name__} was exported")
        except UnmappableModule as e:
            assert want in str(e), str(e)
            print(e)


def _train(rec, model, opt, steps, seed=1, hook=None):
    g = torch.Generator().manual_seed(seed)
    for it in range(steps):
        x = torch.randn(16, 1, 28, 28, generator=g)
        y = torch.randint(0, 10, (16,), generator=g)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        if hook:
            hook(it)
        rec.step(opt, loss, epoch=it // 4)


def t_recorder_changed(tmp):
    """Without a policy the recorder writes the blocks holding a changed weight: computed
    independently here from weight snapshots and mapping.block_index, at a geometry with
    several column tiles (cols = 32) and at crossbar granularity."""
    for sets in (["arch.xbar.cols=32"], ["policy.granularity=crossbar", "arch.xbar.rows=64"]):
        torch.manual_seed(0)
        model = LeNet5()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)  # no momentum: zero grad = no change
        path = f"{tmp}/c.trc"
        rec = Recorder(model, path, example_input=torch.zeros(1, 1, 28, 28),
                       dataset="fashion-mnist", batch=16, sets=sets, essim=ESSIM)
        snaps = []

        def hook(it):
            model.fc1.weight.grad[:32] = 0        # fc1's outputs 0-31: column tile 0 at cols=32
            model.conv2.weight.grad[:, :, 0] = 0  # kernel row 0 of conv2: some K rows
            if it % 2:
                model.fc3.weight.grad.zero_()     # fc3 unchanged on odd steps
            snaps.append([v.param.detach().clone() for v in rec.layers])
        _train(rec, model, opt, 6, hook=hook)
        after = []
        rec.close()
        h, recs, foot, _ = fmt.read_trace(path)
        assert "ok:" in sh("trace", "verify", path).stdout
        rows = 128 if "arch.xbar.rows=64" not in sets else 64
        # replay the recorded steps on snapshots: recompute masks from weight differences
        torch.manual_seed(0)
        m2 = LeNet5()
        opt2 = torch.optim.SGD(m2.parameters(), lr=0.1)
        g = torch.Generator().manual_seed(1)
        for it in range(6):
            x = torch.randn(16, 1, 28, 28, generator=g)
            y = torch.randint(0, 10, (16,), generator=g)
            opt2.zero_grad()
            F.cross_entropy(m2(x), y).backward()
            m2.fc1.weight.grad[:32] = 0
            m2.conv2.weight.grad[:, :, 0] = 0
            if it % 2:
                m2.fc3.weight.grad.zero_()
            w0 = [p.detach().clone() for p in (m2.conv1.weight, m2.conv2.weight, m2.fc1.weight,
                                                  m2.fc2.weight, m2.fc3.weight)]
            opt2.step()
            w1 = (m2.conv1.weight, m2.conv2.weight, m2.fc1.weight, m2.fc2.weight, m2.fc3.weight)
            for l, L in enumerate(h.layers):
                ch = (w1[l].detach() != w0[l]).reshape(L.n_cols, L.k_rows).numpy()
                bi = mapping.block_index(L, rows)
                want = np.unique(bi[ch])
                assert np.array_equal(recs[it].masks[l], want), (sets, it, L.name)
            if "arch.xbar.cols=32" in sets:
                fc1 = h.layers[2]
                assert not np.any(recs[it].masks[2] < fc1.k_rows)  # column tile 0 never written
                # the other tiles: every row whose input feature was not zero (most)
                assert recs[it].masks[2].size > 0.8 * (fc1.blocks - fc1.k_rows)
            assert (recs[it].masks[4].size == 0) == bool(it % 2)
        assert [r.epoch for r in recs] == [0, 0, 0, 0, 1, 1] and recs[0].lr == 0.1
        del snaps, after


def t_recorder_policy(tmp):
    """ESSENCE applied in PyTorch: about rho of the blocks are written, a dropped block keeps
    its weights bit for bit, a kept one gets the optimizer's update scaled by 1 / max(p,
    p_min) >= 1; the trace verifies and replays."""
    torch.manual_seed(0)
    model = LeNet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    path = f"{tmp}/p.trc"
    rec = Recorder(model, path, example_input=torch.zeros(1, 1, 28, 28), dataset="fashion-mnist",
                   batch=16, sets=["policy.name=essence", "policy.density=0.1"],
                   apply_policy=True, essim=ESSIM)
    g = torch.Generator().manual_seed(1)
    dens = []
    for it in range(30):
        x = torch.randn(16, 1, 28, 28, generator=g)
        y = torch.randint(0, 10, (16,), generator=g)
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        rec.before_step()
        w0 = [w.clone() for w in rec._before]
        opt.step()
        dense = [v.param.detach().clone() for v in rec.layers]
        rec.after_step(loss, 0.05, 0)
        for v, a, d, c in zip(rec.layers, w0, dense, rec.counts):
            keep = torch.from_numpy(
                np.isin(mapping.block_index(v.layer, rec.setup.geometry.rows),
                        np.flatnonzero(c - prev[v.name] if it else c)).astype(np.bool_))
            wn = v.param.detach().reshape(v.N, v.K)
            a, d = a.reshape(v.N, v.K), d.reshape(v.N, v.K)
            assert torch.equal(wn[~keep], a[~keep]), v.name
            u, un = (a - d)[keep], (a - wn)[keep]
            nz = u.abs() > 1e-6
            ratio = (un[nz] / u[nz])
            assert torch.all(ratio > 0.999) and torch.all(ratio < 100.5), v.name
        prev = {v.name: c.copy() for v, c in zip(rec.layers, rec.counts)}
        dens.append(sum(int(c.sum()) for c in rec.counts))
    rec.close()
    s = rec.summary()
    assert 0.07 < s["mean"] / 30 < 0.13, s
    assert "ok:" in sh("trace", "verify", path).stdout
    sh("simulate", "--trace", path, "-o", f"{tmp}/sim")


def t_mismatch(tmp):
    """A PyTorch trace replayed on a chip with another crossbar geometry is refused with
    essim's message naming the layer and the key; a model whose input is not the dataset's
    is refused when the recorder is made."""
    model = LeNet5()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    path = f"{tmp}/m.trc"
    rec = Recorder(model, path, example_input=torch.zeros(1, 1, 28, 28), dataset="fashion-mnist",
                   batch=16, essim=ESSIM)
    _train(rec, model, opt, 2)
    rec.close()
    p = sh("simulate", "--trace", path, "--set", "arch.xbar.rows=256", "-o", f"{tmp}/s",
           check=False)
    assert p.returncode == 2, p
    assert "layer conv2 was recorded with row_tiles 2 but this configuration gives 1" in p.stderr \
        and "arch.xbar.rows is 256 here, 128 in the trace" in p.stderr, p.stderr
    print(p.stderr)
    # a model built for another dataset's samples is refused before anything is written
    try:
        Recorder(ResNet20(in_ch=3), f"{tmp}/d.trc", example_input=torch.zeros(2, 3, 32, 32),
                 dataset="fashion-mnist", batch=16, essim=ESSIM)
        raise AssertionError("a CIFAR-shaped model was accepted for fashion-mnist")
    except ValueError as e:
        assert "(3, 32, 32) but ESSIM's dataset fashion-mnist has samples of (1, 28, 28)" in str(e), e
    assert not os.path.exists(f"{tmp}/d.trc") and not os.path.exists(f"{tmp}/d.trc.part")


def t_replay_same(tmp):
    """ESSIM's replay of a trace of the PyTorch-exported LeNet-5 reports the same layers,
    times, energies, writes and lifetime as its replay of ESSIM's own trace of LeNet-5 with the
    same decisions (statistics equal except meta and the replay speed)."""
    a, b = f"{tmp}/own.trc", f"{tmp}/py.trc"
    sh("train", "--epochs", "1", "--policy", "essence", "--set", "train.train_limit=1024",
       "--set", "train.test_limit=64", "--trace", a, "-o", f"{tmp}/train")
    net = export(LeNet5(), torch.zeros(1, 1, 28, 28), "lenet5-torch").write(f"{tmp}/l.yaml")
    own = fmt.read_header(a)
    hdr = essim.setup(os.path.abspath(net), dataset="fashion-mnist", batch=64,
                      sets=["policy.name=essence"], essim=ESSIM).header
    _, recs, _, _ = fmt.read_trace(a)
    with fmt.TraceWriter(b, hdr) as w:
        for r in recs:
            w.append(r.iteration, r.epoch, r.lr, r.loss, r.masks)
    assert hdr.ops == own.ops and hdr.layers == own.layers
    out = {}
    for t in (a, b):
        sh("simulate", "--trace", t, "--config", f"{SRC}/configs/isaac-train.yaml", "-o",
           f"{t}.sim")
        j = json.load(open(f"{t}.sim/stats.json"))
        j.pop("meta")
        j.pop("replay")
        out[t] = j
    assert out[a] == out[b]
    assert out[a]["hw"]["energy_j"] > 0 and out[a]["writes"]["iterations"] == len(recs)


TESTS = {k[2:]: v for k, v in globals().items() if k.startswith("t_")}

if __name__ == "__main__":
    TESTS[sys.argv[1]](sys.argv[2])
