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
        let rowsFirst = scaleY <= scaleX  // MATLAB: [~, order] = sort(scale), stable
        let (first, second) = rowsFirst ? (rows, cols) : (cols, rows)
        // Size after the first pass.
        let midW = rowsFirst ? width : outW, midH = rowsFirst ? outH : height
        let q = quantizeEachPass
        let midCount = ch * midW * midH
        let mid = [Double](unsafeUninitializedCapacity: midCount) { m, n in
            // With quantisation the passes work on the 8-bit integers themselves (0...255), so that
            // ties round exactly as MATLAB's uint8 arithmetic does.
            if q {
                let ints = pixels.map { Double(Image.quantize8($0)) }
                ints.withUnsafeBufferPointer { src in
                    Resampler.pass(src.baseAddress!, m.baseAddress!, alongRows: rowsFirst, width: width, height: height,
                                   channels: ch, first, store: .round)
                }
            } else {
                pixels.withUnsafeBufferPointer { src in
                    Resampler.pass(src.baseAddress!, m.baseAddress!, alongRows: rowsFirst, width: width, height: height,
                                   channels: ch, first, store: .plain)
                }
            }
            n = midCount
        }
        let count = ch * outW * outH
        // Integers 0...255 are stored as Float(k) / 255, exactly as Image(interleaved8:) does.
        let out = [Float](unsafeUninitializedCapacity: count) { dst, n in
            mid.withUnsafeBufferPointer { m in
                Resampler.pass(m.baseAddress!, dst.baseAddress!, alongRows: !rowsFirst, width: midW, height: midH,
                               channels: ch, second, store: q ? .roundToGrid : .plain)
            }
            n = count
        }
        return Image(width: outW, height: outH, colorModel: colorModel, pixels: out,
                     sourceBitDepth: sourceBitDepth, iccProfile: iccProfile)
    }
}

/// A pointer handed to disjoint slices of a `concurrentPerform` loop.
private struct SendablePointer<T>: @unchecked Sendable {
    let p: UnsafeMutablePointer<T>
}

/// A read-only pointer shared by the slices of a `concurrentPerform` loop.
private struct SendableConstPointer<T>: @unchecked Sendable {
    let p: UnsafePointer<T>
}

/// The 1-D passes on planar buffers, parallel over planes and row blocks. Sums are in Double;
/// values are on the 0...1 scale, or integers on 0...255 when quantising.
private enum Resampler {
    /// Rounds a 0...255 value to an integer as `imresizemex` does for `uint8` (saturate, half away from zero).
    @inline(__always)
    static func quantize(_ s: Double) -> Double {
        if !(s > 0) { return 0 }
        if s >= 255 { return 255 }
        return (s + 0.5).rounded(.down)
    }

    /// Splits `count` units into about four chunks per core.
    static func forEachChunk(_ count: Int, minimumPerChunk: Int, _ body: (Range<Int>) -> Void) {
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunks = max(1, min(cores * 4, count / max(1, minimumPerChunk)))
        if chunks == 1 { body(0..<count); return }
        DispatchQueue.concurrentPerform(iterations: chunks) { k in
            let lo = count * k / chunks, hi = count * (k + 1) / chunks
            if lo < hi { body(lo..<hi) }
        }
    }

    /// How a pass stores its sums.
    enum Store {
        /// As computed.
        case plain
        /// Rounded to an integer 0...255 (a `uint8` pass).
        case round
        /// Rounded to an integer `k`, stored as `k / 255` (the last `uint8` pass).
        case roundToGrid
    }

    @inline(__always)
    static func stored<Out: BinaryFloatingPoint>(_ v: Double, _ store: Store) -> Out {
        switch store {
        case .plain: return Out(v)
        case .round: return Out(quantize(v))
        case .roundToGrid: return Out(quantize(v)) / 255
        }
    }

    /// A copied sample: integers stay integers, except that the last pass maps them to the grid.
    @inline(__always)
    static func copied<In: BinaryFloatingPoint, Out: BinaryFloatingPoint>(_ v: In, _ store: Store) -> Out {
        store == .roundToGrid ? Out(v) / 255 : Out(v)
    }

    /// One 1-D pass from `(channels, height, width)` at `src` to `dst`, which holds
    /// `(channels, c.outLength, width)` (along rows) or `(channels, height, c.outLength)`.
    /// A pass of one tap per sample copies (MATLAB's pure nearest-neighbour case): no rounding.
    static func pass<In: BinaryFloatingPoint, Out: BinaryFloatingPoint>(
        _ src: UnsafePointer<In>, _ dst: UnsafeMutablePointer<Out>, alongRows: Bool,
        width: Int, height: Int, channels: Int, _ c: ResizeContributions, store: Store
    ) {
        precondition(c.inLength == (alongRows ? height : width),
                     "contributions for \(c.inLength) samples applied to a \(width)x\(height) plane \(alongRows ? "height" : "width")")
        c.weights.withUnsafeBufferPointer { wp in
            c.indices.withUnsafeBufferPointer { ip in
                let s = SendableConstPointer(p: src), d = SendablePointer(p: dst)
                let wb = SendableConstPointer(p: wp.baseAddress!), ib = SendableConstPointer(p: ip.baseAddress!)
                if alongRows {
                    rowsPass(s, d, width: width, height: height, channels: channels, outH: c.outLength, taps: c.taps,
                             wb, ib, store: store)
                } else {
                    columnsPass(s, d, width: width, rows: channels * height, outW: c.outLength, taps: c.taps,
                                wb, ib, store: store)
                }
            }
        }
    }

    /// Along the width: gathers `taps` samples of the same row per output sample. Four outputs are
    /// summed side by side in SIMD lanes (independent dependency chains), each over its taps in
    /// order, so every output is the same sum as MATLAB's loop.
    private static func columnsPass<In: BinaryFloatingPoint, Out: BinaryFloatingPoint>(
        _ s: SendableConstPointer<In>, _ d: SendablePointer<Out>, width: Int, rows: Int, outW: Int, taps: Int,
        _ wb: SendableConstPointer<Double>, _ ib: SendableConstPointer<Int>, store: Store
    ) {
        // Taps regrouped by 4 outputs: entry ((g * taps + t) * 4 + lane) is tap t of output 4g + lane.
        let groups = outW / 4
        var wT = [Double](repeating: 0, count: groups * taps * 4)
        var iT = [Int](repeating: 0, count: groups * taps * 4)
        for g in 0..<groups {
            for t in 0..<taps {
                for lane in 0..<4 {
                    wT[(g * taps + t) * 4 + lane] = wb.p[(g * 4 + lane) * taps + t]
                    iT[(g * taps + t) * 4 + lane] = ib.p[(g * 4 + lane) * taps + t]
                }
            }
        }
        wT.withUnsafeBufferPointer { wtp in
            iT.withUnsafeBufferPointer { itp in
                let wt = SendableConstPointer(p: wtp.baseAddress ?? wb.p), it = SendableConstPointer(p: itp.baseAddress ?? ib.p)
                forEachChunk(rows, minimumPerChunk: max(1, 16384 / max(1, outW * taps))) { range in
                    let w = wb.p, idx = ib.p, w4 = wt.p, i4 = it.p
                    for r in range {
                        let row = s.p + r * width
                        let out = d.p + r * outW
                        if taps == 1 {  // MATLAB copies (isPureNearestNeighborComputation): no arithmetic
                            for x in 0..<outW { out[x] = copied(row[idx[x]], store) }
                            continue
                        }
                        for g in 0..<groups {
                            var acc = SIMD4<Double>(repeating: 0)
                            var k = g * taps * 4
                            for _ in 0..<taps {
                                let wv = SIMD4<Double>(w4[k], w4[k + 1], w4[k + 2], w4[k + 3])
                                let xv = SIMD4<Double>(Double(row[i4[k]]), Double(row[i4[k + 1]]),
                                                       Double(row[i4[k + 2]]), Double(row[i4[k + 3]]))
                                acc += wv * xv
                                k += 4
                            }
                            let x = g * 4
                            out[x] = stored(acc[0], store)
                            out[x + 1] = stored(acc[1], store)
                            out[x + 2] = stored(acc[2], store)
                            out[x + 3] = stored(acc[3], store)
                        }
                        for x in (groups * 4)..<outW {
                            var acc = 0.0
                            let base = x * taps
                            for t in 0..<taps { acc += w[base + t] * Double(row[idx[base + t]]) }
                            out[x] = stored(acc, store)
                        }
                    }
                }
            }
        }
    }

    /// Along the height: each output row is a weighted sum of `taps` whole input rows (vectorises along x).
    private static func rowsPass<In: BinaryFloatingPoint, Out: BinaryFloatingPoint>(
        _ s: SendableConstPointer<In>, _ d: SendablePointer<Out>, width: Int, height: Int, channels: Int,
        outH: Int, taps: Int, _ wb: SendableConstPointer<Double>, _ ib: SendableConstPointer<Int>,
        store: Store
    ) {
        forEachChunk(channels * outH, minimumPerChunk: max(1, 16384 / max(1, width * taps))) { range in
            let w = wb.p, idx = ib.p
            withUnsafeTemporaryAllocation(of: Double.self, capacity: width) { accBuffer in
                let acc = accBuffer.baseAddress!
                for r in range {
                    let plane = r / outH, y = r % outH
                    let inPlane = s.p + plane * height * width
                    let out = d.p + r * width
                    let base = y * taps
                    if taps == 1 {
                        let row = inPlane + idx[base] * width
                        for x in 0..<width { out[x] = copied(row[x], store) }
                        continue
                    }
                    let w0 = w[base]
                    let row0 = inPlane + idx[base] * width
                    for x in 0..<width { acc[x] = w0 * Double(row0[x]) }
                    for t in 1..<taps {
                        let wt = w[base + t]
                        let rowt = inPlane + idx[base + t] * width
                        for x in 0..<width { acc[x] += wt * Double(rowt[x]) }
                    }
                    switch store {
                    case .plain: for x in 0..<width { out[x] = Out(acc[x]) }
                    case .round: for x in 0..<width { out[x] = Out(quantize(acc[x])) }
                    case .roundToGrid: for x in 0..<width { out[x] = Out(quantize(acc[x])) / 255 }
                    }
                }
            }
        }
    }
}
