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

    @Test(arguments: [(5, 3), (10, 3), (15, 2), (20, 2), (25, 1), (30, 1), (35, 0), (40, 0), (50, 0), (60, 0)])
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

import EnhanceModels
import EnhanceNN

@Suite struct FastARCNNTests {
    static func model() -> Model {
        let arch = Architecture.fastArcnn
        return Model(info: ModelInfo(name: "fast-arcnn-test", task: .deblocking, architecture: arch, scale: 1, jpegQuality: 20),
                     network: arch.makeNetwork(seed: 3))
    }

    static func plane(width: Int, height: Int) -> [Float] {
        (0..<(width * height)).map { i in Float((i * 37 + (i / width) * 11) % 256) / 255 }
    }

    @Test(arguments: [(37, 29), (40, 33), (16, 16)])
    func outputHasTheInputSizeAndTilesMatchTheWholeImage(width: Int, height: Int) {
        let inference = PlaneInference(model: Self.model(), context: .serial)
        let p = Self.plane(width: width, height: height)
        let whole = inference.run(p, width: width, height: height)
        #expect(whole.count == width * height)
        for tile in [14, 16, 17, 22] {  // odd sizes are rounded down to the stride
            let tiled = inference.run(p, width: width, height: height, tile: tile)
            let diff = zip(whole, tiled).map { abs($0 - $1) }.max() ?? 0
            #expect(diff <= 1e-5, "tile \(tile): max difference \(diff)")
        }
    }

    @Test func geometryAndCost() {
        let arch = Architecture.fastArcnn
        #expect(arch.contextPadding == 14 && arch.outputOffset == 8 && arch.tileAlignment == 2)
        #expect(Architecture(familyName: "fast-arcnn", scale: 1) == .fastArcnn)
        // Fast AR-CNN needs far fewer multiply-adds per pixel than AR-CNN (the paper: 7.5x faster).
        let arcnn = Architecture(familyName: "arcnn", scale: 1)!
        let n = 128
        let fast = arch.makeNetwork().multiplyAdds(forInput: [1, 1, n + 28, n + 28])
        let full = arcnn.makeNetwork().multiplyAdds(forInput: [1, 1, n + 2 * arcnn.contextPadding, n + 2 * arcnn.contextPadding])
        #expect(Double(full) / Double(fast) > 5)
    }
}
