// Strided transposed convolutions whose sub-pixel phases have 3x3 taps (⌈k/s⌉ = 3: FSRCNN's
// 9x9 deconvolution at x3 and x4) as Winograd F(4×4, 3×3), fused, for inference.
//
// With s² phases (py, px) per output channel co, the uncropped result is
//     Y[co, s·a + py, s·b + px] = bias[co] + z[p, a, b],
//     z[p, a, b] = Σ_ci Σ_(u, v < 3) w'[p, ci, u, v] · x̂[ci, a + u, b + v],
// a valid 3x3 correlation of the input x̂ zero-padded by 2, with p = (co·s + py)·s + px and
//     w'[p, ci, u, v] = w[ci, co, py + s·(2 − u), px + s·(2 − v)]   (zero past the kernel).
// All phases read the same input tiles, so one input transform Bᵀ d B per channel and tile serves
// every phase: per 4x4 tile and input channel 36 products per phase instead of 9·16 (x3).
//
// Work goes by rows of 4x4 tiles. Per tile row, a worker keeps the 6 input rows the tiles read,
// every channel, zero-padded and de-interleaved by column mod 4 (so the tiles 4 columns apart
// sit in consecutive SIMD lanes); a 1x1 convolution in front (FSRCNN's expanding layer) is
// computed row by row into them, so its wide map never exists whole. Per 8 tiles: the input
// transform of every channel (V, `[t][ci][8 tiles]`, in L2), the products for up to 9 phases at a
// time in 9 accumulators, the output transform into the tile row's phase planes; the tile row is
// then interleaved into the cropped output with the bias. Each tile is computed by the same
// instructions whichever worker takes it: results do not depend on the thread count.

extension ConvKernels {
    /// Whether `transposedForward` takes the Winograd path: its sub-pixel phases have 3x3 taps,
    /// the stride is at least 3 (s² ≥ 9 phases share each input transform) and there are at least
    /// 16 input channels. `ENHANCE_WINOGRAD=0` switches it off with the other Winograd paths.
    public static func transposedWinogradApplies(inChannels: Int, outChannels: Int, kernel: Int, stride: Int) -> Bool {
        useWinograd && inChannels >= 16 && stride >= 3 && (kernel + stride - 1) / stride == 3
            && transposedDirectApplies(outChannels: outChannels, kernel: kernel, stride: stride)
    }

    /// `transposedForward`'s contract (the 1x1 `pointwise` stage included) on the Winograd path.
    static func transposedWinograd(batch: Int, inChannels inC: Int, outChannels outC: Int, inHeight H: Int, inWidth W: Int,
                                   kernel k: Int, stride s: Int, padding pad: Int, outHeight OH: Int, outWidth OW: Int,
                                   input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                   output: UnsafeMutablePointer<Float>, threads: Int, pointwise: PointwiseStage?) {
        let T = 36                                            // 6x6 transform points
        let phases = outC * s * s, groups = (phases + 8) / 9
        // Phase-plane coordinates (a, b) reaching the kept window; tiles of 4x4 from (aLo, bLo).
        let aLo = pad / s, aHi = (pad + OH - 1) / s
        let bLo = pad / s, bHi = (pad + OW - 1) / s
        let tileRows = (aHi - aLo) / 4 + 1, tilesX = (bHi - bLo) / 4 + 1
        let vectors = (tilesX + 7) / 8
        // One input row of one channel: 4 de-interleaved sub-rows of L floats; column
        // q ↔ input column bLo − 2 + q sits at (q mod 4)·L + q / 4.
        let L = vectors * 8 + 1, rowLen = 4 * L
        let zw = tilesX * 4                                   // phase-plane row, columns bLo ..<
        let mats = WinogradMatrices(m: 4, r: 3)

        // U = G w' Gᵀ, `[group][t][ci][9 phases]` (phases past the last are zero).
        let u = UnsafeMutablePointer<Float>.allocate(capacity: groups * T * inC * 9)
        defer { u.deallocate() }
        u.initialize(repeating: 0, count: groups * T * inC * 9)
        for p in 0..<phases {
            let co = p / (s * s), py = (p / s) % s, px = p % s
            for ci in 0..<inC {
                var g3 = [Double](repeating: 0, count: 9)
                for uu in 0..<3 {
                    let ky = py + s * (2 - uu)
                    if ky >= k { continue }
                    for vv in 0..<3 {
                        let kx = px + s * (2 - vv)
                        if kx < k { g3[uu * 3 + vv] = Double(weight[((ci * outC + co) * k + ky) * k + kx]) }
                    }
                }
                for i in 0..<6 {
                    for j in 0..<6 {
                        var acc = 0.0
                        for a in 0..<3 { for b in 0..<3 { acc += mats.g[i * 3 + a] * g3[a * 3 + b] * mats.g[j * 3 + b] } }
                        u[(((p / 9) * T + i * 6 + j) * inC + ci) * 9 + p % 9] = Float(acc)
                    }
                }
            }
        }
        // Output column ox reads phase px of plane column b: offset px·4·zw + b in its phase row.
        let columns = UnsafeMutablePointer<Int>.allocate(capacity: max(1, OW))
        defer { columns.deallocate() }
        for ox in 0..<OW { let xx = ox + pad; columns[ox] = (xx % s) * 4 * zw + xx / s - bLo }

        let stageInC = pointwise?.inChannels ?? inC
        let stagePacked = pointwise?.packed()
        defer { stagePacked?.deallocate() }
        let stage = UncheckedBox(pointwise.map { ($0, stagePacked!) })
        let chunks = max(1, min(tileRows, threads <= 1 ? 1 : 2 * threads))
        let workers = min(batch * chunks, max(1, threads))
        let qCount = inC * 6 * rowLen, vCount = T * inC * 8, mCount = 9 * T * 8, zCount = phases * 4 * zw
        let workCount = 40 * 8 + 36 * 8
        let perWorker = qCount + vCount + mCount + zCount + workCount + inC * rowLen
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: workers * perWorker)
        defer { scratch.deallocate() }
        let xp = SendableConstPointer(input), op = SendablePointer(output), sp = SendablePointer(scratch)
        let up = SendableConstPointer(UnsafePointer(u)), cp = SendableConstPointer(UnsafePointer(columns))
        let bp = bias.map { SendableConstPointer($0) }
        Parallel.forEachWithWorker(batch * chunks, threads: workers) { worker, task in
            let n = task / chunks, range = Parallel.chunk(task % chunks, of: chunks, count: tileRows)
            let q = sp.pointer + worker * perWorker, v = q + qCount, mm = v + vCount, z = mm + mCount
            let work = z + zCount, padded = work + workCount
            let x = xp.pointer + n * stageInC * H * W
            // Rows arrive zero-padded in `padded` (`[inC][rowLen]`, input column bLo − 2 + q at q;
            // the padding columns are zeroed once and never written), then are split 4 ways.
            let c0 = bLo - 2                                  // input column of q = 0
            let lo = min(rowLen, max(0, -c0)), hi = max(lo, min(rowLen, W - c0))
            padded.initialize(repeating: 0, count: inC * rowLen)
            /// Input row r (all channels) into row slot `slot`, zero-padded and de-interleaved.
            func fill(_ r: Int, _ slot: Int) {
                if r < 0 || r >= H {
                    for c in 0..<inC { (q + (c * 6 + slot) * rowLen).update(repeating: 0, count: rowLen) }
                    return
                }
                if hi > lo {
                    if let (pw, packed) = stage.value {
                        pointwiseRun(x: x + r * W + c0 + lo, xStride: H * W, count: hi - lo, weights: packed, bias: pw.bias,
                                     slopes: pw.slopes, out: padded + lo, outStride: rowLen)
                    } else {
                        for c in 0..<inC { (padded + c * rowLen + lo).update(from: x + (c * H + r) * W + c0 + lo, count: hi - lo) }
                    }
                }
                for c in 0..<inC {
                    let src = padded + c * rowLen, d0 = q + (c * 6 + slot) * rowLen, d1 = d0 + L, d2 = d1 + L, d3 = d2 + L
                    var j = 0
                    while j + 8 <= L {
                        let run = UnsafeRawPointer(src + 4 * j).loadUnaligned(as: SIMD32<Float>.self)
                        let even = run.evenHalf, odd = run.oddHalf
                        store8(even.evenHalf, d0 + j); store8(odd.evenHalf, d1 + j)
                        store8(even.oddHalf, d2 + j); store8(odd.oddHalf, d3 + j)
                        j += 8
                    }
                    while j < L { d0[j] = src[4 * j]; d1[j] = src[4 * j + 1]; d2[j] = src[4 * j + 2]; d3[j] = src[4 * j + 3]; j += 1 }
                }
            }
            for t in range {
                let a0 = aLo + 4 * t
                if t > range.lowerBound {
                    // Rows a0 − 2, a0 − 1 were the previous tile row's last two.
                    for c in 0..<inC { let qc = q + c * 6 * rowLen; qc.update(from: qc + 4 * rowLen, count: 2 * rowLen) }
                    for slot in 2..<6 { fill(a0 - 2 + slot, slot) }
                } else {
                    for slot in 0..<6 { fill(a0 - 2 + slot, slot) }
                }
                for vec in 0..<vectors {
                    let j0 = vec * 8
                    let tmp = work + 40 * 8
                    for c in 0..<inC {
                        let qc = q + c * 6 * rowLen + j0
                        for col in 0..<6 { winogradBT6(qc + (col & 3) * L + col >> 2, rowLen, tmp + col * 8, 48) }
                        for i in 0..<6 { winogradBT6(tmp + i * 48, 8, v + i * 6 * inC * 8 + c * 8, inC * 8) }
                    }
                    let lanes = min(8, tilesX - j0)
                    for g in 0..<groups {
                        for e in 0..<T {
                            transposedWinogradProduct9(up.pointer + (g * T + e) * inC * 9, UnsafePointer(v + e * inC * 8), inC,
                                                       mm + e * 8, T * 8)
                        }
                        for j in 0..<min(9, phases - 9 * g) {
                            winogradOutput(WinogradTile4x6(), UnsafePointer(mm + j * T * 8), 8, up.pointer, work)
                            let plane = z + (9 * g + j) * 4 * zw + 4 * j0
                            for a in 0..<4 {
                                let row = plane + a * zw
                                for l in 0..<lanes {
                                    for b in 0..<4 { row[4 * l + b] = work[(a * 4 + b) * 8 + l] }
                                }
                            }
                        }
                    }
                }
                // Interleave the phase planes of the tile row into the cropped output rows.
                for co in 0..<outC {
                    let bv = bp?.pointer[co] ?? 0
                    for al in 0..<4 {
                        for py in 0..<s {
                            let oy = s * (a0 + al) + py - pad
                            if oy < 0 || oy >= OH { continue }
                            let base = z + ((co * s + py) * s * 4 + al) * zw, dst = op.pointer + ((n * outC + co) * OH + oy) * OW
                            for ox in 0..<OW { dst[ox] = base[cp.pointer[ox]] + bv }
                        }
                    }
                }
            }
        }
    }
}

/// `m[j·ms ..< +8] = Σ_ci u[ci·9 + j] · v[ci·8 ..< +8]` for the 9 phases j of one transform point
/// and 8 tiles: 9 accumulators, one tile vector and one broadcast weight in registers.
@inline(__always)
private func transposedWinogradProduct9(_ u: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ inC: Int,
                                        _ m: UnsafeMutablePointer<Float>, _ ms: Int) {
    var a0 = SIMD8<Float>.zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0
    var wp = u, xp = v
    for _ in 0..<inC {
        let x = load8(xp)
        a0 = a0.addingProduct(x, SIMD8<Float>(repeating: wp[0])); a1 = a1.addingProduct(x, SIMD8<Float>(repeating: wp[1]))
        a2 = a2.addingProduct(x, SIMD8<Float>(repeating: wp[2])); a3 = a3.addingProduct(x, SIMD8<Float>(repeating: wp[3]))
        a4 = a4.addingProduct(x, SIMD8<Float>(repeating: wp[4])); a5 = a5.addingProduct(x, SIMD8<Float>(repeating: wp[5]))
        a6 = a6.addingProduct(x, SIMD8<Float>(repeating: wp[6])); a7 = a7.addingProduct(x, SIMD8<Float>(repeating: wp[7]))
        a8 = a8.addingProduct(x, SIMD8<Float>(repeating: wp[8]))
        wp += 9; xp += 8
    }
    store8(a0, m); store8(a1, m + ms); store8(a2, m + 2 * ms); store8(a3, m + 3 * ms); store8(a4, m + 4 * ms)
    store8(a5, m + 5 * ms); store8(a6, m + 6 * ms); store8(a7, m + 7 * ms); store8(a8, m + 8 * ms)
}
