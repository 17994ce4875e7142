import EnhanceNN
import Foundation

/// What a model does.
public enum ModelTask: String, Sendable, Codable {
    /// Super-resolution of the Y channel.
    case superResolution = "sr"
    /// JPEG artifact reduction of the Y channel.
    case deblocking = "deblock"
}

/// How a model was trained: enough to reproduce it.
public struct TrainingRecord: Sendable, Codable, Equatable {
    /// The exact command line.
    public var command: String
    /// Training and validation data (folder names and image counts).
    public var data: String
    /// Optimizer updates made.
    public var steps: Int
    /// Sub-images back-propagated (steps × batch size), the paper's x-axis.
    public var backprops: Int
    /// Wall-clock training time, summed over resumed sessions.
    public var wallSeconds: Double
    /// Validation PSNR (dB, Y, protocol of the evaluation) at the end, and where it was measured.
    public var validationPSNR: Double
    public var validationSet: String
    /// Free-form notes (fine-tuned from, schedule, ...).
    public var notes: String
    /// How many runs this record stands for: 1, or more for the summary ``history`` folds a long
    /// chain's middle into (steps, back-props and wall time summed; command, data and notes of
    /// the runs it begins and ends with).
    public var runs: Int {
        get { foldedRuns ?? 1 }
        set { foldedRuns = newValue == 1 ? nil : newValue }
    }
    /// Stored as nil for a single run, so records of one run keep their JSON.
    private var foldedRuns: Int?
    /// The runs behind the weights this one started from (`--init`), oldest first, each without
    /// its own `earlier`: with this record, the model's whole training history. Empty for a run
    /// from scratch, and for a start from a file made before records carried their history.
    public var earlier: [TrainingRecord] {
        get { earlierRuns ?? [] }
        set { earlierRuns = newValue.isEmpty ? nil : newValue }
    }
    /// Stored as nil when empty, so the synthesised coding omits the key and old files read as before.
    private var earlierRuns: [TrainingRecord]?

    public init(command: String, data: String, steps: Int, backprops: Int, wallSeconds: Double,
                validationPSNR: Double, validationSet: String, notes: String = "", earlier: [TrainingRecord] = []) {
        self.command = command; self.data = data; self.steps = steps; self.backprops = backprops
        self.wallSeconds = wallSeconds; self.validationPSNR = validationPSNR
        self.validationSet = validationSet; self.notes = notes; self.earlier = earlier
    }

    /// This record's history as a flat list, oldest first, ending with this run (whose `earlier`
    /// is emptied): what a run started from these weights keeps as its own `earlier`. Beyond
    /// ``historyLimit`` records, the runs between the first (where the weights came from) and
    /// the newest `historyLimit − 2` are folded into one summary record, so that a chain of
    /// fine-tuning cycles does not grow its weight file by a record per cycle; the totals of
    /// steps, back-props and wall time stay those of every run.
    public var history: [TrainingRecord] {
        var last = self
        last.earlier = []
        let all = earlier + [last]
        guard all.count > Self.historyLimit else { return all }
        let kept = Self.historyLimit - 2
        return [all[0], Self.folding(all[1 ..< all.count - kept])] + all.suffix(kept)
    }

    /// The most records ``history`` keeps.
    public static let historyLimit = 16

    /// One record standing for `records` (consecutive, oldest first, not empty).
    static func folding(_ records: ArraySlice<TrainingRecord>) -> TrainingRecord {
        let first = records.first!, last = records.last!
        if records.count == 1 { return first }
        // A summary folded again keeps the command and data of the run it began with.
        var folded = TrainingRecord(
            command: first.command, data: first.data,
            steps: records.reduce(0) { $0 + $1.steps }, backprops: records.reduce(0) { $0 + $1.backprops },
            wallSeconds: records.reduce(0) { $0 + $1.wallSeconds },
            validationPSNR: last.validationPSNR, validationSet: last.validationSet, notes: "")
        folded.runs = records.reduce(0) { $0 + $1.runs }
        let opening = first.runs > 1 ? first.notes.components(separatedBy: " | last: ").first! : "first: \(first.notes)"
        folded.notes = "\(opening) | last: \(last.command) (\(last.notes))"
        return folded
    }

    /// Sub-images back-propagated over the whole history.
    public var totalBackprops: Int { history.reduce(0) { $0 + $1.backprops } }
    /// Wall-clock training time over the whole history.
    public var totalWallSeconds: Double { history.reduce(0) { $0 + $1.wallSeconds } }

    private enum CodingKeys: String, CodingKey {
        case command, data, steps, backprops, wallSeconds, validationPSNR, validationSet, notes
        case foldedRuns = "runs"
        case earlierRuns = "earlier"
    }
}

/// A model's metadata, stamped into its weight file's `__metadata__`.
public struct ModelInfo: Sendable, Codable, Equatable {
    /// Name users type: `srcnn-9-5-5-x3`, `fsrcnn-x2`, `arcnn-q10`.
    public var name: String
    public var task: ModelTask
    public var architecture: Architecture
    /// Upscaling factor (1 for deblocking).
    public var scale: Int
    /// Colour handling: `y` (the network sees BT.601 Y; Cb/Cr are bicubic-upscaled) or `rgb`.
    public var colorMode: String
    /// JPEG quality a deblocking model was trained for.
    public var jpegQuality: Int?
    public var training: TrainingRecord?

    public init(name: String, task: ModelTask, architecture: Architecture, scale: Int, colorMode: String = "y",
                jpegQuality: Int? = nil, training: TrainingRecord? = nil) {
        self.name = name; self.task = task; self.architecture = architecture; self.scale = scale
        self.colorMode = colorMode; self.jpegQuality = jpegQuality; self.training = training
    }

    /// Receptive field in input pixels.
    public var receptiveField: Int { architecture.receptiveField }
}

/// Errors loading a model, worded for users.
public struct ModelError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// A trained network and its metadata. A `Sendable` value: one model serves many threads.
public struct Model: Sendable {
    public var info: ModelInfo
    /// The network: valid convolutions (and an unpadded deconvolution), run on context-padded
    /// input as ``Architecture/contextPadding`` describes.
    public var network: Sequential

    public init(info: ModelInfo, network: Sequential) {
        let expected = info.architecture.makeNetwork().parameterNames
        precondition(network.parameterNames == expected,
                     "Model \(info.name): parameters \(network.parameterNames) do not match \(info.architecture)")
        self.info = info
        self.network = network
    }

    // MARK: Weight files

    static let infoKey = "enhance.model"
    /// Non-finite numbers in JSON the project writes (a record's PSNR when the run had no
    /// validation, checkpoint histories, CLI output): "inf", "-inf", "nan".
    public static let nonFiniteEncoding = JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    public static let nonFiniteDecoding = JSONDecoder.NonConformingFloatDecodingStrategy.convertFromString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    /// Metadata written beside the tensors: the full info as JSON plus readable flat keys.
    public var fileMetadata: [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // A run without validation records a NaN PSNR, which plain JSON cannot hold.
        encoder.nonConformingFloatEncodingStrategy = Model.nonFiniteEncoding
        let json = String(decoding: (try? encoder.encode(info)) ?? Data(), as: UTF8.self)
        var m: [String: String] = [
            Model.infoKey: json,
            "name": info.name,
            "architecture": info.architecture.familyName,
            "task": info.task.rawValue,
            "scale": String(info.scale),
            "color_mode": info.colorMode,
            "receptive_field": String(info.receptiveField),
            "format": "enhance-model-1",
        ]
        if let q = info.jpegQuality { m["jpeg_quality"] = String(q) }
        return m
    }

    /// Writes the model as a safetensors file (atomically).
    public func write(to url: URL) throws {
        try SafeTensors.write(network.namedParameters, metadata: fileMetadata, to: url)
    }

    /// Reads and validates a model file: metadata present and sane, every tensor the
    /// architecture needs present with the right shape, no extra tensors, all values finite.
    public static func read(contentsOf url: URL) throws -> Model {
        let file = try SafeTensors.read(contentsOf: url)
        guard let json = file.metadata[infoKey] else {
            throw ModelError("\(url.path): not an Enhance model (no '\(infoKey)' metadata)")
        }
        let info: ModelInfo
        do {
            let decoder = JSONDecoder()
            decoder.nonConformingFloatDecodingStrategy = Model.nonFiniteDecoding
            info = try decoder.decode(ModelInfo.self, from: Data(json.utf8))
        } catch {
            throw ModelError("\(url.path): unreadable model metadata (\(error))")
        }
        var network = info.architecture.makeNetwork()
        try network.load(file.tensors, file: url.path)
        return Model(info: info, network: network)
    }
}
