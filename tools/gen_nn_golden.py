#!/usr/bin/env python3
"""Golden values for the EnhanceNN forward passes, losses and RNG.

An independent NumPy (float64) implementation of the layers (convolution by shifted slices,
transposed convolution by scattering, pixel shuffle by reshape/transpose as PyTorch defines
it), run on deterministic inputs, written as Swift literals to
Tests/EnhanceNNTests/GoldenData.swift. Run by hand from the repository root:

    python3 tools/gen_nn_golden.py

Inputs and weights are `pattern(count, mul, mod, scale)`, computed identically (integer
arithmetic, then one IEEE division and multiplication, rounded to float32) by the Swift tests:
    v[i] = float32((((i * mul + 13) % mod) - mod // 2) / (mod // 2) * scale)
Each case below states the layer configuration the Swift test must build.
"""
import math
import os
import numpy as np


def pattern(count, mul, mod, scale):
    h = mod // 2
    return np.array([np.float32((((i * mul + 13) % mod) - h) / h * scale) for i in range(count)],
                    dtype=np.float32)


def t(shape, mul, mod, scale=1.0):
    return pattern(int(np.prod(shape)), mul, mod, scale).reshape(shape).astype(np.float64)


def conv2d(x, w, b, stride=1, pad=0, mode="zero"):
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant" if mode == "zero" else "edge")
    n, c, h, wd = x.shape
    o, c2, k, _ = w.shape
    assert c == c2
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    y = np.zeros((n, o, oh, ow))
    for ky in range(k):
        for kx in range(k):
            patch = x[:, :, ky:ky + stride * (oh - 1) + 1:stride, kx:kx + stride * (ow - 1) + 1:stride]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, ky, kx])
    return y + b.reshape(1, -1, 1, 1)


def conv_transpose2d(x, w, b, stride, pad, out_pad):
    n, ci, h, wd = x.shape
    ci2, o, k, _ = w.shape
    assert ci == ci2
    oh = (h - 1) * stride - 2 * pad + k + out_pad
    ow = (wd - 1) * stride - 2 * pad + k + out_pad
    fh, fw = max((h - 1) * stride + k, pad + oh), max((wd - 1) * stride + k, pad + ow)
    full = np.zeros((n, o, fh, fw))
    for iy in range(h):
        for ix in range(wd):
            full[:, :, iy * stride:iy * stride + k, ix * stride:ix * stride + k] += \
                np.einsum("nc,cokl->nokl", x[:, :, iy, ix], w)
    return full[:, :, pad:pad + oh, pad:pad + ow] + b.reshape(1, -1, 1, 1)


def prelu(x, a):
    return np.where(x > 0, x, a.reshape(1, -1, 1, 1) * x)


def leaky(x, s):
    return np.where(x > 0, x, s * x)


def relu(x):
    return np.maximum(x, 0)


def pixel_shuffle(x, r):
    n, c, h, w = x.shape
    return x.reshape(n, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // (r * r), h * r, w * r)


cases = {}

# conv3x3Zero: Conv2d(3->4, k3, stride 1, .zero); x [1,3,9,8] (7,23,1); w (5,17,1/sqrt(27)); b (3,11,0.1)
cases["conv3x3Zero"] = conv2d(t([1, 3, 9, 8], 7, 23), t([4, 3, 3, 3], 5, 17, 1 / math.sqrt(27)),
                              t([4], 3, 11, 0.1), 1, 1, "zero")
# conv5x5Stride2Replicate: Conv2d(2->3, k5, stride 2, .replicate); x [2,2,11,10] (11,29,1); w (13,31,1/sqrt(50)); b (7,5,0.1)
cases["conv5x5Stride2Replicate"] = conv2d(t([2, 2, 11, 10], 11, 29), t([3, 2, 5, 5], 13, 31, 1 / math.sqrt(50)),
                                          t([3], 7, 5, 0.1), 2, 2, "replicate")
# conv9x9Valid: Conv2d(1->2, k9, .valid); x [1,1,12,13] (17,37,1); w (19,41,1/9); b (3,7,0.1)
cases["conv9x9Valid"] = conv2d(t([1, 1, 12, 13], 17, 37), t([2, 1, 9, 9], 19, 41, 1 / 9), t([2], 3, 7, 0.1))
# conv1x1: Conv2d(4->2, k1, .valid); x [1,4,5,6] (5,19,1); w (3,13,0.5); b (2,5,0.1)
cases["conv1x1"] = conv2d(t([1, 4, 5, 6], 5, 19), t([2, 4, 1, 1], 3, 13, 0.5), t([2], 2, 5, 0.1))
# conv3x3Stride2Zero: Conv2d(2->2, k3, stride 2, .zero); x [1,2,9,9] (7,31,1); w (11,23,1/sqrt(18)); b (5,7,0.1)
cases["conv3x3Stride2Zero"] = conv2d(t([1, 2, 9, 9], 7, 31), t([2, 2, 3, 3], 11, 23, 1 / math.sqrt(18)),
                                     t([2], 5, 7, 0.1), 2, 1, "zero")
# deconv9Stride3: ConvTranspose2d(3->1, k9, stride 3, padding 4, outputPadding 2); x [1,3,5,4] (23,43,1); w [3,1,9,9] (29,47,1/sqrt(27)); b [1] (3,7,0.1)
cases["deconv9Stride3"] = conv_transpose2d(t([1, 3, 5, 4], 23, 43), t([3, 1, 9, 9], 29, 47, 1 / math.sqrt(27)),
                                           t([1], 3, 7, 0.1), 3, 4, 2)
# deconv4Stride2Pad1: ConvTranspose2d(2->2, k4, stride 2, padding 1); x [1,2,4,5] (5,17,1); w [2,2,4,4] (7,19,0.25); b (3,5,0.1)
cases["deconv4Stride2Pad1"] = conv_transpose2d(t([1, 2, 4, 5], 5, 17), t([2, 2, 4, 4], 7, 19, 0.25),
                                               t([2], 3, 5, 0.1), 2, 1, 0)
# deconv3Stride2OutPad1: ConvTranspose2d(2->3, k3, stride 2, padding 0, outputPadding 1); x [2,2,3,3] (13,29,1); w [2,3,3,3] (11,31,0.3); b (5,7,0.1)
cases["deconv3Stride2OutPad1"] = conv_transpose2d(t([2, 2, 3, 3], 13, 29), t([2, 3, 3, 3], 11, 31, 0.3),
                                                  t([3], 5, 7, 0.1), 2, 0, 1)
# prelu: PReLU(3) weight [0.25, -0.1, 0.5]; x [2,3,4,4] (31,53,1)
x_act = t([2, 3, 4, 4], 31, 53)
cases["prelu"] = prelu(x_act, np.array([0.25, -0.1, 0.5], dtype=np.float32).astype(np.float64))
# leakyReLU: LeakyReLU(0.2) on the same x
cases["leakyReLU"] = leaky(x_act, float(np.float32(0.2)))
# relu on the same x
cases["relu"] = relu(x_act)
# pixelShuffle2: PixelShuffle(2); x [1,8,3,3] (7,29,1)
cases["pixelShuffle2"] = pixel_shuffle(t([1, 8, 3, 3], 7, 29), 2)
# pixelShuffle3: PixelShuffle(3); x [2,9,2,2] (5,41,1)
cases["pixelShuffle3"] = pixel_shuffle(t([2, 9, 2, 2], 5, 41), 3)

# tinyFSRCNN: x [1,1,6,7] (7,23,1)
#   0 Conv2d(1->4, k5, .zero) w (3,17,0.2) b (5,7,0.1)   1 PReLU(4) weight (7,11,0.3)
#   2 Conv2d(4->2, k1)        w (5,19,0.5) b (3,5,0.1)   3 PReLU(2) weight (3,7,0.3)
#   4 Conv2d(2->2, k3, .zero) w (11,13,0.3) b (2,5,0.1)  5 PReLU(2) weight (5,9,0.3)
#   6 Conv2d(2->4, k1)        w (13,17,0.5) b (7,9,0.1)  7 PReLU(4) weight (11,13,0.3)
#   8 ConvTranspose2d(4->1, k9, stride 2, padding 4, outputPadding 1) w (17,29,0.1) b (3,5,0.1)
h = t([1, 1, 6, 7], 7, 23)
h = prelu(conv2d(h, t([4, 1, 5, 5], 3, 17, 0.2), t([4], 5, 7, 0.1), 1, 2), t([4], 7, 11, 0.3))
h = prelu(conv2d(h, t([2, 4, 1, 1], 5, 19, 0.5), t([2], 3, 5, 0.1)), t([2], 3, 7, 0.3))
h = prelu(conv2d(h, t([2, 2, 3, 3], 11, 13, 0.3), t([2], 2, 5, 0.1), 1, 1), t([2], 5, 9, 0.3))
h = prelu(conv2d(h, t([4, 2, 1, 1], 13, 17, 0.5), t([4], 7, 9, 0.1)), t([4], 11, 13, 0.3))
cases["tinyFSRCNN"] = conv_transpose2d(h, t([4, 1, 9, 9], 17, 29, 0.1), t([1], 3, 5, 0.1), 2, 4, 1)

# residual: Residual(Sequential(Conv2d(2->2,k3,.zero) w (5,23,0.3) b (3,7,0.1), ReLU, Conv2d(2->2,k3,.replicate) w (7,19,0.3) b (5,9,0.1)))
#   x [1,2,6,6] (11,31,1)
xr = t([1, 2, 6, 6], 11, 31)
hr = relu(conv2d(xr, t([2, 2, 3, 3], 5, 23, 0.3), t([2], 3, 7, 0.1), 1, 1, "zero"))
cases["residual"] = xr + conv2d(hr, t([2, 2, 3, 3], 7, 19, 0.3), t([2], 5, 9, 0.1), 1, 1, "replicate")

# Losses on p = pattern(60, 37, 61, 1), target = pattern(60, 41, 67, 1) (both as float32 values)
p = pattern(60, 37, 61, 1.0).astype(np.float64)
q = pattern(60, 41, 67, 1.0).astype(np.float64)
d = (p.astype(np.float32) - q.astype(np.float32)).astype(np.float64)  # the engine subtracts in float32
eps = float(np.float32(1e-3))
losses = {
    "mse": float(np.mean(d * d)),
    "l1": float(np.mean(np.abs(d))),
    "charbonnier": float(np.mean(np.sqrt(d * d + eps * eps))),
}

# RNG: xoshiro256** seeded by SplitMix64 (independent Python implementation).
M64 = (1 << 64) - 1


def splitmix(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


class Xoshiro:
    def __init__(self, seed):
        st = seed
        self.s = []
        for _ in range(4):
            st, v = splitmix(st)
            self.s.append(v)

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        tt = (s[1] << 17) & M64
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
        s[2] ^= tt
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def gaussian(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


g = Xoshiro(42)
rng_u64 = [g.next() for _ in range(4)]
g = Xoshiro(7)
rng_gauss = [g.gaussian() for _ in range(4)]


def swift_floats(a):
    vals = [repr(float(np.float32(v))) for v in np.asarray(a).ravel()]
    lines = [", ".join(vals[i:i + 8]) for i in range(0, len(vals), 8)]
    return "[\n        " + ",\n        ".join(lines) + ",\n    ]"


out = [
    "// Generated by tools/gen_nn_golden.py: do not edit by hand.",
    "// Forward outputs of an independent NumPy float64 implementation, rounded to float32.",
    "",
    "enum Golden {",
]
for name, v in cases.items():
    out.append(f"    /// shape {list(v.shape)}")
    out.append(f"    static let {name}Shape: [Int] = {list(v.shape)}")
    out.append(f"    static let {name}: [Float] = {swift_floats(v)}")
for name, v in losses.items():
    out.append(f"    static let {name}Loss: Double = {v!r}")
out.append("    static let rngSeed42: [UInt64] = [" + ", ".join(str(v) for v in rng_u64) + "]")
out.append("    static let gaussianSeed7: [Double] = [" + ", ".join(repr(v) for v in rng_gauss) + "]")
out.append("}")
out.append("")

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
path = os.path.join(root, "Tests", "EnhanceNNTests", "GoldenData.swift")
with open(path, "w") as f:
    f.write("\n".join(out))
print(f"wrote {path}")
