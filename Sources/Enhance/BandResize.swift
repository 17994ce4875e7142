import EnhanceImage

/// MATLAB-exact bicubic (or any ``ResizeMethod``) resampling of one plane, a band of output
/// rows at a time.
///
/// ``Image/resized(width:height:method:antialias:quantizeEachPass:)`` is separable: output row
/// `i` depends only on the input rows listed in the row contributions of `i`. A band of output
/// rows is therefore computed from a window of input rows, with the very same arithmetic
/// (Double accumulation in the same order, the same pass order), so the band equals the same
/// rows of the whole-plane resize bit for bit.
///
/// Planes are row-major Float, `width` samples per row.
public struct BandResampler: Sendable {
    public let inWidth: Int, inHeight: Int
    public let outWidth: Int, outHeight: Int
    let rows: ResizeContributions
    let cols: ResizeContributions
    /// MATLAB resizes the dimension with the smaller scale first (rows on a tie).
    let rowsFirst: Bool

    /// A resampler from `inWidth`×`inHeight` to `outWidth`×`outHeight`, the scale of each
    /// dimension being output/input (MATLAB's `imresize(A, [h w])`).
    public init(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int,
                method: ResizeMethod = .bicubic, antialias: Bool = true) {
        precondition(inWidth > 0 && inHeight > 0 && outWidth > 0 && outHeight > 0,
                     "BandResampler: sizes must be positive, got \(inWidth)x\(inHeight) -> \(outWidth)x\(outHeight)")
        self.inWidth = inWidth; self.inHeight = inHeight
        self.outWidth = outWidth; self.outHeight = outHeight
        let sy = Double(outHeight) / Double(inHeight), sx = Double(outWidth) / Double(inWidth)
        rows = ResizeContributions(inLength: inHeight, outLength: outHeight, scale: sy, method: method, antialias: antialias)
        cols = ResizeContributions(inLength: inWidth, outLength: outWidth, scale: sx, method: method, antialias: antialias)
        rowsFirst = sy <= sx
    }

    /// The input rows that output rows `band` read (a contiguous window covering every tap).
    public func inputRows(for band: Range<Int>) -> Range<Int> {
        precondition(band.lowerBound >= 0 && band.upperBound <= outHeight,
                     "BandResampler: rows \(band) outside 0..<\(outHeight)")
        if band.isEmpty { return 0..<0 }
        var lo = Int.max, hi = Int.min
        rows.indices.withUnsafeBufferPointer { idx in
            for i in band.lowerBound * rows.taps..<band.upperBound * rows.taps {
                lo = min(lo, idx[i]); hi = max(hi, idx[i])
            }
        }
        return lo..<(hi + 1)
    }

    /// Output rows `band` (`band.count × outWidth` samples), reading input rows through
    /// `fetch(range)`, which must return `range.count × inWidth` samples.
    public func rows(_ band: Range<Int>, fetch: (Range<Int>) -> [Float]) -> [Float] {
        let window = inputRows(for: band)
        if band.isEmpty { return [] }
        let input = fetch(window)
        precondition(input.count == window.count * inWidth,
                     "BandResampler: fetched \(input.count) samples for rows \(window) of width \(inWidth)")
        return rows(band, window: window, input: input)
    }

    /// Output rows `band` from the input rows `window` (must contain ``inputRows(for:)``).
    public func rows(_ band: Range<Int>, window: Range<Int>, input: [Float]) -> [Float] {
        let n = band.count, w0 = window.lowerBound
        let inW = inWidth, outW = outWidth
        return rows.weights.withUnsafeBufferPointer { rw in
            rows.indices.withUnsafeBufferPointer { ri in
                cols.weights.withUnsafeBufferPointer { cw in
                    cols.indices.withUnsafeBufferPointer { ci in
                        input.withUnsafeBufferPointer { src in
                            let rt = rows.taps, ct = cols.taps
                            if rowsFirst {
                                // Rows pass (Float -> Double) for the band, then columns (Double -> Float).
                                var mid = [Double](repeating: 0, count: n * inW)
                                mid.withUnsafeMutableBufferPointer { m in
                                    for (k, y) in band.enumerated() {
                                        Self.rowCombine(src.baseAddress!, inW, w0, rw.baseAddress! + y * rt,
                                                        ri.baseAddress! + y * rt, rt, m.baseAddress! + k * inW)
                                    }
                                }
                                return [Float](unsafeUninitializedCapacity: n * outW) { dst, count in
                                    mid.withUnsafeBufferPointer { m in
                                        for k in 0..<n {
                                            Self.columnPass(m.baseAddress! + k * inW, cw.baseAddress!, ci.baseAddress!,
                                                            ct, outW, dst.baseAddress! + k * outW)
                                        }
                                    }
                                    count = n * outW
                                }
                            } else {
                                // Columns pass (Float -> Double) over the window, then rows (Double -> Float).
                                let wn = window.count
                                var mid = [Double](repeating: 0, count: wn * outW)
                                mid.withUnsafeMutableBufferPointer { m in
                                    for k in 0..<wn {
                                        Self.columnPass(src.baseAddress! + k * inW, cw.baseAddress!, ci.baseAddress!,
                                                        ct, outW, m.baseAddress! + k * outW)
                                    }
                                }
                                return [Float](unsafeUninitializedCapacity: n * outW) { dst, count in
                                    mid.withUnsafeBufferPointer { m in
                                        for (k, y) in band.enumerated() {
                                            Self.rowCombine(m.baseAddress!, outW, w0, rw.baseAddress! + y * rt,
                                                            ri.baseAddress! + y * rt, rt, dst.baseAddress! + k * outW)
                                        }
                                    }
                                    count = n * outW
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// One output row of a rows pass: `sum_t w[t] * row(idx[t] - w0)`, accumulated in Double in
    /// tap order exactly as `Image.resized` does (a single tap copies).
    @inline(__always)
    static func rowCombine<In: BinaryFloatingPoint, Out: BinaryFloatingPoint>(
        _ src: UnsafePointer<In>, _ width: Int, _ w0: Int, _ w: UnsafePointer<Double>, _ idx: UnsafePointer<Int>,
        _ taps: Int, _ out: UnsafeMutablePointer<Out>
    ) {
        if taps == 1 {
            let row = src + (idx[0] - w0) * width
            for x in 0..<width { out[x] = Out(row[x]) }
            return
        }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: width) { accBuffer in
            let acc = accBuffer.baseAddress!
            let row0 = src + (idx[0] - w0) * width, wt0 = w[0]
            for x in 0..<width { acc[x] = wt0 * Double(row0[x]) }
            for t in 1..<taps {
                let wt = w[t], rowt = src + (idx[t] - w0) * width
                for x in 0..<width { acc[x] += wt * Double(rowt[x]) }
            }
            for x in 0..<width { out[x] = Out(acc[x]) }
        }
    }

    /// A columns pass over one row, as `Image.resized` does it.
    @inline(__always)
    static func columnPass<In: BinaryFloatingPoint, Out: BinaryFloatingPoint>(
        _ row: UnsafePointer<In>, _ w: UnsafePointer<Double>, _ idx: UnsafePointer<Int>, _ taps: Int,
        _ outW: Int, _ out: UnsafeMutablePointer<Out>
    ) {
        if taps == 1 {
            for x in 0..<outW { out[x] = Out(row[idx[x]]) }
            return
        }
        for x in 0..<outW {
            var acc = 0.0
            let base = x * taps
            for t in 0..<taps { acc += w[base + t] * Double(row[idx[base + t]]) }
            out[x] = Out(acc)
        }
    }
}
