#!/usr/bin/env bash
# Does run --budget keep its promises? configs/fmnist-2k-e20.toml at several budgets: each run measures a
# pilot, predicts the reliability of M and the time of the plan it chooses, runs it, and writes the prediction
# beside what it measured in OUT/B/budget.json. Prints them as a table.
# Usage: scripts/budget-check.sh [OUT=runs/budget] [BUDGET...=3m 5m 8m]   (after scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/budget}
shift || true
budgets=("$@")
((${#budgets[@]})) || budgets=(3m 5m 8m)
mkdir -p "$out"
for b in "${budgets[@]}"; do
  [[ -f $out/$b/budget.json ]] ||
    build/memscope run --config configs/fmnist-2k-e20.toml --budget "$b" --out "$out/$b" --progress none \
      > "$out/$b.log" 2>&1
done
/usr/bin/python3 - "$out" "${budgets[@]}" << 'PY'
import json, sys
out, budgets = sys.argv[1], sys.argv[2:]
print("| budget | pilot s | plan (repeats x S) | pilot's repeats kept | predicted M (range) | measured M "
      "| predicted mem_log | measured mem_log | predicted s | measured s | total s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for b in budgets:
    j = json.load(open(f"{out}/{b}/budget.json"))
    p, m, pilot = j["predicted"], j["measured"], j["pilot"]
    lo, hi = p["reliability_mem_range"]
    print(f"| {b} | {pilot['seconds']:.0f} | {p['repeats']} x {p['samples']} | {pilot['kept_repeats']} | "
          f"{p['reliability_mem']:.2f} ({lo:.2f} to {hi:.2f}) | {m['reliability_mem']:.2f} | "
          f"{p['reliability_mem_log']:.2f} | "
          f"{m['reliability_mem_log']:.2f} | {p['seconds']:.0f} | {m['seconds']:.0f} | "
          f"{pilot['seconds'] + m['seconds']:.0f} |")
PY
