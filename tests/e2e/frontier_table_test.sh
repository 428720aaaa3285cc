#!/usr/bin/env bash
# scripts/frontier-table.py on planted points: "base" and a second seed of it whose M is base's reversed
# for the examples 0 to 49 and equal otherwise, and whose discoveries are half of base's. The table lists the
# points by seconds with their figures, and the seed pair's Spearman and share found again are the closed
# forms. Usage: frontier_table_test.sh WORKDIR
set -euo pipefail
work=$1
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
/usr/bin/python3 - "$work" << 'PY'
import json, os, sys
work = sys.argv[1]
n = 100
for name, seconds, flip, found in (("base", 150, False, 40), ("base-seed1", 160, True, 20), ("repeats-2", 60, False, 0)):
    mem = [float(i) for i in range(n)]
    if flip:
        mem[:50] = mem[:50][::-1]
    d = f"{work}/{name}"
    os.makedirs(d)
    open(f"{d}/seconds", "w").write(f"{seconds} {seconds // 2}\n")
    json.dump({"reliability": {"mem": {"projected_whole_run": 0.6}, "mem_log": {"projected_whole_run": 0.64}},
               "memorized": {"examples": found}, "null": {"mem": {"discoveries": {"mean": 0.3}}},
               "run": {"jobs": 25, "n": n, "config": {"plan": {"repeats": 5}}}}, open(f"{d}/summary.json", "w"))
    with open(f"{d}/scores.csv", "w") as f:
        f.write("index,mem,mem_log,mem_q\n")
        for i in range(n):
            f.write(f"{i},{mem[i]},{mem[i]},{0.01 if i < found else 1}\n")
PY
table=$(/usr/bin/python3 "$(dirname "$0")/../../scripts/frontier-table.py" "$work")
# Spearman: 1 - 6 sum d^2 / (n (n^2 - 1)) with d = 49, 47, ..., 1, 1, ..., 49: 1 - 6 * 41650 / 999900 = 0.750
grep -q "^| base-seed1 | 25 | 100 | 160 | 80 | 20 (0.3) | 0.60 | 0.64 | 0.75 | 0.75 | 0.50 |$" <<< "$table" ||
  fail "seed pair: $table"
grep -q "^| base | 25 | 100 | 150 | 75 | 40 (0.3) | 0.60 | 0.64 |  |  |  |$" <<< "$table" || fail "base: $table"
[[ $(sed -n 3p <<< "$table") == "| repeats-2 "* ]] || fail "not by seconds: $table"
echo "frontier-table: ok"
