#!/usr/bin/env python3
"""Writes the weights a training run ended with (its checkpoint) as a model file.

    tools/final_weights.py RUN_DIR [OUT]     # OUT defaults to RUN_DIR/final.safetensors

best.safetensors holds the best validated weights, which may be the run's start; the
checkpoint holds the last step's weights beside the optimizer state. The model metadata is
best.safetensors', its training notes saying which step this is. Needs numpy only.
"""
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read, with_training_notes, write

def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip())
    run = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(run, 'final.safetensors')
    state, tensors = read(os.path.join(run, 'checkpoint.safetensors'))
    metadata, best = read(os.path.join(run, 'best.safetensors'))
    weights = {n: tensors['model.' + n] for n in best}
    for n in best:
        if weights[n].shape != best[n].shape:
            sys.exit(f'{run}: checkpoint tensor {n} is {weights[n].shape}, best.safetensors has {best[n].shape}')
    notes = f'the weights at step {state["step"]} of {run} (tools/final_weights.py)'
    write(out, with_training_notes(metadata, notes), weights)

if __name__ == '__main__':
    main()
