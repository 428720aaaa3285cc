#!/usr/bin/env bash
# End-to-end checks of the memscope program: a small run on Fashion-MNIST, SIGKILL and resume,
# and one-line errors for bad input. Usage: cli_test.sh BUILD/memscope WORKDIR
set -eEuo pipefail
# Any failing command names itself and its line (the checks below name theirs with fail).
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
bin=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
common=(--data fashion-mnist --limit 300 --hidden 64,32 --latent 8 --batch-size 32 --iw-samples 8
        --progress log --threads 2)

# 1. A small run: every index once, n_in = K-1, n_out = 1, finite values, positive mean memorization.
"$bin" run "${common[@]}" --folds 3 --epochs 3 --out "$work/a" > "$work/a.out"
grep -q "scores: $work/a/scores.csv" "$work/a.out" || fail "run did not say where the scores went"
# Beside the scores: outlierness, rank of U, leverage and exact Gaussian LOO (numbers), spillover.
awk -F, 'NR == 1 { if ($0 != "index,label,logp_in,logp_out,mem,mem_se,n_in,n_out,mem_log,mem_log_se,mia_risk,mem_plugin,mem_p,mem_q,nn_dist,u_rank,leverage,loo_mem,spill,spill_se,spill_pairs,spill_ratio,spill_control,spill_control_se") { bad = 1; exit 1 }; next }
         { if ($7 != 2 || $8 != 1) exit 2; for (i = 3; i <= 6; i++) if ($i !~ /^-?[0-9.e+-]+$/) exit 3;
           for (i = 15; i <= 18; i++) if ($i !~ /^-?[0-9.e+-]+$/) exit 7; if ($21 > 0) spill++;
           if ($13 < 0 || $13 > 1 || $14 < $13 - 1e-9) exit 9;
           seen[$1]++; sum += $5; n++ }
         END { if (bad) exit 1; if (n != 300) exit 4; for (i = 0; i < 300; i++) if (seen[i] != 1) exit 5; if (sum <= 0) exit 6;
               if (spill < 250) exit 8 }' \
    "$work/a/scores.csv" || fail "scores.csv check failed with code $?"

# 1b. Regeneration test on that run: files, header, one row per sample.
"$bin" extract --run "$work/a" --samples 150 --jobs 0,2 --no-report > "$work/x.out"
[[ $(head -1 "$work/a/extraction.csv") == "job,sample,nearest_index,l2,ratio,in_training,extracted_l2,extracted" ]] ||
  fail "extraction.csv header"
[[ $(($(wc -l < "$work/a/extraction.csv") - 1)) -eq 300 ]] || fail "extraction.csv should have 2 x 150 rows"
[[ $(($(wc -l < "$work/a/copies.csv") - 1)) -eq 300 ]] || fail "copies.csv should have a row per example"
grep -q '"ct"' "$work/a/extraction.json" || fail "extraction.json lacks C_T"

# 2. Killed with SIGKILL at random moments, again and again, then finished: the same scores as a
#    run never interrupted (one thread and one job per group, so every job computes bit for bit alike).
resume=("${common[@]}" --threads 1 --folds 4 --epochs 60 --group-size 1)
"$bin" run "${resume[@]}" --out "$work/ref" > /dev/null 2>&1
# kill_loop DIR LOG [OPTIONS...]: 12 runs, each killed 0-1 s after it has loaded its data; with
# --checkpoint-every, every other run only once a checkpoint exists (a checkpoint's fsync can take
# seconds on a busy disk, and kills that all land before the first one would test no resume).
kill_loop() {
  local dir=$1 log=$2 kills=0 pid waited
  shift 2
  for attempt in $(seq 1 12); do
    "$bin" run "${resume[@]}" "$@" --out "$dir" > "$log.$attempt" 2>&1 &
    pid=$!
    for waited in $(seq 1 600); do grep -q "data:" "$log.$attempt" && break; sleep 0.05; done
    if [[ " $* " == *" --checkpoint-every "* && $((attempt % 2)) -eq 0 ]]; then
      for waited in $(seq 1 600); do
        compgen -G "$dir/jobs/*/checkpoint-*" > /dev/null || ! kill -0 "$pid" 2> /dev/null && break
        sleep 0.05
      done
    fi
    sleep "$((RANDOM % 10)).$((RANDOM % 10))e-1"
    if kill -9 "$pid" 2> /dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2> /dev/null || true
    [[ -f "$dir/scores.csv" ]] && break
  done
  "$bin" run "${resume[@]}" "$@" --out "$dir" > "$log.last" 2>&1
  echo "$kills"
}
kills=$(kill_loop "$work/killed" "$work/killed.out")
echo "killed $kills times before finishing"
cmp "$work/ref/scores.csv" "$work/killed/scores.csv" || fail "resumed scores differ from an uninterrupted run"
for f in "$work"/killed/*.npy "$work"/killed/jobs/*/logp.npy; do python3 - "$f" << 'PY' || fail "corrupt $f"
import sys
b = open(sys.argv[1], 'rb').read()
assert b[:6] == b'\x93NUMPY', 'magic'
PY
done

# 2a. The same with --checkpoint-every 5: killed jobs resume mid-training from their last
#     checkpoint, and the scores are still those of the uninterrupted run.
kills=$(kill_loop "$work/ckpt" "$work/ckpt.out" --checkpoint-every 5)
resumes=$(cat "$work"/ckpt.out.* | grep -c 'resumes after epoch' || true)
echo "checkpointed run: killed $kills times, $resumes resumes from a checkpoint"
[[ $kills -eq 0 || $resumes -gt 0 ]] || fail "killed runs never resumed from a checkpoint"
cmp "$work/ref/scores.csv" "$work/ckpt/scores.csv" || fail "scores after mid-job resumes differ from an uninterrupted run"
! ls "$work"/ckpt/jobs/*/checkpoint-* > /dev/null 2>&1 || fail "finished jobs kept their checkpoints"

# 2b. Two shards in parallel into one run directory, then score: the same scores again.
"$bin" train "${resume[@]}" --out "$work/sharded" --shard 0/2 > "$work/shard0.out" 2>&1 &
pid=$!
"$bin" train "${resume[@]}" --out "$work/sharded" --shard 1/2 > "$work/shard1.out" 2>&1 || fail "shard 1: $(tail -1 "$work/shard1.out")"
wait "$pid" || fail "shard 0: $(tail -1 "$work/shard0.out")"
"$bin" score --run "$work/sharded" > "$work/score.out"
cmp "$work/ref/scores.csv" "$work/sharded/scores.csv" || fail "sharded scores differ from a single process"
# Two whole runs on one directory at once share its jobs (each claims one at a time); the one
# finishing last writes the scores.
"$bin" run "${resume[@]}" --out "$work/shared" > "$work/shared0.out" 2>&1 &
pid=$!
"$bin" run "${resume[@]}" --out "$work/shared" > "$work/shared1.out" 2>&1 || fail "second process: $(tail -1 "$work/shared1.out")"
wait "$pid" || fail "first process: $(tail -1 "$work/shared0.out")"
trained=$(cat "$work/shared0.out" "$work/shared1.out" | grep -o '^memscope: [0-9]* jobs trained' | awk '{s += $2} END {print s}')
[[ $trained -eq 4 ]] || fail "two processes trained $trained jobs of 4"
"$bin" score --run "$work/shared" > /dev/null
cmp "$work/ref/scores.csv" "$work/shared/scores.csv" || fail "scores of two cooperating processes differ"
# A shard of a finished run trains nothing; score of a half-finished run says what is missing.
"$bin" train --run "$work/sharded" --shard 1/2 --progress none | grep -q "0 jobs trained" || fail "a finished shard trained again"
"$bin" train "${resume[@]}" --out "$work/half" --shard 0/2 > /dev/null 2>&1
"$bin" score --run "$work/half" | grep -q "partial scores: 2 of 4 jobs not finished (1,3)" || fail "score did not name the missing jobs"
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
expect_error "--samples: must be >= 1" extract --run "$work/a" --samples 0
expect_error "--high-quantile: must be in (0, 1)" report --run "$work/a" --high-quantile 2
expect_error "no config.json" report --run "$work/nothing"
expect_error "--shard" train "${common[@]}" --out "$work/e6" --shard 2/2
expect_error "--shard" train "${common[@]}" --out "$work/e7" --shard half
expect_error "--budget: expected a positive time" run "${common[@]}" --budget ten --out "$work/e8"
expect_error "--budget: plans K-fold designs only" run "${common[@]}" --design subsets --budget 1m --out "$work/e9"
expect_error "--iw-samples: must be >= 0" run --iw-samples -2 --out "$work/e10"

# 3. A budget: the pilot, the plan it chose within what the pilot left, the prediction beside the measurement.
"$bin" run "${common[@]}" --folds 3 --epochs 2 --budget 20s --out "$work/b" > "$work/b.out"
grep -q "^pilot: 3 folds x 2 repeats" "$work/b.out" || fail "budget: no pilot line"
grep -q "^budget: predicted reliability of M" "$work/b.out" || fail "budget: no prediction beside the measurement"
/usr/bin/python3 - "$work/b" << 'PY' || fail "budget.json check failed"
import json, sys
j = json.load(open(sys.argv[1] + "/budget.json"))
cfg = json.load(open(sys.argv[1] + "/config.json"))["config"]
p = j["predicted"]
assert cfg["plan"]["repeats"] == p["repeats"] >= 2 and cfg["eval"]["iw_samples"] == p["samples"] >= 8, (cfg, p)
assert p["seconds"] <= j["budget_seconds"] - j["pilot"]["seconds"] + 1e-6, j
assert j["measured"]["seconds"] > 0 and j["pilot"]["monte_carlo"]["between"] > 0, j
# The pilot ran here at 8 samples: a plan at 8 keeps its 2 repeats; one at other samples set it aside.
kept = p["samples"] == 8
assert j["pilot"]["kept_repeats"] == (2 if kept else 0), j
assert j["pilot"]["dir"] == (sys.argv[1] if kept else sys.argv[1] + "-pilot"), j
PY
[[ ! -e "$work/e1" && ! -e "$work/e3" ]] || fail "a failed run left a run directory behind"
echo "e2e: all checks passed"
