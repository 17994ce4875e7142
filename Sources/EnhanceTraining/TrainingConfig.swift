import Enhance
import Foundation

/// Every setting of a training run. Read from a JSON config file and/or the command line;
/// stored in each checkpoint so that `--resume` continues exactly the same run.
public struct TrainingConfig: Sendable, Codable, Equatable {
    /// Architecture family (`srcnn-9-5-5`, `fsrcnn`, ...).
    public var model: String = "srcnn-9-5-5"
    /// Name of the resulting model (default `<model>-x<scale>`).
    public var name: String?
    public var scale: Int = 3
    /// JPEG quality of the training inputs (deblocking models, `arcnn`); the scale is then 1.
    public var quality: Int?
    /// With `quality`: how the JPEG inputs are made, `standard` (Y alone through JPEG, AR-CNN's
    /// protocol) or `social` (camera JPEG, down-scaled by 0.75, re-compressed in colour: AR-CNN's
    /// "standard to real use" transfer; see `DeblockProtocol.prepareSocial`). Validation uses the same.
    public var degradation: DeblockDegradation = .standard
    /// Training image folders (T91, BSDS500/train, ...).
    public var trainFolders: [String] = []
    /// Validation folder (Set5), scored with the evaluation protocol.
    public var validationFolder: String?
    /// `adam` or `sgd`.
    public var optimizer: String = "adam"
    public var learningRate: Double = 1e-3
    /// Per-layer multipliers keyed by parameter-name prefix (`"4": 0.1` for SRCNN's last layer).
    public var learningRateMultipliers: [String: Float] = [:]
    public var momentum: Double = 0.9
    /// `constant`, `cosine` (to 1 % at `steps`) or `step:<every>:<gamma>`.
    public var schedule: String = "cosine"
    /// `mse`, `l1` or `charbonnier`.
    public var loss: String = "mse"
    public var batchSize: Int = 64
    public var steps: Int = 100_000
    public var seed: UInt64 = 1
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    /// Sub-image side in input pixels and stride (SRCNN: 33 and 14).
    public var patchSize: Int = 33
    public var patchStride: Int = 14
    /// Down-scaling augmentation and the 8 flips/rotations.
    public var augment: Bool = true
    /// With `augment`: also train on the 0.9 … 0.6 down-scaled copies of every image
    /// (`Augmentation.standard`). Off: the images at their own scale, flipped and rotated only
    /// (`Augmentation.flips`), closer to test images that were never down-scaled.
    public var downscale: Bool = true
    /// Deblocking: train on the image borders too (`PatchGeometry.paddedBorders`): inputs
    /// edge-replicated by the network's radius, as inference pads them, and sub-images flush
    /// with the far edges. Off: sub-images inside the images only, as the papers cut them.
    public var borders: Bool = false
    /// Initialise from this model file (fine-tuning); nil trains from scratch.
    public var initFrom: String?
    /// With `initFrom`: parameter-prefix renames, destination to source (`"6": "4"` fills layer 6
    /// from the base model's layer 4, e.g. the reconstruction layer when going shallow to deep).
    public var initMap: [String: String] = [:]
    /// With `initFrom`: start from `init + extrapolation · (init − extrapolateFrom)` instead of
    /// `init`, i.e. continue the step that led from `extrapolateFrom` to `init` (the weights an
    /// earlier fine-tuning cycle started from and ended at). nil: start from `init` itself.
    public var extrapolateFrom: String?
    /// The factor of `extrapolateFrom` (1: one more step of the same length).
    public var extrapolation: Double = 1
    /// Decay of an exponential moving average of the weights (e.g. 0.999), updated after every
    /// step; when set, validation, `best.safetensors` and the saved model use the average
    /// instead of the raw weights. nil: no average.
    public var ema: Double?
    /// Re-initialise ReLU units that never fire (`Sequential.reviveUnits`), checked before the
    /// first update and after every `validateEvery` updates on `Trainer.probeBatches` batches.
    public var reviveDeadUnits: Bool = false
    /// Distillation: a model file whose output on each whole training input replaces part of
    /// the label (`teacherWeight`), e.g. an ensemble of trained models (`tools/ensemble_arcnn.py`).
    /// Deblocking runs only (input and label the same size). nil: the ground truth alone.
    public var teacher: String?
    /// With `teacher`: the label is `teacherWeight · teacher + (1 − teacherWeight) · ground truth`
    /// (MSE to it is the two MSEs so weighted, up to a constant).
    public var teacherWeight: Double = 1
    /// With `teacher`: its output averaged over the 8 flips/rotations (a self-ensemble, 8x the cost).
    public var teacherTTA: Bool = false
    public var outputFolder: String = "runs/train"
    public var logEvery: Int = 100
    public var validateEvery: Int = 1000
    public var checkpointEvery: Int = 1000

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, name, scale, quality, degradation, trainFolders, validationFolder, optimizer, learningRate, learningRateMultipliers, momentum, schedule, loss, batchSize, steps, seed, threads, patchSize, patchStride, augment, downscale, borders, initFrom, initMap, extrapolateFrom, extrapolation, ema, reviveDeadUnits, teacher, teacherWeight, teacherTTA, outputFolder, logEvery, validateEvery, checkpointEvery
    }

    /// Missing keys keep their defaults; unknown keys are refused (a typo would otherwise be ignored).
    public init(from decoder: any Decoder) throws {
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        let any = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = any.allKeys.map(\.stringValue).filter({ !known.contains($0) }).sorted().first {
            throw DecodingError.dataCorrupted(.init(codingPath: [AnyKey(stringValue: unknown)],
                                                    debugDescription: "unknown setting '\(unknown)'"))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent(type(of: self.model).self, forKey: .model) { self.model = v }
        if let v = try c.decodeIfPresent(type(of: self.name).self, forKey: .name) { self.name = v }
        if let v = try c.decodeIfPresent(type(of: self.scale).self, forKey: .scale) { self.scale = v }
        if let v = try c.decodeIfPresent(type(of: self.quality).self, forKey: .quality) { self.quality = v }
        if let v = try c.decodeIfPresent(type(of: self.degradation).self, forKey: .degradation) { self.degradation = v }
        if let v = try c.decodeIfPresent(type(of: self.trainFolders).self, forKey: .trainFolders) { self.trainFolders = v }
        if let v = try c.decodeIfPresent(type(of: self.validationFolder).self, forKey: .validationFolder) { self.validationFolder = v }
        if let v = try c.decodeIfPresent(type(of: self.optimizer).self, forKey: .optimizer) { self.optimizer = v }
        if let v = try c.decodeIfPresent(type(of: self.learningRate).self, forKey: .learningRate) { self.learningRate = v }
        if let v = try c.decodeIfPresent(type(of: self.learningRateMultipliers).self, forKey: .learningRateMultipliers) { self.learningRateMultipliers = v }
        if let v = try c.decodeIfPresent(type(of: self.momentum).self, forKey: .momentum) { self.momentum = v }
        if let v = try c.decodeIfPresent(type(of: self.schedule).self, forKey: .schedule) { self.schedule = v }
        if let v = try c.decodeIfPresent(type(of: self.loss).self, forKey: .loss) { self.loss = v }
        if let v = try c.decodeIfPresent(type(of: self.batchSize).self, forKey: .batchSize) { self.batchSize = v }
        if let v = try c.decodeIfPresent(type(of: self.steps).self, forKey: .steps) { self.steps = v }
        if let v = try c.decodeIfPresent(type(of: self.seed).self, forKey: .seed) { self.seed = v }
        if let v = try c.decodeIfPresent(type(of: self.threads).self, forKey: .threads) { self.threads = v }
        if let v = try c.decodeIfPresent(type(of: self.patchSize).self, forKey: .patchSize) { self.patchSize = v }
        if let v = try c.decodeIfPresent(type(of: self.patchStride).self, forKey: .patchStride) { self.patchStride = v }
        if let v = try c.decodeIfPresent(type(of: self.augment).self, forKey: .augment) { self.augment = v }
        if let v = try c.decodeIfPresent(type(of: self.downscale).self, forKey: .downscale) { self.downscale = v }
        if let v = try c.decodeIfPresent(Bool.self, forKey: .borders) { self.borders = v }
        if let v = try c.decodeIfPresent(type(of: self.initFrom).self, forKey: .initFrom) { self.initFrom = v }
        if let v = try c.decodeIfPresent(type(of: self.initMap).self, forKey: .initMap) { self.initMap = v }
        if let v = try c.decodeIfPresent(String.self, forKey: .extrapolateFrom) { self.extrapolateFrom = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .extrapolation) { self.extrapolation = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .ema) { self.ema = v }
        if let v = try c.decodeIfPresent(Bool.self, forKey: .reviveDeadUnits) { self.reviveDeadUnits = v }
        if let v = try c.decodeIfPresent(String.self, forKey: .teacher) { self.teacher = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .teacherWeight) { self.teacherWeight = v }
        if let v = try c.decodeIfPresent(Bool.self, forKey: .teacherTTA) { self.teacherTTA = v }
        if let v = try c.decodeIfPresent(type(of: self.outputFolder).self, forKey: .outputFolder) { self.outputFolder = v }
        if let v = try c.decodeIfPresent(type(of: self.logEvery).self, forKey: .logEvery) { self.logEvery = v }
        if let v = try c.decodeIfPresent(type(of: self.validateEvery).self, forKey: .validateEvery) { self.validateEvery = v }
        if let v = try c.decodeIfPresent(type(of: self.checkpointEvery).self, forKey: .checkpointEvery) { self.checkpointEvery = v }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// The model name written into the result (`arcnn-q20`; `arcnn-social-q20`, `arcnn-color-q20` for the other degradations).
    public var modelName: String {
        name ?? (quality.map { "\(model)-\(degradation == .standard ? "" : "\(degradation.rawValue)-")q\($0)" } ?? "\(model)-x\(scale)")
    }

    /// How inputs are made from the ground truth.
    public var inputDegradation: Degradation {
        guard let quality else { return .bicubic(scale: scale) }
        switch degradation {
        case .standard: return .jpeg(quality: quality)
        case .social: return .social(quality: quality)
        case .color: return .color(quality: quality)
        }
    }

    /// What the training images go through (`augment`, `downscale`).
    public var augmentation: Augmentation {
        guard augment else { return .none }
        return downscale ? .standard : .flips
    }

    /// A folder's name for records and comparisons: `T91`, `BSDS500/train` (the parent too when
    /// the name alone says little).
    public static func folderLabel(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let name = url.lastPathComponent
        return ["train", "test", "val", "images"].contains(name.lowercased())
            ? url.deletingLastPathComponent().lastPathComponent + "/" + name : name
    }

    /// Settings that must not change when resuming (everything that shapes the sequence of updates).
    public func resumeMismatch(with other: TrainingConfig) -> String? {
        var diffs: [String] = []
        if model != other.model { diffs.append("model \(other.model) vs \(model)") }
        if scale != other.scale { diffs.append("scale \(other.scale) vs \(scale)") }
        if quality != other.quality { diffs.append("quality \(other.quality.map(String.init) ?? "none") vs \(quality.map(String.init) ?? "none")") }
        if degradation != other.degradation { diffs.append("degradation \(other.degradation.rawValue) vs \(degradation.rawValue)") }
        if batchSize != other.batchSize { diffs.append("batch size \(other.batchSize) vs \(batchSize)") }
        if seed != other.seed { diffs.append("seed \(other.seed) vs \(seed)") }
        if optimizer != other.optimizer { diffs.append("optimizer \(other.optimizer) vs \(optimizer)") }
        // Folders are compared by name (`T91`, `BSDS500/train`): a run may resume on another
        // machine or from another working directory.
        if trainFolders.map(TrainingConfig.folderLabel) != other.trainFolders.map(TrainingConfig.folderLabel) {
            diffs.append("training folders \(other.trainFolders.map(TrainingConfig.folderLabel)) vs \(trainFolders.map(TrainingConfig.folderLabel))")
        }
        if patchSize != other.patchSize || patchStride != other.patchStride { diffs.append("patch geometry differs") }
        if augmentation != other.augmentation { diffs.append("augmentation differs") }
        if borders != other.borders { diffs.append("borders \(other.borders ? "on" : "off") vs \(borders ? "on" : "off")") }
        if loss != other.loss { diffs.append("loss \(other.loss) vs \(loss)") }
        if ema != other.ema { diffs.append("weight average \(other.ema.map { "\($0)" } ?? "none") vs \(ema.map { "\($0)" } ?? "none")") }
        if reviveDeadUnits != other.reviveDeadUnits { diffs.append("reviving dead units \(other.reviveDeadUnits ? "on" : "off") vs \(reviveDeadUnits ? "on" : "off")") }
        // By file name, as the folders: the labels depend on the teacher's weights, not on its path.
        if teacher.map({ URL(fileURLWithPath: $0).lastPathComponent }) != other.teacher.map({ URL(fileURLWithPath: $0).lastPathComponent })
            || (teacher != nil && (teacherWeight != other.teacherWeight || teacherTTA != other.teacherTTA)) {
            func describe(_ c: TrainingConfig) -> String {
                c.teacher.map { "\(URL(fileURLWithPath: $0).lastPathComponent)\(c.teacherTTA ? "+tta" : "") at \(c.teacherWeight)" } ?? "none"
            }
            diffs.append("teacher \(describe(other)) vs \(describe(self))")
        }
        return diffs.isEmpty ? nil : diffs.joined(separator: ", ")
    }
}
