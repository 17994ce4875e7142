#!/usr/bin/env python3
"""The next start of a chain of fine-tuning cycles by Anderson acceleration.

    tools/anderson_step.py OUT START1 END1 START2 END2 [...] [--beta B ...] [--memory M]

A cycle run in one fixed order (same seed, steps and schedule: tools/deblock_cycles.sh) is a
deterministic map T from its start w to its end T(w). Sessions 22-24 went on from
END + A·(END - START), a relaxed fixed-point iteration of T. Anderson acceleration uses the
last M + 1 cycles together: with residuals f_i = T(w_i) - w_i it finds the mix of the cycles
whose residual is smallest, gamma = argmin |f_k - dF gamma| (dF the differences of successive
residuals), and starts the next cycle at

    w_mix + B · f_mix,  w_mix = w_k - dW gamma,  f_mix = f_k - dF gamma

B = 1 is plain Anderson; with M = 0 the step is END + (B - 1)·(END - START), the scan's factor
A = B - 1. The pairs are given oldest first, each a cycle's start and its end (best.safetensors);
all must be cycles of the same map. With several --beta values OUT must contain "{beta}"
(e.g. runs/aa/b{beta}.safetensors). Prints gamma and the residual norms. Needs numpy only.
"""
import argparse, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read, with_training_notes, write


def flatten(tensors, names):
    return np.concatenate([tensors[n].astype(np.float64).ravel() for n in names])


def unflatten(vector, like, names):
    out, at = {}, 0
    for n in names:
        size = like[n].size
        out[n] = vector[at:at + size].reshape(like[n].shape).astype(np.float32)
        at += size
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument('out')
    parser.add_argument('pairs', nargs='+', help='START END of each cycle, oldest first')
    parser.add_argument('--beta', type=float, nargs='+', default=[1.0])
    parser.add_argument('--memory', type=int, default=None, help='cycles before the last to use (default: all)')
    args = parser.parse_args()
    if len(args.pairs) % 2 or len(args.pairs) < 2:
        parser.error('give START END pairs, at least one')
    if len(args.beta) > 1 and '{beta}' not in args.out:
        parser.error('with several --beta values OUT must contain {beta}')
    files = [read(p) for p in args.pairs]
    metadata, first = files[0]
    names = list(first)
    for p, (_, t) in zip(args.pairs[1:], files[1:]):
        if list(t) != names or any(t[n].shape != first[n].shape for n in names):
            sys.exit(f'{p}: tensors differ from {args.pairs[0]}')
    starts = [flatten(t, names) for _, t in files[0::2]]
    ends = [flatten(t, names) for _, t in files[1::2]]
    memory = len(starts) - 1 if args.memory is None else min(args.memory, len(starts) - 1)
    starts, ends = starts[-memory - 1:], ends[-memory - 1:]
    residuals = [e - s for s, e in zip(starts, ends)]
    for i, f in enumerate(residuals):
        print(f'cycle {i}: |f| = {np.linalg.norm(f):.6e}')
    w, f = starts[-1], residuals[-1]
    if memory > 0:
        dF = np.stack([residuals[i + 1] - residuals[i] for i in range(memory)], axis=1)
        dW = np.stack([starts[i + 1] - starts[i] for i in range(memory)], axis=1)
        gamma, *_ = np.linalg.lstsq(dF, f, rcond=None)
        w, f = w - dW @ gamma, f - dF @ gamma
        print('gamma =', ' '.join(f'{g:.6f}' for g in gamma))
        print(f'|f_mix| = {np.linalg.norm(f):.6e} (last {np.linalg.norm(residuals[-1]):.6e})')
    for beta in args.beta:
        out = args.out.replace('{beta}', f'{beta:g}')
        step = w + beta * f
        print(f'beta {beta:g}: |out - last end| = {np.linalg.norm(step - ends[-1]):.6e} -> {out}')
        notes = (f'Anderson step (memory {memory}, beta {beta:g}) over cycles '
                 + ', '.join(args.pairs[-2 * memory - 2:]) + ' (tools/anderson_step.py)')
        write(out, with_training_notes(metadata, notes), unflatten(step, first, names))


if __name__ == '__main__':
    main()
