import ArgumentParser
import CInterrupt
import Enhance
import EnhanceTraining
import EnhanceModels
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a super-resolution or JPEG artifact-reduction model on the CPU.",
        discussion: """
        Settings come from --config (a JSON file with the fields of TrainingConfig) and are \
        overridden by the options given. Writes log.csv, checkpoint.safetensors (latest), \
        best.safetensors (best validated model) and curve.svg to --output. --resume continues \
        a stopped run exactly where its last checkpoint left it; without --config it takes the \
        run's settings from that checkpoint, so `enhance train --resume -o DIR` is enough.
        """
    )

    @Option(help: "JSON config file; options given on the command line override it.") var config: String?
    @Option(help: "Architecture: \(Architecture.familyNames.joined(separator: ", ")).") var model: String?
    @Option(help: "Name of the trained model (default <model>-x<scale>).") var name: String?
    @Option(help: "Upscaling factor.") var scale: Int?
    @Option(help: "JPEG quality to train a deblocking model (arcnn) for.") var quality: Int?
    @Option(help: ArgumentHelp("With --quality: standard (Y alone through JPEG), social (camera JPEG, down-scaled by 0.75, re-compressed in colour) or color (colour JPEG 4:2:0).", valueName: "standard|social|color")) var degradation: String?
    @Option(name: .customLong("data"), help: "Training image folder (repeatable), e.g. T91 and BSDS500/train.") var data: [String] = []
    @Option(help: "Validation folder (Set5), scored with the evaluation protocol.") var validation: String?
    @Option(help: "adam, sgd, or lbfgs (full-batch quasi-Newton on a fixed --batch of sub-images; --lr is the first step's largest weight change).") var optimizer: String?
    @Option(name: .customLong("lr"), help: "Base learning rate.") var learningRate: Double?
    @Option(name: .customLong("lr-mult"), help: "Per-layer learning-rate multiplier PREFIX=FACTOR (repeatable), e.g. 4=0.1.") var lrMult: [String] = []
    @Option(help: "constant, cosine or step:<every>:<gamma>.") var schedule: String?
    @Option(help: "mse, l1, charbonnier, or psnr (MSE with each training image weighted by 1 / its input's MSE: the gradient of the mean per-image PSNR).") var loss: String?
    @Option(name: .customLong("batch"), help: "Sub-images per update.") var batchSize: Int?
    @Option(help: "Total optimizer updates.") var steps: Int?
    @Option(help: "Random seed (weights, shuffling, augmentation).") var seed: UInt64?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("patch"), help: "Sub-image side in input pixels (SRCNN: 33).") var patchSize: Int?
    @Option(name: .customLong("stride"), help: "Sub-image stride (SRCNN: 14).") var patchStride: Int?
    @Flag(name: .customLong("no-augment"), help: "No down-scaling, flips or rotations.") var noAugment = false
    @Flag(name: .customLong("no-downscale"), help: "Flips and rotations only: no down-scaled copies of the training images.") var noDownscale = false
    @Flag(help: "Deblocking: train on the image borders too: inputs edge-padded by the network's radius, as inference pads them, and sub-images flush with the far edges.") var borders = false
    @Option(name: .customLong("init"), help: "Start from this model file (fine-tuning, transfer).") var initFrom: String?
    @Option(name: .customLong("init-map"), help: "With --init: fill layer DST from the base model's layer SRC (DST=SRC, repeatable).") var initMap: [String] = []
    @Option(name: .customLong("extrapolate-from"), help: "With --init: start from INIT + A·(INIT − this file), continuing the step from the weights an earlier cycle started from (this file) to those it ended at (--init).") var extrapolateFrom: String?
    @Option(name: .customLong("extrapolate-by"), help: "With --extrapolate-from: the factor A (default 1: one more step of the same length).") var extrapolation: Double?
    @Option(help: "Keep a moving average of the weights with this decay (e.g. 0.999); validate and save it instead of the raw weights.") var ema: Double?
    @Flag(name: .customLong("revive-dead"), help: "Re-initialise ReLU units that never fire (checked before the first update and at every validation; the output is unchanged when it happens).") var reviveDead = false
    @Option(help: "Distillation (deblocking runs): labels become this model's output on each training input (e.g. an ensemble made by tools/ensemble_arcnn.py), blended with the ground truth by --teacher-weight.") var teacher: String?
    @Option(name: .customLong("teacher-weight"), help: "With --teacher: label = W × teacher + (1 − W) × ground truth, W in (0, 1] (default 1).") var teacherWeight: Double?
    @Flag(name: .customLong("teacher-tta"), help: "With --teacher: average its output over the 8 flips/rotations (8x the cost of the labels).") var teacherTTA = false
    @Option(name: .shortAndLong, help: "Output folder.") var output: String?
    @Option(help: "Progress line every N steps.") var logEvery: Int?
    @Option(help: "Validate every N steps.") var validateEvery: Int?
    @Option(help: "Checkpoint every N steps.") var checkpointEvery: Int?
    @Flag(help: "Continue from the output folder's checkpoint.") var resume = false
    @Flag(help: "Only redraw curve.svg from the output folder's checkpoint.") var redraw = false

    func validate() throws {
        if let degradation { _ = try parseDegradation(degradation) }
    }

    func makeConfig() throws -> TrainingConfig {
        var c = TrainingConfig()
        if config == nil && (resume || redraw) {
            // The checkpoint's own settings; the options given still override them (and a resume
            // refuses those that would change the run).
            do { c = try Trainer.savedConfig(outputFolder: output ?? c.outputFolder) } catch let error as TrainingError {
                throw ValidationError(error.message)
            }
        }
        if let config {
            do {
                c = try JSONDecoder().decode(TrainingConfig.self, from: Data(contentsOf: URL(fileURLWithPath: config)))
            } catch let error as DecodingError {
                throw ValidationError("\(config): \(TrainCommand.describe(error))")
            } catch {
                throw ValidationError("\(config): cannot read training config (\(error.localizedDescription))")
            }
        }
        if let model { c.model = model }
        if let name { c.name = name }
        if let scale { c.scale = scale }
        if let quality {
            guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1...100, got \(quality)") }
            c.quality = quality
            c.scale = 1
        }
        if let degradation { c.degradation = try parseDegradation(degradation) }
        if !data.isEmpty { c.trainFolders = data.map { resolveDataset($0).path } }
        if let validation { c.validationFolder = resolveDataset(validation).path }
        if let optimizer { c.optimizer = optimizer }
        if let learningRate { c.learningRate = learningRate }
        for entry in lrMult {
            let parts = entry.split(separator: "=")
            guard parts.count == 2, let f = Float(parts[1]) else {
                throw ValidationError("--lr-mult expects PREFIX=FACTOR, got '\(entry)'")
            }
            c.learningRateMultipliers[String(parts[0])] = f
        }
        if let schedule { c.schedule = schedule }
        if let loss { c.loss = loss }
        if let batchSize { c.batchSize = batchSize }
        if let steps { c.steps = steps }
        if let seed { c.seed = seed }
        if let threads { c.threads = threads }
        if let patchSize { c.patchSize = patchSize }
        if let patchStride { c.patchStride = patchStride }
        if noAugment { c.augment = false }
        if noDownscale { c.downscale = false }
        if borders { c.borders = true }
        if let initFrom { c.initFrom = initFrom }
        for entry in initMap {
            let parts = entry.split(separator: "=")
            guard parts.count == 2 else { throw ValidationError("--init-map expects DST=SRC, got '\(entry)'") }
            c.initMap[String(parts[0])] = String(parts[1])
        }
        if let extrapolateFrom {
            guard c.initFrom != nil else { throw ValidationError("--extrapolate-from needs --init (the weights to extrapolate from it)") }
            c.extrapolateFrom = extrapolateFrom
        }
        if let extrapolation {
            guard c.extrapolateFrom != nil else { throw ValidationError("--extrapolate-by needs --extrapolate-from") }
            guard extrapolation > 0 && extrapolation.isFinite else { throw ValidationError("--extrapolate-by must be > 0, got \(extrapolation)") }
            c.extrapolation = extrapolation
        }
        if let ema {
            guard ema >= 0 && ema < 1 else { throw ValidationError("--ema must be in [0, 1), got \(ema)") }
            c.ema = ema
        }
        if reviveDead { c.reviveDeadUnits = true }
        if let teacher { c.teacher = teacher }
        if teacherTTA {
            guard c.teacher != nil else { throw ValidationError("--teacher-tta needs --teacher") }
            c.teacherTTA = true
        }
        if let teacherWeight {
            guard c.teacher != nil else { throw ValidationError("--teacher-weight needs --teacher") }
            guard teacherWeight > 0 && teacherWeight <= 1 else { throw ValidationError("--teacher-weight must be in (0, 1], got \(teacherWeight)") }
            c.teacherWeight = teacherWeight
        }
        if let output { c.outputFolder = output }
        if let logEvery { c.logEvery = logEvery }
        if let validateEvery { c.validateEvery = validateEvery }
        if let checkpointEvery { c.checkpointEvery = checkpointEvery }
        guard c.scale >= 1 && c.scale <= 8 else { throw ValidationError("--scale must be 1...8, got \(c.scale)") }
        if c.steps == 0 && c.initFrom == nil {
            throw ValidationError("--steps 0 needs --init (it validates the start and keeps it as the run's model)")
        }
        guard c.batchSize >= 1, c.steps >= 0, c.threads >= 1, c.logEvery >= 1, c.validateEvery >= 1, c.checkpointEvery >= 1 else {
            throw ValidationError("--batch, --steps, --threads and the --*-every options must be ≥ 1 (--steps 0 with --init)")
        }
        // Before the training images load (a minute for BSDS500): a mistyped weight file fails now.
        for (option, path) in [("--init", initFrom), ("--extrapolate-from", extrapolateFrom), ("--teacher", teacher)] {
            if let path, !FileManager.default.fileExists(atPath: path) {
                throw ValidationError("\(option): no such file '\(path)'")
            }
        }
        return c
    }

    /// One line for a config file problem: which setting, and what is wrong with it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String { p.map(\.stringValue).joined(separator: ".") }
        switch error {
        case .dataCorrupted(let c) where !c.codingPath.isEmpty:
            return c.debugDescription.hasPrefix("unknown setting") ? c.debugDescription : "setting '\(path(c.codingPath))': \(c.debugDescription)"
        case .dataCorrupted:
            return "not valid JSON"
        case .typeMismatch(let type, let c), .valueNotFound(let type, let c):
            return "setting '\(path(c.codingPath))' must be \(type == String.self ? "a string" : "of type \(type)")"
        case .keyNotFound(let key, _):
            return "missing setting '\(key.stringValue)'"
        @unknown default:
            return "cannot read training config"
        }
    }

    func run() throws {
        let c = try makeConfig()
        let command = CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        do {
            printError("loading \(c.trainFolders.count) training folder(s) for \(c.modelName)...")
            if let teacher = c.teacher {
                // A minute or more per 100 images (8x with --teacher-tta) before the first update.
                printError("labels: \(c.teacherWeight) × the output of \(teacher)\(c.teacherTTA ? " over the 8 flips/rotations" : "") on each training image")
            }
            let trainer = try Trainer(config: c, command: command)
            if redraw {
                try trainer.redrawCurve()
                printError("wrote \(c.outputFolder)/curve.svg")
                return
            }
            let kind = c.quality == nil ? "" : ", \(c.degradation.rawValue) JPEG degradation at quality \(c.quality!)"
            if let report = trainer.teacherReport { printError(report) }
            printError("\(trainer.dataset.files.count) images, \(trainer.dataset.patchCount) sub-images of \(c.patchSize)x\(c.patchSize)\(kind), \(trainer.validation.count) validation images")
            // Ctrl-C (or kill): finish the step, checkpoint, exit 128 + signal; a second one stops at once.
            interrupt_install()
            let finished = try trainer.run(resume: resume, shouldStop: { interrupt_requested() != 0 }) { line in printError(line) }
            guard finished else { throw ExitCode(128 + interrupt_requested()) }
            printError("done: \(c.outputFolder)/best.safetensors")
        } catch let error as TrainingError {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
    }
}
