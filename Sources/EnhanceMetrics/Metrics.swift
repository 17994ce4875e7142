import Dispatch
import EnhanceImage
import Foundation

/// Full-reference image-quality metrics as the super-resolution and deblocking literature computes them.
///
/// All functions take one plane: either a single-plane ``Image`` (values on the image scale, so the
/// peak is 1: an 8-bit value `v` is `v / 255`) or a row-major `[Float]` buffer of `width * height`
/// samples with an explicit `peak` (255 for samples on the 0...255 scale). Arithmetic is in Double.
/// PSNR and SSIM are scale-invariant once `peak` matches the data, so both forms give the same numbers.
public enum Metrics {
    // MARK: PSNR, RMSE

    /// Mean squared error between two equally long buffers.
    public static func mse(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "mse of buffers of different sizes: \(a.count) vs \(b.count)")
        precondition(!a.isEmpty, "mse of empty buffers")
        var sum = 0.0
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                for i in 0..<pa.count {
                    let d = Double(pa[i]) - Double(pb[i])
                    sum += d * d
                }
            }
        }
        return sum / Double(a.count)
    }

    /// Root mean squared error, in the buffers' units.
    public static func rmse(_ a: [Float], _ b: [Float]) -> Double { mse(a, b).squareRoot() }

    /// `10 log10(peak² / MSE)` in dB; identical buffers give `+infinity`.
    public static func psnr(_ a: [Float], _ b: [Float], peak: Double) -> Double {
        psnr(mse: mse(a, b), peak: peak)
    }

    /// PSNR from a mean squared error (`+infinity` when it is 0).
    public static func psnr(mse: Double, peak: Double) -> Double {
        mse == 0 ? .infinity : 10 * log10(peak * peak / mse)
    }

    // MARK: SSIM

    /// The 1-D factor of MATLAB `fspecial('gaussian', 11, 1.5)` (the 2-D window is its outer product).
    public static let ssimWindow: [Double] = {
        let g = (-5...5).map { x in exp(-Double(x * x) / (2 * 1.5 * 1.5)) }
        let s = g.reduce(0, +)
        return g.map { $0 / s }
    }()

    /// Mean SSIM (Wang, Bovik, Sheikh, Simoncelli 2004; reference `ssim.m` without down-sampling):
    /// 11x11 Gaussian window (sigma 1.5), `K1 = 0.01`, `K2 = 0.03`, `L = peak`, over the valid region
    /// only (`filter2(..., 'valid')`): the mean of `(width - 10) x (height - 10)` local values.
    public static func ssim(_ a: [Float], _ b: [Float], width: Int, height: Int, peak: Double) -> Double {
        precondition(a.count == width * height && b.count == width * height,
                     "ssim needs two \(width)x\(height) planes, got \(a.count) and \(b.count) samples")
        precondition(width >= 11 && height >= 11, "ssim needs at least 11x11 samples, got \(width)x\(height)")
        let win = ssimWindow, k = win.count
        let ow = width - k + 1, oh = height - k + 1
        let c1 = (0.01 * peak) * (0.01 * peak), c2 = (0.03 * peak) * (0.03 * peak)
        // Horizontal pass: 5 moment maps (a, b, a², b², ab), each height x ow.
        let n = height * ow
        var h = [Double](repeating: 0, count: 5 * n)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                h.withUnsafeMutableBufferPointer { ph in
                    win.withUnsafeBufferPointer { pw in
                        for y in 0..<height {
                            let ra = pa.baseAddress! + y * width, rb = pb.baseAddress! + y * width
                            let o = y * ow
                            for x in 0..<ow {
                                var s1 = 0.0, s2 = 0.0, s11 = 0.0, s22 = 0.0, s12 = 0.0
                                for t in 0..<k {
                                    let u = Double(ra[x + t]), v = Double(rb[x + t]), w = pw[t]
                                    s1 += w * u; s2 += w * v
                                    s11 += w * u * u; s22 += w * v * v; s12 += w * u * v
                                }
                                ph[o + x] = s1; ph[n + o + x] = s2
                                ph[2 * n + o + x] = s11; ph[3 * n + o + x] = s22; ph[4 * n + o + x] = s12
                            }
                        }
                    }
                }
            }
        }
        // Vertical pass and the SSIM map, one output row at a time.
        var total = 0.0
        h.withUnsafeBufferPointer { ph in
            win.withUnsafeBufferPointer { pw in
                var m = [Double](repeating: 0, count: 5 * ow)
                m.withUnsafeMutableBufferPointer { pm in
                    for y in 0..<oh {
                        for i in 0..<(5 * ow) { pm[i] = 0 }
                        for t in 0..<k {
                            let w = pw[t]
                            for c in 0..<5 {
                                let src = ph.baseAddress! + c * n + (y + t) * ow
                                let dst = pm.baseAddress! + c * ow
                                for x in 0..<ow { dst[x] += w * src[x] }
                            }
                        }
                        var rowSum = 0.0
                        for x in 0..<ow {
                            let mu1 = pm[x], mu2 = pm[ow + x]
                            let s11 = pm[2 * ow + x] - mu1 * mu1
                            let s22 = pm[3 * ow + x] - mu2 * mu2
                            let s12 = pm[4 * ow + x] - mu1 * mu2
                            rowSum += ((2 * mu1 * mu2 + c1) * (2 * s12 + c2))
                                / ((mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2))
                        }
                        total += rowSum
                    }
                }
            }
        }
        return total / Double(ow * oh)
    }

    // MARK: PSNR-B

    /// Blocking-effect factor of one plane (Yim and Bovik, IEEE TIP 20(1), 2011, eqs. 1-5), in
    /// squared sample units: `eta * (D_B - D_Bc)` when `D_B > D_Bc`, else 0, where `D_B` is the mean
    /// squared difference between horizontally or vertically neighbouring samples across a block
    /// boundary (between columns `B k - 1` and `B k`, likewise rows) and `D_Bc` the same over every
    /// other neighbouring pair, and `eta = log2(B) / log2(min(width, height))`. The pair counts are
    /// the true counts (`floor((width - 1) / B)` boundary columns per row), which equal the paper's
    /// `N_HB = height (width / B - 1)` when the size is a multiple of `B`.
    public static func blockingEffectFactor(_ a: [Float], width: Int, height: Int, blockSize: Int = 8) -> Double {
        precondition(a.count == width * height, "BEF needs a \(width)x\(height) plane, got \(a.count) samples")
        precondition(blockSize >= 2 && width >= 2 && height >= 2 && min(width, height) > 1,
                     "BEF needs block size >= 2 and at least 2x2 samples, got B=\(blockSize) \(width)x\(height)")
        var dB = 0.0, dBc = 0.0
        a.withUnsafeBufferPointer { p in
            for y in 0..<height {
                let row = p.baseAddress! + y * width
                for x in 0..<(width - 1) {
                    let d = Double(row[x]) - Double(row[x + 1])
                    if (x + 1) % blockSize == 0 { dB += d * d } else { dBc += d * d }
                }
            }
            for y in 0..<(height - 1) {
                let r0 = p.baseAddress! + y * width, r1 = r0 + width
                let boundary = (y + 1) % blockSize == 0
                var s = 0.0
                for x in 0..<width {
                    let d = Double(r0[x]) - Double(r1[x])
                    s += d * d
                }
                if boundary { dB += s } else { dBc += s }
            }
        }
        let hb = (width - 1) / blockSize, vb = (height - 1) / blockSize
        let nB = height * hb + width * vb
        let nBc = height * (width - 1 - hb) + width * (height - 1 - vb)
        guard nB > 0, nBc > 0 else { return 0 }
        let meanB = dB / Double(nB), meanBc = dBc / Double(nBc)
        guard meanB > meanBc else { return 0 }
        let eta = log2(Double(blockSize)) / log2(Double(min(width, height)))
        return eta * (meanB - meanBc)
    }

    /// PSNR-B (Yim and Bovik 2011): `10 log10(peak² / (MSE + BEF(test)))`, the blocking-effect
    /// factor measured on the test (restored or decoded) image; `+infinity` when both terms are 0.
    public static func psnrB(_ test: [Float], _ reference: [Float], width: Int, height: Int,
                             peak: Double, blockSize: Int = 8) -> Double {
        psnr(mse: mse(test, reference) + blockingEffectFactor(test, width: width, height: height, blockSize: blockSize),
             peak: peak)
    }

    // MARK: Single-plane images (peak 1: values on the image's 0...1 scale)

    private static func checkPlanes(_ a: Image, _ b: Image, _ what: String) {
        precondition(a.channels == 1 && b.channels == 1,
                     "\(what) works on single planes, got \(a.channels) and \(b.channels) channels (use luma())")
        precondition(a.width == b.width && a.height == b.height,
                     "\(what) of images of different sizes: \(a.width)x\(a.height) vs \(b.width)x\(b.height)")
    }

    /// PSNR of two single-plane images on the 0...1 scale (peak 1, i.e. 255 for 8-bit data).
    public static func psnr(_ test: Image, _ reference: Image) -> Double {
        checkPlanes(test, reference, "psnr")
        return psnr(test.pixels, reference.pixels, peak: 1)
    }

    /// RMSE of two single-plane images, on the 0...1 scale.
    public static func rmse(_ test: Image, _ reference: Image) -> Double {
        checkPlanes(test, reference, "rmse")
        return rmse(test.pixels, reference.pixels)
    }

    /// Mean SSIM of two single-plane images (`L` = 1 on the 0...1 scale, i.e. 255 for 8-bit data).
    public static func ssim(_ test: Image, _ reference: Image) -> Double {
        checkPlanes(test, reference, "ssim")
        return ssim(test.pixels, reference.pixels, width: test.width, height: test.height, peak: 1)
    }

    /// PSNR-B of two single-plane images, BEF on `test` (8x8 blocks by default).
    public static func psnrB(_ test: Image, _ reference: Image, blockSize: Int = 8) -> Double {
        checkPlanes(test, reference, "psnrB")
        return psnrB(test.pixels, reference.pixels, width: test.width, height: test.height, peak: 1, blockSize: blockSize)
    }
}
