#!/usr/bin/env python3
"""Writes two starting points for a from-scratch srcnn-9-5-5 run (docs/results.md, "Dead units",
"Is the initialiser to blame?"): He-normal weights as `Conv2d` draws them (std sqrt(2 / fan-in);
the last layer Gaussian 0.001; biases 0), and the same weights with every filter of the 5x5 layer
shifted to sum to zero. The header and metadata are copied from a shipped model file.

Usage: python3 tools/centered_init.py --template Sources/EnhanceModels/Weights/srcnn-9-5-5-x3.safetensors \
           --output runs/initexp        # writes plain.safetensors and centered.safetensors
then, for each:
  enhance train --model srcnn-9-5-5 --scale 3 --data T91 --data BSDS500/train --validation Set5 \
      --steps 1500 --lr 1e-3 --lr-mult 4=0.1 --threads 1 --validate-every 500 --init runs/initexp/plain.safetensors -o runs/initexp/plain
  enhance models --activity Set5 --model runs/initexp/plain/best.safetensors
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read, write

parser = argparse.ArgumentParser()
parser.add_argument("--template", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--seed", type=int, default=7)
parser.add_argument("--center", default="2.weight", help="tensor whose filters are made zero-sum")
args = parser.parse_args()

metadata, template = read(args.template)
names = list(template)
last_weight = [k for k in names if k.endswith("weight")][-1]


def draw(center):
    rng = np.random.default_rng(args.seed)
    out = {}
    for k in names:
        shape = template[k].shape
        if k.endswith("bias"):
            t = np.zeros(shape, np.float32)
        elif k == last_weight:
            t = rng.normal(0, 0.001, shape).astype(np.float32)
        else:
            t = rng.normal(0, np.sqrt(2 / np.prod(shape[1:])), shape).astype(np.float32)
            if center and k == args.center:
                t -= t.reshape(shape[0], -1).mean(axis=1).reshape(-1, *([1] * (len(shape) - 1)))
        out[k] = t
    return out


os.makedirs(args.output, exist_ok=True)
for name, center in [("plain", False), ("centered", True)]:
    path = os.path.join(args.output, name + ".safetensors")
    write(path, metadata, draw(center))
    print("wrote", path)
