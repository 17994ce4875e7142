import EnhanceImage
import EnhanceMetrics

/// One ground-truth image prepared for JPEG artifact-reduction evaluation at one quality.
public struct DeblockSample: Sendable {
    public let quality: Int
    /// Y of the ground truth on the 8-bit grid (MATLAB `rgb2ycbcr` on `uint8`; grey is its own Y).
    public let groundTruthY: Image
    /// That Y plane compressed as a one-component JPEG at `quality` (libjpeg-turbo, standard IJG
    /// tables, baseline) and decoded: the network's input and the JPEG baseline.
    public let compressedY: Image
}

/// The evaluation protocol of AR-CNN (`../shared/datasets/README.md`): the Y channel alone is
/// compressed with libjpeg's standard tables at quality 10, 20, 30 or 40; PSNR, SSIM and PSNR-B
/// (Yim and Bovik, 8x8 blocks) are computed on Y, 8-bit, with no border shaved.
public enum DeblockProtocol {
    public static func prepare(groundTruth: Image, quality: Int) throws -> DeblockSample {
        let y = groundTruth.luma(quantized: true)
        return DeblockSample(quality: quality, groundTruthY: y, compressedY: try compress(y, quality: quality))
    }

    /// A single plane through a one-component JPEG at `quality` and back.
    public static func compress(_ y: Image, quality: Int) throws -> Image {
        precondition(y.channels == 1, "compress works on a single plane, got \(y.channels) channels")
        let bytes = try ImageIO.encode(y, options: EncodeOptions(format: .jpeg, quality: quality))
        var decoded = try ImageIO.decode(bytes, name: "quality-\(quality) JPEG")
        decoded.colorModel = .grey
        return decoded
    }

    /// PSNR, SSIM and PSNR-B (dB) of a restored Y plane, rounded to 8 bits, against the ground truth.
    public static func score(restoredY: Image, groundTruthY: Image) -> (psnr: Double, ssim: Double, psnrB: Double) {
        precondition(restoredY.width == groundTruthY.width && restoredY.height == groundTruthY.height,
                     "restored \(restoredY.width)x\(restoredY.height) vs ground truth \(groundTruthY.width)x\(groundTruthY.height)")
        let restored = restoredY.interleaved8().map { Float($0) }
        let truth = groundTruthY.interleaved8().map { Float($0) }
        let w = restoredY.width, h = restoredY.height
        return (Metrics.psnr(restored, truth, peak: 255),
                Metrics.ssim(restored, truth, width: w, height: h, peak: 255),
                Metrics.psnrB(restored, truth, width: w, height: h, peak: 255))
    }
}
