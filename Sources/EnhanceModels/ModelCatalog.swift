import Foundation

/// The models shipped with Enhance (safetensors files under `Weights/` in this module's
/// resources), plus any folder named by `ENHANCE_MODELS`.
public enum ModelCatalog {
    /// Folders searched for `*.safetensors` model files, bundled first.
    public static var searchFolders: [URL] {
        var folders: [URL] = []
        if let env = ProcessInfo.processInfo.environment["ENHANCE_MODELS"], !env.isEmpty {
            folders += env.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        if let bundled = Bundle.module.url(forResource: "Weights", withExtension: nil) {
            folders.append(bundled)
        }
        return folders
    }

    /// Model files by name (file name without extension), first found wins.
    public static func files() -> [String: URL] {
        var found: [String: URL] = [:]
        for folder in searchFolders.reversed() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            for name in names where name.hasSuffix(".safetensors") {
                found[String(name.dropLast(".safetensors".count))] = folder.appendingPathComponent(name)
            }
        }
        return found
    }

    /// All available models, sorted by name (unreadable files are skipped and reported in `problems`).
    public static func all() -> (models: [ModelInfo], problems: [String]) {
        var infos: [ModelInfo] = [], problems: [String] = []
        for (_, url) in files().sorted(by: { $0.key < $1.key }) {
            do { infos.append(try Model.read(contentsOf: url).info) } catch { problems.append("\(error)") }
        }
        return (infos, problems)
    }

    /// Loads a model by name (`srcnn-9-5-5-x3`) or by path to a `.safetensors` file.
    public static func load(_ nameOrPath: String) throws -> Model {
        if nameOrPath.hasSuffix(".safetensors") || nameOrPath.contains("/") {
            return try Model.read(contentsOf: URL(fileURLWithPath: nameOrPath))
        }
        let available = files()
        guard let url = available[nameOrPath] else {
            let names = available.keys.sorted()
            throw ModelError("unknown model '\(nameOrPath)'; available: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        return try Model.read(contentsOf: url)
    }

    /// Preferred super-resolution model family, best first; the first one shipped for a scale is the default.
    public static let preferredFamilies = ["enhance-net", "fsrcnn", "srcnn-9-5-5", "srcnn-9-3-5", "srcnn-9-1-5"]

    /// Default model name for a scale, nil when none is shipped (bicubic then).
    public static func defaultModel(scale: Int) -> String? {
        let available = files()
        for family in preferredFamilies where available["\(family)-x\(scale)"] != nil {
            return "\(family)-x\(scale)"
        }
        return nil
    }
}
