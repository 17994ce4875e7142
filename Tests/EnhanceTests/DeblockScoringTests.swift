import Enhance
import EnhanceImage
import Foundation
import Testing

/// How `DeblockProtocol.score` takes the restored Y: as computed (AR-CNN's test code) or as 8 bits.
@Suite struct DeblockScoringTests {
    /// A 16x16 grey ground truth on the 8-bit grid, and the same plane shifted by `offset` grey levels.
    static func planes(offset: Float) -> (truth: Image, restored: Image) {
        var truth = Image(width: 16, height: 16, colorModel: .grey)
        for y in 0..<16 { for x in 0..<16 { truth[0, y, x] = Float(60 + 3 * x + 5 * y) / 255 } }
        var restored = truth
        for i in restored.pixels.indices { restored.pixels[i] += offset / 255 }
        return (truth, restored)
    }

    @Test func asComputedScoresTheOutputItselfAndEightBitScoresItRounded() {
        // Off by 0.4 of a level: as computed, PSNR = 20·log10(255 / 0.4); rounded, no error left.
        let (truth, near) = Self.planes(offset: 0.4)
        let float = DeblockProtocol.score(restoredY: near, groundTruthY: truth)
        #expect(abs(float.psnr - 20 * log10(255 / 0.4)) < 1e-3, "\(float.psnr)")
        #expect(DeblockProtocol.score(restoredY: near, groundTruthY: truth, output: .eightBit).psnr == .infinity)
        // Off by 0.6: rounded it is a whole level off, 20·log10(255); as computed 20·log10(255 / 0.6).
        let (_, far) = Self.planes(offset: 0.6)
        #expect(abs(DeblockProtocol.score(restoredY: far, groundTruthY: truth).psnr - 20 * log10(255 / 0.6)) < 1e-3)
        #expect(abs(DeblockProtocol.score(restoredY: far, groundTruthY: truth, output: .eightBit).psnr - 20 * log10(255)) < 1e-9)
        // Not clipped: a plane 2 levels under 0 is scored at −2, not 0.
        let black = Image(width: 16, height: 16, colorModel: .grey)
        var under = black
        for i in under.pixels.indices { under.pixels[i] = -2 / 255 }
        #expect(abs(DeblockProtocol.score(restoredY: under, groundTruthY: black).psnr - 20 * log10(255 / 2)) < 1e-3)
        #expect(DeblockProtocol.score(restoredY: under, groundTruthY: black, output: .eightBit).psnr == .infinity)
    }

    /// The JPEG baseline is on the 8-bit grid already: both ways give its score.
    @Test func anEightBitInputScoresTheSameEitherWay() throws {
        let (truth, _) = Self.planes(offset: 0)
        let sample = try DeblockProtocol.prepare(groundTruth: truth, quality: 20)
        let float = DeblockProtocol.score(restoredY: sample.compressedY, groundTruthY: sample.groundTruthY)
        let rounded = DeblockProtocol.score(restoredY: sample.compressedY, groundTruthY: sample.groundTruthY, output: .eightBit)
        #expect(float.psnr.isFinite && float.psnr < 60)
        #expect(abs(float.psnr - rounded.psnr) < 1e-6 && abs(float.psnrB - rounded.psnrB) < 1e-6 && abs(float.ssim - rounded.ssim) < 1e-9)
    }
}
