import Dispatch
import Enhance
import EnhanceImage
import EnhanceMetrics
import EnhanceNN
import Foundation

/// Where training sub-images are cut and what the label of each is.
public struct PatchGeometry: Sendable, Equatable, Codable {
    /// `true`: the input is the bicubic-upscaled image (SRCNN); `false`: the low-resolution image (FSRCNN).
    public var upscaledInput: Bool
    /// Side of an input sub-image, in input pixels (SRCNN: 33).
    public var inputSize: Int
    /// Distance between sub-images, in input pixels (SRCNN: 14).
    public var stride: Int
    /// Input pixels the network loses on each side (valid convolutions).
    public var radius: Int
    /// Network upsampling factor (1 for SRCNN, the scale for FSRCNN).
    public var networkScale: Int
    /// The label is the ground truth minus the bicubic upscale (residual models).
    public var residualLabel: Bool
    /// Deblocking (`enhance train --borders`): each input is edge-replicated by `radius` on every
    /// side, as inference pads an image, and the grid of sub-images also ends flush with the
    /// bottom and right edges, so that every ground-truth pixel, the borders' too, is a label.
    public var paddedBorders: Bool

    public init(upscaledInput: Bool, inputSize: Int, stride: Int, radius: Int, networkScale: Int,
                residualLabel: Bool = false, paddedBorders: Bool = false) {
        precondition(inputSize > 2 * radius, "PatchGeometry: input \(inputSize) must exceed 2 × radius \(radius)")
        precondition(!paddedBorders || (networkScale == 1 && !residualLabel),
                     "PatchGeometry: padded borders need inputs the size of their labels (deblocking)")
        self.upscaledInput = upscaledInput; self.inputSize = inputSize; self.stride = stride
        self.radius = radius; self.networkScale = networkScale; self.residualLabel = residualLabel
        self.paddedBorders = paddedBorders
    }

    /// Pixels of edge replication around each stored input: `radius` with `paddedBorders`, else 0.
    public var inputPadding: Int { paddedBorders ? radius : 0 }

    /// Top-left coordinates of the sub-images along one side of `length` input pixels: every
    /// `stride` from 0, and with `paddedBorders` one more flush with the far edge.
    public func patchOrigins(length: Int) -> [Int] {
        guard length >= inputSize else { return [] }
        var origins = Array(Swift.stride(from: 0, through: length - inputSize, by: stride))
        if paddedBorders && origins.last != length - inputSize { origins.append(length - inputSize) }
        return origins
    }

    /// Side of the label: the centre of the input that valid convolutions reach, times the network scale.
    public var labelSize: Int { (inputSize - 2 * radius) * networkScale }
}

/// Augmentations of the training images (FSRCNN's, plus flips).
public struct Augmentation: Sendable, Equatable, Codable {
    /// Down-scaling factors applied to each ground-truth image before degradation (1 = original).
    public var scales: [Double]
    /// Apply a random one of the 8 flips/90° rotations to each sub-image.
    public var dihedral: Bool

    public init(scales: [Double] = [1], dihedral: Bool = false) {
        self.scales = scales; self.dihedral = dihedral
    }

    public static let none = Augmentation()
    /// 1.0, 0.9, 0.8, 0.7, 0.6 down-scaling and the 8 rotations/flips.
    public static let standard = Augmentation(scales: [1, 0.9, 0.8, 0.7, 0.6], dihedral: true)
    /// The 8 rotations/flips of the images at their own scale.
    public static let flips = Augmentation(dihedral: true)

    /// What a training record's data line adds: nothing, ", flips and rotations" or ", augmented".
    var recordNote: String {
        if self == .none { return "" }
        return scales == [1] ? ", flips and rotations" : ", augmented"
    }
}

/// How training inputs are made from ground truth, exactly as the matching evaluation protocol.
public enum Degradation: Sendable, Equatable, Codable {
    /// Modcrop, MATLAB-exact bicubic down by `scale` (and back up for SRCNN-style models).
    case bicubic(scale: Int)
    /// The 8-bit Y plane through a one-component JPEG at `quality` (AR-CNN).
    case jpeg(quality: Int)
    /// The colour image as a social network delivers it, re-compressed at `quality`
    /// (`DeblockProtocol.prepareSocial`): input and label are both `ceil(0.75 ×)` the image.
    case social(quality: Int)
    /// The colour image saved once as JPEG 4:2:0 at `quality` (`DeblockProtocol.prepareColor`):
    /// Y of the decoded colour file against Y of the original.
    case color(quality: Int)

    public var scale: Int {
        if case .bicubic(let s) = self { return s }
        return 1
    }

    /// The social and colour degradations start from the colour image, the others from its 8-bit Y.
    public var needsColour: Bool {
        switch self {
        case .social, .color: return true
        case .bicubic, .jpeg: return false
        }
    }
}

/// Training pairs held in memory, and the sub-images cut from them.
///
/// Each image is read, reduced to Y (MATLAB `rgb2ycbcr`, 8-bit), optionally down-scaled
/// (augmentation) and degraded exactly as the evaluation protocol does. Sub-images
/// of `geometry.inputSize` are taken every `geometry.stride` input pixels, as the paper;
/// their number is `Σ ⌊(H − size) / stride + 1⌋ · ⌊(W − size) / stride + 1⌋` over the inputs
/// (with `geometry.paddedBorders`, over the padded inputs and one more per side where the grid
/// does not end flush with it).
///
/// `.social` keeps the colour image instead: each (augmented) image goes through
/// `DeblockProtocol.prepareSocial`, so an input of `W × H` (after augmentation,
/// `ceil(f · W) × ceil(f · H)`) has sides `ceil(0.75 · side)`. Those images are read inside the
/// workers, one at a time per worker, so that the colour originals are never all held.
public struct TrainingSet: Sendable {
    /// One degraded image and its ground truth, single-plane, row-major.
    public struct Pair: Sendable {
        public var input: [Float]
        public var inputWidth: Int
        public var inputHeight: Int
        public var label: [Float]
        public var labelWidth: Int
        public var labelHeight: Int
    }

    /// Location of one sub-image: pair index and top-left input coordinates.
    public struct PatchLocation: Sendable, Equatable {
        public var pair: Int32
        public var y: Int32
        public var x: Int32
    }

    public let degradation: Degradation
    public var scale: Int { degradation.scale }
    public let geometry: PatchGeometry
    public private(set) var pairs: [Pair]
    public private(set) var patches: [PatchLocation]
    /// Source file of each image, for the training record.
    public let files: [URL]

    public var patchCount: Int { patches.count }

    /// Reads every image of `folders` (sorted within each folder) and prepares the pairs.
    public init(folders: [URL], degradation: Degradation, geometry: PatchGeometry, augmentation: Augmentation = .none,
                threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        var files: [URL] = []
        for folder in folders { files += try ImageFolder.list(folder) }
        if degradation.needsColour {
            let list = files
            try self.init(count: files.count, load: { try ImageIO.read(contentsOf: list[$0]) }, files: files,
                          degradation: degradation, geometry: geometry, augmentation: augmentation, threads: threads)
            return
        }
        let groundTruths = try files.map { try ImageIO.read(contentsOf: $0).luma(quantized: true) }
        try self.init(groundTruthY: groundTruths, files: files, degradation: degradation, geometry: geometry,
                      augmentation: augmentation, threads: threads)
    }

    /// Prepares pairs from ground-truth images in memory, colour or grey: reduced to their 8-bit Y
    /// first unless the degradation starts from colour (`.social`).
    public init(groundTruth: [Image], files: [URL] = [], degradation: Degradation, geometry: PatchGeometry,
                augmentation: Augmentation = .none, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        let images = degradation.needsColour ? groundTruth : groundTruth.map { $0.luma(quantized: true) }
        try self.init(count: images.count, load: { images[$0] }, files: files, degradation: degradation,
                      geometry: geometry, augmentation: augmentation, threads: threads)
    }

    /// Prepares pairs from Y planes already in memory.
    public init(groundTruthY: [Image], files: [URL] = [], degradation: Degradation, geometry: PatchGeometry,
                augmentation: Augmentation = .none, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        try self.init(count: groundTruthY.count, load: { groundTruthY[$0] }, files: files, degradation: degradation,
                      geometry: geometry, augmentation: augmentation, threads: threads)
    }

    /// Pairs of `count` images, image `i` given by `load(i)` (called once, inside a worker); pair
    /// `i · scales + k` is image `i` at augmentation scale `k`, whatever the thread count.
    init(count: Int, load: @Sendable (Int) throws -> Image, files: [URL], degradation: Degradation, geometry: PatchGeometry,
         augmentation: Augmentation, threads: Int) throws {
        precondition(degradation.scale >= 1, "TrainingSet: scale must be ≥ 1, got \(degradation.scale)")
        self.degradation = degradation
        self.geometry = geometry
        self.files = files
        let scales = augmentation.scales
        let box = ResultBox<Pair>(count: count * scales.count)
        let failures = ResultBox<any Error>(count: count)
        let g = geometry
        let workers = max(1, min(threads, count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            var i = worker
            while i < count {
                do {
                    let image = try load(i)
                    for (k, factor) in scales.enumerated() {
                        let source = factor == 1 ? image : image.resized(scale: factor, method: .bicubic)
                        if let pair = TrainingSet.makePair(groundTruth: source, degradation: degradation, geometry: g) {
                            box.set(i * scales.count + k, pair)
                        }
                    }
                } catch {
                    failures.set(i, error)
                }
                i += workers
            }
        }
        if let error = failures.values.compactMap({ $0 }).first { throw error }
        pairs = box.values.compactMap { $0 }
        var locations: [PatchLocation] = []
        for (i, p) in pairs.enumerated() {
            let xs = geometry.patchOrigins(length: p.inputWidth)
            for y in geometry.patchOrigins(length: p.inputHeight) {
                for x in xs { locations.append(PatchLocation(pair: Int32(i), y: Int32(y), x: Int32(x))) }
            }
        }
        patches = locations
    }

    /// One weight per pair, `1 / MSE(input, label)` of the whole image, scaled so that their mean
    /// over the sub-images is 1. Weighting each sub-image's squared error by its image's weight
    /// makes the loss's gradient that of the mean per-image PSNR (`d(−log MSE_i) = dMSE_i / MSE_i`),
    /// with the degraded input's error standing in for the network's. Needs inputs the size of
    /// their labels that are not residuals (AR-CNN, SRCNN).
    public func psnrWeights() throws -> [Float] {
        guard !geometry.residualLabel else {
            throw TrainingError("loss psnr needs labels that are images, not residuals over bicubic")
        }
        guard !geometry.paddedBorders else { throw TrainingError("loss psnr does not combine with --borders") }
        var inverse: [Double] = []
        for (i, p) in pairs.enumerated() {
            guard p.inputWidth == p.labelWidth, p.inputHeight == p.labelHeight else {
                throw TrainingError("loss psnr needs inputs the size of their labels (arcnn, srcnn); pair \(i) is \(p.inputWidth)x\(p.inputHeight) → \(p.labelWidth)x\(p.labelHeight)")
            }
            let mse = Metrics.mse(p.input, p.label)
            guard mse > 0 else {
                throw TrainingError("loss psnr: training image \(i) comes out of its degradation unchanged (no error to weight by)")
            }
            inverse.append(1 / mse)
        }
        let mean = patches.reduce(0.0) { $0 + inverse[Int($1.pair)] } / Double(max(1, patches.count))
        return inverse.map { Float($0 / mean) }
    }

    /// Distillation: replaces every label by `weight · teacher + (1 − weight) · label`, where
    /// `teacher(pair)` is a model's output on the pair's whole input. Needs labels that are
    /// images the size of their inputs (deblocking), not residuals; the patches stay the same.
    /// Returns the mean over the images of the PSNR of the teacher's output and of the input
    /// against the ground truth (peak 1), for the run's log.
    @discardableResult
    public mutating func blendLabels(weight: Float, teacher: (Pair) throws -> [Float]) throws -> (teacher: Double, input: Double) {
        guard scale == 1, !geometry.residualLabel else {
            throw TrainingError("--teacher needs labels the size of their inputs (arcnn, fast-arcnn), not a super-resolution run")
        }
        guard !geometry.paddedBorders else { throw TrainingError("--teacher does not combine with --borders") }
        var teacherSum = 0.0, inputSum = 0.0
        for i in pairs.indices {
            let p = pairs[i]
            let taught = try teacher(p)
            guard taught.count == p.label.count else {
                throw TrainingError("--teacher gave \(taught.count) pixels for training image \(i), which has \(p.label.count)")
            }
            teacherSum += Metrics.psnr(taught, p.label, peak: 1)
            inputSum += Metrics.psnr(p.input, p.label, peak: 1)
            var label = p.label
            for k in label.indices { label[k] = weight * taught[k] + (1 - weight) * label[k] }
            pairs[i].label = label
        }
        let n = Double(max(1, pairs.count))
        return (teacherSum / n, inputSum / n)
    }

    /// Degrades one ground-truth image as the evaluation protocol does (a Y plane, or for
    /// `.social` the colour image), the input edge-padded by `geometry.inputPadding`.
    static func makePair(groundTruth: Image, degradation: Degradation, geometry: PatchGeometry) -> Pair? {
        guard var pair = unpaddedPair(groundTruth: groundTruth, degradation: degradation, geometry: geometry) else { return nil }
        let r = geometry.inputPadding
        if r > 0 {
            let plane = Tensor(shape: [1, 1, pair.inputHeight, pair.inputWidth], storage: pair.input)
            pair.input = padPlanes(plane, pad: r, mode: .replicate, threads: 1).storage
            pair.inputWidth += 2 * r
            pair.inputHeight += 2 * r
        }
        return pair
    }

    /// The pair `makePair` pads.
    static func unpaddedPair(groundTruth: Image, degradation: Degradation, geometry: PatchGeometry) -> Pair? {
        let scale: Int
        let groundTruthY = groundTruth
        switch degradation {
        case .bicubic(let s):
            scale = s
        case .jpeg(let quality):
            let truth = groundTruthY.quantized8()
            guard let compressed = try? DeblockProtocol.compress(truth, quality: quality) else { return nil }
            return Pair(input: compressed.pixels, inputWidth: compressed.width, inputHeight: compressed.height,
                        label: truth.pixels, labelWidth: truth.width, labelHeight: truth.height)
        case .social(let quality), .color(let quality):
            let prepared = if case .social = degradation {
                try? DeblockProtocol.prepareSocial(groundTruth: groundTruth, quality: quality)
            } else {
                try? DeblockProtocol.prepareColor(groundTruth: groundTruth, quality: quality)
            }
            guard let s = prepared else { return nil }
            return Pair(input: s.compressedY.pixels, inputWidth: s.compressedY.width, inputHeight: s.compressedY.height,
                        label: s.groundTruthY.pixels, labelWidth: s.groundTruthY.width, labelHeight: s.groundTruthY.height)
        }
        let cropped = groundTruthY.modcropped(scale)
        guard cropped.width >= scale * 2, cropped.height >= scale * 2 else { return nil }
        let low = cropped.resized(scale: 1 / Double(scale), method: .bicubic)
        let needsBicubic = geometry.upscaledInput || geometry.residualLabel
        let up = needsBicubic ? low.resized(scale: Double(scale), method: .bicubic) : low
        let input = geometry.upscaledInput ? up : low
        var label = cropped.pixels
        if geometry.residualLabel {
            for i in label.indices { label[i] -= up.pixels[i] }
        }
        return Pair(input: input.pixels, inputWidth: input.width, inputHeight: input.height,
                    label: label, labelWidth: cropped.width, labelHeight: cropped.height)
    }

    /// Copies sub-image `location`, transformed by dihedral element `transform` (0...7), into
    /// `input` (`inputSize²` floats) and `label` (`labelSize²` floats).
    public func copyPatch(_ location: PatchLocation, transform: Int,
                          input: UnsafeMutablePointer<Float>, label: UnsafeMutablePointer<Float>) {
        let p = pairs[Int(location.pair)]
        let size = geometry.inputSize, y0 = Int(location.y), x0 = Int(location.x)
        p.input.withUnsafeBufferPointer { src in
            Dihedral.copy(from: src.baseAddress! + y0 * p.inputWidth + x0, rowStride: p.inputWidth,
                          size: size, transform: transform, to: input)
        }
        let ls = geometry.labelSize, s = geometry.networkScale
        let shift = geometry.radius - geometry.inputPadding
        let ly = (y0 + shift) * s, lx = (x0 + shift) * s
        p.label.withUnsafeBufferPointer { src in
            Dihedral.copy(from: src.baseAddress! + ly * p.labelWidth + lx, rowStride: p.labelWidth,
                          size: ls, transform: transform, to: label)
        }
    }
}

/// The 8 symmetries of a square: bit 0 flips horizontally, bit 1 vertically, bit 2 transposes.
public enum Dihedral {
    /// Copies a `size`×`size` block starting at `source` (rows `rowStride` apart) into `destination`
    /// (contiguous), applying `transform`.
    public static func copy(from source: UnsafePointer<Float>, rowStride: Int, size: Int, transform: Int,
                            to destination: UnsafeMutablePointer<Float>) {
        let flipX = transform & 1 != 0, flipY = transform & 2 != 0, transpose = transform & 4 != 0
        for oy in 0..<size {
            for ox in 0..<size {
                var sy = transpose ? ox : oy
                var sx = transpose ? oy : ox
                if flipY { sy = size - 1 - sy }
                if flipX { sx = size - 1 - sx }
                destination[oy * size + ox] = source[sy * rowStride + sx]
            }
        }
    }
}

/// Fixed-size result slots written from concurrent workers (each slot by one worker).
final class ResultBox<T>: @unchecked Sendable {
    private(set) var values: [T?]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.lock(); values[i] = v; lock.unlock() }
}
