#!/usr/bin/env python3
"""Golden values for Enhance's colour conversion, resampling and metrics tests.

An independent NumPy implementation of MATLAB's ``imresize``, ``rgb2ycbcr`` and of the
image-quality metrics used by the super-resolution and deblocking literature. It is run by
hand (``python3 tools/gen_golden.py``) and its output is committed:

* ``Tests/EnhanceImageTests/Fixtures/resize_golden.json`` (resize cases, all four methods)
* ``Tests/EnhanceMetricsTests/MetricsGolden.swift`` (PSNR, SSIM, PSNR-B, RMSE)

Only NumPy is needed. The Swift code under test was written separately; the two agree to
1e-5 on the cases below.

``python3 tools/gen_golden.py --sr-table ../shared/datasets`` instead prints the mean bicubic
PSNR/SSIM of Set5 and Set14 under the evaluation protocol (and under the variants that were
measured and rejected); Tests/EnhanceMetricsTests/SRProtocolTests.swift pins the chosen one.

Where each rule comes from
--------------------------
MATLAB ``imresize`` (Image Processing Toolbox, ``imresize.m``; the algorithm is documented in
its help text and in the shipped source, summarised here):

1. ``imresize(A, scale)``: output size is ``ceil(scale * size(A))`` per dimension, and the
   kernel uses the scale as given (not output/input). ``imresize(A, [rows cols])``: the scale
   per dimension is ``out / in``.
2. Kernels (``imresize.m``, local functions ``cubic``, ``box``, ``triangle``, ``lanczos3``):
   cubic is Keys' kernel with a = -0.5, width 4; box (nearest) width 1 with support
   ``-0.5 <= x < 0.5``; triangle (bilinear) width 2; lanczos3 width 6 with MATLAB's ``+eps``
   in numerator and denominator.
3. ``contributions()``: when ``scale < 1`` and antialiasing is on, the kernel becomes
   ``scale * k(scale * x)`` and its width ``width / scale``. Output pixel ``x`` (1-based) maps
   to input coordinate ``u = x / scale + 0.5 * (1 - 1 / scale)``; the taps are
   ``left = floor(u - width / 2)`` and the next ``ceil(width) + 2`` indices; weights are
   normalised to sum 1 per output pixel; out-of-range indices are mirrored through
   ``aux = [1:in, in:-1:1]`` (symmetric padding, repeating the edge sample); tap columns that
   are zero for every output pixel are dropped.
4. Antialiasing is on by default except for 'nearest' (``imresize`` parses
   ``'Antialiasing'`` with default ``~strcmp(method, 'nearest')``).
5. Dimension order (``dimensionOrder``): ``[~, order] = sort(scale)``, i.e. the dimension with
   the smaller scale is resized first, rows (dimension 1, height) first on a tie (MATLAB's
   sort is stable).
6. ``imresizemex`` returns the class of its input: for ``uint8`` each 1-D pass is rounded
   (half away from zero) and saturated to 0..255 before the next pass. ``quantize=True``
   models that.

MATLAB ``rgb2ycbcr`` (BT.601 studio swing): ``Y = 16 + (65.481 R + 128.553 G + 24.966 B)``
with R, G, B in 0..1, on the 0..255 scale; for uint8 input the result is rounded to uint8.

SSIM: Wang, Bovik, Sheikh, Simoncelli (2004), reference ``ssim.m`` (the 2004 version, without
the automatic down-sampling of the 2009 revision): 11x11 Gaussian window with sigma 1.5
(``fspecial('gaussian', 11, 1.5)``), ``K1 = 0.01``, ``K2 = 0.03``, ``L = 255``,
``filter2(..., 'valid')``, mean of the SSIM map.

PSNR-B: Yim and Bovik, "Quality Assessment of Deblocked Images", IEEE TIP 20(1), 2011,
eqs. (1)-(6): blocking-effect factor of the test image for B = 8,
``BEF = eta * (D_B - D_Bc)`` with ``eta = log2(B) / log2(min(H, W))`` when ``D_B > D_Bc``
(else 0), D_B the mean squared difference across horizontal and vertical 8x8 block
boundaries and D_Bc across all other neighbouring pairs; ``MSE-B = MSE + BEF``,
``PSNR-B = 10 log10(255^2 / MSE-B)``. The pair counts are the real numbers of pairs
(``floor((W - 1) / B)`` boundary columns per row), which equal the paper's
``N_HB = H (W / B - 1)`` when the size is a multiple of 8.
"""

import json
import math
import os
import sys

import numpy as np

EPS = np.finfo(np.float64).eps  # MATLAB eps

# ---------------------------------------------------------------------------------------------
# Kernels (imresize.m)


def cubic(x):
    ax = np.abs(x)
    ax2 = ax * ax
    ax3 = ax2 * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((1 < ax) & (ax <= 2)))


def box(x):
    return ((-0.5 <= x) & (x < 0.5)).astype(np.float64)


def triangle(x):
    return (x + 1) * ((-1 <= x) & (x < 0)) + (1 - x) * ((0 <= x) & (x <= 1))


def lanczos3(x):
    f = (np.sin(np.pi * x) * np.sin(np.pi * x / 3) + EPS) / ((np.pi ** 2 * x * x / 3) + EPS)
    return f * (np.abs(x) < 3)


KERNELS = {
    "bicubic": (cubic, 4.0),
    "lanczos3": (lanczos3, 6.0),
    "bilinear": (triangle, 2.0),
    "nearest": (box, 1.0),
}


def contributions(in_len, out_len, scale, method, antialias):
    """Weights (out_len x P) and 0-based input indices, as MATLAB's contributions()."""
    kernel, width = KERNELS[method]
    if scale < 1 and antialias:
        h = lambda x: scale * kernel(scale * x)
        width = width / scale
    else:
        h = kernel
    x = np.arange(1, out_len + 1, dtype=np.float64)[:, None]
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    p = int(math.ceil(width)) + 2
    ind = left + np.arange(p, dtype=np.float64)[None, :]
    weights = h(u - ind)
    weights = weights / weights.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(1, in_len + 1), np.arange(in_len, 0, -1)])
    ind = aux[np.mod(ind.astype(np.int64) - 1, len(aux))]
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], ind[:, keep] - 1


class TieError(ValueError):
    pass


def resize_along(a, dim, weights, indices, quantize, exact_ties_ok=True):
    """One 1-D pass (imresizemex): out[k] = sum_j w[k, j] * in[idx[k, j]] along `dim`."""
    a = np.moveaxis(a, dim, 0)
    out = np.zeros((weights.shape[0],) + a.shape[1:], dtype=np.float64)
    for j in range(weights.shape[1]):
        out += weights[:, j].reshape((-1,) + (1,) * (a.ndim - 1)) * a[indices[:, j]]
    if quantize:  # uint8 in, uint8 out: round half away from zero, saturate
        frac = out - np.floor(out)
        inside = (out > 0) & (out < 255)
        tie_distance = np.abs(frac - 0.5)[inside]
        # A sum within rounding noise of k + 0.5 rounds either way depending on the libm and the
        # summation order (MATLAB's included), so such a case cannot be a golden value. An exact
        # tie is fine for the polynomial kernels: their weights are the same IEEE operations in
        # every implementation (and dyadic at integer scales), so every implementation gets it.
        near = tie_distance < 1e-6
        if not exact_ties_ok:
            bad = near
        else:
            bad = near & (tie_distance != 0)
        if bad.any():
            raise TieError(f"pass value {out[inside].ravel()[np.argmax(bad)]!r} is (nearly) a rounding tie")
        out = np.floor(np.clip(out, 0, 255) + 0.5)
    return np.moveaxis(out, 0, dim)


def imresize(a, scale=None, size=None, method="bicubic", antialias=None, quantize=False):
    """MATLAB imresize on a (H, W) or (H, W, C) array on the 0..255 (quantize) or any scale.

    Either `scale` (a number) or `size` = (rows, cols) is given.
    """
    if antialias is None:
        antialias = method != "nearest"
    if method == "nearest":
        antialias = False
    a = np.asarray(a, dtype=np.float64)
    in_size = a.shape[:2]
    if size is not None:
        scales = [size[0] / in_size[0], size[1] / in_size[1]]
        out_size = list(size)
    else:
        scales = [scale, scale]
        out_size = [int(math.ceil(scale * n)) for n in in_size]
    order = sorted(range(2), key=lambda d: scales[d])  # stable: rows first on a tie
    for d in order:
        w, idx = contributions(in_size[d], out_size[d], scales[d], method, antialias)
        a = resize_along(a, d, w, idx, quantize, exact_ties_ok=method != "lanczos3")
    return a


# ---------------------------------------------------------------------------------------------
# Colour (rgb2ycbcr.m)

T_YCBCR = np.array([[65.481, 128.553, 24.966],
                    [-37.797, -74.203, 112.0],
                    [112.0, -93.786, -18.214]])
OFFSET_YCBCR = np.array([16.0, 128.0, 128.0])


def rgb2ycbcr(rgb, uint8=False):
    """(H, W, 3) RGB in 0..1 -> YCbCr on 0..255 (rounded when the input is uint8 on 0..255)."""
    if uint8:
        out = OFFSET_YCBCR + np.einsum("hwc,kc->hwk", rgb.astype(np.float64), T_YCBCR / 255)
        return np.floor(np.clip(out, 0, 255) + 0.5)
    return OFFSET_YCBCR + np.einsum("hwc,kc->hwk", rgb, T_YCBCR)


def matlab_round(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


# ---------------------------------------------------------------------------------------------
# Metrics (0..255 scale, peak 255)


def psnr(a, b, peak=255.0):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def rmse(a, b):
    return math.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def gaussian_window(size=11, sigma=1.5):
    r = (size - 1) / 2
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    g = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    g[g < EPS * g.max()] = 0
    return g / g.sum()


def filter2_valid(w, img):
    kh, kw = w.shape
    h, wd = img.shape
    out = np.zeros((h - kh + 1, wd - kw + 1))
    for i in range(kh):
        for j in range(kw):
            out += w[i, j] * img[i:i + h - kh + 1, j:j + wd - kw + 1]
    return out


def ssim(a, b, peak=255.0):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    w = gaussian_window()
    c1 = (0.01 * peak) ** 2
    c2 = (0.03 * peak) ** 2
    mu1 = filter2_valid(w, a)
    mu2 = filter2_valid(w, b)
    s11 = filter2_valid(w, a * a) - mu1 * mu1
    s22 = filter2_valid(w, b * b) - mu2 * mu2
    s12 = filter2_valid(w, a * b) - mu1 * mu2
    m = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2))
    return float(m.mean())


def bef(img, block=8):
    img = img.astype(np.float64)
    h, w = img.shape
    dh = (img[:, :-1] - img[:, 1:]) ** 2  # pairs (x, x+1), x in 0..w-2
    dv = (img[:-1, :] - img[1:, :]) ** 2
    hb = np.zeros(w - 1, dtype=bool)
    hb[block - 1::block] = True
    vb = np.zeros(h - 1, dtype=bool)
    vb[block - 1::block] = True
    n_b = h * hb.sum() + w * vb.sum()
    n_bc = h * (~hb).sum() + w * (~vb).sum()
    d_b = (dh[:, hb].sum() + dv[vb, :].sum()) / n_b
    d_bc = (dh[:, ~hb].sum() + dv[~vb, :].sum()) / n_bc
    eta = math.log2(block) / math.log2(min(h, w)) if d_b > d_bc else 0.0
    return eta * (d_b - d_bc)


def psnr_b(restored, reference, peak=255.0):
    """PSNR-B of `restored` against `reference` (BEF measured on `restored`)."""
    mse = np.mean((restored.astype(np.float64) - reference.astype(np.float64)) ** 2)
    mse_b = mse + bef(restored)
    return math.inf if mse_b == 0 else 10 * math.log10(peak * peak / mse_b)


# ---------------------------------------------------------------------------------------------
# Deterministic inputs (reproduced bit for bit by the Swift tests: see `GoldenInput`)


def pseudo_random_8bit(count, seed):
    """32-bit LCG (Numerical Recipes constants), top 8 bits: values 0...255."""
    out = []
    s = seed & 0xFFFFFFFF
    for _ in range(count):
        s = (1664525 * s + 1013904223) & 0xFFFFFFFF
        out.append(s >> 24)
    return np.array(out, dtype=np.float64)


def block_means(img, block=8):
    """Every 8x8 block (partial at the right/bottom edge) replaced by its rounded mean."""
    out = np.empty_like(img)
    h, w = img.shape
    for y in range(0, h, block):
        for x in range(0, w, block):
            out[y:y + block, x:x + block] = np.floor(img[y:y + block, x:x + block].mean() + 0.5)
    return out


# ---------------------------------------------------------------------------------------------
# Emitters


def swift_doubles(values, per_line=6):
    vals = [repr(float(v)) if math.isfinite(v) else ".infinity" for v in np.ravel(values)]
    lines = []
    for i in range(0, len(vals), per_line):
        lines.append("            " + ", ".join(vals[i:i + per_line]) + ",")
    return "\n".join(lines)


HEADER = """// GENERATED by tools/gen_golden.py -- do not edit by hand; re-run the script instead.
// Independent NumPy implementation of MATLAB {what} (see the script's docstring for the
// source of every rule).
"""


def resize_cases():
    # Inputs on the 0...1 scale: 8-bit values / 255 (so the uint8 path applies too).
    inputs = {
        "random7x5": (7, 5, pseudo_random_8bit(35, 1)),
        "random13x11": (13, 11, pseudo_random_8bit(143, 7)),
        "ramp12x12": (12, 12, np.array([(x * 20 + y * 3) % 256 for y in range(12) for x in range(12)], dtype=np.float64)),
    }
    cases = []

    def add(inp, method, scale=None, size=None, antialias=True, quantize=False):
        w, h, vals8 = inputs[inp]
        a = vals8.reshape(h, w)
        if quantize:
            out = imresize(a, scale=scale, size=size, method=method, antialias=antialias, quantize=True) / 255
        else:
            out = imresize(a / 255, scale=scale, size=size, method=method, antialias=antialias)
        cases.append(dict(input=inp, method=method, scale=scale, size=size, antialias=antialias,
                          quantize=quantize, out=out))

    for m in ["bicubic", "lanczos3", "bilinear", "nearest"]:
        for s in [1 / 2, 1 / 3, 1 / 4, 2, 3, 4, 0.6]:
            add("random7x5", m, scale=s)
        add("random13x11", m, scale=1 / 3)
        add("random13x11", m, size=(4, 17))  # rows shrink (11 -> 4) and go first, columns grow
        add("random13x11", m, size=(23, 5))  # columns shrink (13 -> 5) and go first, rows grow
    for s in [1 / 2, 1 / 3, 0.6, 2.5]:
        add("random13x11", "bicubic", scale=s, antialias=False)
    for s in [1 / 2, 1 / 3, 1 / 4, 2, 3, 0.6]:
        add("random13x11", "bicubic", scale=s, quantize=True)
    add("ramp12x12", "bicubic", scale=1 / 3, quantize=True)
    add("ramp12x12", "bicubic", size=(7, 9))
    add("ramp12x12", "lanczos3", size=(5, 30))
    add("random13x11", "lanczos3", size=(7, 30), quantize=True)
    return inputs, cases


def emit_resize(path):
    """JSON: {"generator", "inputs": {name: {"width", "height", "samples"}}, "cases": [...]}.

    Samples are 8-bit (the image is samples / 255); `expected` is row-major on the 0...1
    scale; `scale` is null when the case is `imresize(A, [outHeight outWidth])`.
    """
    inputs, cases = resize_cases()
    doc = {
        "generator": "tools/gen_golden.py (independent NumPy implementation of MATLAB imresize)",
        "inputs": {name: {"width": w, "height": h, "samples": [int(v) for v in vals]}
                   for name, (w, h, vals) in inputs.items()},
        "cases": [],
    }
    for c in cases:
        oh, ow = c["out"].shape
        doc["cases"].append({
            "input": c["input"], "method": c["method"],
            "scale": None if c["scale"] is None else float(c["scale"]),
            "antialias": c["antialias"], "quantizeEachPass": c["quantize"],
            "outWidth": ow, "outHeight": oh,
            "expected": [float("%.12g" % v) for v in c["out"].ravel()],
        })
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path}: {len(cases)} resize cases")


def metric_cases():
    w, h = 40, 32
    y, x = np.mgrid[0:h, 0:w]
    # A smooth reference (ramp plus a little noise), so that SSIM is far from 0.
    smooth = np.clip(np.round(x * 5 + y * 2 + pseudo_random_8bit(w * h, 11).reshape(h, w) / 4), 0, 255)
    noisy = np.clip(smooth + (pseudo_random_8bit(w * h, 12).reshape(h, w) - 128) / 8, 0, 255).round()
    blocky = np.clip(block_means(smooth) + (pseudo_random_8bit(w * h, 13).reshape(h, w) - 128) / 32, 0, 255).round()
    blurred = imresize(imresize(smooth, scale=0.5, quantize=True), scale=2, quantize=True)
    images = {"smooth": smooth, "noisy": noisy, "blocky": blocky, "blurred": blurred}
    # (reference, test, crop): crop = (width, height) of the top-left part compared, or None.
    pairs = [("smooth", "noisy", None), ("smooth", "blocky", None), ("smooth", "blurred", None),
             ("noisy", "blocky", None), ("smooth", "blocky", (37, 29))]
    results = []
    for ref_name, test_name, crop in pairs:
        r, t = images[ref_name], images[test_name]
        if crop is not None:
            r, t = r[:crop[1], :crop[0]], t[:crop[1], :crop[0]]
        results.append(dict(reference=ref_name, test=test_name, crop=crop, psnr=psnr(t, r), ssim=ssim(t, r),
                            psnrb=psnr_b(t, r), rmse=rmse(t, r), bef=float(bef(t))))
    return w, h, images, results


def emit_metrics(path):
    w, h, images, results = metric_cases()
    out = [HEADER.format(what="metrics (PSNR, SSIM as Wang's ssim.m, PSNR-B as Yim & Bovik 2011)"), "",
           "enum MetricsGolden {",
           f"    static let width = {w}",
           f"    static let height = {h}", "",
           "    /// Images on the 0...255 scale, row-major.",
           "    static let images: [String: [Float]] = ["]
    for name, img in images.items():
        out.append(f'        "{name}": [' + ", ".join(str(int(v)) for v in img.ravel()) + "],")
    out.append("    ]")
    out.append("")
    out.append("    struct Case: Sendable {")
    out.append("        /// Reference and test image names; `crop` = (width, height) of the top-left part compared.")
    out.append("        let reference: String, test: String, crop: (width: Int, height: Int)?")
    out.append("        let psnr: Double, ssim: Double, psnrB: Double, rmse: Double, bef: Double")
    out.append("    }")
    out.append("")
    out.append("    static let cases: [Case] = [")
    for c in results:
        crop = "nil" if c["crop"] is None else f"({c['crop'][0]}, {c['crop'][1]})"
        out.append(f'        Case(reference: "{c["reference"]}", test: "{c["test"]}", crop: {crop}, psnr: {c["psnr"]!r}, '
                   f'ssim: {c["ssim"]!r}, psnrB: {c["psnrb"]!r}, rmse: {c["rmse"]!r}, bef: {c["bef"]!r}),')
    out.append("    ]")
    out.append("}")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"wrote {path}: {len(results)} metric cases")


# ---------------------------------------------------------------------------------------------
# The SR evaluation protocol on real data (`--sr-table DATASETS`): prints the bicubic means that
# Tests/EnhanceMetricsTests/SRProtocolTests.swift pins, and the variants that were rejected.


def read_png8(path):
    """Minimal PNG reader: 8-bit grey/RGB/grey+alpha/RGBA, non-interlaced (enough for Set5/Set14)."""
    import struct
    import zlib
    data = open(path, "rb").read()
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if depth != 8 or interlace != 0 or ctype not in (0, 2, 4, 6):
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB(A) PNG is supported here")
    idat, i = b"", 8
    while i < len(data):
        n, = struct.unpack(">I", data[i:i + 4])
        if data[i + 4:i + 8] == b"IDAT":
            idat += data[i + 8:i + 8 + n]
        i += 12 + n
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8)
    stride = w * ch
    out = np.zeros((h, stride), dtype=np.int64)
    prev = np.zeros(stride, dtype=np.int64)
    pos = 0
    for y in range(h):
        f = raw[pos]
        line = raw[pos + 1:pos + 1 + stride].astype(np.int64)
        pos += 1 + stride
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 255
        else:
            cur = np.zeros(stride, dtype=np.int64)
            for x in range(stride):
                a = cur[x - ch] if x >= ch else 0
                b = prev[x]
                c = prev[x - ch] if x >= ch else 0
                if f == 1:
                    p = a
                elif f == 3:
                    p = (a + b) // 2
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[x] = (line[x] + p) & 255
        out[y] = cur
        prev = cur
    img = out.reshape(h, w, ch).astype(np.float64)
    return img[:, :, :1] if ch in (1, 2) else img[:, :, :3]


def sr_variant(name, gt8, s):
    """(ground-truth Y, restored Y), both 8-bit, for one protocol variant."""
    h, w = gt8.shape[:2]
    gt8 = gt8[:h - h % s, :w - w % s]
    grey = gt8.shape[2] == 1
    y8 = lambda rgb: rgb[:, :, 0] if grey else rgb2ycbcr(rgb, uint8=True)[:, :, 0]
    yd = lambda rgb01: rgb01[:, :, 0] * 255 if grey else rgb2ycbcr(rgb01)[:, :, 0]
    rnd = lambda x: np.floor(np.clip(x, 0, 255) + 0.5)
    gy = y8(gt8)
    if name == "Y8, degrade Y in double (chosen)":
        return gy, rnd(imresize(imresize(gy / 255, scale=1 / s), scale=s) * 255)
    if name == "RGB uint8 per-pass rounding both ways, Y after":
        return gy, y8(imresize(imresize(gt8, scale=1 / s, quantize=True), scale=s, quantize=True))
    if name == "RGB double both ways, Y after":
        return gy, rnd(yd(np.clip(imresize(imresize(gt8 / 255, scale=1 / s), scale=s), 0, 1)))
    if name == "8-bit RGB LR file, upscaled in double":
        lr = imresize(gt8, scale=1 / s, quantize=True)
        return gy, rnd(yd(np.clip(imresize(lr / 255, scale=s), 0, 1)))
    if name == "8-bit Y LR file, upscaled in double":
        lr = rnd(imresize(gy / 255, scale=1 / s) * 255)
        return gy, rnd(imresize(lr / 255, scale=s) * 255)
    raise ValueError(name)


SR_VARIANTS = ["Y8, degrade Y in double (chosen)", "RGB uint8 per-pass rounding both ways, Y after",
               "RGB double both ways, Y after", "8-bit RGB LR file, upscaled in double",
               "8-bit Y LR file, upscaled in double"]


def sr_table(datasets):
    for st in ["Set5", "Set14"]:
        folder = os.path.join(datasets, st)
        images = [read_png8(os.path.join(folder, f)) for f in sorted(os.listdir(folder)) if f.endswith(".png")]
        for v in SR_VARIANTS:
            cells = []
            for s in [2, 3, 4]:
                ps, ss = [], []
                for img in images:
                    g, b = sr_variant(v, img, s)
                    g, b = g[s:-s, s:-s], b[s:-s, s:-s]
                    ps.append(psnr(b, g))
                    ss.append(ssim(b, g))
                cells.append(f"x{s} {np.mean(ps):.4f}/{np.mean(ss):.5f}")
            print(f"{st:6s} {'  '.join(cells)}  {v}", flush=True)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--sr-table":
        return sr_table(sys.argv[2])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    emit_resize(os.path.join(root, "Tests/EnhanceImageTests/Fixtures/resize_golden.json"))
    emit_metrics(os.path.join(root, "Tests/EnhanceMetricsTests/MetricsGolden.swift"))


if __name__ == "__main__":
    sys.exit(main())
