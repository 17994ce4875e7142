// Stride-1 "wide" direct convolution engine shared by the public kernels.
//
// Output position (r, c) of a band is computed at the wide index p = r·rowStride + c, so that
// tap (ty, tx) reads the contiguous, shifted run x[ci, p + ty·rowStride + tx]. Columns
// c >= cols are computed (cheaply, they are few) and discarded. Accumulators are SIMD8 over
// 8 consecutive wide positions, register-blocked as 4 output channels × 24 positions.

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Weights packed for the wide engine: for each block of 4 output channels, `[ci][tap][4]`;
/// then each remaining output channel alone, `[ci][tap]`.
struct PackedWeights {
    let storage: UnsafeMutablePointer<Float>
    let outC, inC, taps: Int
    var blocks: Int { outC / 4 }

    /// `value(co, ci, t)` gives the logical weight.
    init(outC: Int, inC: Int, taps: Int, _ value: (Int, Int, Int) -> Float) {
        self.outC = outC; self.inC = inC; self.taps = taps
        storage = .allocate(capacity: max(1, outC * inC * taps))
        var i = 0
        for b in 0..<(outC / 4) {
            for ci in 0..<inC { for t in 0..<taps { for j in 0..<4 { storage[i] = value(b * 4 + j, ci, t); i += 1 } } }
        }
        for co in (outC / 4 * 4)..<outC {
            for ci in 0..<inC { for t in 0..<taps { storage[i] = value(co, ci, t); i += 1 } }
        }
    }
    func deallocate() { storage.deallocate() }
    /// Start of the packed block of output channels `4b..<4b+4`.
    func block(_ b: Int) -> UnsafePointer<Float> { UnsafePointer(storage + b * 4 * inC * taps) }
    /// Start of the packed single channel `co` (co >= 4·blocks).
    func single(_ co: Int) -> UnsafePointer<Float> { UnsafePointer(storage + co * inC * taps) }
}

/// Floats of readable slack a band needs past the end of its last input plane.
let wideSlack = 32

/// One band of a stride-1 wide convolution.
struct WideBand {
    var x: UnsafePointer<Float>          // input band, channel ci at x + ci·chanStride
    var chanStride: Int
    var rowStride: Int                   // wide row length (input row stride)
    var rows: Int, cols: Int             // valid outputs per band: rows × cols (cols + tapWidth - 1 <= rowStride)
    var out: UnsafeMutablePointer<Float> // output (co, r, c) at out + co·outChanStride + r·outRowStride + c·outColStride
    var outChanStride: Int, outRowStride: Int, outColStride: Int
}

/// Computes `out = bias + Σ_ci Σ_t w[co,ci,t] · x[ci, p + taps[t]]` for one band (overwrites).
/// Reads stay inside rows `0..<rows + tapRows - 1` of the band as long as the maximum tap offset
/// is `(tapRows-1)·rowStride + tapCols-1` with `cols + tapCols - 1 <= rowStride`.
/// Taps must be the grid `taps[ty·tapCols + tx] = ty·rowStride + tx`.
func wideForward(_ band: WideBand, weights w: PackedWeights, taps: UnsafePointer<Int>, tapRows: Int, tapCols: Int, bias: UnsafePointer<Float>?) {
    let inC = w.inC, T = w.taps, cs = band.chanStride
    let L = (band.rows - 1) * band.rowStride + band.cols
    var p = 0
    // Main: 24-position blocks × all output channels.
    while p + 24 <= L {
        // Where the three vectors go (one division each per block, not per output channel).
        let s0 = wideSlot(band, p), s1 = wideSlot(band, p + 8), s2 = wideSlot(band, p + 16)
        for b in 0..<w.blocks {
            let co = b * 4
            var sums = Block4x24(bias: bias, co: co)
            sums.addTaps(band.x + p, channels: inC, channelStride: cs, taps: taps, tapCount: T, weights: w.block(b))
            sums.storeWide(band, co: co, p: p, s0, s1, s2)
        }
        p += 24
    }
    // 8-position blocks.
    while p + 8 <= L {
        let s0 = wideSlot(band, p)
        for b in 0..<w.blocks {
            let co = b * 4
            var a0 = SIMD8<Float>(repeating: bias?[co] ?? 0), a1 = SIMD8<Float>(repeating: bias?[co + 1] ?? 0)
            var a2 = SIMD8<Float>(repeating: bias?[co + 2] ?? 0), a3 = SIMD8<Float>(repeating: bias?[co + 3] ?? 0)
            var wp = w.block(b)
            var xc = band.x + p
            for _ in 0..<inC {
                for t in 0..<T {
                    let x0 = load8(xc + taps[t])
                    a0 = a0.addingProduct(x0, SIMD8<Float>(repeating: wp[0]))
                    a1 = a1.addingProduct(x0, SIMD8<Float>(repeating: wp[1]))
                    a2 = a2.addingProduct(x0, SIMD8<Float>(repeating: wp[2]))
                    a3 = a3.addingProduct(x0, SIMD8<Float>(repeating: wp[3]))
                    wp += 4
                }
                xc += cs
            }
            storeWide(a0, band, co, p, s0); storeWide(a1, band, co + 1, p, s0)
            storeWide(a2, band, co + 2, p, s0); storeWide(a3, band, co + 3, p, s0)
        }
        p += 8
    }
    let vectorEnd = p
    // Scalar tail for the blocked channels.
    for q in vectorEnd..<L {
        for b in 0..<w.blocks {
            for j in 0..<4 {
                var acc = bias?[b * 4 + j] ?? 0
                var wp = w.block(b) + j
                var xc = band.x + q
                for _ in 0..<inC {
                    for t in 0..<T { acc += wp[0] * xc[taps[t]]; wp += 4 }
                    xc += cs
                }
                storeScalar(acc, band, b * 4 + j, q)
            }
        }
    }
    for co in (w.blocks * 4)..<w.outC {
        singleChannelRows4(band, co: co, weights: w, taps: taps, tapRows: tapRows, tapCols: tapCols, bias: bias?[co] ?? 0)
    }
}

/// One output channel, blocked as 4 rows × 24 columns so that each loaded input vector feeds up
/// to 4 accumulators (one per output row it contributes to). Input channels are taken a few at a
/// time across the whole row group (partial sums kept in a small tile) so that the rows being
/// read stay in L1. Remainders go to `singleChannel`.
func singleChannelRows4(_ band: WideBand, co: Int, weights w: PackedWeights, taps: UnsafePointer<Int>,
                        tapRows kh: Int, tapCols kw: Int, bias: Float) {
    let rs = band.rowStride, cs = band.chanStride, inC = w.inC, T = w.taps
    // Whole 24-column blocks, the last one running past `cols` into junk columns (the band must be
    // readable `wideSlack` floats past its last plane).
    let fullCols = (band.cols + 23) / 24 * 24
    let chunk = 4
    let tile = UnsafeMutablePointer<Float>.allocate(capacity: max(1, 4 * fullCols))
    defer { tile.deallocate() }
    var r = 0
    while r + 4 <= band.rows && fullCols > 0 {
        var ci0 = 0
        while ci0 < inC {
            let chs = min(chunk, inC - ci0)
            var c = 0
            while c < fullCols {
                let t0 = tile + c, t1 = t0 + fullCols, t2 = t1 + fullCols, t3 = t2 + fullCols
                var a00, a01, a02, a10, a11, a12, a20, a21, a22, a30, a31, a32: SIMD8<Float>
                if ci0 == 0 {
                    let bv = SIMD8<Float>(repeating: bias)
                    a00 = bv; a01 = bv; a02 = bv; a10 = bv; a11 = bv; a12 = bv
                    a20 = bv; a21 = bv; a22 = bv; a30 = bv; a31 = bv; a32 = bv
                } else {
                    a00 = load8(t0); a01 = load8(t0 + 8); a02 = load8(t0 + 16)
                    a10 = load8(t1); a11 = load8(t1 + 8); a12 = load8(t1 + 16)
                    a20 = load8(t2); a21 = load8(t2 + 8); a22 = load8(t2 + 16)
                    a30 = load8(t3); a31 = load8(t3 + 8); a32 = load8(t3 + 16)
                }
                var xc = band.x + ci0 * cs + r * rs + c
                var wc = w.single(co) + ci0 * T
                for _ in 0..<chs {
                    for i in 0..<(kh + 3) {
                        let xr = xc + i * rs
                        let u0 = i < kh, u1 = i >= 1 && i - 1 < kh, u2 = i >= 2 && i - 2 < kh, u3 = i >= 3 && i - 3 < kh
                        for tx in 0..<kw {
                            let v0 = load8(xr + tx), v1 = load8(xr + tx + 8), v2 = load8(xr + tx + 16)
                            if u0 {
                                let wv = SIMD8<Float>(repeating: wc[i &* kw &+ tx])
                                a00 = a00.addingProduct(v0, wv); a01 = a01.addingProduct(v1, wv); a02 = a02.addingProduct(v2, wv)
                            }
                            if u1 {
                                let wv = SIMD8<Float>(repeating: wc[(i &- 1) &* kw &+ tx])
                                a10 = a10.addingProduct(v0, wv); a11 = a11.addingProduct(v1, wv); a12 = a12.addingProduct(v2, wv)
                            }
                            if u2 {
                                let wv = SIMD8<Float>(repeating: wc[(i &- 2) &* kw &+ tx])
                                a20 = a20.addingProduct(v0, wv); a21 = a21.addingProduct(v1, wv); a22 = a22.addingProduct(v2, wv)
                            }
                            if u3 {
                                let wv = SIMD8<Float>(repeating: wc[(i &- 3) &* kw &+ tx])
                                a30 = a30.addingProduct(v0, wv); a31 = a31.addingProduct(v1, wv); a32 = a32.addingProduct(v2, wv)
                            }
                        }
                    }
                    xc += cs
                    wc += T
                }
                store8(a00, t0); store8(a01, t0 + 8); store8(a02, t0 + 16)
                store8(a10, t1); store8(a11, t1 + 8); store8(a12, t1 + 16)
                store8(a20, t2); store8(a21, t2 + 8); store8(a22, t2 + 16)
                store8(a30, t3); store8(a31, t3 + 8); store8(a32, t3 + 16)
                c += 24
            }
            ci0 += chs
        }
        for j in 0..<4 {
            let dst = band.out + co * band.outChanStride + (r + j) * band.outRowStride, src = tile + j * fullCols
            if band.outColStride == 1 {
                dst.update(from: src, count: band.cols)
            } else {
                for c in 0..<band.cols { dst[c * band.outColStride] = src[c] }
            }
        }
        r += 4
    }
    if r < band.rows {
        var sub = band
        sub.x = band.x + r * rs; sub.rows = band.rows - r
        sub.out = band.out + r * band.outRowStride
        singleChannel(sub, co: co, weights: w, taps: taps, bias: bias)
    }
}

/// One output channel over the whole wide range of a band: 32-position blocks, then 8, then scalar.
func singleChannel(_ band: WideBand, co: Int, weights w: PackedWeights, taps: UnsafePointer<Int>, bias: Float) {
    let inC = w.inC, T = w.taps, cs = band.chanStride
    let L = (band.rows - 1) * band.rowStride + band.cols
    do {
        let bv = SIMD8<Float>(repeating: bias)
        var p = 0
        while p + 32 <= L {
            var a0 = bv, a1 = bv, a2 = bv, a3 = bv
            var wp = w.single(co)
            var xc = band.x + p
            for _ in 0..<inC {
                for t in 0..<T {
                    let xp = xc + taps[t]
                    let wv = SIMD8<Float>(repeating: wp[t])
                    a0 = a0.addingProduct(load8(xp), wv); a1 = a1.addingProduct(load8(xp + 8), wv)
                    a2 = a2.addingProduct(load8(xp + 16), wv); a3 = a3.addingProduct(load8(xp + 24), wv)
                }
                wp += T
                xc += cs
            }
            storeWide(a0, band, co, p); storeWide(a1, band, co, p + 8)
            storeWide(a2, band, co, p + 16); storeWide(a3, band, co, p + 24)
            p += 32
        }
        while p + 8 <= L {
            var a0 = bv
            var wp = w.single(co)
            var xc = band.x + p
            for _ in 0..<inC {
                for t in 0..<T { a0 = a0.addingProduct(load8(xc + taps[t]), SIMD8<Float>(repeating: wp[t])) }
                wp += T
                xc += cs
            }
            storeWide(a0, band, co, p)
            p += 8
        }
        while p < L {
            var acc = bias
            var wp = w.single(co)
            var xc = band.x + p
            for _ in 0..<inC {
                for t in 0..<T { acc += wp[t] * xc[taps[t]] }
                wp += T
                xc += cs
            }
            storeScalar(acc, band, co, p)
            p += 1
        }
    }
}

@inline(__always) func storeWide(_ v: SIMD8<Float>, _ band: WideBand, _ co: Int, _ p: Int) {
    var r = p / band.rowStride, c = p - r * band.rowStride
    if c + 8 <= band.cols && band.outColStride == 1 {
        store8(v, band.out + co * band.outChanStride + r * band.outRowStride + c)
    } else {
        // Straddles a row end (or strided output): element by element, one division per vector.
        let base = band.out + co * band.outChanStride
        for j in 0..<8 {
            if c < band.cols && r < band.rows { base[r * band.outRowStride + c * band.outColStride] = v[j] }
            c += 1
            if c == band.rowStride { c = 0; r += 1 }
        }
    }
}

/// Output offset (within a channel) of wide position `p`, or −1 when the 8 positions from `p`
/// straddle a row end or the output is strided (then `storeWide` goes element by element).
@inline(__always) func wideSlot(_ band: WideBand, _ p: Int) -> Int {
    let r = p / band.rowStride, c = p - r * band.rowStride
    return c + 8 <= band.cols && band.outColStride == 1 ? r * band.outRowStride + c : -1
}

/// `storeWide` with the slot computed by `wideSlot(band, p)`.
@inline(__always) func storeWide(_ v: SIMD8<Float>, _ band: WideBand, _ co: Int, _ p: Int, _ slot: Int) {
    if slot >= 0 {
        store8(v, band.out + co * band.outChanStride + slot)
    } else {
        storeWide(v, band, co, p)
    }
}

@inline(__always) func storeScalar(_ v: Float, _ band: WideBand, _ co: Int, _ p: Int) {
    let r = p / band.rowStride, c = p - r * band.rowStride
    if c < band.cols && r < band.rows {
        band.out[co * band.outChanStride + r * band.outRowStride + c * band.outColStride] = v
    }
}
