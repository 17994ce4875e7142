import ArgumentParser
import CInterrupt
import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--noise`: the JPEG/noise reduction level applied before upscaling (see `NoiseLevel`).
enum NoiseOption: Equatable, ExpressibleByArgument {
    /// `-1`: no denoising.
    case none
    /// `0...3`: a fixed strength.
    case level(Int)
    /// `auto`: estimated from the file (JPEG quality); nothing for other formats.
    case auto

    init?(argument: String) {
        switch argument.lowercased() {
        case "-1": self = .none
        case "0", "1", "2", "3": self = .level(Int(argument)!)
        case "auto": self = .auto
        default: return nil
        }
    }

    /// Fails early when a fixed level's model is not shipped.
    func requireModel() throws {
        if case .level(let l) = self {
            do { _ = try NoiseLevel.model(level: l) } catch let error as ModelError {
                throw ValidationError("--noise \(l): \(error.message)")
            }
        }
    }

    /// The denoising model for one input file, nil for none.
    func model(for file: URL, cache: inout [Int: Model]) throws -> Model? {
        let level: Int
        switch self {
        case .none: return nil
        case .level(let l): level = l
        case .auto:
            guard let data = FileManager.default.contents(atPath: file.path),
                  let l = NoiseLevel.automatic(fileBytes: Array(data)) else { return nil }
            level = l
        }
        if let m = cache[level] { return m }
        let m = try NoiseLevel.model(level: level)
        cache[level] = m
        return m
    }
}

/// `--style`: the kind of image the model was trained on.
enum UpscaleStyle: String, ExpressibleByArgument, CaseIterable {
    case photo, art
}

struct UpscaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale",
        abstract: "Upscale images with a model (default: the best shipped one for the scale) or bicubic.",
        discussion: """
        Inputs are files or folders (with --recursive, their subfolders too). The output is:
        - a file (one input; the format follows its extension);
        - a folder (several inputs or a folder input, an existing folder, or a path ending \
        in /): each image keeps its path relative to the input folder, with the output extension;
        - a pattern with {name} (file name without extension), {ext} (output extension), \
        {scale} and {dir} (the input's folder); without a / it is placed beside each input.
        Default output: {name}-x{scale}.{ext} beside each input. Inputs are never overwritten.

        Non-integer scales and --width/--height: the shipped model with the largest integer \
        factor k ≤ the requested ratio upscales the luma by k, then exact bicubic resampling \
        (MATLAB imresize, [h w] form) takes it to round(scale × size); chroma and alpha are \
        resampled from the input directly. --scale 1 keeps the size: it converts the file, and \
        with --noise removes JPEG artifacts (as `enhance denoise`).
        """
    )

    @Argument(help: "Input images (PNG, JPEG, WebP, BMP) or folders.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output file, folder or name pattern (see below).")
    var output: String?

    @Flag(help: "Also process images in subfolders of input folders.")
    var recursive = false

    @Option(help: "Output format: png, jpg, webp or bmp (default: png, or the output file's extension).")
    var format: String?

    @Option(help: "JPEG/WebP quality 1-100.")
    var quality: Int = 95

    @Option(help: "Bits per sample, 8 or 16 (16: PNG only; default 16 for 16-bit PNG inputs, else 8).")
    var depth: Int?

    @Flag(help: "Skip inputs whose output file already exists.")
    var skipExisting = false

    @Option(help: "Scale factor ≥ 1, any number (default 2).")
    var scale: Double?

    @Option(help: "Output width in pixels (the height keeps the aspect ratio unless given).")
    var width: Int?

    @Option(help: "Output height in pixels (the width keeps the aspect ratio unless given).")
    var height: Int?

    @Option(name: .long, parsing: .unconditional, help: "Noise reduction: -1 (none), 0...3 or auto.")
    var noise: NoiseOption = .none

    @Option(help: "Model style: photo or art.")
    var style: UpscaleStyle = .photo

    @Option(name: .long, help: "Model name (see `enhance models`), a .safetensors path, or 'bicubic'.")
    var model: String?

    @Flag(help: "Average the model over the 8 flips/rotations (test-time augmentation, 8x slower).")
    var tta = false

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "Tile side in network-input pixels (default: from --memory). The result does not depend on it.")
    var tile: Int?

    @Option(name: .long, help: "Working memory for tiles and bands in MB, besides the decoded input.")
    var memory: Int = Upscaler.defaultMemoryBudget >> 20

    @Flag(help: "No progress on standard error.")
    var quiet = false

    @Flag(help: "Print a JSON summary on standard output.")
    var json = false

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input image or folder") }
        if let scale {
            guard scale.isFinite, scale >= 1, scale <= 16 else { throw ValidationError("--scale must be 1...16, got \(scale)") }
            if width != nil || height != nil { throw ValidationError("use either --scale or --width/--height, not both") }
        }
        if let width, width < 1 { throw ValidationError("--width must be ≥ 1, got \(width)") }
        if let height, height < 1 { throw ValidationError("--height must be ≥ 1, got \(height)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        if let tile, tile < 1 { throw ValidationError("--tile must be ≥ 1, got \(tile)") }
        if memory < 16 { throw ValidationError("--memory must be ≥ 16 (MB), got \(memory)") }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1...100, got \(quality)") }
        if let depth, depth != 8 && depth != 16 { throw ValidationError("--depth must be 8 or 16, got \(depth)") }
        if let format, ImageFormat(pathExtension: format) == nil {
            throw ValidationError("--format must be png, jpg, webp or bmp, got '\(format)'")
        }
        if depth == 16, let f = outputFormatOption, f != .png { throw ValidationError("--depth 16 needs PNG output") }
        try noise.requireModel()
        if style == .art { throw ValidationError("--style art: no art-style model is shipped yet; use --style photo") }
    }

    var outputFormatOption: ImageFormat? { format.flatMap { ImageFormat(pathExtension: $0) } }

    var target: UpscaleTarget {
        if width != nil || height != nil { return .size(width: width, height: height) }
        return .scale(scale ?? 2)
    }

    /// `{scale}` in output names: `2`, `2.5`, or the requested size (`1024x768`, `1024w`, `768h`).
    var scaleLabel: String {
        switch (width, height) {
        case let (w?, h?): return "\(w)x\(h)"
        case let (w?, nil): return "\(w)w"
        case let (nil, h?): return "\(h)h"
        default:
            let s = scale ?? 2
            return s == s.rounded() ? String(Int(s)) : String(s)
        }
    }

    func run() throws {
        let context = ComputeContext(threads: threads)
        let explicitModel: Model?
        do {
            explicitModel = try loadExplicitModel()
        } catch let error as ModelError {
            printError("error: \(error.message)")
            throw ExitCode.failure
        } catch let error as WeightFileError {
            printError("error: \(error.description)")
            throw ExitCode.failure
        }
        if let tile, let explicitModel {
            let minimum = PlaneInference(model: explicitModel, context: context).minimumTile
            if tile < minimum {
                printError("error: \(UpscaleError.tileTooSmall(tile, minimum: minimum).message)")
                throw ExitCode.failure
            }
        }
        let jobs: [Job]
        do { jobs = try collectJobs() } catch let error as ValidationError {
            printError("error: \(error.message)")
            throw ExitCode.failure
        }
        var reporter = Reporter(enabled: !quiet && isatty(STDERR_FILENO) == 1, total: jobs.count)
        var results: [FileResult] = []
        var claimed: [String: String] = [:]
        let inputPaths = Set(jobs.map { canonicalPath($0.input) })
        var modelCache: [String: Model] = [:]
        var noiseModels: [Int: Model] = [:]
        // Ctrl-C (or kill): the file in progress is abandoned (its partial output removed), the
        // rest are not started; a second Ctrl-C stops at once.
        interrupt_install()
        for (index, job) in jobs.enumerated() {
            if interrupt_requested() != 0 { break }
            let start = DispatchTime.now().uptimeNanoseconds
            func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
            var result = FileResult(input: job.input.path, output: job.output?.path, status: "done", seconds: 0, error: nil)
            do {
                guard let out = job.output else { throw JobError(job.outputProblem ?? "no output name") }
                let key = canonicalPath(out)
                if inputPaths.contains(key) { throw JobError("\(out.path): refusing to overwrite the input \(job.input.path)") }
                if let other = claimed[key] { throw JobError("\(out.path): also the output of \(other)") }
                claimed[key] = job.input.path
                if skipExisting && FileManager.default.fileExists(atPath: out.path) {
                    result.status = "skipped"
                    results.append(result)
                    continue
                }
                reporter.startFile(index: index, name: job.input.lastPathComponent)
                var image = try ImageIO.read(contentsOf: job.input)
                if let denoiser = try noise.model(for: job.input, cache: &noiseModels) {
                    result.denoiser = denoiser.info.name
                    image = Denoiser(model: denoiser, tta: tta, context: context).denoise(image)
                }
                let ratio = target.ratio(width: image.width, height: image.height)
                let chosen = try explicitModel ?? defaultModel(ratio: ratio, cache: &modelCache)
                result.model = chosen?.info.name ?? "bicubic"
                let upscaler = Upscaler(model: chosen, target: target, tile: tile, memoryBudget: memory << 20,
                                        tta: tta, context: context)
                try upscaler.validate()
                let (outW, outH) = target.outputSize(width: image.width, height: image.height)
                let format = job.format
                var options = EncodeOptions(format: format)
                options.quality = quality
                options.bitDepth = depth ?? (format == .png && image.sourceBitDepth == 16 ? 16 : 8)
                let colorModel: ColorModel = image.colorModel == .ycbcr ? .rgb : image.colorModel
                try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
                let writer = try ImageFileWriter(url: out, width: outW, height: outH, colorModel: colorModel,
                                                 options: options, iccProfile: image.iccProfile)
                try upscaler.upscale(consume image, progress: { reporter.update($0) }) { band, _ in
                    if interrupt_requested() != 0 { throw Interrupted() }
                    try writer.write(band)
                }
                try writer.finish()
                result.seconds = seconds()
                reporter.finishFile(seconds: result.seconds)
            } catch is Interrupted {
                reporter.clearLine()
                break
            } catch {
                reporter.clearLine()
                let message = describe(error, input: job.input.path)
                printError("error: \(message)")
                result.status = "failed"
                result.error = message
                result.seconds = seconds()
            }
            results.append(result)
        }
        if json {
            let summary = Summary(files: results, done: results.filter { $0.status == "done" }.count,
                                  skipped: results.filter { $0.status == "skipped" }.count,
                                  failed: results.filter { $0.status == "failed" }.count)
            print(try jsonString(summary))
        }
        let signal = interrupt_requested()
        if signal != 0 {
            printError("interrupted: \(results.count) of \(jobs.count) files handled, the rest not started")
            throw ExitCode(128 + signal)
        }
        if results.contains(where: { $0.status == "failed" }) { throw ExitCode.failure }
    }

    // MARK: Models

    func loadExplicitModel() throws -> Model? {
        guard let model, model != "bicubic" else { return nil }
        let loaded = try ModelCatalog.load(model)
        guard loaded.info.task == .superResolution else {
            throw ModelError("model \(model) is a \(loaded.info.task.rawValue) model; --model takes a super-resolution model")
        }
        return loaded
    }

    /// The shipped model with the largest integer factor ≤ `ratio` (nil: bicubic).
    func defaultModel(ratio: Double, cache: inout [String: Model]) throws -> Model? {
        if model == "bicubic" { return nil }
        var k = Int((ratio + 1e-9).rounded(.down))
        while k >= 2 {
            if let name = ModelCatalog.defaultModel(scale: k) {
                if let m = cache[name] { return m }
                let m = try ModelCatalog.load(name)
                cache[name] = m
                return m
            }
            k -= 1
        }
        return nil
    }

    // MARK: Inputs and outputs

    struct Job {
        var input: URL
        var output: URL?
        var outputProblem: String?
        var format: ImageFormat
    }

    struct JobError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "jpe", "webp", "bmp"]

    /// Every input file with its path relative to the folder it was found in (nil for a file argument).
    func inputFiles() throws -> [(url: URL, relative: String?)] {
        var files: [(URL, String?)] = []
        let fm = FileManager.default
        for input in inputs {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue else {
                files.append((URL(fileURLWithPath: input), nil))
                continue
            }
            let root = URL(fileURLWithPath: input)
            var found: [String] = []
            func scan(_ relative: String) {
                let folder = relative.isEmpty ? root : root.appendingPathComponent(relative)
                let names = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
                for name in names where !name.hasPrefix(".") {
                    let rel = relative.isEmpty ? name : relative + "/" + name
                    var dir: ObjCBool = false
                    _ = fm.fileExists(atPath: root.appendingPathComponent(rel).path, isDirectory: &dir)
                    if dir.boolValue {
                        if recursive { scan(rel) }
                    } else if UpscaleCommand.imageExtensions.contains((name as NSString).pathExtension.lowercased()) {
                        found.append(rel)
                    }
                }
            }
            scan("")
            files += found.map { (root.appendingPathComponent($0), $0) }
        }
        return files
    }

    func collectJobs() throws -> [Job] {
        let files = try inputFiles()
        let anyFolder = files.contains { $0.relative != nil }
        let fm = FileManager.default
        enum Mode { case file(URL), folder(URL), pattern(String) }
        let mode: Mode
        if let output, output.contains("{") {
            mode = .pattern(output)
        } else if let output {
            var isDirectory: ObjCBool = false
            let exists = fm.fileExists(atPath: output, isDirectory: &isDirectory)
            if output.hasSuffix("/") || (exists && isDirectory.boolValue) || files.count > 1 || anyFolder {
                mode = .folder(URL(fileURLWithPath: output, isDirectory: true))
            } else {
                mode = .file(URL(fileURLWithPath: output))
            }
        } else {
            mode = .pattern("{name}-x{scale}.{ext}")
        }
        let defaultFormat = outputFormatOption ?? .png
        var jobs: [Job] = []
        for (url, relative) in files {
            let stem = url.deletingPathExtension().lastPathComponent
            switch mode {
            case .file(let out):
                let fromExtension = ImageFormat(pathExtension: out.pathExtension)
                if let f = outputFormatOption, let e = fromExtension, f != e {
                    throw ValidationError("\(out.path): the extension '.\(out.pathExtension)' does not match --format \(format!)")
                }
                guard let f = outputFormatOption ?? fromExtension else {
                    throw ValidationError("\(out.path): unknown output format '.\(out.pathExtension)'; use .png, .jpg, .webp or .bmp, or --format")
                }
                jobs.append(Job(input: url, output: out, format: f))
            case .folder(let folder):
                let rel = relative.map { ($0 as NSString).deletingPathExtension } ?? stem
                let out = folder.appendingPathComponent(rel + "." + defaultFormat.fileExtension)
                jobs.append(Job(input: url, output: out, format: defaultFormat))
            case .pattern(let pattern):
                let dir = url.deletingLastPathComponent().path
                let name = pattern.replacingOccurrences(of: "{name}", with: stem)
                    .replacingOccurrences(of: "{ext}", with: defaultFormat.fileExtension)
                    .replacingOccurrences(of: "{scale}", with: scaleLabel)
                    .replacingOccurrences(of: "{dir}", with: dir)
                let out = name.contains("/") ? URL(fileURLWithPath: name)
                    : url.deletingLastPathComponent().appendingPathComponent(name)
                let f = pattern.contains("{ext}") ? defaultFormat
                    : (outputFormatOption ?? ImageFormat(pathExtension: out.pathExtension) ?? defaultFormat)
                jobs.append(Job(input: url, output: out, format: f))
            }
        }
        if jobs.isEmpty { throw ValidationError("no images found in \(inputs.joined(separator: ", "))") }
        return jobs
    }

    func canonicalPath(_ url: URL) -> String {
        url.standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// One line for a failed file: `<path>: <reason>`.
    func describe(_ error: any Error, input: String) -> String {
        switch error {
        case let e as ImageIOError: return e.description
        case let e as JobError: return e.description
        case let e as UpscaleError: return "\(input): \(e.message)"
        case let e as ModelError: return "\(input): \(e.message)"
        case let e as WeightFileError: return "\(input): \(e.description)"
        default: return "\(input): \(error.localizedDescription)"
        }
    }
}

/// One file of a batch, as `--json` prints it.
struct FileResult: Encodable {
    var input: String
    var output: String?
    /// `done`, `skipped` or `failed`.
    var status: String
    var seconds: Double
    var error: String?
    var model: String?
    /// Deblocking model applied before upscaling (`--noise`), if any.
    var denoiser: String?

    enum CodingKeys: String, CodingKey { case input, output, status, seconds, error, model, denoiser }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(input, forKey: .input)
        try c.encode(output, forKey: .output)
        try c.encode(status, forKey: .status)
        try c.encode((seconds * 1000).rounded() / 1000, forKey: .seconds)
        try c.encode(error, forKey: .error)
        try c.encode(model, forKey: .model)
        try c.encode(denoiser, forKey: .denoiser)
    }
}

struct Summary: Encodable {
    var files: [FileResult]
    var done: Int
    var skipped: Int
    var failed: Int
}

/// Progress on standard error: `[i/n] name  tiles k/K  ETA 12s`, redrawn in place at most 5 times a second.
/// Thrown from the band callback to abandon the file in progress after Ctrl-C.
struct Interrupted: Error {}

struct Reporter {
    let enabled: Bool
    let total: Int
    var index = 0
    var name = ""
    var start: UInt64 = 0
    var lastDraw: UInt64 = 0

    init(enabled: Bool, total: Int) {
        self.enabled = enabled
        self.total = total
    }

    mutating func startFile(index: Int, name: String) {
        self.index = index
        self.name = name
        start = DispatchTime.now().uptimeNanoseconds
        lastDraw = 0
        draw("[\(index + 1)/\(total)] \(name)")
    }

    mutating func update(_ p: UpscaleProgress) {
        guard enabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        if now - lastDraw < 200_000_000 { return }
        lastDraw = now
        let fraction = p.tilesTotal > 0 ? Double(p.tilesDone) / Double(p.tilesTotal)
            : Double(p.rowsDone) / Double(max(1, p.rowsTotal))
        let elapsed = Double(now - start) / 1e9
        var text = "[\(index + 1)/\(total)] \(name)"
        if p.tilesTotal > 0 { text += "  tile \(p.tilesDone)/\(p.tilesTotal)" }
        text += String(format: "  %3.0f%%", fraction * 100)
        if fraction > 0.01 { text += String(format: "  ETA %.0fs", elapsed * (1 - fraction) / fraction) }
        draw(text)
    }

    func finishFile(seconds: Double) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(String(format: "\r\u{1B}[K[%d/%d] %@  done in %.1fs\n", index + 1, total, name, seconds).utf8))
    }

    func clearLine() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    func draw(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    }
}
