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
// multiplied), so a load serves up to four phases × three accumulators.
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
            return TransposedGroup(py: shape.py, px: shape.px, taps: taps, weights: weights, perChannel: perChannel)
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
    public static func transposedForward(batch: Int, inChannels inC: Int, outChannels outC: Int, inHeight H: Int, inWidth W: Int,
                                         kernel k: Int, stride s: Int, padding pad: Int, outHeight OH: Int, outWidth OW: Int,
                                         input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                         output: UnsafeMutablePointer<Float>, threads: Int, pointwise: PointwiseStage? = nil) {
        precondition(transposedDirectApplies(outChannels: outC, kernel: k, stride: s),
                     "transposedForward: stride \(s), kernel \(k), \(outC) output channels not supported")
        precondition(pointwise.map { $0.outChannels == inC } ?? true,
                     "transposedForward: 1x1 stage gives \(pointwise?.outChannels ?? 0) channels, layer takes \(inC)")
        precondition(batch >= 0 && inC >= 1 && H >= 1 && W >= 1 && pad >= 0 && OH >= 0 && OW >= 0,
                     "transposedForward: bad geometry batch \(batch), in \(inC) \(H)x\(W), padding \(pad), out \(OH)x\(OW)")
        if batch == 0 || OH == 0 || OW == 0 { return }
        let ks = (k + s - 1) / s, P = ks - 1, R = ks          // ring of R = ks input rows
        // Low-resolution rows/columns that reach the kept window [pad, pad + OH).
        let aLo = pad / s, aHi = (pad + OH + s - 1) / s
        let bLo = pad / s, bHi = (pad + OW + s - 1) / s
        let bEnd = bLo + (bHi - bLo + 7) / 8 * 8
        let rs = bEnd + P                                     // ring row: column q ↔ input column q − P
        let groups = transposedGroups(inChannels: inC, outChannels: outC, kernel: k, stride: s, weight: weight)
        defer { for g in groups { g.weights.deallocate() } }
        let maxTaps = groups.map(\.taps.count).max() ?? 0
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
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: groups.count * max(1, maxTaps))
        defer { codes.deallocate() }
        for (gi, g) in groups.enumerated() { for (t, tap) in g.taps.enumerated() { codes[gi * maxTaps + t] = UInt8(tap.code) } }
        let xp = SendableConstPointer(input), op = SendablePointer(output), sp = SendablePointer(scratch)
        let offp = SendablePointer(offsets), cp = SendableConstPointer(UnsafePointer(codes))
        let bp = bias.map { SendableConstPointer($0) }
        let groupsBox = UncheckedBox(groups)
        let stageInC = pointwise?.inChannels ?? inC
        let stagePacked = pointwise?.packed()
        defer { stagePacked?.deallocate() }
        let stage = UncheckedBox(pointwise.map { ($0, stagePacked!) })
        let zeroTap = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        zeroTap.initialize(to: 0)
        defer { zeroTap.deallocate() }
        let ztp = SendableConstPointer(UnsafePointer(zeroTap))
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
                    pointwiseRow(pw, packed: packed, tap: ztp.pointer, x: x, height: H, width: W, row: r, count: count,
                                 out: ring + slot * rs + P, chanStride: R * rs)
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
                for (gi, g) in groupsBox.value.enumerated() {
                    // Skip a phase row group whose output rows are all cropped away.
                    if !g.py.contains(where: { let y = $0 + s * a - pad; return y >= 0 && y < OH }) { continue }
                    for (t, tap) in g.taps.enumerated() {
                        let r = a - tap.jy
                        off[t] = ((r % R) + R) % R * rs + P - tap.jx
                    }
                    let T = g.taps.count, code = cp.pointer + gi * maxTaps, X = g.px.count
                    for co in 0..<outC {
                        let w = UnsafePointer(g.weights + co * inC * g.perChannel)
                        var b0 = bLo
                        while b0 + 24 <= bEnd {
                            transposedBlock24(UnsafePointer(ring + b0), chanStride: R * rs, channels: inC, offsets: off,
                                              codes: code, taps: T, weights: w, tile: tile + (b0 - bLo), tileStride: tileStride)
                            b0 += 24
                        }
                        while b0 < bEnd {
                            transposedBlock8(UnsafePointer(ring + b0), chanStride: R * rs, channels: inC, offsets: off,
                                             codes: code, taps: T, weights: w, tile: tile + (b0 - bLo), tileStride: tileStride)
                            b0 += 8
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


/// `a_i += x_i · w` for three accumulators.
@inline(__always)
private func fma3(_ a0: inout SIMD8<Float>, _ a1: inout SIMD8<Float>, _ a2: inout SIMD8<Float>,
                  _ x0: SIMD8<Float>, _ x1: SIMD8<Float>, _ x2: SIMD8<Float>, _ w: Float) {
    let v = SIMD8<Float>(repeating: w)
    a0 = a0.addingProduct(x0, v); a1 = a1.addingProduct(x1, v); a2 = a2.addingProduct(x2, v)
}

/// 24 low-resolution columns of up to four phases: slot j's result goes to
/// `tile[j·tileStride ..< +24]`. `x` is the ring at the block's first column; tap t reads
/// `x + ci·chanStride + offsets[t]`, and its weights (one per active slot, see
/// `TransposedGroup.taps`) follow each other in `weights`, `[ci][tap][slot]`.
@inline(__always)
private func transposedBlock24(_ x: UnsafePointer<Float>, chanStride: Int, channels: Int, offsets: UnsafePointer<Int>,
                               codes: UnsafePointer<UInt8>, taps: Int, weights: UnsafePointer<Float>,
                               tile: UnsafeMutablePointer<Float>, tileStride: Int) {
    var a00 = SIMD8<Float>(), a01 = SIMD8<Float>(), a02 = SIMD8<Float>()
    var a10 = SIMD8<Float>(), a11 = SIMD8<Float>(), a12 = SIMD8<Float>()
    var a20 = SIMD8<Float>(), a21 = SIMD8<Float>(), a22 = SIMD8<Float>()
    var a30 = SIMD8<Float>(), a31 = SIMD8<Float>(), a32 = SIMD8<Float>()
    var wp = weights, xc = x
    for _ in 0..<channels {
        for t in 0..<taps {
            let p = xc + offsets[t]
            let x0 = load8(p), x1 = load8(p + 8), x2 = load8(p + 16)
            switch codes[t] {
            case 4:
                fma3(&a00, &a01, &a02, x0, x1, x2, wp[0]); fma3(&a10, &a11, &a12, x0, x1, x2, wp[1])
                fma3(&a20, &a21, &a22, x0, x1, x2, wp[2]); fma3(&a30, &a31, &a32, x0, x1, x2, wp[3])
                wp += 4
            case 3:
                fma3(&a00, &a01, &a02, x0, x1, x2, wp[0]); fma3(&a10, &a11, &a12, x0, x1, x2, wp[1])
                fma3(&a20, &a21, &a22, x0, x1, x2, wp[2])
                wp += 3
            case 2:
                fma3(&a00, &a01, &a02, x0, x1, x2, wp[0]); fma3(&a10, &a11, &a12, x0, x1, x2, wp[1])
                wp += 2
            case 5:
                fma3(&a00, &a01, &a02, x0, x1, x2, wp[0]); fma3(&a20, &a21, &a22, x0, x1, x2, wp[1])
                wp += 2
            default:
                fma3(&a00, &a01, &a02, x0, x1, x2, wp[0])
                wp += 1
            }
        }
        xc += chanStride
    }
    let t1 = tile + tileStride, t2 = t1 + tileStride, t3 = t2 + tileStride
    store8(a00, tile); store8(a01, tile + 8); store8(a02, tile + 16)
    store8(a10, t1); store8(a11, t1 + 8); store8(a12, t1 + 16)
    store8(a20, t2); store8(a21, t2 + 8); store8(a22, t2 + 16)
    store8(a30, t3); store8(a31, t3 + 8); store8(a32, t3 + 16)
}

/// `transposedBlock24` for 8 columns.
@inline(__always)
private func transposedBlock8(_ x: UnsafePointer<Float>, chanStride: Int, channels: Int, offsets: UnsafePointer<Int>,
                              codes: UnsafePointer<UInt8>, taps: Int, weights: UnsafePointer<Float>,
                              tile: UnsafeMutablePointer<Float>, tileStride: Int) {
    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
    var wp = weights, xc = x
    for _ in 0..<channels {
        for t in 0..<taps {
            let v = load8(xc + offsets[t])
            switch codes[t] {
            case 4:
                a0 = a0.addingProduct(v, SIMD8(repeating: wp[0])); a1 = a1.addingProduct(v, SIMD8(repeating: wp[1]))
                a2 = a2.addingProduct(v, SIMD8(repeating: wp[2])); a3 = a3.addingProduct(v, SIMD8(repeating: wp[3]))
                wp += 4
            case 3:
                a0 = a0.addingProduct(v, SIMD8(repeating: wp[0])); a1 = a1.addingProduct(v, SIMD8(repeating: wp[1]))
                a2 = a2.addingProduct(v, SIMD8(repeating: wp[2]))
                wp += 3
            case 2:
                a0 = a0.addingProduct(v, SIMD8(repeating: wp[0])); a1 = a1.addingProduct(v, SIMD8(repeating: wp[1]))
                wp += 2
            case 5:
                a0 = a0.addingProduct(v, SIMD8(repeating: wp[0])); a2 = a2.addingProduct(v, SIMD8(repeating: wp[1]))
                wp += 2
            default:
                a0 = a0.addingProduct(v, SIMD8(repeating: wp[0]))
                wp += 1
            }
        }
        xc += chanStride
    }
    store8(a0, tile); store8(a1, tile + tileStride); store8(a2, tile + 2 * tileStride); store8(a3, tile + 3 * tileStride)
}
