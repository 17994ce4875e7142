import Foundation

/// The models shipped with Enhance (safetensors files under `Weights/` in this module's
/// resources), plus any folder named by `ENHANCE_MODELS` (colon-separated, searched first).
/// `ENHANCE_BUNDLED_MODELS=0` leaves the shipped ones out (only `ENHANCE_MODELS` is searched).
///
/// Models are known by the metadata inside their files (name, task, scale, JPEG quality,
/// architecture), never by their file names.
public enum ModelCatalog {
    /// Folders searched for `*.safetensors` model files, `ENHANCE_MODELS` first, bundled last.
    public static var searchFolders: [URL] {
        var folders: [URL] = []
        if let env = ProcessInfo.processInfo.environment["ENHANCE_MODELS"], !env.isEmpty {
            folders += env.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        if ProcessInfo.processInfo.environment["ENHANCE_BUNDLED_MODELS"] != "0",
           let bundled = Bundle.module.url(forResource: "Weights", withExtension: nil) {
            folders.append(bundled)
        }
        return folders
    }

    /// One readable model file.
    public struct Entry: Sendable {
        public var url: URL
        public var info: ModelInfo
    }

    /// Every readable model, by name (the first folder that has a name wins), and the files
    /// that could not be read, with the reason.
    public static func scan(folders: [URL] = searchFolders) -> (entries: [Entry], problems: [String]) {
        var entries: [Entry] = [], problems: [String] = [], seen = Set<String>()
        for folder in folders {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
            for name in names where name.hasSuffix(".safetensors") {
                let url = folder.appendingPathComponent(name)
                do {
                    let info = try Model.read(contentsOf: url).info
                    if seen.insert(info.name).inserted { entries.append(Entry(url: url, info: info)) }
                } catch {
                    problems.append("\(error)")
                }
            }
        }
        return (entries.sorted { $0.info.name < $1.info.name }, problems)
    }

    /// All available models, sorted by name, and the unreadable files.
    public static func all() -> (models: [ModelInfo], problems: [String]) {
        let s = scan()
        return (s.entries.map(\.info), s.problems)
    }

    /// Loads a model by name (`srcnn-9-5-5-x3`) or by path to a `.safetensors` file.
    public static func load(_ nameOrPath: String, folders: [URL] = searchFolders) throws -> Model {
        if nameOrPath.hasSuffix(".safetensors") || nameOrPath.contains("/") {
            return try Model.read(contentsOf: URL(fileURLWithPath: nameOrPath))
        }
        let entries = scan(folders: folders).entries
        guard let entry = entries.first(where: { $0.info.name == nameOrPath }) else {
            let names = entries.map(\.info.name)
            throw ModelError("unknown model '\(nameOrPath)'; available: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        return try Model.read(contentsOf: entry.url)
    }

    /// Super-resolution architecture families, best first (see `defaultModel(scale:)`).
    public static let preferredFamilies = ["enhance-net", "fsrcnn", "srcnn-9-5-5", "srcnn-9-3-5", "srcnn-9-1-5"]

    /// Deblocking families, best first.
    public static let preferredDeblockingFamilies = ["arcnn", "fast-arcnn"]

    /// Rank of a family name in a preference list (unknown families last).
    static func rank(_ family: String, in list: [String]) -> Int {
        list.firstIndex { family == $0 || family.hasPrefix($0 + "-") } ?? list.count
    }

    /// A model is not the default while another one for the same scale validated more than this
    /// (dB, on the same validation set) above it: a faster family must also be as good.
    public static let defaultMargin = 0.05

    /// Default super-resolution model name for a scale, nil when none is shipped (bicubic then):
    /// the preferred family among the models no other one beats by more than `defaultMargin` in
    /// validation PSNR on the same set, then the best validation PSNR.
    public static func defaultModel(scale: Int, folders: [URL] = searchFolders) -> String? {
        defaultModel(scale: scale, among: scan(folders: folders).entries)
    }

    /// `defaultModel(scale:)` among entries already scanned (one scan for several questions).
    public static func defaultModel(scale: Int, among entries: [Entry]) -> String? {
        let candidates = entries.filter { $0.info.task == .superResolution && $0.info.scale == scale }
        func beaten(_ record: TrainingRecord?) -> Bool {
            guard let record else { return false }
            return candidates.contains { other in
                guard let o = other.info.training, o.validationSet == record.validationSet else { return false }
                return o.validationPSNR > record.validationPSNR + defaultMargin
            }
        }
        return candidates
            .filter { !beaten($0.info.training) }
            .min { a, b in
                let ra = rank(a.info.architecture.familyName, in: preferredFamilies)
                let rb = rank(b.info.architecture.familyName, in: preferredFamilies)
                if ra != rb { return ra < rb }
                return (a.info.training?.validationPSNR ?? 0) > (b.info.training?.validationPSNR ?? 0)
            }?.info.name
    }

    /// The deblocking model trained for a JPEG quality, nil when none is shipped.
    public static func deblockingModel(quality: Int, folders: [URL] = searchFolders) -> String? {
        deblockingModel(quality: quality, among: scan(folders: folders).entries)
    }

    /// `deblockingModel(quality:)` among entries already scanned.
    public static func deblockingModel(quality: Int, among entries: [Entry]) -> String? {
        entries
            .filter { $0.info.task == .deblocking && $0.info.jpegQuality == quality }
            .min { rank($0.info.architecture.familyName, in: preferredDeblockingFamilies)
                < rank($1.info.architecture.familyName, in: preferredDeblockingFamilies) }?.info.name
    }
}
