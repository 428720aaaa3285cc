#!/usr/bin/env python3
"""Compares the memorization scores of two runs of the same data: summary statistics of M, the
two-sample Kolmogorov-Smirnov distance between the two distributions of M (with its 5% critical
value), the per-example Spearman correlation, the overlap of the top 5% and of the discoveries (q <= 0.05). For every score column
with a standard error beside it (mem with mem_se, and where present mem_log with mem_log_se and spill
with spill_se), the calibration of that error bar between the runs: z = (X_A - X_B) /
sqrt(se_A^2 + se_B^2) per example, its standard deviation (1 when calibrated; 0.85 to 1.2 counts
as calibrated) and the share of |z| > 1.96 (about 0.05 when calibrated).

usage: scripts/compare-scores.py RUN_A/scores.csv RUN_B/scores.csv   (standard library only)
"""
import bisect
import csv
import sys


def load(path):
    with open(path, newline="") as f:
        return {int(row["index"]): row for row in csv.DictReader(f)}


def quantile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(p * (len(s) - 1) + 0.5))]


def ranks(values):
    order = sorted(range(len(values)), key=values.__getitem__)
    r = [0] * len(values)
    for k, i in enumerate(order):
        r[i] = k
    return r


def pearson(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((p - mx) * (q - my) for p, q in zip(x, y))
    sxx = sum((p - mx) ** 2 for p in x)
    syy = sum((q - my) ** 2 for q in y)
    return sxy / (sxx * syy) ** 0.5


def spearman(x, y):
    return pearson(ranks(x), ranks(y))


def discovered(run, keys, q="mem_q"):
    """The examples with q <= 0.05."""
    return {i for i in keys if float(run[i][q]) <= 0.05}


def ks_distance(x, y):
    xs, ys = sorted(x), sorted(y)
    return max(abs(bisect.bisect_right(xs, v) / len(xs) - bisect.bisect_right(ys, v) / len(ys)) for v in xs + ys)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    a, b = load(sys.argv[1]), load(sys.argv[2])
    if set(a) != set(b):
        sys.exit(f"compare-scores: {sys.argv[1]} and {sys.argv[2]} score different examples")
    keys = sorted(a)
    n = len(keys)
    for name, run in (("A", a), ("B", b)):
        m = [float(run[i]["mem"]) for i in keys]
        se = [float(run[i]["mem_se"]) for i in keys]
        print(f"{name}: mean M {sum(m) / n:.3f}, q0.05 {quantile(m, .05):.2f}, q0.5 {quantile(m, .5):.2f}, "
              f"q0.95 {quantile(m, .95):.2f}, q0.99 {quantile(m, .99):.2f}, mean se {sum(se) / n:.3f}")
    ma = [float(a[i]["mem"]) for i in keys]
    mb = [float(b[i]["mem"]) for i in keys]
    print(f"KS distance {ks_distance(ma, mb):.4f} (5% critical value {1.358 * (2 / n) ** 0.5:.4f})")
    print(f"Spearman per example {spearman(ma, mb):.3f}")
    top = max(1, n // 20)
    ta = set(sorted(keys, key=lambda i: -float(a[i]["mem"]))[:top])
    tb = set(sorted(keys, key=lambda i: -float(b[i]["mem"]))[:top])
    print(f"top-5% overlap {len(ta & tb) / top:.3f}")
    q = "diff_q" if "diff_q" in a[keys[0]] else "mem_q"
    if q not in a[keys[0]] or q not in b[keys[0]]:
        print(f"discoveries: no {q} column in both files")
    else:
        print_discoveries(a, b, keys, q)
    for score, se in (("mem", "mem_se"), ("mem_log", "mem_log_se"), ("spill", "spill_se")):
        if all(c in a[keys[0]] and c in b[keys[0]] for c in (score, se)):
            print_z(a, b, keys, score, se)


def print_discoveries(a, b, keys, q):
    da, db = discovered(a, keys, q), discovered(b, keys, q)
    if da or db:
        print(f"discoveries ({q} <= 0.05): A {len(da)}, B {len(db)}, both {len(da & db)}; overlap (both / either) "
              f"{len(da & db) / len(da | db):.3f}; A's found by B {len(da & db) / max(1, len(da)):.3f}, B's by A "
              f"{len(da & db) / max(1, len(db)):.3f}")
    else:
        print(f"discoveries ({q} <= 0.05): none in either")


def print_z(a, b, keys, score, se):
    z = []
    for i in keys:
        s2 = float(a[i][se]) ** 2 + float(b[i][se]) ** 2
        d = float(a[i][score]) - float(b[i][score])
        if s2 > 0 and s2 == s2 and d == d:
            z.append(d / s2 ** 0.5)
    if len(z) < 2:
        print(f"z of {score} with {se}: no finite error bars")
        return
    mz = sum(z) / len(z)
    sd = (sum((v - mz) ** 2 for v in z) / (len(z) - 1)) ** 0.5
    out = sum(abs(v) > 1.96 for v in z) / len(z)
    print(f"z of {score} with {se}: sd {sd:.3f}, share |z| > 1.96 {out:.3f} ({len(z)} examples)")


if __name__ == "__main__":
    main()
