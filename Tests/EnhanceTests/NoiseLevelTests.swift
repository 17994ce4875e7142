import Enhance
import EnhanceImage
import Testing

@Suite struct NoiseLevelTests {
    /// A busy RGB image (edges and gradients), on the 8-bit grid.
    static func picture() -> Image {
        var img = Image(width: 64, height: 48, colorModel: .rgb)
        for y in 0..<48 {
            for x in 0..<64 {
                img[0, y, x] = Float(x) / 64
                img[1, y, x] = (x / 4 + y / 4) % 2 == 0 ? 0.85 : 0.15
                img[2, y, x] = Float((x * y) % 97) / 97
            }
        }
        return img.quantized8()
    }

    @Test(arguments: [(5, 3), (10, 3), (15, 3), (20, 2), (25, 2), (30, 1), (35, 1), (40, 0), (50, 0), (60, 0)])
    func autoPicksTheNearestLevelForRealJPEGFiles(quality: Int, level: Int) throws {
        let bytes = try ImageIO.encode(Self.picture(), options: EncodeOptions(format: .jpeg, quality: quality))
        #expect(NoiseLevel.automatic(fileBytes: bytes) == level)
    }

    @Test(arguments: [75, 90, 95, 100])
    func autoLeavesHighQualityJPEGsAlone(quality: Int) throws {
        let bytes = try ImageIO.encode(Self.picture(), options: EncodeOptions(format: .jpeg, quality: quality))
        #expect(NoiseLevel.automatic(fileBytes: bytes) == nil)
    }

    @Test func autoDoesNothingForPNGOrWebP() throws {
        let png = try ImageIO.encode(Self.picture(), options: EncodeOptions(format: .png))
        #expect(NoiseLevel.automatic(fileBytes: png) == nil)
        let webp = try ImageIO.encode(Self.picture(), options: EncodeOptions(format: .webp, quality: 10))
        #expect(NoiseLevel.automatic(fileBytes: webp) == nil)
    }

    @Test func levelsMapToModels() {
        #expect((0...3).compactMap { NoiseLevel.modelName(level: $0) } == ["arcnn-q40", "arcnn-q30", "arcnn-q20", "arcnn-q10"])
        #expect(NoiseLevel.modelName(level: 4) == nil)
    }
}
