#!/usr/bin/env bash
# Crash-safety stress test (longer than the one in the test suite): runs a checkpointing plan,
# SIGKILLs it at a random moment 0-1.5 s after each start until it finishes (at most ATTEMPTS
# times), and checks the scores equal those of an uninterrupted run byte for byte.
# Usage: scripts/kill-stress.sh [ATTEMPTS=50] [WORKDIR=/tmp/memscope-kill-stress]
set -uo pipefail
cd "$(dirname "$0")/.."
attempts=${1:-50}
w=${2:-/tmp/memscope-kill-stress}
bin=build/memscope
rm -rf "$w" && mkdir -p "$w"
opts=(--data fashion-mnist --limit 800 --hidden 64,32 --latent 8 --batch-size 32 --iw-samples 8 --progress log
      --threads 1 --folds 4 --repeats 2 --epochs 150 --group-size 2)
"$bin" run "${opts[@]}" --out "$w/ref" > "$w/ref.out" 2>&1 || { echo "reference run failed"; exit 1; }
kills=0
for a in $(seq 1 "$attempts"); do
  "$bin" run "${opts[@]}" --checkpoint-every 3 --out "$w/k" > "$w/k.$a" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q "data:" "$w/k.$a" && break; sleep 0.05; done
  sleep "$((RANDOM % 15)).$((RANDOM % 10))e-1"
  kill -9 "$pid" 2> /dev/null && kills=$((kills + 1))
  wait "$pid" 2> /dev/null
  [[ -f "$w/k/scores.csv" ]] && break
done
"$bin" run "${opts[@]}" --checkpoint-every 3 --out "$w/k" > "$w/k.last" 2>&1 || { echo "final run failed"; exit 1; }
echo "kill-stress: $kills SIGKILLs, $(cat "$w"/k.* | grep -c 'resumes after epoch') job resumes from checkpoints"
cmp "$w/ref/scores.csv" "$w/k/scores.csv" && echo "kill-stress: scores identical to the uninterrupted run"
