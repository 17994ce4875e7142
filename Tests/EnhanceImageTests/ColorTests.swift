import EnhanceImage
import Testing

@Suite("Colour (MATLAB rgb2ycbcr / ycbcr2rgb)")
struct ColorTests {
    private func rgb(_ r: Float, _ g: Float, _ b: Float) -> Image {
        Image(width: 1, height: 1, colorModel: .rgb, pixels: [r, g, b])
    }

    /// (R, G, B) in 0...1 -> expected (Y, Cb, Cr) on the 0...255 scale, by hand from BT.601 studio swing:
    /// Y = 16 + 65.481 R + 128.553 G + 24.966 B, Cb = 128 - 37.797 R - 74.203 G + 112 B,
    /// Cr = 128 + 112 R - 93.786 G - 18.214 B.
    static let knownColours: [(rgb: [Float], ycbcr: [Double])] = [
        ([0, 0, 0], [16, 128, 128]),
        ([1, 1, 1], [235, 128, 128]),
        ([1, 0, 0], [81.481, 90.203, 240]),
        ([0, 1, 0], [144.553, 53.797, 34.214]),
        ([0, 0, 1], [40.966, 240, 109.786]),
        ([0.5, 0.5, 0.5], [125.5, 128, 128]),
    ]

    @Test func knownColoursToYCbCr() {
        for (c, expected) in Self.knownColours {
            let y = rgb(c[0], c[1], c[2]).toYCbCr()
            #expect(y.colorModel == .ycbcr)
            for k in 0..<3 {
                #expect(abs(Double(y.pixels[k]) * 255 - expected[k]) < 1e-4, "\(c) channel \(k): \(Double(y.pixels[k]) * 255) vs \(expected[k])")
            }
            #expect(abs(Double(rgb(c[0], c[1], c[2]).luma().pixels[0]) * 255 - expected[0]) < 1e-4)
        }
    }

    @Test func knownColoursBack() {
        for (c, expected) in Self.knownColours {
            let img = Image(width: 1, height: 1, colorModel: .ycbcr, pixels: expected.map { Float($0 / 255) })
            let back = img.toRGB()
            #expect(back.colorModel == .rgb)
            for k in 0..<3 { #expect(abs(back.pixels[k] - c[k]) < 1e-6, "\(expected) -> \(back.pixels)") }
        }
    }

    /// MATLAB `rgb2ycbcr(uint8([R G B]))` rounds: e.g. pure red 81.481 -> 81, mid grey (128) -> 126.
    @Test func quantizedLumaMatchesUint8Matlab() {
        #expect(BT601.luma8(r: 255, g: 0, b: 0) == 81)
        #expect(BT601.luma8(r: 0, g: 255, b: 0) == 145)  // 144.553
        #expect(BT601.luma8(r: 0, g: 0, b: 255) == 41)  // 40.966
        #expect(BT601.luma8(r: 128, g: 128, b: 128) == 126)  // 16 + 219 * 128 / 255 = 125.93
        #expect(BT601.luma8(r: 255, g: 255, b: 255) == 235)
        #expect(BT601.luma8(r: 0, g: 0, b: 0) == 16)
        let img = Image(interleaved8: [255, 0, 0, 128, 128, 128], width: 2, height: 1, colorModel: .rgb)
        let y = img.luma(quantized: true)
        #expect(y.colorModel == .grey)
        #expect(y.interleaved8() == [81, 126])
        #expect(y.pixels == [Float(81) / 255, Float(126) / 255])
    }

    @Test func lumaOfEachColourModel() {
        let grey = Image(width: 2, height: 1, colorModel: .grey, pixels: [0.25, 0.75])
        #expect(grey.luma() == grey)  // its own Y, unscaled
        let greyAlpha = Image(width: 2, height: 1, colorModel: .greyAlpha, pixels: [0.25, 0.75, 1, 0.5])
        #expect(greyAlpha.luma().pixels == [0.25, 0.75])
        #expect(greyAlpha.luma().colorModel == .grey)
        let rgba = Image(width: 1, height: 1, colorModel: .rgba, pixels: [1, 0, 0, 0.5])
        #expect(abs(Double(rgba.luma().pixels[0]) * 255 - 81.481) < 1e-4)
        let ycc = rgba.toYCbCr()
        #expect(ycc.luma().pixels == [ycc.pixels[0]])
        // A grey image converts as R = G = B.
        let g = Image(width: 1, height: 1, colorModel: .grey, pixels: [1]).toYCbCr()
        #expect(abs(Double(g.pixels[0]) * 255 - 235) < 1e-4 && abs(Double(g.pixels[1]) * 255 - 128) < 1e-4)
    }

    /// Every 8-bit grey through YCbCr and back returns to the same 8-bit value.
    @Test func everyGreyRoundTrips() {
        let values = (0...255).map { UInt8($0) }
        let samples = values.flatMap { [$0, $0, $0] }
        let img = Image(interleaved8: samples, width: 256, height: 1, colorModel: .rgb)
        let back = img.toYCbCr().toRGB().interleaved8()
        #expect(back == samples)
    }

    /// A dense grid of colours (every 5th level per channel, 52^3 colours) round-trips within 1 LSB.
    @Test func colourGridRoundTripsWithinOneLSB() {
        let levels = Array(stride(from: 0, through: 255, by: 5)).map { UInt8($0) }
        var samples = [UInt8]()
        for r in levels { for g in levels { for b in levels { samples += [r, g, b] } } }
        let n = samples.count / 3
        let img = Image(interleaved8: samples, width: n, height: 1, colorModel: .rgb)
        let back = img.toYCbCr().toRGB().interleaved8()
        var worst = 0
        for i in 0..<samples.count { worst = max(worst, abs(Int(back[i]) - Int(samples[i]))) }
        #expect(worst <= 1, "worst round-trip error \(worst) LSB")
    }
}
