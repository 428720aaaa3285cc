#!/usr/bin/env python3
"""Is it memorization, and does the answer reproduce? For each run: the rank correlations of M with
leverage, the exact Gaussian leave-one-out score, outlierness (nn_dist), the rank of U and spillover S,
the top-5% overlap of M and leverage, the category split of the highly memorized examples (the rules
of the report's "Is it memorization?" section, recomputed from scores.csv: outlier, high leverage,
learned beyond the control S_control, memorized inlier; regeneration is not in scores.csv) and
quantiles of S/M and (S - S_control)/M. Between the two
runs (two --seed values of one configuration): Spearman of M, S and S/M per example, and the overlap
of the highly memorized sets and of the memorized inliers (|A & B| / min(|A|, |B|)).

usage: scripts/memorization-seeds.py RUN_A RUN_B [HIGH_QUANTILE]   (standard library only)
"""
import csv
import math
import sys


def load(run):
    with open(f"{run}/scores.csv", newline="") as f:
        return {int(r["index"]): {k: float(v) if v not in ("", "nan") else math.nan for k, v in r.items()}
                for r in csv.DictReader(f)}


def finite(v):
    return [x for x in v if x == x and abs(x) != math.inf]


def quantile(values, q):  # linear interpolation between order statistics, as memscope's quantile()
    s = sorted(finite(values))
    if not s:
        return math.nan
    pos = q * (len(s) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (pos - lo) * (s[hi] - s[lo])


def ranks(v):
    order = sorted(range(len(v)), key=v.__getitem__)
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(x, y):
    pairs = [(a, b) for a, b in zip(x, y) if a == a and b == b and abs(a) != math.inf and abs(b) != math.inf]
    if len(pairs) < 3:
        return math.nan
    rx, ry = ranks([p[0] for p in pairs]), ranks([p[1] for p in pairs])
    n = len(pairs)
    mx, my = sum(rx) / n, sum(ry) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx, syy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan  # a constant side: undefined


def top(keys, col, share=0.05):
    n = max(1, int(len(keys) * share))
    return set(sorted(keys, key=lambda i: -col[i] if col[i] == col[i] else math.inf)[:n])


def categories(rows, hq):
    keys = sorted(rows)
    col = lambda c: [rows[i][c] for i in keys]
    thr, far, lev = quantile(col("mem"), hq), quantile(col("nn_dist"), 0.95), quantile(col("leverage"), 0.95)
    cats = {"high": set(), "outlier": set(), "leverage": set(), "learned": set(), "inlier": set()}
    for i in keys:
        r = rows[i]
        if not r["mem"] > thr:
            continue
        cats["high"].add(i)
        out = r["u_rank"] < 0.05 or r["nn_dist"] > far
        hl = r["leverage"] > lev
        se = math.sqrt(r["spill_se"] ** 2 + r["spill_control_se"] ** 2 + (0.5 * r["mem_se"]) ** 2)
        learned = r["spill"] - r["spill_control"] - 0.5 * r["mem"] > 1.645 * se
        for name, flag in (("outlier", out), ("leverage", hl), ("learned", learned)):
            if flag:
                cats[name].add(i)
        if not (out or hl or learned):
            cats["inlier"].add(i)
    return cats


def overlap(a, b):
    return len(a & b) / max(1, min(len(a), len(b)))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().splitlines()[-1])
    hq = float(sys.argv[3]) if len(sys.argv) == 4 else 0.95
    runs = [load(sys.argv[1]), load(sys.argv[2])]
    if set(runs[0]) != set(runs[1]):
        sys.exit("memorization-seeds: the runs score different examples")
    keys = sorted(runs[0])
    cats = []
    for name, rows in zip("AB", runs):
        col = lambda c: [rows[i][c] for i in keys]
        m = col("mem")
        ratio = col("spill_ratio")
        net = {i: (rows[i]["spill"] - rows[i]["spill_control"]) / rows[i]["mem"] if rows[i]["mem"] else math.nan
               for i in keys}
        c = categories(rows, hq)
        cats.append(c)
        nh = len(c["high"])
        hr = [rows[i]["spill_ratio"] for i in sorted(c["high"])]
        mcol = {i: rows[i]["mem"] for i in keys}
        lcol = {i: rows[i]["leverage"] for i in keys}
        print(f"{name}: Spearman of M with leverage {spearman(m, col('leverage')):.3f}, loo_mem "
              f"{spearman(m, col('loo_mem')):.3f}, nn_dist {spearman(m, col('nn_dist')):.3f}, u_rank "
              f"{spearman(m, col('u_rank')):.3f}, spill {spearman(m, col('spill')):.3f}; top-5% overlap M/leverage "
              f"{len(top(keys, mcol) & top(keys, lcol)) / len(top(keys, mcol)):.3f}")
        print(f"{name}: {nh} highly memorized: outlier {len(c['outlier'])}, high leverage {len(c['leverage'])}, "
              f"learned {len(c['learned'])}, memorized inliers {len(c['inlier'])} ({len(c['inlier']) / max(1, nh):.2f})")
        print(f"{name}: S/M all: q0.1 {quantile(ratio, .1):.2f} q0.25 {quantile(ratio, .25):.2f} median "
              f"{quantile(ratio, .5):.2f} q0.75 {quantile(ratio, .75):.2f} q0.9 {quantile(ratio, .9):.2f} "
              f"({len(finite(ratio))} examples); highly memorized: q0.25 {quantile(hr, .25):.2f} median "
              f"{quantile(hr, .5):.2f} q0.75 {quantile(hr, .75):.2f}; examples with spillover "
              f"{sum(rows[i]['spill_pairs'] > 0 for i in keys)} of {len(keys)}")
        hn = [net[i] for i in sorted(c["high"])]
        hc = [rows[i]["spill_control"] / rows[i]["mem"] for i in sorted(c["high"])]
        print(f"{name}: highly memorized: S_control/M median {quantile(hc, .5):.2f}; (S - S_control)/M q0.25 "
              f"{quantile(hn, .25):.2f} median {quantile(hn, .5):.2f} q0.75 {quantile(hn, .75):.2f}; all examples "
              f"(S - S_control)/M median {quantile(list(net.values()), .5):.2f}")
    a, b = runs
    for c in ("mem", "spill", "spill_ratio", "leverage", "nn_dist"):
        print(f"between runs: Spearman of {c} {spearman([a[i][c] for i in keys], [b[i][c] for i in keys]):.3f}")
    print(f"between runs: highly memorized overlap {overlap(cats[0]['high'], cats[1]['high']):.3f}, memorized "
          f"inliers overlap {overlap(cats[0]['inlier'], cats[1]['inlier']):.3f} ({len(cats[0]['inlier'] & cats[1]['inlier'])}"
          f" shared of {len(cats[0]['inlier'])} and {len(cats[1]['inlier'])})")


if __name__ == "__main__":
    main()
