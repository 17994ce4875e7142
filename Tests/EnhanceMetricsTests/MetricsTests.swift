import EnhanceImage
import EnhanceMetrics
import Foundation
import Testing

@Suite("Metrics (PSNR, SSIM, PSNR-B, RMSE)")
struct MetricsTests {
    private func plane(_ name: String, crop: (width: Int, height: Int)?) throws -> (pixels: [Float], width: Int, height: Int) {
        let full = try #require(MetricsGolden.images[name])
        guard let crop else { return (full, MetricsGolden.width, MetricsGolden.height) }
        var out = [Float]()
        for y in 0..<crop.height { out += full[(y * MetricsGolden.width)..<(y * MetricsGolden.width + crop.width)] }
        return (out, crop.width, crop.height)
    }

    /// Values from tools/gen_golden.py (NumPy, written from the papers' definitions).
    @Test func goldenValuesOnTheByteScale() throws {
        #expect(MetricsGolden.cases.count == 5)
        for c in MetricsGolden.cases {
            let r = try plane(c.reference, crop: c.crop)
            let t = try plane(c.test, crop: c.crop)
            let what = "\(c.test) vs \(c.reference)"
            #expect(abs(Metrics.psnr(t.pixels, r.pixels, peak: 255) - c.psnr) < 1e-9, "\(what) PSNR")
            #expect(abs(Metrics.rmse(t.pixels, r.pixels) - c.rmse) < 1e-9, "\(what) RMSE")
            #expect(abs(Metrics.ssim(t.pixels, r.pixels, width: t.width, height: t.height, peak: 255) - c.ssim) < 1e-9, "\(what) SSIM")
            #expect(abs(Metrics.blockingEffectFactor(t.pixels, width: t.width, height: t.height) - c.bef) < 1e-8, "\(what) BEF")
            #expect(abs(Metrics.psnrB(t.pixels, r.pixels, width: t.width, height: t.height, peak: 255) - c.psnrB) < 1e-9, "\(what) PSNR-B")
        }
    }

    /// The Image forms work on the 0...1 scale with peak 1 and give the same numbers.
    @Test func imageFormsAreScaleInvariant() throws {
        for c in MetricsGolden.cases where c.crop == nil {
            let r = try plane(c.reference, crop: nil), t = try plane(c.test, crop: nil)
            let ri = Image(width: r.width, height: r.height, colorModel: .grey, pixels: r.pixels.map { $0 / 255 })
            let ti = Image(width: t.width, height: t.height, colorModel: .grey, pixels: t.pixels.map { $0 / 255 })
            #expect(abs(Metrics.psnr(ti, ri) - c.psnr) < 1e-4)
            #expect(abs(Metrics.ssim(ti, ri) - c.ssim) < 1e-6)
            #expect(abs(Metrics.psnrB(ti, ri) - c.psnrB) < 1e-4)
            #expect(abs(Metrics.rmse(ti, ri) * 255 - c.rmse) < 1e-4)
        }
    }

    @Test func identicalImages() throws {
        let r = try plane("smooth", crop: nil)
        #expect(Metrics.psnr(r.pixels, r.pixels, peak: 255) == .infinity)
        #expect(Metrics.rmse(r.pixels, r.pixels) == 0)
        #expect(abs(Metrics.ssim(r.pixels, r.pixels, width: r.width, height: r.height, peak: 255) - 1) < 1e-12)
        let flat = [Float](repeating: 100, count: 64 * 64)
        #expect(Metrics.psnrB(flat, flat, width: 64, height: 64, peak: 255) == .infinity)
    }

    /// Hand-checkable: a constant error of 1 on the 0...255 scale gives MSE 1, PSNR 20 log10(255).
    @Test func psnrByHand() {
        let a = [Float](repeating: 10, count: 100), b = [Float](repeating: 11, count: 100)
        #expect(abs(Metrics.psnr(a, b, peak: 255) - 48.130803608679102) < 1e-12)
        #expect(Metrics.rmse(a, b) == 1)
        // Errors 0 and 2 alternate: MSE 2, RMSE sqrt 2.
        let c = (0..<100).map { Float(10 + 2 * ($0 % 2)) }
        #expect(abs(Metrics.mse(a, c) - 2) < 1e-12)
        #expect(abs(Metrics.psnr(a, c, peak: 255) - (10 * log10(255.0 * 255 / 2))) < 1e-12)
    }

    /// A constant offset leaves the local variances and covariance alone: only the luminance term
    /// moves, so SSIM = (2 mu1 mu2 + C1) / (mu1² + mu2² + C1) exactly, with mu = 100 and 110.
    @Test func ssimOfConstantOffsetByHand() {
        let w = 20, h = 16
        let a = (0..<(w * h)).map { Float(100 + ($0 * 37 % 11) - 5) }
        let b = a.map { $0 + 10 }
        let s = Metrics.ssim(a, b, width: w, height: h, peak: 255)
        // Each window's mu1 differs from mu2 by exactly 10; the luminance term depends on mu1, so
        // compare with the mean of the exact per-window values computed directly in 2-D.
        let g = Metrics.ssimWindow
        let c1 = (0.01 * 255) * (0.01 * 255)
        var expected = 0.0
        for y in 0..<(h - 10) {
            for x in 0..<(w - 10) {
                var mu = 0.0
                for j in 0..<11 { for i in 0..<11 { mu += g[j] * g[i] * Double(a[(y + j) * w + x + i]) } }
                let mu2 = mu + 10
                expected += (2 * mu * mu2 + c1) / (mu * mu + mu2 * mu2 + c1)
            }
        }
        expected /= Double((w - 10) * (h - 10))
        #expect(abs(s - expected) < 1e-9, "\(s) vs \(expected)")
        #expect(s < 1 && s > 0.99)
    }

    /// The window is MATLAB's fspecial('gaussian', 11, 1.5) factor: symmetric, sums to 1, centre 0.26601.
    @Test func gaussianWindow() {
        let g = Metrics.ssimWindow
        #expect(g.count == 11)
        #expect(abs(g.reduce(0, +) - 1) < 1e-15)
        #expect(abs(g[5] - 0.26601172486179436) < 1e-15)
        for i in 0..<5 { #expect(g[i] == g[10 - i]) }
    }

    /// BEF by hand on a 16x16 image of two 8-pixel-wide vertical stripes (0 and 8): only the 16
    /// horizontal pairs across column 7|8 differ, each by 8. D_B = 16 * 64 / (16 * 1 + 16 * 1) = 32,
    /// D_Bc = 0, eta = log2 8 / log2 16 = 3/4, so BEF = 24.
    @Test func befByHand() {
        let img = (0..<256).map { Float(($0 % 16) < 8 ? 0 : 8) }
        #expect(abs(Metrics.blockingEffectFactor(img, width: 16, height: 16) - 24) < 1e-12)
        // Shifted by one column the edge is inside a block: D_B < D_Bc, BEF = 0.
        let shifted = (0..<256).map { Float(($0 % 16) < 7 ? 0 : 8) }
        #expect(Metrics.blockingEffectFactor(shifted, width: 16, height: 16) == 0)
        // PSNR-B of the striped image against a flat 0 image: MSE = 32, plus BEF 24.
        let flat = [Float](repeating: 0, count: 256)
        #expect(abs(Metrics.psnrB(img, flat, width: 16, height: 16, peak: 255) - 10 * log10(255.0 * 255 / 56)) < 1e-12)
    }
}
