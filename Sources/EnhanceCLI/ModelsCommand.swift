import ArgumentParser
import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the shipped models and their metadata."
    )

    @Flag(name: .long, help: "Print one JSON document.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Instead of the list: how often each ReLU unit fires on this dataset (folder, or a name under $ENHANCE_DATASETS), inputs made as `enhance eval` makes them; units that never fire are dead.", valueName: "dir"))
    var activity: String?

    @Option(name: .customLong("model"), help: "With --activity: the models to measure (default: every shipped model with ReLU units). Repeatable.")
    var modelNames: [String] = []

    @Option(help: "Worker threads (default: all cores).") var threads: Int?

    func validate() throws {
        if activity == nil && !modelNames.isEmpty { throw ValidationError("--model applies to --activity") }
    }

    struct Listing: Encodable {
        var `default`: String?
        var models: [Entry]
    }

    /// A model's metadata and its cost, `multiplyAddsPerOutputPixel`.
    struct Entry: Encodable {
        var info: ModelInfo
        var multiplyAddsPerOutputPixel: Int { ModelsCommand.cost(info) }

        enum CodingKeys: String, CodingKey { case multiplyAddsPerOutputPixel }

        func encode(to encoder: any Encoder) throws {
            try info.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(multiplyAddsPerOutputPixel, forKey: .multiplyAddsPerOutputPixel)
        }
    }

    /// Multiply-adds per output pixel, rounded.
    static func cost(_ info: ModelInfo) -> Int {
        Int(info.architecture.multiplyAddsPerOutputPixel.rounded())
    }

    func run() throws {
        if let activity { return try runActivity(dataset: resolveDataset(activity)) }
        let (entries, problems) = ModelCatalog.scan()
        let models = entries.map(\.info)
        for p in problems { printError("warning: \(p)") }
        // The model each scale (upscale) uses by default; the listing's default is the x2 one (or the next).
        let scaleDefaults = [2, 3, 4].compactMap { ModelCatalog.defaultModel(scale: $0, among: entries) }
        let defaultName = scaleDefaults.first
        if json {
            print(try jsonString(Listing(default: defaultName, models: models.map { Entry(info: $0) })))
            return
        }
        if models.isEmpty { print("no models found"); return }
        // Marked: the defaults of each scale and of each JPEG quality (noise level).
        var defaults = Set(scaleDefaults)
        defaults.formUnion(NoiseLevel.trainingQuality.values.compactMap { ModelCatalog.deblockingModel(quality: $0, among: entries) })
        print(pad("name", 24) + pad("task", 9) + pad("for", 6) + pad("architecture", 18) + pad("RF", 5) + pad("MACs/px", 9)
              + "validation")
        for m in models {
            let v = m.training.map { String(format: "%.2f dB %@", $0.validationPSNR, $0.validationSet) } ?? ""
            let setting = m.task == .deblocking ? m.jpegQuality.map { "q\($0)" } ?? "" : "x\(m.scale)"
            print(pad(m.name + (defaults.contains(m.name) ? "*" : ""), 24) + pad(m.task.rawValue, 9) + pad(setting, 6)
                  + pad(m.architecture.familyName, 18) + pad(String(m.receptiveField), 5) + pad(String(Self.cost(m)), 9) + v)
        }
        print("* default for its scale (upscale) or JPEG quality (--noise); MACs/px: multiply-adds per output pixel")
    }

    /// `--activity`: one table per model (or one JSON document).
    func runActivity(dataset: URL) throws {
        let context = ComputeContext(threads: threads)
        var reports: [UnitActivityReport] = []
        try reportingFileErrors {
            let models = modelNames.isEmpty
                ? try ModelCatalog.scan().entries.map { try Model.read(contentsOf: $0.url) }.filter { !$0.network.rectifiedConvolutions.isEmpty }
                : try modelNames.map { try ModelCatalog.load($0) }
            for model in models {
                let report = try UnitActivityReport.measure(model: model, dataset: dataset, context: context)
                reports.append(report)
                if json { continue }
                print("\(report.model) on \(report.dataset) (\(report.images) images)")
                if report.layers.isEmpty { print("  no ReLU units between convolutions"); continue }
                print("  " + pad("layer", 7) + pad("units", 7) + pad("never fire", 12) + "fire on < 1 % of positions")
                for l in report.layers {
                    print("  " + pad(String(l.layer), 7) + pad(String(l.units), 7) + pad(String(l.dead.count), 12) + String(l.rare.count))
                }
            }
        }
        if json { print(try jsonString(reports)) }
    }
}
