#!/usr/bin/env python3
"""Summarize the ESSENCE reproduction runs (validation/essence/out/NET/RUN/stats.json).

Writes, per network, validation/essence/results-NET.md (the table), results-NET.csv, and with
gnuplot installed the plots savings-vs-accuracy-NET.png and histograms-NET.png. Numbers are
the mean (and standard deviation) over seeds. With OUTROOT set (runs kept elsewhere) the files
go into OUTROOT instead, so a side experiment never overwrites the recorded tables; RESULTS=DIR
sends them to DIR (RESULTS=validation/essence to publish). Usage: summarize.py [NETWORK...]
"""
import csv, glob, json, math, os, re, shutil, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
# where the tables and plots go (see the docstring)
DEST = os.environ.get("RESULTS") or os.environ.get("OUTROOT") or HERE


def load(net):
    runs = []
    root = os.environ.get("OUTROOT") or os.path.join(HERE, "out")
    for path in sorted(glob.glob(os.path.join(root, net, "*", "stats.json"))):
        name = os.path.basename(os.path.dirname(path))
        m = re.match(r"(.+?)(?:-rho([0-9.]+))?-s(\d+)$", name)
        if not m:
            continue
        with open(path) as f:
            st = json.load(f)
        w, t = st["writes"], st["train"]
        runs.append(dict(policy=m.group(1), rho=float(m.group(2)) if m.group(2) else 1.0,
                         seed=int(m.group(3)), acc=t["test_accuracy_final"],
                         best=t["test_accuracy_best"], mean=w["mean"], max=w["max"],
                         p99=w["p99"], iters=w["iterations"], std=w["std"],
                         sav_mean=w["savings_mean_vs_sgd"], sav_max=w["savings_max_vs_sgd"],
                         sav_nz=w["savings_mean_vs_sgd_nonzero"],
                         hist=w["histogram"]))
    return runs


def ms(xs):
    n = len(xs)
    m = sum(xs) / n
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    return m, s


ORDER = {"sgd": 0, "threshold": 1, "ssgp": 2, "essence": 3, "essence-aggressive": 4}


def summarize(net):
    runs = load(net)
    if not runs:
        print(f"{net}: no finished runs")
        return
    groups = {}
    for r in runs:
        groups.setdefault((r["policy"], r["rho"]), []).append(r)
    rows = []
    for (pol, rho), rs in sorted(groups.items(), key=lambda kv: (ORDER.get(kv[0][0], 9), kv[0][1])):
        row = dict(policy=pol, rho=rho if pol != "sgd" else "", seeds=len(rs))
        for k in ("acc", "mean", "max", "p99", "sav_mean", "sav_max", "sav_nz"):
            row[k], row[k + "_sd"] = ms([r[k] for r in rs])
        row["iters"] = rs[0]["iters"]
        row["_runs"] = rs
        rows.append(row)
    sgd = next((r for r in rows if r["policy"] == "sgd"), None)
    # Accuracy against SGD paired by seed (same initial weights and data order): the spread
    # of the differences, not of the accuracies, says whether a gap is real.
    sgd_by_seed = {r["seed"]: r["acc"] for r in sgd["_runs"]} if sgd else {}
    for row in rows:
        d = [r["acc"] - sgd_by_seed[r["seed"]] for r in row["_runs"] if r["seed"] in sgd_by_seed]
        row["dacc"], row["dacc_sd"] = ms(d) if d else (float("nan"), float("nan"))
        del row["_runs"]
    md = [f"# ESSENCE reproduction: {net} on Fashion-MNIST\n",
          f"{len(runs)} runs; mean ± standard deviation over seeds; counts per weight position "
          f"over {rows[0]['iters']} iterations.\n",
          "| policy | rho | seeds | test acc (%) | Δacc vs SGD (paired by seed) | mean count | max count | p99 count | "
          "savings mean | savings max | savings vs skip-zeros SGD |",
          "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        dacc = f"{100 * r['dacc']:+.2f} ± {100 * r['dacc_sd']:.2f}" if sgd else ""
        md.append(f"| {r['policy']} | {r['rho']} | {r['seeds']} | {100 * r['acc']:.2f} ± {100 * r['acc_sd']:.2f} "
                  f"| {dacc} | {r['mean']:.1f} | {r['max']:.0f} ± {r['max_sd']:.0f} | {r['p99']:.0f} "
                  f"| {r['sav_mean']:.2f}x | {r['sav_max']:.2f}x | {r['sav_nz']:.2f}x |")
    with open(os.path.join(DEST, f"results-{net}.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(DEST, f"results-{net}.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print("\n".join(md))
    plot(net, rows, runs)


def plot(net, rows, runs):
    if not shutil.which("gnuplot"):
        print("(gnuplot not installed: no plots; apt-get install gnuplot-nox)")
        return
    dat = os.path.join(DEST, f"curve-{net}.dat")
    with open(dat, "w") as f:
        for pol in ("ssgp", "essence", "essence-aggressive", "sgd"):
            f.write(f"# {pol}\n")
            for r in rows:
                if r["policy"] == pol:
                    f.write(f"{r['sav_mean']} {100 * r['acc']} {100 * r['acc_sd']} {r['rho'] or 1}\n")
            f.write("\n\n")
    hdat = os.path.join(DEST, f"hist-{net}.dat")
    with open(hdat, "w") as f:
        for pol in ("ssgp", "essence", "essence-aggressive"):
            r = next((x for x in runs if x["policy"] == pol and x["rho"] == 0.1 and x["seed"] == 1), None)
            f.write(f"# {pol}\n")
            if r:
                h = r["hist"]
                width = (h["hi"] - h["lo"]) / len(h["buckets"])
                for i, b in enumerate(h["buckets"]):
                    f.write(f"{h['lo'] + (i + 0.5) * width} {b}\n")
            f.write("\n\n")
    script = f"""
set terminal pngcairo size 900,600 font ",11"
set output '{DEST}/savings-vs-accuracy-{net}.png'
set title '{net} on Fashion-MNIST: write savings vs accuracy (mean over seeds)'
set xlabel 'mean update count savings vs SGD (x)'
set ylabel 'test accuracy (%)'
set key bottom left
set grid
plot '{dat}' index 0 using 1:2:3 with yerrorlines title 'No Endurance (ssgp)', \\
     '' index 1 using 1:2:3 with yerrorlines title 'ESSENCE', \\
     '' index 2 using 1:2:3 with yerrorlines title 'ESSENCE aggressive', \\
     '' index 3 using 1:2:3 with yerrorbars pt 7 ps 2 title 'SGD'
set output '{DEST}/histograms-{net}.png'
set title '{net}: per-weight update counts at rho = 0.1 (seed 1)'
set xlabel 'update count'
set ylabel 'weights'
set logscale y
set style data histeps
plot '{hdat}' index 0 using 1:2 title 'No Endurance (ssgp)' lw 2, \\
     '' index 1 using 1:2 title 'ESSENCE' lw 2, \\
     '' index 2 using 1:2 title 'ESSENCE aggressive' lw 2
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(dat)
    os.remove(hdat)
    print(f"plots: savings-vs-accuracy-{net}.png histograms-{net}.png")


if __name__ == "__main__":
    for net in sys.argv[1:] or ["lenet5", "resnet20"]:
        summarize(net)
