// Forward pass of a strided transposed convolution to a few output channels (FSRCNN's and
// Fast AR-CNN's last layer), computed straight into the cropped output.
//
// For stride s, output pixel (co, py + s·a, px + s·b) of the uncropped output — phase (py, px),
// low-resolution position (a, b) — is
//     y = bias[co] + Σ_ci Σ_(jy<kh(py), jx<kw(px)) w[ci, co, py + s·jy, px + s·jx] · x[ci, a − jy, b − jx]
// with kh(py) = ⌈(k − py)/s⌉, kw(px) = ⌈(k − px)/s⌉ taps and x zero outside the image. Phases are
// taken in "groups" sharing one tap grid: for s = 2 all four phases, otherwise up to four phases of
// one phase row. Every loaded run of 24 low-resolution samples x[ci, a − jy, b0 − jx ..< +24]
// feeds each phase of the group that has the tap (jy, jx) (exact taps: no zero weights are
// multiplied), so a load serves up to four phases × three accumulators. The block kernels follow
// the group's tap structure with loops (s = 2: a (k/2)² block of four-phase taps, then an edge
// column, row and corner; one phase row: at most two runs of taps with the same phases per tap
// row), so no branch in the inner loop depends on the tap. They walk the row in channel chunks
// of `transposedChunk` (weights and the rows under a block stay in L1) and are never inlined:
// inlined into the worker closure, the serial (1-thread) copy compiled about 4x slower.
//
// Each worker walks a contiguous range of low-resolution rows and keeps the last ⌈k/s⌉ input rows
// of every channel in a small ring (zero-padded on the left by ⌈k/s⌉ − 1 columns and outside the
// image): every input row is copied once per range, and the ring (≈ 300 KB for 56 channels of
// 260 samples) stays in L2. A row's phases go into a small tile that is then interleaved, with the
// bias, into the cropped output rows.

extension ConvKernels {
    /// Whether `transposedForward` handles a transposed convolution: strided, every phase has taps
    /// (kernel ≥ stride), and at most 4 output channels (each output channel is one pass over the
    /// input).
    public static func transposedDirectApplies(outChannels: Int, kernel: Int, stride: Int) -> Bool {
        stride >= 2 && kernel >= stride && outChannels <= 4
    }

    /// Phases sharing one tap grid (see the file comment). Slot `iy·X + ix` is phase
    /// (`py[iy]`, `px[ix]`); phases are sorted by tap extent, largest first, so the phases that
    /// have a tap (jy, jx) are `iy < ny(jy)`, `ix < nx(jx)`.
    struct TransposedGroup {
        var py: [Int], px: [Int]
        /// Taps that at least one phase has, as (jy, jx), and the phases having each, as a code:
        /// 1…4 = slots `0..<code`, 5 = slots {0, 2}.
        var taps: [(jy: Int, jx: Int, code: Int)]
        /// Packed weights `[co][ci][tap][active slot]`, `perChannel` floats per (co, ci).
        var weights: UnsafeMutablePointer<Float>
        var perChannel: Int
        /// Tap rows (`jy = 0..<tapRows`) and the branch-free loop structure of one channel's taps.
        /// Two phase rows (s = 2): rows `0..<fullRows` have `fullCols` four-phase taps then, if
        /// `extraCol`, one tap of slots {0, 2}; if `extraRow`, row `fullRows` has `fullCols`
        /// taps of slots {0, 1} then, if `extraCol`, one of slot 0. One phase row: every tap row
        /// is the same sequence of runs, `runs[i]` = (slots `0..<n`, `count` consecutive jx).
        var tapRows: Int
        var fullRows = 0, fullCols = 0, extraRow = false, extraCol = false
        var runs: [(n: Int, count: Int)] = []
    }

    /// Slots (indices into the group's accumulators) active for a code.
    static func transposedSlots(_ code: Int) -> [Int] {
        code == 5 ? [0, 2] : Array(0..<code)
    }

    /// Builds the phase groups for `kernel`/`stride` with weights `[inC, outC, k, k]` packed.
    static func transposedGroups(inChannels inC: Int, outChannels outC: Int, kernel k: Int, stride s: Int,
                                 weight: UnsafePointer<Float>) -> [TransposedGroup] {
        func extent(_ p: Int) -> Int { (k - p + s - 1) / s }
        var shapes: [(py: [Int], px: [Int])] = []
        if s == 2 {
            shapes = [([0, 1], [0, 1])]
        } else {
            for py in 0..<s {
                var px0 = 0
                while px0 < s { shapes.append(([py], Array(px0..<min(s, px0 + 4)))); px0 += 4 }
            }
        }
        return shapes.map { shape in
            let X = shape.px.count
            let th = extent(shape.py[0]), tw = extent(shape.px[0])
            var taps: [(jy: Int, jx: Int, code: Int)] = []
            for jy in 0..<th {
                for jx in 0..<tw {
                    let ny = shape.py.filter { extent($0) > jy }.count, nx = shape.px.filter { extent($0) > jx }.count
                    if ny == 0 || nx == 0 { continue }
                    taps.append((jy, jx, ny == 1 ? nx : (nx == X ? 2 * X : 5)))
                }
            }
            let perChannel = taps.reduce(0) { $0 + transposedSlots($1.code).count }
            let weights = UnsafeMutablePointer<Float>.allocate(capacity: max(1, outC * inC * perChannel))
            var i = 0
            for co in 0..<outC {
                for ci in 0..<inC {
                    for t in taps {
                        for slot in transposedSlots(t.code) {
                            let ky = shape.py[slot / X] + s * t.jy, kx = shape.px[slot % X] + s * t.jx
                            weights[i] = weight[((ci * outC + co) * k + ky) * k + kx]
                            i += 1
                        }
                    }
                }
            }
            var group = TransposedGroup(py: shape.py, px: shape.px, taps: taps, weights: weights, perChannel: perChannel, tapRows: th)
            if shape.py.count == 2 {
                // s = 2: extents of phase 0 are those of phase 1 or one more.
                group.fullRows = extent(shape.py[1]); group.extraRow = th > group.fullRows
                group.fullCols = extent(shape.px[1]); group.extraCol = tw > group.fullCols
            } else {
                var jx = 0
                while jx < tw {
                    let n = shape.px.filter { extent($0) > jx }.count
                    var count = 0
                    while jx < tw && shape.px.filter({ extent($0) > jx }).count == n { count += 1; jx += 1 }
                    group.runs.append((n, count))
                }
                // Phase extents ⌈(k − p)/s⌉ take at most two values, so a tap row has at most two runs.
                precondition(group.runs.count <= 2, "transposedGroups: \(group.runs.count) tap runs")
            }
            return group
        }
    }

    /// Transposed convolution (PyTorch `ConvTranspose2d` semantics) of `[batch, inC, H, W]` with
    /// weights `[inC, outC, k, k]` and `bias[outC]`, written cropped: `output` is
    /// `[batch, outC, outHeight, outWidth]` and holds rows/columns `padding ..< padding + outHeight`
    /// (`outWidth`) of the uncropped result (zero input past the image, so `outputPadding` rows are
    /// the bias). Overwrites `output`. Requires `transposedDirectApplies`.
    ///
    /// With `pointwise` (a 1x1 convolution + activation to `inC` channels), `input` is that
    /// convolution's input, `[batch, pointwise.inChannels, H, W]`: each input row the transposed
    /// convolution needs is computed from it straight into the ring (inference fusion; the
    /// `inC`-channel map never exists whole).
    ///
    /// Shapes that `transposedWinogradApplies` accepts take the Winograd path
    /// (TransposedWinograd.swift) unless `winograd` is false (tests compare the two).
    public static func transposedForward(batch: Int, inChannels inC: Int, outChannels outC: Int, inHeight H: Int, inWidth W: Int,
                                         kernel k: Int, stride s: Int, padding pad: Int, outHeight OH: Int, outWidth OW: Int,
                                         input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                         output: UnsafeMutablePointer<Float>, threads: Int, pointwise: PointwiseStage? = nil,
                                         winograd: Bool = true) {
        precondition(transposedDirectApplies(outChannels: outC, kernel: k, stride: s),
                     "transposedForward: stride \(s), kernel \(k), \(outC) output channels not supported")
        precondition(pointwise.map { $0.outChannels == inC } ?? true,
                     "transposedForward: 1x1 stage gives \(pointwise?.outChannels ?? 0) channels, layer takes \(inC)")
        precondition(batch >= 0 && inC >= 1 && H >= 1 && W >= 1 && pad >= 0 && OH >= 0 && OW >= 0,
                     "transposedForward: bad geometry batch \(batch), in \(inC) \(H)x\(W), padding \(pad), out \(OH)x\(OW)")
        if batch == 0 || OH == 0 || OW == 0 { return }
        if winograd && transposedWinogradApplies(inChannels: inC, outChannels: outC, kernel: k, stride: s) {
            transposedWinograd(batch: batch, inChannels: inC, outChannels: outC, inHeight: H, inWidth: W, kernel: k, stride: s,
                               padding: pad, outHeight: OH, outWidth: OW, input: input, weight: weight, bias: bias,
                               output: output, threads: threads, pointwise: pointwise)
            return
        }
        let ks = (k + s - 1) / s, P = ks - 1, R = ks          // ring of R = ks input rows
        // Low-resolution rows/columns that reach the kept window [pad, pad + OH).
        let aLo = pad / s, aHi = (pad + OH + s - 1) / s
        let bLo = pad / s, bHi = (pad + OW + s - 1) / s
        let bEnd = bLo + (bHi - bLo + 7) / 8 * 8
        let rs = bEnd + P                                     // ring row: column q ↔ input column q − P
        let groups = transposedGroups(inChannels: inC, outChannels: outC, kernel: k, stride: s, weight: weight)
        defer { for g in groups { g.weights.deallocate() } }
        let maxTaps = groups.map(\.tapRows).max() ?? 0
        let tileStride = bEnd - bLo
        let perWorker = inC * R * rs + 4 * tileStride
        let rows = aHi - aLo
        // Contiguous row ranges: a few per thread (dynamic hand-out), each re-reading P rows.
        let chunks = max(1, min(rows, threads <= 1 ? 1 : 2 * threads))
        let workers = min(batch * chunks, max(1, threads))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { scratch.deallocate() }
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: workers * max(1, maxTaps))
        defer { offsets.deallocate() }
        let xp = SendableConstPointer(input), op = SendablePointer(output), sp = SendablePointer(scratch)
        let offp = SendablePointer(offsets)
        let bp = bias.map { SendableConstPointer($0) }
        let groupsBox = UncheckedBox(groups)
        let stageInC = pointwise?.inChannels ?? inC
        let stagePacked = pointwise?.packed()
        defer { stagePacked?.deallocate() }
        let stage = UncheckedBox(pointwise.map { ($0, stagePacked!) })
        Parallel.forEachWithWorker(batch * chunks, threads: workers) { worker, task in
            let n = task / chunks, range = Parallel.chunk(task % chunks, of: chunks, count: rows)
            let ring = sp.pointer + worker * perWorker, tile = ring + inC * R * rs
            let off = offp.pointer + worker * max(1, maxTaps)
            let x = xp.pointer + n * stageInC * H * W
            /// Copies input row r (all channels) into its ring slot, zero-padded.
            func load(_ r: Int) {
                let slot = ((r % R) + R) % R
                if let (pw, packed) = stage.value, r >= 0 && r < H {
                    // Fused 1x1 + activation: the row's inC channels computed from the stage input.
                    let count = min(W, rs - P)
                    for ci in 0..<inC {
                        let dst = ring + (ci * R + slot) * rs
                        dst.update(repeating: 0, count: P)
                        (dst + P + count).update(repeating: 0, count: rs - P - count)
                    }
                    pointwiseRun(x: x + r * W, xStride: H * W, count: count, weights: packed, bias: pw.bias, slopes: pw.slopes,
                                 out: ring + slot * rs + P, outStride: R * rs)
                    return
                }
                for ci in 0..<inC {
                    let dst = ring + (ci * R + slot) * rs
                    if r < 0 || r >= H { dst.update(repeating: 0, count: rs); continue }
                    let count = min(W, rs - P)
                    dst.update(repeating: 0, count: P)
                    (dst + P).update(from: x + (ci * H + r) * W, count: count)
                    (dst + P + count).update(repeating: 0, count: rs - P - count)
                }
            }
            let first = aLo + range.lowerBound
            for r in (first - P)..<first { load(r) }
            for a in (aLo + range.lowerBound)..<(aLo + range.upperBound) {
                load(a)
                for g in groupsBox.value {
                    // Skip a phase row group whose output rows are all cropped away.
                    if !g.py.contains(where: { let y = $0 + s * a - pad; return y >= 0 && y < OH }) { continue }
                    // Ring offset of tap row jy's column 0 (tap (jy, jx) reads it shifted by −jx).
                    for jy in 0..<g.tapRows { off[jy] = (((a - jy) % R) + R) % R * rs + P }
                    let X = g.px.count
                    let n0 = g.runs.first?.n ?? 0, rc0 = g.runs.first?.count ?? 0
                    let n1 = g.runs.count > 1 ? g.runs[1].n : 0, rc1 = g.runs.count > 1 ? g.runs[1].count : 0
                    for co in 0..<outC {
                        let w = UnsafePointer(g.weights + co * inC * g.perChannel)
                        // Channel chunks small enough for L1; the tile accumulates across chunks.
                        var c0 = 0
                        while c0 < inC {
                            let cn = min(transposedChunk, inC - c0), acc = c0 > 0
                            let wc = w + c0 * g.perChannel, xc = UnsafePointer(ring + c0 * R * rs)
                            var b0 = bLo
                            if g.py.count == 2 {
                                while b0 + 24 <= bEnd {
                                    stride2Block24(xc + b0, chanStride: R * rs, channels: cn, rows: off, fullRows: g.fullRows, fullCols: g.fullCols,
                                                   extraRow: g.extraRow, extraCol: g.extraCol, weights: wc,
                                                 tile: tile + (b0 - bLo), tileStride: tileStride, accumulate: acc)
                                    b0 += 24
                                }
                                while b0 < bEnd {
                                    stride2Block8(xc + b0, chanStride: R * rs, channels: cn, rows: off, fullRows: g.fullRows, fullCols: g.fullCols,
                                                  extraRow: g.extraRow, extraCol: g.extraCol, weights: wc,
                                                 tile: tile + (b0 - bLo), tileStride: tileStride, accumulate: acc)
                                    b0 += 8
                                }
                            } else {
                                while b0 + 24 <= bEnd {
                                    phaseRowBlock24(xc + b0, chanStride: R * rs, channels: cn, rows: off, tapRows: g.tapRows, slots: X,
                                                    n0: n0, c0: rc0, n1: n1, c1: rc1, weights: wc,
                                                  tile: tile + (b0 - bLo), tileStride: tileStride, accumulate: acc)
                                    b0 += 24
                                }
                                while b0 < bEnd {
                                    phaseRowBlock8(xc + b0, chanStride: R * rs, channels: cn, rows: off, tapRows: g.tapRows, slots: X,
                                                   n0: n0, c0: rc0, n1: n1, c1: rc1, weights: wc,
                                                  tile: tile + (b0 - bLo), tileStride: tileStride, accumulate: acc)
                                    b0 += 8
                                }
                            }
                            c0 += cn
                        }
                        // Interleave the phases (with the bias) into the cropped output rows.
                        let bv = bp?.pointer[co] ?? 0
                        let plane = op.pointer + (n * outC + co) * OH * OW
                        for (iy, py) in g.py.enumerated() {
                            let y = py + s * a - pad
                            if y < 0 || y >= OH { continue }
                            let dst = plane + y * OW
                            var b = bLo
                            if X == 2 && s == 2 && pad % 2 == 0 {
                                let t0 = tile + (iy * 2) * tileStride - bLo, t1 = t0 + tileStride
                                let bv8 = SIMD8<Float>(repeating: bv)
                                // Columns 2b − pad ..< +16 inside the row.
                                while b < bHi && 2 * b - pad < 0 { b += 1 }
                                while b + 8 <= bHi && 2 * b - pad + 16 <= OW {
                                    let u = load8(t0 + b) + bv8, v = load8(t1 + b) + bv8
                                    store8(SIMD8(u[0], v[0], u[1], v[1], u[2], v[2], u[3], v[3]), dst + 2 * b - pad)
                                    store8(SIMD8(u[4], v[4], u[5], v[5], u[6], v[6], u[7], v[7]), dst + 2 * b - pad + 8)
                                    b += 8
                                }
                                b = min(b, bHi)
                                let scalarFrom = b
                                for b in scalarFrom..<bHi {
                                    for ix in 0..<2 {
                                        let xo = ix + 2 * b - pad
                                        if xo >= 0 && xo < OW { dst[xo] = tile[(iy * 2 + ix) * tileStride + b - bLo] + bv }
                                    }
                                }
                                continue
                            }
                            for (ix, px) in g.px.enumerated() {
                                let src = tile + (iy * X + ix) * tileStride - bLo
                                for b in bLo..<bHi {
                                    let xo = px + s * b - pad
                                    if xo >= 0 && xo < OW { dst[xo] = src[b] + bv }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}


/// Channel chunk of the transposed kernel: 16 channels of ⌈k/s⌉ ring rows around a 24-column
/// block and their weights (≤ 16·81 floats) stay in L1 while the block walks along the row.
let transposedChunk = 16

/// `a_i += x_i · w` for three accumulators.
@inline(__always)
private func fma3(_ a0: inout SIMD8<Float>, _ a1: inout SIMD8<Float>, _ a2: inout SIMD8<Float>,
                  _ x0: SIMD8<Float>, _ x1: SIMD8<Float>, _ x2: SIMD8<Float>, _ w: Float) {
    let v = SIMD8<Float>(repeating: w)
    a0 = a0.addingProduct(x0, v); a1 = a1.addingProduct(x1, v); a2 = a2.addingProduct(x2, v)
}

@inline(__always)
private func fma1(_ a: inout SIMD8<Float>, _ x: SIMD8<Float>, _ w: Float) {
    a = a.addingProduct(x, SIMD8<Float>(repeating: w))
}

@inline(__always)
private func loadOrZero(_ p: UnsafeMutablePointer<Float>, _ accumulate: Bool) -> SIMD8<Float> {
    accumulate ? load8(p) : SIMD8<Float>()
}

// Block kernels. `x` is the ring at the block's first column and first channel of the chunk;
// tap (jy, jx) of channel ci reads `x + ci·chanStride + rows[jy] − jx`; its weights (one per
// active slot) follow each other in `weights`, `[ci][tap][slot]` in the group's tap order. Slot j
// accumulates into `tile[j·tileStride ..< +width]` (added to it when `accumulate`). No branch
// depends on the tap inside a channel: the loops follow the group's tap structure.

/// s = 2 (four phases, slots 0 = (0,0), 1 = (0,1), 2 = (1,0), 3 = (1,1)), 24 columns.
@inline(never)
private func stride2Block24(_ x: UnsafePointer<Float>, chanStride: Int, channels: Int, rows: UnsafePointer<Int>,
                            fullRows: Int, fullCols: Int, extraRow: Bool, extraCol: Bool, weights: UnsafePointer<Float>,
                            tile: UnsafeMutablePointer<Float>, tileStride: Int, accumulate: Bool) {
    let t1 = tile + tileStride, t2 = t1 + tileStride, t3 = t2 + tileStride
    var a00 = loadOrZero(tile, accumulate), a01 = loadOrZero(tile + 8, accumulate), a02 = loadOrZero(tile + 16, accumulate)
    var a10 = loadOrZero(t1, accumulate), a11 = loadOrZero(t1 + 8, accumulate), a12 = loadOrZero(t1 + 16, accumulate)
    var a20 = loadOrZero(t2, accumulate), a21 = loadOrZero(t2 + 8, accumulate), a22 = loadOrZero(t2 + 16, accumulate)
    var a30 = loadOrZero(t3, accumulate), a31 = loadOrZero(t3 + 8, accumulate), a32 = loadOrZero(t3 + 16, accumulate)
    var wp = weights, xc = x
    for _ in 0..<channels {
        for jy in 0..<fullRows {
            var p = xc + rows[jy]
            for _ in 0..<fullCols {
                let x0 = load8(p), x1 = load8(p + 8), x2 = load8(p + 16)
                fma3(&a00, &a01, &a02, x0, x1, x2, wp[0]); fma3(&a10, &a11, &a12, x0, x1, x2, wp[1])
                fma3(&a20, &a21, &a22, x0, x1, x2, wp[2]); fma3(&a30, &a31, &a32, x0, x1, x2, wp[3])
                wp += 4; p -= 1
            }
            if extraCol {
                let x0 = load8(p), x1 = load8(p + 8), x2 = load8(p + 16)
                fma3(&a00, &a01, &a02, x0, x1, x2, wp[0]); fma3(&a20, &a21, &a22, x0, x1, x2, wp[1])
                wp += 2
            }
        }
        if extraRow {
            var p = xc + rows[fullRows]
            for _ in 0..<fullCols {
                let x0 = load8(p), x1 = load8(p + 8), x2 = load8(p + 16)
                fma3(&a00, &a01, &a02, x0, x1, x2, wp[0]); fma3(&a10, &a11, &a12, x0, x1, x2, wp[1])
                wp += 2; p -= 1
            }
            if extraCol {
                fma3(&a00, &a01, &a02, load8(p), load8(p + 8), load8(p + 16), wp[0])
                wp += 1
            }
        }
        xc += chanStride
    }
    store8(a00, tile); store8(a01, tile + 8); store8(a02, tile + 16)
    store8(a10, t1); store8(a11, t1 + 8); store8(a12, t1 + 16)
    store8(a20, t2); store8(a21, t2 + 8); store8(a22, t2 + 16)
    store8(a30, t3); store8(a31, t3 + 8); store8(a32, t3 + 16)
}

/// `stride2Block24` for 8 columns.
@inline(never)
private func stride2Block8(_ x: UnsafePointer<Float>, chanStride: Int, channels: Int, rows: UnsafePointer<Int>,
                           fullRows: Int, fullCols: Int, extraRow: Bool, extraCol: Bool, weights: UnsafePointer<Float>,
                           tile: UnsafeMutablePointer<Float>, tileStride: Int, accumulate: Bool) {
    let t1 = tile + tileStride, t2 = t1 + tileStride, t3 = t2 + tileStride
    var a0 = loadOrZero(tile, accumulate), a1 = loadOrZero(t1, accumulate)
    var a2 = loadOrZero(t2, accumulate), a3 = loadOrZero(t3, accumulate)
    var wp = weights, xc = x
    for _ in 0..<channels {
        for jy in 0..<fullRows {
            var p = xc + rows[jy]
            for _ in 0..<fullCols {
                let v = load8(p)
                fma1(&a0, v, wp[0]); fma1(&a1, v, wp[1]); fma1(&a2, v, wp[2]); fma1(&a3, v, wp[3])
                wp += 4; p -= 1
            }
            if extraCol { let v = load8(p); fma1(&a0, v, wp[0]); fma1(&a2, v, wp[1]); wp += 2 }
        }
        if extraRow {
            var p = xc + rows[fullRows]
            for _ in 0..<fullCols {
                let v = load8(p)
                fma1(&a0, v, wp[0]); fma1(&a1, v, wp[1])
                wp += 2; p -= 1
            }
            if extraCol { fma1(&a0, load8(p), wp[0]); wp += 1 }
        }
        xc += chanStride
    }
    store8(a0, tile); store8(a1, t1); store8(a2, t2); store8(a3, t3)
}

/// One phase row (s ≥ 3; slots 0..<X ≤ 4 are phases along the row), 24 columns. A tap row is
/// at most two runs of taps with the same slots (extents of phases differ by at most one):
/// `n0` slots for `c0` taps, then `n1` slots for `c1` taps.
@inline(never)
private func phaseRowBlock24(_ x: UnsafePointer<Float>, chanStride: Int, channels: Int, rows: UnsafePointer<Int>,
                             tapRows: Int, slots X: Int, n0: Int, c0: Int, n1: Int, c1: Int, weights: UnsafePointer<Float>,
                             tile: UnsafeMutablePointer<Float>, tileStride: Int, accumulate: Bool) {
    let t1 = tile + min(1, X - 1) * tileStride, t2 = tile + min(2, X - 1) * tileStride, t3 = tile + min(3, X - 1) * tileStride
    var a00 = loadOrZero(tile, accumulate), a01 = loadOrZero(tile + 8, accumulate), a02 = loadOrZero(tile + 16, accumulate)
    var a10 = loadOrZero(t1, accumulate), a11 = loadOrZero(t1 + 8, accumulate), a12 = loadOrZero(t1 + 16, accumulate)
    var a20 = loadOrZero(t2, accumulate), a21 = loadOrZero(t2 + 8, accumulate), a22 = loadOrZero(t2 + 16, accumulate)
    var a30 = loadOrZero(t3, accumulate), a31 = loadOrZero(t3 + 8, accumulate), a32 = loadOrZero(t3 + 16, accumulate)
    var wp = weights, xc = x
    for _ in 0..<channels {
        for jy in 0..<tapRows {
            var p = xc + rows[jy]
            for r in 0..<2 {
                let n = r == 0 ? n0 : n1, count = r == 0 ? c0 : c1
            switch n {
            case 4:
                for _ in 0..<count {
                    let x0 = load8(p), x1 = load8(p + 8), x2 = load8(p + 16)
                    fma3(&a00, &a01, &a02, x0, x1, x2, wp[0])
                    fma3(&a10, &a11, &a12, x0, x1, x2, wp[1])
                    fma3(&a20, &a21, &a22, x0, x1, x2, wp[2])
                    fma3(&a30, &a31, &a32, x0, x1, x2, wp[3])
                    wp += 4; p -= 1
                }
            case 3:
                for _ in 0..<count {
                    let x0 = load8(p), x1 = load8(p + 8), x2 = load8(p + 16)
                    fma3(&a00, &a01, &a02, x0, x1, x2, wp[0])
                    fma3(&a10, &a11, &a12, x0, x1, x2, wp[1])
                    fma3(&a20, &a21, &a22, x0, x1, x2, wp[2])
                    wp += 3; p -= 1
                }
            case 2:
                for _ in 0..<count {
                    let x0 = load8(p), x1 = load8(p + 8), x2 = load8(p + 16)
                    fma3(&a00, &a01, &a02, x0, x1, x2, wp[0])
                    fma3(&a10, &a11, &a12, x0, x1, x2, wp[1])
                    wp += 2; p -= 1
                }
            default:
                for _ in 0..<count {
                    let x0 = load8(p), x1 = load8(p + 8), x2 = load8(p + 16)
                    fma3(&a00, &a01, &a02, x0, x1, x2, wp[0])
                    wp += 1; p -= 1
                }
            }
            }
        }
        xc += chanStride
    }
    // Unused slots (X < 4) alias slot X − 1 and are stored first, so the real one wins.
    store8(a30, t3); store8(a31, t3 + 8); store8(a32, t3 + 16)
    store8(a20, t2); store8(a21, t2 + 8); store8(a22, t2 + 16)
    store8(a10, t1); store8(a11, t1 + 8); store8(a12, t1 + 16)
    store8(a00, tile); store8(a01, tile + 8); store8(a02, tile + 16)
}

/// `phaseRowBlock24` for 8 columns.
@inline(never)
private func phaseRowBlock8(_ x: UnsafePointer<Float>, chanStride: Int, channels: Int, rows: UnsafePointer<Int>,
                            tapRows: Int, slots X: Int, n0: Int, c0: Int, n1: Int, c1: Int, weights: UnsafePointer<Float>,
                            tile: UnsafeMutablePointer<Float>, tileStride: Int, accumulate: Bool) {
    let t1 = tile + min(1, X - 1) * tileStride, t2 = tile + min(2, X - 1) * tileStride, t3 = tile + min(3, X - 1) * tileStride
    var a0 = loadOrZero(tile, accumulate), a1 = loadOrZero(t1, accumulate)
    var a2 = loadOrZero(t2, accumulate), a3 = loadOrZero(t3, accumulate)
    var wp = weights, xc = x
    for _ in 0..<channels {
        for jy in 0..<tapRows {
            var p = xc + rows[jy]
            for r in 0..<2 {
                let n = r == 0 ? n0 : n1, count = r == 0 ? c0 : c1
                for _ in 0..<count {
                    let v = load8(p)
                    switch n {
                    case 4: fma1(&a0, v, wp[0]); fma1(&a1, v, wp[1]); fma1(&a2, v, wp[2]); fma1(&a3, v, wp[3])
                    case 3: fma1(&a0, v, wp[0]); fma1(&a1, v, wp[1]); fma1(&a2, v, wp[2])
                    case 2: fma1(&a0, v, wp[0]); fma1(&a1, v, wp[1])
                    default: fma1(&a0, v, wp[0])
                    }
                    wp += n; p -= 1
                }
            }
        }
        xc += chanStride
    }
    store8(a3, t3); store8(a2, t2); store8(a1, t1); store8(a0, tile)
}
