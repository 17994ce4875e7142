import Foundation
import EnhanceImage
import EnhanceMetrics
import EnhanceModels
import EnhanceNN

/// Scores of one restored image.
public struct ImageScore: Sendable, Codable, Equatable {
    public var name: String
    public var psnr: Double
    public var ssim: Double
    /// PSNR-B (deblocking only).
    public var psnrB: Double?
    /// PSNR on RGB of the method's colour output (deblocking of colour JPEGs: `color` and `social`).
    public var psnrRGB: Double?
    /// Wall time of the restoration alone, in seconds.
    public var seconds: Double

    public init(name: String, psnr: Double, ssim: Double, psnrB: Double? = nil, psnrRGB: Double? = nil, seconds: Double) {
        self.name = name; self.psnr = psnr; self.ssim = ssim; self.psnrB = psnrB; self.psnrRGB = psnrRGB; self.seconds = seconds
    }
}

/// Mean scores over a dataset.
public struct MeanScore: Sendable, Codable, Equatable {
    public var psnr: Double
    public var ssim: Double
    public var psnrB: Double?
    /// Mean over the images that have one (the colour ones).
    public var psnrRGB: Double?
}

/// The evaluation of one method on one dataset at one setting (scale or JPEG quality).
public struct EvaluationResult: Sendable, Codable, Equatable {
    public var dataset: String
    public var method: String
    public var task: String
    public var scale: Int?
    public var quality: Int?
    /// Deblocking: how the input was made, `standard` or `social` (``DeblockDegradation``); nil for SR.
    public var degradation: String?
    /// Deblocking: how the restored Y was scored, `float` (as computed, AR-CNN's test code) or
    /// `8bit` (``DeblockOutput``); nil for SR, whose outputs are always rounded to 8 bits.
    public var output: String?
    public var images: [ImageScore]
    public var mean: MeanScore

    public init(dataset: String, method: String, task: String, scale: Int?, quality: Int?, degradation: String? = nil,
                images: [ImageScore]) {
        self.dataset = dataset; self.method = method; self.task = task
        self.scale = scale; self.quality = quality; self.degradation = degradation; self.images = images
        let n = Double(max(images.count, 1))
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        self.mean = MeanScore(
            psnr: images.reduce(0) { $0 + $1.psnr } / n,
            ssim: images.reduce(0) { $0 + $1.ssim } / n,
            psnrB: mean(images.compactMap(\.psnrB)), psnrRGB: mean(images.compactMap(\.psnrRGB)))
    }
}

/// Errors of dataset handling, worded for users.
public struct DatasetError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }
    public var errorDescription: String? { description }
}

/// Image files of a folder, sorted by name, with their display names (file name without extension).
public enum ImageFolder {
    public static let extensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp"]

    /// Lists the images directly inside `folder` (sorted; hidden files skipped).
    public static func list(_ folder: URL, recursive: Bool = false) throws -> [URL] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
            throw DatasetError(path: folder.path, reason: "no such folder")
        }
        guard isDirectory.boolValue else { throw DatasetError(path: folder.path, reason: "not a folder") }
        var found: [URL] = []
        if recursive {
            let e = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey],
                                                   options: [.skipsHiddenFiles])
            while let url = e?.nextObject() as? URL {
                if extensions.contains(url.pathExtension.lowercased()) { found.append(url) }
            }
        } else {
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            for name in names where !name.hasPrefix(".") {
                let url = folder.appendingPathComponent(name)
                if extensions.contains(url.pathExtension.lowercased()) { found.append(url) }
            }
        }
        found.sort { $0.path < $1.path }
        if found.isEmpty { throw DatasetError(path: folder.path, reason: "no images (PNG, JPEG, BMP, WebP) in folder") }
        return found
    }

    public static func displayName(_ url: URL) -> String { url.deletingPathExtension().lastPathComponent }
}

/// A super-resolution method under evaluation: restores the Y plane of a prepared sample.
public protocol SRMethod: Sendable {
    /// Name printed in tables and JSON (`bicubic`, `srcnn-9-5-5`, ...).
    var name: String { get }
    /// The restored Y plane, the size of `sample.groundTruthY`.
    func restoreY(_ sample: SRSample) throws -> Image
}

/// MATLAB-exact bicubic interpolation: the baseline every SR paper reports.
public struct BicubicMethod: SRMethod {
    public init() {}
    public var name: String { "bicubic" }
    public func restoreY(_ sample: SRSample) throws -> Image { sample.bicubicY }
}

/// Scores every image of a folder: read, prepare the protocol's sample, time the restoration, score.
enum FolderScoring {
    static func run<Sample>(dataset: URL, prepare: (Image) throws -> Sample, restore: (Sample) throws -> Image,
                            score: (Image, Sample) throws -> (psnr: Double, ssim: Double, psnrB: Double?, psnrRGB: Double?),
                            progress: (ImageScore) -> Void) throws -> [ImageScore] {
        var scores: [ImageScore] = []
        for file in try ImageFolder.list(dataset) {
            let sample = try prepare(try ImageIO.read(contentsOf: file))
            let start = DispatchTime.now().uptimeNanoseconds
            let restored = try restore(sample)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let s = try score(restored, sample)
            let result = ImageScore(name: ImageFolder.displayName(file), psnr: s.psnr, ssim: s.ssim, psnrB: s.psnrB,
                                    psnrRGB: s.psnrRGB, seconds: seconds)
            scores.append(result)
            progress(result)
        }
        return scores
    }
}

/// Runs the published super-resolution evaluation protocol over a folder.
public enum SREvaluation {
    /// Evaluates `method` on every image of `dataset` at `scale`; `progress` is called after each image.
    public static func run(method: some SRMethod, dataset: URL, scale: Int,
                           progress: (ImageScore) -> Void = { _ in }) throws -> EvaluationResult {
        let scores = try FolderScoring.run(
            dataset: dataset, prepare: { SRProtocol.prepare(groundTruth: $0, scale: scale) },
            restore: { try method.restoreY($0) },
            score: { restored, sample in
                let s = SRProtocol.score(restoredY: restored, groundTruthY: sample.groundTruthY, scale: scale)
                return (s.psnr, s.ssim, nil, nil)
            }, progress: progress)
        return EvaluationResult(dataset: dataset.lastPathComponent, method: method.name, task: "sr",
                                scale: scale, quality: nil, images: scores)
    }
}

/// A trained super-resolution model under evaluation.
public struct ModelMethod: SRMethod {
    public let model: Model
    /// Average over the 8 flips/rotations (`enhance upscale --tta`); the name gets `+tta`.
    public let tta: Bool
    let inference: PlaneInference
    let context: ComputeContext

    public init(model: Model, tta: Bool = false, context: ComputeContext = .default) {
        self.model = model
        self.tta = tta
        self.context = context
        self.inference = PlaneInference(model: model, context: context)
    }

    public var name: String { model.info.name + (tta ? "+tta" : "") }

    public func restoreY(_ sample: SRSample) throws -> Image {
        let arch = model.info.architecture
        let input = arch.takesUpscaledInput ? sample.bicubicY : sample.lowResolutionY
        var out = inference.run(input.pixels, width: input.width, height: input.height, tta: tta)
        let size = inference.outputSize(width: input.width, height: input.height)
        if arch.residualOverBicubic {
            // bicubicY is imresize(lowResolutionY, scale): exactly the base the network was trained on.
            for i in out.indices { out[i] += sample.bicubicY.pixels[i] }
        }
        return Image(width: size.width, height: size.height, colorModel: .grey, pixels: out)
    }
}

/// A JPEG artifact-reduction method under evaluation: restores the Y plane of a compressed sample.
public protocol DeblockMethod: Sendable {
    var name: String { get }
    func restoreY(_ sample: DeblockSample) throws -> Image
    /// The decoded colour JPEG restored as a user gets it back (`enhance denoise`); the default
    /// returns it unchanged (the JPEG baseline).
    func restoreRGB(_ compressed: Image) throws -> Image
}

extension DeblockMethod {
    public func restoreRGB(_ compressed: Image) throws -> Image { compressed }
}

/// The decoded JPEG itself: the baseline of the deblocking papers.
public struct JPEGBaselineMethod: DeblockMethod {
    public init() {}
    public var name: String { "jpeg" }
    public func restoreY(_ sample: DeblockSample) throws -> Image { sample.compressedY }
}

extension ModelMethod: DeblockMethod {
    public func restoreY(_ sample: DeblockSample) throws -> Image {
        let input = sample.compressedY
        let out = inference.run(input.pixels, width: input.width, height: input.height, tta: tta)
        return Image(width: input.width, height: input.height, colorModel: .grey, pixels: out)
    }

    /// `Denoiser`: Y restored, chroma as decoded (what `enhance denoise` does).
    public func restoreRGB(_ compressed: Image) throws -> Image {
        Denoiser(model: model, tta: tta, context: context).denoise(compressed)
    }
}

/// Runs the AR-CNN evaluation protocol over a folder.
public enum DeblockEvaluation {
    /// Evaluates `method` on every image of `dataset` at `quality`, the inputs made as `degradation`
    /// says (`.social`: against the down-scaled ground truth, see ``DeblockProtocol/prepareSocial(groundTruth:quality:)``).
    public static func run(method: some DeblockMethod, dataset: URL, quality: Int, degradation: DeblockDegradation = .standard,
                           output: DeblockOutput = .asComputed,
                           progress: (ImageScore) -> Void = { _ in }) throws -> EvaluationResult {
        let scores = try FolderScoring.run(
            dataset: dataset,
            prepare: { try DeblockProtocol.prepare(groundTruth: $0, quality: quality, degradation: degradation) },
            restore: { try method.restoreY($0) },
            score: { restored, sample in
                let s = DeblockProtocol.score(restoredY: restored, groundTruthY: sample.groundTruthY, output: output)
                var rgb: Double? = nil
                if let compressed = sample.compressedRGB, let truth = sample.groundTruthRGB {
                    rgb = DeblockProtocol.psnrRGB(restored: try method.restoreRGB(compressed), groundTruth: truth)
                }
                return (s.psnr, s.ssim, s.psnrB, rgb)
            }, progress: progress)
        var result = EvaluationResult(dataset: dataset.lastPathComponent, method: method.name, task: "deblock",
                                      scale: nil, quality: quality, degradation: degradation.rawValue, images: scores)
        result.output = output.rawValue
        return result
    }
}

/// A deblocking model run as AR-CNN's MATLAB test code (`ARCNN.m`) runs it: every convolution
/// pads its own input by edge replication (`imfilter(…, 'same', 'replicate')`), where
/// ``ModelMethod`` pads the input once by the receptive-field radius. The two differ only within
/// that radius of the border (`enhance eval --per-layer-padding`). Whole planes, no tiles.
public struct PerLayerPaddingMethod: DeblockMethod {
    public let model: Model
    let network: Sequential
    let context: ComputeContext

    /// Fails for networks with a strided or transposed convolution, which `ARCNN.m` does not run.
    public init(model: Model, context: ComputeContext = .default) throws {
        var layers: [any Layer] = []
        for layer in model.network.layers {
            if let conv = layer as? Conv2d {
                guard conv.stride == 1 else { throw PerLayerPaddingError(model: model.info.name) }
                var padded = Conv2d(inChannels: conv.inChannels, outChannels: conv.outChannels, kernel: conv.kernel,
                                    padding: .replicate)
                padded.parameters = conv.parameters
                layers.append(padded)
            } else if layer is ConvTranspose2d {
                throw PerLayerPaddingError(model: model.info.name)
            } else {
                layers.append(layer)
            }
        }
        self.model = model
        self.network = Sequential(layers)
        self.context = context
    }

    public var name: String { model.info.name + "+per-layer-padding" }

    public func restoreY(_ sample: DeblockSample) throws -> Image {
        let input = sample.compressedY
        let out = network.forward(Tensor(shape: [1, 1, input.height, input.width], storage: input.pixels), context: context)
        return Image(width: input.width, height: input.height, colorModel: .grey, pixels: out.storage)
    }
}

/// A model ``PerLayerPaddingMethod`` cannot run.
public struct PerLayerPaddingError: Error, CustomStringConvertible {
    public let model: String
    public var description: String {
        "model \(model) has a strided or transposed convolution; per-layer padding applies to stride-1 networks (arcnn, srcnn)"
    }
}
