import EnhanceImage
import EnhanceModels
import EnhanceNN

/// Upscales whole images: the model on the luma (BT.601 Y), exact bicubic on the chroma
/// and on alpha. A stateless `Sendable` value: one upscaler serves many images and threads.
public struct Upscaler: Sendable {
    /// The network, or nil for plain bicubic interpolation.
    public let model: Model?
    /// Overall factor.
    public let scale: Int
    /// Side of the square input tiles (nil: whole image at once). The result does not depend on it.
    public let tile: Int?
    public let context: ComputeContext

    public init(model: Model?, scale: Int, tile: Int? = nil, context: ComputeContext = .default) {
        precondition(scale >= 1, "Upscaler: scale must be ≥ 1, got \(scale)")
        if let model {
            precondition(model.info.task == .superResolution && model.info.scale == scale,
                         "Upscaler: model \(model.info.name) is for x\(model.info.scale), asked for x\(scale)")
        }
        self.model = model
        self.scale = scale
        self.tile = tile
        self.context = context
    }

    /// Upscales `image`; the result keeps the colour model, bit depth and ICC profile.
    public func upscale(_ image: Image, progress: (Int, Int) -> Void = { _, _ in }) -> Image {
        let s = Double(scale)
        guard let model else { return image.resized(scale: s, method: .bicubic) }
        let isColour = image.colorModel == .rgb || image.colorModel == .rgba
        let source = isColour ? image.toYCbCr() : image
        let lumaIn = source.plane(0)
        let arch = model.info.architecture
        let networkInput = arch.takesUpscaledInput ? lumaIn.resized(scale: s, method: .bicubic) : lumaIn
        let inference = PlaneInference(model: model, context: context)
        let restored = inference.run(networkInput.pixels, width: networkInput.width, height: networkInput.height,
                                     tile: tile, progress: progress)
        let size = inference.outputSize(width: networkInput.width, height: networkInput.height)
        var planes = [Image(width: size.width, height: size.height, colorModel: .grey, pixels: restored)]
        // Chroma (and, for grey+alpha, alpha) by exact bicubic.
        for c in 1..<source.channels { planes.append(source.plane(c).resized(scale: s, method: .bicubic)) }
        var out: Image
        if isColour {
            out = Image.stacking(Array(planes[0..<3]), as: .ycbcr).toRGB()
            if image.colorModel == .rgba {
                let alpha = image.plane(3).resized(scale: s, method: .bicubic)
                out = Image(width: out.width, height: out.height, colorModel: .rgba, pixels: out.pixels + alpha.pixels)
            }
        } else {
            out = Image.stacking(planes, as: image.colorModel)
        }
        out.sourceBitDepth = image.sourceBitDepth
        out.iccProfile = image.iccProfile
        return out
    }
}
