import EnhanceImage
import EnhanceMetrics

/// How a restored Y plane is scored against its 8-bit ground truth.
public enum DeblockOutput: String, Sendable, Codable, CaseIterable {
    /// As the network computed it, neither rounded nor clipped. AR-CNN's test code (`ARCNN.m`,
    /// `compute_errors.m`) scores the double output of the network this way, and so do the
    /// paper's tables; an 8-bit input (the JPEG baseline) scores the same either way.
    case asComputed = "float"
    /// Rounded and clipped to 8 bits, as a saved file holds it (what Enhance reported before
    /// session 21): for the shipped AR-CNNs on LIVE1, 0.004 dB lower at quality 10 and 0.015 dB
    /// at quality 40.
    case eightBit = "8bit"
}

/// How the compressed input of a deblocking sample is made from the ground truth.
public enum DeblockDegradation: String, Sendable, Codable, CaseIterable {
    /// AR-CNN's standard protocol: the 8-bit Y plane alone through a one-component JPEG
    /// (``DeblockProtocol/prepare(groundTruth:quality:)``).
    case standard
    /// A photo as a social network delivers it: camera JPEG, server down-scale, server
    /// re-compression in colour (``DeblockProtocol/prepareSocial(groundTruth:quality:)``).
    case social
    /// A colour photo saved once as JPEG 4:2:0 at the quality (libjpeg-turbo, IJG tables), the
    /// file `enhance denoise` typically gets (``DeblockProtocol/prepareColor(groundTruth:quality:)``).
    /// Scored on Y as the others, and on RGB through the method's colour path.
    case color

    /// `standard or social`, for messages.
    public static var names: String {
        let all = allCases.map(\.rawValue)
        return all.dropLast().joined(separator: ", ") + " or " + all.last!
    }

    /// Decodes from the raw name; an unknown name is refused with the valid ones listed.
    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let value = DeblockDegradation(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "unknown degradation '\(name)'; use \(DeblockDegradation.names)"))
        }
        self = value
    }
}

/// One ground-truth image prepared for JPEG artifact-reduction evaluation at one quality.
public struct DeblockSample: Sendable {
    public let quality: Int
    /// How ``compressedY`` was made (and, for `.social`, ``groundTruthY`` too).
    public let degradation: DeblockDegradation
    /// Y of the ground truth on the 8-bit grid (MATLAB `rgb2ycbcr` on `uint8`; grey is its own Y).
    /// `.social`: of the clean original down-scaled by ``DeblockProtocol/socialScale``.
    public let groundTruthY: Image
    /// The network's input and the JPEG baseline, the size of ``groundTruthY``. `.standard`: that
    /// Y plane compressed as a one-component JPEG at `quality` (libjpeg-turbo, standard IJG tables,
    /// baseline) and decoded. `.social`: Y of the delivered, re-compressed colour file.
    public let compressedY: Image
    /// `.color` and `.social` on a colour image: the decoded colour JPEG (8-bit RGB), the input of
    /// a method's colour path (``DeblockMethod/restoreRGB(_:)``); nil otherwise.
    public var compressedRGB: Image? = nil
    /// The RGB ground truth matching ``compressedRGB`` (8-bit), scored by ``DeblockProtocol/psnrRGB(restored:groundTruth:)``.
    public var groundTruthRGB: Image? = nil
}

/// The evaluation protocol of AR-CNN (`../shared/datasets/README.md`): the Y channel alone is
/// compressed with libjpeg's standard tables at quality 10, 20, 30 or 40; PSNR, SSIM and PSNR-B
/// (Yim and Bovik, 8x8 blocks) are computed on Y, 8-bit, with no border shaved.
///
/// AR-CNN's third transfer scheme ("standard to real use") adds a second way to make the input,
/// ``prepareSocial(groundTruth:quality:)``: the image as a social network (Twitter) delivers it.
public enum DeblockProtocol {
    /// The sample of `groundTruth` at `quality` made the way `degradation` says.
    public static func prepare(groundTruth: Image, quality: Int, degradation: DeblockDegradation) throws -> DeblockSample {
        switch degradation {
        case .standard: try prepare(groundTruth: groundTruth, quality: quality)
        case .social: try prepareSocial(groundTruth: groundTruth, quality: quality)
        case .color: try prepareColor(groundTruth: groundTruth, quality: quality)
        }
    }

    public static func prepare(groundTruth: Image, quality: Int) throws -> DeblockSample {
        let y = groundTruth.luma(quantized: true)
        return DeblockSample(quality: quality, degradation: .standard, groundTruthY: y,
                             compressedY: try compress(y, quality: quality))
    }

    /// Quality of the photo as the user uploads it: a camera's JPEG (colour, 4:2:0, IJG tables).
    public static let socialCameraQuality = 92
    /// The server's down-scaling factor before it re-compresses (Twitter-like re-scaling to a
    /// smaller size). Sides become `ceil(0.75 * side)`, as MATLAB `imresize` computes them.
    public static let socialScale = 0.75

    /// A ground-truth image as a social network delivers it, re-compressed at `quality`.
    ///
    /// 1. The upload: the original (alpha dropped) as a camera JPEG, colour 4:2:0 at
    ///    ``socialCameraQuality`` (libjpeg-turbo, standard IJG tables), decoded to 8-bit RGB.
    /// 2. The server: that image down-scaled by ``socialScale`` with MATLAB-exact antialiased
    ///    bicubic (`imresize(A, 0.75)`: kernel widened by 1/0.75, symmetric borders) in floating
    ///    point, rounded once to 8 bits, and re-encoded as colour JPEG 4:2:0 at `quality`.
    /// 3. The input: Y (`rgb2ycbcr` on `uint8`) of the delivered file, decoded.
    ///
    /// The ground truth never sees a JPEG: Y (`rgb2ycbcr` on `uint8`) of the clean original
    /// down-scaled by ``socialScale`` the same way. Both planes are `ceil(0.75 W) x ceil(0.75 H)`.
    /// A grey original is a one-component (grey) JPEG both times, and is its own Y.
    /// Deterministic: libjpeg-turbo's encoder and its default (islow, fancy-upsampling) decoder.
    public static func prepareSocial(groundTruth: Image, quality: Int) throws -> DeblockSample {
        let original = opaque(groundTruth)
        let truth = original.resized(scale: socialScale, method: .bicubic).luma(quantized: true)
        let uploaded = try jpegRoundTrip(original, quality: socialCameraQuality, name: "camera JPEG")
        let served = uploaded.resized(scale: socialScale, method: .bicubic).quantized8()
        let delivered = try jpegRoundTrip(served, quality: quality, name: "re-compressed quality-\(quality) JPEG")
        let input = delivered.luma(quantized: true)
        precondition(input.width == truth.width && input.height == truth.height,
                     "social input \(input.width)x\(input.height) vs ground truth \(truth.width)x\(truth.height)")
        let colour = original.colorModel == .rgb
        return DeblockSample(quality: quality, degradation: .social, groundTruthY: truth, compressedY: input,
                             compressedRGB: colour ? delivered : nil,
                             groundTruthRGB: colour ? original.resized(scale: socialScale, method: .bicubic).quantized8() : nil)
    }

    /// A colour photo saved once as JPEG at `quality`: the original (alpha dropped) encoded as
    /// colour JPEG 4:2:0 (one-component for grey) with libjpeg-turbo's standard IJG tables and
    /// decoded to 8 bits. Input: Y (`rgb2ycbcr` on `uint8`) of the decoded file; ground truth: Y of
    /// the original. For a colour original the sample also holds both RGB images, so that the
    /// colour a user gets back (`enhance denoise`: Y restored, chroma as decoded) is scored too.
    public static func prepareColor(groundTruth: Image, quality: Int) throws -> DeblockSample {
        let original = opaque(groundTruth).quantized8()
        let delivered = try jpegRoundTrip(original, quality: quality, name: "quality-\(quality) colour JPEG")
        let colour = original.colorModel == .rgb
        return DeblockSample(quality: quality, degradation: .color, groundTruthY: original.luma(quantized: true),
                             compressedY: delivered.luma(quantized: true),
                             compressedRGB: colour ? delivered : nil, groundTruthRGB: colour ? original : nil)
    }

    /// PSNR (dB, peak 255, no border shaved) of a restored colour image, rounded to 8 bits, against
    /// an 8-bit RGB ground truth, over all three channels.
    public static func psnrRGB(restored: Image, groundTruth: Image) -> Double {
        precondition(restored.width == groundTruth.width && restored.height == groundTruth.height
                     && restored.channels == 3 && groundTruth.channels == 3,
                     "psnrRGB: restored \(restored.width)x\(restored.height)x\(restored.channels) vs ground truth \(groundTruth.width)x\(groundTruth.height)x\(groundTruth.channels)")
        return Metrics.psnr(restored.interleaved8().map { Float($0) }, groundTruth.interleaved8().map { Float($0) }, peak: 255)
    }

    /// The colour (`.rgb`) or grey (`.grey`) content of an image, as a JPEG would store it.
    static func opaque(_ image: Image) -> Image {
        switch image.colorModel {
        case .grey, .rgb: return image
        case .greyAlpha: var g = image.plane(0); g.colorModel = .grey; return g
        case .rgba: return Image.stacking((0..<3).map { image.plane($0) }, as: .rgb)
        case .ycbcr: return image.toRGB()
        }
    }

    /// An `.rgb` or `.grey` image through a JPEG (4:2:0 for colour) at `quality` and back.
    static func jpegRoundTrip(_ image: Image, quality: Int, name: String) throws -> Image {
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: .jpeg, quality: quality, chroma: .s420))
        var decoded = try ImageIO.decode(bytes, name: name)
        if image.colorModel == .grey { decoded.colorModel = .grey }
        return decoded
    }

    /// A single plane through a one-component JPEG at `quality` and back.
    public static func compress(_ y: Image, quality: Int) throws -> Image {
        precondition(y.channels == 1, "compress works on a single plane, got \(y.channels) channels")
        let bytes = try ImageIO.encode(y, options: EncodeOptions(format: .jpeg, quality: quality))
        var decoded = try ImageIO.decode(bytes, name: "quality-\(quality) JPEG")
        decoded.colorModel = .grey
        return decoded
    }

    /// PSNR, SSIM and PSNR-B (dB, peak 255) of a restored Y plane against the ground truth, the
    /// restored plane taken as `output` says: by default as computed, which is how AR-CNN's test
    /// code scores (see ``DeblockOutput``).
    public static func score(restoredY: Image, groundTruthY: Image, output: DeblockOutput = .asComputed)
        -> (psnr: Double, ssim: Double, psnrB: Double) {
        precondition(restoredY.width == groundTruthY.width && restoredY.height == groundTruthY.height,
                     "restored \(restoredY.width)x\(restoredY.height) vs ground truth \(groundTruthY.width)x\(groundTruthY.height)")
        let restored: [Float] = switch output {
        case .asComputed: restoredY.pixels.map { $0 * 255 }
        case .eightBit: restoredY.interleaved8().map { Float($0) }
        }
        let truth = groundTruthY.interleaved8().map { Float($0) }
        let w = restoredY.width, h = restoredY.height
        return (Metrics.psnr(restored, truth, peak: 255),
                Metrics.ssim(restored, truth, width: w, height: h, peak: 255),
                Metrics.psnrB(restored, truth, width: w, height: h, peak: 255))
    }
}
