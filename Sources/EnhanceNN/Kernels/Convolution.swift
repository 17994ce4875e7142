/// Valid (unpadded) 2-D cross-correlation geometry for one image. The input is already padded
/// by the caller. Layout is NCHW; weights are `[out, in, kernel, kernel]` (PyTorch order).
public struct ConvGeometry: Sendable, Equatable, CustomStringConvertible {
    public var inChannels, outChannels, inHeight, inWidth, kernel, stride: Int
    public var outHeight: Int { (inHeight - kernel) / stride + 1 }
    public var outWidth: Int { (inWidth - kernel) / stride + 1 }

    public init(inChannels: Int, outChannels: Int, inHeight: Int, inWidth: Int, kernel: Int, stride: Int) {
        precondition(inChannels >= 1 && outChannels >= 1, "ConvGeometry: channels must be >= 1, got in \(inChannels) out \(outChannels)")
        precondition(kernel >= 1 && stride >= 1, "ConvGeometry: kernel \(kernel) and stride \(stride) must be >= 1")
        precondition(inHeight >= kernel && inWidth >= kernel,
                     "ConvGeometry: input \(inHeight)x\(inWidth) smaller than kernel \(kernel)")
        self.inChannels = inChannels; self.outChannels = outChannels
        self.inHeight = inHeight; self.inWidth = inWidth; self.kernel = kernel; self.stride = stride
    }

    /// Floats in one input image (`inChannels·inHeight·inWidth`).
    public var inputCount: Int { inChannels * inHeight * inWidth }
    /// Floats in one output image (`outChannels·outHeight·outWidth`).
    public var outputCount: Int { outChannels * outHeight * outWidth }
    /// Floats in the weight tensor (`outChannels·inChannels·kernel²`).
    public var weightCount: Int { outChannels * inChannels * kernel * kernel }
    /// Multiply-adds ×2 for one image (the conventional FLOP count of a direct convolution).
    public var flops: Double { 2 * Double(outChannels * outHeight * outWidth) * Double(inChannels * kernel * kernel) }

    public var description: String {
        "conv \(inChannels)→\(outChannels) k\(kernel) s\(stride) on \(inHeight)x\(inWidth)"
    }
}

/// Fast CPU convolution kernels (NCHW, float32, weights `[out, in, k, k]`).
///
/// All functions are a valid cross-correlation of an already padded input:
/// `y[n,co,oy,ox] = bias[co] + Σ_{ci,ky,kx} w[co,ci,ky,kx] · x[n,ci,oy·s+ky,ox·s+kx]`.
/// Scratch memory is bounded by tiling (O(tile), never a whole-image im2col). Small-image and
/// 1x1 shapes go through OpenBLAS sgemm on strided "wide" views (TapGEMM.swift; per-image scratch,
/// at most `tapGEMMScratchLimit` floats per worker); those calls set OpenBLAS to 1 thread.
/// `threads` is the number of workers; results of `forward` and `backwardInput` do not depend on
/// it beyond rounding, and `backwardWeight` is bit-identical for a given thread count.
/// Stride-1 3x3 and 5x5 convolutions with at least 16 channels on each side take the Winograd
/// path in `forward` and `backwardInput` (Winograd.swift; per-block scratch, results independent
/// of the thread count); `useWinograd` switches it off.
public enum ConvKernels {
    /// y = conv(x, w) + bias; overwrites `output` (`[batch, out, outH, outW]`).
    ///
    /// With `slopes` (one per output channel), each output value v is then replaced by
    /// `v > 0 ? v : slopes[co] · v` (ReLU, leaky ReLU, PReLU fused into the write, for inference):
    /// the direct and sgemm paths apply it to each band while the band is still in cache, the
    /// Winograd path in one pass afterwards.
    public static func forward(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                               bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, threads: Int,
                               slopes: UnsafePointer<Float>? = nil) {
        precondition(batch >= 0, "ConvKernels.forward: negative batch \(batch)")
        if batch == 0 { return }
        if winogradApplies(g) {
            winogradForward(g, batch: batch, input: input, weight: weight, bias: bias, output: output, threads: threads,
                            slopes: slopes)
            return
        }
        directForward(g, batch: batch, input: input, weight: weight, bias: bias, output: output, threads: threads, slopes: slopes)
    }

    /// `forward` without the Winograd path: sgemm for small images and 1x1, otherwise the wide
    /// direct kernel. Tests compare the two paths through it (no global switch to flip).
    public static func directForward(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                     bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, threads: Int,
                                     slopes: UnsafePointer<Float>? = nil) {
        precondition(batch >= 0, "ConvKernels.directForward: negative batch \(batch)")
        if batch == 0 { return }
        if gemmForward(g) {
            gemmForward(g, batch: batch, input: input, weight: weight, bias: bias, output: output, threads: threads, slopes: slopes)
            return
        }
        let s = g.stride, k = g.kernel, ks = (k + s - 1) / s          // sub-kernel size after space-to-depth
        let inC = g.inChannels * s * s, oh = g.outHeight, ow = g.outWidth
        let rowStride = wideRowStride(g)
        // Each band's input rows are first copied (row by row, prefetch-friendly) into per-worker
        // scratch of about 1 MB (L2): the kernels read many rows of many channels at once, which
        // straight from DRAM is latency-bound. Few output channels: taller bands (less re-reading).
        let bandRows = bandHeight(rows: oh, rowStride: rowStride, batch: batch, threads: threads,
                                  positions: max(1024, min(g.outChannels < 4 ? 16384 : 4096, 262_144 / inC)))
        let bands = (oh + bandRows - 1) / bandRows
        // Stride 1, whole blocks of 4 output channels, >= 24 wide positions in every band: the
        // block kernel reads the input in place and applies the activation before its stores.
        let lastRows = oh - (bands - 1) * bandRows
        let inPlace = s == 1 && g.outChannels % 4 == 0 && (min(bandRows, lastRows) - 1) * rowStride + ow >= 24
        let taps = UnsafeMutablePointer<Int>.allocate(capacity: ks * ks)
        defer { taps.deallocate() }
        for ty in 0..<ks { for tx in 0..<ks { taps[ty * ks + tx] = ty * rowStride + tx } }
        let packed = spaceToDepthWeights(g, weight)
        defer { packed.deallocate() }
        let inp = SendableConstPointer(input), out = SendablePointer(output)
        let tp = SendableConstPointer(UnsafePointer(taps)), bp = bias.map { SendableConstPointer($0) }
        let slp = slopes.map { SendableConstPointer($0) }
        let workers = min(batch * bands, max(1, threads))
        let scratchCount = inPlace ? 0 : inC * (bandRows + ks - 1) * rowStride
        let scratchAll = UnsafeMutablePointer<Float>.allocate(capacity: workers * scratchCount + wideSlack)
        scratchAll.initialize(repeating: 0, count: workers * scratchCount + wideSlack)
        defer { scratchAll.deallocate() }
        let sp = SendablePointer(scratchAll)
        Parallel.forEachWithWorker(batch * bands, threads: workers) { worker, task in
            let n = task / bands, r0 = (task % bands) * bandRows, rows = min(bandRows, oh - r0)
            let x = inp.pointer + n * g.inputCount
            var band = WideBand(x: x, chanStride: g.inHeight * g.inWidth, rowStride: rowStride, rows: rows, cols: ow,
                                out: out.pointer + n * g.outputCount + r0 * ow,
                                outChanStride: oh * ow, outRowStride: ow, outColStride: 1)
            if inPlace {
                band.x = x + r0 * g.inWidth
                wideBlocks(band, weights: packed, taps: tp.pointer, bias: bp?.pointer, slopes: slp?.pointer)
                return
            }
            if s == 1 {
                let plane = (rows + k - 1) * rowStride
                let scratch = sp.pointer + worker * scratchCount
                for c in 0..<inC { (scratch + c * plane).update(from: x + c * g.inHeight * g.inWidth + r0 * g.inWidth, count: plane) }
                band.x = UnsafePointer(scratch); band.chanStride = plane
                wideForward(band, weights: packed, taps: tp.pointer, tapRows: ks, tapCols: ks, bias: bp?.pointer)
            } else {
                // Space-to-depth copy of the rows this band reads (zero where the kernel has no tap).
                let sdRows = rows + ks - 1, plane = sdRows * rowStride
                let scratch = sp.pointer + worker * scratchCount
                spaceToDepthRows(g, input: x, firstRow: r0, rows: sdRows, rowStride: rowStride, into: scratch)
                band.x = UnsafePointer(scratch); band.chanStride = plane
                wideForward(band, weights: packed, taps: tp.pointer, tapRows: ks, tapCols: ks, bias: bp?.pointer)
            }
            if let sl = slp?.pointer {
                for co in 0..<g.outChannels { applySlope(sl[co], band.out + co * oh * ow, count: rows * ow) }
            }
        }
    }

    /// `v > 0 ? v : slope · v` over `count` floats in place (the fused activation of `forward`).
    @inline(__always)
    static func applySlope(_ slope: Float, _ p: UnsafeMutablePointer<Float>, count: Int) {
        let a = SIMD8<Float>(repeating: slope), zero = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            let v = load8(p + i)
            store8(v.replacing(with: v * a, where: .!(v .> zero)), p + i)
            i += 8
        }
        while i < count { let v = p[i]; p[i] = v > 0 ? v : slope * v; i += 1 }
    }

    /// Output rows per work item: about 4096 wide positions (a multiple of 4 rows when possible),
    /// and at least ~4 items per thread. With few items, the height (down to half) that leaves
    /// the busiest worker the fewest rows: 180 rows on 2 threads go as 12 bands of 16 (96 rows
    /// for the busiest), not 9 of 20 (100).
    static func bandHeight(rows: Int, rowStride: Int, batch: Int, threads: Int, positions: Int = 4096) -> Int {
        var r = max(1, min(rows, positions / max(1, rowStride)))
        if r > 4 && r < rows { r = r / 4 * 4 }
        while r > 1 && batch * ((rows + r - 1) / r) < 4 * threads { r = (r + 1) / 2 }
        guard threads > 1, batch * ((rows + r - 1) / r) < 16 * threads else { return r }
        func busiest(_ h: Int) -> Int { (batch * ((rows + h - 1) / h) + threads - 1) / threads * h }
        var best = r, h = r
        while h > max(1, r / 2) {
            h -= h > 4 ? 4 : 1
            if busiest(h) < busiest(best) { best = h }
        }
        return best
    }

    /// dx (overwritten, `[batch, in, inH, inW]`) from dy (`[batch, out, outH, outW]`).
    ///
    /// Computed per stride phase (py, px) as a stride-1 "full" correlation of dy with the
    /// flipped, transposed sub-kernel `w[co, ci, py + s·j, px + s·i]`, band by band
    /// (each band of dy is zero-padded into O(band) scratch). With `inChannels == 1` this is
    /// also the fast forward of a transposed convolution (deconvolution) to one channel.
    /// Strided geometries on images of more than ~55x55 low-resolution positions take the sub-pixel
    /// wide path instead (SubPixel.swift: all s² phases of a band at once); small images, the
    /// sgemm sub-pixel path (TapGEMM.swift).
    public static func backwardInput(_ g: ConvGeometry, batch: Int, outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                     inputGradient: UnsafeMutablePointer<Float>, threads: Int) {
        precondition(batch >= 0, "ConvKernels.backwardInput: negative batch \(batch)")
        if batch == 0 { return }
        if winogradBackwardApplies(g) {
            winogradBackwardInput(g, batch: batch, outputGradient: outputGradient, weight: weight, inputGradient: inputGradient,
                                  threads: threads)
            return
        }
        if subPixelWide(g) {
            subPixelBackwardInput(g, batch: batch, outputGradient: outputGradient, weight: weight, inputGradient: inputGradient, threads: threads)
            return
        }
        if gemmBackwardInput(g) {
            gemmBackwardInput(g, batch: batch, outputGradient: outputGradient, weight: weight, inputGradient: inputGradient, threads: threads)
            return
        }
        let s = g.stride, k = g.kernel, oh = g.outHeight, ow = g.outWidth, ih = g.inHeight, iw = g.inWidth
        struct Phase { var py, px, kh, kw, rows, cols, rowStride, bandRows, bands: Int; var packed: PackedWeights?; var taps: SendablePointer<Int> }
        var phases: [Phase] = []
        for py in 0..<s {
            for px in 0..<s {
                let kh = py < k ? (k - py + s - 1) / s : 0, kw = px < k ? (k - px + s - 1) / s : 0
                let rows = (ih - py + s - 1) / s, cols = (iw - px + s - 1) / s
                let rowStride = cols + max(kw, 1) - 1
                // Keep the padded dy band (outChannels planes) near 256 KB.
                let bandRows = bandHeight(rows: rows, rowStride: rowStride, batch: batch * s * s, threads: threads,
                                          positions: max(1024, 65536 / g.outChannels))
                let taps = UnsafeMutablePointer<Int>.allocate(capacity: max(1, kh * kw))
                for j in 0..<kh { for i in 0..<kw { taps[j * kw + i] = j * rowStride + i } }
                var packed: PackedWeights? = nil
                if kh > 0 && kw > 0 {
                    packed = PackedWeights(outC: g.inChannels, inC: g.outChannels, taps: kh * kw) { ci, co, t in
                        let ky = py + s * (kh - 1 - t / kw), kx = px + s * (kw - 1 - t % kw)
                        return weight[((co * g.inChannels + ci) * k + ky) * k + kx]
                    }
                }
                phases.append(Phase(py: py, px: px, kh: kh, kw: kw, rows: rows, cols: cols, rowStride: rowStride,
                                    bandRows: bandRows, bands: (rows + bandRows - 1) / bandRows, packed: packed, taps: SendablePointer(taps)))
            }
        }
        defer { for ph in phases { ph.packed?.deallocate(); ph.taps.pointer.deallocate() } }
        var starts: [Int] = [0]
        for ph in phases { starts.append(starts.last! + batch * ph.bands) }
        let dyp = SendableConstPointer(outputGradient), dxp = SendablePointer(inputGradient)
        let phaseList = phases, startList = starts
        let workers = min(starts.last!, max(1, threads))
        let scratchCount = phases.map { g.outChannels * ($0.bandRows + max($0.kh, 1) - 1) * $0.rowStride }.max() ?? 0
        let scratchAll = UnsafeMutablePointer<Float>.allocate(capacity: workers * scratchCount + wideSlack)
        scratchAll.initialize(repeating: 0, count: workers * scratchCount + wideSlack)
        defer { scratchAll.deallocate() }
        let sp = SendablePointer(scratchAll)
        Parallel.forEachWithWorker(starts.last!, threads: workers) { worker, task in
            var pi = 0
            while task >= startList[pi + 1] { pi += 1 }
            let ph = phaseList[pi], local = task - startList[pi]
            let n = local / ph.bands, a0 = (local % ph.bands) * ph.bandRows, rows = min(ph.bandRows, ph.rows - a0)
            let dx = dxp.pointer + n * g.inputCount + (ph.py + s * a0) * iw + ph.px
            guard let packed = ph.packed else {
                for ci in 0..<g.inChannels { for a in 0..<rows { for b in 0..<ph.cols { dx[ci * ih * iw + a * s * iw + b * s] = 0 } } }
                return
            }
            // Zero-padded dy band: padded row r ↔ dy row a0 + r − (kh−1), column c ↔ dy column c − (kw−1).
            let padRows = rows + ph.kh - 1, plane = padRows * ph.rowStride
            let scratch = sp.pointer + worker * scratchCount
            let dy = dyp.pointer + n * g.outputCount
            for co in 0..<g.outChannels {
                let dst = scratch + co * plane, src = dy + co * oh * ow
                for r in 0..<padRows {
                    let y = a0 + r - (ph.kh - 1), row = dst + r * ph.rowStride
                    if y < 0 || y >= oh {
                        row.update(repeating: 0, count: ph.rowStride)
                        continue
                    }
                    row.update(repeating: 0, count: ph.kw - 1)
                    (row + ph.kw - 1).update(from: src + y * ow, count: ow)
                    (row + ph.kw - 1 + ow).update(repeating: 0, count: ph.rowStride - (ph.kw - 1) - ow)
                }
            }
            let band = WideBand(x: UnsafePointer(scratch), chanStride: plane, rowStride: ph.rowStride, rows: rows, cols: ph.cols,
                                out: dx, outChanStride: ih * iw, outRowStride: s * iw, outColStride: s)
            wideForward(band, weights: packed, taps: ph.taps.pointer, tapRows: ph.kh, tapCols: ph.kw, bias: nil)
        }
    }

    /// dW += Σ dy ⊗ x and dBias += Σ dy over the batch (accumulates; bit-deterministic for a given
    /// thread count: each worker sums a fixed set of bands into its own buffer, and the buffers are
    /// added in worker order).
    public static func backwardWeight(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                      weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?,
                                      threads: Int) {
        precondition(batch >= 0, "ConvKernels.backwardWeight: negative batch \(batch)")
        if batch == 0 { return }
        if winogradBackwardWeightApplies(g) {
            winogradBackwardWeight(g, batch: batch, input: input, outputGradient: outputGradient, weightGradient: weightGradient,
                                   biasGradient: biasGradient, threads: threads)
            return
        }
        if gemmBackwardWeight(g) {
            gemmBackwardWeight(g, batch: batch, input: input, outputGradient: outputGradient, weightGradient: weightGradient,
                               biasGradient: biasGradient, threads: threads)
            return
        }
        let s = g.stride, k = g.kernel, ks = (k + s - 1) / s
        let inC = g.inChannels * s * s, outC = g.outChannels, oh = g.outHeight, ow = g.outWidth
        let rowStride = ow + ks - 1, T = ks * ks, Q = inC * T
        let bandRows = bandHeight(rows: oh, rowStride: rowStride, batch: batch, threads: threads)
        let bands = (oh + bandRows - 1) / bandRows
        let items = batch * bands
        let workers = min(items, max(1, threads))
        let taps = UnsafeMutablePointer<Int>.allocate(capacity: T)
        defer { taps.deallocate() }
        for ty in 0..<ks { for tx in 0..<ks { taps[ty * ks + tx] = ty * rowStride + tx } }
        let partialCount = outC * Q + outC
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: workers * partialCount)
        partials.initialize(repeating: 0, count: workers * partialCount)
        defer { partials.deallocate() }
        let inp = SendableConstPointer(input), dyp = SendableConstPointer(outputGradient)
        let pp = SendablePointer(partials), tp = SendableConstPointer(UnsafePointer(taps))
        Parallel.forEachChunk(items, threads: workers) { worker, range in
            let partial = pp.pointer + worker * partialCount, dbias = partial + outC * Q
            let maxRows = bandRows + ks - 1
            let length = (bandRows * rowStride + 7) / 8 * 8
            let xPlane = maxRows * rowStride + length        // slack: reads run up to length − 1 past a row start
            let dyBuf = UnsafeMutablePointer<Float>.allocate(capacity: outC * length)
            let xBuf = UnsafeMutablePointer<Float>.allocate(capacity: inC * xPlane)
            defer { dyBuf.deallocate(); xBuf.deallocate() }
            xBuf.initialize(repeating: 0, count: inC * xPlane)
            for item in range {
                let n = item / bands, r0 = (item % bands) * bandRows, rows = min(bandRows, oh - r0)
                let dy = dyp.pointer + n * g.outputCount, x = inp.pointer + n * g.inputCount
                let len = (rows * rowStride + 7) / 8 * 8
                for co in 0..<outC {
                    let dst = dyBuf + co * len, src = dy + co * oh * ow + r0 * ow
                    dst.update(repeating: 0, count: len)
                    var sum: Float = 0
                    for r in 0..<rows {
                        for c in 0..<ow { let v = src[r * ow + c]; dst[r * rowStride + c] = v; sum += v }
                    }
                    dbias[co] += sum
                }
                spaceToDepthRows(g, input: x, firstRow: r0, rows: rows + ks - 1, rowStride: rowStride, into: xBuf,
                                 plane: xPlane)
                wideWeightGradient(outC: outC, inC: inC, taps: tp.pointer, T: T, dy: UnsafePointer(dyBuf), length: len,
                                   x: UnsafePointer(xBuf), chanStride: xPlane, partial: partial)
            }
        }
        // Reduce in worker order, then scatter space-to-depth taps back to [out, in, k, k].
        for worker in 1..<workers {
            let src = partials + worker * partialCount
            for i in 0..<partialCount { partials[i] += src[i] }
        }
        for co in 0..<outC {
            for c in 0..<inC {
                let ci = c / (s * s), py = (c / s) % s, px = c % s
                for t in 0..<T {
                    let ky = py + s * (t / ks), kx = px + s * (t % ks)
                    if ky < k && kx < k { weightGradient[((co * g.inChannels + ci) * k + ky) * k + kx] += partials[(co * inC + c) * T + t] }
                }
            }
        }
        if let db = biasGradient { for co in 0..<outC { db[co] += partials[outC * Q + co] } }
    }
}

extension ConvKernels {
    /// Plain loop implementations (Double accumulation), kept as the ground truth for tests.
    public enum Reference {
        public static func forward(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                   bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
            let (ci_, co_, ih, iw, k, s, oh, ow) = (g.inChannels, g.outChannels, g.inHeight, g.inWidth, g.kernel, g.stride, g.outHeight, g.outWidth)
            for n in 0..<batch {
                let x = input + n * g.inputCount, y = output + n * g.outputCount
                for co in 0..<co_ {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var acc = Double(bias?[co] ?? 0)
                            for ci in 0..<ci_ {
                                for ky in 0..<k {
                                    for kx in 0..<k {
                                        acc += Double(weight[((co * ci_ + ci) * k + ky) * k + kx])
                                            * Double(x[(ci * ih + oy * s + ky) * iw + ox * s + kx])
                                    }
                                }
                            }
                            y[(co * oh + oy) * ow + ox] = Float(acc)
                        }
                    }
                }
            }
        }

        public static func backwardInput(_ g: ConvGeometry, batch: Int, outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                         inputGradient: UnsafeMutablePointer<Float>) {
            let (ci_, co_, ih, iw, k, s, oh, ow) = (g.inChannels, g.outChannels, g.inHeight, g.inWidth, g.kernel, g.stride, g.outHeight, g.outWidth)
            var acc = [Double](repeating: 0, count: g.inputCount)
            for n in 0..<batch {
                let dy = outputGradient + n * g.outputCount, dx = inputGradient + n * g.inputCount
                for i in acc.indices { acc[i] = 0 }
                for co in 0..<co_ {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            let d = Double(dy[(co * oh + oy) * ow + ox])
                            for ci in 0..<ci_ {
                                for ky in 0..<k {
                                    for kx in 0..<k {
                                        acc[(ci * ih + oy * s + ky) * iw + ox * s + kx] += d * Double(weight[((co * ci_ + ci) * k + ky) * k + kx])
                                    }
                                }
                            }
                        }
                    }
                }
                for i in acc.indices { dx[i] = Float(acc[i]) }
            }
        }

        public static func backwardWeight(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                          weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?) {
            let (ci_, co_, ih, iw, k, s, oh, ow) = (g.inChannels, g.outChannels, g.inHeight, g.inWidth, g.kernel, g.stride, g.outHeight, g.outWidth)
            for co in 0..<co_ {
                if let db = biasGradient {
                    var acc = 0.0
                    for n in 0..<batch {
                        let dy = outputGradient + n * g.outputCount + co * oh * ow
                        for p in 0..<(oh * ow) { acc += Double(dy[p]) }
                    }
                    db[co] += Float(acc)
                }
                for ci in 0..<ci_ {
                    for ky in 0..<k {
                        for kx in 0..<k {
                            var acc = 0.0
                            for n in 0..<batch {
                                let dy = outputGradient + n * g.outputCount + co * oh * ow
                                let x = input + n * g.inputCount + ci * ih * iw
                                for oy in 0..<oh {
                                    for ox in 0..<ow {
                                        acc += Double(dy[oy * ow + ox]) * Double(x[(oy * s + ky) * iw + ox * s + kx])
                                    }
                                }
                            }
                            weightGradient[((co * ci_ + ci) * k + ky) * k + kx] += Float(acc)
                        }
                    }
                }
            }
        }
    }
}

extension ConvKernels {
    /// The weights of `g` packed for its space-to-depth form (stride 1, `inChannels·s²` channels
    /// of `⌈k/s⌉²` taps, zero where the original kernel has no tap); the plain packing when s = 1.
    static func spaceToDepthWeights(_ g: ConvGeometry, _ weight: UnsafePointer<Float>) -> PackedWeights {
        let ks = (g.kernel + g.stride - 1) / g.stride, perOutput = g.inChannels * g.kernel * g.kernel
        return PackedWeights(outC: g.outChannels, inC: g.inChannels * g.stride * g.stride, taps: ks * ks) { co, c, t in
            spaceToDepthTap(g, channel: c, ty: t / ks, tx: t % ks).map { weight[co * perOutput + $0] } ?? 0
        }
    }

    /// Where tap (`ty`, `tx`) of space-to-depth channel `c` comes from in one output channel's
    /// original weights (`(ci·k + ky)·k + kx`), or nil where the original kernel has no tap:
    /// c = (ci·s + py)·s + px, (ky, kx) = (py + s·ty, px + s·tx).
    static func spaceToDepthTap(_ g: ConvGeometry, channel c: Int, ty: Int, tx: Int) -> Int? {
        let s = g.stride, k = g.kernel
        let ci = c / (s * s), ky = (c / s) % s + s * ty, kx = c % s + s * tx
        return ky < k && kx < k ? (ci * k + ky) * k + kx : nil
    }

    /// Row length of a band in the wide engine: the input width at stride 1, else the
    /// space-to-depth copy's (output width + ⌈k/s⌉ − 1).
    static func wideRowStride(_ g: ConvGeometry) -> Int {
        g.stride == 1 ? g.inWidth : g.outWidth + (g.kernel + g.stride - 1) / g.stride - 1
    }

    /// Space-to-depth copy of `rows` rows (from space-to-depth row `firstRow`) of a stride-`s` input:
    /// channel `c` of the copy is input channel `c / s²` sampled at phase (`(c / s) % s`, `c % s`),
    /// `rowStride` samples a row, zero where the input ends. Planes are `plane` samples apart
    /// (default `rows × rowStride`). A strided convolution is then a stride-1 one over the copy.
    @inline(__always)
    static func spaceToDepthRows(_ g: ConvGeometry, input x: UnsafePointer<Float>, firstRow r0: Int, rows: Int,
                                 rowStride: Int, into out: UnsafeMutablePointer<Float>, plane: Int? = nil) {
        let s = g.stride, channels = g.inChannels * s * s, step = plane ?? rows * rowStride
        for c in 0..<channels {
            let ci = c / (s * s), py = (c / s) % s, px = c % s
            let src = x + ci * g.inHeight * g.inWidth, dst = out + c * step
            for r in 0..<rows {
                let iy = (r0 + r) * s + py
                for col in 0..<rowStride {
                    let ix = col * s + px
                    dst[r * rowStride + col] = iy < g.inHeight && ix < g.inWidth ? src[iy * g.inWidth + ix] : 0
                }
            }
        }
    }
}
