#!/bin/sh
# cli_python.sh - the PyTorch front end (python/essim_trace): the trace writer against ESSIM's
# own traces (byte-identical rewrite, dumps, the documented reader, a killed writer's prefix,
# bad input), the mapping rules against `essim map --json`, the write policies; then, with
# PyTorch, the exporter (presets map alike, unmappable modules named), the recorder and the
# policies applied in PyTorch, a geometry mismatch, and equal replays. Uses Debian's python3
# (/usr/bin/python3) when present, else python3 on PATH; $PYTHON overrides.
. "${ES_SRCDIR:-.}/tests/cli/../tap.sh"

PY=${PYTHON:-}
if [ -z "$PY" ]; then
    if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
fi
PYT="$ES_SRCDIR/python/tests"
ESSIM=$(cd "$(dirname "$ESSIM")" && pwd)/$(basename "$ESSIM")
export ESSIM ES_SRCDIR

# pyok DESCRIPTION SCRIPT TEST: one Python test in its own directory; its output on failure
pyok() {
    tap_n=$((tap_n + 1))
    d="$TMP/$3"
    mkdir -p "$d"
    if "$PY" "$PYT/$2" "$3" "$d" >"$d.log" 2>&1; then echo "ok $tap_n - $1"; else
        echo "not ok $tap_n - $1"; sed 's/^/# /' "$d.log" | tail -25; tap_fail=$((tap_fail + 1)); fi
}
skip() {
    tap_n=$((tap_n + 1))
    echo "ok $tap_n # SKIP $1"
}

if ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
    skip "python/essim_trace: $PY has no NumPy (apt-get install python3-numpy)"
    tap_done
    exit
fi

pyok "writer: rewriting an essim trace synth file gives the same bytes" check_numpy.py rewrite_synth
pyok "writer: real ESSENCE decisions rewritten dump identically, size within 1.1x" check_numpy.py rewrite_train
pyok "writer: the reader printed in docs/trace-format.md reads a Python trace" check_numpy.py documented_reader
pyok "writer: a killed writer leaves its complete chunks; simulate --salvage replays them" check_numpy.py truncated
pyok "writer: bad masks, a repeated iteration and a bad header are refused" check_numpy.py writer_rejects
pyok "header: the one essim trace synth writes, field for field" check_numpy.py header_matches_essim
pyok "mapping: Geometry.place and block_index agree with essim map --json" check_numpy.py mapping
pyok "policies: exact density solve; essence spares the most-written blocks" check_numpy.py policy

if "$PY" -c 'import torch, torch.fx' >/dev/null 2>&1; then
    pyok "export: LeNet-5 and ResNet-20 in PyTorch map and compile like the presets" check_torch.py export_presets
    pyok "export: a non-preset network (projection shortcut, avgpool, bn1d) maps" check_torch.py export_custom
    pyok "export: unmappable modules and graphs are named" check_torch.py unmappable
    pyok "recorder: the changed blocks at two geometries, computed independently" check_torch.py recorder_changed
    pyok "recorder: ESSENCE applied in PyTorch keeps dropped blocks bit for bit" check_torch.py recorder_policy
    pyok "replay: a geometry mismatch is refused with essim's message; a wrong dataset too" check_torch.py mismatch
    pyok "replay: PyTorch-exported LeNet-5 replays exactly like ESSIM's own" check_torch.py replay_same
else
    skip "python/essim_trace with PyTorch: $PY cannot import torch (apt-get install python3-torch, or bash scripts/setup.sh)"
fi
tap_done
