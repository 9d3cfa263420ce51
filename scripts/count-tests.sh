#!/bin/bash
# count-tests.sh DIR... - count TAP results of `make check` runs (the .trs files automake's
# TAP driver leaves next to each test), print failing tests, and end with one line
# "N passed, N failed" (skipped checks are counted apart). Exit 1 if anything failed or no test ran.
passed=0
failed=0
skipped=0
for dir in "$@"; do
    while IFS= read -r trs; do
        p=$(grep -c '^:test-result: \(PASS\|XFAIL\)' "$trs")
        s=$(grep -c '^:test-result: SKIP' "$trs")
        skipped=$((skipped + s))
        f=$(grep -c '^:test-result: \(FAIL\|XPASS\|ERROR\)' "$trs")
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$f" -gt 0 ]; then
            log=${trs%.trs}.log
            echo "FAILED: $log"
            grep -E '^(not ok|Bail out)' "$log" | head -20
            grep -vE '^(ok|not ok|#|1\.\.)' "$log" | tail -15 | sed 's/^/    /' # e.g. a sanitizer report
        fi
    done < <(find "$dir" -name '*.trs' | sort)
done
# Skipped checks (a missing optional tool, root where a non-root user is needed) are not
# passes: they are named on a line of their own, before the summary line.
[ "$skipped" -gt 0 ] && echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
