#!/bin/sh
# cli_arch.sh - `essim config area-power`: the roll-up table and its JSON on every preset, the
# ISAAC totals against Table I, the defaults being isaac-train, impossible configurations
# rejected with file:line:col and exit status 2, and usage errors.
. "${ES_SRCDIR:-.}/tests/tap.sh"
CFG="$ES_SRCDIR/configs"
PY=/usr/bin/python3

# Every preset is a clean configuration and rolls up.
for p in isaac isaac-train neurosim-v2 puma pipelayer; do
    run_essim config check "$CFG/$p.yaml"; expect_rc "check $p" 0
    run_essim config area-power "$CFG/$p.yaml"; expect_rc "area-power $p" 0
    expect_grep "$p: table header" "$TMP/out" "level component     count     area_mm2      power_w    leakage_w  spec"
    expect_grep "$p: named" "$TMP/out" "area and power roll-up of '$p'"
    expect_grep "$p: ima total" "$TMP/out" "ima   total"
    expect_grep "$p: tile total" "$TMP/out" "tile  total"
    expect_grep "$p: chip total" "$TMP/out" "chip  total"
    expect_grep "$p: peak throughput" "$TMP/out" "peak throughput: "
    cp "$TMP/out" "$TMP/$p.txt"
    run_essim config area-power "$CFG/$p.yaml" --json; expect_rc "area-power $p --json" 0
    cp "$TMP/out" "$TMP/$p.json"
done

# ISAAC as published: Table I's rows and totals.
expect_grep "isaac: 8 ADCs" "$TMP/isaac.txt" "ima   adc               8       0.0096        0.016"
expect_grep "isaac: IMA total 24.08 mW" "$TMP/isaac.txt" "ima   total             1      0.01312      0.02408"
expect_grep "isaac: 12 IMAs" "$TMP/isaac.txt" "tile  ima              12      0.15744      0.28896"
expect_grep "isaac: tile with router share" "$TMP/isaac.txt" "tile with its router share: 0.37234 mm2, 0.32981 W"
expect_grep "isaac: total" "$TMP/isaac.txt" "total: 85.4331 mm2, 65.8081 W"
expect_grep "isaac: peak" "$TMP/isaac.txt" "peak throughput: 41.2877 Tops/s"
ok "isaac: no training units" sh -c "! grep -qE '^tile  (gu|wdrv)|^chip  write' '$TMP/isaac.txt'"
expect_grep "isaac-train: gradient unit" "$TMP/isaac-train.txt" "tile  gu"
expect_grep "isaac-train: write budget" "$TMP/isaac-train.txt" "chip  write            64"
expect_grep "neurosim-v2: flash ADCs, 8 columns each" "$TMP/neurosim-v2.txt" "6-bit flash, 1 GS/s, 8 columns each"
# Where each cost comes from: ISAAC's crossbar at its calibration point, the ADC by its FOM.
expect_grep "isaac: crossbar calibrated" "$TMP/isaac.txt" "  ima   xbar       calibrated at 128x128, 30 pJ/read (k = 0.04364)"
expect_grep "isaac: ADC by Walden FOM" "$TMP/isaac.txt" "  ima   adc        Walden: fom 5.493 fJ x 2^8 = 1.406 pJ/conversion x rate"
expect_grep "isaac: registers at their size" "$TMP/isaac.txt" "  ima   in_reg     given at 2048 B"
expect_grep "isaac: one MVM" "$TMP/isaac.txt" "one MVM on an IMA (8 crossbars, 16-bit inputs): 1700.78 ns"
run_essim config area-power "$CFG/isaac.yaml" --set arch.xbar.rows=256 --set arch.ima.in_reg.size=8KiB
expect_grep "a 256-row crossbar is scaled" "$TMP/out" "  ima   xbar       scaled from 128x128 calibration: 60 pJ/read (k = 0.04364), area x2"
expect_grep "an 8 KiB register is scaled" "$TMP/out" "  ima   in_reg     scaled from 2048 B: energy x2, area x4"
run_essim config area-power "$CFG/isaac.yaml" --set arch.adc.sample_rate=0.64GHz
expect_grep "half the ADC rate: half its dynamic power" "$TMP/out" "ima   adc               8       0.0096       0.0088       0.0016"
expect_grep "PUMA's MVM" "$TMP/puma.txt" "one MVM on an IMA (8 crossbars, 16-bit inputs): 2177 ns"

# The defaults are isaac-train: same roll-up, same effective configuration.
run_essim config area-power; expect_rc "area-power with the defaults" 0
ok "defaults roll up as isaac-train" cmp "$TMP/out" "$TMP/isaac-train.txt"
run_essim config show; cp "$TMP/out" "$TMP/defaults.yaml"
run_essim config show "$CFG/isaac-train.yaml"
ok "defaults are isaac-train" cmp "$TMP/out" "$TMP/defaults.yaml"

# JSON: parse it and check the keys and the ISAAC totals within 1%.
if [ -x "$PY" ]; then
    for p in isaac isaac-train neurosim-v2; do
        ok "$p --json parses with the documented keys" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("total", "ima", "tile", "chip", "peak", "write"):
    assert k in d, k
for lvl in ("ima", "tile", "chip"):
    assert "total" in d[lvl], lvl
    for name, part in d[lvl].items():
        for f in ("area_mm2", "power_w", "leakage_w"):
            assert f in part, (lvl, name, f)
assert abs(d["total"]["area_mm2"] - d["chip"]["total"]["area_mm2"]) < 1e-9
parts = [v["power_w"] for k, v in d["chip"].items() if k != "total"]
assert abs(sum(parts) - d["total"]["power_w"]) < 1e-9 * d["total"]["power_w"]
assert d["peak"]["tops"] > 0 and d["name"] == sys.argv[2]
' "$TMP/$p.json" "$p"
    done
    ok "isaac --json: 65.8 W and 85.4 mm2 within 1%, 41.3 Tops/s" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert abs(d["total"]["power_w"] / 65.8 - 1) < 0.01, d["total"]
assert abs(d["total"]["area_mm2"] / 85.4 - 1) < 0.01, d["total"]
assert abs(d["peak"]["ops_per_s"] - 4.128768e13) < 1e3, d["peak"]
assert d["training"] is False and d["chip"]["noc"]["count"] == 42
assert abs(d["ima"]["adc"]["power_w"] - 0.016) < 1e-12
' "$TMP/isaac.json"
    ok "isaac-train --json: the training units add area and power" "$PY" -c '
import json, sys
i = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))
assert t["total"]["area_mm2"] > i["total"]["area_mm2"] and t["total"]["power_w"] > i["total"]["power_w"]
assert "gu" in t["tile"] and "wdrv" in t["tile"] and "write" in t["chip"] and "gu" not in i["tile"]
assert t["write"]["concurrency"] == 64 and t["write"]["row_latency_ps"] == 208000
' "$TMP/isaac.json" "$TMP/isaac-train.json"
else
    skip "JSON checks" "/usr/bin/python3 not found"
fi

# --set applies before the roll-up.
run_essim config area-power "$CFG/isaac.yaml" --set arch.chip.tiles=84; expect_rc "--set tiles" 0
expect_grep "--set halves the tiles" "$TMP/out" "chip  tiles            84"

# Impossible configurations: exit 2, nothing on stdout, the key's position and what to do.
printf 'version: 1\narch:\n  adc:\n    cols_per_adc: 3\n' >"$TMP/cpa.yaml"
run_essim config area-power "$TMP/cpa.yaml"; expect_rc "columns per ADC not dividing the columns" 2
expect_grep "cols_per_adc at 4:19 with divisors" "$TMP/err" "cpa.yaml:4:19: error: arch.adc.cols_per_adc = 3 does not divide arch.xbar.cols = 128 (an ADC serves columns of one crossbar): use 128, 64, 32, 16 or 8"
tap_n=$((tap_n + 1)); if [ -s "$TMP/out" ]; then echo "not ok $tap_n - nothing on stdout after an error"; tap_fail=$((tap_fail+1)); else echo "ok $tap_n - nothing on stdout after an error"; fi
run_essim config area-power --set arch.adc.cols_per_adc=0; expect_rc "zero ADCs" 2
expect_grep "zero ADCs named" "$TMP/err" "--set arch.adc.cols_per_adc=0: error: arch.adc.cols_per_adc = 0 leaves the crossbars with zero ADCs"
printf 'version: 1\narch:\n  wdrv:\n    per_chip: 0\n' >"$TMP/budget.yaml"
run_essim config area-power "$TMP/budget.yaml" --json; expect_rc "a write budget of zero" 2
expect_grep "write budget at 4:15" "$TMP/err" "budget.yaml:4:15: error: arch.wdrv.per_chip = 0: a write budget of zero"
run_essim config area-power "$CFG/isaac.yaml" --set arch.wdrv.per_chip=0; expect_rc "no budget needed on an inference chip" 0
run_essim config area-power --set arch.noc.ports=5; expect_rc "too few router ports" 2
expect_grep "ports message" "$TMP/err" "raise arch.noc.ports to at least 8"
run_essim config area-power --set arch.xbar.rows=0; expect_rc "schema range error" 2

# Usage.
run_essim config area-power --bogus; expect_rc "unknown option" 2
run_essim config area-power a.yaml b.yaml; expect_rc "two files" 2
run_essim config area-power /nonexistent.yaml; expect_rc "missing file" 1
run_essim config area-power --help; expect_rc "--help" 0
expect_grep "help mentions area-power" "$TMP/out" "essim config area-power [FILE] [--set KEY=VALUE]... [--json]"
# A key replaced by a formula's key (issue 12) says what replaced it.
printf 'version: 1\narch:\n  adc:\n    power: 2mW\n' >"$TMP/old.yaml"
run_essim config area-power "$TMP/old.yaml"; expect_rc "a replaced key" 2
expect_grep "a replaced key names its replacement" "$TMP/err" "old.yaml:4:5: error: 'arch.adc.power' was replaced (issue 12, component costs that follow the geometry): use arch.adc.fom"
tap_done
