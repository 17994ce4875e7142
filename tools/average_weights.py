#!/usr/bin/env python3
"""Writes the element-wise mean of several weight files of one architecture (a "model soup").

    tools/average_weights.py OUT.safetensors A.safetensors B.safetensors [...]

Meant for models fine-tuned from one start (the same basin), where the mean of the weights
behaves like the mean of the outputs. The metadata is the first file's, its training notes
saying what was averaged. Needs numpy only.
"""
import os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read, with_training_notes, write

def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip())
    out, paths = sys.argv[1], sys.argv[2:]
    members = [read(p) for p in paths]
    names = list(members[0][1])
    for p, (_, t) in zip(paths[1:], members[1:]):
        if list(t) != names or any(t[n].shape != members[0][1][n].shape for n in names):
            sys.exit(f"{p}: tensors differ from {paths[0]}")
    mean = {n: sum(t[n].astype(np.float64) for _, t in members) / len(members) for n in names}
    notes = 'weights averaged over ' + ', '.join(paths) + ' (tools/average_weights.py)'
    write(out, with_training_notes(members[0][0], notes), mean)

if __name__ == '__main__':
    main()
