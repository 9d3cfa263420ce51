#!/bin/bash
# setup.sh - make a fresh Debian 12 machine ready for ESSIM, build it, and optionally run the
# main job or the test suite. The one place that knows ESSIM's system dependencies: README
# command (1) and (2) and .ci/run all come through here.
#
#   bash scripts/setup.sh            install missing packages (apt-get), configure, build
#   bash scripts/setup.sh --run      ... then run the main job on the built-in default
#   bash scripts/setup.sh --check    ... then run the whole test suite (make check, with PyTorch
#                                    for the Python front end) and print one line "N passed, N failed"
#   bash scripts/setup.sh --bench    ... also install the PyTorch peer for the benchmarks
# Options: --werror (warnings are errors, as in CI), --jobs N.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=build
werror=
bench=
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
    case "$1" in
    --run) mode=run ;;
    --check) mode=check ;;
    --bench) bench=1 ;;
    --werror) werror=--enable-werror ;;
    --jobs) jobs=$2; shift ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

# Build tools and libraries; the dataset; numpy checks the .npy/.npz files ESSIM writes;
# Open MPI lets `essim sweep` spread points over machines; gnuplot draws the plots of
# `essim report`, and headless Chromium checks in `make check` that its page renders; clang
# builds the libFuzzer targets of tests/fuzz (scripts/fuzz.sh, a short run in `make check`).
packages="build-essential autoconf automake libtool pkg-config libyaml-dev zlib1g-dev
libopenblas-dev libdnnl-dev dataset-fashion-mnist python3 python3-numpy gnuplot-nox
openmpi-bin libopenmpi-dev chromium clang"
# PyTorch: the test suite runs the PyTorch front end's tests (tests/cli/cli_python.sh skips
# them without it); the benchmarks compare against PyTorch.
[ "$mode" = check ] && packages="$packages python3-torch"
[ -n "$bench" ] && packages="$packages python3-torch hyperfine"

missing=
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    sudo=
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    autoreconf -fi
fi
if [ ! -f Makefile ] || [ configure -nt config.status ]; then
    ./configure $werror
fi
make -j"$jobs"

case "$mode" in
run)
    # The main job on the built-in default: `essim run` with no configuration runs the preset
    # run-default.yaml, LeNet-5 trained on Fashion-MNIST with ESSENCE deciding the crossbar
    # writes, every iteration executed on the isaac-train chip (time, energy, wear, lifetime).
    ./essim run -o essim-out/run --trace essim-out/run.trc
    ;;
check)
    status=0
    make -j"$jobs" check >/dev/null 2>&1 || status=$?
    bash scripts/count-tests.sh .
    exit $status
    ;;
esac
