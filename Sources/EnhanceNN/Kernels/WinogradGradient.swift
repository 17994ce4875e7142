import Foundation

// Winograd weight gradient of a stride-1 convolution (training).
//
// dW[co, ci, ky, kx] = Σ_n Σ_(oy, ox) dy[n, co, oy, ox] · x[n, ci, oy + ky, ox + kx] is, per m×m
// tile of output positions, a correlation of the input tile (alpha = m + r − 1 samples a side,
// the forward pass's tiles) with the dy tile as the filter and the r×r taps as the output:
// Winograd F(r×r, m×m) over the same points as the forward F(m×m, r×r), so the same Bᵀ:
//   dW = Aᵀ [ Σ_tiles (G dy_T Gᵀ) ⊙ (Bᵀ x_T B) ] A      (A: alpha × r, G: alpha × m).
// The tile sum is, for each of the alpha² points t, one matrix product
//   P_t[co, ci] = Σ_tile D_t[co, tile] · V_t[ci, tile],
// done by sgemm with K = tiles (thousands in a training batch). Multiplies per tile and channel
// pair drop from m²·r² to alpha² (3x3 with m = 4: 144 → 36; 5x5: 400 → 64; 7x7, m = 2: 196 → 64).
//
// Tiles are taken image by image (each image's tile list padded to a multiple of 8 with zero dy
// tiles) in chunks of whole images; per chunk the transforms run in parallel over images, then
// the products in parallel over t, each P_t accumulated chunk after chunk by one worker. The
// result is therefore the same for any thread count. Chunks of about 128 tiles keep V and D
// (about 2 MB for 64 → 32 channels) near L2: on one thread, SRCNN's 5x5 layer (batch 64 of 33²)
// took 24 ms against 29 ms with 256-tile chunks and 56 ms with the whole batch at once, AR-CNN's
// 7x7 43 against 52 ms. The transforms of a chunk are spread over (image, channel) items, so a
// chunk of one image still keeps every worker busy.

extension ConvKernels {
    /// Whether qualifying weight gradients use Winograd (`ENHANCE_WINOGRAD_GRADIENT=0` or
    /// `ENHANCE_WINOGRAD=0` switch it off, for comparisons); not meant to change while kernels run.
    nonisolated(unsafe) public static var useWinogradWeightGradient: Bool = {
        guard let v = getenv("ENHANCE_WINOGRAD_GRADIENT") else { return true }
        return String(cString: v) != "0"
    }()

    /// Whether `backwardWeight` takes the Winograd path for `g` (stride 1, a 5x5 or 7x7 kernel,
    /// at least 16 channels each side, an output of at least one tile). Measured with
    /// `ENHANCE_WINOGRAD_GRADIENT=0|1 enhance bench --case train-step` (noisy, three runs each):
    /// AR-CNN's 7x7 step 90–105 → 84–85 ms, SRCNN 9-5-5's 57–62 → 50–57 ms; for 3x3 kernels
    /// (enhance-net) the sgemm path was as fast or faster, so they keep it.
    public static func winogradBackwardWeightApplies(_ g: ConvGeometry) -> Bool {
        guard useWinograd, useWinogradWeightGradient, g.stride == 1, let m = winogradTile(kernel: g.kernel) else { return false }
        return g.kernel >= 5 && g.inChannels >= 16 && g.outChannels >= 16 && g.outHeight >= m && g.outWidth >= m
    }

    /// dW and db (both accumulated, `+=`) of a stride-1 convolution by Winograd.
    /// `tilesPerChunk` bounds the transformed tiles held at once (tests use small values).
    public static func winogradBackwardWeight(_ g: ConvGeometry, batch: Int, input: UnsafePointer<Float>,
                                              outputGradient: UnsafePointer<Float>,
                                              weightGradient: UnsafeMutablePointer<Float>,
                                              biasGradient: UnsafeMutablePointer<Float>?, threads: Int,
                                              tilesPerChunk: Int = 128) {
        precondition(g.stride == 1, "winogradBackwardWeight: stride \(g.stride) is not 1")
        guard let m = winogradTile(kernel: g.kernel) else { preconditionFailure("winogradBackwardWeight: no tile size for kernel \(g.kernel)") }
        if batch == 0 { return }
        ensureSingleThreadedBLAS()
        let r = g.kernel, mats = WinogradMatrices(m: r, r: m), A = mats.alpha, T = A * A
        let inC = g.inChannels, outC = g.outChannels
        let ih = g.inHeight, iw = g.inWidth, oh = g.outHeight, ow = g.outWidth
        let tilesY = (oh + m - 1) / m, tilesX = (ow + m - 1) / m
        let perImage = (tilesY * tilesX + 7) / 8 * 8
        let imagesPerChunk = max(1, min(batch, tilesPerChunk / perImage))
        let chunkTiles = imagesPerChunk * perImage
        // The zero-padded input plane of one image and channel: every tile is whole.
        let pw = tilesX * m + A - m, ph = tilesY * m + A - m

        // Float Bᵀ (alpha × alpha) and G (alpha × m) for the kernels.
        let consts = UnsafeMutablePointer<Float>.allocate(capacity: A * A + A * m)
        defer { consts.deallocate() }
        for i in 0..<(A * A) { consts[i] = Float(mats.bt[i]) }
        for i in 0..<(A * m) { consts[A * A + i] = Float(mats.g[i]) }
        let btp = SendableConstPointer(UnsafePointer(consts)), gp = SendableConstPointer(UnsafePointer(consts + A * A))

        // V [t][ci][tile], D [t][co][tile] of a chunk; P [t][co][ci]; per image: padded plane and
        // transform scratch (2·alpha² vectors).
        let v = UnsafeMutablePointer<Float>.allocate(capacity: T * inC * chunkTiles)
        let d = UnsafeMutablePointer<Float>.allocate(capacity: T * outC * chunkTiles)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: T * outC * inC)
        let workers = max(1, threads)
        let planeCount = ph * pw + 8    // + 8: winogradInput's row loads may read past the plane
        let planes = UnsafeMutablePointer<Float>.allocate(capacity: workers * planeCount)
        let work = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: workers * 2 * T)
        defer { v.deallocate(); d.deallocate(); p.deallocate(); planes.deallocate(); work.deallocate() }
        planes.initialize(repeating: 0, count: workers * planeCount)
        // The zero-padded dy plane of one image and channel.
        let dpw = tilesX * m, dyPlaneCount = tilesY * m * dpw
        let dyPlanes = UnsafeMutablePointer<Float>.allocate(capacity: workers * dyPlaneCount)
        dyPlanes.initialize(repeating: 0, count: workers * dyPlaneCount)
        defer { dyPlanes.deallocate() }
        let dyPlanesP = SendablePointer(dyPlanes)
        // Σ dy per (image, output channel), for the bias gradient.
        let planeSums = UnsafeMutablePointer<Double>.allocate(capacity: biasGradient == nil ? 0 : batch * outC)
        defer { planeSums.deallocate() }
        let planeSumsP = SendablePointer(planeSums), sumsPlanes = biasGradient != nil
        let vp = SendablePointer(v), dp = SendablePointer(d), pp = SendablePointer(p)
        let planesP = SendablePointer(planes), workP = SendablePointer(work)
        let xp = SendableConstPointer(input), dyp = SendableConstPointer(outputGradient)

        var first = 0
        while first < batch {
            let count = min(imagesPerChunk, batch - first), K = count * perImage
            let start = first
            // Transforms, one (image, input channel) or (image, output channel) per item.
            Parallel.forEachWithWorker(count * (inC + outC), threads: workers) { worker, item in
                let local = item % count, n = start + local, base = local * perImage
                let plane = planesP.pointer + worker * planeCount
                let scratch = workP.pointer + worker * 2 * T
                if item < count * inC {
                    let ci = item / count
                    let src = xp.pointer + (n * inC + ci) * ih * iw
                    for y in 0..<ih { (plane + y * pw).update(from: src + y * iw, count: iw) }
                    for group in 0..<(perImage / 8) {
                        var lanes = WinogradLanes()
                        let q0 = group * 8
                        for l in 0..<8 {
                            let q = q0 + l
                            lanes.offset[l] = q < tilesY * tilesX ? (q / tilesX) * m * pw + (q % tilesX) * m : 0
                        }
                        lanes.inRow = q0 + 7 < tilesY * tilesX && q0 / tilesX == (q0 + 7) / tilesX
                        let out = vp.pointer + ci * K + base + q0
                        switch (m, A) {
                        case (4, 10): winogradInput(WinogradTile4x10(), UnsafePointer(plane), pw, lanes, btp.pointer, scratch, out, inC * K)
                        case (4, 8): winogradInput(WinogradTile4x8(), UnsafePointer(plane), pw, lanes, btp.pointer, scratch, out, inC * K)
                        case (2, 8): winogradInput(WinogradTile2x8(), UnsafePointer(plane), pw, lanes, btp.pointer, scratch, out, inC * K)
                        case (4, 6): winogradInput(WinogradTile4x6(), UnsafePointer(plane), pw, lanes, btp.pointer, scratch, out, inC * K)
                        default: winogradInput(WinogradTileAny(m: m, alpha: A), UnsafePointer(plane), pw, lanes, btp.pointer, scratch, out, inC * K)
                        }
                    }
                    return
                }
                // D = G dy Gᵀ per output channel, 8 tiles in the lanes, from dy copied into a
                // zero-padded plane (whole tiles); empty lanes are zero.
                let dyPlane = dyPlanesP.pointer + worker * dyPlaneCount
                let tile = UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: Float.self), tmp = tile + m * m * 8
                let tiles = tilesY * tilesX
                do {
                    let co = item / count - inC
                    let src = dyp.pointer + (n * outC + co) * oh * ow
                    for y in 0..<oh { (dyPlane + y * dpw).update(from: src + y * ow, count: ow) }
                    if sumsPlanes { planeSumsP.pointer[n * outC + co] = floatSum(src, count: oh * ow) }
                    for group in 0..<(perImage / 8) {
                        let q0 = group * 8
                        if q0 + 7 < tiles && q0 / tilesX == (q0 + 7) / tilesX {
                            let row0 = dyPlane + (q0 / tilesX) * m * dpw + (q0 % tilesX) * m
                            for i in 0..<m {
                                let row = row0 + i * dpw, o = tile + i * m * 8
                                for l in 0..<8 { for j in 0..<m { o[j * 8 + l] = row[l * m + j] } }
                            }
                        } else {
                            for l in 0..<8 {
                                let q = q0 + l
                                if q < tiles {
                                    let at = dyPlane + (q / tilesX) * m * dpw + (q % tilesX) * m
                                    for i in 0..<m { for j in 0..<m { tile[(i * m + j) * 8 + l] = at[i * dpw + j] } }
                                } else {
                                    for e in 0..<(m * m) { tile[e * 8 + l] = 0 }
                                }
                            }
                        }
                        for x in 0..<m { winogradApply(gp.pointer, A, m, tile + x * 8, m * 8, tmp + x * 8, m * 8, skippingZeros: false) }
                        let out = dp.pointer + co * K + base + q0
                        for i in 0..<A { winogradApply(gp.pointer, A, m, tmp + i * m * 8, 8, out + i * A * outC * K, outC * K, skippingZeros: false) }
                    }
                }
            }
            // P_t (+)= D_t · V_tᵀ.
            let beta: Float = first == 0 ? 0 : 1
            Parallel.forEach(T, threads: workers) { t in
                BLAS.sgemm(transB: true, m: outC, n: inC, k: K, a: UnsafePointer(dp.pointer + t * outC * K), lda: K,
                           b: UnsafePointer(vp.pointer + t * inC * K), ldb: K, beta: beta, c: pp.pointer + t * outC * inC, ldc: inC)
            }
            first += count
        }

        // dW += Aᵀ P A per (co, ci), in Double.
        let wg = SendablePointer(weightGradient)
        // Four input channels at a time in SIMD4<Double> lanes (consecutive in P).
        Parallel.forEach(outC, threads: workers) { co in
            mats.at.withUnsafeBufferPointer { atBuffer in
                withUnsafeTemporaryAllocation(of: SIMD4<Double>.self, capacity: r * A) { buffer in
                    let at = atBuffer.baseAddress!, tmp = buffer.baseAddress!
                    for ci in stride(from: 0, to: inC, by: 4) {
                        let lanes = min(4, inC - ci)
                        for ky in 0..<r {
                            for j in 0..<A {
                                var s = SIMD4<Double>.zero
                                for i in 0..<A {
                                    let src = pp.pointer + ((i * A + j) * outC + co) * inC + ci
                                    var v = SIMD4<Double>.zero
                                    if lanes == 4 {
                                        v = SIMD4<Double>(UnsafeRawPointer(src).loadUnaligned(as: SIMD4<Float>.self))
                                    } else {
                                        for l in 0..<lanes { v[l] = Double(src[l]) }
                                    }
                                    s += at[ky * A + i] * v
                                }
                                tmp[ky * A + j] = s
                            }
                        }
                        for ky in 0..<r {
                            for kx in 0..<r {
                                var s = SIMD4<Double>.zero
                                for j in 0..<A { s += tmp[ky * A + j] * at[kx * A + j] }
                                for l in 0..<lanes { wg.pointer[((co * inC + ci + l) * r + ky) * r + kx] += Float(s[l]) }
                            }
                        }
                    }
                }
            }
        }
        if let db = biasGradient {
            for co in 0..<outC {
                var s = 0.0
                for n in 0..<batch { s += planeSums[n * outC + co] }
                db[co] += Float(s)
            }
        }
    }
}

/// Σ p[0 ..< count] in a fixed order: four SIMD8 Float accumulators (a plane of a few thousand
/// samples), then their lanes and the tail in Double.
func floatSum(_ p: UnsafePointer<Float>, count: Int) -> Double {
    var a0 = SIMD8<Float>.zero, a1 = a0, a2 = a0, a3 = a0
    var i = 0
    while i + 32 <= count {
        a0 += load8(p + i); a1 += load8(p + i + 8); a2 += load8(p + i + 16); a3 += load8(p + i + 24)
        i += 32
    }
    let lanes = (a0 + a1) + (a2 + a3)
    var s = 0.0
    for l in 0..<8 { s += Double(lanes[l]) }
    while i < count { s += Double(p[i]); i += 1 }
    return s
}
