import ArgumentParser
import Enhance
import EnhanceModels
import Foundation

struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the shipped models and their metadata."
    )

    @Flag(name: .long, help: "Print one JSON document.")
    var json = false

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
}
