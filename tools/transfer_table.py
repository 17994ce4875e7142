#!/usr/bin/env python3
"""AR-CNN's transfer schemes: validation PSNR of a transferred run against training from
scratch at the same budget (same settings, same schedule, same steps), read from the runs'
log.csv files (written by `enhance train`).

    python3 tools/transfer_table.py --runs docs/training   # the logs kept in the repository

Pairs (folder names under --runs; the transferred runs are the first runs of the shipped models,
kept as `-stage1` once later cycles took the model's own folder):
  shallow to deep:        arcnn-q20-stage1 (initialised from srcnn-9-7-5-q20)  vs arcnn-q20-scratch
  high to low quality:    arcnn-q10-stage1 (initialised from arcnn-q20)        vs arcnn-q10-scratch
  standard to real use:   arcnn-social-q20 (from arcnn-q20)             vs arcnn-social-q20-scratch
Prints a Markdown table: PSNR at each validated step both runs reached, and the gain.
"""
import argparse
import csv
import os
import sys

PAIRS = [
    ("shallow to deep (q20; 9-7-5 → 9-7-1-5)", "arcnn-q20-stage1", "arcnn-q20-scratch"),
    ("high to low quality (q20 → q10)", "arcnn-q10-stage1", "arcnn-q10-scratch"),
    ("standard to real use (q20 → social q20)", "arcnn-social-q20", "arcnn-social-q20-scratch"),
]


def validations(folder):
    """{step: validation PSNR} of a run's log.csv (steps > 0 only)."""
    path = os.path.join(folder, "log.csv")
    if not os.path.exists(path):
        return None
    out = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            if row["validation_psnr"] and int(row["step"]) > 0:
                out[int(row["step"])] = float(row["validation_psnr"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", required=True, help="folder holding the run folders")
    ap.add_argument("--steps", default="", help="comma-separated steps to show (default: every common one)")
    args = ap.parse_args()
    wanted = [int(s) for s in args.steps.split(",") if s]
    print("| scheme | step | transferred | from scratch | gain |")
    print("|---|---|---|---|---|")
    missing = []
    for label, transferred, scratch in PAIRS:
        a = validations(os.path.join(args.runs, transferred))
        b = validations(os.path.join(args.runs, scratch))
        if a is None or b is None:
            missing.append(label)
            continue
        steps = sorted(set(a) & set(b))
        if wanted:
            steps = [s for s in steps if s in wanted]
        for s in steps:
            print(f"| {label} | {s} | {a[s]:.2f} | {b[s]:.2f} | {a[s] - b[s]:+.2f} |")
    for label in missing:
        print(f"missing runs for: {label}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
