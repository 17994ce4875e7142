#!/usr/bin/env python3
"""Writes one AR-CNN-shaped model that computes the mean of several AR-CNN models' outputs.

    tools/ensemble_arcnn.py OUT.safetensors A.safetensors B.safetensors [...]

The members run side by side in one wider network: layer 1 stacks their filters, layers 2
and 3 are block-diagonal (no member sees another's features), and the last layer sums
each member's reconstruction scaled by 1/k with the mean of their biases. The result is
exact (up to float rounding), so `enhance eval --model OUT` scores the ensemble. It is an
Enhance model of architecture arcnn with n1/n2/n3 = k times 64/32/16; needs numpy only.
"""
import json, os, sys
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read, write

def block_diagonal(ws):
    o = sum(w.shape[0] for w in ws); i = sum(w.shape[1] for w in ws)
    out = np.zeros((o, i) + ws[0].shape[2:], dtype=np.float32)
    r = c = 0
    for w in ws:
        out[r:r + w.shape[0], c:c + w.shape[1]] = w
        r += w.shape[0]; c += w.shape[1]
    return out

def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.strip())
    out, paths = sys.argv[1], sys.argv[2:]
    members = [read(p) for p in paths]
    k = len(members)
    infos = [json.loads(m['enhance.model']) for m, _ in members]
    for p, info in zip(paths, infos):
        if 'arcnn' not in info['architecture']:
            sys.exit(f"{p}: not an arcnn model ({info['architecture']})")
    t = [ts for _, ts in members]
    merged = {
        '0.weight': np.concatenate([x['0.weight'] for x in t]),
        '0.bias': np.concatenate([x['0.bias'] for x in t]),
        '2.weight': block_diagonal([x['2.weight'] for x in t]),
        '2.bias': np.concatenate([x['2.bias'] for x in t]),
        '4.weight': block_diagonal([x['4.weight'] for x in t]),
        '4.bias': np.concatenate([x['4.bias'] for x in t]),
        '6.weight': np.concatenate([x['6.weight'] for x in t], axis=1) / k,
        '6.bias': sum(x['6.bias'] for x in t) / k,
    }
    info = infos[0]
    a = info['architecture']['arcnn']
    a['n1'], a['n2'], a['n3'] = (sum(i['architecture']['arcnn'][n] for i in infos) for n in ('n1', 'n2', 'n3'))
    info['name'] = info['name'] + '-ensemble' + str(k)
    info['training']['notes'] = 'mean of ' + ', '.join(paths) + ' (tools/ensemble_arcnn.py)'
    metadata = dict(members[0][0])
    metadata['enhance.model'] = json.dumps(info, sort_keys=True)
    metadata['name'] = info['name']
    write(out, metadata, merged)

if __name__ == '__main__':
    main()
