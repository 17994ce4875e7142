import ArgumentParser
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
        var models: [ModelInfo]
    }

    func run() throws {
        let (models, problems) = ModelCatalog.all()
        for p in problems { printError("warning: \(p)") }
        let defaultName = [2, 3, 4].lazy.compactMap { ModelCatalog.defaultModel(scale: $0) }.first
        if json {
            print(try jsonString(Listing(default: defaultName, models: models)))
            return
        }
        if models.isEmpty { print("no models found"); return }
        print(pad("name", 22) + pad("task", 9) + pad("scale", 7) + pad("architecture", 18) + pad("RF", 5) + "validation")
        for m in models {
            let v = m.training.map { String(format: "%.2f dB %@", $0.validationPSNR, $0.validationSet) } ?? ""
            print(pad(m.name + (m.name == defaultName ? "*" : ""), 22) + pad(m.task.rawValue, 9) + pad("x\(m.scale)", 7)
                  + pad(m.architecture.familyName, 18) + pad(String(m.receptiveField), 5) + v)
        }
        print("* default")
    }
}
