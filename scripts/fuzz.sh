#!/bin/bash
# fuzz.sh - build and run ESSIM's libFuzzer targets (tests/fuzz: configuration loader with
# includes, --set, network descriptions, traces, checkpoints, .npy/.npz, IDX, CIFAR) under
# ASan + UBSan, each for N seconds from a seed corpus that tests/fuzz/make_seeds.sh writes.
#
#   bash scripts/fuzz.sh [--seconds N] [--build-only] [--out DIR] [TARGET...]
#
# Needs clang (Debian's `clang` package) and a configured tree (config.h). The corpus grows in
# DIR/corpus/TARGET (kept between runs); a crash leaves DIR/crash-TARGET-* and fails the run.
# Prints one line per target: "fuzz TARGET: N execs in S s, 0 crashes" (docs/fuzzing.md).
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
secs=30
out=$src/fuzz-build
build_only=
targets=
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds) secs=$2; shift ;;
    --out) out=$2; shift ;;
    --build-only) build_only=1 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option '$1'" >&2; exit 2 ;;
    *) targets="$targets $1" ;;
    esac
    shift
done
[ -n "$targets" ] || targets="cfg set netdesc trace ckpt npy idx cifar"
command -v clang >/dev/null || { echo "fuzz.sh: clang is not installed (apt-get install clang)" >&2; exit 3; }
cfgdir=$src
[ -f "$cfgdir/config.h" ] || cfgdir=$(pwd)
[ -f "$cfgdir/config.h" ] || { echo "fuzz.sh: no config.h: run ./configure first" >&2; exit 3; }

mkdir -p "$out"
make -s -f "$src/tests/fuzz/fuzz.mk" SRC="$src" OUT="$out" CONFIG_H_DIR="$cfgdir" \
    $(for t in $targets; do echo "$out/fuzz_$t"; done) >"$out/build.log" 2>&1 ||
    { cat "$out/build.log" >&2; echo "fuzz.sh: build failed" >&2; exit 1; }
[ -n "$build_only" ] && exit 0

essim=
[ -x "$cfgdir/essim" ] && essim=$cfgdir/essim
if [ ! -d "$out/seeds" ]; then
    bash "$src/tests/fuzz/make_seeds.sh" "$out/seeds" "$essim" || exit 1
fi
status=0
for t in $targets; do
    mkdir -p "$out/corpus/$t"
    log=$out/fuzz-$t.log
    # -rss_limit_mb: the 512 MB a hostile input of <= 1 MB may cost (issue 14); -timeout: a
    # hang is any input that takes more than 10 s. ASan's quarantine of freed memory is cut
    # from 256 MB to 16 MB (still about a hundred executions deep) and its allocation stacks to 5
    # frames: every execution allocates thousands of small blocks, and with the defaults each
    # one lands on a fresh page (page faults and memset were a third of the time). The fuzzers
    # run 1.3-1.8x faster (docs/fuzzing.md); an artifact is re-run with the defaults to report.
    ASAN_OPTIONS=${ESSIM_FUZZ_ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:quarantine_size_mb=16:malloc_context_size=5} \
        UBSAN_OPTIONS=print_stacktrace=1 \
        "$out/fuzz_$t" "$out/corpus/$t" "$out/seeds/$t" -max_total_time="$secs" -max_len=65536 \
        -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=10 -artifact_prefix="$out/crash-$t-" \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    crashes=$(ls "$out"/crash-"$t"-* 2>/dev/null | wc -l)
    echo "fuzz $t: ${execs:-0} execs in $secs s, $crashes crashes (exit $rc)"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status=1
        grep -m 5 -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | sed 's/^/  /'
    fi
done
exit $status
