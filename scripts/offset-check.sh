#!/usr/bin/env bash
# Does a per-model offset correction make M more reproducible? For two finished runs of the same plan with
# different seeds, each run's bank is scored three ways by `score --bank`: as it is, with each model's mean
# log p over all examples subtracted (all), and with its mean over its held-out examples subtracted (heldout).
# Each way's two seeds are then compared (scripts/compare-scores.py).
# Usage: scripts/offset-check.sh RUN_A RUN_B [OUT=runs/offset-check]   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
a=$1 b=$2 out=${3:-runs/offset-check}
for way in none all heldout; do
  for run in "$a" "$b"; do
    bank=$out/$way/$(basename "$run")
    mkdir -p "$bank"
    cp "$run"/{config.json,manifest.json,index.npy,labels.npy,epochs.npy} "$bank"/  # the run's design
    /usr/bin/python3 - "$run" "$bank" "$way" << 'PY'
import sys
import numpy as np
run, bank, way = sys.argv[1:]
logp, mask = np.load(f"{run}/logp.npy")[-1:], np.load(f"{run}/mask.npy")
if way == "all":
    logp = logp - (logp.mean(1) - logp.mean())[:, None, :]
elif way == "heldout":
    held = (logp[0] * ~mask).sum(0) / (~mask).sum(0)
    logp = logp - (held - held.mean())[None, None, :]
np.save(f"{bank}/logp.npy", logp.astype(np.float32))
np.save(f"{bank}/mask.npy", mask)
PY
    build/memscope score --bank "$bank" > "$bank.log" 2>&1
  done
  echo "== offset: $way"
  /usr/bin/python3 scripts/compare-scores.py "$out/$way/$(basename "$a")/scores.csv" \
    "$out/$way/$(basename "$b")/scores.csv" | grep -E "Spearman|discoveries"
done
