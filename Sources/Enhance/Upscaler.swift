import Foundation
import EnhanceImage
import EnhanceModels
import EnhanceNN

/// The size an ``Upscaler`` produces.
public enum UpscaleTarget: Sendable, Equatable {
    /// `round(scale × size)` per dimension (at least 1).
    case scale(Double)
    /// An exact size; a missing dimension keeps the aspect ratio (`round(H × width / W)`).
    case size(width: Int?, height: Int?)

    /// Output size for a `width`×`height` input.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        switch self {
        case .scale(let s):
            return (max(1, Int((Double(width) * s).rounded())), max(1, Int((Double(height) * s).rounded())))
        case let .size(w?, h?):
            return (w, h)
        case let .size(w?, nil):
            return (w, max(1, Int((Double(height) * Double(w) / Double(width)).rounded())))
        case let .size(nil, h?):
            return (max(1, Int((Double(width) * Double(h) / Double(height)).rounded())), h)
        case .size(nil, nil):
            return (width, height)
        }
    }

    /// The larger of the two output/input ratios (the factor a model is chosen for).
    public func ratio(width: Int, height: Int) -> Double {
        let (w, h) = outputSize(width: width, height: height)
        return max(Double(w) / Double(width), Double(h) / Double(height))
    }
}

/// A user-facing upscaling error (bad settings), one line.
public struct UpscaleError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }

    /// A forced tile below ``PlaneInference/minimumTile``.
    public static func tileTooSmall(_ tile: Int, minimum: Int) -> UpscaleError {
        UpscaleError("--tile \(tile) is smaller than \(minimum), the least this model's receptive field allows")
    }
}

/// Where an upscale is: tiles of the network run so far, and output rows delivered.
public struct UpscaleProgress: Sendable, Equatable {
    public var tilesDone: Int
    public var tilesTotal: Int
    public var rowsDone: Int
    public var rowsTotal: Int
}

/// Upscales whole images: the model on the luma (BT.601 Y), exact bicubic on the chroma
/// and on alpha. A stateless `Sendable` value: one upscaler serves many images and threads.
///
/// Pipeline, for an input `W×H` and output `outW×outH` (``UpscaleTarget``):
/// 1. Alpha: colour is bled into fully transparent pixels (``bleedColour(_:radius:)``) so that
///    interpolation near edges never mixes in the arbitrary colour hidden there (no dark fringe).
/// 2. With a model of factor `k`: Y goes through the model (`kW×kH`; a network that predicts the
///    residual over bicubic gets the exact bicubic upscale of Y added), then, if the output size
///    differs, through exact bicubic resampling to `outW×outH` (the "remainder"). Cb, Cr and
///    alpha are resampled from the input straight to `outW×outH` by exact bicubic; alpha is
///    clamped to `0...1`. Grey images are their own Y.
/// 3. Without a model: every channel is resampled by exact bicubic (same size: copied).
///
/// Memory: the output is produced in horizontal bands of rows (``upscale(_:progress:sink:)``);
/// each band needs only a window of input rows, every resampling is separable and the network
/// is tiled with context padding, so bands, tiles and the whole image give identical samples.
/// The working set is the input image plus about ``memoryBudget`` bytes.
public struct Upscaler: Sendable {
    /// The network, or nil for plain bicubic interpolation.
    public let model: Model?
    /// The output size.
    public let target: UpscaleTarget
    /// Forced tile side in network-input pixels (the input for FSRCNN, the bicubic-upscaled
    /// input for SRCNN). Nil: tiles from ``memoryBudget``, or the whole image when that is nil
    /// too. The result does not depend on it.
    public let tile: Int?
    /// Approximate bytes for bands and tiles (besides the input image); nil with `tile` nil:
    /// the whole image at once.
    public let memoryBudget: Int?
    /// Average the model over the 8 flips/rotations (test-time augmentation).
    public let tta: Bool
    public let context: ComputeContext

    /// Default ``memoryBudget`` of the command line: 128 MB.
    public static let defaultMemoryBudget = 128 << 20

    /// An upscaler by an integer factor with a model for exactly that factor (or bicubic).
    public init(model: Model?, scale: Int, tile: Int? = nil, context: ComputeContext = .default) {
        precondition(scale >= 1, "Upscaler: scale must be ≥ 1, got \(scale)")
        if let model {
            precondition(model.info.task == .superResolution && model.info.scale == scale,
                         "Upscaler: model \(model.info.name) is for x\(model.info.scale), asked for x\(scale)")
        }
        self.init(model: model, target: .scale(Double(scale)), tile: tile, memoryBudget: nil, tta: false, context: context)
    }

    /// An upscaler to `target` with any super-resolution model (its factor `k` is applied first,
    /// then exact bicubic for the remainder).
    public init(model: Model?, target: UpscaleTarget, tile: Int? = nil, memoryBudget: Int? = nil, tta: Bool = false,
                context: ComputeContext = .default) {
        if let model {
            precondition(model.info.task == .superResolution,
                         "Upscaler: model \(model.info.name) is a \(model.info.task.rawValue) model")
        }
        if let tile { precondition(tile >= 1, "Upscaler: tile must be ≥ 1, got \(tile)") }
        self.model = model
        self.target = target
        self.tile = tile
        self.memoryBudget = memoryBudget
        self.tta = tta
        self.context = context
    }

    /// Overall factor for an integer-scale upscaler (compatibility); the ratio for a 1x1 image otherwise.
    public var scale: Int {
        if case .scale(let s) = target { return Int(s.rounded()) }
        return model?.info.scale ?? 1
    }

    /// Throws ``UpscaleError/tileTooSmall(_:minimum:)`` when a forced tile is below the model's minimum.
    public func validate() throws {
        if let tile, let model {
            let minimum = PlaneInference(model: model, context: context).minimumTile
            if tile < minimum { throw UpscaleError.tileTooSmall(tile, minimum: minimum) }
        }
    }

    /// Upscales `image`; the result keeps the colour model, bit depth and ICC profile.
    public func upscale(_ image: Image, progress: (UpscaleProgress) -> Void = { _ in }) -> Image {
        let (outW, outH) = target.outputSize(width: image.width, height: image.height)
        let model = image.colorModel == .ycbcr ? ColorModel.rgb : image.colorModel
        var out = Image(width: outW, height: outH, colorModel: model, sourceBitDepth: image.sourceBitDepth,
                        iccProfile: image.iccProfile)
        let ch = out.channels
        upscale(image, progress: progress) { band, y0 in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                band.pixels.withUnsafeBufferPointer { src in
                    for c in 0..<ch {
                        (dst.baseAddress! + (c * outH + y0) * outW)
                            .update(from: src.baseAddress! + c * band.height * outW, count: band.height * outW)
                    }
                }
            }
        }
        return out
    }

    /// Integer-scale compatibility form of ``upscale(_:progress:)``: `progress(done, total)` per tile.
    public func upscale(_ image: Image, progress: (Int, Int) -> Void) -> Image {
        upscale(image, progress: { (p: UpscaleProgress) in progress(p.tilesDone, p.tilesTotal) })
    }

    /// Upscales `image` band by band: `sink(band, firstRow)` receives consecutive bands of output
    /// rows, top to bottom, each a full-width image in the output colour model (`.rgb`, `.rgba`,
    /// `.grey`, `.greyAlpha`) without metadata. Samples are those of ``upscale(_:progress:)``.
    public func upscale(_ image: consuming Image, progress: (UpscaleProgress) -> Void = { _ in },
                        sink: (Image, Int) throws -> Void) rethrows {
        precondition(image.width > 0 && image.height > 0, "Upscaler: empty \(image.width)x\(image.height) image")
        var work = consume image
        if work.colorModel == .ycbcr { work = work.toRGB() }
        let W = work.width, H = work.height
        let (outW, outH) = target.outputSize(width: W, height: H)
        let inference = model.map { PlaneInference(model: $0, context: context) }
        if work.colorModel.hasAlpha && (outW != W || outH != H) {
            let radius = (inference?.architecture.contextPadding ?? 0) + 4
            Upscaler.bleedColour(&work, radius: radius)
        }
        let plan = Plan(upscaler: self, image: work, inference: inference, outW: outW, outH: outH)
        var state = UpscaleProgress(tilesDone: 0, tilesTotal: plan.totalTiles, rowsDone: 0, rowsTotal: outH)
        for band in plan.bands {
            let rows = plan.produce(band, image: work) {
                state.tilesDone += 1
                progress(state)
            }
            try sink(rows, band.lowerBound)
            state.rowsDone = band.upperBound
            progress(state)
        }
    }

    // MARK: Alpha

    /// Fills the colour of fully transparent pixels (alpha 0) from their neighbours, in place.
    ///
    /// Up to `radius` passes: each gives every still-unfilled pixel next to filled ones the mean
    /// colour of its filled 8-neighbours (pixels with alpha > 0 count as filled from the start).
    /// Pixels farther than `radius` from any visible one get the mean visible colour. Alpha is
    /// unchanged; an image without alpha, or fully transparent, is left as it is.
    public static func bleedColour(_ image: inout Image, radius: Int) {
        guard image.colorModel.hasAlpha else { return }
        let W = image.width, H = image.height, n = W * H
        let colours = image.channels - 1
        var filled = [UInt8](repeating: 0, count: n)
        var pending = 0
        var mean = [Double](repeating: 0, count: colours)
        image.pixels.withUnsafeBufferPointer { px in
            let alpha = px.baseAddress! + colours * n
            for i in 0..<n {
                if alpha[i] > 0 {
                    filled[i] = 1
                    for c in 0..<colours { mean[c] += Double(px[c * n + i]) }
                } else { pending += 1 }
            }
        }
        if pending == 0 || pending == n { return }
        for c in 0..<colours { mean[c] /= Double(n - pending) }
        image.pixels.withUnsafeMutableBufferPointer { px in
            filled.withUnsafeMutableBufferPointer { f in
                var newly: [Int] = []
                var sums = [Float](repeating: 0, count: colours)
                var pass = 0
                while pending > 0 && pass < radius {
                    newly.removeAll(keepingCapacity: true)
                    for y in 0..<H {
                        for x in 0..<W where f[y * W + x] == 0 {
                            var count = 0
                            for c in 0..<colours { sums[c] = 0 }
                            for dy in -1...1 {
                                let yy = y + dy
                                if yy < 0 || yy >= H { continue }
                                for dx in -1...1 {
                                    let xx = x + dx
                                    if xx < 0 || xx >= W || f[yy * W + xx] != 1 { continue }
                                    count += 1
                                    for c in 0..<colours { sums[c] += px[c * n + yy * W + xx] }
                                }
                            }
                            if count > 0 {
                                let i = y * W + x
                                for c in 0..<colours { px[c * n + i] = sums[c] / Float(count) }
                                newly.append(i)
                            }
                        }
                    }
                    if newly.isEmpty { break }
                    for i in newly { f[i] = 1 }
                    pending -= newly.count
                    pass += 1
                }
                if pending > 0 {
                    for i in 0..<n where f[i] == 0 {
                        for c in 0..<colours { px[c * n + i] = Float(mean[c]) }
                    }
                }
            }
        }
    }
}

/// How one image is cut: bands of output rows, and the resamplers and network geometry that
/// produce them.
private struct Plan {
    let upscaler: Upscaler
    let inference: PlaneInference?
    let W: Int, H: Int, outW: Int, outH: Int
    let colorModel: ColorModel
    /// Factor of the model (1 without one) and the size of its output.
    let k: Int, kW: Int, kH: Int
    /// Network input plane size and the factor from the input to it (SRCNN: `k`, FSRCNN: 1).
    let netW: Int, netH: Int
    let preUpsample: BandResampler?
    /// Bicubic base the network's output is added to (``Architecture/residualOverBicubic``).
    let residualBase: BandResampler?
    /// From the model output to the final size, when they differ.
    let remainder: BandResampler?
    /// From the input straight to the final size (chroma, alpha; every channel without a model).
    let direct: BandResampler?
    let tileWidth: Int
    let bandRows: Int
    let bands: [Range<Int>]
    let totalTiles: Int

    init(upscaler: Upscaler, image: Image, inference: PlaneInference?, outW: Int, outH: Int) {
        self.upscaler = upscaler
        self.inference = inference
        W = image.width; H = image.height
        self.outW = outW; self.outH = outH
        colorModel = image.colorModel
        k = upscaler.model?.info.scale ?? 1
        kW = W * k; kH = H * k
        let netScale = inference?.architecture.networkScale ?? 1
        let pre = k / netScale
        netW = W * pre; netH = H * pre
        preUpsample = inference != nil && pre > 1 ? BandResampler(inWidth: W, inHeight: H, outWidth: netW, outHeight: netH) : nil
        residualBase = inference?.architecture.residualOverBicubic == true
            ? BandResampler(inWidth: W, inHeight: H, outWidth: kW, outHeight: kH) : nil
        remainder = inference != nil && (kW != outW || kH != outH)
            ? BandResampler(inWidth: kW, inHeight: kH, outWidth: outW, outHeight: outH) : nil
        direct = (W != outW || H != outH) ? BandResampler(inWidth: W, inHeight: H, outWidth: outW, outHeight: outH) : nil

        // Band and tile geometry. Network rows per final row: netH / outH.
        let rowsPerNetRow = Double(outH) / Double(netH)
        if let t = upscaler.tile {
            tileWidth = t
            bandRows = max(1, Int((Double(t) * rowsPerNetRow).rounded(.down)))
        } else if let budget = upscaler.memoryBudget {
            let half = budget / 2
            bandRows = max(1, min(outH, half / max(1, outW * 48)))
            if let inference {
                let netRows = Int((Double(bandRows) / rowsPerNetRow).rounded(.up)) + 2 * inference.architecture.contextPadding
                let area = inference.tilePixels(memoryBudget: half)
                tileWidth = max(inference.minimumTile, area / max(1, netRows) - 2 * inference.architecture.contextPadding)
            } else {
                tileWidth = netW
            }
        } else {
            tileWidth = netW
            bandRows = outH
        }
        let (h, b) = (outH, bandRows)
        bands = stride(from: 0, to: h, by: b).map { $0..<min(h, $0 + b) }
        // Tiles the network runs (for progress).
        var tiles = 0
        if let inference {
            tiles = bands.count * inference.tileCount(width: netW, tileWidth: tileWidth)
        }
        totalTiles = tiles
    }

    /// Rows `range` of channel `c` of the working colour space: YCbCr for colour images (alpha
    /// as channel 3), the image's own channels otherwise. `range.count × W` samples.
    func inputRows(_ image: Image, channel c: Int, _ range: Range<Int>) -> [Float] {
        let n = W * H, count = range.count * W
        let colour = colorModel == .rgb || colorModel == .rgba
        if !colour || c == 3 || inference == nil {
            return Array(image.pixels[(c * n + range.lowerBound * W)..<(c * n + range.upperBound * W)])
        }
        // BT.601 exactly as Image.toYCbCr(), for the rows asked.
        let m = BT601.matrix[c], o = BT601.offset[c] / 255
        let m0 = m[0] / 255, m1 = m[1] / 255, m2 = m[2] / 255
        return [Float](unsafeUninitializedCapacity: count) { dst, written in
            image.pixels.withUnsafeBufferPointer { src in
                let r = src.baseAddress! + range.lowerBound * W, g = r + n, b = g + n
                for i in 0..<count {
                    dst[i] = Float(o + m0 * Double(r[i]) + m1 * Double(g[i]) + m2 * Double(b[i]))
                }
            }
            written = count
        }
    }

    /// Rows `range` of the model's output plane (`kW` wide).
    func modelRows(_ image: Image, _ range: Range<Int>, tileDone: () -> Void) -> [Float] {
        let inference = inference!
        let s = inference.architecture.networkScale
        let netRows = (range.lowerBound / s)..<((range.upperBound + s - 1) / s)
        let fetch: (Range<Int>) -> [Float] = { r in
            if let pre = preUpsample {
                return pre.rows(r) { inputRows(image, channel: 0, $0) }
            }
            return inputRows(image, channel: 0, r)
        }
        let out = inference.runBand(rows: netRows, width: netW, height: netH, tileWidth: tileWidth,
                                    tta: upscaler.tta, fetch: fetch, tileDone: tileDone)
        let skip = range.lowerBound - netRows.lowerBound * s
        var rows = skip == 0 && range.count == netRows.count * s ? out : Array(out[(skip * kW)..<((skip + range.count) * kW)])
        if let base = residualBase {
            let b = base.rows(range) { inputRows(image, channel: 0, $0) }
            for i in rows.indices { rows[i] += b[i] }
        }
        return rows
    }

    /// Final output rows `band` as an image in the output colour model.
    func produce(_ band: Range<Int>, image: Image, tileDone: () -> Void) -> Image {
        let n = band.count * outW
        var planes: [[Float]] = []
        if inference == nil {
            for c in 0..<image.channels {
                var plane = direct.map { d in d.rows(band) { inputRows(image, channel: c, $0) } }
                    ?? inputRows(image, channel: c, band)
                if colorModel.hasAlpha && c == image.channels - 1 {
                    for i in plane.indices { plane[i] = min(max(plane[i], 0), 1) }
                }
                planes.append(plane)
            }
            var pixels = [Float]()
            pixels.reserveCapacity(n * planes.count)
            for p in planes { pixels += p }
            return Image(width: outW, height: band.count, colorModel: colorModel, pixels: pixels)
        }
        let y = remainder.map { r in r.rows(band) { modelRows(image, $0, tileDone: tileDone) } }
            ?? modelRows(image, band, tileDone: tileDone)
        let colour = colorModel == .rgb || colorModel == .rgba
        func resampled(_ c: Int) -> [Float] {
            direct.map { d in d.rows(band) { inputRows(image, channel: c, $0) } } ?? inputRows(image, channel: c, band)
        }
        var pixels: [Float]
        if colour {
            let ycbcr = Image(width: outW, height: band.count, colorModel: .ycbcr, pixels: y + resampled(1) + resampled(2))
            pixels = ycbcr.toRGB().pixels
        } else {
            pixels = y
        }
        if colorModel.hasAlpha {
            var alpha = resampled(colour ? 3 : 1)
            for i in alpha.indices { alpha[i] = min(max(alpha[i], 0), 1) }
            pixels += alpha
        }
        return Image(width: outW, height: band.count, colorModel: colorModel, pixels: pixels)
    }
}
