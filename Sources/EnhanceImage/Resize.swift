import Dispatch
import Foundation

/// Interpolation kernels of MATLAB's `imresize`.
public enum ResizeMethod: String, Sendable, CaseIterable, Codable {
    /// Keys' cubic convolution, a = -0.5, support 4 (MATLAB 'bicubic', the SR literature's default).
    case bicubic
    /// Lanczos with 3 lobes, support 6, with MATLAB's `+eps` terms.
    case lanczos3
    /// Triangle kernel, support 2 (MATLAB 'bilinear').
    case bilinear
    /// Box kernel `-0.5 <= x < 0.5`, support 1 (MATLAB 'nearest'); never antialiased.
    case nearest

    /// Kernel support in input pixels at scale 1.
    public var kernelWidth: Double {
        switch self {
        case .bicubic: 4
        case .lanczos3: 6
        case .bilinear: 2
        case .nearest: 1
        }
    }

    /// The kernel, as the local functions `cubic`, `lanczos3`, `triangle`, `box` of `imresize.m`.
    @inlinable
    public func kernel(_ x: Double) -> Double {
        switch self {
        case .bicubic:
            let a = abs(x), a2 = a * a, a3 = a2 * a
            if a <= 1 { return 1.5 * a3 - 2.5 * a2 + 1 }
            if a <= 2 { return -0.5 * a3 + 2.5 * a2 - 4 * a + 2 }
            return 0
        case .lanczos3:
            guard abs(x) < 3 else { return 0 }
            let eps = Double.ulpOfOne
            return (sin(Double.pi * x) * sin(Double.pi * x / 3) + eps) / ((Double.pi * Double.pi * x * x / 3) + eps)
        case .bilinear:
            if x >= -1 && x < 0 { return x + 1 }
            if x >= 0 && x <= 1 { return 1 - x }
            return 0
        case .nearest:
            return (x >= -0.5 && x < 0.5) ? 1 : 0
        }
    }
}

/// The taps of a 1-D MATLAB `imresize` pass, as its `contributions()` computes them.
///
/// Output sample `i` (0-based) is `sum over t of weights[i * taps + t] * input[indices[i * taps + t]]`.
/// Rules (MATLAB `imresize.m`): with `scale < 1` and antialiasing the kernel is `scale * k(scale * x)`
/// with its support divided by `scale`; output `x` (1-based) sits at input coordinate
/// `u = x / scale + 0.5 * (1 - 1 / scale)`; taps start at `floor(u - width / 2)` and number
/// `ceil(width) + 2`; weights are normalised per output sample; indices outside the input are
/// mirrored through `[1...n, n...1]` (symmetric padding); tap columns that are zero for every
/// output sample are dropped.
public struct ResizeContributions: Sendable, Equatable {
    public let inLength: Int
    public let outLength: Int
    /// Taps per output sample (after dropping all-zero columns).
    public let taps: Int
    /// `outLength * taps` weights, row per output sample.
    public let weights: [Double]
    /// `outLength * taps` 0-based input indices.
    public let indices: [Int]

    public init(inLength: Int, outLength: Int, scale: Double, method: ResizeMethod, antialias: Bool) {
        precondition(inLength > 0 && outLength > 0, "resize lengths must be positive, got \(inLength) -> \(outLength)")
        precondition(scale > 0 && scale.isFinite, "resize scale must be positive and finite, got \(scale)")
        let widen = scale < 1 && antialias && method != .nearest
        let width = widen ? method.kernelWidth / scale : method.kernelWidth
        let p = Int(width.rounded(.up)) + 2
        var w = [Double](repeating: 0, count: outLength * p)
        var ind = [Int](repeating: 0, count: outLength * p)
        let period = 2 * inLength
        for i in 0..<outLength {
            let x = Double(i + 1)
            let u = x / scale + 0.5 * (1 - 1 / scale)
            let left = (u - width / 2).rounded(.down)
            var sum = 0.0
            for t in 0..<p {
                let j = left + Double(t)
                let k = widen ? scale * method.kernel(scale * (u - j)) : method.kernel(u - j)
                w[i * p + t] = k
                sum += k
                // MATLAB: aux = [1:n, n:-1:1]; ind = aux(mod(ind - 1, 2n) + 1)
                var m = (Int(j) - 1) % period
                if m < 0 { m += period }
                ind[i * p + t] = m < inLength ? m : period - 1 - m
            }
            for t in 0..<p { w[i * p + t] /= sum }
        }
        var keep = [Bool](repeating: false, count: p)
        for i in 0..<outLength {
            for t in 0..<p where w[i * p + t] != 0 { keep[t] = true }
        }
        let kept = (0..<p).filter { keep[$0] }
        var kw = [Double](), ki = [Int]()
        kw.reserveCapacity(outLength * kept.count)
        ki.reserveCapacity(outLength * kept.count)
        for i in 0..<outLength {
            for t in kept {
                kw.append(w[i * p + t])
                ki.append(ind[i * p + t])
            }
        }
        self.inLength = inLength
        self.outLength = outLength
        self.taps = kept.count
        self.weights = kw
        self.indices = ki
    }

    /// One tap per output sample with weight 1: MATLAB then copies samples (no arithmetic, no rounding).
    public var isPureNearestNeighbour: Bool { taps == 1 }
}

extension Image {
    /// MATLAB `imresize(A, scale, method)`: output size `ceil(scale * size)` per dimension, with the
    /// kernel at the given `scale` (not output/input). Rows are resized first (equal scales).
    ///
    /// - Parameters:
    ///   - antialias: widen the kernel by `1 / scale` when shrinking (MATLAB's default). Ignored by
    ///     `.nearest`, which MATLAB does not antialias by default.
    ///   - quantizeEachPass: treat the image as MATLAB `uint8`: the input is rounded to the 8-bit
    ///     grid, each 1-D pass works on the integers 0...255 and is rounded (half away from zero,
    ///     saturated) before the next, and the result is on the 8-bit grid.
    /// - Returns: an image of the same colour model; every channel (alpha too) is resampled.
    public func resized(scale: Double, method: ResizeMethod = .bicubic, antialias: Bool = true,
                        quantizeEachPass: Bool = false) -> Image {
        precondition(scale > 0 && scale.isFinite, "resize scale must be positive and finite, got \(scale)")
        let outW = Int((scale * Double(width)).rounded(.up))
        let outH = Int((scale * Double(height)).rounded(.up))
        return resized(width: outW, height: outH, scaleX: scale, scaleY: scale, method: method,
                       antialias: antialias, quantizeEachPass: quantizeEachPass)
    }

    /// MATLAB `imresize(A, [height width], method)`: the scale per dimension is output/input; the
    /// dimension with the smaller scale is resized first (rows first on a tie).
    public func resized(width outW: Int, height outH: Int, method: ResizeMethod = .bicubic,
                        antialias: Bool = true, quantizeEachPass: Bool = false) -> Image {
        precondition(outW > 0 && outH > 0, "resize target must be positive, got \(outW)x\(outH)")
        precondition(width > 0 && height > 0, "cannot resize an empty \(width)x\(height) image")
        return resized(width: outW, height: outH, scaleX: Double(outW) / Double(width),
                       scaleY: Double(outH) / Double(height), method: method,
                       antialias: antialias, quantizeEachPass: quantizeEachPass)
    }

    private func resized(width outW: Int, height outH: Int, scaleX: Double, scaleY: Double,
                         method: ResizeMethod, antialias: Bool, quantizeEachPass: Bool) -> Image {
        precondition(width > 0 && height > 0, "cannot resize an empty \(width)x\(height) image")
        precondition(outW > 0 && outH > 0, "resize target must be positive, got \(outW)x\(outH)")
        let rows = ResizeContributions(inLength: height, outLength: outH, scale: scaleY, method: method, antialias: antialias)
        let cols = ResizeContributions(inLength: width, outLength: outW, scale: scaleX, method: method, antialias: antialias)
        let ch = channels
        // Stage 0: Double copy of the input; with quantisation, the 8-bit integers themselves (0...255)
        // so that ties round exactly as MATLAB's uint8 arithmetic does.
        var a = quantizeEachPass ? pixels.map { Double(Image.quantize8($0)) } : pixels.map { Double($0) }
        var w = width, h = height
        let rowsFirst = scaleY <= scaleX  // MATLAB: [~, order] = sort(scale), stable
        for pass in 0..<2 {
            let alongRows = (pass == 0) == rowsFirst
            if alongRows {
                a = Resampler.resizeRows(a, width: w, height: h, channels: ch, rows, quantize: quantizeEachPass)
                h = outH
            } else {
                a = Resampler.resizeColumns(a, width: w, height: h, channels: ch, cols, quantize: quantizeEachPass)
                w = outW
            }
        }
        let out = [Float](unsafeUninitializedCapacity: a.count) { dst, count in
            a.withUnsafeBufferPointer { src in
                if quantizeEachPass {
                    // Integers 0...255: store exactly as Float(k) / 255, as Image(interleaved8:) does.
                    for i in 0..<src.count { dst[i] = Float(src[i]) / 255 }
                } else {
                    for i in 0..<src.count { dst[i] = Float(src[i]) }
                }
            }
            count = a.count
        }
        return Image(width: outW, height: outH, colorModel: colorModel, pixels: out,
                     sourceBitDepth: sourceBitDepth, iccProfile: iccProfile)
    }
}

/// A pointer handed to disjoint slices of a `concurrentPerform` loop.
private struct SendablePointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
}

/// The 1-D passes on planar Double buffers, parallel over planes and row blocks. Values are on the
/// 0...1 scale, or integers on 0...255 when quantising.
private enum Resampler {
    /// Rounds a 0...255 value to an integer as `imresizemex` does for `uint8` (saturate, half away from zero).
    @inline(__always)
    static func quantize(_ s: Double) -> Double {
        if !(s > 0) { return 0 }
        if s >= 255 { return 255 }
        return (s + 0.5).rounded(.down)
    }

    /// Splits `count` units into about four chunks per core.
    static func forEachChunk(_ count: Int, minimumPerChunk: Int = 16, _ body: (Range<Int>) -> Void) {
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunks = max(1, min(cores * 4, count / max(1, minimumPerChunk)))
        if chunks == 1 { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: chunks) { k in
            let lo = count * k / chunks, hi = count * (k + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }

    /// Resamples along the width: `(channels, height, width)` -> `(channels, height, c.outLength)`.
    static func resizeColumns(_ src: [Double], width: Int, height: Int, channels: Int,
                              _ c: ResizeContributions, quantize q: Bool) -> [Double] {
        precondition(c.inLength == width, "contributions for \(c.inLength) samples applied to width \(width)")
        let outW = c.outLength, taps = c.taps
        let totalRows = channels * height
        var dst = [Double](repeating: 0, count: totalRows * outW)
        let copyOnly = c.isPureNearestNeighbour
        src.withUnsafeBufferPointer { sp in
            dst.withUnsafeMutableBufferPointer { dp in
                c.weights.withUnsafeBufferPointer { wp in
                    c.indices.withUnsafeBufferPointer { ip in
                        let s = sp.baseAddress!, d = SendablePointer(p: dp.baseAddress!)
                        let wb = wp.baseAddress!, ib = ip.baseAddress!
                        forEachChunk(totalRows, minimumPerChunk: max(1, 8192 / max(1, outW * taps))) { range in
                            for r in range {
                                let row = s + r * width
                                let out = d.p + r * outW
                                if copyOnly {
                                    for x in 0..<outW { out[x] = row[ib[x]] }
                                    continue
                                }
                                for x in 0..<outW {
                                    var acc = 0.0
                                    let base = x * taps
                                    for t in 0..<taps { acc += wb[base + t] * row[ib[base + t]] }
                                    out[x] = q ? quantize(acc) : acc
                                }
                            }
                        }
                    }
                }
            }
        }
        return dst
    }

    /// Resamples along the height: `(channels, height, width)` -> `(channels, c.outLength, width)`.
    static func resizeRows(_ src: [Double], width: Int, height: Int, channels: Int,
                           _ c: ResizeContributions, quantize q: Bool) -> [Double] {
        precondition(c.inLength == height, "contributions for \(c.inLength) samples applied to height \(height)")
        let outH = c.outLength, taps = c.taps
        let totalRows = channels * outH
        var dst = [Double](repeating: 0, count: totalRows * width)
        let copyOnly = c.isPureNearestNeighbour
        src.withUnsafeBufferPointer { sp in
            dst.withUnsafeMutableBufferPointer { dp in
                c.weights.withUnsafeBufferPointer { wp in
                    c.indices.withUnsafeBufferPointer { ip in
                        let s = sp.baseAddress!, d = SendablePointer(p: dp.baseAddress!)
                        let wb = wp.baseAddress!, ib = ip.baseAddress!
                        forEachChunk(totalRows, minimumPerChunk: max(1, 8192 / max(1, width * taps))) { range in
                            for r in range {
                                let plane = r / outH, y = r % outH
                                let inPlane = s + plane * height * width
                                let out = d.p + r * width
                                let base = y * taps
                                if copyOnly {
                                    let row = inPlane + ib[base] * width
                                    for x in 0..<width { out[x] = row[x] }
                                    continue
                                }
                                // out = w0 * row0, then += wt * rowt: vectorises along x.
                                let w0 = wb[base]
                                let row0 = inPlane + ib[base] * width
                                for x in 0..<width { out[x] = w0 * row0[x] }
                                for t in 1..<taps {
                                    let wt = wb[base + t]
                                    let rowt = inPlane + ib[base + t] * width
                                    for x in 0..<width { out[x] += wt * rowt[x] }
                                }
                                if q { for x in 0..<width { out[x] = quantize(out[x]) } }
                            }
                        }
                    }
                }
            }
        }
        return dst
    }
}
