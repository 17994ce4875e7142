// Row-streamed Winograd F(4×4, 3×3) for 3x3 correlations to a few output planes: the engine of
// the strided transposed convolutions (TransposedWinograd.swift), whose planes are sub-pixel
// phases. (Tried for FSRCNN's 12-channel 3x3 mapping layers too, as planes = output channels:
// 0.41 ms against 0.39 direct for 170², the transforms cost as much as the products they save;
// see docs/performance.md.)
//
// Output plane p of one image is z[p, a, b] = Σ_ci Σ_(u, v < 3) w[p, ci, u, v] · x[ci, r0 + a + u,
// c0 + b + v], with the input x zero outside the image and (r0, c0) a fixed origin. Work goes by
// rows of 4x4 tiles. Per tile row, a worker keeps the 6 input rows the tiles read, every channel,
// zero-padded and de-interleaved by column mod 4 (so the tiles 4 columns apart sit in consecutive
// SIMD lanes); a 1x1 convolution in front (FSRCNN's expanding layer) is computed row by row into
// them, so its wide map never exists whole. Per 8 tiles: the input transform Bᵀ d B of every
// channel (V, `[t][ci][8 tiles]`), the products for 9 planes at a time in 9 accumulators, and
// the output transform into the tile row's planes `[p][4 rows][zw]`, which a caller-supplied
// `emit` then writes out. Each tile is computed by the same instructions whichever
// worker takes it: results do not depend on the thread count.

/// The transformed weights U = G w Gᵀ of a `winogradRows` call, `[pass][t][ci][group]` (planes
/// past the last are zero).
struct WinogradRowsWeights {
    /// Planes per product pass (the 9-accumulator product).
    static let group = 9
    let u: UnsafeMutablePointer<Float>
    let planes, inChannels: Int
    var passes: Int { (planes + Self.group - 1) / Self.group }

    /// `tap(p, ci, u, v)` is w[p, ci, u, v]. U is computed in Double as (G g) Gᵀ.
    init(planes: Int, inChannels: Int, tap: (Int, Int, Int, Int) -> Float) {
        self.planes = planes; self.inChannels = inChannels
        let T = 36, group = Self.group, count = (planes + group - 1) / group * T * inChannels * group
        let mats = WinogradMatrices(m: 4, r: 3)
        u = .allocate(capacity: count)
        u.initialize(repeating: 0, count: count)
        var g = [Double](repeating: 0, count: 9), gg = [Double](repeating: 0, count: 18)
        for p in 0..<planes {
            for ci in 0..<inChannels {
                for a in 0..<3 { for b in 0..<3 { g[a * 3 + b] = Double(tap(p, ci, a, b)) } }
                for i in 0..<6 {
                    for b in 0..<3 { gg[i * 3 + b] = mats.g[i * 3] * g[b] + mats.g[i * 3 + 1] * g[3 + b] + mats.g[i * 3 + 2] * g[6 + b] }
                }
                for i in 0..<6 {
                    for j in 0..<6 {
                        let acc = gg[i * 3] * mats.g[j * 3] + gg[i * 3 + 1] * mats.g[j * 3 + 1] + gg[i * 3 + 2] * mats.g[j * 3 + 2]
                        u[(((p / group) * T + i * 6 + j) * inChannels + ci) * group + p % group] = Float(acc)
                    }
                }
            }
        }
    }

    func deallocate() { u.deallocate() }
}

extension ConvKernels {
    /// Runs the planes of `weights` over `batch` images `[stageInC or inC, H, W]` (through the
    /// 1x1 `pointwise` stage when given), tile rows `0..<tileRows` of `tilesX` tiles from the
    /// input origin (`rowOrigin`, `colOrigin`), and calls `emit(n, tileRow, z, zw)` with each
    /// finished tile row: plane p's row a (0..<4) at `z + (p·4 + a)·zw`, column b of the tile
    /// row at `b` (zw = 4·tilesX). `emit` runs on the worker threads, once per tile row.
    static func winogradRows(batch: Int, inChannels inC: Int, height H: Int, width W: Int, weights: WinogradRowsWeights,
                             tileRows: Int, tilesX: Int, rowOrigin: Int, colOrigin c0: Int,
                             input: UnsafePointer<Float>, pointwise: PointwiseStage?, threads: Int,
                             emit: @escaping @Sendable (Int, Int, UnsafePointer<Float>, Int) -> Void) {
        precondition(weights.inChannels == inC, "winogradRows: weights for \(weights.inChannels) channels, input has \(inC)")
        let T = 36, P = weights.planes, G = WinogradRowsWeights.group, passes = weights.passes
        let vectors = (tilesX + 7) / 8
        // One input row of one channel: 4 de-interleaved sub-rows of L floats; column
        // q ↔ input column c0 + q sits at (q mod 4)·L + q / 4.
        // (L is a multiple of 8 so that, with the 64-byte aligned scratch, rows and V stay aligned.)
        let L = vectors * 8 + 8, rowLen = 4 * L
        let zw = tilesX * 4
        let stageInC = pointwise?.inChannels ?? inC
        let stagePacked = pointwise?.packed()
        defer { stagePacked?.deallocate() }
        let stage = UncheckedBox(pointwise.map { ($0, stagePacked!) })
        let chunks = max(1, min(tileRows, threads <= 1 ? 1 : 2 * threads))
        let workers = min(batch * chunks, max(1, threads))
        let qCount = inC * 6 * rowLen, vCount = T * inC * 8, mCount = G * T * 8, zCount = P * 4 * zw
        let workCount = 40 * 8 + 36 * 8
        let perWorker = qCount + vCount + mCount + zCount + workCount + inC * rowLen
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: workers * perWorker * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: workers * perWorker)
        defer { scratch.deallocate() }
        let xp = SendableConstPointer(input), sp = SendablePointer(scratch), up = SendableConstPointer(UnsafePointer(weights.u))
        Parallel.forEachWithWorker(batch * chunks, threads: workers) { worker, task in
            let n = task / chunks, range = Parallel.chunk(task % chunks, of: chunks, count: tileRows)
            let q = sp.pointer + worker * perWorker, v = q + qCount, mm = v + vCount, z = mm + mCount
            let work = z + zCount, padded = work + workCount
            let x = xp.pointer + n * stageInC * H * W
            // Rows arrive zero-padded in `padded` (`[inC][rowLen]`, input column c0 + q at q; the
            // padding columns are zeroed once and never written), then are split 4 ways.
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
                let r0 = rowOrigin + 4 * t
                if t > range.lowerBound {
                    // The previous tile row's last two window rows are this one's first two.
                    for c in 0..<inC { let qc = q + c * 6 * rowLen; qc.update(from: qc + 4 * rowLen, count: 2 * rowLen) }
                    for slot in 2..<6 { fill(r0 + slot, slot) }
                } else {
                    for slot in 0..<6 { fill(r0 + slot, slot) }
                }
                for vec in 0..<vectors {
                    let j0 = vec * 8, tmp = work + 40 * 8
                    for c in 0..<inC {
                        let qc = q + c * 6 * rowLen + j0
                        for col in 0..<6 { winogradBT6(qc + (col & 3) * L + col >> 2, rowLen, tmp + col * 8, 48) }
                        for i in 0..<6 { winogradBT6(tmp + i * 48, 8, v + i * 6 * inC * 8 + c * 8, inC * 8) }
                    }
                    let lanes = min(8, tilesX - j0)
                    for pass in 0..<passes {
                        let ug = up.pointer + pass * T * inC * G
                        for e in 0..<T {
                            winogradRowsProduct9(ug + e * inC * 9, UnsafePointer(v + e * inC * 8), inC, mm + e * 8, T * 8)
                        }
                        for j in 0..<min(G, P - G * pass) {
                            winogradOutput(WinogradTile4x6(), UnsafePointer(mm + j * T * 8), 8, UnsafePointer(work), work)
                            let plane = z + (G * pass + j) * 4 * zw + 4 * j0
                            for a in 0..<4 {
                                let row = plane + a * zw
                                for l in 0..<lanes {
                                    for b in 0..<4 { row[4 * l + b] = work[(a * 4 + b) * 8 + l] }
                                }
                            }
                        }
                    }
                }
                emit(n, t, UnsafePointer(z), zw)
            }
        }
    }
}

/// `m[j·ms ..< +8] = Σ_ci u[ci·9 + j] · v[ci·8 ..< +8]` for 9 planes j of one transform point and
/// 8 tiles: 9 accumulators, one tile vector and one broadcast weight in registers.
@inline(__always)
private func winogradRowsProduct9(_ u: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ inC: Int,
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
