import Foundation

// Winograd minimal-filtering convolution F(m×m, r×r) for stride-1 forward convolutions.
//
// One alpha×alpha input tile (alpha = m + r − 1, tiles m apart) gives an m×m output tile as
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
// so the channel sum becomes alpha² independent matrix products
//   M_t[co, tile] = Σ_ci U_t[co, ci] · V_t[ci, tile]   (t = one of the alpha² transform points),
// with U = G g Gᵀ (weights, transformed once per call) and V = Bᵀ d B (input tiles). Multiplies
// per output drop from r² to alpha²/m² (5x5 with m = 4: 25 → 4).
//
// Work is split into blocks of `8·vectors` consecutive tiles of the flattened (image, tile row,
// tile column) list. Per block: input transform (8 tiles in the SIMD lanes at a time) into V
// `[t][ci][tile]`, then for every t a register-blocked SIMD8 product (4 output channels × 24
// tiles) into M `[t][co][tile]`, then the output transform and bias into the NCHW output. Every
// tile is computed by the same instruction sequence whichever block or worker it falls in, so
// results are bit-identical for any thread count.
//
// Tile sizes (measured, see KernelTestsWinograd's reports): F(4×4, 5×5) (alpha 8) and
// F(4×4, 3×3) (alpha 6), and F(4×4, 7×7) (alpha 10, AR-CNN's 7x7 layers: 49 → 6.25 multiplies
// per output; session 16, in place of F(2×2, 7×7)'s 16: the 7x7 layer of arcnn-512 484 → 215 ms on
// one thread), all with fixed unrolled transforms; max error on SRCNN-like data
// ≈ 1.4e-5 × rms output, against 0.7e-5 for the direct path; F(4×4, 7×7) 8–10e-5 on the same
// data, about 7x F(2×2, 7×7) (its points: `WinogradMatrices.points`, tools/winograd_f4x7.py). `enhance bench` keeps reporting
// GFLOP/s as the direct-convolution count (2·K·outputs), so Winograd layers exceed sgemm.

/// Transform matrices of the 1-D Winograd algorithm F(m, r) (alpha = m + r − 1), built by
/// Cook–Toom interpolation at the points 0, 1, −1, 2, −2, 1/2, −1/2, 3, −3, 1/3, −1/3, … and ∞
/// (the usual choice of Lavin & Gray and wincnn; alpha 10 differs, see `points`), in Double; the
/// 1/f scaling sits in G.
///
/// For a correlation `y[i] = Σ_k g[k] · d[i + k]` (i < m) of a tile `d` (alpha samples):
/// `y = Aᵀ [(G g) ⊙ (Bᵀ d)]`. All matrices row-major: `at` is m × alpha, `g` alpha × r,
/// `bt` alpha × alpha.
public struct WinogradMatrices: Sendable {
    public let m, r, alpha: Int
    public let at: [Double], g: [Double], bt: [Double]

    /// The alpha − 1 finite interpolation points (the last one is ∞). Alpha 10 (F(4×4, 7×7)) takes
    /// 0, ±2, ±1/2, ±3/4, ±5/4 instead: every coefficient of Aᵀ and Bᵀ is then exact in Float, and
    /// the float error is about 12x smaller than with the usual ±3 (tools/winograd_f4x7.py, which
    /// chose the set and generates the fixed transforms).
    public static func points(_ count: Int) -> [Double] {
        if count == 9 { return [0, 2, -2, 0.5, -0.5, 0.75, -0.75, 1.25, -1.25] }
        var p: [Double] = [0, 1, -1]
        var k = 2.0
        while p.count < count {
            p += [k, -k, 1 / k, -1 / k]
            k += 1
        }
        return Array(p.prefix(count))
    }

    public init(m: Int, r: Int) {
        precondition(m >= 1 && r >= 1, "WinogradMatrices: m \(m) and r \(r) must be >= 1")
        self.m = m; self.r = r
        let n = m + r - 1
        alpha = n
        let a = Self.points(n - 1)
        // f_j = Π_{l≠j} (a_j − a_l); M(x) = Π_j (x − a_j), coefficients low → high.
        var f = [Double](repeating: 1, count: n - 1)
        for j in 0..<(n - 1) { for l in 0..<(n - 1) where l != j { f[j] *= a[j] - a[l] } }
        var mono = [Double](repeating: 0, count: n)
        mono[0] = 1
        for j in 0..<(n - 1) {
            for i in stride(from: j + 1, through: 1, by: -1) { mono[i] = mono[i - 1] - a[j] * mono[i] }
            mono[0] = -a[j] * mono[0]
        }
        var at = [Double](repeating: 0, count: m * n), g = [Double](repeating: 0, count: n * r)
        var bt = [Double](repeating: 0, count: n * n)
        for j in 0..<(n - 1) {
            var p = 1.0
            for i in 0..<max(m, r) {
                if i < m { at[i * n + j] = p }
                if i < r { g[j * r + i] = p / f[j] }
                p *= a[j]
            }
            // Row j of Bᵀ: coefficients of M(x) / (x − a_j) (synthetic division, high → low).
            var q = 0.0
            for i in stride(from: n - 1, through: 1, by: -1) { q = mono[i] + a[j] * q; bt[j * n + i - 1] = q }
        }
        at[(m - 1) * n + n - 1] = 1
        g[(n - 1) * r + r - 1] = 1
        for i in 0..<n { bt[(n - 1) * n + i] = mono[i] }
        self.at = at; self.g = g; self.bt = bt
    }
}

extension WinogradMatrices {
    /// The two data transforms the convolution kernels apply.
    public enum Transform: Sendable { case at, bt }

    /// Applies the kernels' fixed (unrolled) version of `at` or `bt` to 8 columns at once:
    /// `d[i·ds ..< i·ds + 8] = Σ_j mat[i][j] · s[j·ss ..< j·ss + 8]`. Returns false (and writes
    /// nothing) when this (m, alpha) has no fixed version and the kernels use the matrices as
    /// they are. For tests: the fixed versions must equal the matrices.
    public func applyFixed(_ transform: Transform, _ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) -> Bool {
        switch (transform, m, alpha) {
        case (.bt, _, 10): winogradBT10(s, ss, d, ds)
        case (.at, 4, 10): winogradAT4x10(s, ss, d, ds)
        case (.bt, _, 8): winogradBT8(s, ss, d, ds)
        case (.bt, _, 6): winogradBT6(s, ss, d, ds)
        case (.at, 4, 8): winogradAT4x8(s, ss, d, ds)
        case (.at, 4, 6): winogradAT4x6(s, ss, d, ds)
        case (.at, 2, 8): winogradAT2x8(s, ss, d, ds)
        default: return false
        }
        return true
    }
}

extension ConvKernels {
    /// Whether stride-1 forward convolutions that qualify (`winogradApplies`) use the Winograd
    /// path. Switched off only by tests and benchmarks (or `ENHANCE_WINOGRAD=0`); not meant to be
    /// changed while convolutions run.
    nonisolated(unsafe) public static var useWinograd: Bool = {
        guard let v = getenv("ENHANCE_WINOGRAD") else { return true }
        return String(cString: v) != "0"
    }()

    /// Output tile size m used for an r×r kernel, or nil when Winograd is not used for it.
    public static func winogradTile(kernel: Int) -> Int? {
        switch kernel {
        case 3: return 4
        case 5: return 4
        case 7: return 4
        default: return nil
        }
    }

    /// Whether `forward` takes the Winograd path for `g` (stride 1, 3x3, 5x5 or 7x7, enough channels
    /// that the transforms are paid back, an output of at least a few tiles).
    public static func winogradApplies(_ g: ConvGeometry) -> Bool {
        guard useWinograd, g.stride == 1, let m = winogradTile(kernel: g.kernel) else { return false }
        return g.inChannels >= 16 && g.outChannels >= 16 && g.outHeight >= m && g.outWidth >= m
    }

    /// Whether `backwardInput` takes the Winograd path for `g` (stride 1, 3x3, 5x5 or 7x7, at least
    /// 16 channels each side): dx is then a forward Winograd correlation of dy, zero-padded by
    /// k − 1 on the fly, with the flipped, transposed kernel (`winogradBackwardInput`).
    public static func winogradBackwardApplies(_ g: ConvGeometry) -> Bool {
        useWinograd && g.stride == 1 && winogradTile(kernel: g.kernel) != nil && g.inChannels >= 16 && g.outChannels >= 16
    }

    /// dx (overwritten, `[batch, in, inH, inW]`) from dy (`[batch, out, outH, outW]`) for a
    /// stride-1 geometry, by Winograd: dx = full correlation of dy with `w[co, ci, k−1−ky, k−1−kx]`.
    public static func winogradBackwardInput(_ g: ConvGeometry, batch: Int, outputGradient: UnsafePointer<Float>,
                                             weight: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>,
                                             threads: Int) {
        precondition(g.stride == 1, "winogradBackwardInput: stride \(g.stride) is not 1")
        let k = g.kernel, kk = k * k
        let flipped = UnsafeMutablePointer<Float>.allocate(capacity: g.weightCount)
        defer { flipped.deallocate() }
        for co in 0..<g.outChannels {
            for ci in 0..<g.inChannels {
                let src = weight + (co * g.inChannels + ci) * kk, dst = flipped + (ci * g.outChannels + co) * kk
                for t in 0..<kk { dst[t] = src[kk - 1 - t] }
            }
        }
        let full = ConvGeometry(inChannels: g.outChannels, outChannels: g.inChannels, inHeight: g.outHeight + 2 * (k - 1),
                                inWidth: g.outWidth + 2 * (k - 1), kernel: k, stride: 1)
        winogradForward(full, batch: batch, input: outputGradient, weight: flipped, bias: nil, output: inputGradient,
                        threads: threads, padding: k - 1)
    }

    /// y = conv(x, w) + bias by Winograd F(m×m, k×k) (stride 1; any size, partial edge tiles
    /// are zero-padded). `tile` overrides the output tile size m, `vectorsPerBlock` the block
    /// size (tests, measurements). With `padding` p > 0, `g` describes the zero-padded input but
    /// `input` holds the unpadded images (`inHeight − 2p` × `inWidth − 2p` per channel): the
    /// padding is applied on the fly. `slopes` (one per output channel, nil for none): the
    /// activation `v > 0 ? v : slope · v` applied as the output tiles are written.
    public static func winogradForward(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, threads: Int,
                                padding: Int = 0, tile: Int? = nil, vectorsPerBlock: Int? = nil,
                                slopes: UnsafePointer<Float>? = nil) {
        precondition(g.stride == 1, "winogradForward: stride \(g.stride) is not 1")
        precondition(padding >= 0 && g.inHeight > 2 * padding && g.inWidth > 2 * padding,
                     "winogradForward: padding \(padding) too large for \(g)")
        guard let m = tile ?? winogradTile(kernel: g.kernel) else { preconditionFailure("winogradForward: no tile size for kernel \(g.kernel)") }
        if batch == 0 { return }
        let r = g.kernel, mats = WinogradMatrices(m: m, r: r), A = mats.alpha, T = A * A
        let inC = g.inChannels, outC = g.outChannels, outCp = (outC + 3) / 4 * 4
        let oh = g.outHeight, ow = g.outWidth
        let tilesY = (oh + m - 1) / m, tilesX = (ow + m - 1) / m, perImage = tilesY * tilesX
        let tiles = batch * perImage
        // Tiles per block: 3 vectors of 8 (one micro-tile). Blocks of 6 vectors, once used when V
        // (T·inC·tiles floats) still fit in ~512 KB, measured slower everywhere in session 5 (one
        // thread): Fast AR-CNN's 7x7 32→32 at 256² 49.1 → 46.0 ms, SRCNN's 5x5 input gradient
        // (batch 64) 25.3 → 20.1 ms, AR-CNN's 7x7 input gradient 49.8 → 44.7 ms, enhance-net's
        // 48-channel layers equal.
        let vectors = vectorsPerBlock ?? 3
        let ld = 8 * vectors
        let blocks = (tiles + ld - 1) / ld

        // Float transform matrices (Aᵀ, Bᵀ) for the kernels.
        let consts = UnsafeMutablePointer<Float>.allocate(capacity: m * A + A * A)
        defer { consts.deallocate() }
        for i in 0..<(m * A) { consts[i] = Float(mats.at[i]) }
        for i in 0..<(A * A) { consts[m * A + i] = Float(mats.bt[i]) }

        // U = G g Gᵀ per (co, ci), in Double, stored `[t][co/4][ci][co%4]` (zero rows up to outCp).
        let u = UnsafeMutablePointer<Float>.allocate(capacity: T * outCp * inC)
        defer { u.deallocate() }
        u.initialize(repeating: 0, count: T * outCp * inC)
        // Four output channels at a time in SIMD4<Double> lanes (the `co % 4` of U's layout).
        let up = SendablePointer(u), wp = SendableConstPointer(weight)
        Parallel.forEach(outCp / 4, threads: threads) { cb in
            let lanes = min(4, outC - cb * 4)
            mats.g.withUnsafeBufferPointer { gBuffer in
                withUnsafeTemporaryAllocation(of: SIMD4<Double>.self, capacity: r * r + A * r) { buffer in
                    let gm = gBuffer.baseAddress!, w = buffer.baseAddress!, tmp = w + r * r
                    for ci in 0..<inC {
                        for e in 0..<(r * r) {
                            var v = SIMD4<Double>.zero
                            for l in 0..<lanes { v[l] = Double(wp.pointer[((cb * 4 + l) * inC + ci) * r * r + e]) }
                            w[e] = v
                        }
                        for i in 0..<A {
                            for kx in 0..<r {
                                var s = SIMD4<Double>.zero
                                for ky in 0..<r { s += gm[i * r + ky] * w[ky * r + kx] }
                                tmp[i * r + kx] = s
                            }
                        }
                        for i in 0..<A {
                            for j in 0..<A {
                                var s = SIMD4<Double>.zero
                                for kx in 0..<r { s += tmp[i * r + kx] * gm[j * r + kx] }
                                let dst = UnsafeMutableRawPointer(up.pointer + (((i * A + j) * (outCp / 4) + cb) * inC + ci) * 4)
                                dst.storeBytes(of: SIMD4<Float>(s), as: SIMD4<Float>.self)
                            }
                        }
                    }
                }
            }
        }

        // Per worker: V, M, the lanes of each group, and transform scratch (2·alpha² vectors).
        let vCount = T * inC * ld, mCount = T * outCp * ld
        let workers = min(blocks, max(1, threads))
        // (+ 8 per worker: the input transform's row loads may read past the copied plane.)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * (vCount + mCount + A * A * ld + 8))
        scratch.initialize(repeating: 0, count: workers * (vCount + mCount + A * A * ld + 8))
        let intScratch = UnsafeMutablePointer<Int>.allocate(capacity: workers * 5 * ld)
        let vectorScratch = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: workers * 2 * T)
        let laneScratch = UnsafeMutablePointer<WinogradLanes>.allocate(capacity: workers * vectors)
        laneScratch.initialize(repeating: WinogradLanes(), count: workers * vectors)
        defer { scratch.deallocate(); vectorScratch.deallocate(); laneScratch.deallocate(); intScratch.deallocate() }
        let plan = WinogradPlan(g: g, input: input, output: output, u: UnsafePointer(u), at: UnsafePointer(consts),
                                bt: UnsafePointer(consts + m * A), bias: bias, slopes: slopes, scratch: scratch, vectors: vectorScratch,
                                lanes: laneScratch, ints: intScratch, padding: padding, outCp: outCp, tilesX: tilesX, perImage: perImage, tiles: tiles,
                                blockVectors: vectors)
        Parallel.forEachWithWorker(blocks, threads: workers) { worker, block in
            switch (m, A) {
            case (4, 10): plan.run(WinogradTile4x10(), block: block, worker: worker)
            case (4, 8): plan.run(WinogradTile4x8(), block: block, worker: worker)
            case (4, 6): plan.run(WinogradTile4x6(), block: block, worker: worker)
            case (2, 8): plan.run(WinogradTile2x8(), block: block, worker: worker)
            default: plan.run(WinogradTileAny(m: m, alpha: A), block: block, worker: worker)
            }
        }
    }
}

/// A tile shape: output tile m, input tile alpha. The fixed shapes make both compile-time
/// constants, so the generic kernels below specialize and unroll around them.
protocol WinogradTiling {
    var m: Int { get }
    var alpha: Int { get }
}
/// F(4×4, 5×5).
struct WinogradTile4x8: WinogradTiling { var m: Int { 4 }; var alpha: Int { 8 } }
/// F(4×4, 3×3).
struct WinogradTile4x6: WinogradTiling { var m: Int { 4 }; var alpha: Int { 6 } }
/// F(4×4, 7×7).
struct WinogradTile4x10: WinogradTiling { var m: Int { 4 }; var alpha: Int { 10 } }
/// F(2×2, 7×7): the same 8 points as F(4×4, 5×5), so the same Bᵀ and the same accuracy.
struct WinogradTile2x8: WinogradTiling { var m: Int { 2 }; var alpha: Int { 8 } }
/// Any other F(m, r), with run-time sizes and matrices.
struct WinogradTileAny: WinogradTiling { let m: Int, alpha: Int }

/// Where the 8 tiles of one SIMD group live: element offset of each tile's top-left sample and
/// how many of its rows / columns exist (0 rows: an empty lane past the last tile). `inRow`:
/// all 8 tiles are whole and side by side (offsets m apart), the common case the kernels unroll.
struct WinogradLanes {
    var offset: SIMD8<Int> = .zero
    var rows: SIMD8<Int> = .zero
    var cols: SIMD8<Int> = .zero
    var inRow = false
}

/// The per-call constants and buffers of one `winogradForward`, shared by its workers.
struct WinogradPlan: @unchecked Sendable {
    let g: ConvGeometry
    let input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
    /// U `[t][co/4][ci][co%4]`, Aᵀ (m × alpha), Bᵀ (alpha × alpha).
    let u: UnsafePointer<Float>, at: UnsafePointer<Float>, bt: UnsafePointer<Float>
    let bias: UnsafePointer<Float>?
    /// The fused activation's slopes (one per output channel), nil for none.
    let slopes: UnsafePointer<Float>?
    /// Per worker: V, M and the copied input plane (floats, then 8 of slack), 2·alpha² work vectors,
    /// `blockVectors` lane sets.
    let scratch: UnsafeMutablePointer<Float>, vectors: UnsafeMutablePointer<SIMD8<Float>>
    let lanes: UnsafeMutablePointer<WinogradLanes>
    /// Per worker: 5·ld integers (runs of tiles, tile columns in the copied plane).
    let ints: UnsafeMutablePointer<Int>
    /// Zero padding applied while copying the input (see `winogradForward`).
    let padding: Int
    let outCp, tilesX, perImage, tiles, blockVectors: Int

    /// Lanes of tiles `first ..< first + count` (count <= 8) for a plane of `rowStride` and
    /// `height` samples, `size` samples per tile side (alpha for the input, m for the output).
    func lanes(first: Int, count: Int, m: Int, size: Int, rowStride: Int, height: Int, imageStride: Int) -> WinogradLanes {
        var lanes = WinogradLanes()
        for l in 0..<count {
            let q = first + l, n = q / perImage, ty = (q % perImage) / tilesX, tx = q % tilesX
            lanes.offset[l] = n * imageStride + ty * m * rowStride + tx * m
            lanes.rows[l] = min(size, height - ty * m)
            lanes.cols[l] = min(size, rowStride - tx * m)
        }
        lanes.inRow = count == 8 && lanes.rows == SIMD8(repeating: size) && lanes.cols == SIMD8(repeating: size)
            && lanes.offset[7] - lanes.offset[0] == 7 * m
        return lanes
    }

    /// Input transform, products and output transform of block `block` (tiles `ld·block ..<`).
    func run<S: WinogradTiling>(_ s: S, block: Int, worker: Int) {
        let m = s.m, A = s.alpha, T = A * A
        let inC = g.inChannels, outC = g.outChannels, ih = g.inHeight, iw = g.inWidth, oh = g.outHeight, ow = g.outWidth
        let ld = 8 * blockVectors, vCount = T * inC * ld
        let v = scratch + worker * (vCount + T * outCp * ld + A * A * ld + 8), mm = v + vCount
        let work = vectors + worker * 2 * T, groupLanes = lanes + worker * blockVectors
        let first = block * ld, count = min(ld, tiles - first), groups = (count + 7) / 8
        // Runs: the block's tiles that are consecutive in one tile row of one image. Per channel,
        // each run's input rectangle (alpha rows, len·m + alpha − m columns, zero past the image)
        // is copied side by side into a small plane (row-wise copies: many cache lines in flight),
        // which the tiles are then gathered from without bounds checks.
        let cs = ld * A, copy = mm + T * outCp * ld
        let p = padding, xh = ih - 2 * p, xw = iw - 2 * p, imageCount = inC * xh * xw   // the unpadded input
        let runs = ints + worker * 5 * ld, tileCol = runs + 4 * ld
        // When every run lies inside the image (the loads of alpha 6 read 2 columns further), the
        // tiles are gathered from the input planes themselves and nothing is copied.
        let loadWidth = A == 6 ? 8 : A
        var runCount = 0, q = first, col = 0, inside = true
        while q < first + count {
            let n = q / perImage, ty = (q % perImage) / tilesX, tx = q % tilesX
            let len = min(first + count - q, tilesX - tx), width = len * m + A - m
            runs[4 * runCount] = n * imageCount
            runs[4 * runCount + 1] = ty * m - p
            runs[4 * runCount + 2] = tx * m - p
            runs[4 * runCount + 3] = col
            inside = inside && ty * m - p >= 0 && ty * m - p + A <= xh && tx * m - p >= 0
                && tx * m - p + width - A + loadWidth <= xw
            for j in 0..<len { tileCol[q - first + j] = col + j * m }
            col += width; q += len; runCount += 1
        }
        if inside {
            var i = 0
            for k in 0..<runCount {
                let c0 = runs[4 * k + 3], end = k + 1 < runCount ? runs[4 * k + 7] : col
                let origin = runs[4 * k] + runs[4 * k + 1] * xw + runs[4 * k + 2]
                for _ in 0..<((end - c0 - (A - m)) / m) { tileCol[i] += origin - c0; i += 1 }
            }
        }
        for grp in 0..<groups {
            var lanes = WinogradLanes()
            for l in 0..<min(8, count - grp * 8) { lanes.offset[l] = tileCol[grp * 8 + l] }
            lanes.inRow = count - grp * 8 >= 8 && lanes.offset[7] - lanes.offset[0] == 7 * m
            groupLanes[grp] = lanes
        }
        for ci in 0..<inC {
            let plane = input + ci * xh * xw
            if !inside {
                for k in 0..<runCount {
                    let src = plane + runs[4 * k], y0 = runs[4 * k + 1], x0 = runs[4 * k + 2], c0 = runs[4 * k + 3]
                    let width = (k + 1 < runCount ? runs[4 * k + 7] : col) - c0
                    let lo = max(0, -x0), hi = min(width, xw - x0)    // columns of the run inside the image
                    for y in 0..<A {
                        let dst = copy + y * cs + c0, iy = y0 + y
                        if iy >= 0 && iy < xh && hi > lo {
                            dst.update(repeating: 0, count: lo)
                            (dst + lo).update(from: src + iy * xw + x0 + lo, count: hi - lo)
                            (dst + hi).update(repeating: 0, count: width - hi)
                        } else {
                            dst.update(repeating: 0, count: width)
                        }
                    }
                }
            }
            let source = inside ? plane : UnsafePointer(copy), rowStride = inside ? xw : cs
            for grp in 0..<groups {
                winogradInput(s, source, rowStride, groupLanes[grp], bt, work, v + ci * ld + grp * 8, inC * ld)
            }
        }
        // alpha² products M_t = U_t · V_t.
        for t in 0..<T {
            winogradProduct(u: u + t * outCp * inC, v: UnsafePointer(v + t * inC * ld), m: mm + t * outCp * ld,
                            coBlocks: outCp / 4, inC: inC, vectors: groups, ld: ld)
        }
        // Output transform, bias (and activation), scatter into NCHW.
        let y = UnsafeMutableRawPointer(work).assumingMemoryBound(to: Float.self)
        for grp in 0..<groups {
            let lanes = lanes(first: first + grp * 8, count: min(8, count - grp * 8), m: m, size: m,
                              rowStride: ow, height: oh, imageStride: g.outputCount)
            for co in 0..<outC {
                winogradOutput(s, UnsafePointer(mm + co * ld + grp * 8), outCp * ld, at, y)
                winogradScatter(s, y, bias?[co] ?? 0, slopes?[co] ?? 1, lanes, output + co * oh * ow, ow)
            }
        }
    }
}

/// Input transform of one channel for 8 tiles: gathers the alpha×alpha tiles at `lanes.offset`
/// of a (zero-padded) plane into `work` (vector y·alpha + x, lane = tile), then writes V = Bᵀ d B as
/// `out[t·outStride]` (8 floats each) for t = i·alpha + j. `work` holds 2·alpha² vectors.
@inline(__always)
func winogradInput<S: WinogradTiling>(_ s: S, _ plane: UnsafePointer<Float>, _ rowStride: Int, _ lanes: WinogradLanes,
                                      _ bt: UnsafePointer<Float>, _ work: UnsafeMutablePointer<SIMD8<Float>>,
                                      _ out: UnsafeMutablePointer<Float>, _ outStride: Int) {
    let A = s.alpha, m = s.m
    let d = UnsafeMutableRawPointer(work).assumingMemoryBound(to: Float.self), tmp = d + A * A * 8
    if A == 8 || A == 6 || A == 10 {
        // Each lane's row is 8 consecutive samples (with alpha 6, two past the tile: callers leave
        // 8 floats of slack after the plane): load them per lane and transpose the 8x8 (lane,
        // column) block to (column, lane); alpha 10's last two columns one sample at a time.
        // Empty lanes read offset 0 (ignored later).
        for y in 0..<A {
            let o = d + y * A * 8
            withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 8) { rows in
                for l in 0..<8 { rows[l] = load8(plane + lanes.offset[l] + y * rowStride) }
                transpose8x8(rows.baseAddress!)
                for x in 0..<min(A, 8) { store8(rows[x], o + x * 8) }
            }
            if A == 10 {
                for l in 0..<8 {
                    let r = plane + lanes.offset[l] + y * rowStride
                    o[64 + l] = r[8]; o[72 + l] = r[9]
                }
            }
        }
    } else if lanes.inRow {
        let src = plane + lanes.offset[0]
        for y in 0..<A {
            let r = src + y * rowStride, o = d + y * A * 8
            for x in 0..<A { for l in 0..<8 { o[x * 8 + l] = r[l * m + x] } }
        }
    } else {
        for l in 0..<8 {
            let src = plane + lanes.offset[l]
            for y in 0..<A {
                let r = src + y * rowStride, o = d + y * A * 8 + l
                for x in 0..<A { o[x * 8] = r[x] }
            }
        }
    }
    let row = A * 8
    if s is WinogradTile4x10 {
        for x in 0..<10 { winogradBT10(d + x * 8, row, tmp + x * 8, row) }
        for i in 0..<10 { winogradBT10(tmp + i * row, 8, out + i * 10 * outStride, outStride) }
    } else if s is WinogradTile4x8 || s is WinogradTile2x8 {
        for x in 0..<8 { winogradBT8(d + x * 8, row, tmp + x * 8, row) }
        for i in 0..<8 { winogradBT8(tmp + i * row, 8, out + i * 8 * outStride, outStride) }
    } else if s is WinogradTile4x6 {
        for x in 0..<6 { winogradBT6(d + x * 8, row, tmp + x * 8, row) }
        for i in 0..<6 { winogradBT6(tmp + i * row, 8, out + i * 6 * outStride, outStride) }
    } else {
        for x in 0..<A { winogradApply(bt, A, A, d + x * 8, row, tmp + x * 8, row) }
        for i in 0..<A { winogradApply(bt, A, A, tmp + i * row, 8, out + i * A * outStride, outStride) }
    }
}

/// Transposes the 8x8 matrix `v[row][column]` in place: three rounds of taking the even then the
/// odd elements of consecutive vector pairs. One round moves element k of the 64 to
/// (k >> 1) + 32·(k & 1), a rotation of its 6-bit index by one; three rotate (row, column) to
/// (column, row).
@inline(__always)
func transpose8x8(_ v: UnsafeMutablePointer<SIMD8<Float>>) {
    for _ in 0..<3 {
        let w0 = SIMD16(lowHalf: v[0], highHalf: v[1]), w1 = SIMD16(lowHalf: v[2], highHalf: v[3])
        let w2 = SIMD16(lowHalf: v[4], highHalf: v[5]), w3 = SIMD16(lowHalf: v[6], highHalf: v[7])
        v[0] = w0.evenHalf; v[1] = w1.evenHalf; v[2] = w2.evenHalf; v[3] = w3.evenHalf
        v[4] = w0.oddHalf; v[5] = w1.oddHalf; v[6] = w2.oddHalf; v[7] = w3.oddHalf
    }
}

/// Output transform of one output channel for 8 tiles: reads M_t at `mt + t·stride` (8 floats
/// each), writes Y = Aᵀ M A as `y[(i·m + j)·8 + lane]`; `y` holds m² + m·alpha vectors.
@inline(__always)
func winogradOutput<S: WinogradTiling>(_ s: S, _ mt: UnsafePointer<Float>, _ stride: Int, _ at: UnsafePointer<Float>,
                                       _ y: UnsafeMutablePointer<Float>) {
    let m = s.m, A = s.alpha, tmp = y + m * m * 8, row = A * 8
    if s is WinogradTile4x10 {
        for x in 0..<10 { winogradAT4x10(mt + x * stride, 10 * stride, tmp + x * 8, row) }
        for i in 0..<4 { winogradAT4x10(tmp + i * row, 8, y + i * 32, 8) }
    } else if s is WinogradTile4x8 {
        for x in 0..<8 { winogradAT4x8(mt + x * stride, 8 * stride, tmp + x * 8, row) }
        for i in 0..<4 { winogradAT4x8(tmp + i * row, 8, y + i * 32, 8) }
    } else if s is WinogradTile2x8 {
        for x in 0..<8 { winogradAT2x8(mt + x * stride, 8 * stride, tmp + x * 8, row) }
        for i in 0..<2 { winogradAT2x8(tmp + i * row, 8, y + i * 16, 8) }
    } else if s is WinogradTile4x6 {
        for x in 0..<6 { winogradAT4x6(mt + x * stride, 6 * stride, tmp + x * 8, row) }
        for i in 0..<4 { winogradAT4x6(tmp + i * row, 8, y + i * 32, 8) }
    } else {
        for x in 0..<A { winogradApply(at, m, A, mt + x * stride, A * stride, tmp + x * 8, row) }
        for i in 0..<m { winogradApply(at, m, A, tmp + i * row, 8, y + i * m * 8, 8) }
    }
}

/// Writes the valid part of 8 m×m output tiles (`y[(i·m + j)·8 + lane]`) plus `bias` into a plane,
/// through the activation `v > 0 ? v : slope · v` (slope 1: none; `1 · v == v` exactly).
@inline(__always)
func winogradScatter<S: WinogradTiling>(_ s: S, _ y: UnsafePointer<Float>, _ bias: Float, _ slope: Float,
                                        _ lanes: WinogradLanes, _ plane: UnsafeMutablePointer<Float>, _ rowStride: Int) {
    let m = s.m
    @inline(__always) func act(_ v: Float) -> Float { v > 0 ? v : slope * v }
    if lanes.inRow {
        let dst = plane + lanes.offset[0]
        for i in 0..<m {
            let o = dst + i * rowStride, src = y + i * m * 8
            for l in 0..<8 { for j in 0..<m { o[l * m + j] = act(src[j * 8 + l] + bias) } }
        }
        return
    }
    for l in 0..<8 {
        let dst = plane + lanes.offset[l], rows = lanes.rows[l], cols = lanes.cols[l]
        for i in 0..<rows {
            let o = dst + i * rowStride, src = y + i * m * 8 + l
            for j in 0..<cols { o[j] = act(src[j * 8] + bias) }
        }
    }
}

/// `d[i·ds] = Σ_j mat[i][j] · s[j·ss]` (8 floats each) for a rows × cols matrix given at run
/// time: the general path for tile sizes without a fixed transform below. `skippingZeros`: test
/// each entry and skip the zeros (the sparse Aᵀ and Bᵀ); false for the small dense G of the
/// weight gradient, where the branches cost more than the products.
@inline(__always)
func winogradApply(_ mat: UnsafePointer<Float>, _ rows: Int, _ cols: Int, _ s: UnsafePointer<Float>, _ ss: Int,
                   _ d: UnsafeMutablePointer<Float>, _ ds: Int, skippingZeros: Bool = true) {
    for i in 0..<rows {
        var acc = SIMD8<Float>.zero
        for j in 0..<cols {
            let c = mat[i * cols + j]
            if !skippingZeros || c != 0 { acc = acc.addingProduct(load8(s + j * ss), SIMD8<Float>(repeating: c)) }
        }
        store8(acc, d + i * ds)
    }
}

@inline(__always) func fma8(_ a: SIMD8<Float>, _ x: SIMD8<Float>, _ c: Float) -> SIMD8<Float> {
    a.addingProduct(x, SIMD8<Float>(repeating: c))
}

// Fixed 1-D transforms for the points 0, 1, −1, 2, −2, 1/2, −1/2, ∞ (alpha = 8) and 0, 1, −1,
// 2, −2, ∞ (alpha = 6), with even/odd halves shared between the ± rows. They must equal
// `WinogradMatrices` (KernelTestsWinograd checks every entry).

/// `d[i·ds] = Σ_j Bᵀ[i][j] s[j·ss]` (8 floats each) for alpha = 6.
@inline(__always)
func winogradBT6(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    let x0 = load8(s), x1 = load8(s + ss), x2 = load8(s + 2 * ss), x3 = load8(s + 3 * ss), x4 = load8(s + 4 * ss)
    let x5 = load8(s + 5 * ss)
    store8(fma8(fma8(x4, x0, 4), x2, -5), d)
    let e1 = fma8(x4, x2, -4), o1 = fma8(x3, x1, -4)
    store8(e1 + o1, d + ds); store8(e1 - o1, d + 2 * ds)
    let e2 = x4 - x2, o2 = (x3 - x1) * 2
    store8(e2 + o2, d + 3 * ds); store8(e2 - o2, d + 4 * ds)
    store8(fma8(fma8(x5, x1, 4), x3, -5), d + 5 * ds)
}

/// `d[i·ds] = Σ_j Aᵀ[i][j] s[j·ss]` (8 floats each) for m = 4, alpha = 6.
@inline(__always)
func winogradAT4x6(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    let x0 = load8(s), x1 = load8(s + ss), x2 = load8(s + 2 * ss), x3 = load8(s + 3 * ss), x4 = load8(s + 4 * ss)
    let x5 = load8(s + 5 * ss)
    let a = x1 + x2, b = x1 - x2, c = x3 + x4, e = x3 - x4
    store8(x0 + a + c, d)
    store8(fma8(b, e, 2), d + ds)
    store8(fma8(a, c, 4), d + 2 * ds)
    store8(fma8(b + x5, e, 8), d + 3 * ds)
}

/// `d[i·ds] = Σ_j Bᵀ[i][j] s[j·ss]` (8 floats each) for alpha = 8.
@inline(__always)
func winogradBT8(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    let x0 = load8(s), x1 = load8(s + ss), x2 = load8(s + 2 * ss), x3 = load8(s + 3 * ss), x4 = load8(s + 4 * ss)
    let x5 = load8(s + 5 * ss), x6 = load8(s + 6 * ss), x7 = load8(s + 7 * ss)
    store8(fma8(fma8(x6 - x0, x2, 5.25), x4, -5.25), d)
    let e1 = fma8(x2 + x6, x4, -4.25), o1 = fma8(x1 + x5, x3, -4.25)
    store8(e1 + o1, d + ds); store8(e1 - o1, d + 2 * ds)
    let e2 = fma8(fma8(x6, x2, 0.25), x4, -1.25), o2 = fma8(fma8(x1 * 0.5, x3, -2.5), x5, 2)
    store8(e2 + o2, d + 3 * ds); store8(e2 - o2, d + 4 * ds)
    let e3 = fma8(fma8(x6, x2, 4), x4, -5), o3 = fma8(fma8(x1 * 2, x3, -2.5), x5, 0.5)
    store8(e3 + o3, d + 5 * ds); store8(e3 - o3, d + 6 * ds)
    store8(fma8(fma8(x7 - x1, x3, 5.25), x5, -5.25), d + 7 * ds)
}

/// `d[i·ds] = Σ_j Aᵀ[i][j] s[j·ss]` (8 floats each) for m = 4, alpha = 8.
@inline(__always)
func winogradAT4x8(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    let x0 = load8(s), x1 = load8(s + ss), x2 = load8(s + 2 * ss), x3 = load8(s + 3 * ss), x4 = load8(s + 4 * ss)
    let x5 = load8(s + 5 * ss), x6 = load8(s + 6 * ss), x7 = load8(s + 7 * ss)
    let a = x1 + x2, b = x1 - x2, c = x3 + x4, e = x3 - x4, f = x5 + x6, h = x5 - x6
    store8(x0 + a + c + f, d)
    store8(fma8(fma8(b, e, 2), h, 0.5), d + ds)
    store8(fma8(fma8(a, c, 4), f, 0.25), d + 2 * ds)
    store8(fma8(fma8(b + x7, e, 8), h, 0.125), d + 3 * ds)
}

/// `d[i·ds] = Σ_j Aᵀ[i][j] s[j·ss]` (8 floats each) for m = 2, alpha = 8.
@inline(__always)
func winogradAT2x8(_ s: UnsafePointer<Float>, _ ss: Int, _ d: UnsafeMutablePointer<Float>, _ ds: Int) {
    let x0 = load8(s), x1 = load8(s + ss), x2 = load8(s + 2 * ss), x3 = load8(s + 3 * ss), x4 = load8(s + 4 * ss)
    let x5 = load8(s + 5 * ss), x6 = load8(s + 6 * ss), x7 = load8(s + 7 * ss)
    store8(x0 + (x1 + x2) + (x3 + x4) + (x5 + x6), d)
    store8(fma8(fma8(x1 - x2 + x7, x3 - x4, 2), x5 - x6, 0.5), d + ds)
}

/// M[co][tile] (row stride `ld`) = Σ_ci U[co/4][ci][co%4] · V[ci][tile] (row stride `ld`) for
/// `vectors` groups of 8 tiles: 4 output channels × 3 vectors of tiles in 12 accumulators (remainders
/// 4 × 2, 4 × 1).
@inline(__always)
func winogradProduct(u: UnsafePointer<Float>, v: UnsafePointer<Float>, m: UnsafeMutablePointer<Float>,
                     coBlocks: Int, inC: Int, vectors: Int, ld: Int) {
    for cb in 0..<coBlocks {
        let ub = u + cb * inC * 4, mb = m + cb * 4 * ld
        var vi = 0
        while vi + 3 <= vectors {
            var sums = Block4x24(bias: nil, co: 0)
            var wp = ub, xp = v + vi * 8
            for _ in 0..<inC {
                sums.add(xp, weights: wp)
                wp += 4; xp += ld
            }
            sums.store(mb + vi * 8, channelStride: ld)
            vi += 3
        }
        if vi + 2 <= vectors {
            var a00 = SIMD8<Float>.zero, a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00
            var wp = ub, xp = v + vi * 8
            for _ in 0..<inC {
                let x0 = load8(xp), x1 = load8(xp + 8)
                let w0 = SIMD8<Float>(repeating: wp[0]), w1 = SIMD8<Float>(repeating: wp[1])
                a00 = a00.addingProduct(x0, w0); a01 = a01.addingProduct(x1, w0)
                a10 = a10.addingProduct(x0, w1); a11 = a11.addingProduct(x1, w1)
                let w2 = SIMD8<Float>(repeating: wp[2]), w3 = SIMD8<Float>(repeating: wp[3])
                a20 = a20.addingProduct(x0, w2); a21 = a21.addingProduct(x1, w2)
                a30 = a30.addingProduct(x0, w3); a31 = a31.addingProduct(x1, w3)
                wp += 4; xp += ld
            }
            let o = mb + vi * 8
            store8(a00, o); store8(a01, o + 8); store8(a10, o + ld); store8(a11, o + ld + 8)
            store8(a20, o + 2 * ld); store8(a21, o + 2 * ld + 8); store8(a30, o + 3 * ld); store8(a31, o + 3 * ld + 8)
            vi += 2
        }
        while vi < vectors {
            var a0 = SIMD8<Float>.zero, a1 = a0, a2 = a0, a3 = a0
            var wp = ub, xp = v + vi * 8
            for _ in 0..<inC {
                let x0 = load8(xp)
                a0 = a0.addingProduct(x0, SIMD8<Float>(repeating: wp[0]))
                a1 = a1.addingProduct(x0, SIMD8<Float>(repeating: wp[1]))
                a2 = a2.addingProduct(x0, SIMD8<Float>(repeating: wp[2]))
                a3 = a3.addingProduct(x0, SIMD8<Float>(repeating: wp[3]))
                wp += 4; xp += ld
            }
            let o = mb + vi * 8
            store8(a0, o); store8(a1, o + ld); store8(a2, o + 2 * ld); store8(a3, o + 3 * ld)
            vi += 1
        }
    }
}
