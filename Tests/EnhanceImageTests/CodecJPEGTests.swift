import EnhanceImage
import Foundation
import Testing

private typealias S = CodecTestSupport

@Suite("Codec JPEG")
struct CodecJPEGTests {
    @Test("RGB round trip at quality 95 stays within the stated PSNR", arguments: [ChromaSubsampling.s420, .s444])
    func rgbRoundTrip(chroma: ChromaSubsampling) throws {
        let image = S.smoothImage(width: 64, height: 48, model: .rgb)
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .jpeg, quality: 95, chroma: chroma))
        #expect(ImageFormat.sniff(bytes) == .jpeg)
        let back = try ImageIO.decode(bytes, name: "rt.jpg")
        #expect(back.colorModel == .rgb && back.width == 64 && back.height == 48 && back.sourceBitDepth == 8)
        // Stated bound: > 41 dB (4:2:0), > 43.5 dB (4:4:4); measured 42.02 and 44.68 with libjpeg-turbo 2.1.5.
        #expect(S.psnr(image, back) > (chroma == .s444 ? 43.5 : 41))
        #expect(S.psnr(image, back) < 60)  // lossy: not a copy

        // SOF0 (baseline), 3 components; luma sampling factors 0x22 for 4:2:0, 0x11 for 4:4:4.
        let sof = try #require(S.jpegMarkerOffset(bytes, 0xC0))
        #expect(bytes[sof + 9] == 3)
        #expect(bytes[sof + 11] == (chroma == .s420 ? 0x22 : 0x11))
        #expect(bytes[sof + 14] == 0x11)
    }

    @Test("grey image is written as a 1-component JPEG and read back grey")
    func grey() throws {
        let image = S.smoothImage(width: 40, height: 40, model: .grey)
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .jpeg, quality: 90))
        let sof = try #require(S.jpegMarkerOffset(bytes, 0xC0))
        #expect(bytes[sof + 9] == 1)
        let back = try ImageIO.decode(bytes, name: "grey.jpg")
        #expect(back.colorModel == .grey)
        // Stated bound: > 48 dB; measured 49.06.
        #expect(S.psnr(image, back) > 48)
    }

    @Test("progressive JPEG made by ImageMagick decodes close to its source")
    func progressive() throws {
        let bytes = try Array(Data(contentsOf: try S.fixture("progressive-q75.jpg")))
        #expect(S.jpegMarkerOffset(bytes, 0xC2) != nil)  // SOF2: progressive
        let image = try ImageIO.decode(bytes, name: "progressive-q75.jpg")
        let source = try ImageIO.read(contentsOf: try S.fixture("gradient32.png"))
        #expect(image.colorModel == .rgb && image.width == 32 && image.height == 32)
        // Stated bound: > 39 dB against the lossless source; measured 40.07.
        #expect(S.psnr(image, source) > 39)
        #expect(JPEGInfo.estimatedQuality(bytes) == 75)
    }

    @Test("Adobe CMYK JPEG is converted to RGB")
    func cmyk() throws {
        let image = try ImageIO.read(contentsOf: try S.fixture("cmyk-quadrants.jpg"))
        #expect(image.colorModel == .rgb && image.width == 16 && image.height == 16)
        // Quadrant centres: red | green over blue | white (tools/make_fixtures.sh).
        let expected: [(Int, Int, [Float])] = [(4, 4, [1, 0, 0]), (12, 4, [0, 1, 0]), (4, 12, [0, 0, 1]), (12, 12, [1, 1, 1])]
        for (x, y, rgb) in expected {
            for c in 0..<3 {
                #expect(abs(image[c, y, x] - rgb[c]) <= 3 / 255, "pixel (\(x), \(y)) channel \(c): \(image[c, y, x] * 255)")
            }
        }
    }

    /// Stored 3x2 grid of 8x8 blocks with grey levels A...F; for each EXIF orientation, the upright
    /// grid as the EXIF specification defines it.
    static let uprightGrids: [Int: [[Int]]] = [
        1: [[0, 1, 2], [3, 4, 5]],
        2: [[2, 1, 0], [5, 4, 3]],
        3: [[5, 4, 3], [2, 1, 0]],
        4: [[3, 4, 5], [0, 1, 2]],
        5: [[0, 3], [1, 4], [2, 5]],
        6: [[3, 0], [4, 1], [5, 2]],
        7: [[5, 2], [4, 1], [3, 0]],
        8: [[2, 5], [1, 4], [0, 3]],
    ]

    @Test("EXIF orientation is applied", arguments: 1...8)
    func orientation(value: Int) throws {
        let levels: [Float] = [20, 60, 100, 140, 180, 220].map { $0 / 255 }
        var stored = Image(width: 24, height: 16, colorModel: .grey)
        for y in 0..<16 { for x in 0..<24 { stored[0, y, x] = levels[(y / 8) * 3 + x / 8] } }
        let plain = try ImageIO.encode(stored, options: EncodeOptions(format: .jpeg, quality: 95))
        for bigEndian in [false, true] {
            let tagged = S.jpegWithOrientation(plain, value, bigEndian: bigEndian)
            let image = try ImageIO.decode(tagged, name: "o\(value).jpg")
            let grid = try #require(Self.uprightGrids[value])
            #expect(image.width == grid[0].count * 8 && image.height == grid.count * 8)
            for (by, row) in grid.enumerated() {
                for (bx, block) in row.enumerated() {
                    let v = image[0, by * 8 + 4, bx * 8 + 4]
                    #expect(abs(v - levels[block]) <= 3 / 255, "orientation \(value): block (\(bx), \(by)) is \(v * 255), expected \(levels[block] * 255)")
                }
            }
        }
    }

    @Test("Image.oriented(exif:) moves every sample exactly, all channels", arguments: 1...8)
    func orientedExact(value: Int) throws {
        // 3x2 stored image, two channels: channel 0 holds the block index, channel 1 its negative.
        var stored = Image(width: 3, height: 2, colorModel: .greyAlpha)
        for y in 0..<2 { for x in 0..<3 { stored[0, y, x] = Float(y * 3 + x); stored[1, y, x] = -Float(y * 3 + x) } }
        let out = stored.oriented(exif: value)
        let grid = try #require(Self.uprightGrids[value])
        #expect(out.width == grid[0].count && out.height == grid.count && out.colorModel == .greyAlpha)
        #expect(out.plane(0).pixels == grid.flatMap { $0.map(Float.init) })
        #expect(out.plane(1).pixels == grid.flatMap { $0.map { -Float($0) } })
    }

    @Test("ICC profile bytes survive JPEG write and read, also a profile needing two APP2 segments")
    func iccPreserved() throws {
        var image = S.smoothImage(width: 16, height: 16, model: .rgb)
        image.iccProfile = S.iccProfile()
        let back = try ImageIO.decode(try ImageIO.encode(image, options: EncodeOptions(format: .jpeg)), name: "icc.jpg")
        #expect(back.iccProfile == S.iccProfile())

        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }  // > 65519 bytes: two markers
        image.iccProfile = big
        let backBig = try ImageIO.decode(try ImageIO.encode(image, options: EncodeOptions(format: .jpeg)), name: "icc2.jpg")
        #expect(backBig.iccProfile == big)
    }

    @Test("estimated quality matches the encoding quality", arguments: [1, 5, 10, 20, 30, 40, 50, 75, 90, 95, 100])
    func estimatedQuality(quality: Int) throws {
        for model in [ColorModel.rgb, .grey] {
            let image = S.smoothImage(width: 16, height: 16, model: model)
            let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .jpeg, quality: quality))
            #expect(JPEGInfo.estimatedQuality(bytes) == quality)
        }
    }

    @Test("estimated quality is nil for non-JPEG data")
    func estimatedQualityNotJPEG() throws {
        let png = try ImageIO.encode(S.busyImage8(width: 4, height: 4, model: .grey), options: EncodeOptions(format: .png))
        #expect(JPEGInfo.estimatedQuality(png) == nil)
        #expect(JPEGInfo.estimatedQuality([]) == nil)
        #expect(JPEGInfo.estimatedQuality([0xFF, 0xD8, 0xFF, 0xD9]) == nil)
    }
}
