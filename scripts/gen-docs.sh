#!/bin/sh
# gen-docs.sh - regenerate the parts of docs/ that come from the code:
# docs/configuration.md (the key table comes from `essim config reference --markdown`).
# Run from the top of a built tree: sh scripts/gen-docs.sh
set -eu
ESSIM=${ESSIM:-./essim}
out=docs/configuration.md
tmp=$out.tmp.$$
{
cat <<'HEAD'
# Configuration reference

ESSIM reads one YAML file (libyaml, YAML 1.1) plus `--set KEY=VALUE` overrides. This page is
generated from the schema in `sim/cfg_sections.c` by `scripts/gen-docs.sh`; a test fails when
it is out of date.

## The file

```yaml
version: 1              # required at the top of every file
preset: isaac           # optional: start from a built-in preset (configs/NAME.yaml) ...
include: my-base.yaml   # ... and/or from other files, relative to this one
seed: 7
arch:
  xbar:
    rows: 256           # overrides the preset's value; sibling keys are kept
  adc:
    sample_rate: 1.28GHz
```

- Precedence, lowest first: built-in defaults, `preset:`/`include:` files (in the order
  listed, merged key by key), the file itself, then each `--set` in command-line order.
- Quantities carry their unit in the value: `100ns`, `1.28GHz`, `16mW`, `0.5pJ`, `64KiB`,
  `0.0096mm2`, `2V`, `6kOhm`, `10fF`, `6.4GB/s`. A bare number is accepted only for `0`.
  Sizes use binary multiples (`KB` = `KiB` = 1024 B, as in the ISAAC paper); bandwidths use
  decimal ones (`GB/s` = 10^9 B/s).
- Fractions may be written as percentages (`50%`). Integers may use `_` separators or an
  integral exponent (`1_000_000`, `1e6`).
- Errors name the place: `file:line:col: error: ...` (for overrides, `--set KEY=VALUE: error:`).
  Unknown keys (with a suggestion), wrong types, bad units, values out of range, duplicate
  keys, YAML merge keys (`<<`), more than one document, a missing `version`, unknown presets
  and include cycles are all rejected; the command exits with status 2 and writes nothing.
- `essim config show [FILE] [--set ...]` prints the effective configuration; that output is
  itself a valid input file, and its hash (`config hash` in the first line and in every
  `stats.json`) identifies the configuration.

## Keys

Canonical units (what the table's unit column means and what statistics use): time in
picoseconds, frequency in hertz, power in watts, energy in picojoules, sizes in bytes, area
in mm^2, voltage in volts, resistance in ohms, capacitance in farads, bandwidth in bytes per
second.

HEAD
"$ESSIM" config reference --markdown
cat <<'TAIL'

Hardware defaults are ISAAC's (Shafiee et al., ISCA 2016, Table I; per-unit values are the
table's totals divided by the unit count); cell parameters follow NeuroSim's default RRAM cell;
endurance defaults are stated assumptions (see `hardware.md` in the design notes).
TAIL
} >"$tmp"
mv "$tmp" "$out"
echo "wrote $out"
