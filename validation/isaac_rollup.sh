#!/bin/sh
# isaac_rollup.sh - ISAAC's area and power roll-up (issue 5): configs/isaac.yaml must add up to
# Table I of Shafiee et al., ISCA 2016 (65.8 W, 85.4 mm2) within 1%, with the peak throughput
# that follows from the organisation (one 128x128 16-bit MVM per IMA every 16 cycles of 100 ns,
# one MAC = 2 ops). Also prints what isaac-train.yaml's training units add, and the
# NeuroSim-V2-like preset. Takes well under a second; the result is in validation/README.md.
# Usage: sh validation/isaac_rollup.sh   (from the top of a built tree; ESSIM=path overrides)
set -eu
cd "$(dirname "$0")/.."
ESSIM=${ESSIM:-./essim}
PY=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/isaac-rollup-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for p in isaac isaac-train neurosim-v2; do
    "$ESSIM" config area-power "configs/$p.yaml" --json >"$tmp/$p.json"
done
"$ESSIM" config area-power configs/isaac.yaml

"$PY" - "$tmp" <<'PYEOF'
import json, os, sys
d = {p: json.load(open(os.path.join(sys.argv[1], p + ".json")))
     for p in ("isaac", "isaac-train", "neurosim-v2")}
i, t = d["isaac"], d["isaac-train"]
W, A = i["total"]["power_w"], i["total"]["area_mm2"]
tops = i["peak"]["ops_per_s"] / 1e12
want_tops = 168 * 12 * 128 * 128 * 2 / (16 * 100e-9) / 1e12
print()
print("ISAAC (configs/isaac.yaml)     power %.4f W (Table I 65.8, %+.3f%%)   area %.4f mm2 "
      "(Table I 85.4, %+.3f%%)" % (W, 100 * (W / 65.8 - 1), A, 100 * (A / 85.4 - 1)))
tw = i["tile"]["with_router_share"]
print("ISAAC tile with router share   power %.4f W (Table I 0.330)      area %.5f mm2 "
      "(Table I 0.372)" % (tw["power_w"], tw["area_mm2"]))
print("ISAAC peak                     %.4f Tops/s (organisation: %.4f)   %.4f Tops/s/W   "
      "%.4f Tops/s/mm2" % (tops, want_tops, tops / W, tops / A))
print("isaac-train                    power %.4f W (+%.4f)   area %.4f mm2 (+%.4f)"
      % (t["total"]["power_w"], t["total"]["power_w"] - W, t["total"]["area_mm2"],
         t["total"]["area_mm2"] - A))
for name in ("gu", "wdrv"):
    p = t["tile"][name]
    print("  per tile %-5s               power %.6f W x 168 = %.4f W   area %.6f mm2 x 168 = "
          "%.4f mm2" % (name, p["power_w"], 168 * p["power_w"], p["area_mm2"], 168 * p["area_mm2"]))
w = t["chip"]["write"]
print("  chip write budget            %d crossbars x %.4f mW = %.4f W" %
      (w["count"], 1e3 * w["power_w"] / w["count"], w["power_w"]))
n = d["neurosim-v2"]
print("neurosim-v2                    power %.4f W   area %.4f mm2   peak %.2f Tops/s"
      % (n["total"]["power_w"], n["total"]["area_mm2"], n["peak"]["ops_per_s"] / 1e12))
ok = abs(W / 65.8 - 1) < 0.01 and abs(A / 85.4 - 1) < 0.01 and abs(tops / want_tops - 1) < 1e-9
print("\nresult: %s" % ("PASS (within 1% of Table I)" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PYEOF
