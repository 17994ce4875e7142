import EnhanceImage
import Foundation
import Testing

private typealias S = CodecTestSupport

@Suite("Codec WebP")
struct CodecWebPTests {
    @Test("lossless round trip is exact for RGB and RGBA, including colour under alpha 0", arguments: [ColorModel.rgb, .rgba])
    func lossless(model: ColorModel) throws {
        var image = S.busyImage8(width: 33, height: 21, model: model)
        if model == .rgba {
            for x in 0..<33 { image[3, 0, x] = 0 }  // transparent row whose RGB must survive
        }
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .webp, lossless: true))
        #expect(ImageFormat.sniff(bytes) == .webp)
        let back = try ImageIO.decode(bytes, name: "ll.webp")
        #expect(back.colorModel == model)
        #expect(back.pixels == image.pixels)
    }

    @Test("grey is written as RGB with equal channels")
    func grey() throws {
        let image = S.busyImage8(width: 9, height: 7, model: .grey)
        let back = try ImageIO.decode(try ImageIO.encode(image, options: EncodeOptions(format: .webp, lossless: true)), name: "g.webp")
        #expect(back.colorModel == .rgb)
        for c in 0..<3 { #expect(back.plane(c).pixels == image.pixels) }
    }

    @Test("lossy round trip at quality 90 stays within the stated PSNR")
    func lossy() throws {
        let image = S.smoothImage(width: 64, height: 48, model: .rgb)
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .webp, quality: 90))
        let back = try ImageIO.decode(bytes, name: "lossy.webp")
        #expect(back.colorModel == .rgb)
        // Stated bound: > 37 dB; measured 37.94 with libwebp 1.2.4.
        let p = S.psnr(image, back)
        #expect(p > 37 && p < 60)
    }

    @Test("lossy RGBA keeps alpha exactly (alpha plane is lossless)")
    func lossyAlpha() throws {
        let image = S.smoothImage(width: 32, height: 32, model: .rgba)
        let back = try ImageIO.decode(try ImageIO.encode(image, options: EncodeOptions(format: .webp, quality: 80)), name: "a.webp")
        #expect(back.colorModel == .rgba)
        #expect(back.plane(3).pixels == image.plane(3).pixels)
    }

    @Test("ICC profile bytes survive WebP write and read, lossy and lossless", arguments: [false, true])
    func iccPreserved(lossless: Bool) throws {
        var image = S.smoothImage(width: 16, height: 16, model: .rgba)
        image.iccProfile = S.iccProfile()
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .webp, lossless: lossless))
        #expect(bytes[12..<16].elementsEqual("VP8X".utf8))
        let back = try ImageIO.decode(bytes, name: "icc.webp")
        #expect(back.iccProfile == S.iccProfile())
        #expect(back.colorModel == .rgba)
    }
}

@Suite("Codec BMP")
struct CodecBMPTests {
    /// A BMP file: `rows` in file order (bottom row first unless `height` < 0), unpadded bytes per row.
    static func bmp(width: Int, height: Int, bpp: Int, compression: Int = 0, headerSize: Int = 40,
                    palette: [[UInt8]] = [], masks: [UInt32] = [], rows: [[UInt8]]) -> [UInt8] {
        let stride = (bpp * width + 31) / 32 * 4
        let offset = 14 + headerSize + 4 * palette.count
        var header = [UInt8](repeating: 0, count: headerSize)
        func put(_ bytes: [UInt8], _ at: Int) { for (i, b) in bytes.enumerated() { header[at + i] = b } }
        put(S.le32(headerSize), 0)
        put(S.le32(width), 4)
        put(S.le32(Int(UInt32(bitPattern: Int32(height)))), 8)
        put(S.le16(1), 12)
        put(S.le16(bpp), 14)
        put(S.le32(compression), 16)
        put(S.le32(stride * abs(height)), 20)
        put(S.le32(palette.count), 32)
        for (i, m) in masks.enumerated() { put(S.le32(Int(m)), 40 + 4 * i) }
        var file: [UInt8] = [0x42, 0x4D] + S.le32(offset + stride * abs(height)) + [0, 0, 0, 0] + S.le32(offset)
        file += header
        for entry in palette { file += [entry[2], entry[1], entry[0], 0] }  // stored BGR0
        for row in rows { file += row + [UInt8](repeating: 0, count: stride - row.count) }
        return file
    }

    @Test("24-bit RGB round trip is exact (rows padded to 4 bytes)")
    func rgbRoundTrip() throws {
        let image = S.busyImage8(width: 5, height: 3, model: .rgb)
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .bmp))
        #expect(bytes.count == 54 + 16 * 3)
        #expect(bytes[28] == 24)
        let back = try ImageIO.decode(bytes, name: "rt.bmp")
        #expect(back.colorModel == .rgb && back.pixels == image.pixels)
    }

    @Test("8-bit grey round trip is exact and reads back grey")
    func greyRoundTrip() throws {
        let image = S.busyImage8(width: 7, height: 4, model: .grey)
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .bmp))
        #expect(bytes[28] == 8)
        let back = try ImageIO.decode(bytes, name: "g.bmp")
        #expect(back.colorModel == .grey && back.pixels == image.pixels)
    }

    @Test("8-bit colour palette, top-down")
    func paletteTopDown() throws {
        let palette: [[UInt8]] = [[255, 0, 0], [0, 255, 0], [1, 2, 3]]
        let file = Self.bmp(width: 3, height: -2, bpp: 8, palette: palette, rows: [[0, 1, 2], [2, 2, 1]])
        let image = try ImageIO.decode(file, name: "pal.bmp")
        #expect(image.colorModel == .rgb && image.width == 3 && image.height == 2)
        #expect(image.plane(0).pixels == [1, 0, Float(1) / 255, Float(1) / 255, Float(1) / 255, 0])
        #expect(image.plane(1).pixels == [0, 1, Float(2) / 255, Float(2) / 255, Float(2) / 255, 1])
        #expect(image.plane(2).pixels == [0, 0, Float(3) / 255, Float(3) / 255, Float(3) / 255, 0])
    }

    @Test("8-bit grey palette, bottom-up, reads as grey")
    func greyPaletteBottomUp() throws {
        let palette: [[UInt8]] = (0..<256).map { [UInt8($0), UInt8($0), UInt8($0)] }
        let file = Self.bmp(width: 2, height: 2, bpp: 8, palette: palette, rows: [[10, 20], [30, 40]])
        let image = try ImageIO.decode(file, name: "grey.bmp")
        #expect(image.colorModel == .grey)
        #expect(image.pixels == [30, 40, 10, 20].map { Float($0) / 255 })
    }

    @Test("32-bit BI_RGB ignores the fourth byte; BI_BITFIELDS with an alpha mask gives RGBA")
    func thirtyTwoBit() throws {
        let plain = Self.bmp(width: 2, height: 1, bpp: 32, rows: [[1, 2, 3, 99, 4, 5, 6, 0]])  // BGRX
        let rgb = try ImageIO.decode(plain, name: "x.bmp")
        #expect(rgb.colorModel == .rgb)
        #expect(rgb.pixels == [3, 6, 2, 5, 1, 4].map { Float($0) / 255 })

        let masks: [UInt32] = [0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0xFF00_0000]
        let v5 = Self.bmp(width: 2, height: 1, bpp: 32, compression: 3, headerSize: 124, masks: masks,
                          rows: [[1, 2, 3, 128, 4, 5, 6, 255]])
        let rgba = try ImageIO.decode(v5, name: "a.bmp")
        #expect(rgba.colorModel == .rgba)
        #expect(rgba.pixels == [3, 6, 2, 5, 1, 4, 128, 255].map { Float($0) / 255 })
    }

    @Test("24-bit top-down from hand-built bytes")
    func twentyFourTopDown() throws {
        let file = Self.bmp(width: 1, height: -2, bpp: 24, rows: [[10, 20, 30], [40, 50, 60]])
        let image = try ImageIO.decode(file, name: "td.bmp")
        #expect(image.pixels == [30, 60, 20, 50, 10, 40].map { Float($0) / 255 })
    }
}
