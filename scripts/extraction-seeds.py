#!/usr/bin/env python3
"""Does an extraction reproduce? Two runs of one configuration under two --seed values, each after
`memscope extract`. Per run: samples that copy a training image and a held-out one (the adaptive
rule, and the plain l2 rule), the images copied and how many of them are --duplicate'd, and M of the
duplicated images against the rest (each image once). Between the runs: the overlap of the copied
images (|A & B| / min(|A|, |B|)) and the Spearman correlation of the number of samples copying each
image, over the images either run copied.

usage: scripts/extraction-seeds.py RUN_A RUN_B   (standard library only)
"""
import csv
import importlib.util
import json
import math
import os
import statistics
import sys

_spec = importlib.util.spec_from_file_location(
    "memorization_seeds", os.path.join(os.path.dirname(os.path.abspath(__file__)), "memorization-seeds.py"))
_seeds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_seeds)
spearman = _seeds.spearman  # ties share their mean rank; NaN for fewer than 3 pairs or a constant side


def read_run(run):
    with open(f"{run}/extraction.json") as f:
        extraction = json.load(f)
    with open(f"{run}/config.json") as f:
        duplicate = json.load(f)["config"]["data"].get("duplicate") or [0, 0]
    copies, mem = {}, {}
    with open(f"{run}/copies.csv", newline="") as f:  # copies of an image keep its index: count them once
        for r in csv.DictReader(f):
            copies[int(r["index"])] = max(copies.get(int(r["index"]), 0), int(r["samples"]))
    with open(f"{run}/scores.csv", newline="") as f:
        for r in csv.DictReader(f):  # the first row of an image, as extraction.json's M comparison
            mem.setdefault(int(r["index"]), float(r["mem"]) if r["mem"] not in ("", "nan") else math.nan)
    return extraction, duplicate[0], copies, mem


def describe(name, run):
    extraction, k, copies, mem = run
    o = extraction["overall"]
    copied = sorted(i for i, n in copies.items() if n > 0)
    per_model = ", ".join("%d/%d" % (m["copies_of_training"], m["copies_of_held_out"]) for m in extraction["models"])
    dup = [v for i, v in mem.items() if i < k and not math.isnan(v)]
    rest = [v for i, v in mem.items() if i >= k and not math.isnan(v)]
    print(f"{name}: adaptive rule: {o['copies_of_training']} samples copy a training image, "
          f"{o['copies_of_held_out']} a held-out one (per model, training/held out: {per_model}); "
          f"plain l2: {o['l2_copies_of_training']} / {o['l2_copies_of_held_out']}")
    print(f"  images copied: {len(copied)}, of them duplicated: {sum(i < k for i in copied)} of {k}; {copied[:20]}")
    if dup and rest:
        print("  M of the duplicated images: mean %.2f, median %.2f; of the rest: mean %.2f, median %.2f" %
              (statistics.fmean(dup), statistics.median(dup), statistics.fmean(rest), statistics.median(rest)))
    return set(copied)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    a, b = read_run(sys.argv[1]), read_run(sys.argv[2])
    copied_a, copied_b = describe("A", a), describe("B", b)
    both = copied_a | copied_b
    overlap = len(copied_a & copied_b) / max(1, min(len(copied_a), len(copied_b)))
    order = sorted(both)
    rho = spearman([a[2].get(i, 0) for i in order], [b[2].get(i, 0) for i in order])
    print("between the runs: copied images in both %d (overlap %.2f of the smaller set); Spearman of the "
          "samples copying each image over the %d copied by either: %.2f" %
          (len(copied_a & copied_b), overlap, len(both), rho))


if __name__ == "__main__":
    main()
