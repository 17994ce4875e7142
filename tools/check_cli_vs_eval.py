#!/usr/bin/env python3
"""Checks that `enhance upscale` on low-resolution files made outside Enhance gives the same
scores as `enhance eval` (issue 4: the CLI path and the eval path agree to 0.05 dB).

For every image of a dataset folder this script, independently of Enhance's Swift code:
  1. reads the PNG (the small zlib-based decoder of tools/gen_golden.py), modcrops it to a multiple of the scale;
  2. makes the low-resolution file as a MATLAB user would: imresize(uint8 RGB, 1/s, 'bicubic'),
     each 1-D pass rounded to uint8 (the NumPy imresize of tools/gen_golden.py), saved as PNG;
  3. runs `enhance upscale LR.png -o OUT.png --scale s --model M`;
  4. scores OUT.png: Y of rgb2ycbcr on uint8 (rounded), shave s, PSNR against the ground-truth Y.
It then runs `enhance eval --model M --dataset DIR --scale s --json` and compares the means.

Usage: python3 tools/check_cli_vs_eval.py --enhance .build/release/enhance --model srcnn-9-5-5-x3 \
           --scale 3 --dataset ../shared/datasets/Set5
Exit status 1 when the means differ by more than --tolerance (default 0.05 dB).
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_golden import contributions, read_png8  # noqa: E402  (MATLAB imresize contributions; PNG reader)


def write_png(path, img):
    """(H, W, C) uint8 -> PNG (filter 0)."""
    h, w, c = img.shape
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def imresize_uint8(img, scale):
    """MATLAB imresize(uint8, scale, 'bicubic'): rows first on equal scales, each pass rounded.
    (gen_golden.imresize refuses near-ties, which golden values must avoid; a data file need not.)"""
    a = img.astype(np.float64)
    for dim in (0, 1):
        n = a.shape[dim]
        w, idx = contributions(n, int(math.ceil(scale * n)), scale, "bicubic", True)
        a = np.moveaxis(a, dim, 0)
        out = np.zeros((w.shape[0],) + a.shape[1:])
        for j in range(w.shape[1]):
            out += w[:, j].reshape((-1,) + (1,) * (a.ndim - 1)) * a[idx[:, j]]
        a = np.moveaxis(np.floor(np.clip(out, 0, 255) + 0.5), 0, dim)
    return a.astype(np.uint8)


def luma(img):
    """Y of rgb2ycbcr on uint8 (rounded); a one-channel image is its own Y."""
    if img.shape[2] < 3:
        return img[:, :, 0].astype(np.float64)
    rgb = img[:, :, :3].astype(np.float64)
    y = 16 + (65.481 * rgb[:, :, 0] + 128.553 * rgb[:, :, 1] + 24.966 * rgb[:, :, 2]) / 255
    return np.floor(np.clip(y, 0, 255) + 0.5)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--enhance", default=".build/release/enhance")
    ap.add_argument("--model", required=True)
    ap.add_argument("--scale", type=int, required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--tolerance", type=float, default=0.05)
    args = ap.parse_args()
    s = args.scale
    scores = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(os.listdir(args.dataset)):
            if not name.lower().endswith(".png"):
                continue
            gt = read_png8(os.path.join(args.dataset, name)).astype(np.uint8)  # alpha dropped
            h, w = gt.shape[0] - gt.shape[0] % s, gt.shape[1] - gt.shape[1] % s
            gt = gt[:h, :w]
            lr_path, out_path = os.path.join(tmp, "lr-" + name), os.path.join(tmp, "out-" + name)
            write_png(lr_path, imresize_uint8(gt, 1 / s))
            subprocess.run([args.enhance, "upscale", lr_path, "-o", out_path, "--scale", str(s), "--model", args.model],
                           check=True)
            out = read_png8(out_path)
            yo, yg = luma(out)[s:-s, s:-s], luma(gt)[s:-s, s:-s]
            scores.append(psnr(yo, yg))
            print(f"{name:16s} {scores[-1]:8.3f} dB (upscale of an 8-bit LR file)")
    cli_mean = sum(scores) / len(scores)
    report = json.loads(subprocess.run([args.enhance, "eval", "--model", args.model, "--dataset", args.dataset,
                                        "--scale", str(s), "--json"], check=True, capture_output=True).stdout)
    eval_mean = report["results"][-1]["mean"]["psnr"]
    diff = cli_mean - eval_mean
    print(f"mean: upscale path {cli_mean:.3f} dB, eval path {eval_mean:.3f} dB, difference {diff:+.3f} dB "
          f"(tolerance {args.tolerance})")
    sys.exit(0 if abs(diff) <= args.tolerance else 1)


if __name__ == "__main__":
    main()
