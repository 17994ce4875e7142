// Strided transposed convolutions whose sub-pixel phases have 3x3 taps (⌈k/s⌉ = 3: FSRCNN's
// 9x9 deconvolution at x3 and x4) as Winograd F(4×4, 3×3), for inference.
//
// With s² phases (py, px) per output channel co, the uncropped result is
//     Y[co, s·a + py, s·b + px] = bias[co] + z[p, a, b],
//     z[p, a, b] = Σ_ci Σ_(u, v < 3) w'[p, ci, u, v] · x[ci, a − 2 + u, b − 2 + v],
// a valid 3x3 correlation of the input zero-padded by 2, with p = (co·s + py)·s + px and
//     w'[p, ci, u, v] = w[ci, co, py + s·(2 − u), px + s·(2 − v)]   (zero past the kernel).
// All phases read the same input tiles, so one input transform per channel and tile serves every
// phase: per 4x4 tile and input channel 36 products per phase instead of 9·16 (x3). The planes
// come from `winogradRows` (WinogradRows.swift, which also fuses the 1x1 in front); each tile row
// is then interleaved into the cropped output with the bias.

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
        // Phase-plane coordinates (a, b) reaching the kept window; tiles of 4x4 from (aLo, bLo).
        let aLo = pad / s, aHi = (pad + OH - 1) / s
        let bLo = pad / s, bHi = (pad + OW - 1) / s
        let tilesX = (bHi - bLo) / 4 + 1, zw = 4 * tilesX
        let weights = WinogradRowsWeights(planes: outC * s * s, inChannels: inC) { p, ci, u, v in
            let co = p / (s * s), ky = (p / s) % s + s * (2 - u), kx = p % s + s * (2 - v)
            return ky < k && kx < k ? weight[((ci * outC + co) * k + ky) * k + kx] : 0
        }
        defer { weights.deallocate() }
        // Output column ox reads phase px of plane column b: offset px·4·zw + b in its phase row.
        let columns = UnsafeMutablePointer<Int>.allocate(capacity: max(1, OW))
        defer { columns.deallocate() }
        for ox in 0..<OW { let xx = ox + pad; columns[ox] = (xx % s) * 4 * zw + xx / s - bLo }
        let op = SendablePointer(output), cp = SendableConstPointer(UnsafePointer(columns))
        let bp = bias.map { SendableConstPointer($0) }
        winogradRows(batch: batch, inChannels: inC, height: H, width: W, weights: weights, tileRows: (aHi - aLo) / 4 + 1,
                     tilesX: tilesX, rowOrigin: aLo - 2, colOrigin: bLo - 2, input: input, pointwise: pointwise,
                     threads: threads) { n, t, z, zw in
            // Interleave the phase planes of the tile row into the cropped output rows.
            for co in 0..<outC {
                let bv = bp?.pointer[co] ?? 0
                for al in 0..<4 {
                    for py in 0..<s {
                        let oy = s * (aLo + 4 * t + al) + py - pad
                        if oy < 0 || oy >= OH { continue }
                        let base = z + ((co * s + py) * s * 4 + al) * zw, dst = op.pointer + ((n * outC + co) * OH + oy) * OW
                        for ox in 0..<OW { dst[ox] = base[cp.pointer[ox]] + bv }
                    }
                }
            }
        }
    }
}
