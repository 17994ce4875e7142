// Inference fusions around 1x1 convolutions, so that a wide intermediate map (FSRCNN's
// 56 channels) never goes to memory whole:
//
// - `forwardThenPointwise`: a k×k convolution (+ activation; strided ones through their
//   space-to-depth form) followed by a 1x1 convolution (+ activation), as FSRCNN's first stage
//   and Fast AR-CNN's first two layers. Per block of 24 wide positions, the k×k convolution computes
//   all D channels into a D×24 L1 scratch (activation in registers) and the 1x1 reads it back
//   and writes the S output channels (`convThenPointwiseBlocks`, PointwiseBlocks.swift). Images
//   whose bands would have fewer than 24 wide positions take the older band path: the D-channel
//   band in per-worker scratch sized for L2, then the 1x1 through the wide engine.
// - The 1x1 (+ activation) in front of a direct transposed convolution is computed row by row
//   into the transposed kernel's ring of input rows (`PointwiseStage`, `pointwiseRun`, used by
//   `ConvKernels.transposedForward`): the D-channel map exists only as those few rows.
//   `Sequential` prefers this fusion for a 1x1 that could also join the convolution before it.
//
// Both compute the same sums in the same order as the unfused kernels' direct paths; only the
// sgemm path of an unfused 1x1 orders its products differently (rounding-level differences).

/// A 1x1 convolution (+ activation `v > 0 ? v : slopes[c] · v`) evaluated on the fly by a
/// consumer kernel: `y[co] = bias[co] + Σ_ci weight[co·inChannels + ci] · x[ci]`.
/// Pointers must stay valid for the duration of the consuming call.
public struct PointwiseStage {
    public var inChannels: Int
    public var outChannels: Int
    /// `[outChannels, inChannels]` (a 1x1 `Conv2d` weight in PyTorch order).
    public var weight: UnsafePointer<Float>
    public var bias: UnsafePointer<Float>?
    /// One per output channel, or nil for no activation.
    public var slopes: UnsafePointer<Float>?

    public init(inChannels: Int, outChannels: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                slopes: UnsafePointer<Float>?) {
        precondition(inChannels >= 1 && outChannels >= 1,
                     "PointwiseStage: channels \(inChannels)->\(outChannels) must be >= 1")
        self.inChannels = inChannels; self.outChannels = outChannels
        self.weight = weight; self.bias = bias; self.slopes = slopes
    }

    /// Weights packed for `wideForward` with one tap.
    func packed() -> PackedWeights {
        PackedWeights(outC: outChannels, inC: inChannels, taps: 1) { co, ci, _ in weight[co * inChannels + ci] }
    }
}

extension ConvKernels {
    /// Bytes of the D-channel band that `forwardThenPointwise` keeps per worker (about half of L2).
    static let pointwiseBandBytes = 192 << 10

    /// Whether `forwardThenPointwise` handles a first convolution of geometry `g`: one on the
    /// direct wide path, stride 1 or strided through its space-to-depth form (Winograd and the
    /// small-image sgemm path stay unfused: they are either cheaper in arithmetic or already in
    /// cache).
    public static func pointwiseFusionApplies(_ g: ConvGeometry) -> Bool {
        !winogradApplies(g) && !gemmForward(g)
    }

    /// `output = act₂(conv1x1(act₁(conv(input))))` for inference, without the intermediate map.
    ///
    /// `g` is the first (k×k, already padded input) convolution with weights `[D, inC, k, k]`,
    /// `bias`, optional `slopes` (D); `pointwise` maps its D channels to `pointwise.outChannels`
    /// (S). `output` is `[batch, S, outH, outW]`, overwritten. A strided `g` (Fast AR-CNN's 9x9
    /// stride-2 first layer) runs as the stride-1 convolution of its space-to-depth form, copied
    /// band by band as in `directForward`. Requires `pointwiseFusionApplies(g)`.
    public static func forwardThenPointwise(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>,
                                            weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                            slopes: UnsafePointer<Float>?, pointwise: PointwiseStage,
                                            output: UnsafeMutablePointer<Float>, threads: Int) {
        precondition(pointwiseFusionApplies(g), "forwardThenPointwise: \(g) is not on the direct path")
        precondition(pointwise.inChannels == g.outChannels,
                     "forwardThenPointwise: 1x1 takes \(pointwise.inChannels) channels, convolution gives \(g.outChannels)")
        precondition(batch >= 0, "forwardThenPointwise: negative batch \(batch)")
        if batch == 0 { return }
        let k = g.kernel, D = g.outChannels, S = pointwise.outChannels, inC = g.inChannels
        let ih = g.inHeight, iw = g.inWidth, oh = g.outHeight, ow = g.outWidth
        // Block path: bands of ~4096 wide positions (read straight from the input at stride 1);
        // every band needs at least 24 wide positions (tiny images take the paths below).
        let rowStride = wideRowStride(g)
        let blockRows = bandHeight(rows: oh, rowStride: rowStride, batch: batch, threads: threads)
        let blockBands = (oh + blockRows - 1) / blockRows
        let lastRows = oh - (blockBands - 1) * blockRows
        if (lastRows - 1) * rowStride + ow >= 24 {
            pointwiseBlocks(g, batch: batch, input: input, weight: weight, bias: bias, slopes: slopes, pointwise: pointwise,
                            output: output, threads: threads, bandRows: blockRows)
            return
        }
        if g.stride != 1 {
            // Tiny strided image: unfused, through the intermediate map.
            let mid = UnsafeMutablePointer<Float>.allocate(capacity: batch * g.outputCount)
            defer { mid.deallocate() }
            directForward(g, batch: batch, input: input, weight: weight, bias: bias, output: mid, threads: threads, slopes: slopes)
            let g2 = ConvGeometry(inChannels: D, outChannels: S, inHeight: oh, inWidth: ow, kernel: 1, stride: 1)
            directForward(g2, batch: batch, input: mid, weight: pointwise.weight, bias: pointwise.bias, output: output,
                          threads: threads, slopes: pointwise.slopes)
            return
        }
        let bandRows = bandHeight(rows: oh, rowStride: ow, batch: batch, threads: threads,
                                  positions: max(ow, pointwiseBandBytes / 4 / D))
        let bands = (oh + bandRows - 1) / bandRows
        let taps = UnsafeMutablePointer<Int>.allocate(capacity: k * k + 1)
        defer { taps.deallocate() }
        for ty in 0..<k { for tx in 0..<k { taps[ty * k + tx] = ty * iw + tx } }
        taps[k * k] = 0                                         // the 1x1's single tap
        let first = PackedWeights(outC: D, inC: inC, taps: k * k) { co, ci, t in weight[(co * inC + ci) * k * k + t] }
        defer { first.deallocate() }
        let second = pointwise.packed()
        defer { second.deallocate() }
        let inCount = inC * (bandRows + k - 1) * iw + wideSlack
        let midCount = D * bandRows * ow + wideSlack
        let perWorker = inCount + midCount
        let workers = min(batch * bands, max(1, threads))
        let scratchAll = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        scratchAll.initialize(repeating: 0, count: workers * perWorker)
        defer { scratchAll.deallocate() }
        let inp = SendableConstPointer(input), out = SendablePointer(output), sp = SendablePointer(scratchAll)
        let tp = SendableConstPointer(UnsafePointer(taps))
        let b1 = bias.map { SendableConstPointer($0) }, s1 = slopes.map { SendableConstPointer($0) }
        let b2 = pointwise.bias.map { SendableConstPointer($0) }, s2 = pointwise.slopes.map { SendableConstPointer($0) }
        let weights = UncheckedBox((first, second))
        Parallel.forEachWithWorker(batch * bands, threads: workers) { worker, task in
            let n = task / bands, r0 = (task % bands) * bandRows, rows = min(bandRows, oh - r0)
            let x = inp.pointer + n * g.inputCount
            let inBand = sp.pointer + worker * perWorker, mid = inBand + inCount
            // The band's input rows, copied row-contiguous into L2 (as the unfused direct path).
            let plane = (rows + k - 1) * iw
            for c in 0..<inC { (inBand + c * plane).update(from: x + (c * ih + r0) * iw, count: plane) }
            let midPlane = rows * ow
            let band1 = WideBand(x: UnsafePointer(inBand), chanStride: plane, rowStride: iw, rows: rows, cols: ow,
                                 out: mid, outChanStride: midPlane, outRowStride: ow, outColStride: 1)
            wideForward(band1, weights: weights.value.0, taps: tp.pointer, tapRows: k, tapCols: k, bias: b1?.pointer)
            if let sl = s1?.pointer {
                for co in 0..<D { applySlope(sl[co], mid + co * midPlane, count: midPlane) }
            }
            // The band's output rows are contiguous in each output plane: one wide row of midPlane.
            let y = out.pointer + n * S * oh * ow + r0 * ow
            let band2 = WideBand(x: UnsafePointer(mid), chanStride: midPlane, rowStride: midPlane, rows: 1, cols: midPlane,
                                 out: y, outChanStride: oh * ow, outRowStride: midPlane, outColStride: 1)
            wideForward(band2, weights: weights.value.1, taps: tp.pointer + k * k, tapRows: 1, tapCols: 1, bias: b2?.pointer)
            if let sl = s2?.pointer {
                for co in 0..<S { applySlope(sl[co], y + co * oh * ow, count: midPlane) }
            }
        }
    }

    /// `forwardThenPointwise` through `convThenPointwiseBlocks`: bands of `bandRows` output rows,
    /// each with at least 24 wide positions, read in place from `input` at stride 1, from a
    /// per-worker space-to-depth copy of the band's rows when strided.
    static func pointwiseBlocks(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>,
                                weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                slopes: UnsafePointer<Float>?, pointwise: PointwiseStage,
                                output: UnsafeMutablePointer<Float>, threads: Int, bandRows: Int) {
        let s = g.stride, ks = (g.kernel + s - 1) / s, D = g.outChannels, S = pointwise.outChannels
        let ih = g.inHeight, iw = g.inWidth, oh = g.outHeight, ow = g.outWidth
        let rowStride = wideRowStride(g)
        let bands = (oh + bandRows - 1) / bandRows
        let copyPlane = s == 1 ? 0 : (bandRows + ks - 1) * rowStride
        let taps: UnsafeMutablePointer<Int>, first: PackedWeights
        if s == 1 {
            taps = .allocate(capacity: ks * ks)
            for ty in 0..<ks { for tx in 0..<ks { taps[ty * ks + tx] = ty * rowStride + tx } }
            first = spaceToDepthWeights(g, weight)
        } else {
            // One list of (channel, tap) offsets into the copy, only where the original kernel has
            // a tap: 81 of the 100 products per output of a 9x9 stride 2 (weights packed alike).
            var offsets: [Int] = [], sources: [Int] = []
            for c in 0..<(g.inChannels * s * s) {
                for ty in 0..<ks { for tx in 0..<ks {
                    guard let source = spaceToDepthTap(g, channel: c, ty: ty, tx: tx) else { continue }
                    offsets.append(c * copyPlane + ty * rowStride + tx)
                    sources.append(source)
                } }
            }
            taps = .allocate(capacity: offsets.count)
            taps.initialize(from: offsets, count: offsets.count)
            let perOutput = g.inChannels * g.kernel * g.kernel
            first = PackedWeights(outC: D, inC: 1, taps: offsets.count) { co, _, j in weight[co * perOutput + sources[j]] }
        }
        defer { taps.deallocate(); first.deallocate() }
        let second = pointwise.packed()
        defer { second.deallocate() }
        let workers = min(batch * bands, max(1, threads))
        let perWorker = D * 24 + g.inChannels * s * s * copyPlane
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { scratch.deallocate() }
        let inp = SendableConstPointer(input), out = SendablePointer(output), sp = SendablePointer(scratch)
        let tp = SendableConstPointer(UnsafePointer(taps))
        let b1 = bias.map { SendableConstPointer($0) }, s1 = slopes.map { SendableConstPointer($0) }
        let b2 = pointwise.bias.map { SendableConstPointer($0) }, s2 = pointwise.slopes.map { SendableConstPointer($0) }
        let weights = UncheckedBox((first, second))
        Parallel.forEachWithWorker(batch * bands, threads: workers) { worker, task in
            let n = task / bands, r0 = (task % bands) * bandRows, rows = min(bandRows, oh - r0)
            let mid = sp.pointer + worker * perWorker
            var band = WideBand(x: inp.pointer + n * g.inputCount + r0 * iw, chanStride: ih * iw, rowStride: rowStride,
                                rows: rows, cols: ow, out: out.pointer + n * S * oh * ow + r0 * ow,
                                outChanStride: oh * ow, outRowStride: ow, outColStride: 1)
            if s != 1 {
                // Every tap of the band's last block stays inside the copied rows (see
                // `convThenPointwiseBlocks`), so the copy needs no slack.
                let copy = mid + D * 24
                spaceToDepthRows(g, input: inp.pointer + n * g.inputCount, firstRow: r0, rows: rows + ks - 1,
                                 rowStride: rowStride, into: copy, plane: copyPlane)
                band.x = UnsafePointer(copy); band.chanStride = copyPlane
            }
            convThenPointwiseBlocks(band, first: weights.value.0, taps: tp.pointer, bias1: b1?.pointer, slopes1: s1?.pointer,
                                    second: weights.value.1, bias2: b2?.pointer, slopes2: s2?.pointer, mid: mid)
        }
    }
}
