"""check_numpy.py - tests of essim_trace that need only NumPy and the essim program (run by
tests/cli/cli_python.sh): `python3 check_numpy.py TEST TMPDIR`, exit 0 when TEST passes.
$ESSIM is the essim binary, $ES_SRCDIR the source tree."""
import os
import subprocess
import sys

import numpy as np

SRC = os.environ.get("ES_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "python"))

from essim_trace import fmt, essim, mapping  # noqa: E402
from essim_trace.policy import Policy, PolicyConfig, solve_tau  # noqa: E402

ESSIM = os.environ.get("ESSIM", "./essim")


def sh(*args, check=True):
    p = subprocess.run([ESSIM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode:
        raise AssertionError(f"essim {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p


def rewrite(src, dst, header=None, **kw):
    """Read an ESSIM trace with the Python reader and write its decisions with the writer."""
    h, recs, foot, dmg = fmt.read_trace(src)
    assert dmg is None and foot["records"] == len(recs) > 0
    kw.setdefault("chunk_bytes", h.chunk_bytes)
    kw.setdefault("chunk_records", h.chunk_records)
    with fmt.TraceWriter(dst, header or h, **kw) as w:
        for r in recs:
            w.append(r.iteration, r.epoch, r.lr, r.loss, r.masks)
    return h, recs


def same_dump(a, b):
    da, db = sh("trace", "dump", a).stdout, sh("trace", "dump", b).stdout
    assert da and da == db, f"essim trace dump differs between {a} and {b}"
    assert "ok:" in sh("trace", "verify", b).stdout


def t_rewrite_synth(tmp):
    """An essim trace synth file (several chunks, every encoding) rewritten by the Python
    writer: the same bytes, header to trailer."""
    a, b = f"{tmp}/s.trc", f"{tmp}/s-py.trc"
    sh("trace", "synth", a, "--network", "lenet5", "--iterations", "700", "--density", "0.1",
       "--chunk-records", "128", "--seed", "5", "-q")
    rewrite(a, b)
    assert open(a, "rb").read() == open(b, "rb").read(), "Python rewrite is not byte-identical"
    same_dump(a, b)
    c, d = f"{tmp}/m.trc", f"{tmp}/m-py.trc"  # bare layers: none/all/bitmap/sparse, big varints
    sh("trace", "synth", c, "--blocks", "3,40,1000,70000", "--iterations", "60", "--density",
       "0.5", "--chunk-records", "16", "-q")
    rewrite(c, d)
    assert open(c, "rb").read() == open(d, "rb").read()


def t_rewrite_train(tmp):
    """Real ESSENCE decisions (essim train --trace) rewritten with a header of our own (other
    producer, chunking): the records dump byte for byte the same, verify accepts it, and its
    size is within 1.1x."""
    a, b = f"{tmp}/t.trc", f"{tmp}/t-py.trc"
    sh("train", "--epochs", "1", "--policy", "essence", "--set", "train.train_limit=2048",
       "--set", "train.test_limit=128", "--trace", a, "-o", f"{tmp}/train")
    h = fmt.read_header(a)
    assert h.version == (2, 1) and h.epoch_images == 2048, (h.version, h.epoch_images)
    h.producer = "essim_trace test"
    rewrite(a, b, header=h, chunk_records=10)
    same_dump(a, b)
    info = sh("trace", "info", b).stdout
    assert "2048 per epoch" in info, "the Python writer keeps the images per epoch"
    ratio = os.path.getsize(b) / os.path.getsize(a)
    assert ratio < 1.1, f"Python trace is {ratio:.3f}x ESSIM's"
    print(f"size ratio {ratio:.4f}")


def t_documented_reader(tmp):
    """The reader printed in docs/trace-format.md reads a Python-written trace."""
    a = f"{tmp}/d.trc"
    sh("trace", "synth", f"{tmp}/d0.trc", "--blocks", "3,40,1000", "--iterations", "100",
       "--density", "0.3", "--chunk-records", "32", "-q")
    rewrite(f"{tmp}/d0.trc", a, chunk_records=7)
    dump = f"{tmp}/d.dump"
    with open(dump, "w") as f:
        f.write(sh("trace", "dump", a).stdout)
    subprocess.run([sys.executable, f"{SRC}/tests/check_trace_reader.py",
                    f"{SRC}/docs/trace-format.md", a, dump], check=True)


def t_truncated(tmp):
    """A writer that dies mid-run (no close) leaves the complete chunks: verify names the
    truncation, simulate --salvage replays exactly the intact prefix; the default mode
    leaves PATH.part and no PATH."""
    h = essim.setup("lenet5", dataset="fashion-mnist", essim=ESSIM).header
    rng = np.random.default_rng(1)
    for direct in (True, False):
        p = f"{tmp}/k{int(direct)}.trc"
        w = fmt.TraceWriter(p, h, direct=direct, chunk_records=20)
        for i in range(55):  # chunks 0-19, 20-39 are complete; 40-54 die with the process
            w.append(i, 0, 0.05, 1.0, [rng.random(L.blocks) < 0.1 for L in h.layers])
        w.fp.flush()
        w.fp.close()  # as a kill would leave it: no last chunk, no footer
        f = p if direct else p + ".part"
        assert os.path.exists(f) and (direct or not os.path.exists(p))
        v = sh("trace", "verify", f, check=False)
        assert v.returncode == 1 and "the first 40 iterations (0-39) are intact" in v.stdout + v.stderr, v
        s = sh("simulate", "--trace", f, "--salvage", "-o", f"{tmp}/sim{int(direct)}", check=False)
        assert s.returncode == 0, s.stderr
        assert "40 iterations" in s.stdout + s.stderr, s.stdout + s.stderr


def t_writer_rejects(tmp):
    """Bad input to the writer: an index out of range, unsorted, a repeated iteration, a bad
    header; nothing is written for a rejected record."""
    h = essim.setup("lenet5", dataset="fashion-mnist", essim=ESSIM).header
    w = fmt.TraceWriter(f"{tmp}/r.trc", h)
    ok = [np.zeros(L.blocks, dtype=bool) for L in h.layers]
    w.append(0, 0, 0.1, 1.0, ok)
    for bad, what in (([np.array([25])] + ok[1:], "out of range"),
                      ([np.array([3, 2])] + ok[1:], "out of order")):
        try:
            w.append(1, 0, 0.1, 1.0, bad)
            raise AssertionError("accepted a bad mask")
        except fmt.TraceError as e:
            assert what in str(e) and "conv1" in str(e), e
    try:
        w.append(0, 0, 0.1, 1.0, ok)
        raise AssertionError("accepted a repeated iteration")
    except fmt.TraceError as e:
        assert "does not follow" in str(e)
    w.append(1, 0, 0.1, 1.0, ok)
    w.close()
    _, recs, foot, _ = fmt.read_trace(f"{tmp}/r.trc")
    assert [r.iteration for r in recs] == [0, 1] and foot["records"] == 2
    h.config_hash = "XYZ"
    try:
        fmt.TraceWriter(f"{tmp}/r2.trc", h)
        raise AssertionError("accepted a bad config hash")
    except fmt.TraceError as e:
        assert "16 lower-case hex" in str(e)


def t_header_matches_essim(tmp):
    """The header essim_trace builds (essim config show + essim map --ops --json) is the one
    essim writes for the same network and configuration, field for field."""
    a = f"{tmp}/h.trc"
    sh("trace", "synth", a, "--network", "resnet20", "--dataset", "cifar10", "--iterations",
       "1", "--set", "arch.xbar.slicing=within", "-q")
    ref = fmt.read_header(a)
    mine = essim.setup("resnet20", dataset="cifar10", sets=["arch.xbar.slicing=within"],
                       essim=ESSIM).header
    for f in ("network", "dataset", "config_hash", "config_yaml", "layers", "kind_names",
              "count_names", "ops"):
        assert getattr(mine, f) == getattr(ref, f), f"header field {f} differs"


def t_mapping(tmp):
    """Geometry.place gives essim map's layer table for several geometries and granularities,
    and block_index puts as many weights in block 0 as essim says."""
    geos = [[], ["arch.xbar.rows=64", "arch.xbar.cols=32"],
            ["arch.xbar.slicing=within", "arch.xbar.encoding=differential"],
            ["arch.xbar.bits_per_cell=4", "policy.granularity=crossbar", "arch.xbar.rows=100"],
            ["policy.granularity=weight", "arch.xbar.cols=256"]]
    import json
    for sets in geos:
        args = ["map", "--network", "resnet20", "--dataset", "cifar10", "--json",
                "--allow-overflow"]
        for s in sets:
            args += ["--set", s]
        j = json.loads(sh(*args).stdout)
        g = mapping.Geometry.from_map_json(j["geometry"])
        assert g.weights_per_row == j["geometry"]["weights_per_row"]
        assert g.slices == j["geometry"]["slices"]
        assert g.cells_per_slice == j["geometry"]["cells_per_slice"]
        for L in j["layers"]:
            mine = g.place(L["name"], L["k"], L["n"])
            assert (mine.row_tiles, mine.col_tiles, mine.slices, mine.blocks, mine.crossbars) == \
                (L["row_tiles"], L["col_tiles"], L["slices"], L["blocks"], L["xbars"]), (sets, L)
            bw = mapping.block_weights(mine, g.rows)
            assert bw.size == mine.blocks and bw.sum() == L["k"] * L["n"]
            assert bw[0] == L["weights_per_block"], (sets, L["name"], bw[0])
    # block order: row granularity, block g = j K + r holds W[r, j n_w : (j + 1) n_w]
    g = mapping.Geometry(rows=4, cols=3)
    L = g.place("x", 10, 7)  # n_w = 3 -> 3 column tiles
    bi = mapping.block_index(L, g.rows)  # (N, K)
    assert bi[0, 0] == 0 and bi[2, 9] == 9 and bi[3, 0] == 10 and bi[6, 4] == 2 * 10 + 4
    g = mapping.Geometry(rows=4, cols=3, granularity="crossbar")
    L = g.place("x", 10, 7)  # 3 row tiles x 3 col tiles, block j * row_tiles + t
    bi = mapping.block_index(L, g.rows)
    assert L.blocks == 9 and bi[0, 5] == 1 and bi[4, 9] == 1 * 3 + 2


def t_policy(tmp):
    """The density solve is exact; ssgp and essence write a fraction rho of the blocks on
    average; essence's most-written block is written less often than ssgp's at the same
    density (the point of its endurance term); sgd writes everything; dropped blocks get
    scale 0, kept ones 1 / max(p, p_min)."""
    rng = np.random.default_rng(7)
    a = rng.random(1000) ** 4
    for t in (1.0, 100.0, 600.0):
        tau = solve_tau(a, None, t)
        assert abs(np.minimum(1, a / tau).sum() - t) < 1e-9 * t
    assert solve_tau(np.array([0.0, 1.0]), None, 1.0) == 0.0  # unreachable: keep a > 0 blocks
    G, T = 400, 300
    imp = rng.random(G) ** 3 + 1e-3  # some blocks always matter more
    res = {}
    for name in ("ssgp", "essence", "sgd"):
        p = Policy(PolicyConfig(name=name, density=0.1), ["l"], [np.full(G, 4)], seed=3)
        frac = []
        for it in range(T):
            p.begin(it, 0)
            keep, scale = p.decide(0, imp * rng.random(G))
            frac.append(keep.mean())
            assert np.all(scale[~keep] == 0) and np.all(scale[keep] >= 1)
        res[name] = (np.mean(frac), p.count[0].max(), p.count[0].mean())
    assert res["sgd"] == (1.0, T, T)
    for name in ("ssgp", "essence"):
        assert abs(res[name][0] - 0.1) < 0.01, res
    assert res["essence"][1] < 0.8 * res["ssgp"][1], res
    print(res)


TESTS = {k[2:]: v for k, v in globals().items() if k.startswith("t_")}

if __name__ == "__main__":
    TESTS[sys.argv[1]](sys.argv[2])
