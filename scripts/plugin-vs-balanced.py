#!/usr/bin/env python3
"""The balanced M against the paper's plug-in on one run, and between two seeds: mean M and mean plug-in
(nats), their Spearman correlation and top-5% overlap, the Spearman of each with the example's spread of
log p between models (mem_log_se, which is that spread times a constant when every example has the same
models), the examples memorized at FDR 0.05 (mem_q); with a second run, per score the Spearman between the
seeds, the overlap of their top 5% and of the memorized sets (|A & B| / min(|A|, |B|)).

usage: scripts/plugin-vs-balanced.py RUN_A [RUN_B]   (standard library only)
"""
import csv
import math
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
spearman = __import__("memorization-seeds").spearman


def load(run):
    with open(f"{run}/scores.csv", newline="") as f:
        return {int(r["index"]): {k: float(v) if v not in ("", "nan") else math.nan for k, v in r.items()}
                for r in csv.DictReader(f)}


def column(rows, keys, name):
    return [rows[k][name] for k in keys]


def top(rows, keys, name, share=0.05):
    order = sorted(keys, key=lambda k: -rows[k][name] if rows[k][name] == rows[k][name] else math.inf)
    return set(order[: max(1, int(share * len(keys)))])


def overlap(a, b):
    return len(a & b) / min(len(a), len(b)) if a and b else math.nan


def one(run):
    rows = load(run)
    keys = sorted(rows)
    mem, plug, spread = (column(rows, keys, c) for c in ("mem", "mem_plugin", "mem_log_se"))
    found = {k for k in keys if rows[k]["mem_q"] <= 0.05}
    print(f"{run}: {len(keys)} examples; mean M {sum(mem) / len(mem):.3f}, mean plug-in {sum(plug) / len(plug):.3f} "
          f"nats; Spearman(M, plug-in) {spearman(mem, plug):.3f}; top-5% overlap "
          f"{overlap(top(rows, keys, 'mem'), top(rows, keys, 'mem_plugin')):.3f}; Spearman with the spread of log p: "
          f"M {spearman(mem, spread):.3f}, plug-in {spearman(plug, spread):.3f}; memorized at FDR 0.05: {len(found)}")
    return rows, keys, found


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    a, keys, found_a = one(sys.argv[1])
    if len(sys.argv) == 2:
        return
    b, keys_b, found_b = one(sys.argv[2])
    keys = sorted(set(keys) & set(keys_b))
    for name in ("mem", "mem_plugin", "mem_log"):
        print(f"between seeds, {name}: Spearman {spearman(column(a, keys, name), column(b, keys, name)):.3f}, "
              f"top-5% overlap {overlap(top(a, keys, name), top(b, keys, name)):.3f}")
    print(f"memorized in both: {len(found_a & found_b)} (overlap {overlap(found_a, found_b):.3f})")


if __name__ == "__main__":
    main()
