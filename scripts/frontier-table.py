#!/usr/bin/env python3
"""The frontier's table and chart from the runs of scripts/frontier.sh: per point the models, the CPU
and wall seconds (NAME/seconds: "CPU WALL"), the examples memorized (and how many the run's permutation null
discovers on average), and the split-half reliability of M and of mem_log projected to the whole
run. A point NAME-seed1 is checked against NAME: the Spearman correlation of M and of mem_log between the
two seeds, and the share of NAME's discoveries that the second seed finds again.

usage: scripts/frontier-table.py OUT [CHART.svg]   (python3-matplotlib for the chart)
"""
import importlib.util
import json
import os
import sys

# scripts/compare-scores.py, whose loading, Spearman and discoveries this table shares
_spec = importlib.util.spec_from_file_location("compare_scores", os.path.join(os.path.dirname(__file__),
                                                                              "compare-scores.py"))
compare = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare)

# the chart's lines: a point's name prefix -> (the configuration key it varies, the line's label); the base
# point is on every line but the subsets design's
DIMENSIONS = {"repeats": ("repeats", "models (5 folds x R repeats)"), "epochs": ("epochs", "epochs"),
              "images": ("limit", "images"), "samples": ("iw_samples", "importance samples"),
              "subsets": ("models", "subsets design (models)")}


def load_point(path):
    s = json.load(open(f"{path}/summary.json"))
    rel = s["reliability"]
    rows = compare.load(f"{path}/scores.csv")
    cpu, wall = (float(v) for v in open(f"{path}/seconds").read().split())
    return {"seconds": cpu, "wall": wall, "models": s["run"]["jobs"], "n": s["run"]["n"],
            "memorized": s["memorized"]["examples"], "noise": s["null"]["mem"]["discoveries"]["mean"],
            "M": rel["mem"]["projected_whole_run"], "mem_log": rel["mem_log"]["projected_whole_run"],
            "rows": rows, "config": s["run"]["config"]}


def between_seeds(a, b):
    keys = sorted(a["rows"])
    m = lambda p, k: [float(p["rows"][i][k]) for i in keys]
    da, db = compare.discovered(a["rows"], keys), compare.discovered(b["rows"], keys)
    return compare.spearman(m(a, "mem"), m(b, "mem")), compare.spearman(m(a, "mem_log"), m(b, "mem_log")), \
        len(da & db) / max(1, len(da))


def main():
    out = sys.argv[1]
    names = sorted(n for n in os.listdir(out) if os.path.isfile(f"{out}/{n}/seconds"))
    points = {n: load_point(f"{out}/{n}") for n in names}
    print("| point | models | images | CPU s | wall s | memorized (noise alone) | M (projected) | mem_log (projected) "
          "| M between seeds | mem_log between seeds | discoveries found again |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sorted(points, key=lambda n: points[n]["seconds"]):
        p = points[n]
        seeds = ["", "", ""]
        if n.endswith("-seed1") and n[:-6] in points:
            seeds = [f"{v:.2f}" for v in between_seeds(points[n[:-6]], p)]
        print(f"| {n} | {p['models']} | {p['n']} | {p['seconds']:.0f} | {p['wall']:.0f} | "
              f"{p['memorized']} ({p['noise']:.1f}) | {p['M']:.2f} | "
              f"{p['mem_log']:.2f} | " + " | ".join(seeds) + " |")
    if len(sys.argv) > 2:
        chart(points, sys.argv[2])


def chart(points, path):
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "memscope"  # the same file from the same runs
    import matplotlib.pyplot as plt
    from matplotlib.ticker import ScalarFormatter
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    base = points.get("base")
    pairs = [(points[n[:-6]], p) for n, p in points.items() if n.endswith("-seed1") and n[:-6] in points]
    for ax, score in zip(axes, ["M", "mem_log"]):
        for prefix, (key, label) in DIMENSIONS.items():
            line = [p for n, p in points.items() if n.startswith(prefix + "-") and not n.endswith("-seed1")]
            if base and prefix != "subsets":
                line.append(base)
            line.sort(key=lambda p: p["seconds"])
            if not line:
                continue
            ax.plot([p["seconds"] for p in line], [p[score] for p in line], marker="o", label=label)
            for p in line:
                if p is base:
                    continue
                value = p["config"]["plan" if key in ("repeats", "models") else
                                    "train" if key == "epochs" else "data" if key == "limit" else "eval"][key]
                ax.annotate(str(value), (p["seconds"], p[score]), textcoords="offset points", xytext=(4, -10),
                            fontsize=7)
        if base:
            ax.annotate("main job", (base["seconds"], base[score]), textcoords="offset points", xytext=(-20, 8),
                        fontsize=7)
        # what two seeds measured, at the pair's mean cost
        column = 0 if score == "M" else 1
        ax.scatter([(a["seconds"] + b["seconds"]) / 2 for a, b in pairs],
                   [between_seeds(a, b)[column] for a, b in pairs], marker="x", color="black", zorder=3,
                   label="Spearman between two seeds")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(ScalarFormatter())
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_xlabel("CPU seconds (2 cores)")
        ax.set_title(f"{score}: split-half reliability, projected to the whole run", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("reliability")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None} if path.endswith(".svg") else None)


if __name__ == "__main__":
    main()
