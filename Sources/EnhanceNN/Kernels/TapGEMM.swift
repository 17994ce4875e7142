// Stride-1 convolutions as OpenBLAS sgemm calls over "wide" rows, without a whole-image im2col.
//
// In a plane of row stride `rs`, output position (r, c) has the wide index p = r·rs + c, and
// tap (ty, tx) of it reads the plane at p + ty·rs + tx. For a fixed tap, the operand
// "channel ci, position p" is therefore the matrix B_t = base + tap(t) with row stride (ldb)
// equal to the channel-plane stride: a strided view of the input, no copy. A convolution is
// then Σ_t W_t · B_t (one sgemm per tap, K = channels), or, when channels·taps is small, one
// sgemm over a copied "row im2col" (K = channels·taps: each row is one contiguous run). Wide
// columns c >= valid width are computed and discarded (forward, backwardInput) or multiplied
// by zeros (backwardWeight).
//
// Every sgemm runs on OpenBLAS's calling thread (OpenBLAS set to 1 thread): parallelism comes
// from our own workers over images/bands, and every reduction has a fixed order, so results
// are bit-identical for a given thread count.

/// Product of channels and taps up to which the copied row-im2col form is used (one sgemm with
/// K = channels·taps); above it, one sgemm per tap on strided views (K = channels).
let rowIm2colLimit = 512

/// Largest per-worker scratch (floats) the GEMM paths allocate; larger problems use the
/// direct kernels.
let tapGEMMScratchLimit = 8 << 20

@inline(__always) func ensureSingleThreadedBLAS() {
    if BLAS.threads != 1 { BLAS.setThreads(1) }
}

/// Weights of a stride-1 correlation packed for `wideCorrelate`: for the per-tap form
/// `[t][m][k]` (one M×K matrix per tap), for the im2col form `[m][k][t]` (one M×(K·T) matrix).
struct TapMatrices {
    let storage: UnsafeMutablePointer<Float>
    let m, k, taps: Int
    let im2col: Bool

    /// `value(m, k, t)` is the weight multiplying operand row k at tap t for output row m.
    init(m: Int, k: Int, taps: Int, _ value: (Int, Int, Int) -> Float) {
        self.m = m; self.k = k; self.taps = taps
        im2col = k * taps <= rowIm2colLimit
        storage = .allocate(capacity: max(1, m * k * taps))
        if im2col {
            for i in 0..<m { for j in 0..<k { for t in 0..<taps { storage[(i * k + j) * taps + t] = value(i, j, t) } } }
        } else {
            for t in 0..<taps { for i in 0..<m { for j in 0..<k { storage[(t * m + i) * k + j] = value(i, j, t) } } }
        }
    }
    func deallocate() { storage.deallocate() }

    /// Scratch floats `wideCorrelate` needs for a wide length `length`.
    func scratchCount(length: Int) -> Int { im2col ? k * taps * length : 0 }
}

/// `c[i, p] = Σ_t Σ_j A_t[i, j] · b[j·planeStride + taps[t] + p]` for p in `0..<length`
/// (overwrites `c`, row stride `ldc`). `scratch` holds `a.scratchCount(length:)` floats.
func wideCorrelate(_ a: TapMatrices, b: UnsafePointer<Float>, planeStride: Int, taps: UnsafePointer<Int>, length: Int,
                   c: UnsafeMutablePointer<Float>, ldc: Int, scratch: UnsafeMutablePointer<Float>) {
    let (m, k, T) = (a.m, a.k, a.taps)
    if a.im2col {
        for j in 0..<k {
            for t in 0..<T { (scratch + (j * T + t) * length).update(from: b + j * planeStride + taps[t], count: length) }
        }
        BLAS.sgemm(m: m, n: length, k: k * T, a: a.storage, lda: k * T, b: scratch, ldb: length, beta: 0, c: c, ldc: ldc)
    } else {
        for t in 0..<T {
            BLAS.sgemm(m: m, n: length, k: k, a: a.storage + t * m * k, lda: k, b: b + taps[t], ldb: planeStride,
                       beta: t == 0 ? 0 : 1, c: c, ldc: ldc)
        }
    }
}

extension ConvKernels {
    /// Whether the stride-1 GEMM paths handle `g` (both matrix sides wide enough for sgemm).
    static func gemmForward(_ g: ConvGeometry) -> Bool {
        let T = g.kernel * g.kernel
        // Large images with several taps: the direct wide kernel is as fast or faster.
        return g.stride == 1 && g.outChannels >= 8
            && (T == 1 || (g.inChannels * T <= rowIm2colLimit && g.inHeight * g.inWidth <= 4096))
    }

    /// Stride-1 forward through `wideCorrelate`, band by band straight from `input`.
    static func gemmForward(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                            bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, threads: Int,
                            slopes: UnsafePointer<Float>? = nil) {
        ensureSingleThreadedBLAS()
        let k = g.kernel, T = k * k, iw = g.inWidth, oh = g.outHeight, ow = g.outWidth, outC = g.outChannels
        let mats = TapMatrices(m: outC, k: g.inChannels, taps: T) { co, ci, t in weight[(co * g.inChannels + ci) * T + t] }
        defer { mats.deallocate() }
        // Bands of about 2048 wide positions (the wide output then stays in L2 with its operands).
        let bandRows = bandHeight(rows: oh, rowStride: iw, batch: batch, threads: threads, positions: 2048)
        let bands = (oh + bandRows - 1) / bandRows
        let taps = UnsafeMutablePointer<Int>.allocate(capacity: T)
        defer { taps.deallocate() }
        for ty in 0..<k { for tx in 0..<k { taps[ty * k + tx] = ty * iw + tx } }
        let maxLength = (bandRows - 1) * iw + ow
        let perWorker = outC * maxLength + mats.scratchCount(length: maxLength)
        let workers = min(batch * bands, max(1, threads))
        let scratchAll = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { scratchAll.deallocate() }
        let inp = SendableConstPointer(input), out = SendablePointer(output), sp = SendablePointer(scratchAll)
        let tp = SendableConstPointer(UnsafePointer(taps)), bp = bias.map { SendableConstPointer($0) }
        let slp = slopes.map { SendableConstPointer($0) }
        let matsBox = UncheckedBox(mats)
        Parallel.forEachWithWorker(batch * bands, threads: workers) { worker, task in
            let n = task / bands, r0 = (task % bands) * bandRows, rows = min(bandRows, oh - r0)
            let length = (rows - 1) * iw + ow
            let wide = sp.pointer + worker * perWorker, scratch = wide + outC * maxLength
            wideCorrelate(matsBox.value, b: inp.pointer + n * g.inputCount + r0 * iw, planeStride: g.inHeight * iw,
                          taps: tp.pointer, length: length, c: wide, ldc: length, scratch: scratch)
            let y = out.pointer + n * g.outputCount + r0 * ow
            for co in 0..<outC {
                let b = bp?.pointer[co] ?? 0
                for r in 0..<rows {
                    let src = wide + co * length + r * iw, dst = y + co * oh * ow + r * ow
                    for c in 0..<ow { dst[c] = src[c] + b }
                }
                if let sl = slp?.pointer { applySlope(sl[co], y + co * oh * ow, count: rows * ow) }
            }
        }
    }

    /// Sub-pixel geometry of `gemmBackwardInput`: taps per side `ks = ⌈k/s⌉`, low-resolution
    /// extent `a × b = ⌈inH/s⌉ × ⌈inW/s⌉`, padded dy plane `(a + ks − 1) × (b + ks − 1)`.
    static func subPixel(_ g: ConvGeometry) -> (ks: Int, a: Int, b: Int, padRows: Int, padCols: Int) {
        let s = g.stride, ks = (g.kernel + s - 1) / s
        let a = (g.inHeight + s - 1) / s, b = (g.inWidth + s - 1) / s
        return (ks, a, b, a + ks - 1, b + ks - 1)
    }

    static func gemmBackwardInput(_ g: ConvGeometry) -> Bool {
        let sp = subPixel(g), s = g.stride, m = g.inChannels * s * s, T = sp.ks * sp.ks
        let plane = g.outChannels * sp.padRows * sp.padCols, length = (sp.a - 1) * sp.padCols + sp.b
        guard m >= 4, plane <= 1 << 20 else { return false }   // large images: the direct kernel
        if s == 1 && g.kernel > 1 && g.outChannels * T > rowIm2colLimit { return false }  // direct is as fast
        return plane + m * length + (g.outChannels * T <= rowIm2colLimit ? g.outChannels * T * length : 0) <= tapGEMMScratchLimit
    }

    /// backwardInput as one stride-1 correlation on the low-resolution grid ("sub-pixel" form):
    /// dy is zero-padded by `ks − 1` rows/columns on the top/left (and bottom/right), and output
    /// row (ci, py, px) at (a, b) is dx[ci, py + s·a, px + s·b] = Σ_co Σ_(j,i) w[co, ci, py + s·(ks−1−j),
    /// px + s·(ks−1−i)] · dyPad[co, a + j, b + i] (weights past the kernel are zero). One image at a
    /// time; every dx element is written exactly once.
    static func gemmBackwardInput(_ g: ConvGeometry, batch: Int, outputGradient: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                  inputGradient: UnsafeMutablePointer<Float>, threads: Int) {
        ensureSingleThreadedBLAS()
        let k = g.kernel, s = g.stride, ih = g.inHeight, iw = g.inWidth, oh = g.outHeight, ow = g.outWidth
        let inC = g.inChannels, outC = g.outChannels
        let sp = subPixel(g), ks = sp.ks, T = ks * ks, prs = sp.padCols, plane = sp.padRows * prs
        let length = (sp.a - 1) * prs + sp.b, m = inC * s * s
        let mats = TapMatrices(m: m, k: outC, taps: T) { row, co, t in
            let ci = row / (s * s), py = (row / s) % s, px = row % s
            let ky = py + s * (ks - 1 - t / ks), kx = px + s * (ks - 1 - t % ks)
            return ky < k && kx < k ? weight[((co * inC + ci) * k + ky) * k + kx] : 0
        }
        defer { mats.deallocate() }
        let taps = UnsafeMutablePointer<Int>.allocate(capacity: T)
        defer { taps.deallocate() }
        for j in 0..<ks { for i in 0..<ks { taps[j * ks + i] = j * prs + i } }
        let perWorker = outC * plane + m * length + mats.scratchCount(length: length)
        let workers = min(batch, max(1, threads))
        let scratchAll = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { scratchAll.deallocate() }
        // The padding borders are written once per worker; the interiors are overwritten per image.
        for w in 0..<workers { (scratchAll + w * perWorker).initialize(repeating: 0, count: outC * plane) }
        let dyp = SendableConstPointer(outputGradient), dxp = SendablePointer(inputGradient), scp = SendablePointer(scratchAll)
        let tp = SendableConstPointer(UnsafePointer(taps)), matsBox = UncheckedBox(mats)
        Parallel.forEachWithWorker(batch, threads: workers) { worker, n in
            let pad = scp.pointer + worker * perWorker, wide = pad + outC * plane, scratch = wide + m * length
            let dy = dyp.pointer + n * g.outputCount
            for co in 0..<outC {
                for y in 0..<oh {
                    (pad + co * plane + (y + ks - 1) * prs + ks - 1).update(from: dy + (co * oh + y) * ow, count: ow)
                }
            }
            wideCorrelate(matsBox.value, b: UnsafePointer(pad), planeStride: plane, taps: tp.pointer, length: length,
                          c: wide, ldc: length, scratch: scratch)
            let dx = dxp.pointer + n * g.inputCount
            if s == 1 {
                for ci in 0..<inC {
                    for y in 0..<ih { (dx + (ci * ih + y) * iw).update(from: wide + ci * length + y * prs, count: iw) }
                }
            } else {
                for row in 0..<m {
                    let ci = row / (s * s), py = (row / s) % s, px = row % s
                    let rows = (ih - py + s - 1) / s, cols = (iw - px + s - 1) / s
                    for a in 0..<rows {
                        let src = wide + row * length + a * prs, dst = dx + (ci * ih + py + s * a) * iw + px
                        for b in 0..<cols { dst[s * b] = src[b] }
                    }
                }
            }
        }
    }

    /// Stride-1 view of `g` for backwardWeight: a stride-s convolution is a stride-1 one with
    /// `ks = ⌈k/s⌉` taps over the space-to-depth input (`inChannels·s²` channels of
    /// `(outH + ks − 1) × (outW + ks − 1)`); stride 1 is `g` itself.
    static func strideOneView(_ g: ConvGeometry) -> (inC: Int, ih: Int, iw: Int, k: Int) {
        let s = g.stride
        if s == 1 { return (g.inChannels, g.inHeight, g.inWidth, g.kernel) }
        let ks = (g.kernel + s - 1) / s
        return (g.inChannels * s * s, g.outHeight + ks - 1, g.outWidth + ks - 1, ks)
    }

    static func gemmBackwardWeight(_ g: ConvGeometry) -> Bool {
        let v = strideOneView(g)
        let q = v.inC * v.k * v.k, length = g.outHeight * v.iw
        let spaceToDepth = g.stride == 1 ? 0 : v.inC * v.ih * v.iw
        return g.outChannels >= 8
            && (q <= rowIm2colLimit ? q * length : 0) + g.outChannels * length + spaceToDepth <= tapGEMMScratchLimit
    }

    /// backwardWeight through sgemm: per image, dW_t += dyWide · x_tᵀ (K = wide positions of the
    /// image; strided convolutions go through a space-to-depth copy), images split into fixed
    /// contiguous chunks per worker, worker partials added in worker order.
    static func gemmBackwardWeight(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                   weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>?,
                                   threads: Int) {
        ensureSingleThreadedBLAS()
        let s = g.stride, v = strideOneView(g)
        let k = v.k, T = k * k, ih = v.ih, iw = v.iw, oh = g.outHeight, ow = g.outWidth
        let inC = v.inC, outC = g.outChannels, Q = inC * T
        let im2col = Q <= rowIm2colLimit
        let length = (oh - 1) * iw + ow
        let taps = UnsafeMutablePointer<Int>.allocate(capacity: T)
        defer { taps.deallocate() }
        for ty in 0..<k { for tx in 0..<k { taps[ty * k + tx] = ty * iw + tx } }
        let workers = min(batch, max(1, threads))
        // Partial layout: im2col form [co][c][t]; per-tap form [t][co][c] (c: stride-1 view channel).
        let partialCount = outC * Q + outC
        let s2dCount = s == 1 ? 0 : inC * ih * iw
        let perWorker = partialCount + outC * length + (im2col ? Q * length : 0) + s2dCount
        let scratchAll = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { scratchAll.deallocate() }
        let inp = SendableConstPointer(input), dyp = SendableConstPointer(outputGradient), sp = SendablePointer(scratchAll)
        let tp = SendableConstPointer(UnsafePointer(taps))
        Parallel.forEachChunk(batch, threads: workers) { worker, range in
            let partial = sp.pointer + worker * perWorker, dbias = partial + outC * Q
            let dyWide = partial + partialCount, cols = dyWide + outC * length
            let s2d = cols + (im2col ? Q * length : 0)
            partial.initialize(repeating: 0, count: partialCount)
            // Junk wide columns stay zero: only valid columns are written below.
            dyWide.initialize(repeating: 0, count: outC * length)
            for n in range {
                let dy = dyp.pointer + n * g.outputCount
                var x = inp.pointer + n * g.inputCount
                if s > 1 {
                    let src = x
                    for c in 0..<inC {
                        let ci = c / (s * s), py = (c / s) % s, px = c % s
                        for r in 0..<ih {
                            let iy = r * s + py, dst = s2d + (c * ih + r) * iw
                            if iy >= g.inHeight { dst.update(repeating: 0, count: iw); continue }
                            let row = src + (ci * g.inHeight + iy) * g.inWidth
                            for col in 0..<iw {
                                let ix = col * s + px
                                dst[col] = ix < g.inWidth ? row[ix] : 0
                            }
                        }
                    }
                    x = UnsafePointer(s2d)
                }
                for co in 0..<outC {
                    var sum: Float = 0
                    for r in 0..<oh {
                        let src = dy + (co * oh + r) * ow, dst = dyWide + co * length + r * iw
                        for c in 0..<ow { let v = src[c]; dst[c] = v; sum += v }
                    }
                    dbias[co] += sum
                }
                if im2col {
                    for c in 0..<inC {
                        for t in 0..<T { (cols + (c * T + t) * length).update(from: x + c * ih * iw + tp.pointer[t], count: length) }
                    }
                    BLAS.sgemm(transB: true, m: outC, n: Q, k: length, a: UnsafePointer(dyWide), lda: length,
                               b: UnsafePointer(cols), ldb: length, beta: 1, c: partial, ldc: Q)
                } else {
                    for t in 0..<T {
                        BLAS.sgemm(transB: true, m: outC, n: inC, k: length, a: UnsafePointer(dyWide), lda: length,
                                   b: x + tp.pointer[t], ldb: ih * iw, beta: 1, c: partial + t * outC * inC, ldc: inC)
                    }
                }
            }
        }
        for worker in 1..<workers {
            let src = scratchAll + worker * perWorker
            for i in 0..<partialCount { scratchAll[i] += src[i] }
        }
        // Scatter (c, t) of the stride-1 view back to [out, in, kernel, kernel].
        let K = g.kernel
        for co in 0..<outC {
            for c in 0..<inC {
                let ci = c / (s * s), py = (c / s) % s, px = c % s
                for t in 0..<T {
                    let ky = py + s * (t / k), kx = px + s * (t % k)
                    guard ky < K && kx < K else { continue }
                    let value = im2col ? scratchAll[(co * inC + c) * T + t] : scratchAll[(t * outC + co) * inC + c]
                    weightGradient[((co * g.inChannels + ci) * K + ky) * K + kx] += value
                }
            }
        }
        if let db = biasGradient { for co in 0..<outC { db[co] += scratchAll[outC * Q + co] } }
    }
}

/// Carries a non-Sendable value (read-only, shared) into concurrent workers.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
