import Dispatch
import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation

/// A user-facing training error (bad config, corrupt or mismatched checkpoint).
public struct TrainingError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// One row of the training log.
public struct TrainingLogRow: Sendable, Equatable {
    public var step: Int
    public var backprops: Int
    public var loss: Double
    public var learningRate: Double
    public var validationPSNR: Double?
    public var seconds: Double

    var csv: String {
        let v = validationPSNR.map { String(format: "%.4f", $0) } ?? ""
        return "\(step),\(backprops),\(String(format: "%.8f", loss)),\(String(format: "%.3g", learningRate)),\(v),\(String(format: "%.1f", seconds))"
    }
    static let csvHeader = "step,backprops,loss,learning_rate,validation_psnr,seconds"
}

/// A validation image prepared for the protocol of the model's task.
public enum ValidationSample: Sendable {
    case superResolution(SRSample)
    case deblocking(DeblockSample)
}

/// Trains a super-resolution or deblocking network with the settings of a ``TrainingConfig``.
///
/// Writes to `config.outputFolder`: `log.csv`, `checkpoint.safetensors` (latest: weights,
/// optimizer state, step; written atomically), `best.safetensors` (the best validated model,
/// a normal model file) and `curve.svg` (validation PSNR against back-propagations).
/// `resume: true` continues from `checkpoint.safetensors` and gives the same weights as a run
/// that was never stopped.
public final class Trainer {
    public let config: TrainingConfig
    public let architecture: Architecture
    public let dataset: TrainingSet
    /// With `config.teacher`: how good its labels are on the training images, for the log.
    public private(set) var teacherReport: String?
    public let validation: [ValidationSample]
    public let command: String
    let context: ComputeContext
    var network: Sequential
    /// The first-order optimizer (adam, sgd); nil for `--optimizer lbfgs`.
    var optimizer: (any Optimizer)?
    /// `--optimizer lbfgs`: full-batch quasi-Newton iterations on `fixedBatch`.
    var quasiNewton: LBFGS?
    /// The sub-images every L-BFGS iteration evaluates: batch 0 of the sampler, `--batch` of them.
    var fixedBatch: [(patch: Int, transform: Int)] = []
    /// Loss and gradient on `fixedBatch` at the current weights (recomputed after a resume).
    var fixedBatchState: (loss: Double, gradient: [Float])?
    /// The last L-BFGS iteration's line search, for the progress line.
    var lastIteration: LBFGS.Iteration?
    let loss: Loss
    /// Per-pair weights of each sub-image's loss (`--loss psnr`, `TrainingSet.psnrWeights`).
    let pairWeights: [Float]?
    /// Learning-rate schedule of the run (the optimizer holds the same one).
    let schedule: LearningRateSchedule
    var sampler: BatchSampler
    public private(set) var step = 0
    /// The exponential moving average of the parameters (`config.ema`), in `network.parameters` order.
    public private(set) var averagedParameters: [Tensor]?
    var wallSeconds = 0.0
    /// Units re-initialised so far (`config.reviveDeadUnits`).
    public private(set) var revivedUnits = 0
    public private(set) var bestPSNR = -Double.infinity
    /// The training history of the `--init` weights, kept in this run's record.
    public private(set) var earlierRecords: [TrainingRecord] = []
    var history: [TrainingLogRow] = []
    var bicubicPSNR: Double?

    var output: URL { URL(fileURLWithPath: config.outputFolder) }
    var checkpointURL: URL { output.appendingPathComponent("checkpoint.safetensors") }
    var bestURL: URL { output.appendingPathComponent("best.safetensors") }
    /// A fine-tune's weights at step 0 (after `--extrapolate-from`, if any).
    var startURL: URL { output.appendingPathComponent("start.safetensors") }
    var logURL: URL { output.appendingPathComponent("log.csv") }
    var curveURL: URL { output.appendingPathComponent("curve.svg") }

    /// Loads the data and builds the network; `dataset` may be given to skip reading folders (tests).
    public init(config: TrainingConfig, command: String = "", dataset: TrainingSet? = nil,
                validation: [ValidationSample]? = nil) throws {
        self.config = config
        self.command = command
        guard let arch = Architecture(familyName: config.model, scale: config.scale) else {
            throw TrainingError("unknown model '\(config.model)'; known: \(Architecture.familyNames.joined(separator: ", "))")
        }
        try Trainer.checkTask(arch, config: config)
        architecture = arch
        context = ComputeContext(threads: max(1, config.threads))
        let geometry = Trainer.patchGeometry(config, architecture: arch)
        var trainingSet: TrainingSet
        if let dataset {
            trainingSet = dataset
        } else {
            guard !config.trainFolders.isEmpty else { throw TrainingError("no training folders (--data)") }
            trainingSet = try TrainingSet(folders: config.trainFolders.map { URL(fileURLWithPath: $0) },
                                             degradation: config.inputDegradation, geometry: geometry,
                                             augmentation: config.augmentation, threads: config.threads)
        }
        if let teacherPath = config.teacher {
            guard config.teacherWeight > 0 && config.teacherWeight <= 1 else {
                throw TrainingError("--teacher-weight must be in (0, 1], got \(config.teacherWeight)")
            }
            let teacher = try Model.read(contentsOf: URL(fileURLWithPath: teacherPath))
            guard teacher.info.task == .deblocking, config.quality != nil else {
                throw TrainingError("--teacher: \(teacherPath) is a \(teacher.info.task == .deblocking ? "deblocking" : "super-resolution") model and this run \(config.quality == nil ? "is super-resolution" : "removes JPEG artifacts"); distillation needs a deblocking teacher for a deblocking run")
            }
            let inference = PlaneInference(model: teacher, context: ComputeContext(threads: config.threads))
            let psnr = try trainingSet.blendLabels(weight: Float(config.teacherWeight)) {
                inference.run($0.input, width: $0.inputWidth, height: $0.inputHeight, tta: config.teacherTTA)
            }
            teacherReport = String(format: "teacher %.3f dB over the training images (their JPEG %.3f dB)", psnr.teacher, psnr.input)
        }
        self.dataset = trainingSet
        guard self.dataset.patchCount > 0 else { throw TrainingError("the training folders give no \(config.patchSize)x\(config.patchSize) sub-images") }
        if let validation {
            self.validation = validation
        } else if let folder = config.validationFolder {
            self.validation = try ImageFolder.list(URL(fileURLWithPath: folder)).map {
                let image = try ImageIO.read(contentsOf: $0)
                if let q = config.quality {
                    return .deblocking(try DeblockProtocol.prepare(groundTruth: image, quality: q, degradation: config.degradation))
                }
                return .superResolution(SRProtocol.prepare(groundTruth: image, scale: config.scale))
            }
        } else {
            self.validation = []
        }
        loss = try Trainer.parseLoss(config.loss)
        pairWeights = config.loss.lowercased() == "psnr" ? try self.dataset.psnrWeights() : nil
        schedule = try Trainer.parseSchedule(config.schedule, steps: config.steps)
        sampler = BatchSampler(seed: config.seed, patchCount: self.dataset.patchCount, batchSize: config.batchSize,
                               dihedral: config.augmentation.dihedral)
        network = arch.makeNetwork(seed: config.seed)
        if let initFrom = config.initFrom {
            let base = try Model.read(contentsOf: URL(fileURLWithPath: initFrom))
            earlierRecords = base.info.training?.history ?? []
            let copied = Trainer.initialize(&network, from: base.network, map: config.initMap)
            if copied.isEmpty {
                throw TrainingError("\(initFrom): no tensor of \(base.info.name) matches \(config.model) by name and shape (see --init-map)")
            }
            if let earlierPath = config.extrapolateFrom {
                let earlier = try Model.read(contentsOf: URL(fileURLWithPath: earlierPath))
                try Trainer.extrapolate(&network, awayFrom: earlier.network, by: Float(config.extrapolation),
                                        names: copied, fileName: earlierPath)
            }
        }
        if config.optimizer.lowercased() == "lbfgs" {
            if config.reviveDeadUnits { throw TrainingError("--revive-dead does not apply to --optimizer lbfgs (a revived unit would void its curvature pairs)") }
            if config.ema != nil { throw TrainingError("--ema does not apply to --optimizer lbfgs") }
            if !config.learningRateMultipliers.isEmpty { throw TrainingError("--lr-mult does not apply to --optimizer lbfgs") }
            guard config.batchSize <= self.dataset.patchCount else {
                throw TrainingError("--optimizer lbfgs evaluates --batch sub-images at every step: \(config.batchSize) is more than the \(self.dataset.patchCount) there are")
            }
            quasiNewton = LBFGS(memory: Trainer.lbfgsMemory)
            fixedBatch = sampler.batch(step: 0)
            optimizer = nil
        } else {
            optimizer = try Trainer.makeOptimizer(config)
        }
        if let decay = config.ema {
            guard decay >= 0 && decay < 1 else { throw TrainingError("--ema must be in [0, 1), got \(decay)") }
            averagedParameters = network.parameters
        }
    }

    /// How a deblocking run's inputs were made, for its training record.
    static func degradationNote(_ degradation: DeblockDegradation, quality: Int) -> String {
        switch degradation {
        case .standard:
            return "standard degradation: Y through a one-component JPEG at quality \(quality)"
        case .social:
            return "social degradation: camera JPEG 4:2:0 q\(DeblockProtocol.socialCameraQuality), bicubic x\(DeblockProtocol.socialScale), "
                + "re-compressed as colour JPEG 4:2:0 at quality \(quality)"
        case .color:
            return "colour degradation: Y of a colour JPEG 4:2:0 at quality \(quality)"
        }
    }

    /// Sub-image geometry of a run: the config's size and stride, the architecture's radius.
    public static func patchGeometry(_ config: TrainingConfig, architecture arch: Architecture) -> PatchGeometry {
        PatchGeometry(upscaledInput: arch.takesUpscaledInput, inputSize: config.patchSize,
                      stride: config.patchStride, radius: arch.contextPadding, networkScale: arch.networkScale,
                      residualLabel: arch.residualOverBicubic, paddedBorders: config.borders)
    }

    /// Current parameters, named as in weight files.
    public var namedParameters: [(name: String, tensor: Tensor)] { network.namedParameters }

    /// Deblocking when a JPEG quality is given (AR-CNN, Fast AR-CNN, or a 3-layer SRCNN-shaped
    /// network for the shallow-to-deep transfer), super-resolution otherwise.
    var task: ModelTask { config.quality == nil ? .superResolution : .deblocking }

    static func checkTask(_ arch: Architecture, config: TrainingConfig) throws {
        switch arch {
        case .arcnn, .fastArcnn:
            if config.quality == nil {
                throw TrainingError("model '\(config.model)' removes JPEG artifacts: give the JPEG quality to train for (--quality)")
            }
        case .fsrcnn, .enhanceNet:
            if config.quality != nil {
                throw TrainingError("model '\(config.model)' is a super-resolution model: --quality applies to arcnn, fast-arcnn and srcnn-shaped models")
            }
        case .srcnn:
            break
        }
        if config.quality == nil && config.degradation != .standard {
            throw TrainingError("degradation '\(config.degradation.rawValue)' applies to JPEG artifact reduction: give the JPEG quality to train for (--quality)")
        }
        if config.borders && (config.quality == nil || arch.tileAlignment != 1) {
            throw TrainingError("--borders applies to deblocking models without strided layers (arcnn, srcnn-shaped)")
        }
        if config.borders && config.teacher != nil { throw TrainingError("--teacher does not combine with --borders") }
        if config.borders && config.loss.lowercased() == "psnr" { throw TrainingError("loss psnr does not combine with --borders") }
    }

    /// Copies parameters from `base` into `network`: each parameter takes the base tensor of the
    /// same name, or of the name with a `map` prefix substituted (`["6": "4"]`: "6.weight" from
    /// "4.weight"), when the shapes agree. Returns the names that were copied.
    public static func initialize(_ network: inout Sequential, from base: Sequential, map: [String: String]) -> [String] {
        let baseParams = Dictionary(uniqueKeysWithValues: base.namedParameters.map { ($0.name, $0.tensor) })
        var params = network.parameters
        var copied: [String] = []
        for (i, name) in network.parameterNames.enumerated() {
            var source = name
            if let dot = name.firstIndex(of: "."), let mapped = map[String(name[..<dot])] {
                source = mapped + name[dot...]
            }
            if let t = baseParams[source], t.shape == params[i].shape {
                params[i] = t
                copied.append(name)
            }
        }
        network.parameters = params
        return copied
    }

    /// Moves the parameters named `names` from `p` to `p + factor · (p − earlier)`: one more step
    /// like the one that led from `earlier` to `p`. Every named parameter must exist in
    /// `earlier` with the same shape.
    public static func extrapolate(_ network: inout Sequential, awayFrom earlier: Sequential, by factor: Float,
                                   names: [String], fileName: String) throws {
        let earlierParams = Dictionary(uniqueKeysWithValues: earlier.namedParameters.map { ($0.name, $0.tensor) })
        let wanted = Set(names)
        var params = network.parameters
        for (i, name) in network.parameterNames.enumerated() where wanted.contains(name) {
            guard let e = earlierParams[name], e.shape == params[i].shape else {
                throw TrainingError("\(fileName): no tensor '\(name)' of shape \(params[i].shape) to extrapolate from")
            }
            var moved = params[i]
            moved.storage.withUnsafeMutableBufferPointer { p in
                e.storage.withUnsafeBufferPointer { q in
                    for j in 0..<p.count { p[j] += factor * (p[j] - q[j]) }
                }
            }
            params[i] = moved
        }
        network.parameters = params
    }

    static func parseLoss(_ s: String) throws -> Loss {
        switch s.lowercased() {
        case "mse": return .mse
        case "l1": return .l1
        case "charbonnier": return .charbonnier(epsilon: 1e-3)
        case "psnr": return .mse  // weighted per image by the trainer
        default: throw TrainingError("unknown loss '\(s)'; use mse, l1, charbonnier or psnr")
        }
    }

    static func parseSchedule(_ s: String, steps: Int) throws -> LearningRateSchedule {
        let parts = s.lowercased().split(separator: ":").map(String.init)
        switch parts.first {
        case "constant": return .constant
        case "cosine": return .cosine(totalSteps: max(1, steps), minimumFactor: 0.01)
        case "step":
            guard parts.count == 3, let every = Int(parts[1]), every > 0, let gamma = Double(parts[2]) else {
                throw TrainingError("schedule 'step' needs the form step:<every>:<gamma>, got '\(s)'")
            }
            return .step(every: every, gamma: gamma)
        default: throw TrainingError("unknown schedule '\(s)'; use constant, cosine or step:<every>:<gamma>")
        }
    }

    static func makeOptimizer(_ c: TrainingConfig) throws -> any Optimizer {
        let schedule = try parseSchedule(c.schedule, steps: c.steps)
        switch c.optimizer.lowercased() {
        case "adam":
            return Adam(learningRate: Float(c.learningRate), learningRateMultipliers: c.learningRateMultipliers,
                        schedule: schedule)
        case "sgd":
            return SGD(learningRate: Float(c.learningRate), momentum: Float(c.momentum),
                       learningRateMultipliers: c.learningRateMultipliers, schedule: schedule)
        default:
            throw TrainingError("unknown optimizer '\(c.optimizer)'; use adam, sgd or lbfgs")
        }
    }

    /// The model as it stands, with its metadata and a training record: the weight average when
    /// the run keeps one (`config.ema`) unless `raw`, else the weights themselves.
    public func currentModel(validationPSNR: Double, raw: Bool = false) -> Model {
        let data = config.trainFolders.map(TrainingConfig.folderLabel).joined(separator: " + ")
            + " (\(dataset.files.count) images, \(dataset.patchCount) sub-images\(config.augmentation.recordNote)\(config.borders ? ", borders edge-padded" : ""))"
            + (config.quality.map { ", \(Trainer.degradationNote(config.degradation, quality: $0))" } ?? "")
        let record = TrainingRecord(
            command: command, data: data, steps: step, backprops: step * config.batchSize,
            wallSeconds: wallSeconds, validationPSNR: validationPSNR,
            validationSet: config.validationFolder.map(TrainingConfig.folderLabel) ?? "",
            notes: "optimizer \(config.optimizer) lr \(config.learningRate) schedule \(config.schedule), loss \(config.loss), batch \(config.batchSize), seed \(config.seed)"
                + (config.initFrom.map { ", fine-tuned from \(URL(fileURLWithPath: $0).lastPathComponent)" } ?? "")
                + (config.extrapolateFrom.map { " extrapolated \(config.extrapolation)x away from \(URL(fileURLWithPath: $0).lastPathComponent)" } ?? "")
                + (config.ema.map { raw ? "" : ", weights: moving average with decay \($0)" } ?? "")
                + (config.reviveDeadUnits ? ", dead ReLU units revived (\(revivedUnits) in all)" : "")
                + (config.teacher.map { ", labels \(config.teacherWeight) × the output of \(URL(fileURLWithPath: $0).lastPathComponent)\(config.teacherTTA ? " over the 8 flips/rotations" : "")"
                    + (config.teacherWeight < 1 ? " + \(1 - config.teacherWeight) × the ground truth" : "") + " (distillation)" } ?? ""),
            earlier: earlierRecords)
        let info = ModelInfo(name: config.modelName, task: task, architecture: architecture,
                             scale: config.inputDegradation.scale, jpegQuality: config.quality, training: record)
        var weights = network
        if !raw, let averaged = averagedParameters { weights.parameters = averaged }
        return Model(info: info, network: weights)
    }

    // MARK: The loop

    /// One optimizer update on batch `step`; returns the batch loss.
    @discardableResult
    public func trainStep() -> Double {
        if quasiNewton != nil { return quasiNewtonStep() }
        let (value, gradients) = lossAndGradients(sampler.batch(step: step))
        optimizer!.update(&network, gradients: gradients)
        if let decay = config.ema { updateAverage(decay: Float(decay)) }
        step += 1
        return value
    }

    /// Pairs an L-BFGS run keeps (`LBFGS.memory`).
    public static let lbfgsMemory = 10
    /// Sub-images per forward/backward pass when a step evaluates the whole fixed batch.
    static let fixedBatchChunk = 32

    /// One L-BFGS iteration on the fixed batch (`LBFGS.iterate`; the first step moves the largest
    /// weight by `--lr`); returns the loss at the new weights.
    func quasiNewtonStep() -> Double {
        if fixedBatchState == nil { fixedBatchState = fixedBatchLossAndGradient() }
        var x = flatParameters(), loss = fixedBatchState!.loss, gradient = fixedBatchState!.gradient
        let result = quasiNewton!.iterate(x: &x, loss: &loss, gradient: &gradient, firstStep: Float(config.learningRate)) {
            setFlatParameters($0)
            return fixedBatchLossAndGradient()
        }
        setFlatParameters(x)
        fixedBatchState = (loss, gradient)
        lastIteration = result
        step += 1
        return loss
    }

    /// Mean loss and gradient (flattened in parameter order) over `fixedBatch`, in chunks.
    func fixedBatchLossAndGradient() -> (loss: Double, gradient: [Float]) {
        var total = 0.0
        var sum = [Double](repeating: 0, count: network.parameterCount)
        for start in stride(from: 0, to: fixedBatch.count, by: Trainer.fixedBatchChunk) {
            let part = Array(fixedBatch[start..<min(start + Trainer.fixedBatchChunk, fixedBatch.count)])
            let (value, gradients) = lossAndGradients(part)
            let w = Double(part.count)
            total += value * w
            var k = 0
            for g in gradients {
                g.storage.withUnsafeBufferPointer { gp in
                    for v in gp { sum[k] += Double(v) * w; k += 1 }
                }
            }
        }
        let n = Double(fixedBatch.count)
        return (total / n, sum.map { Float($0 / n) })
    }

    func flatParameters() -> [Float] { network.parameters.flatMap(\.storage) }

    func setFlatParameters(_ x: [Float]) {
        var params = network.parameters, k = 0
        for i in params.indices {
            let n = params[i].count
            params[i].storage = Array(x[k..<k + n])
            k += n
        }
        network.parameters = params
    }

    /// Loss on the sub-images `items` and its gradient for every parameter (network order).
    func lossAndGradients(_ items: [(patch: Int, transform: Int)]) -> (Double, [Tensor]) {
        let (input, label) = dataset.makeBatch(items)
        let (output, activations) = network.trainingForward(input, context: context)
        // Score only the outputs a tile would keep (FSRCNN: where every deconvolution tap has an input).
        let offset = architecture.outputOffset
        let prediction = offset == 0 && output.shape == label.shape
            ? output : output.window(offset: offset, size: label.shape[3])
        let weights = pairWeights.map { w in items.map { w[Int(dataset.patches[$0.patch].pair)] } }
        let (value, gradient) = loss.evaluate(prediction: prediction, target: label, sampleWeights: weights)
        let fullGradient = prediction.shape == output.shape
            ? gradient : gradient.placed(in: output.shape, offset: offset)
        let back = network.backward(outputGradient: fullGradient, activations: activations, needsInputGradient: false,
                                    context: context)
        return (value, back.parameterGradients)
    }

    /// Training batches a dead-unit check looks at (those of the next updates): 8 x 16 sub-images
    /// of 64² give each unit of AR-CNN's 7x7 layer 320 000 positions to fire at.
    public static let probeBatches = 8

    /// How often each rectified unit fires on the training batches of the next
    /// `probeBatches` updates (the raw weights, not their average).
    public func unitActivity() -> [UnitActivity] {
        var total: [UnitActivity] = []
        for k in 0..<Trainer.probeBatches {
            let (input, _) = dataset.makeBatch(sampler.batch(step: step + k))
            let batch = network.unitActivity(input, context: context)
            total = total.isEmpty ? batch : zip(total, batch).map { a, b in
                UnitActivity(layer: a.layer, activeFraction: zip(a.activeFraction, b.activeFraction).map { $0 + $1 })
            }
        }
        return total.map { UnitActivity(layer: $0.layer, activeFraction: $0.activeFraction.map { $0 / Double(Trainer.probeBatches) }) }
    }

    /// Re-initialises the units that never fired in `unitActivity()` (new incoming weights from a
    /// generator seeded by the run's seed and the step, so a resumed run does the same, and the
    /// bias from the next update's batch, `Sequential.reviveUnits`), resets
    /// their optimizer history, and copies them into the weight average. Returns a line for the
    /// log, or nil when every unit is alive.
    public func reviveDeadUnits() -> String? {
        let activity = unitActivity()
        guard activity.contains(where: { !$0.deadUnits.isEmpty }) else { return nil }
        var rng = SeededGenerator(seed: config.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step))
        let probe = dataset.makeBatch(sampler.batch(step: step)).input
        let names = network.parameterNames
        var parts: [String] = []
        for a in activity where !a.deadUnits.isEmpty {
            let revived = network.reviveUnits(a.deadUnits, ofLayer: a.layer, rng: &rng, probe: probe, context: context)
            let current = network.parameters
            for r in revived {
                optimizer?.resetState(of: names[r.parameter], elements: r.elements)
                if averagedParameters != nil {
                    for e in r.elements { averagedParameters![r.parameter].storage[e] = current[r.parameter].storage[e] }
                }
            }
            revivedUnits += a.deadUnits.count
            parts.append("layer \(a.layer): \(a.deadUnits.count) of \(a.activeFraction.count)")
        }
        let count = activity.reduce(0) { $0 + $1.deadUnits.count }
        return "step \(step)  revived \(count) dead unit\(count == 1 ? "" : "s") (\(parts.joined(separator: ", ")))"
    }

    /// average ← decay · average + (1 − decay) · weights, for every parameter.
    func updateAverage(decay: Float) {
        guard var averaged = averagedParameters else { return }
        averagedParameters = nil  // `averaged` is then the only owner: updated in place, not copied
        let current = network.parameters
        for i in averaged.indices {
            averaged[i].storage.withUnsafeMutableBufferPointer { a in
                current[i].storage.withUnsafeBufferPointer { w in
                    for j in 0..<a.count { a[j] = decay * a[j] + (1 - decay) * w[j] }
                }
            }
        }
        averagedParameters = averaged
    }

    /// PSNR of one validation image restored by `method` (nil: the baseline, bicubic or the JPEG itself).
    static func psnr(of sample: ValidationSample, method: ModelMethod?) -> Double {
        switch sample {
        case .superResolution(let s):
            let restored = method.flatMap { try? $0.restoreY(s) as Image } ?? s.bicubicY
            return SRProtocol.score(restoredY: restored, groundTruthY: s.groundTruthY, scale: s.scale).psnr
        case .deblocking(let s):
            let restored = method.flatMap { try? $0.restoreY(s) as Image } ?? s.compressedY
            return DeblockProtocol.score(restoredY: restored, groundTruthY: s.groundTruthY).psnr
        }
    }

    var baselineName: String { config.quality == nil ? "bicubic" : "JPEG" }

    /// Mean validation PSNR (Y, protocol of the evaluation) of the current weights (their
    /// average when the run keeps one, unless `raw`).
    public func validate(raw: Bool = false) -> Double? {
        guard !validation.isEmpty else { return nil }
        let model = currentModel(validationPSNR: 0, raw: raw)
        let method = ModelMethod(model: model, context: context)
        let total = validation.reduce(0.0) { $0 + Trainer.psnr(of: $1, method: method) }
        return total / Double(validation.count)
    }

    /// Runs until `config.steps` (or until step `stopAt`, leaving a checkpoint there, as an
    /// interrupted session would), logging through `report` (progress lines). `shouldStop` is
    /// asked after every step: when it says so (Ctrl-C), the run checkpoints where it is and
    /// returns. Returns whether the run reached `config.steps`.
    @discardableResult
    public func run(resume: Bool, stopAt: Int? = nil, shouldStop: () -> Bool = { false },
                    report: (String) -> Void) throws -> Bool {
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        if resume {
            try loadCheckpoint()
            report("resumed at step \(step) (\(formatDuration(wallSeconds)) trained so far)")
        } else if FileManager.default.fileExists(atPath: checkpointURL.path) {
            throw TrainingError("\(checkpointURL.path) exists: pass --resume to continue that run, or choose another --output")
        }
        if bicubicPSNR == nil, !validation.isEmpty {
            bicubicPSNR = validation.reduce(0.0) { $0 + Trainer.psnr(of: $1, method: nil) } / Double(validation.count)
        }
        try rewriteLog()
        if let w = pairWeights, step == 0 {
            report(String(format: "loss psnr: image weights %.3f to %.3f (mean 1 over the sub-images)",
                          w.min() ?? .nan, w.max() ?? .nan))
        }
        if step == 0 {
            let v = validate()
            if let v {
                record(TrainingLogRow(step: 0, backprops: 0, loss: .nan, learningRate: config.learningRate,
                                      validationPSNR: v, seconds: 0))
                report(String(format: "step 0  validation %.3f dB (%@ %.3f dB)", v, baselineName, bicubicPSNR ?? .nan))
            }
            if config.initFrom != nil {
                // A fine-tune's (or extrapolation's) start is a model worth keeping: later steps
                // replace it as best only when they validate higher. start.safetensors keeps it for
                // good (the EARLIER of a later `--extrapolate-from`).
                let start = currentModel(validationPSNR: v ?? .nan)
                try start.write(to: startURL)
                if let v {
                    bestPSNR = v
                    try start.write(to: bestURL)
                }
            }
        }
        var lossSum = 0.0, lossCount = 0
        var windowStart = DispatchTime.now().uptimeNanoseconds, windowSteps = 0
        var lastTick = DispatchTime.now().uptimeNanoseconds
        let end = min(config.steps, stopAt ?? config.steps)
        while step < end {
            if config.reviveDeadUnits && step % config.validateEvery == 0 {
                if let line = reviveDeadUnits() { report(line) }
                lastTick = DispatchTime.now().uptimeNanoseconds   // not training time, as validation
            }
            lossSum += trainStep()
            lossCount += 1
            windowSteps += 1
            let now = DispatchTime.now().uptimeNanoseconds
            wallSeconds += Double(now - lastTick) / 1e9
            lastTick = now
            let validateNow = step % config.validateEvery == 0 || step == config.steps
            let logNow = step % config.logEvery == 0 || validateNow
            if logNow {
                let elapsed = Double(now - windowStart) / 1e9
                let rate = Double(windowSteps * config.batchSize) / max(elapsed, 1e-9)
                let lr = config.learningRate * schedule.factor(step: step)
                var row = TrainingLogRow(step: step, backprops: step * config.batchSize, loss: lossSum / Double(lossCount),
                                         learningRate: lr, validationPSNR: nil, seconds: wallSeconds)
                var line = String(format: "step %d/%d  loss %.6f  %.0f patches/s  ETA %@",
                                  step, config.steps, row.loss, rate,
                                  formatDuration(Double(config.steps - step) * Double(config.batchSize) / max(rate, 1e-9)))
                if let it = lastIteration {
                    line += String(format: "  fixed batch %.5f dB, step length %.3g (%d evaluation%@)", -10 * log10(fixedBatchState?.loss ?? .nan),
                                   it.stepLength, it.evaluations, it.evaluations == 1 ? "" : "s")
                }
                if validateNow, let v = validate() {
                    row.validationPSNR = v
                    line += String(format: "  validation %.3f dB", v)
                    if averagedParameters != nil, let r = validate(raw: true) { line += String(format: " (raw weights %.3f)", r) }
                    if v > bestPSNR {
                        bestPSNR = v
                        try currentModel(validationPSNR: v).write(to: bestURL)
                        line += " (best)"
                    }
                    lastTick = DispatchTime.now().uptimeNanoseconds
                }
                record(row)
                report(line)
                lossSum = 0; lossCount = 0
                windowStart = DispatchTime.now().uptimeNanoseconds; windowSteps = 0
            }
            let stopping = step < end && shouldStop()
            if step % config.checkpointEvery == 0 || step == end || stopping {
                try saveCheckpoint()
                try writeCurve()
                lastTick = DispatchTime.now().uptimeNanoseconds
            }
            if stopping {
                report("stopped at step \(step) of \(config.steps), checkpoint saved: continue with `enhance train --resume -o \(config.outputFolder)`")
                return false
            }
        }
        if validation.isEmpty && step == config.steps { try currentModel(validationPSNR: .nan).write(to: bestURL) }
        if config.steps == 0 {
            // No updates (a fine-tune's start, e.g. an extrapolation, made into a run of its own).
            try saveCheckpoint()
            try writeCurve()
        }
        return step == config.steps
    }

    func record(_ row: TrainingLogRow) {
        history.append(row)
        if let handle = try? FileHandle(forWritingTo: logURL) {
            handle.seekToEndOfFile()
            handle.write(Data((row.csv + "\n").utf8))
            try? handle.close()
        }
    }

    /// Rewrites log.csv with the rows up to the current step (a resumed run drops rows a
    /// killed run wrote after its last checkpoint).
    func rewriteLog() throws {
        history = history.filter { $0.step <= step }
        let text = ([TrainingLogRow.csvHeader] + history.map(\.csv)).joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: logURL, options: .atomic)
    }

    // MARK: Checkpoints

    static let checkpointFormat = "enhance-checkpoint-1"

    func saveCheckpoint() throws {
        var tensors = network.namedParameters.map { (name: "model." + $0.name, tensor: $0.tensor) }
        let opt = optimizer?.exportState() ?? quasiNewton!.exportState()
        for name in opt.tensors.keys.sorted() { tensors.append((name: "optimizer." + name, tensor: opt.tensors[name]!)) }
        if let averaged = averagedParameters {
            for (p, a) in zip(network.namedParameters, averaged) { tensors.append((name: "average." + p.name, tensor: a)) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = Model.nonFiniteEncoding
        let historyRows = history.map { [Double($0.step), Double($0.backprops), $0.loss, $0.learningRate,
                                         $0.validationPSNR ?? .nan, $0.seconds] }
        let metadata: [String: String] = [
            "format": Trainer.checkpointFormat,
            "config": String(decoding: try encoder.encode(config), as: UTF8.self),
            "optimizer": String(decoding: try encoder.encode(opt.metadata), as: UTF8.self),
            "step": String(step),
            "wall_seconds": String(wallSeconds),
            "best_psnr": String(bestPSNR),
            "revived_units": String(revivedUnits),
            "bicubic_psnr": bicubicPSNR.map { String($0) } ?? "",
            "history": String(decoding: try encoder.encode(historyRows), as: UTF8.self),
        ]
        try SafeTensors.write(tensors, metadata: metadata, to: checkpointURL)
    }

    /// The checkpoint file of `url` and the settings it was made with.
    static func readCheckpoint(_ url: URL) throws -> (file: SafeTensorsFile, config: TrainingConfig, step: Int) {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw TrainingError("\(path): no checkpoint to resume from")
        }
        let file: SafeTensorsFile
        do { file = try SafeTensors.read(contentsOf: url) } catch {
            throw TrainingError("\(path): corrupt checkpoint (\(error))")
        }
        guard file.metadata["format"] == Trainer.checkpointFormat,
              let configJSON = file.metadata["config"],
              let saved = try? JSONDecoder().decode(TrainingConfig.self, from: Data(configJSON.utf8)),
              let s = file.metadata["step"].flatMap(Int.init) else {
            throw TrainingError("\(path): not an Enhance training checkpoint")
        }
        return (file, saved, s)
    }

    /// The settings of the run whose checkpoint is in `outputFolder` (`enhance train --resume -o DIR`
    /// needs nothing else).
    public static func savedConfig(outputFolder: String) throws -> TrainingConfig {
        try readCheckpoint(URL(fileURLWithPath: outputFolder).appendingPathComponent("checkpoint.safetensors")).config
    }

    func loadCheckpoint() throws {
        let path = checkpointURL.path
        let (file, saved, s) = try Trainer.readCheckpoint(checkpointURL)
        if let mismatch = config.resumeMismatch(with: saved) {
            throw TrainingError("\(path): checkpoint was made with different settings (\(mismatch))")
        }
        var modelTensors: [String: Tensor] = [:], optTensors: [String: Tensor] = [:], averageTensors: [String: Tensor] = [:]
        for (name, t) in file.tensors {
            if name.hasPrefix("model.") { modelTensors[String(name.dropFirst(6))] = t }
            else if name.hasPrefix("optimizer.") { optTensors[String(name.dropFirst(10))] = t }
            else if name.hasPrefix("average.") { averageTensors[String(name.dropFirst(8))] = t }
        }
        do { try network.load(modelTensors, file: path) } catch {
            throw TrainingError("checkpoint does not match \(config.model): \(error)")
        }
        let optMeta = (file.metadata["optimizer"]).flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
        do {
            let state = OptimizerState(tensors: optTensors, metadata: optMeta)
            if optimizer != nil { try optimizer!.importState(state, matching: network) }
            else { try quasiNewton!.importState(state, count: network.parameterCount) }
        } catch {
            throw TrainingError("\(path): \(error)")
        }
        if averagedParameters != nil {
            var average = network
            do { try average.load(averageTensors, file: path) } catch {
                throw TrainingError("\(path): checkpoint has no usable weight average (\(error))")
            }
            averagedParameters = average.parameters
        }
        step = s
        wallSeconds = file.metadata["wall_seconds"].flatMap(Double.init) ?? 0
        bestPSNR = file.metadata["best_psnr"].flatMap(Double.init) ?? -.infinity
        revivedUnits = file.metadata["revived_units"].flatMap(Int.init) ?? 0
        bicubicPSNR = file.metadata["bicubic_psnr"].flatMap(Double.init)
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = Model.nonFiniteDecoding
        guard let h = file.metadata["history"], let rows = try? decoder.decode([[Double]].self, from: Data(h.utf8)) else {
            throw TrainingError("\(path): checkpoint has no readable training history")
        }
        history = rows.compactMap { r in
            guard r.count == 6 else { return nil }
            return TrainingLogRow(step: Int(r[0]), backprops: Int(r[1]), loss: r[2], learningRate: r[3],
                                  validationPSNR: r[4].isNaN ? nil : r[4], seconds: r[5])
        }
    }

    // MARK: Curve

    /// Rewrites `curve.svg` from the checkpoint's history (after a change of the plot).
    public func redrawCurve() throws {
        try loadCheckpoint()
        try writeCurve()
    }

    func writeCurve() throws {
        let points = history.compactMap { r in r.validationPSNR.map { (Double(r.backprops), $0) } }
        let svg = CurvePlot.svg(title: "\(config.modelName): validation PSNR (\(config.validationFolder.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "none"))",
                                xLabel: "back-propagations (sub-images)", yLabel: "PSNR (dB)",
                                points: points, baseline: bicubicPSNR.map { (baselineName, $0) })
        try Data(svg.utf8).write(to: curveURL, options: .atomic)
    }
}

func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
    if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
    return "\(s)s"
}
