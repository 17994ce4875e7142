#!/usr/bin/env python3
"""Refits the last layer of an AR-CNN in closed form: the least-squares 5x5 filter and bias that
map its 16 third-layer feature maps to the ground truth over every pixel of the training images.

    tools/refit_last_layer.py MODEL.safetensors OUT.safetensors QUALITY DATA_DIR [DATA_DIR ...]
        [--limit N] [--ridge R]

The last layer is linear in its weights, so given the features the best filter over the training
set is one solve of 401 normal equations: no step size and no gradient noise. The inputs are made
as `enhance train --borders` makes them: Y of each image (MATLAB rgb2ycbcr, rounded), through a
one-component JPEG at QUALITY with the IJG tables (the project's own C codec, built here with cc),
edge-padded by the network's radius (9), so every pixel is a label. Prints the training MSE and
PSNR before and after, and writes the model with a training record of its own (the model's
record moves to `earlier`); `enhance train --steps 0 --init OUT -o DIR` then validates it on
LIVE1 as a shippable run folder, as tools/extrapolation_scan.sh does. Needs numpy and a C
compiler with libjpeg. The forward pass here is numpy's: its training MSE before the refit is
the trainer's loss on these images (about 1.43e-3 at q10).
"""
import argparse, ctypes, glob, json, os, subprocess, sys, tempfile, time
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read, write
from check_cli_vs_eval import luma  # MATLAB rgb2ycbcr's Y, rounded as on uint8

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

class CImage(ctypes.Structure):
    _fields_ = [('width', ctypes.c_int32), ('height', ctypes.c_int32), ('channels', ctypes.c_int32),
                ('bit_depth', ctypes.c_int32), ('source_bits', ctypes.c_int32), ('orientation', ctypes.c_int32),
                ('pixels', ctypes.c_void_p), ('icc', ctypes.c_void_p), ('icc_size', ctypes.c_size_t)]

class CBuffer(ctypes.Structure):
    _fields_ = [('data', ctypes.c_void_p), ('size', ctypes.c_size_t)]

def load_codec():
    src = os.path.join(ROOT, 'Sources', 'CCodecs')
    with tempfile.TemporaryDirectory(prefix='enhance-refit-') as folder:  # one per run: runs may overlap
        lib = os.path.join(folder, 'ccodecs-jpeg.so')
        subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-I', os.path.join(src, 'include'),
                        os.path.join(src, 'common.c'), os.path.join(src, 'jpeg.c'), '-ljpeg', '-o', lib], check=True)
        return ctypes.CDLL(lib)  # stays mapped after the file is removed

def decode(cc, data):
    img, msg = CImage(), ctypes.create_string_buffer(256)
    if cc.cc_jpeg_decode(data, ctypes.c_size_t(len(data)), ctypes.c_int64(1 << 30), ctypes.byref(img), msg) != 0:
        sys.exit('decode: ' + msg.value.decode())
    n = img.width * img.height * img.channels
    a = np.ctypeslib.as_array(ctypes.cast(img.pixels, ctypes.POINTER(ctypes.c_uint8)), (n,)).copy()
    cc.cc_image_free(ctypes.byref(img))
    return a.reshape(img.height, img.width, img.channels)

def jpeg_grey(cc, y, quality):
    buf, msg = CBuffer(), ctypes.create_string_buffer(256)
    y = np.ascontiguousarray(y, dtype=np.uint8)
    if cc.cc_jpeg_encode(y.ctypes.data_as(ctypes.c_void_p), y.shape[1], y.shape[0], 1, quality, 0,
                         None, ctypes.c_size_t(0), ctypes.byref(buf), msg) != 0:
        sys.exit('encode: ' + msg.value.decode())
    data = ctypes.string_at(buf.data, buf.size)
    cc.cc_buffer_free(ctypes.byref(buf))
    return decode(cc, data)[:, :, 0]

def conv(x, w, b, rows=16):
    """Valid cross-correlation of x (C, H, W) with w (O, C, k, k), plus b."""
    o, c, k, _ = w.shape
    win = sliding_window_view(x, (k, k), axis=(1, 2))  # C, H', W', k, k
    h, wd = win.shape[1], win.shape[2]
    wm = w.reshape(o, c * k * k).T
    out = np.empty((h, wd, o), dtype=np.float32)
    for r0 in range(0, h, rows):
        r1 = min(h, r0 + rows)
        patch = win[:, r0:r1].transpose(1, 2, 0, 3, 4).reshape((r1 - r0) * wd, c * k * k)
        out[r0:r1] = (patch @ wm).reshape(r1 - r0, wd, o)
    return out.transpose(2, 0, 1) + b[:, None, None]

def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('model'); parser.add_argument('out'); parser.add_argument('quality', type=int)
    parser.add_argument('folders', nargs='+', metavar='data_dir')
    parser.add_argument('--limit', type=int, help='use the first N images only')
    parser.add_argument('--ridge', type=float, default=0.0, help='ridge, relative to the mean diagonal of the normal matrix')
    args = parser.parse_args()
    model, out, quality, folders, limit, ridge = args.model, args.out, args.quality, args.folders, args.limit, args.ridge
    started = time.time()
    metadata, t = read(model)
    info = json.loads(metadata['enhance.model'])
    arch = info['architecture'].get('arcnn', {})
    if [arch.get(k) for k in ('f1', 'f2', 'f3', 'f4')] != [9, 7, 1, 5]:
        sys.exit(f"{model}: not a 9-7-1-5 arcnn ({info['architecture']}); the radius 9 and the 5x5 last layer are built in")
    w = {k: v.astype(np.float32) for k, v in t.items()}
    files = sorted(f for d in folders for f in glob.glob(os.path.join(d, '*.jpg')))[:limit]
    cc = load_codec()
    k6 = w['6.weight'].shape[1] * 25 + 1
    xtx, xty, yty, n = np.zeros((k6, k6)), np.zeros(k6), 0.0, 0
    for i, path in enumerate(files):
        with open(path, 'rb') as f:
            rgb = decode(cc, f.read())
        y = luma(rgb).astype(np.uint8)
        x = np.pad(jpeg_grey(cc, y, quality).astype(np.float32) / 255, 9, mode='edge')[None]
        a = np.maximum(conv(x, w['0.weight'], w['0.bias']), 0)
        a = np.maximum(conv(a, w['2.weight'], w['2.bias']), 0)
        a = np.maximum(conv(a, w['4.weight'], w['4.bias']), 0)
        win = sliding_window_view(a, (5, 5), axis=(1, 2))  # 16, H, W, 5, 5
        label = y.astype(np.float64) / 255
        h, wd = label.shape
        for r0 in range(0, h, 32):
            r1 = min(h, r0 + 32)
            xm = np.empty(((r1 - r0) * wd, k6))
            xm[:, :-1] = win[:, r0:r1].transpose(1, 2, 0, 3, 4).reshape(-1, k6 - 1)
            xm[:, -1] = 1
            yv = label[r0:r1].reshape(-1)
            xtx += xm.T @ xm; xty += xm.T @ yv; yty += yv @ yv; n += yv.size
        if (i + 1) % 20 == 0 or i + 1 == len(files):
            print(f'{i + 1}/{len(files)} images', file=sys.stderr, flush=True)
    old = np.append(w['6.weight'].reshape(-1), w['6.bias']).astype(np.float64)
    mse = lambda v: (v @ xtx @ v - 2 * v @ xty + yty) / n
    scale = np.mean(np.diag(xtx))
    new = np.linalg.solve(xtx + ridge * scale * np.eye(k6), xty)
    for name, v in (('model', old), ('refit', new)):
        print(f'{name}: training MSE {mse(v):.6e}  PSNR {10 * np.log10(1 / mse(v)):.4f} dB  ({n} pixels, {len(files)} images)')
    w['6.weight'] = new[:-1].reshape(w['6.weight'].shape).astype(np.float32)
    w['6.bias'] = new[-1:].astype(np.float32)
    old_record = info.get('training')
    history = (old_record.pop('earlier', []) + [old_record]) if old_record else []
    info['training'] = {
        'command': ' '.join(['tools/refit_last_layer.py'] + sys.argv[1:]),
        'data': ' + '.join(folders) + f' ({len(files)} images, every pixel; Y through a one-component JPEG at quality {quality}, edge-padded by 9)',
        'steps': 0, 'backprops': 0, 'wallSeconds': time.time() - started,
        'validationPSNR': float(10 * np.log10(1 / mse(new))),
        'validationSet': 'the training pixels (no held-out set: score the file with enhance eval)',
        'notes': f'last layer (6.weight, 6.bias) refitted by least squares, ridge {ridge}; training MSE {mse(old):.6e} -> {mse(new):.6e}',
    }
    if history:
        info['training']['earlier'] = history
    metadata = dict(metadata); metadata['enhance.model'] = json.dumps(info, sort_keys=True)
    write(out, metadata, {k: w[k] for k in t})

if __name__ == '__main__':
    main()
