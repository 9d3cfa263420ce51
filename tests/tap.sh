# tap.sh - TAP helpers for the shell tests (sourced). Uses $ESSIM (the built binary) and
# $ES_SRCDIR (the source tree), both set by `make check`.
: "${ESSIM:=./essim}"
: "${ES_SRCDIR:=.}"
tap_n=0
tap_fail=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/essim-sh-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { # ok DESCRIPTION COMMAND... : passes when the command succeeds
    desc=$1; shift
    tap_n=$((tap_n + 1))
    if "$@" >/dev/null 2>&1; then echo "ok $tap_n - $desc"; else echo "not ok $tap_n - $desc"; tap_fail=$((tap_fail + 1)); fi
}

# run_essim ARGS... : runs essim, leaving stdout in $TMP/out, stderr in $TMP/err, status in $rc
run_essim() {
    "$ESSIM" "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

expect_rc() { # expect_rc DESCRIPTION WANT
    tap_n=$((tap_n + 1))
    if [ "$rc" -eq "$2" ]; then echo "ok $tap_n - $1 (exit $rc)"; else
        echo "not ok $tap_n - $1 (exit $rc, want $2)"; sed 's/^/# /' "$TMP/err"; tap_fail=$((tap_fail + 1)); fi
}

expect_grep() { # expect_grep DESCRIPTION FILE FIXED-STRING
    tap_n=$((tap_n + 1))
    if grep -qF -- "$3" "$2"; then echo "ok $tap_n - $1"; else
        echo "not ok $tap_n - $1: '$3' not in $2"; sed 's/^/# /' "$2" | head -20; tap_fail=$((tap_fail + 1)); fi
}

tap_done() {
    echo "1..$tap_n"
    [ "$tap_fail" -eq 0 ]
}

skip() { # skip DESCRIPTION REASON : a check that cannot run here (counted as a skip, not a pass)
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $1 # SKIP $2"
}
