// Register-blocked kernels of the 1x1 fusions (PointwiseFusion.swift). Both keep the wide
// intermediate map out of memory: activations are applied in registers before the store.
//
// - `pointwiseRun`: a 1x1 convolution + activation over a run of contiguous positions
//   (one row), 4 output channels × 24 positions per block.
// - `convThenPointwiseBlocks`: per block of 24 wide positions, the k×k convolution computes all
//   D channels into a D×24 scratch (L1, ~5 KB for D = 56), activation in registers; then the
//   1x1 reads the scratch and writes the S output channels (activation in registers).
//
// Sums are taken in the same order as `wideForward` (bias, then input channel by input channel,
// tap by tap), so results equal the unfused path's direct kernels.

/// `v > 0 ? v : slope · v`, lane by lane (as `ConvKernels.applySlope`).
@inline(__always) func slope8(_ v: SIMD8<Float>, _ slope: Float) -> SIMD8<Float> {
    v.replacing(with: v * SIMD8<Float>(repeating: slope), where: .!(v .> SIMD8<Float>()))
}

/// `out[co·outStride + p] = act_co(bias[co] + Σ_ci w[co, ci] · x[ci·xStride + p])` for
/// `p` in `0..<count`; `weights` is a 1x1 (`taps == 1`) `PackedWeights`, `slopes` nil for no
/// activation. Reads and writes exactly `count` positions per channel.
@inline(never)
func pointwiseRun(x: UnsafePointer<Float>, xStride: Int, count: Int, weights w: PackedWeights,
                  bias: UnsafePointer<Float>?, slopes: UnsafePointer<Float>?,
                  out: UnsafeMutablePointer<Float>, outStride: Int) {
    let inC = w.inC
    for b in 0..<w.blocks {
        let co = b * 4
        let wb = w.block(b)
        let bs0 = bias?[co] ?? 0, bs1 = bias?[co + 1] ?? 0, bs2 = bias?[co + 2] ?? 0, bs3 = bias?[co + 3] ?? 0
        let o0 = out + co * outStride, o1 = o0 + outStride, o2 = o1 + outStride, o3 = o2 + outStride
        var p = 0, next = 0
        // 24-position blocks; the last one moved back to end at `count` (recomputing a few
        // positions with the same sums) rather than a tail.
        while count >= 24 && next < count {
            p = min(next, count - 24)
            next = p + 24
            var sums = Block4x24(bias: bias, co: co)
            var xc = x + p, wp = wb
            for _ in 0..<inC {
                sums.add(xc, weights: wp)
                xc += xStride; wp += 4
            }
            sums.activate(slopes, co: co)
            sums.store(o0 + p, channelStride: outStride)
        }
        p = next
        while p < count && count >= 8 {
            p = min(p, count - 8)
            var a0 = SIMD8<Float>(repeating: bs0), a1 = SIMD8<Float>(repeating: bs1)
            var a2 = SIMD8<Float>(repeating: bs2), a3 = SIMD8<Float>(repeating: bs3)
            var xc = x + p, wp = wb
            for _ in 0..<inC {
                let x0 = load8(xc)
                a0 = a0.addingProduct(x0, SIMD8<Float>(repeating: wp[0]))
                a1 = a1.addingProduct(x0, SIMD8<Float>(repeating: wp[1]))
                a2 = a2.addingProduct(x0, SIMD8<Float>(repeating: wp[2]))
                a3 = a3.addingProduct(x0, SIMD8<Float>(repeating: wp[3]))
                xc += xStride; wp += 4
            }
            if let s = slopes {
                a0 = slope8(a0, s[co]); a1 = slope8(a1, s[co + 1]); a2 = slope8(a2, s[co + 2]); a3 = slope8(a3, s[co + 3])
            }
            store8(a0, o0 + p); store8(a1, o1 + p); store8(a2, o2 + p); store8(a3, o3 + p)
            p += 8
        }
        // Fewer than 8 positions in all.
        while p < count {
            for j in 0..<4 {
                var acc = bias?[co + j] ?? 0
                var xc = x + p, wp = wb + j
                for _ in 0..<inC { acc += wp[0] * xc[0]; xc += xStride; wp += 4 }
                if let s = slopes, !(acc > 0) { acc *= s[co + j] }
                out[(co + j) * outStride + p] = acc
            }
            p += 1
        }
    }
    for co in (w.blocks * 4)..<w.outC {
        let wc = w.single(co)
        let bs = bias?[co] ?? 0
        let o = out + co * outStride
        var p = 0
        while p < count && count >= 8 {
            p = min(p, count - 8)
            var a = SIMD8<Float>(repeating: bs)
            var xc = x + p
            for ci in 0..<inC { a = a.addingProduct(load8(xc), SIMD8<Float>(repeating: wc[ci])); xc += xStride }
            if let s = slopes { a = slope8(a, s[co]) }
            store8(a, o + p)
            p += 8
        }
        while p < count {
            var acc = bs
            for ci in 0..<inC { acc += wc[ci] * x[ci * xStride + p] }
            if let s = slopes, !(acc > 0) { acc *= s[co] }
            o[p] = acc
            p += 1
        }
    }
}

/// The fused k×k convolution + activation + 1x1 + activation of one band, block by block.
///
/// `band` describes the first convolution's input (channel ci at `band.x + ci·chanStride`, wide
/// row stride `rowStride`) and the final output (`band.out`, S channels, `outColStride == 1`);
/// `first` is `[D, inC, T]` with tap offsets `taps`, `second` the 1x1 `[S, D]`. `mid` is
/// D × 24 floats of scratch. Needs L = (rows − 1)·rowStride + cols >= 24: the last block is
/// moved back to end at L (recomputing a few positions), so nothing past the band is read.
@inline(never)
func convThenPointwiseBlocks(_ band: WideBand, first: PackedWeights, taps: UnsafePointer<Int>, bias1: UnsafePointer<Float>?,
                             slopes1: UnsafePointer<Float>?, second: PackedWeights, bias2: UnsafePointer<Float>?,
                             slopes2: UnsafePointer<Float>?, mid: UnsafeMutablePointer<Float>) {
    let inC = first.inC, T = first.taps, cs = band.chanStride, D = first.outC
    let L = (band.rows - 1) * band.rowStride + band.cols
    precondition(L >= 24 && second.inC == D && second.taps == 1 && band.outColStride == 1,
                 "convThenPointwiseBlocks: \(L) positions, 1x1 \(second.inC) for \(D) channels")
    var next = 0
    while next < L {
        let p = min(next, L - 24)
        next = p + 24
        // Stage 1: all D channels of the 24 positions into mid[co·24 ..< co·24 + 24].
        for b in 0..<first.blocks {
            let co = b * 4
            var sums = Block4x24(bias: bias1, co: co)
            sums.addTaps(band.x + p, channels: inC, channelStride: cs, taps: taps, tapCount: T, weights: first.block(b))
            sums.activate(slopes1, co: co)
            sums.store(mid + co * 24, channelStride: 24)
        }
        for co in (first.blocks * 4)..<D {
            var a0 = SIMD8<Float>(repeating: bias1?[co] ?? 0), a1 = a0, a2 = a0
            var wp = first.single(co)
            var xc = band.x + p
            for _ in 0..<inC {
                for t in 0..<T {
                    let xp = xc + taps[t], wv = SIMD8<Float>(repeating: wp[0])
                    a0 = a0.addingProduct(load8(xp), wv); a1 = a1.addingProduct(load8(xp + 8), wv)
                    a2 = a2.addingProduct(load8(xp + 16), wv)
                    wp += 1
                }
                xc += cs
            }
            if let s = slopes1 { a0 = slope8(a0, s[co]); a1 = slope8(a1, s[co]); a2 = slope8(a2, s[co]) }
            let m = mid + co * 24
            store8(a0, m); store8(a1, m + 8); store8(a2, m + 16)
        }
        // Stage 2: the 1x1 from mid, stored where the three vectors of the block go.
        let q0 = wideSlot(band, p), q1 = wideSlot(band, p + 8), q2 = wideSlot(band, p + 16)
        for b in 0..<second.blocks {
            let co = b * 4
            var sums = Block4x24(bias: bias2, co: co)
            var wp = second.block(b)
            var m = UnsafePointer(mid)
            for _ in 0..<D {
                sums.add(m, weights: wp)
                m += 24; wp += 4
            }
            sums.activate(slopes2, co: co)
            sums.storeWide(band, co: co, p: p, q0, q1, q2)
        }
        for co in (second.blocks * 4)..<second.outC {
            var a0 = SIMD8<Float>(repeating: bias2?[co] ?? 0), a1 = a0, a2 = a0
            let wc = second.single(co)
            var m = UnsafePointer(mid)
            for ci in 0..<D {
                let wv = SIMD8<Float>(repeating: wc[ci])
                a0 = a0.addingProduct(load8(m), wv); a1 = a1.addingProduct(load8(m + 8), wv); a2 = a2.addingProduct(load8(m + 16), wv)
                m += 24
            }
            if let s = slopes2 { a0 = slope8(a0, s[co]); a1 = slope8(a1, s[co]); a2 = slope8(a2, s[co]) }
            storeWide(a0, band, co, p, q0); storeWide(a1, band, co, p + 8, q1); storeWide(a2, band, co, p + 16, q2)
        }
    }
}

/// `wideForward` for output channels in blocks of 4 (`weights.outC % 4 == 0`) with the
/// activation (`slopes`, nil for none) applied in registers before the store. Needs
/// L = (rows − 1)·rowStride + cols >= 24: the last 24-position block is moved back to end at L,
/// so the band is read only up to its last tap (no slack past it) and there is no scalar tail.
@inline(never)
func wideBlocks(_ band: WideBand, weights w: PackedWeights, taps: UnsafePointer<Int>, bias: UnsafePointer<Float>?,
                slopes: UnsafePointer<Float>?) {
    let inC = w.inC, T = w.taps, cs = band.chanStride
    let L = (band.rows - 1) * band.rowStride + band.cols
    precondition(L >= 24 && w.outC % 4 == 0, "wideBlocks: \(L) positions, \(w.outC) output channels")
    var next = 0
    while next < L {
        let p = min(next, L - 24)
        next = p + 24
        let q0 = wideSlot(band, p), q1 = wideSlot(band, p + 8), q2 = wideSlot(band, p + 16)
        for b in 0..<w.blocks {
            let co = b * 4
            var sums = Block4x24(bias: bias, co: co)
            sums.addTaps(band.x + p, channels: inC, channelStride: cs, taps: taps, tapCount: T, weights: w.block(b))
            sums.activate(slopes, co: co)
            sums.storeWide(band, co: co, p: p, q0, q1, q2)
        }
    }
}
