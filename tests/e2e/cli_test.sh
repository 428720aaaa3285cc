#!/usr/bin/env bash
# End-to-end checks of the memscope program: a small run on Fashion-MNIST, SIGKILL and resume,
# and one-line errors for bad input. Usage: cli_test.sh BUILD/memscope WORKDIR
set -euo pipefail
bin=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
common=(--data fashion-mnist --limit 300 --hidden 64,32 --latent 8 --batch-size 32 --iw-samples 8
        --progress log --threads 2)

# 1. A small run: every index once, n_in = K-1, n_out = 1, finite values, positive mean memorization.
"$bin" run "${common[@]}" --folds 3 --epochs 3 --out "$work/a" > "$work/a.out"
grep -q "scores: $work/a/scores.csv" "$work/a.out" || fail "run did not say where the scores went"
awk -F, 'NR == 1 { if ($0 != "index,label,logp_in,logp_out,mem,mem_se,n_in,n_out") exit 1; next }
         { if ($7 != 2 || $8 != 1) exit 2; for (i = 3; i <= 6; i++) if ($i !~ /^-?[0-9.e+-]+$/) exit 3;
           seen[$1]++; sum += $5; n++ }
         END { if (n != 300) exit 4; for (i = 0; i < 300; i++) if (seen[i] != 1) exit 5; if (sum <= 0) exit 6 }' \
    "$work/a/scores.csv" || fail "scores.csv check failed with code $?"

# 1b. Regeneration test on that run: files, header, one row per sample.
"$bin" extract --run "$work/a" --samples 150 --jobs 0,2 --no-report > "$work/x.out"
[[ $(head -1 "$work/a/extraction.csv") == "job,sample,nearest_index,l2,ratio,in_training,extracted_l2,extracted" ]] ||
  fail "extraction.csv header"
[[ $(($(wc -l < "$work/a/extraction.csv") - 1)) -eq 300 ]] || fail "extraction.csv should have 2 x 150 rows"
[[ $(($(wc -l < "$work/a/copies.csv") - 1)) -eq 300 ]] || fail "copies.csv should have a row per example"
grep -q '"ct"' "$work/a/extraction.json" || fail "extraction.json lacks C_T"

# 2. Killed with SIGKILL in the middle, then re-run: the same scores as a run never interrupted.
resume=("${common[@]}" --folds 4 --epochs 6 --group-size 1)
"$bin" run "${resume[@]}" --out "$work/ref" > /dev/null 2>&1
"$bin" run "${resume[@]}" --out "$work/killed" > /dev/null 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  [[ -f "$work/killed/jobs/job-00001/result.json" ]] && break
  sleep 0.05
done
kill -9 "$pid" 2> /dev/null || true
wait "$pid" 2> /dev/null || true
[[ ! -f "$work/killed/scores.csv" ]] || echo "note: the run finished before it was killed"
"$bin" run "${resume[@]}" --out "$work/killed" > "$work/killed.out" 2>&1
grep -q "resume: " "$work/killed.out" || fail "the re-run did not resume"
cmp "$work/ref/scores.csv" "$work/killed/scores.csv" || fail "resumed scores differ from an uninterrupted run"
if find "$work/killed" -name '.*.tmp.*' | grep -q .; then fail "temporary files left behind"; fi

# 3. Options from a TOML file, flags overriding it.
printf 'data = "fashion-mnist"\nlimit = 300\nfolds = 3\nepochs = 9\nhidden = [64, 32]\nlatent = 8\niw_samples = 8\nprogress = "none"\n' > "$work/c.toml"
"$bin" run --config "$work/c.toml" --epochs 1 --out "$work/toml" > /dev/null
grep -q '"epochs": 1' "$work/toml/config.json" || fail "flag did not override the TOML file"

# 4. Bad input: one line naming the problem, non-zero exit, no stack trace.
expect_error() {
  local pattern=$1; shift
  local out rc=0
  out=$("$bin" "$@" 2>&1 > /dev/null) || rc=$?
  [[ $rc -ne 0 ]] || fail "exit code 0 for: $*"
  [[ $(printf '%s\n' "$out" | grep -c 'error') -eq 1 ]] || fail "not one error line for: $* -> $out"
  printf '%s' "$out" | grep -q -- "$pattern" || fail "message for '$*' lacks '$pattern': $out"
  printf '%s' "$out" | grep -q 'frame #' && fail "stack trace for: $*"
  echo "ok: $* -> $(printf '%s' "$out" | grep error)"
}
printf 'garbage' > "$work/bad.idx"
expect_error "no such file" run --data idx:/nonexistent/images.idx --out "$work/e1"
expect_error "bad.idx" run --data "idx:$work/bad.idx" --out "$work/e2"
expect_error "--folds" run --folds 0 --out "$work/e3"
expect_error "--lr" run --lr -1 --out "$work/e4"
expect_error "--folds" run --data fashion-mnist --limit 10 --folds 50 --out "$work/e5"
expect_error "different configuration" run "${common[@]}" --folds 3 --epochs 4 --out "$work/a"
expect_error "--epochs" run --epochs many
expect_error "not empty" run "${common[@]}" --out "$work"
expect_error "no config.json" extract --run "$work/nothing"
expect_error "--jobs" extract --run "$work/a" --jobs 7
expect_error "no config.json" report --run "$work/nothing"
[[ ! -e "$work/e1" && ! -e "$work/e3" ]] || fail "a failed run left a run directory behind"
echo "e2e: all checks passed"
