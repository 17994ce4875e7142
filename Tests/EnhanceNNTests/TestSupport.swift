import EnhanceNN
import Foundation
import Testing

/// `v[i] = Float((((i·mul + 13) % mod) − mod/2) / (mod/2) · scale)`, the same formula as
/// tools/gen_nn_golden.py (exact integer arithmetic, one division and one multiplication in Double).
func pattern(_ count: Int, _ mul: Int, _ mod: Int, _ scale: Double = 1) -> [Float] {
    let h = mod / 2
    return (0..<count).map { i in Float(Double(((i * mul + 13) % mod) - h) / Double(h) * scale) }
}

/// A tensor filled by `pattern`.
func patternTensor(_ shape: [Int], _ mul: Int, _ mod: Int, _ scale: Double = 1) -> Tensor {
    Tensor(shape: shape, storage: pattern(shape.reduce(1, *), mul, mod, scale))
}

/// Uniform values in [−scale, scale) from a seeded generator.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, storage: (0..<n).map { _ in Float(rng.nextUniform() * 2 - 1) * scale })
}

/// Largest |a − b| over all elements.
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

// MARK: Double reference forward passes (independent of the engine's kernels)

/// Plain NCHW tensor in Double for reference computations.
struct DTensor {
    var shape: [Int]
    var v: [Double]
    init(_ shape: [Int], _ v: [Double]) { precondition(shape.reduce(1, *) == v.count); self.shape = shape; self.v = v }
    init(zeros shape: [Int]) { self.init(shape, [Double](repeating: 0, count: shape.reduce(1, *))) }
    init(_ t: Tensor) { self.init(t.shape, t.storage.map(Double.init)) }
    subscript(n: Int, c: Int, y: Int, x: Int) -> Double {
        get { v[((n * shape[1] + c) * shape[2] + y) * shape[3] + x] }
        set { v[((n * shape[1] + c) * shape[2] + y) * shape[3] + x] = newValue }
    }
}

enum Ref {
    /// Cross-correlation with padding `pad` (zero or edge replicate), weights [out, in, k, k].
    static func conv(_ x: DTensor, _ w: [Double], _ b: [Double], out: Int, k: Int, stride: Int, padding: Padding) -> DTensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let p = padding == .valid ? 0 : (k - 1) / 2
        let oh = (h + 2 * p - k) / stride + 1, ow = (wd + 2 * p - k) / stride + 1
        var y = DTensor(zeros: [n, out, oh, ow])
        func at(_ b: Int, _ ch: Int, _ yy: Int, _ xx: Int) -> Double {
            if padding == .replicate { return x[b, ch, min(max(yy, 0), h - 1), min(max(xx, 0), wd - 1)] }
            if yy < 0 || yy >= h || xx < 0 || xx >= wd { return 0 }
            return x[b, ch, yy, xx]
        }
        for bn in 0..<n { for o in 0..<out { for oy in 0..<oh { for ox in 0..<ow {
            var s = b[o]
            for ci in 0..<c { for ky in 0..<k { for kx in 0..<k {
                s += w[((o * c + ci) * k + ky) * k + kx] * at(bn, ci, oy * stride + ky - p, ox * stride + kx - p)
            } } }
            y[bn, o, oy, ox] = s
        } } } }
        return y
    }

    /// Transposed convolution by scattering (PyTorch semantics), weights [in, out, k, k].
    static func deconv(_ x: DTensor, _ w: [Double], _ b: [Double], out: Int, k: Int, stride s: Int, padding p: Int, outputPadding op: Int) -> DTensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let oh = (h - 1) * s - 2 * p + k + op, ow = (wd - 1) * s - 2 * p + k + op
        var y = DTensor(zeros: [n, out, oh, ow])
        for bn in 0..<n { for o in 0..<out { for yy in 0..<oh { for xx in 0..<ow { y[bn, o, yy, xx] = b[o] } } } }
        for bn in 0..<n { for ci in 0..<c { for iy in 0..<h { for ix in 0..<wd {
            let xv = x[bn, ci, iy, ix]
            for o in 0..<out { for ky in 0..<k { for kx in 0..<k {
                let yy = iy * s + ky - p, xx = ix * s + kx - p
                if yy >= 0 && yy < oh && xx >= 0 && xx < ow {
                    y[bn, o, yy, xx] += xv * w[((ci * out + o) * k + ky) * k + kx]
                }
            } } }
        } } } }
        return y
    }

    static func prelu(_ x: DTensor, _ a: [Double]) -> DTensor {
        var y = x
        let plane = x.shape[2] * x.shape[3], c = x.shape[1]
        for i in 0..<x.v.count where !(x.v[i] > 0) { y.v[i] = a[a.count == 1 ? 0 : (i / plane) % c] * x.v[i] }
        return y
    }

    static func leaky(_ x: DTensor, _ slope: Double) -> DTensor {
        DTensor(x.shape, x.v.map { $0 > 0 ? $0 : slope * $0 })
    }

    static func relu(_ x: DTensor) -> DTensor { DTensor(x.shape, x.v.map { max($0, 0) }) }

    static func pixelShuffle(_ x: DTensor, _ r: Int) -> DTensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var y = DTensor(zeros: [n, c / (r * r), h * r, w * r])
        for bn in 0..<n { for ch in 0..<c { for yy in 0..<h { for xx in 0..<w {
            let oc = ch / (r * r), i = (ch % (r * r)) / r, j = ch % r
            y[bn, oc, yy * r + i, xx * r + j] = x[bn, ch, yy, xx]
        } } } }
        return y
    }

    static func add(_ a: DTensor, _ b: DTensor) -> DTensor { DTensor(a.shape, zip(a.v, b.v).map(+)) }
}

// MARK: Finite-difference gradient check

/// Reference forward: input and parameter values in Double → output.
typealias ReferenceForward = (_ input: DTensor, _ parameters: [[Double]]) -> DTensor

struct GradientCheckResult {
    /// max |engine − reference| over forward outputs, relative to max |reference|.
    var forwardError: Double
    /// For dInput then each parameter: max |analytic − numeric| / max |numeric|.
    var gradientErrors: [(String, Double)]
    var worst: Double { gradientErrors.map(\.1).max() ?? 0 }
}

/// Checks the engine's Float gradients of `L = Σ r ⊙ layer(x)` (r fixed, random) against
/// central differences (h = 1e-6) of the Double reference forward.
func gradientCheck(_ layer: some Layer, input: Tensor, seed: UInt64 = 99, reference: ReferenceForward) -> GradientCheckResult {
    let ctx = ComputeContext(threads: 2)
    let pass = layer.trainingForward(input, context: ctx)
    let params = layer.parameters.map { $0.storage.map(Double.init) }
    let xD = DTensor(input)
    let refOut = reference(xD, params)
    precondition(refOut.shape == pass.output.shape, "reference shape \(refOut.shape) vs engine \(pass.output.shape)")
    let scale = max(refOut.v.map(abs).max() ?? 1, 1e-12)
    let fwdErr = zip(refOut.v, pass.output.storage).map { abs($0 - Double($1)) }.max()! / scale

    let r = randomTensor(pass.output.shape, seed: seed)
    let rD = r.storage.map(Double.init)
    let back = layer.backward(outputGradient: r, activations: pass.activations, needsInputGradient: true, context: ctx)

    func objective(_ x: DTensor, _ p: [[Double]]) -> Double {
        let y = reference(x, p)
        var s = 0.0
        for i in 0..<y.v.count { s += y.v[i] * rD[i] }
        return s
    }
    let h = 1e-6
    func relErr(_ analytic: [Float], _ numeric: [Double]) -> Double {
        let m = max(numeric.map(abs).max() ?? 0, 1e-12)
        return zip(analytic, numeric).map { abs(Double($0) - $1) }.max()! / m
    }
    var errors: [(String, Double)] = []
    var numericX = [Double](repeating: 0, count: xD.v.count)
    for i in 0..<xD.v.count {
        var xp = xD, xm = xD
        xp.v[i] += h; xm.v[i] -= h
        numericX[i] = (objective(xp, params) - objective(xm, params)) / (2 * h)
    }
    errors.append(("input", relErr(back.inputGradient!.storage, numericX)))
    for (pi, name) in layer.parameterNames.enumerated() {
        var numeric = [Double](repeating: 0, count: params[pi].count)
        for j in 0..<params[pi].count {
            var pp = params, pm = params
            pp[pi][j] += h; pm[pi][j] -= h
            numeric[j] = (objective(xD, pp) - objective(xD, pm)) / (2 * h)
        }
        errors.append((name, relErr(back.parameterGradients[pi].storage, numeric)))
    }
    return GradientCheckResult(forwardError: fwdErr, gradientErrors: errors)
}
