#!/bin/sh
# cli_sweep.sh - `essim sweep` end to end with `essim train` points on the synthetic dataset:
# identical results with -j 1, -j 2 and mpirun -np 3; a sweep killed with SIGKILL (parent
# and children) after its first point, then rerun, ends with the same results as an
# uninterrupted one; a point that fails at run time is reported while the others complete;
# sweep-file errors are located and exit 2; a replay sweep over the crossbar geometry replays
# the points with the trace's geometry and trains the others again.
. "${ES_SRCDIR:-.}/tests/tap.sh"

cat >"$TMP/s.yaml" <<'EOF'
version: 1
command: train
seed: 11
base:
  train: {network: lenet5, dataset: synthetic, synthetic_train: 256, synthetic_test: 64,
          batch: 32, epochs: 1}
axes:
  - key: policy.name
    values: [sgd, essence]
  - key: policy.density
    values: [0.05, 0.2]
EOF

run_essim sweep --help; expect_rc "sweep --help" 0
expect_grep "help names -j" "$TMP/out" "--jobs N"
run_essim sweep; expect_rc "no sweep file" 2
run_essim sweep "$TMP/s.yaml" -j 0; expect_rc "-j 0" 2

# Dry run: every point listed and validated, nothing written.
run_essim sweep "$TMP/s.yaml" --dry-run -o "$TMP/dry"; expect_rc "dry run" 0
expect_grep "dry run counts points" "$TMP/out" "4 points, command 'train'"
expect_grep "dry run lists point 3" "$TMP/out" "0003  policy.name=essence, policy.density=0.2, seed="
ok "dry run writes nothing" test ! -e "$TMP/dry"

# -j 1 and -j 2 give byte-identical results.
run_essim sweep "$TMP/s.yaml" -j 1 -q -o "$TMP/j1"; expect_rc "sweep -j 1" 0
run_essim sweep "$TMP/s.yaml" -j 2 -q -o "$TMP/j2"; expect_rc "sweep -j 2" 0
expect_grep "summary line" "$TMP/out" "4 points (4 run, 0 already done), 0 failed"
ok "results.csv identical with -j 1 and -j 2" cmp "$TMP/j1/results.csv" "$TMP/j2/results.csv"
ok "results.json identical with -j 1 and -j 2" cmp "$TMP/j1/results.json" "$TMP/j2/results.json"
ok "one header and 4 rows" sh -c "[ \$(wc -l < '$TMP/j2/results.csv') -eq 5 ]"
expect_grep "header" "$TMP/j2/results.csv" \
    "index,status,exit,policy.name,policy.density,seed,train.test_accuracy_final,writes.mean,writes.max,lifetime.runs_to_first_failure,pareto,error"
expect_grep "a row per point" "$TMP/j2/results.csv" "3,ok,0,essence,0.2,"
expect_grep "sweep.json has timings" "$TMP/j2/sweep.json" '"overhead_ms_per_point"'
for f in config.yaml point.json log.txt stats.csv stats.json; do
    ok "point folder has $f" test -s "$TMP/j2/points/0002/$f"
done
ok "no temporary folders left" sh -c "! ls '$TMP/j2/points' | grep -q tmp"
# The point's effective configuration reproduces the point on its own.
run_essim train "$TMP/j2/points/0002/config.yaml" -q -o "$TMP/alone"; expect_rc "point rerun alone" 0
ok "a point run alone gives the same stats.csv" sh -c \
    "grep -v images_per_s '$TMP/alone/stats.csv' > '$TMP/a1'; grep -v images_per_s '$TMP/j2/points/0002/stats.csv' > '$TMP/a2'; cmp '$TMP/a1' '$TMP/a2'"
# Per-point seeds do not depend on the sweep's other axes: point (essence, 0.2) keeps its seed.
seed3=$(awk -F, 'NR==5 {print $6}' "$TMP/j2/results.csv")
expect_grep "point seed recorded" "$TMP/j2/points/0003/point.json" "\"seed\": $seed3"

# A rerun skips finished points and rewrites the same results.
cp "$TMP/j2/results.csv" "$TMP/j2.csv"
run_essim sweep "$TMP/s.yaml" -j 2 -q -o "$TMP/j2"; expect_rc "rerun" 0
expect_grep "rerun skips every point" "$TMP/out" "(0 run, 4 already done)"
ok "rerun: same results" cmp "$TMP/j2.csv" "$TMP/j2/results.csv"
# Changing the base invalidates the recorded configuration hashes: everything reruns.
run_essim sweep "$TMP/s.yaml" -j 2 -q -o "$TMP/j2" --set train.synthetic_test=32; expect_rc "rerun with --set" 0
expect_grep "changed points rerun" "$TMP/out" "(4 run, 0 already done)"

# Kill -9 the sweep and its children after the first point finished; rerun; compare.
cat >"$TMP/k.yaml" <<'EOF'
version: 1
command: train
seed: 5
base:
  train: {network: lenet5, dataset: synthetic, synthetic_train: 4096, synthetic_test: 64,
          batch: 16, epochs: 1}
axes:
  - key: policy.density
    values: [0.05, 0.1, 0.2, 0.4]
EOF
run_essim sweep "$TMP/k.yaml" -j 2 -q -o "$TMP/kfull"; expect_rc "uninterrupted sweep" 0
if command -v setsid >/dev/null 2>&1; then
    setsid "$ESSIM" sweep "$TMP/k.yaml" -j 1 -q -o "$TMP/kill" >/dev/null 2>&1 &
    pid=$!
    n=0
    while [ ! -d "$TMP/kill/points/0000" ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
    kill -9 -"$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    ok "killed after the first point" test -f "$TMP/kill/points/0000/point.json"
    ok "killed midway: not every point finished" test ! -d "$TMP/kill/points/0003"
    run_essim sweep "$TMP/k.yaml" -j 2 -q -o "$TMP/kill"; expect_rc "rerun after kill" 0
    ok "finished points were kept" sh -c "! grep -q '(4 run, 0 already done)' '$TMP/out'"
    ok "leftover temporary folders removed" sh -c "! ls '$TMP/kill/points' | grep -q tmp"
    ok "killed and rerun: same results as uninterrupted" cmp "$TMP/kfull/results.csv" "$TMP/kill/results.csv"
    ok "killed and rerun: same results.json" cmp "$TMP/kfull/results.json" "$TMP/kill/results.json"
else
    skip "kill and rerun" "no setsid"
fi

# A point that fails at run time (CIFAR-10 files missing) does not stop the others.
cat >"$TMP/b.yaml" <<EOF
version: 1
command: train
base:
  train: {network: lenet5, synthetic_train: 256, synthetic_test: 64, batch: 32, epochs: 1,
          data_dir: "$TMP/nodata"}
axes:
  - key: train.dataset
    values: [synthetic, cifar10, synthetic]
EOF
run_essim sweep "$TMP/b.yaml" -j 2 -o "$TMP/b"; expect_rc "a failed point makes the sweep exit 1" 1
expect_grep "failure reported on stderr" "$TMP/err" "point 1 failed (exit 1)"
expect_grep "failed row with its error" "$TMP/b/results.csv" "1,failed,1,cifar10,"
expect_grep "the error names the missing file" "$TMP/b/results.csv" "data_batch_1.bin"
expect_grep "point 0 completed" "$TMP/b/results.csv" "0,ok,0,synthetic,"
expect_grep "point 2 completed" "$TMP/b/results.csv" "2,ok,0,synthetic,"
expect_grep "failure recorded in the point folder" "$TMP/b/points/0001/point.json" '"status": "failed"'
expect_grep "results.json status" "$TMP/b/results.json" '"status": "failed"'
expect_grep "summary counts the failure" "$TMP/out" "1 failed"

# Sweep-file errors: located, exit 2, nothing run.
printf 'version: 1\ncommand: train\naxes:\n  - key: arch.xbar.nope\n    values: [1]\n' >"$TMP/e1.yaml"
run_essim sweep "$TMP/e1.yaml" -o "$TMP/e1"; expect_rc "unknown key" 2
expect_grep "error located" "$TMP/err" "e1.yaml:4:10: error: unknown configuration key 'arch.xbar.nope'"
printf 'version: 1\ncommand: train\naxes:\n  - key: policy.density\n    values: [0.1, 7]\n' >"$TMP/e2.yaml"
run_essim sweep "$TMP/e2.yaml" -o "$TMP/e2"; expect_rc "invalid point" 2
expect_grep "invalid point named with its overrides" "$TMP/err" "point 1 (policy.density=7): $TMP/e2.yaml:5:19: error:"
ok "nothing run for an invalid sweep" test ! -e "$TMP/e2"

# Replay sweeps: one recorded trace, `essim simulate` per point (the shipped example with
# its trace path pointed at a fresh recording).
run_essim train --dataset synthetic --set train.synthetic_train=256 --set train.synthetic_test=64 \
    --batch 32 --epochs 1 -q --policy essence --trace "$TMP/t.trc" -o "$TMP/rec"
expect_rc "record a trace" 0
sed "s|^trace: .*|trace: $TMP/t.trc|" "$ES_SRCDIR/configs/sweeps/replay-endurance.yaml" >"$TMP/replay.yaml"
run_essim sweep "$TMP/replay.yaml" -j 2 -q -o "$TMP/replay"; expect_rc "replay sweep" 0
ok "replay: 12 points, all ok" sh -c "[ \$(grep -c ',ok,0,' '$TMP/replay/results.csv') -eq 12 ]"
expect_grep "replay: hardware metrics" "$TMP/replay/results.csv" "hw.time_s,hw.energy_j"
ok "replay: some point on the Pareto front" sh -c "grep -q ',1,\$' '$TMP/replay/results.csv'"

# A replay sweep over the crossbar geometry: the 128-row points have the trace's geometry and
# replay it; the 256-row points cannot, so they train again (essim run with the trace's recipe
# on the point's hardware), and the sweep says so.
run_essim run --dataset synthetic --set train.synthetic_train=256 --set train.synthetic_test=64 \
    --batch 32 --epochs 1 -q --trace "$TMP/r.trc" -o "$TMP/rrec"
expect_rc "record a trace with essim run" 0
cat >"$TMP/geo.yaml" <<EOF
version: 1
command: simulate
trace: $TMP/r.trc
base:
  preset: isaac-train
axes:
  - key: arch.xbar.rows
    values: [128, 256]
  - key: arch.wdrv.per_tile
    values: [1, 2]
EOF
# col NAME INDEX FILE: the value of column NAME in the row of point INDEX of a results.csv
col() { awk -F, -v name="$1" -v row="$2" 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
                                          $1 == row {print $c[name]}' "$3"; }
run_essim sweep "$TMP/geo.yaml" --dry-run -o "$TMP/gdry"; expect_rc "geometry sweep: dry run" 0
expect_grep "dry run counts the modes" "$TMP/out" \
    "4 points, command 'simulate', sweep seed 1; 2 replay the trace, 2 train again (geometry differs from the trace)"
ok "dry run: the 128-row points replay" \
    sh -c "[ \$(grep -c '^  000[01]  arch.xbar.rows=128, .*)  replay\$' '$TMP/out') -eq 2 ]"
ok "dry run: the 256-row points train again, saying why" \
    sh -c "[ \$(grep -c '^  000[23]  arch.xbar.rows=256, .*)  train: r.trc: layer .*(arch.xbar.rows is 256 here, 128 in the trace)' '$TMP/out') -eq 2 ]"
ok "dry run writes nothing" test ! -e "$TMP/gdry"
run_essim sweep "$TMP/geo.yaml" -j 1 -q -o "$TMP/g1"; expect_rc "geometry sweep -j 1" 0
run_essim sweep "$TMP/geo.yaml" -j 2 -q -o "$TMP/g2"; expect_rc "geometry sweep -j 2" 0
expect_grep "summary says how many trained again" "$TMP/out" \
    "4 points (4 run, 0 already done), 0 failed; 2 replayed, 2 trained again (geometry differs from the trace)"
ok "geometry sweep: results.csv identical with -j 1 and -j 2" cmp "$TMP/g1/results.csv" "$TMP/g2/results.csv"
ok "geometry sweep: results.json identical with -j 1 and -j 2" cmp "$TMP/g1/results.json" "$TMP/g2/results.json"
expect_grep "geometry sweep: mode column" "$TMP/g2/results.csv" \
    "index,status,exit,mode,arch.xbar.rows,arch.wdrv.per_tile,seed,hw.time_s,hw.energy_j,"
ok "the 128-row points replayed" sh -c "[ \$(grep -c '^[01],ok,0,replay,128,' '$TMP/g2/results.csv') -eq 2 ]"
ok "the 256-row points trained again" sh -c "[ \$(grep -c '^[23],ok,0,train,256,' '$TMP/g2/results.csv') -eq 2 ]"
for r in 2 3; do
    ok "trained point $r: hw.time_s, hw.energy_j and an accuracy" test \
        -n "$(col hw.time_s $r "$TMP/g2/results.csv")" -a -n "$(col hw.energy_j $r "$TMP/g2/results.csv")" \
        -a -n "$(col train.test_accuracy_final $r "$TMP/g2/results.csv")"
done
ok "a replayed point has no accuracy (empty cell)" test -z "$(col train.test_accuracy_final 1 "$TMP/g2/results.csv")"
expect_grep "results.json: why a point trains again" "$TMP/g2/results.json" \
    '"mode": "train", "mode_reason": "r.trc: layer '
expect_grep "results.json: a replayed point" "$TMP/g2/results.json" '"mode": "replay", "mode_reason": null'
expect_grep "point.json: a trained point ran essim run" "$TMP/g2/points/0002/point.json" '"command": "run"'
expect_grep "point.json: its mode" "$TMP/g2/points/0002/point.json" '"mode": "train"'
expect_grep "point.json: a replayed point's mode" "$TMP/g2/points/0001/point.json" '"mode": "replay"'
ok "a trained point has its training outputs" test -s "$TMP/g2/points/0002/epochs.csv"
# A replayed point gives exactly what essim simulate gives on the same hardware.
run_essim simulate --config "$ES_SRCDIR/configs/isaac-train.yaml" --set arch.wdrv.per_tile=2 \
    --set seed="$(col seed 1 "$TMP/g2/results.csv")" --trace "$TMP/r.trc" -q -o "$TMP/gsim"
expect_rc "direct essim simulate of point 1" 0
t_direct=$(awk -F, '$1 == "hw.time_s" && $2 == "" {print $3}' "$TMP/gsim/stats.csv")
ok "replayed point: hw.time_s equals the direct essim simulate's ($t_direct)" \
    test -n "$t_direct" -a "$t_direct" = "$(col hw.time_s 1 "$TMP/g2/results.csv")"
ok "replayed point: lifetime equals the direct essim simulate's" test \
    "$(awk -F, '$1 == "lifetime.runs_to_first_failure" && $2 == "" {print $3}' "$TMP/gsim/stats.csv")" = \
    "$(col lifetime.runs_to_first_failure 1 "$TMP/g2/results.csv")"
# A trained point's config.yaml is the trace's recipe on the point's hardware.
ok "trained point: the trace's recipe" grep -q '^  synthetic_train: 256$' "$TMP/g2/points/0003/config.yaml"
ok "trained point: the point's crossbars" grep -q '^    rows: 256$' "$TMP/g2/points/0003/config.yaml"
ok "trained point: the point's write drivers" grep -q '^    per_tile: 2$' "$TMP/g2/points/0003/config.yaml"
run_essim sweep "$TMP/geo.yaml" -j 2 -q -o "$TMP/g2"; expect_rc "geometry sweep rerun" 0
expect_grep "geometry sweep rerun skips every point" "$TMP/out" "(0 run, 4 already done)"
ok "geometry sweep rerun: same results" cmp "$TMP/g1/results.csv" "$TMP/g2/results.csv"

# The shipped examples are valid.
for f in "$ES_SRCDIR"/configs/sweeps/*.yaml; do
    g=$f
    if grep -q '^command: simulate' "$f"; then
        g="$TMP/example-$(basename "$f")"
        sed "s|^trace: .*|trace: $TMP/t.trc|" "$f" >"$g"
    fi
    run_essim sweep "$g" --dry-run; expect_rc "example $(basename "$f") validates" 0
done

# The same sweep over MPI: rank 0 hands out points, ranks 1-2 run them.
if command -v mpirun >/dev/null 2>&1; then
    # Open MPI's own start-up allocations (libmpi, hwloc, unloaded MCA plugins) are never
    # freed, so a sanitizer build's leak check is off for the MPI ranks only; the sweep code
    # itself is leak-checked by the -j runs above.
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        mpirun --allow-run-as-root --oversubscribe -x ASAN_OPTIONS -np 3 "$ESSIM" sweep "$TMP/s.yaml" \
        -q -o "$TMP/mpi" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if grep -q "built without MPI" "$TMP/err"; then
        skip "mpirun -np 3" "essim built without MPI"
    else
        expect_rc "mpirun -np 3 sweep" 0
        expect_grep "two MPI workers" "$TMP/out" "on 2 MPI workers"
        ok "MPI results.csv identical to -j 2" cmp "$TMP/j2.csv" "$TMP/mpi/results.csv"
        ok "MPI results.json identical to -j 2" cmp "$TMP/j1/results.json" "$TMP/mpi/results.json"
        expect_grep "two messages per point plus two per worker" "$TMP/mpi/sweep.json" '"coordinator_messages": 12'
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
            mpirun --allow-run-as-root --oversubscribe -x ASAN_OPTIONS -np 3 "$ESSIM" sweep \
            "$TMP/geo.yaml" -q -o "$TMP/gmpi" >"$TMP/out" 2>"$TMP/err"
        rc=$?
        expect_rc "mpirun -np 3 geometry sweep" 0
        expect_grep "MPI summary says how many trained again" "$TMP/out" "2 replayed, 2 trained again"
        ok "MPI geometry sweep: results.csv identical to -j 1" cmp "$TMP/g1/results.csv" "$TMP/gmpi/results.csv"
        ok "MPI geometry sweep: results.json identical to -j 1" cmp "$TMP/g1/results.json" "$TMP/gmpi/results.json"
    fi
else
    skip "mpirun -np 3" "mpirun not installed"
fi
tap_done
