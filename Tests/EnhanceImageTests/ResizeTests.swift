import EnhanceImage
import Foundation
import Testing

/// The fixture written by tools/gen_golden.py (an independent NumPy implementation of MATLAB imresize).
private struct ResizeGoldenFile: Decodable {
    struct Input: Decodable {
        let width: Int
        let height: Int
        let samples: [UInt8]
    }
    struct Case: Decodable, CustomStringConvertible {
        let input: String
        let method: ResizeMethod
        let scale: Double?
        let antialias: Bool
        let quantizeEachPass: Bool
        let outWidth: Int
        let outHeight: Int
        let expected: [Double]
        var description: String {
            "\(input) \(method.rawValue) \(scale.map { "scale \($0)" } ?? "to \(outWidth)x\(outHeight)") antialias=\(antialias) quantize=\(quantizeEachPass)"
        }
    }
    let inputs: [String: Input]
    let cases: [Case]

    static func load() throws -> ResizeGoldenFile {
        let url = try #require(Bundle.module.url(forResource: "resize_golden", withExtension: "json", subdirectory: "Fixtures"),
                               "Fixtures/resize_golden.json missing: run python3 tools/gen_golden.py")
        return try JSONDecoder().decode(ResizeGoldenFile.self, from: Data(contentsOf: url))
    }
}

@Suite("Resize (MATLAB imresize)")
struct ResizeTests {
    @Test func goldenCasesMatchMatlabAlgorithm() throws {
        let golden = try ResizeGoldenFile.load()
        #expect(golden.cases.count == 54)
        for method in ResizeMethod.allCases {
            #expect(golden.cases.contains { $0.method == method }, "no golden case for \(method)")
        }
        for c in golden.cases {
            let input = try #require(golden.inputs[c.input])
            let img = Image(interleaved8: input.samples, width: input.width, height: input.height, colorModel: .grey)
            let out: Image
            if let s = c.scale {
                out = img.resized(scale: s, method: c.method, antialias: c.antialias, quantizeEachPass: c.quantizeEachPass)
            } else {
                out = img.resized(width: c.outWidth, height: c.outHeight, method: c.method,
                                  antialias: c.antialias, quantizeEachPass: c.quantizeEachPass)
            }
            #expect(out.width == c.outWidth && out.height == c.outHeight, "\(c): got \(out.width)x\(out.height)")
            guard out.pixels.count == c.expected.count else { continue }
            var worst = 0.0
            for i in 0..<c.expected.count { worst = max(worst, abs(Double(out.pixels[i]) - c.expected[i])) }
            #expect(worst < 1e-5, "\(c): max error \(worst)")
        }
    }

    /// Every plane of a multi-channel image is resized as the same plane alone would be.
    @Test func channelsAreIndependent() {
        let w = 9, h = 7
        var planes: [Image] = []
        for c in 0..<4 {
            var px = [Float](repeating: 0, count: w * h)
            for i in 0..<(w * h) { px[i] = Float((i * (7 + 2 * c) + 3 * c) % 17) / 16 }
            planes.append(Image(width: w, height: h, colorModel: .grey, pixels: px))
        }
        let rgba = Image.stacking(planes, as: .rgba)
        for scale in [0.5, 1.0 / 3, 2, 2.5] {
            let r = rgba.resized(scale: scale)
            #expect(r.colorModel == .rgba)
            for c in 0..<4 { #expect(r.plane(c).pixels == planes[c].resized(scale: scale).pixels) }
        }
    }

    @Test func constantImageStaysConstant() {
        let img = Image(width: 10, height: 6, colorModel: .grey, pixels: [Float](repeating: 0.4, count: 60))
        for method in ResizeMethod.allCases {
            for scale in [0.25, 0.6, 1.7, 4] {
                let r = img.resized(scale: scale, method: method)
                #expect(r.pixels.allSatisfy { abs($0 - 0.4) < 1e-6 }, "\(method) x\(scale)")
            }
        }
    }

    /// At scale 1 the cubic, triangle and box kernels are 1 at 0 and exactly 0 at the other integers,
    /// so the output is the input. Lanczos3 is not exactly 0 there (`sin(k pi)` in floating point plus
    /// MATLAB's `eps` terms), as in MATLAB: only within 1e-6.
    @Test func scaleOneIsIdentity() {
        let img = Image(width: 5, height: 4, colorModel: .grey, pixels: (0..<20).map { Float($0) / 19 })
        for method in [ResizeMethod.bicubic, .bilinear, .nearest] {
            #expect(img.resized(scale: 1, method: method) == img)
            #expect(img.resized(width: 5, height: 4, method: method) == img)
        }
        let l = img.resized(scale: 1, method: .lanczos3)
        #expect(l != img)
        #expect(zip(l.pixels, img.pixels).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    /// Output sizes follow MATLAB: ceil(scale * size).
    @Test func outputSizes() {
        let img = Image(width: 7, height: 5, colorModel: .rgb)
        let r3 = img.resized(scale: 1.0 / 3)
        #expect(r3.width == 3 && r3.height == 2)
        let r06 = img.resized(scale: 0.6)
        #expect(r06.width == 5 && r06.height == 3)
        let r25 = img.resized(scale: 2.5)
        #expect(r25.width == 18 && r25.height == 13)
    }

    /// Contributions for a 2x bicubic down-scale of 8 samples, by hand from imresize.m's rules:
    /// antialiased kernel width 8, u = 2x - 0.5, 10 taps of which the outer two are zero everywhere.
    @Test func contributionsByHand() {
        let c = ResizeContributions(inLength: 8, outLength: 4, scale: 0.5, method: .bicubic, antialias: true)
        #expect(c.taps == 8)
        // First output sample: u = 1.5, left = floor(1.5 - 4) = -3; taps -2...5 after dropping the zero column -3.
        // Kernel 0.5 * cubic(0.5 * (u - j)) at distances 3.5, 2.5, ..., -3.5.
        let d: [Double] = [3.5, 2.5, 1.5, 0.5, -0.5, -1.5, -2.5, -3.5]
        let raw = d.map { 0.5 * ResizeMethod.bicubic.kernel(0.5 * $0) }
        let sum = raw.reduce(0, +)
        for t in 0..<8 { #expect(abs(c.weights[t] - raw[t] / sum) < 1e-15) }
        // Indices -2, -1, 0 (1-based) mirror to 3, 2, 1 (1-based), i.e. 0-based 2, 1, 0.
        #expect(Array(c.indices[0..<8]) == [2, 1, 0, 0, 1, 2, 3, 4])
        // Last output sample (u = 7.5, left = 3) mirrors past the right edge: taps 4...11 (1-based)
        // -> 4, 5, 6, 7, 8, 8, 7, 6.
        #expect(Array(c.indices[24..<32]) == [3, 4, 5, 6, 7, 7, 6, 5])
    }

    @Test func modcropAndShave() {
        let img = Image(width: 7, height: 5, colorModel: .rgb,
                        pixels: (0..<105).map { Float($0) })
        let m = img.modcropped(3)
        #expect(m.width == 6 && m.height == 3)
        #expect(m[1, 2, 5] == img[1, 2, 5])
        #expect(m[2, 0, 0] == img[2, 0, 0])
        #expect(img.modcropped(1) == img)
        let s = img.shaved(2)
        #expect(s.width == 3 && s.height == 1)
        #expect(s.pixels == [16, 17, 18, 51, 52, 53, 86, 87, 88])
    }
}
