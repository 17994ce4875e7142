#!/usr/bin/env python3
"""Peer comparison for `make bench-peers`: Enhance vs ONNX Runtime vs OpenCV dnn.

Runs the three standard networks of `enhance bench` with the same weights and the same input
in all three runtimes, checks that the outputs agree, and prints forward times and ratios:

  srcnn-9-1-5-512   SRCNN 9-1-5 (64, 32), 512x512 one-channel input -> 512x512
  srcnn-9-5-5-512   SRCNN 9-5-5 (64, 32), 512x512 -> 512x512
  fsrcnn-x2-256     FSRCNN (56, 12, 4) x2, 256x256 -> 512x512

Method (see docs/performance.md, "Peer comparison"):
- Weights: the shipped model (Sources/EnhanceModels/Weights/<name>.safetensors) when present,
  otherwise a unit-gain random model written by Enhance itself
  (`enhance forward --random-model ARCH --scale S --seed N --write FILE`). Either way the
  weights are read back here from the safetensors file (8-byte little-endian header length,
  JSON header, F32 data), never generated in Python.
- Graph: Enhance's networks use valid convolutions on an input padded by `contextPadding`
  pixels (edge replication), and inference keeps the output from `outputOffset`, networkScale
  x input in size (Sources/Enhance/PlaneInference.swift). The ONNX graph here is the same
  network: Conv (pads 0) / Relu / PRelu (slope [C,1,1]) / ConvTranspose (pads 0, no
  output_padding), static input shape. All three runtimes get the SAME padded input; the
  output is cropped here in numpy exactly as PlaneInference does. OpenCV dnn loads the same
  ONNX file.
- Timing: the network forward only (padding and cropping are numpy work outside the timed
  region, a few milliseconds at most): Enhance via `enhance forward` (one warm-up, then best
  of N), ORT `session.run` and OpenCV `setInput + forward` likewise (one warm-up, best of N).
  Threads: ORT intra_op_num_threads, cv2.setNumThreads and Enhance --threads, all equal
  (default 2); the runtimes run one after another, never at once.
- Agreement: max |difference| of the cropped outputs against Enhance's, which must be
  <= --tolerance (1e-4) for every network and runtime; the exit status is 1 otherwise.
"""

import argparse
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "Sources" / "EnhanceModels" / "Weights"

# name, architecture family (as `enhance` parses it), scale, network input side, shipped model names
CASES = [
    ("srcnn-9-1-5-512", "srcnn-9-1-5", 3, 512, ["srcnn-9-1-5-x3", "srcnn-9-1-5-x2", "srcnn-9-1-5-x4"]),
    ("srcnn-9-5-5-512", "srcnn-9-5-5", 3, 512, ["srcnn-9-5-5-x3", "srcnn-9-5-5-x2", "srcnn-9-5-5-x4"]),
    ("fsrcnn-x2-256", "fsrcnn", 2, 256, ["fsrcnn-x2"]),
]

SAFETENSORS_DTYPES = {"F32": "<f4"}


# ---------------------------------------------------------------------------------------------
# Weight files


def read_safetensors(path):
    """Returns (tensors: name -> float32 ndarray, metadata: dict) of a safetensors file."""
    blob = Path(path).read_bytes()
    if len(blob) < 8:
        raise ValueError(f"{path}: {len(blob)} bytes, not a safetensors file")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if header_len > len(blob) - 8:
        raise ValueError(f"{path}: header length {header_len} exceeds the file")
    header = json.loads(blob[8 : 8 + header_len])
    data = blob[8 + header_len :]
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        dtype = SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name!r} has dtype {entry['dtype']}, only F32 is read here")
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        count = int(np.prod(shape)) if shape else 1
        if not (0 <= begin <= end <= len(data)) or end - begin != 4 * count:
            raise ValueError(f"{path}: tensor {name!r} data_offsets [{begin}, {end}] do not fit shape {shape}")
        tensors[name] = np.frombuffer(data, dtype=dtype, count=count, offset=begin).reshape(shape).astype(np.float32)
    return tensors, metadata


def architecture_of(metadata, path):
    """The architecture dict of the `enhance.model` metadata, e.g. {"fsrcnn": {"d": 56, ...}}."""
    if "enhance.model" not in metadata:
        raise ValueError(f"{path}: no 'enhance.model' metadata, not an Enhance model")
    arch = json.loads(metadata["enhance.model"])["architecture"]
    if len(arch) != 1:
        raise ValueError(f"{path}: unreadable architecture {arch}")
    return arch


def layers_of(arch):
    """Layer kinds in order, mirroring Architecture.makeNetwork (Sources/EnhanceModels/Architecture.swift).

    Each entry is ("conv", stride) / ("relu",) / ("prelu",) / ("deconv", stride)."""
    (family, p), = arch.items()
    if family == "srcnn":
        return [("conv", 1), ("relu",), ("conv", 1), ("relu",), ("conv", 1)]
    if family == "fsrcnn":
        layers = [("conv", 1), ("prelu",), ("conv", 1), ("prelu",)]
        layers += [("conv", 1), ("prelu",)] * p["m"]
        layers += [("conv", 1), ("prelu",), ("deconv", p["scale"])]
        return layers
    if family == "arcnn":
        return [("conv", 1), ("relu",), ("conv", 1), ("relu",), ("conv", 1), ("relu",), ("conv", 1)]
    raise ValueError(f"architecture {family} is not supported by the peer comparison")


def geometry(arch):
    """(contextPadding, outputOffset, networkScale), mirroring Architecture.swift.

    Cross-checked against the values `enhance forward` reports for the same file."""
    (family, p), = arch.items()
    if family == "srcnn":
        kernels, deconv, scale = [p["f1"], p["f2"], p["f3"]], None, 1
    elif family == "fsrcnn":
        kernels, deconv, scale = [5, 1] + [3] * p["m"] + [1], (9, p["scale"], 4), p["scale"]
    elif family == "arcnn":
        kernels, deconv, scale = [p["f1"], p["f2"], p["f3"], p["f4"]], None, 1
    else:
        raise ValueError(f"architecture {family} is not supported by the peer comparison")
    radius = sum((k - 1) // 2 for k in kernels)
    if deconv is None:
        return radius, 0, scale
    kernel, stride, padding = deconv
    reach = max(padding, kernel - 1 - padding)
    margin = (reach + stride - 1) // stride
    return radius + margin, margin * stride + padding, scale


# ---------------------------------------------------------------------------------------------
# ONNX graph


def build_onnx(tensors, arch, height, width, path):
    """Writes the network as an ONNX model (opset 13) with a static [1, 1, height, width] input."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, used = [], [], set()
    x = "input"
    channels, h, w = 1, height, width
    for i, layer in enumerate(layers_of(arch)):
        kind, out = layer[0], f"t{i}"
        if kind in ("conv", "deconv"):
            wt, b = tensors[f"{i}.weight"], tensors[f"{i}.bias"]
            used |= {f"{i}.weight", f"{i}.bias"}
            k, stride = wt.shape[2], layer[1]
            # Conv weights are [out, in, k, k]; ConvTranspose [in, out, k, k] in both PyTorch and ONNX.
            cin, cout = (wt.shape[1], wt.shape[0]) if kind == "conv" else (wt.shape[0], wt.shape[1])
            if cin != channels or b.shape != (cout,):
                raise ValueError(f"layer {i}: weight {wt.shape}, bias {b.shape} after {channels} channels")
            inits += [numpy_helper.from_array(wt, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
            nodes.append(helper.make_node("Conv" if kind == "conv" else "ConvTranspose", [x, f"w{i}", f"b{i}"], [out],
                                          kernel_shape=[k, k], strides=[stride, stride], pads=[0, 0, 0, 0]))
            channels = cout
            if kind == "conv":
                h, w = (h - k) // stride + 1, (w - k) // stride + 1
            else:
                h, w = (h - 1) * stride + k, (w - 1) * stride + k
        elif kind == "relu":
            nodes.append(helper.make_node("Relu", [x], [out]))
        elif kind == "prelu":
            a = tensors[f"{i}.weight"]
            used.add(f"{i}.weight")
            if a.shape != (channels,):
                raise ValueError(f"layer {i}: PReLU slope {a.shape} after {channels} channels")
            inits.append(numpy_helper.from_array(a.reshape(channels, 1, 1), f"a{i}"))
            nodes.append(helper.make_node("PRelu", [x, f"a{i}"], [out]))
        x = out
    if used != set(tensors):
        raise ValueError(f"tensors not used by the graph: {sorted(set(tensors) - used)}")
    nodes.append(helper.make_node("Identity", [x], ["output"]))
    graph = helper.make_graph(
        nodes, "enhance",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, height, width])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, channels, h, w])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="enhance-peers")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


# ---------------------------------------------------------------------------------------------
# Runtimes


def best_of(repeats, fn):
    """(best milliseconds, last result) of `fn` after one untimed warm-up call."""
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, (time.perf_counter() - t0) * 1e3)
    return best, result


def run_enhance(exe, model_path, padded, workdir, threads, repeats):
    inp, out = workdir / "input.f32", workdir / "output.f32"
    padded.astype("<f4").tofile(inp)
    h, w = padded.shape
    cmd = [str(exe), "forward", "--model", str(model_path), "--input", str(inp), "--width", str(w),
           "--height", str(h), "--output", str(out), "--threads", str(threads), "--repeat", str(repeats)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"enhance forward failed ({proc.returncode}): {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    n, c, oh, ow = report["shape"]
    y = np.fromfile(out, dtype="<f4")
    if (n, c) != (1, 1) or y.size != oh * ow:
        sys.exit(f"enhance forward: output shape {report['shape']} with {y.size} samples")
    return report, y.reshape(oh, ow)


def run_onnxruntime(onnx_path, padded, threads, repeats):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    x = padded[None, None].astype(np.float32)
    ms, (y,) = best_of(repeats, lambda: session.run(["output"], {"input": x}))
    del session  # joins its thread pool before the next runtime starts
    return ms, y[0, 0]


def run_opencv(onnx_path, padded, threads, repeats, engine):
    import cv2

    cv2.setNumThreads(threads)
    if engine == "auto":  # OpenCV < 5 has a single engine and no engine argument
        net = cv2.dnn.readNetFromONNX(str(onnx_path))
    else:
        net = cv2.dnn.readNetFromONNX(str(onnx_path), getattr(cv2.dnn, f"ENGINE_{engine.upper()}"))
    # Default backend and target: OpenCV's own CPU code (setting them explicitly makes
    # OpenCV 5's new engine warn that targets are unsupported).
    x = padded[None, None].astype(np.float32)

    def forward():
        net.setInput(x)
        return net.forward()

    ms, y = best_of(repeats, forward)
    return ms, np.asarray(y).reshape(y.shape[-2], y.shape[-1])


# ---------------------------------------------------------------------------------------------


def test_plane(side, seed=7):
    """A deterministic one-channel plane in 0...1 with edges, gradients and texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float64) / side
    plane = 0.5 + 0.25 * np.sin(2 * np.pi * (3 * xx + 2 * yy)) * np.cos(2 * np.pi * 5 * yy)
    plane += 0.2 * ((xx > 0.3) & (xx < 0.7) & (yy > 0.2) & (yy < 0.6))
    plane += 0.05 * rng.standard_normal((side, side))
    return np.clip(plane, 0, 1).astype(np.float32)


def model_file(enhance, family, scale, shipped_names, workdir, seed, weights_dir):
    if weights_dir is not None:
        for name in shipped_names:
            path = weights_dir / f"{name}.safetensors"
            if path.exists():
                return path, f"file {name}"
    path = workdir / f"{family}-x{scale}.safetensors"
    cmd = [str(enhance), "forward", "--random-model", family, "--scale", str(scale), "--seed", str(seed), "--write", str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return path, f"random (seed {seed})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--enhance", default=str(REPO / ".build" / "release" / "enhance"), help="enhance executable")
    ap.add_argument("--threads", type=int, default=2, help="threads for every runtime (default 2)")
    ap.add_argument("--repeat", type=int, default=10, help="timed runs per case and runtime; the best counts (default 10)")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="max |difference| allowed (default 1e-4)")
    ap.add_argument("--weights", default=str(SHIPPED), help=f"folder of shipped models to use when present (default {SHIPPED})")
    ap.add_argument("--random", action="store_true", help="random-weight models even when shipped ones exist")
    ap.add_argument("--seed", type=int, default=1, help="seed of the random models (default 1)")
    ap.add_argument("--only", action="append", help="run only this case (repeatable)")
    ap.add_argument("--opencv-engine", choices=["auto", "new", "classic"], default="auto",
                    help="OpenCV >= 5 dnn engine (default auto: the new engine, classic as fallback)")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = ap.parse_args()

    import cv2
    import onnxruntime

    enhance = Path(args.enhance)
    if not enhance.exists():
        sys.exit(f"{enhance}: no such executable (build it with `swift build -c release --product enhance`)")
    cases = [c for c in CASES if not args.only or c[0] in args.only]
    results, failed = [], False
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    log(f"threads {args.threads}, best of {args.repeat}; onnxruntime {onnxruntime.__version__}, "
        f"opencv {cv2.__version__} (engine {args.opencv_engine}), numpy {np.__version__}, {platform.machine()}")

    with tempfile.TemporaryDirectory(prefix="enhance-peers-") as tmp:
        workdir = Path(tmp)
        for name, family, scale, side, shipped in cases:
            path, weights = model_file(enhance, family, scale, shipped, workdir, args.seed,
                                       None if args.random else Path(args.weights))
            tensors, metadata = read_safetensors(path)
            arch = architecture_of(metadata, path)
            pad, offset, net_scale = geometry(arch)
            if int(metadata.get("receptive_field", 2 * pad + 1)) != 2 * pad + 1:
                sys.exit(f"{path}: receptive_field {metadata['receptive_field']} disagrees with padding {pad}")
            plane = test_plane(side)
            padded = np.pad(plane, pad, mode="edge")  # PlaneInference's context padding for a whole plane
            keep = side * net_scale

            def crop(y):
                if y.shape[0] < offset + keep or y.shape[1] < offset + keep:
                    sys.exit(f"{name}: output {y.shape} too small for offset {offset} + {keep}")
                return y[offset : offset + keep, offset : offset + keep]

            onnx_path = workdir / f"{name}.onnx"
            build_onnx(tensors, arch, *padded.shape, onnx_path)
            report, y_enh = run_enhance(enhance, path, padded, workdir, args.threads, args.repeat)
            theirs = (report["context_padding"], report["output_offset"], report["network_scale"])
            if theirs != (pad, offset, net_scale):
                sys.exit(f"{name}: geometry (padding, offset, scale) {(pad, offset, net_scale)} here, {theirs} in Enhance")
            ms_ort, y_ort = run_onnxruntime(onnx_path, padded, args.threads, args.repeat)
            ms_cv, y_cv = run_opencv(onnx_path, padded, args.threads, args.repeat, args.opencv_engine)
            for label, y in (("onnxruntime", y_ort), ("opencv", y_cv)):
                if y.shape != y_enh.shape:
                    sys.exit(f"{name}: {label} output {y.shape}, Enhance {y_enh.shape} (uncropped)")
            ref = crop(y_enh)
            d_ort = float(np.max(np.abs(crop(y_ort) - ref)))
            d_cv = float(np.max(np.abs(crop(y_cv) - ref)))
            ok = d_ort <= args.tolerance and d_cv <= args.tolerance
            failed |= not ok
            results.append({
                "name": name, "architecture": metadata.get("architecture", family), "weights": weights,
                "input": [side, side], "padded_input": list(padded.shape), "output": [keep, keep],
                "output_range": [float(ref.min()), float(ref.max())],
                "enhance_ms": report["ms"], "onnxruntime_ms": ms_ort, "opencv_ms": ms_cv,
                "enhance_over_onnxruntime": report["ms"] / ms_ort, "enhance_over_opencv": report["ms"] / ms_cv,
                "max_abs_diff": {"onnxruntime": d_ort, "opencv": d_cv}, "agree": ok,
            })

    if args.json:
        print(json.dumps({
            "threads": args.threads, "repeats": args.repeat, "tolerance": args.tolerance,
            "opencv_engine": args.opencv_engine,
            "versions": {"onnxruntime": onnxruntime.__version__, "opencv": cv2.__version__, "numpy": np.__version__},
            "results": results}, indent=2))
    else:
        print(f"{'case':<17}{'Enhance':>10}{'ORT':>10}{'OpenCV':>10}{'E/ORT':>8}{'E/OCV':>8}"
              f"{'max|d| ORT':>13}{'max|d| OCV':>13}  weights")
        for r in results:
            print(f"{r['name']:<17}{r['enhance_ms']:>8.1f}ms{r['onnxruntime_ms']:>8.1f}ms{r['opencv_ms']:>8.1f}ms"
                  f"{r['enhance_over_onnxruntime']:>8.2f}{r['enhance_over_opencv']:>8.2f}"
                  f"{r['max_abs_diff']['onnxruntime']:>13.2e}{r['max_abs_diff']['opencv']:>13.2e}  {r['weights']}"
                  + ("" if r["agree"] else "  DISAGREE"))
        print("times: network forward only, best of N; ratios < 1 mean Enhance is faster")
    if failed:
        print(f"error: outputs differ from Enhance by more than {args.tolerance}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
