import EnhanceImage
import Foundation
import Testing

private typealias S = CodecTestSupport

@Suite("Codec PNG")
struct CodecPNGTests {
    @Test("8-bit round trip is exact for every colour model", arguments: [ColorModel.grey, .greyAlpha, .rgb, .rgba])
    func roundTrip8(model: ColorModel) throws {
        let image = S.busyImage8(width: 37, height: 23, model: model)
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .png))
        #expect(ImageFormat.sniff(bytes) == .png)
        let back = try ImageIO.decode(bytes, name: "rt8.png")
        #expect(back.colorModel == model)
        #expect(back.width == 37 && back.height == 23)
        #expect(back.sourceBitDepth == 8)
        #expect(back.pixels == image.pixels)
    }

    @Test("16-bit round trip is exact for every colour model", arguments: [ColorModel.grey, .greyAlpha, .rgb, .rgba])
    func roundTrip16(model: ColorModel) throws {
        let image = S.busyImage16(width: 19, height: 17, model: model)
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .png, bitDepth: 16))
        #expect(bytes[24] == 16)  // IHDR bit depth
        let back = try ImageIO.decode(bytes, name: "rt16.png")
        #expect(back.colorModel == model)
        #expect(back.sourceBitDepth == 16)
        #expect(back.pixels == image.pixels)
        // An 8-bit path would have rounded these: make sure the test image would notice.
        #expect(image.quantized8().pixels != image.pixels)
    }

    @Test("16-bit samples from a hand-built file are v / 65535, big-endian in the file")
    func sixteenBitDecode() throws {
        let samples = [0, 1, 255, 256, 257, 32768, 65534, 65535]
        let file = S.png(width: 8, height: 1, bitDepth: 16, colorType: 0, channels: 1, rows: [samples])
        let image = try ImageIO.decode(file, name: "g16.png")
        #expect(image.colorModel == .grey && image.sourceBitDepth == 16)
        #expect(image.pixels == samples.map { Float($0) / 65535 })
    }

    @Test("16-bit RGBA keeps alpha exactly")
    func sixteenBitAlpha() throws {
        let row = [65535, 0, 1, 12345, 0, 65535, 2, 65534]  // two RGBA pixels
        let file = S.png(width: 2, height: 1, bitDepth: 16, colorType: 6, channels: 4, rows: [row])
        let image = try ImageIO.decode(file, name: "rgba16.png")
        #expect(image.colorModel == .rgba)
        #expect(image[3, 0, 0] == Float(12345) / 65535)
        #expect(image[3, 0, 1] == Float(65534) / 65535)
        #expect(image[2, 0, 1] == Float(2) / 65535)
    }

    @Test("1, 2 and 4-bit grey expand exactly to value / (2^bits - 1)", arguments: [1, 2, 4])
    func lowBitGrey(bits: Int) throws {
        let maxValue = (1 << bits) - 1
        let width = 11  // not a multiple of 8: the last byte of each row is padded
        let rows = (0..<3).map { y in (0..<width).map { x in (x + 3 * y) % (maxValue + 1) } }
        let file = S.png(width: width, height: 3, bitDepth: bits, colorType: 0, channels: 1, rows: rows)
        let image = try ImageIO.decode(file, name: "g\(bits).png")
        #expect(image.colorModel == .grey)
        #expect(image.sourceBitDepth == 8)
        let expected = rows.flatMap { $0.map { Float($0) / Float(maxValue) } }
        #expect(image.pixels == expected)
        #expect(image.pixels.min() == 0 && image.pixels.max() == 1)
    }

    @Test("palette with tRNS decodes to RGBA; without tRNS to RGB")
    func palette() throws {
        let plte: [UInt8] = [255, 0, 0, 0, 128, 255, 10, 20, 30]
        let rows = [[0, 1, 2, 1], [2, 2, 0, 0]]
        let withAlpha = S.png(width: 4, height: 2, bitDepth: 8, colorType: 3, channels: 1, rows: rows,
                              extraChunks: [("PLTE", plte), ("tRNS", [0, 128])])  // entry 2: opaque (implicit)
        let rgba = try ImageIO.decode(withAlpha, name: "pal-trns.png")
        #expect(rgba.colorModel == .rgba)
        #expect(rgba.plane(3).pixels == [0, Float(128) / 255, 1, Float(128) / 255, 1, 1, 0, 0])
        #expect(rgba.plane(0).pixels == [1, 0, Float(10) / 255, 0, Float(10) / 255, Float(10) / 255, 1, 1])
        #expect(rgba.plane(1).pixels[1] == Float(128) / 255)
        #expect(rgba.plane(2).pixels[2] == Float(30) / 255)

        let plain = S.png(width: 4, height: 2, bitDepth: 2, colorType: 3, channels: 1, rows: rows,
                          extraChunks: [("PLTE", plte)])
        let rgb = try ImageIO.decode(plain, name: "pal2.png")
        #expect(rgb.colorModel == .rgb)
        #expect(rgb.plane(0).pixels == [1, 0, Float(10) / 255, 0, Float(10) / 255, Float(10) / 255, 1, 1])
    }

    @Test("grey with a tRNS colour key decodes to grey+alpha")
    func greyColourKey() throws {
        let file = S.png(width: 3, height: 1, bitDepth: 8, colorType: 0, channels: 1, rows: [[7, 200, 7]],
                         extraChunks: [("tRNS", [0, 7])])
        let image = try ImageIO.decode(file, name: "gkey.png")
        #expect(image.colorModel == .greyAlpha)
        #expect(image.pixels == [Float(7) / 255, Float(200) / 255, Float(7) / 255, 0, 1, 0])
    }

    @Test("Adam7-interlaced PNG decodes to the same pixels")
    func interlaced() throws {
        let rows = (0..<13).map { y in (0..<10).map { x in (x * 19 + y * 7) % 256 } }
        let file = S.png(width: 10, height: 13, bitDepth: 8, colorType: 0, channels: 1, rows: rows, interlaced: true)
        let image = try ImageIO.decode(file, name: "adam7.png")
        #expect(image.pixels == rows.flatMap { $0.map { Float($0) / 255 } })
    }

    @Test("ICC profile bytes survive PNG write and read")
    func iccPreserved() throws {
        var image = S.busyImage8(width: 8, height: 8, model: .rgb)
        image.iccProfile = S.iccProfile()
        let back = try ImageIO.decode(try ImageIO.encode(image, options: EncodeOptions(format: .png)), name: "icc.png")
        #expect(back.iccProfile == S.iccProfile())

        var grey = S.busyImage8(width: 8, height: 8, model: .grey)
        grey.iccProfile = S.iccProfile(colorSpace: "GRAY")
        let greyBack = try ImageIO.decode(try ImageIO.encode(grey, options: EncodeOptions(format: .png, bitDepth: 16)), name: "g.png")
        #expect(greyBack.iccProfile == S.iccProfile(colorSpace: "GRAY"))
    }

    @Test("PNG made by ImageMagick (fixture) decodes to its known corner colours")
    func externalFixture() throws {
        let image = try ImageIO.read(contentsOf: try S.fixture("gradient32.png"))
        #expect(image.colorModel == .rgb && image.width == 32 && image.height == 32)
        // (0,0) blue, (31,0) red, (31,31) yellow: see tools/make_fixtures.sh
        #expect([image[0, 0, 0], image[1, 0, 0], image[2, 0, 0]] == [0, 0, 1])
        #expect([image[0, 0, 31], image[1, 0, 31], image[2, 0, 31]] == [1, 0, 0])
        #expect([image[0, 31, 31], image[1, 31, 31], image[2, 31, 31]] == [1, 1, 0])
    }
}
