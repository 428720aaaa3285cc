#!/usr/bin/env bash
# How many importance samples does M need? The main job (configs/fmnist-6k.toml) at S = 8 ... 1024 importance
# samples, the same seed (the same models: S changes the evaluation only), each against S = 1024: mean M, its
# shift, the rank agreement and the top-100 overlap, beside the evaluation's CPU time.
# Usage: scripts/iw-sweep.sh [OUT=runs/iw-sweep] [S...=8 32 128 256 1024]   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/iw-sweep}
shift || true
samples=("$@")
((${#samples[@]})) || samples=(1024 8 32 128 256)
for s in "${samples[@]}"; do
  [[ -f $out/S$s/scores.csv ]] ||
    build/memscope run --config configs/fmnist-6k.toml --iw-samples "$s" --out "$out/S$s" --progress none \
      > "$out-S$s.log" 2>&1
done
/usr/bin/python3 - "$out" << 'PY'
import csv, glob, json, os, sys
import numpy as np
out = sys.argv[1]
def load(d):
    with open(f"{d}/scores.csv") as f:
        rows = list(csv.DictReader(f))
    jobs = json.load(open(f"{d}/config.json"))["jobs"]
    return {k: np.array([float(r[k]) for r in rows]) for k in ("mem", "mem_log", "mem_se", "mem_q")}, \
        sum(j["eval_seconds"] for j in jobs), sum(j["train_seconds"] for j in jobs)
runs = {int(os.path.basename(d)[1:]): load(d) for d in glob.glob(f"{out}/S*") if os.path.exists(f"{d}/scores.csv")}
ref = runs[max(runs)][0]
rank = lambda v: v.argsort().argsort()
top = lambda v, k=100: set(np.argsort(-v)[:k])
print(f"| S | eval CPU s | train s | mean M | M - M(ref) | Spearman M | top-100 overlap | mean mem_log | Spearman mem_log | mean se(M) | memorized |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for s in sorted(runs):
    r, ev, tr = runs[s]
    print(f"| {s} | {ev:.0f} | {tr:.0f} | {r['mem'].mean():.3f} | {(r['mem'] - ref['mem']).mean():+.3f} | "
          f"{np.corrcoef(rank(r['mem']), rank(ref['mem']))[0, 1]:.3f} | {len(top(r['mem']) & top(ref['mem'])) / 100:.2f} | "
          f"{r['mem_log'].mean():.3f} | {np.corrcoef(rank(r['mem_log']), rank(ref['mem_log']))[0, 1]:.3f} | "
          f"{r['mem_se'].mean():.3f} | {(r['mem_q'] <= 0.05).sum()} |")
print(f"reference: S = {max(runs)}")
PY
