import EnhanceNN
import EnhanceImage

/// waifu2x-style noise-reduction levels, mapped onto AR-CNN models trained at one JPEG quality each.
///
/// | level | strength | model trained on JPEG quality |
/// |---|---|---|
/// | 0 | light  | 40 |
/// | 1 | medium | 30 |
/// | 2 | strong | 20 |
/// | 3 | strongest | 10 |
///
/// `auto` reads the file's luminance quantisation table (``JPEGInfo/estimatedQuality(_:)``)
/// and picks the level whose training quality is nearest, the lighter one on a tie; files above
/// quality 60 and non-JPEG files get no denoising. Measured on LIVE1 saved as colour JPEGs
/// (docs/results.md): a colour file's luma is less damaged than the training data's (one-component
/// JPEGs of studio-range Y), so at qualities 15, 25 and 35 the lighter neighbour is 0.05–0.11 dB
/// better, and at every quality from 10 to 60 this rule is within 0.03 dB of the best model.
public enum NoiseLevel: Sendable, Equatable {
    /// JPEG quality each level's model was trained for.
    public static let trainingQuality = [0: 40, 1: 30, 2: 20, 3: 10]

    /// Above this estimated quality, `auto` leaves the image alone.
    public static let autoCeiling = 60

    /// Conventional model name of a level (`arcnn-q20` for level 2).
    public static func modelName(level: Int, family: String = "arcnn") -> String? {
        trainingQuality[level].map { "\(family)-q\($0)" }
    }

    /// The level for an estimated JPEG quality, nil for none.
    public static func level(forQuality quality: Int) -> Int? {
        guard quality <= autoCeiling else { return nil }
        return trainingQuality.min { a, b in
            let da = abs(a.value - quality), db = abs(b.value - quality)
            return da != db ? da < db : a.key < b.key  // on a tie, the lighter level (see below)
        }?.key
    }

    /// The level `auto` picks for a file's bytes: nil for anything but a JPEG of quality ≤ 60.
    public static func automatic(fileBytes: [UInt8]) -> Int? {
        guard ImageFormat.sniff(fileBytes) == .jpeg, let q = JPEGInfo.estimatedQuality(fileBytes) else { return nil }
        return level(forQuality: q)
    }
}

import EnhanceModels

extension NoiseLevel {
    /// The shipped deblocking model of a level (trained at the level's JPEG quality).
    public static func model(level: Int) throws -> Model {
        guard let quality = trainingQuality[level] else {
            throw ModelError("noise level \(level) does not exist; use 0, 1, 2 or 3")
        }
        guard let name = ModelCatalog.deblockingModel(quality: quality) else {
            throw ModelError("noise level \(level) needs a deblocking model for JPEG quality \(quality) (arcnn-q\(quality)), which is not shipped yet")
        }
        return try ModelCatalog.load(name)
    }
}

/// Removes JPEG artifacts from the luma (BT.601 Y) with a deblocking model; chroma and alpha
/// are kept as they are (the models are trained on Y, as AR-CNN). A `Sendable` value.
public struct Denoiser: Sendable {
    public let model: Model
    public let tile: Int?
    /// Average the model over the 8 flips/rotations of the luma (test-time augmentation).
    public let tta: Bool
    public let context: ComputeContext

    public init(model: Model, tile: Int? = nil, tta: Bool = false, context: ComputeContext = .default) {
        precondition(model.info.task == .deblocking, "Denoiser: \(model.info.name) is not a deblocking model")
        self.model = model; self.tile = tile; self.tta = tta; self.context = context
    }

    public func denoise(_ image: Image) -> Image {
        let isColour = image.colorModel == .rgb || image.colorModel == .rgba
        let source = isColour ? image.toYCbCr() : image
        let y = source.plane(0)
        let inference = PlaneInference(model: model, context: context)
        let restored = inference.run(y.pixels, width: y.width, height: y.height, tile: tile ?? 512, tta: tta)
        var out = source
        out.pixels.withUnsafeMutableBufferPointer { dst in
            for i in 0..<restored.count { dst[i] = min(max(restored[i], 0), 1) }
        }
        if isColour {
            var rgb = out.toRGB()
            if image.colorModel == .rgba {
                rgb = Image(width: rgb.width, height: rgb.height, colorModel: .rgba,
                            pixels: rgb.pixels + image.plane(3).pixels)
            }
            rgb.sourceBitDepth = image.sourceBitDepth
            rgb.iccProfile = image.iccProfile
            return rgb
        }
        return out
    }
}
