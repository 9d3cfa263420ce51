#!/bin/bash
# check-layers.sh [ROOT] - the layering rule of docs/hacking.md: a file in one of the layer
# folders may include headers of its own layer and the layers below it, never above:
#     sim  <  traces  <  arch  <  workloads  <  cli
# Prints every offending include as FILE:LINE: ... and exits 1 if there is one; also fails
# when two layer folders hold headers of the same name (an include would be ambiguous).
# tests/ and bench/ may include anything. Run by `make check` (tests/cli/layers.sh).
set -u
root=${1:-.}
cd "$root" || exit 2
layers="sim traces arch workloads cli"

declare -A rank owner
r=0
for d in $layers; do rank[$d]=$r; r=$((r + 1)); done
status=0
for d in $layers; do
    for h in "$d"/*.h; do
        [ -e "$h" ] || continue
        b=${h##*/}
        if [ -n "${owner[$b]:-}" ]; then
            echo "$h: header name also in ${owner[$b]}/ (includes would be ambiguous)"
            status=1
        fi
        owner[$b]=$d
    done
done
n=0
for d in $layers; do
    for f in "$d"/*.c "$d"/*.h; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        while IFS=: read -r line text; do
            inc=${text#*\"}; inc=${inc%%\"*}
            o=${owner[${inc##*/}]:-}
            [ -n "$o" ] || continue   # a system or generated header (config.h)
            if [ "${rank[$o]}" -gt "${rank[$d]}" ]; then
                echo "$f:$line: $text -- $d/ may not include $o/ (layers: $layers)"
                status=1
            fi
        done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
    done
done
[ "$status" -eq 0 ] && echo "layers: $n files, every include points down or sideways"
exit $status
