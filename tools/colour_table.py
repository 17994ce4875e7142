#!/usr/bin/env python3
"""Prints docs/results.md's colour-JPEG table: every deblocking model at every file quality.

For each quality Q it runs
    enhance eval --task deblock --degradation color --dataset LIVE1 --quality Q \
                 --method jpeg --model arcnn-q10 --model arcnn-q20 --model arcnn-q30 --model arcnn-q40 --json
(each LIVE1 image saved as a colour JPEG 4:2:0 at Q; Y PSNR and RGB PSNR of the restored colour
image against the original), marks the best model in bold where one beats the JPEG, and asks
`enhance denoise --noise auto --json` which model it picks for a JPEG file of that quality
(written by `enhance upscale --scale 1 --format jpg --quality Q`), so the `auto` column is the
tool's own answer, not a re-implementation of its rule.

Usage: python3 tools/colour_table.py --enhance .build/release/enhance --dataset ../shared/datasets/LIVE1
"""

import argparse
import json
import os
import subprocess
import tempfile

MODELS = ["arcnn-q10", "arcnn-q20", "arcnn-q30", "arcnn-q40"]
QUALITIES = [10, 15, 20, 25, 30, 35, 40, 50, 60, 75]


def evaluate(enhance, dataset, quality, models):
    args = [enhance, "eval", "--task", "deblock", "--degradation", "color", "--dataset", dataset,
            "--quality", str(quality), "--method", "jpeg", "--json"]
    for m in models:
        args += ["--model", m]
    report = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    by_method = {r["method"]: (r["mean"]["psnr"], r["mean"]["psnrRGB"]) for r in report["results"]}
    return [by_method["jpeg"]] + [by_method[m] for m in models]


def auto_pick(enhance, dataset, quality, tmp):
    first = sorted(f for f in os.listdir(dataset) if not f.startswith("."))[0]
    jpeg = os.path.join(tmp, f"q{quality}.jpg")
    subprocess.run([enhance, "upscale", os.path.join(dataset, first), "--scale", "1", "--format", "jpg",
                    "--quality", str(quality), "-o", jpeg, "--quiet"], check=True)
    out = os.path.join(tmp, f"q{quality}.png")
    summary = json.loads(subprocess.run([enhance, "denoise", jpeg, "--noise", "auto", "-o", out, "--quiet", "--json"],
                                        check=True, capture_output=True, text=True).stdout)
    return summary["files"][0]["denoiser"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--enhance", default=".build/release/enhance")
    ap.add_argument("--dataset", default="../shared/datasets/LIVE1")
    ap.add_argument("--quality", type=int, action="append", help="file qualities (default: the table's ten)")
    args = ap.parse_args()
    qualities = args.quality or QUALITIES
    print("| file quality | JPEG | " + " | ".join(MODELS) + " | `auto` picks |")
    print("|---" * (len(MODELS) + 3) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for q in qualities:
            scores = evaluate(args.enhance, args.dataset, q, MODELS)
            jpeg, models = scores[0], scores[1:]
            best = max(range(len(models)), key=lambda i: models[i][0])
            cells = []
            for i, (y, rgb) in enumerate(models):
                cell = f"{y:.2f}/{rgb:.2f}"
                # Bold: the best model, and any other that rounds to the same Y, when it beats the JPEG.
                if models[best][0] > jpeg[0] and f"{y:.2f}" == f"{models[best][0]:.2f}":
                    cell = f"**{cell}**"
                cells.append(cell)
            pick = auto_pick(args.enhance, args.dataset, q, tmp)
            print(f"| {q} | {jpeg[0]:.2f}/{jpeg[1]:.2f} | " + " | ".join(cells) + f" | {pick or 'none'} |")


if __name__ == "__main__":
    main()
