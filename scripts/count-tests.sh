#!/bin/bash
# count-tests.sh DIR... - count TAP results of `make check` runs (the .trs files automake's
# TAP driver leaves next to each test), print failing tests, and end with one line
# "N passed, N failed". Exit 1 if anything failed or no test ran.
passed=0
failed=0
for dir in "$@"; do
    while IFS= read -r trs; do
        p=$(grep -c '^:test-result: \(PASS\|XFAIL\|SKIP\)' "$trs")
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
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
