#!/bin/sh
# fuzz_smoke.sh - the libFuzzer targets of tests/fuzz build (clang, ASan + UBSan) and each runs
# for a couple of seconds from its seed corpus without a crash, leak, hang or an allocation over
# 512 MB. Skipped when clang is not installed. Longer runs: bash scripts/fuzz.sh --seconds N.
. "${ES_SRCDIR:-.}/tests/tap.sh"
targets="cfg set netdesc trace ckpt npy idx cifar"
if ! command -v clang >/dev/null 2>&1; then
    for t in $targets; do skip "fuzz target $t" "clang is not installed"; done
    tap_done
    exit
fi
out="$(pwd)/fuzz-build"
bash "$ES_SRCDIR/scripts/fuzz.sh" --build-only --out "$out" >"$TMP/build" 2>&1
rc=$?; expect_rc "fuzz targets build" 0
for t in $targets; do
    bash "$ES_SRCDIR/scripts/fuzz.sh" --seconds 2 --out "$out" $t >"$TMP/out" 2>&1
    rc=$?
    tap_n=$((tap_n + 1))
    if [ "$rc" -eq 0 ] && grep -q "^fuzz $t: [1-9][0-9]* execs" "$TMP/out"; then
        echo "ok $tap_n - fuzz target $t: $(head -1 "$TMP/out")"
    else
        echo "not ok $tap_n - fuzz target $t"; sed 's/^/# /' "$TMP/out"; tap_fail=$((tap_fail + 1))
    fi
done
tap_done
