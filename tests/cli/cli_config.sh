#!/bin/sh
# cli_config.sh - the `essim` command frame and `essim config`: help and version at every
# level, exit codes, the three classic configuration errors with line:column, atomic
# output, and the generated reference staying in sync with docs/configuration.md.
. "${ES_SRCDIR:-.}/tests/tap.sh"

run_essim --version; expect_rc "--version" 0
expect_grep "--version prints the version" "$TMP/out" "essim "
run_essim --help; expect_rc "--help" 0
expect_grep "--help lists config" "$TMP/out" "config"
run_essim; expect_rc "no command is a usage error" 2
run_essim frobnicate; expect_rc "unknown command" 2
expect_grep "unknown command message" "$TMP/err" "'frobnicate' is not an essim command"
run_essim config --help; expect_rc "config --help" 0
run_essim config show --help; expect_rc "config show --help" 0
expect_grep "config show --help mentions --set" "$TMP/out" "--set KEY=VALUE"
run_essim help config; expect_rc "help config" 0
run_essim config; expect_rc "config without subcommand" 2
run_essim config show --bogus; expect_rc "unknown option" 2

# The three errors of the issue: unknown key, bad unit, YAML syntax error.
printf 'version: 1\narch:\n  xbar:\n    rows: 128\n    colz: 128\n' >"$TMP/unknown.yaml"
printf 'version: 1\narch:\n  adc:\n    sample_rate: 1.28GV\n' >"$TMP/unit.yaml"
printf 'version: 1\narch:\n  xbar:\n    rows: [128\n' >"$TMP/syntax.yaml"
run_essim config show "$TMP/unknown.yaml"; expect_rc "unknown key exits 2" 2
expect_grep "unknown key at 5:5" "$TMP/err" "unknown.yaml:5:5: error: unknown key 'colz' in section arch.xbar (did you mean 'cols'?)"
tap_n=$((tap_n + 1)); if [ -s "$TMP/out" ]; then echo "not ok $tap_n - nothing on stdout after an error"; tap_fail=$((tap_fail+1)); else echo "ok $tap_n - nothing on stdout after an error"; fi
run_essim config show "$TMP/unit.yaml"; expect_rc "bad unit exits 2" 2
expect_grep "bad unit at 4:18" "$TMP/err" "unit.yaml:4:18: error: arch.adc.sample_rate: bad unit 'GV' in '1.28GV'"
run_essim config show "$TMP/syntax.yaml"; expect_rc "syntax error exits 2" 2
expect_grep "syntax error with line:col" "$TMP/err" "syntax.yaml:5:1: error: YAML syntax error"
run_essim config show /nonexistent.yaml; expect_rc "missing file exits 1" 1

# show: the dump is a valid input and reproduces itself; --set applies.
run_essim config show --set arch.xbar.rows=256 --set seed=5; expect_rc "show with --set" 0
cp "$TMP/out" "$TMP/dump.yaml"
expect_grep "override visible" "$TMP/dump.yaml" "rows: 256"
run_essim config show "$TMP/dump.yaml"; expect_rc "dump reloads" 0
ok "dump is a fixed point" cmp "$TMP/out" "$TMP/dump.yaml"
run_essim config check "$TMP/dump.yaml"; expect_rc "check ok" 0
expect_grep "check prints ok" "$TMP/out" ": ok (config hash "
run_essim config check; expect_rc "check without file" 2
# Buffer capacity: activations that overflow the eDRAM are a warning with the numbers, not an
# error (LeNet-5, batch 64: 430,688 bytes kept; 1KiB on each of the 83 weight tiles).
run_essim config check "${ES_SRCDIR:-.}/configs/isaac-train.yaml" --set arch.edram.size=1KiB; expect_rc "check with a small eDRAM is ok" 0
expect_grep "small eDRAM warns" "$TMP/err" "keeps 430688 bytes of activations for the backward pass; the eDRAM of its 83 weight tiles holds 84992 bytes"
expect_grep "cannot fit at all" "$TMP/err" "they cannot fit on chip at all: 345696 bytes spill to off-chip memory"
run_essim map --set arch.edram.size=1KiB; expect_rc "map with a small eDRAM is ok" 0
expect_grep "map warns too" "$TMP/err" "essim map: warning: training lenet5 with batch 64"
printf 'version: 1\narch:\n  adc:\n    cols_per_adc: 100\n' >"$TMP/badchip.yaml"
run_essim config check "$TMP/badchip.yaml"; expect_rc "check rejects an impossible chip" 2
expect_grep "impossible chip named at its key" "$TMP/err" "badchip.yaml:4:19: error: arch.adc.cols_per_adc = 100 does not divide arch.xbar.cols = 128"
run_essim config show --set arch.xbar.rows=0; expect_rc "--set out of range" 2
expect_grep "--set error names the override" "$TMP/err" "--set arch.xbar.rows=0: error: arch.xbar.rows = 0 is out of range [1, 8192]"

# -o writes atomically: a failing run leaves the previous file untouched.
run_essim config show -o "$TMP/saved.yaml"; expect_rc "show -o" 0
cp "$TMP/saved.yaml" "$TMP/saved.before"
run_essim config show "$TMP/unknown.yaml" -o "$TMP/saved.yaml"; expect_rc "failing show -o" 2
ok "previous output intact" cmp "$TMP/saved.yaml" "$TMP/saved.before"
ok "no temporary files left" sh -c "! ls '$TMP' | grep -q tmp"

# The reference is generated from the schema and docs/configuration.md holds it.
run_essim config reference; expect_rc "reference" 0
expect_grep "reference lists a key with unit" "$TMP/out" "arch.chip.xbar_cycle"
run_essim config reference --markdown; expect_rc "reference --markdown" 0
ok "docs/configuration.md is up to date (regenerate with scripts/gen-docs.sh)" \
    sh -c "sed -n '/^| key |/,/^\$/p' '$ES_SRCDIR/docs/configuration.md' | sed '/^\$/d' | cmp - '$TMP/out'"
tap_done
