// Strided backwardInput (= the forward pass of a transposed convolution) in "sub-pixel" form on
// the wide engine, all stride phases of a band at once.
//
// For stride s, input-gradient pixel (ci, py + s·a, px + s·b) — phase (py, px), low-resolution
// position (a, b) — is
//     dx = Σ_co Σ_(jy<kh, jx<kw) w[co, ci, py + s·jy, px + s·jx] · dy[co, a − jy, b − jx]
// with kh = ⌈(k − py)/s⌉, kw = ⌈(k − px)/s⌉ taps (dy is zero outside the image). On dy padded by
// P = ⌈k/s⌉ − 1 zero rows/columns on the top/left, tap (jy, jx) is the fixed wide offset
// (P − jy)·rowStride + (P − jx): every phase is a stride-1 correlation over the same padded dy
// band, so the (ci, phase) pairs are the "output channels" of one `wideForward` per group of four
// phases with the same tap box (a group's box is the union of its phases' taps; the missing taps
// have zero weights). Each band of dy is copied (padded) once for all s² phases, the phases are
// computed into a phase-major tile and then interleaved into dx.

extension ConvKernels {
    /// Whether `backwardInput` takes the sub-pixel wide path: strided, every phase has taps, and
    /// the image is large. Up to `⌈inH/s⌉·⌈inW/s⌉` = 3000 (stride 2) or 1000 (stride ≥ 3)
    /// low-resolution positions the sgemm sub-pixel path is faster when it applies (measured, one
    /// thread, 56 channels: at 52x52 positions sgemm 0.35 ms vs 0.46 ms for stride 2, at 68x68
    /// 1.25 ms vs 0.67 ms; stride 3/4 from 32x32 on this path is ~1.7x faster).
    static func subPixelWide(_ g: ConvGeometry) -> Bool {
        let s = g.stride
        guard s > 1 && g.kernel >= s else { return false }
        let area = ((g.inHeight + s - 1) / s) * ((g.inWidth + s - 1) / s)
        return area > (s == 2 ? 3000 : 1000) || !gemmBackwardInput(g)
    }

    /// One group of up to four (ci, phase) rows sharing a tap box `ty0..<ty0+th × tx0..<tx0+tw`
    /// (rows/columns of the padded band, relative to the output position).
    struct SubPixelGroup {
        var rows: [(ci: Int, py: Int, px: Int)]
        var ty0, th, tx0, tw: Int
        var packed: PackedWeights
        var taps: UnsafeMutablePointer<Int>
    }

    /// See the file comment. Overwrites `inputGradient`.
    static func subPixelBackwardInput(_ g: ConvGeometry, batch: Int, outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                      inputGradient: UnsafeMutablePointer<Float>, threads: Int) {
        let s = g.stride, k = g.kernel, oh = g.outHeight, ow = g.outWidth, ih = g.inHeight, iw = g.inWidth
        let inC = g.inChannels, outC = g.outChannels
        let ks = (k + s - 1) / s, P = ks - 1
        let A = (ih + s - 1) / s, B = (iw + s - 1) / s          // low-resolution grid of phase (0, 0)
        let rs = B + P                                          // padded row stride (>= ow + P)
        // Rows of the m = inC·s² "output channels", sorted by tap box (largest first) so that
        // groups of four share nearly the same box.
        var rows: [(ci: Int, py: Int, px: Int, kh: Int, kw: Int)] = []
        for ci in 0..<inC {
            for py in 0..<s {
                for px in 0..<s { rows.append((ci, py, px, (k - py + s - 1) / s, (k - px + s - 1) / s)) }
            }
        }
        rows.sort { ($0.kh, $0.kw) > ($1.kh, $1.kw) }
        var groups: [SubPixelGroup] = []
        var i0 = 0
        while i0 < rows.count {
            let members = Array(rows[i0..<min(i0 + 4, rows.count)])
            let kh = members.map(\.kh).max()!, kw = members.map(\.kw).max()!
            // Tap (jy, jx) sits at padded row P − jy, column P − jx: box rows P−kh+1 ... P.
            let ty0 = P - kh + 1, tx0 = P - kw + 1
            let packed = PackedWeights(outC: members.count, inC: outC, taps: kh * kw) { r, co, t in
                let m = members[r], jy = kh - 1 - t / kw, jx = kw - 1 - t % kw
                let ky = m.py + s * jy, kx = m.px + s * jx
                return ky < k && kx < k ? weight[((co * inC + m.ci) * k + ky) * k + kx] : 0
            }
            let taps = UnsafeMutablePointer<Int>.allocate(capacity: kh * kw)
            for ty in 0..<kh { for tx in 0..<kw { taps[ty * kw + tx] = ty * rs + tx } }
            groups.append(SubPixelGroup(rows: members.map { ($0.ci, $0.py, $0.px) }, ty0: ty0, th: kh, tx0: tx0, tw: kw,
                                        packed: packed, taps: taps))
            i0 += 4
        }
        defer { for gr in groups { gr.packed.deallocate(); gr.taps.deallocate() } }
        // Bands of low-resolution rows: the padded dy band (outC planes) near 512 KB (L2).
        let bandRows = bandHeight(rows: A, rowStride: rs, batch: batch, threads: threads, positions: max(1024, 131_072 / outC))
        let bands = (A + bandRows - 1) / bandRows
        let m = rows.count
        let planeMax = (bandRows + P) * rs, tileCount = m * bandRows * B
        let perWorker = outC * planeMax + tileCount + wideSlack
        let workers = min(batch * bands, max(1, threads))
        let scratchAll = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        scratchAll.initialize(repeating: 0, count: workers * perWorker)
        defer { scratchAll.deallocate() }
        let dyp = SendableConstPointer(outputGradient), dxp = SendablePointer(inputGradient), sp = SendablePointer(scratchAll)
        let groupsBox = UncheckedBox(groups)
        // Tile row of (ci, py, px), at (ci·s + py)·s + px.
        let tileIndex = UnsafeMutablePointer<Int>.allocate(capacity: m)
        defer { tileIndex.deallocate() }
        do {
            var idx = 0
            for gr in groups { for r in gr.rows { tileIndex[(r.ci * s + r.py) * s + r.px] = idx; idx += 1 } }
        }
        let tileIndexPtr = SendableConstPointer(UnsafePointer(tileIndex))
        Parallel.forEachWithWorker(batch * bands, threads: workers) { worker, task in
            let n = task / bands, a0 = (task % bands) * bandRows, rowsHere = min(bandRows, A - a0)
            let padRows = rowsHere + P, plane = padRows * rs
            let band = sp.pointer + worker * perWorker, tile = band + outC * planeMax
            // Padded band: row r ↔ dy row a0 + r − P, column q ↔ dy column q − P.
            let dy = dyp.pointer + n * g.outputCount
            for co in 0..<outC {
                let dst = band + co * plane, src = dy + co * oh * ow
                for r in 0..<padRows {
                    let y = a0 + r - P, row = dst + r * rs
                    if y < 0 || y >= oh {
                        row.update(repeating: 0, count: rs)
                        continue
                    }
                    row.update(repeating: 0, count: P)
                    (row + P).update(from: src + y * ow, count: ow)
                    (row + P + ow).update(repeating: 0, count: rs - P - ow)
                }
            }
            // Tile: row index (group·4 + member) of `rowsHere × B` outputs.
            var base = 0
            for gr in groupsBox.value {
                let wb = WideBand(x: UnsafePointer(band + gr.ty0 * rs + gr.tx0), chanStride: plane, rowStride: rs,
                                  rows: rowsHere, cols: B, out: tile + base * rowsHere * B,
                                  outChanStride: rowsHere * B, outRowStride: B, outColStride: 1)
                wideForward(wb, weights: gr.packed, taps: gr.taps, tapRows: gr.th, tapCols: gr.tw, bias: nil)
                base += gr.rows.count
            }
            // Interleave the phases into dx, one output row at a time (sequential writes).
            let dx = dxp.pointer + n * g.inputCount
            for ci in 0..<inC {
                for py in 0..<s {
                    let t = tileIndexPtr.pointer + (ci * s + py) * s
                    for a in 0..<rowsHere {
                        let y = py + s * (a0 + a)
                        if y >= ih { break }
                        let dst = dx + (ci * ih + y) * iw, src = tile + a * B
                        var b = 0
                        if s == 2 {
                            let t0 = src + t[0] * rowsHere * B, t1 = src + t[1] * rowsHere * B
                            while 2 * b + 16 <= iw {
                                let u = load8(t0 + b), v = load8(t1 + b)
                                store8(SIMD8(u[0], v[0], u[1], v[1], u[2], v[2], u[3], v[3]), dst + 2 * b)
                                store8(SIMD8(u[4], v[4], u[5], v[5], u[6], v[6], u[7], v[7]), dst + 2 * b + 8)
                                b += 8
                            }
                        }
                        while b < B {
                            for px in 0..<s where s * b + px < iw { dst[s * b + px] = src[t[px] * rowsHere * B + b] }
                            b += 1
                        }
                    }
                }
            }
        }
    }
}
