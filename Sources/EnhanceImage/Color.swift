import Foundation

/// BT.601 studio-swing colour conversion, exactly as MATLAB's `rgb2ycbcr` / `ycbcr2rgb`.
///
/// On the 0...255 scale, with R, G, B in `0...1`:
///
///     Y  =  16 +  65.481 R + 128.553 G +  24.966 B
///     Cb = 128 -  37.797 R -  74.203 G + 112.000 B
///     Cr = 128 + 112.000 R -  93.786 G -  18.214 B
///
/// An ``Image`` with ``ColorModel/ycbcr`` stores each of these divided by 255, as MATLAB does for
/// `double` images (so Y spans 16/255...235/255 for in-gamut colours).
public enum BT601 {
    /// Rows of MATLAB's `origT`: coefficients on the 0...255 output scale for R, G, B in 0...1.
    public static let matrix: [[Double]] = [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ]
    /// MATLAB's `origOffset`, on the 0...255 scale.
    public static let offset: [Double] = [16, 128, 128]

    /// Inverse of ``matrix`` (MATLAB computes `T^-1` numerically; this is the same inverse in Double).
    public static let inverse: [[Double]] = {
        let m = matrix
        let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
            - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
        var inv = [[Double]](repeating: [0, 0, 0], count: 3)
        for r in 0..<3 {
            for c in 0..<3 {
                // cofactor of (c, r), transposed
                let r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3
                inv[r][c] = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det
            }
        }
        return inv
    }()

    /// Y on the 0...255 scale of an 8-bit RGB triple, rounded as MATLAB's `rgb2ycbcr` on `uint8`
    /// input (`imlincomb` in double, then rounded half away from zero and saturated).
    @inlinable
    public static func luma8(r: Int, g: Int, b: Int) -> UInt8 {
        let y = (65.481 / 255) * Double(r) + (128.553 / 255) * Double(g) + (24.966 / 255) * Double(b) + 16
        return UInt8(min(max(y, 0), 255).rounded(.toNearestOrAwayFromZero))
    }
}

extension Image {
    /// Converts to ``ColorModel/ycbcr`` as MATLAB's `rgb2ycbcr` on a `double` image (no rounding).
    ///
    /// - `.rgb`, `.rgba`: the colour channels (alpha is dropped: YCbCr has no alpha plane).
    /// - `.grey`, `.greyAlpha`: grey is taken as R = G = B (Cb = Cr = 128/255).
    /// - `.ycbcr`: returned unchanged.
    public func toYCbCr() -> Image {
        if colorModel == .ycbcr { return self }
        let n = planeSize
        let colourPlanes = colorModel == .rgb || colorModel == .rgba ? 3 : 1
        var out = [Float](repeating: 0, count: 3 * n)
        let m = BT601.matrix, o = BT601.offset
        let m00 = m[0][0] / 255, m01 = m[0][1] / 255, m02 = m[0][2] / 255
        let m10 = m[1][0] / 255, m11 = m[1][1] / 255, m12 = m[1][2] / 255
        let m20 = m[2][0] / 255, m21 = m[2][1] / 255, m22 = m[2][2] / 255
        let o0 = o[0] / 255, o1 = o[1] / 255, o2 = o[2] / 255
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let rOff = 0, gOff = colourPlanes == 3 ? n : 0, bOff = colourPlanes == 3 ? 2 * n : 0
                for i in 0..<n {
                    let r = Double(src[rOff + i]), g = Double(src[gOff + i]), b = Double(src[bOff + i])
                    dst[i] = Float(o0 + m00 * r + m01 * g + m02 * b)
                    dst[n + i] = Float(o1 + m10 * r + m11 * g + m12 * b)
                    dst[2 * n + i] = Float(o2 + m20 * r + m21 * g + m22 * b)
                }
            }
        }
        return Image(width: width, height: height, colorModel: .ycbcr, pixels: out,
                     sourceBitDepth: sourceBitDepth, iccProfile: iccProfile)
    }

    /// Converts a ``ColorModel/ycbcr`` image to `.rgb` as MATLAB's `ycbcr2rgb` on a `double`
    /// image: `rgb = T⁻¹ (255 · ycbcr − offset)`, each result clamped to `0...1` as MATLAB does
    /// for floating-point images. Any other colour model is returned unchanged.
    public func toRGB() -> Image {
        guard colorModel == .ycbcr else { return self }
        let n = planeSize
        var out = [Float](repeating: 0, count: 3 * n)
        let t = BT601.inverse, o = BT601.offset
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let y = Double(src[i]) * 255 - o[0]
                    let cb = Double(src[n + i]) * 255 - o[1]
                    let cr = Double(src[2 * n + i]) * 255 - o[2]
                    for c in 0..<3 {
                        let v = t[c][0] * y + t[c][1] * cb + t[c][2] * cr
                        dst[c * n + i] = Float(min(max(v, 0), 1))
                    }
                }
            }
        }
        return Image(width: width, height: height, colorModel: .rgb, pixels: out,
                     sourceBitDepth: sourceBitDepth, iccProfile: iccProfile)
    }

    /// The luma plane as a single-plane `.grey` image, on the image's scale (Y/255 for colour).
    ///
    /// - `.grey`: the image itself, unscaled (a one-channel image is its own Y).
    /// - `.greyAlpha`: the grey plane.
    /// - `.rgb`, `.rgba`: BT.601 Y of the colour channels, as ``toYCbCr()``.
    /// - `.ycbcr`: the Y plane.
    ///
    /// With `quantized: true` the result matches MATLAB on a `uint8` image: the input samples
    /// are first taken as 8-bit values (rounded to the 8-bit grid, as the image would be stored),
    /// and the luma is rounded to the 8-bit grid (`rgb2ycbcr` on `uint8` returns `uint8`).
    public func luma(quantized: Bool = false) -> Image {
        var y: Image
        switch colorModel {
        case .grey:
            y = self
        case .greyAlpha, .ycbcr:
            y = plane(0)
        case .rgb, .rgba:
            if quantized { return luma8Plane() }
            let n = planeSize
            var out = [Float](repeating: 0, count: n)
            let m = BT601.matrix[0]
            let kr = m[0] / 255, kg = m[1] / 255, kb = m[2] / 255, o = BT601.offset[0] / 255
            pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<n {
                        dst[i] = Float(o + kr * Double(src[i]) + kg * Double(src[n + i]) + kb * Double(src[2 * n + i]))
                    }
                }
            }
            y = Image(width: width, height: height, colorModel: .grey, pixels: out,
                      sourceBitDepth: sourceBitDepth, iccProfile: iccProfile)
        }
        y.colorModel = .grey
        return quantized ? y.quantized8() : y
    }

    /// Y of the 8-bit-rounded RGB samples, rounded to 8 bits (MATLAB `rgb2ycbcr` on `uint8`).
    private func luma8Plane() -> Image {
        let n = planeSize
        // The three products of ``BT601/luma8(r:g:b:)`` for every 8-bit value: the same IEEE
        // operations, looked up instead of recomputed.
        let kr = (0..<256).map { (65.481 / 255) * Double($0) }
        let kg = (0..<256).map { (128.553 / 255) * Double($0) }
        let kb = (0..<256).map { (24.966 / 255) * Double($0) }
        let grid = (0..<256).map { Float($0) / 255 }
        var out = [Float](repeating: 0, count: n)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let r = Int(Image.quantize8(src[i]))
                    let g = Int(Image.quantize8(src[n + i]))
                    let b = Int(Image.quantize8(src[2 * n + i]))
                    let y = kr[r] + kg[g] + kb[b] + 16
                    dst[i] = grid[Int(min(max(y, 0), 255).rounded(.toNearestOrAwayFromZero))]
                }
            }
        }
        return Image(width: width, height: height, colorModel: .grey, pixels: out,
                     sourceBitDepth: 8, iccProfile: iccProfile)
    }
}
