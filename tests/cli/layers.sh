#!/bin/bash
# layers.sh - the include rule of docs/hacking.md holds for the tree (scripts/check-layers.sh),
# and the check does catch a back-arrow: a copy of the tree with one wrong include fails,
# naming the file, the line and the include.
. "${ES_SRCDIR:-.}/tests/tap.sh"
src=$ES_SRCDIR

ok "every include in sim/ traces/ arch/ workloads/ cli/ points down or sideways" \
    bash "$src/scripts/check-layers.sh" "$src"

# A copy with arch/ including a workloads/ header: the check must fail and print the line.
mkdir -p "$TMP/tree"
for d in sim traces arch workloads cli; do cp -r "$src/$d" "$TMP/tree/"; done
rm -f "$TMP"/tree/*/*.o
printf '#include "nn_net.h"\n' >>"$TMP/tree/arch/adc.h"
line=$(wc -l <"$TMP/tree/arch/adc.h")
bash "$src/scripts/check-layers.sh" "$TMP/tree" >"$TMP/out" 2>&1
rc=$?
expect_rc "a wrong include fails the check" 1
expect_grep "the message names the file, line and include" "$TMP/out" \
    "arch/adc.h:$line: #include \"nn_net.h\" -- arch/ may not include workloads/"

# The same header name in two layers is ambiguous.
cp "$TMP/tree/arch/adc.h" "$TMP/tree/cli/adc.h"
bash "$src/scripts/check-layers.sh" "$TMP/tree" >"$TMP/out" 2>&1
rc=$?
expect_rc "a header name in two layers fails the check" 1
expect_grep "and says which" "$TMP/out" "cli/adc.h: header name also in arch/"
tap_done
