#!/usr/bin/env bash
# Diffusion training throughput, memscope against the usual PyTorch code: `memscope bench`
# trains a plan of K models grouped; scripts/ddpm-pytorch.py trains the same U-Net on the same data,
# batch and steps one model at a time. Prints both and their ratio; the bench also prints evaluation
# against the sgemm peak and the peak memory. Installs Debian's python3-torch when missing.
# Usage: scripts/bench-ddpm.sh [LIMIT [FOLDS [EPOCHS]]]   (default 600 5 1; the figures of docs/results.md)
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-600} folds=${2:-5} epochs=${3:-1}
shape=(--channels 16,32,32 --batch-size 64 --epochs "$epochs" --threads 2)
scripts/apt-install.sh bench-ddpm python3-torch
[[ -x build/memscope ]] || scripts/setup.sh
json=$(mktemp --suffix=.json)
build/memscope bench --data fashion-mnist --limit "$limit" --model ddpm --folds "$folds" --elbo-samples 4 \
  --progress none "${shape[@]}" --json "$json"
/usr/bin/python3 scripts/ddpm-pytorch.py --limit "$limit" --folds "$folds" "${shape[@]}" | tee "$json.py"
/usr/bin/python3 - "$json" "$json.py" <<'PY'
import json, re, sys
ours = json.load(open(sys.argv[1]))["train_examples_per_second"]
theirs = float(re.search(r"([0-9.]+) training examples x steps per second", open(sys.argv[2]).read()).group(1))
print("training throughput: memscope %.0f, pytorch %.0f examples x steps per second: %.2fx" % (ours, theirs, ours / theirs))
PY
rm -f "$json" "$json.py"
