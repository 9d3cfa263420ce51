#!/bin/sh
# cli_report.sh - `essim report`: the HTML page of a repeated run, a single run and a sweep
# (every section id, one embedded PNG per plot, nothing fetched from the network, the
# lifetime curve agreeing with the simulator's own estimate), the page opened in headless
# Chromium (sections in the DOM, every image decoded; with ESSIM_UPDATE_DOCS=1 its screenshot
# replaces docs/img/report-run.png), and the error paths: usage, a missing directory, one without
# statistics, a corrupt stats.csv, gnuplot missing. Skipped without gnuplot; the Chromium
# part is skipped without chromium.
. "${ES_SRCDIR:-.}/tests/tap.sh"
PY=/usr/bin/python3

if ! command -v gnuplot >/dev/null 2>&1; then
    echo "1..0 # SKIP gnuplot is not installed (apt-get install gnuplot-nox)"
    exit 0
fi


# ---- usage and error paths --------------------------------------------------------------
run_essim report --help; expect_rc "report --help" 0
expect_grep "help names the sections" "$TMP/out" "heatmaps (per layer)"
run_essim report; expect_rc "report without a directory" 2
run_essim report --bogus "$TMP"; expect_rc "report: unknown option" 2
run_essim report "$TMP/a" "$TMP/b"; expect_rc "report with two directories" 2

run_essim report "$TMP/nonexistent"; expect_rc "report of a missing directory" 1
expect_grep "says the directory is missing" "$TMP/err" "nonexistent: No such file or directory"

mkdir -p "$TMP/empty"
run_essim report "$TMP/empty"; expect_rc "report of a directory without statistics" 1
expect_grep "says it is not an essim output" "$TMP/err" "no stats.csv, run-1/stats.csv or results.csv"
ok "no page written for it" test ! -e "$TMP/empty/report.html"

mkdir -p "$TMP/corrupt"
printf 'name,element,value,unit\nhw.time_s,,1.5,s\nhw.energy_j,,twelve,J\n' >"$TMP/corrupt/stats.csv"
run_essim report "$TMP/corrupt"; expect_rc "report of a corrupt stats.csv" 1
expect_grep "names file, line and value" "$TMP/err" "stats.csv:3: value 'twelve' of hw.energy_j is not a number"
printf 'this is not,a stats file\n' >"$TMP/corrupt/stats.csv"
run_essim report "$TMP/corrupt"; expect_rc "report of a stats.csv with a wrong header" 1
expect_grep "says the header is wrong" "$TMP/err" "header is not 'name,element,value,unit'"
printf 'name,element,value,unit\nhw.time_s,,"1.5\n' >"$TMP/corrupt/stats.csv"
run_essim report "$TMP/corrupt"; expect_rc "report of a truncated stats.csv" 1
expect_grep "says the quote is unterminated" "$TMP/err" "unterminated quoted field"
ok "no page or temporary left" sh -c "! ls '$TMP/corrupt' | grep -q report"

# ---- a repeated run ---------------------------------------------------------------------
SYN="--dataset synthetic --set train.synthetic_train=256 --set train.synthetic_test=64 --batch 32 --epochs 3 -q"
WEAR="--set arch.cell.endurance_mean=30 --set arch.cell.endurance_sigma_log10=0.2"
run_essim run $SYN $WEAR --repeat 2 -o "$TMP/rr"; expect_rc "run --repeat 2 (input of the report)" 0

run_essim report "$TMP/nonexistent-too" --gnuplot "$TMP/no/gnuplot"
expect_rc "missing directory is reported before gnuplot" 1
run_essim report "$TMP/rr" --gnuplot "$TMP/no/gnuplot"; expect_rc "report without gnuplot" 1
expect_grep "says to install gnuplot-nox" "$TMP/err" "apt-get install gnuplot-nox"
ok "gnuplot missing from PATH is the same error" sh -c \
    "PATH=/nonexistent '$ESSIM' report '$TMP/rr' 2>&1 | grep -q 'gnuplot not found'"

run_essim report "$TMP/rr"; expect_rc "report of a repeated run" 0
expect_grep "says what it wrote" "$TMP/out" "repeated-run report of $TMP/rr written to $TMP/rr/report.html"
H="$TMP/rr/report.html"
for id in summary energy time writes heatmaps lifetime training config repeat; do
    expect_grep "section id=$id" "$H" "<section id=\"$id\">"
done
expect_grep "title from the run" "$H" "<title>ESSIM report: lenet5 on synthetic, essence</title>"
expect_grep "summary has a column per run" "$H" "<th>run 2</th>"
ok "no temporary beside the page" sh -c "! ls '$TMP/rr' | grep -q 'report.html.tmp'"
ok "one PNG per plot, each in its section, nothing from the network" $PY -c "
import re, base64
h = open('$H').read()
assert not re.search(r'https?://', h), 'network reference'
assert not re.search(r'(src|href)=\"(?!data:|#)', h), 'reference to another file'
secs = dict(re.findall(r'<section id=\"(\w+)\">(.*?)</section>', h, re.S))
want = {'energy': 2, 'time': 2, 'writes': 2, 'heatmaps': 5, 'lifetime': 1, 'training': 2, 'repeat': 1}
for s, n in want.items():
    imgs = re.findall(r'<img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"', secs[s])
    assert len(imgs) == n, (s, len(imgs), n)
    for b in imgs:
        png = base64.b64decode(b, validate=True)
        assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 2000, s
for layer in ('conv1', 'conv2', 'fc1', 'fc2', 'fc3'):
    assert 'alt=\"heat map of layer %s\"' % layer in secs['heatmaps'], layer
"
ok "lifetime curve crosses 1% and 10% within 15% of the simulator's estimate" $PY -c "
import re
h = open('$H').read()
for tag in ('lifetime-1pct', 'lifetime-10pct'):
    m = re.search(r'<tr id=\"%s\" data-curve=\"([^\"]+)\" data-simulated=\"([^\"]+)\"' % tag, h)
    c, s = float(m.group(1)), float(m.group(2))
    assert s > 0 and abs(c - s) / s < 0.15, (tag, c, s)
"
ok "summary shows both runs' accuracy from repeat.csv's runs" $PY -c "
import csv, re
h = open('$H').read()
rows = list(csv.DictReader(open('$TMP/rr/repeat.csv')))
for r in rows:
    assert '%.2f %%' % (100 * float(r['test_accuracy'])) in h, r
"

# A single run, with -o and --title.
run_essim report "$TMP/rr/run-1" -o "$TMP/one.html" --title 'Run <1> & co' -q
expect_rc "report of a single run with -o and --title" 0
ok "quiet: nothing printed" test ! -s "$TMP/out"
expect_grep "title escaped" "$TMP/one.html" "<title>Run &lt;1&gt; &amp; co</title>"
ok "single run: no repeat section, the rest present" sh -c \
    "! grep -q 'id=\"repeat\"' '$TMP/one.html' && grep -q 'id=\"heatmaps\"' '$TMP/one.html' && grep -q 'id=\"lifetime\"' '$TMP/one.html'"
expect_grep "written fraction per iteration (iterations.csv)" "$TMP/one.html" 'alt="Fraction of weights written per iteration"'
# without iterations.csv (an output of an older essim) the per-epoch means stand in
mkdir -p "$TMP/old" && cp "$TMP/rr/run-1/stats.csv" "$TMP/rr/run-1/epochs.csv" "$TMP/old/"
run_essim report "$TMP/old" -q; expect_rc "report of a run without iterations.csv" 0
expect_grep "written fraction per epoch instead" "$TMP/old/report.html" 'alt="Fraction of weights written per epoch"'
printf 'iteration,epoch\n0,0\n' >"$TMP/old/iterations.csv"
run_essim report "$TMP/old" -q; expect_rc "report of an iterations.csv without its column" 1
expect_grep "names the missing column" "$TMP/err" "iterations.csv: no 'iteration' and 'written_fraction' columns"

# ---- sweeps -----------------------------------------------------------------------------
# A fake minimal sweep directory: results.csv only (no results.json, no points).
mkdir -p "$TMP/fake"
cat >"$TMP/fake/results.csv" <<'EOF'
index,status,exit,arch.xbar.rows,policy.name,seed,hw.time_s,hw.energy_j,train.test_accuracy_final,lifetime.runs_to_first_failure,pareto,error
0,ok,0,64,sgd,11,2.5,1.25,0.81,1000,1,
1,ok,0,64,essence,12,2.0,1.5,0.78,9000,1,
2,ok,0,128,sgd,13,3.0,1.75,0.80,1200,0,
3,failed,1,128,essence,14,,,,,,"points/0003: out of memory"
EOF
run_essim report "$TMP/fake"; expect_rc "report of a minimal sweep directory" 0
expect_grep "says sweep" "$TMP/out" "sweep report of $TMP/fake"
for id in summary results pareto axes; do
    expect_grep "sweep section id=$id" "$TMP/fake/report.html" "<section id=\"$id\">"
done
ok "sweep: Pareto rows marked, failed row with its error, plots embedded" $PY -c "
import re
h = open('$TMP/fake/report.html').read()
assert len(re.findall(r'<tr class=\"pareto\">', h)) == 2
assert re.search(r'<tr class=\"failed\">.*points/0003: out of memory', h)
secs = dict(re.findall(r'<section id=\"(\w+)\">(.*?)</section>', h, re.S))
assert secs['pareto'].count('src=\"data:image/png;base64,') == 1
# axes: arch.xbar.rows and policy.name, 4 metrics each
assert secs['axes'].count('src=\"data:image/png;base64,') == 8, secs['axes'].count('<img')
assert 'alt=\"hw.energy_j against policy.name\"' in secs['axes']
assert not re.search(r'https?://', h)
"
printf 'index,status\n0,ok,extra\n' >"$TMP/fake/results.csv"
run_essim report "$TMP/fake"; expect_rc "report of a malformed results.csv" 1
expect_grep "names the line" "$TMP/err" "results.csv:2: 3 fields, the header has 2"

# A real sweep, when `essim sweep` is there: 4 points of `run` on the synthetic dataset.
if "$ESSIM" sweep --help >/dev/null 2>&1; then
    cat >"$TMP/sw.yaml" <<'EOF'
version: 1
command: run
base:
  train: {network: lenet5, dataset: synthetic, synthetic_train: 128, synthetic_test: 64, batch: 32, epochs: 1}
axes:
  - key: policy.density
    values: [0.05, 0.2]
  - key: arch.adc.bits
    values: [6, 8]
EOF
    run_essim sweep "$TMP/sw.yaml" -j 2 --out "$TMP/sw" -q; expect_rc "a 4-point sweep" 0
    run_essim report "$TMP/sw"; expect_rc "report of the sweep" 0
    ok "sweep report: sections, energy-time scatter, 2 axes x every metric" $PY -c "
import re, json
h = open('$TMP/sw/report.html').read()
secs = dict(re.findall(r'<section id=\"(\w+)\">(.*?)</section>', h, re.S))
assert set(secs) == {'summary', 'results', 'pareto', 'axes'}, set(secs)
assert 'alt=\"Pareto scatter\"' in secs['pareto']
metrics = json.load(open('$TMP/sw/results.json'))['metrics']
assert secs['axes'].count('src=\"data:image/png;base64,') == 2 * len(metrics), (secs['axes'].count('<img'), metrics)
assert secs['results'].count('<tr class=') == 4
assert not re.search(r'https?://', h)
"
else
    skip "report of a real sweep" "no essim sweep command"
fi

# ---- the page in headless Chromium ------------------------------------------------------
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ]; then
    chrome() { # chrome ARGS... : headless Chromium, no profile left behind, errors to $TMP/chrome.err
        "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run --hide-scrollbars \
            --user-data-dir="$TMP/chrome-profile" "$@" 2>"$TMP/chrome.err"
    }
    chrome --dump-dom "file://$H" >"$TMP/dom.html"
    ok "Chromium loads the page" test -s "$TMP/dom.html"
    for id in summary energy time writes heatmaps lifetime training config repeat; do
        expect_grep "rendered DOM has section $id" "$TMP/dom.html" "<section id=\"$id\">"
    done
    expect_grep "every image decoded in Chromium (13+ images)" "$TMP/dom.html" 'data-images-ok="yes"'
    ok "the image count in the DOM matches the page" $PY -c "
import re
d = open('$TMP/dom.html').read()
n = int(re.search(r'data-images=\"(\d+)\"', d).group(1))
assert n == open('$H').read().count('<img ') and n >= 13, n
"
    # The check itself can fail: one image made undecodable is caught.
    sed 's|data:image/png;base64,iVBOR|data:image/png;base64,AAAAA|' "$H" >"$TMP/broken.html"
    chrome --dump-dom "file://$TMP/broken.html" >"$TMP/dom-broken.html"
    expect_grep "a broken image is detected" "$TMP/dom-broken.html" 'data-images-ok="no"'
    if [ -s "$TMP/sw/report.html" ]; then
        chrome --dump-dom "file://$TMP/sw/report.html" >"$TMP/dom-sweep.html"
        expect_grep "sweep page: every image decoded" "$TMP/dom-sweep.html" 'data-images-ok="yes"'
    fi
    # The screenshot for the docs: the top of the repeated-run page, 1280 wide, made from
    # inside $TMP so that the page names the folder "rr", not a random temporary path (the
    # run is seeded, so the picture changes only when the report does).
    ESSIM_ABS=$(cd "$(dirname "$ESSIM")" && pwd)/$(basename "$ESSIM")
    (cd "$TMP" && "$ESSIM_ABS" report rr -o rr/docs.html -q)
    chrome --screenshot="$TMP/report-run.png" --window-size=1280,2000 "file://$TMP/rr/docs.html" >/dev/null
    ok "screenshot is a 1280x2000 PNG" $PY -c "
import struct
b = open('$TMP/report-run.png', 'rb').read()
assert b[:8] == b'\x89PNG\r\n\x1a\n'
w, h = struct.unpack('>II', b[16:24])
assert (w, h) == (1280, 2000), (w, h)
"
    # ESSIM_UPDATE_DOCS=1 refreshes the screenshot in the docs (make check leaves the
    # source tree alone otherwise).
    if [ "${ESSIM_UPDATE_DOCS:-0}" = 1 ]; then
        cp "$TMP/report-run.png" "$ES_SRCDIR/docs/img/report-run.png"
    fi
else
    skip "the page in headless Chromium" "chromium is not installed"
fi

tap_done
