import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation
import Testing

/// The `color` deblocking degradation (one colour JPEG 4:2:0) and the RGB score of a method's
/// colour path.
@Suite struct ColorDegradationTests {
    static func encoded(_ image: Image, quality: Int) throws -> Image {
        try ImageIO.decode(try ImageIO.encode(image, options: EncodeOptions(format: .jpeg, quality: quality, chroma: .s420)),
                           name: "q\(quality)")
    }

    /// Input: Y of the decoded colour JPEG; ground truth: Y of the original; both RGB images kept.
    @Test func sampleIsTheDocumentedRecipe() throws {
        let original = SocialDegradationTests.picture()
        let s = try DeblockProtocol.prepareColor(groundTruth: original, quality: 20)
        let delivered = try Self.encoded(original, quality: 20)
        #expect(s.degradation == .color && s.quality == 20)
        #expect(s.groundTruthY.pixels == SocialDegradationTests.handY(original))
        #expect(s.compressedY.pixels == SocialDegradationTests.handY(delivered))
        #expect(s.compressedRGB == delivered)
        #expect(s.groundTruthRGB == original)
        let viaKind = try DeblockProtocol.prepare(groundTruth: original, quality: 20, degradation: .color)
        #expect(viaKind.compressedY == s.compressedY)
    }

    /// A grey original is a one-component JPEG and has no RGB part; the standard samples have none either.
    @Test func greyHasNoColourPart() throws {
        let grey = SocialDegradationTests.picture().luma(quantized: true)
        let s = try DeblockProtocol.prepareColor(groundTruth: grey, quality: 30)
        #expect(s.compressedRGB == nil && s.groundTruthRGB == nil)
        #expect(s.compressedY == (try DeblockProtocol.compress(grey, quality: 30)))
        #expect(try DeblockProtocol.prepare(groundTruth: SocialDegradationTests.picture(), quality: 30).compressedRGB == nil)
    }

    /// psnrRGB is the 8-bit PSNR over the three channels: one channel off by 3 levels everywhere
    /// gives 10·log10(255² / (9 / 3)).
    @Test func psnrRGBValue() {
        let a = SocialDegradationTests.picture()
        var b = a
        let n = a.planeSize
        for i in 0..<n { b.pixels[i] = a.pixels[i] < 0.5 ? a.pixels[i] + 3 / 255 : a.pixels[i] - 3 / 255 }
        let expected = 10 * log10(255.0 * 255.0 / 3.0)
        #expect(abs(DeblockProtocol.psnrRGB(restored: b, groundTruth: a) - expected) < 1e-9)
        #expect(DeblockProtocol.psnrRGB(restored: a, groundTruth: a).isInfinite)
    }

    /// `enhance eval --degradation color`: the JPEG baseline's RGB score is that of the decoded
    /// file; a model's is that of `Denoiser` (Y restored, chroma as decoded), which differs.
    @Test func evaluationScoresTheColourPath() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("enhance-color-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let pictures = [SocialDegradationTests.picture(), SocialDegradationTests.picture(width: 40, height: 33)]
        try ImageIO.write(pictures[0], to: folder.appendingPathComponent("a.png"))
        try ImageIO.write(pictures[1], to: folder.appendingPathComponent("b.png"))

        let baseline = try DeblockEvaluation.run(method: JPEGBaselineMethod(), dataset: folder, quality: 20, degradation: .color)
        #expect(baseline.degradation == "color")
        let expected = try pictures.map { DeblockProtocol.psnrRGB(restored: try Self.encoded($0, quality: 20), groundTruth: $0) }
        #expect(baseline.images.map(\.psnrRGB) == expected)
        #expect(baseline.mean.psnrRGB == (expected[0] + expected[1]) / 2)

        let model = FastARCNNTests.model()
        let result = try DeblockEvaluation.run(method: ModelMethod(model: model, context: .serial), dataset: folder,
                                               quality: 20, degradation: .color)
        let denoised = try pictures.map {
            DeblockProtocol.psnrRGB(restored: Denoiser(model: model, context: .serial).denoise(try Self.encoded($0, quality: 20)),
                                    groundTruth: $0)
        }
        #expect(result.images.map(\.psnrRGB) == denoised)
        #expect(result.images[0].psnrRGB != baseline.images[0].psnrRGB)

        // Standard samples carry no colour: no RGB score.
        let standard = try DeblockEvaluation.run(method: JPEGBaselineMethod(), dataset: folder, quality: 20)
        #expect(standard.images.allSatisfy { $0.psnrRGB == nil } && standard.mean.psnrRGB == nil)
    }
}
