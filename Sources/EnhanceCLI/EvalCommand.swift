import ArgumentParser
import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Score a method on a dataset with the published protocol (PSNR/SSIM on Y).",
        discussion: """
        Super-resolution: every image is modcropped, shrunk by MATLAB-exact bicubic, restored, \
        and scored on the Y channel (BT.601) with `scale` pixels shaved from each border.

        JPEG artifact reduction (--task deblock): every image's Y is compressed at each \
        --quality with libjpeg's standard tables (or as --degradation says), restored, and \
        scored on Y with no shave: PSNR, SSIM, and PSNR-B (with the blocking-effect factor), \
        beside the JPEG file itself as the baseline. The restored Y is scored as the network \
        computed it, neither rounded nor clipped, as AR-CNN's test code and tables do; \
        --rounded scores it as an 8-bit file holds it. Super-resolution outputs are always \
        rounded to 8 bits, as SRCNN's test code does.
        """
    )

    @Option(name: .long, help: "Interpolation baseline: bicubic (the default when no --model is given).")
    var method: String?

    @Option(name: .long, help: ArgumentHelp("Model name or .safetensors path (repeatable); its scale must match.", valueName: "name"))
    var model: [String] = []

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Dataset folder, or a name under $ENHANCE_DATASETS (e.g. Set5). Repeatable.", valueName: "dir"))
    var dataset: [String] = []

    @Option(name: .long, help: ArgumentHelp("Scales, comma separated (task sr).", valueName: "2,3,4"))
    var scale: String = "2,3,4"

    @Option(name: .long, help: "sr (super-resolution) or deblock (JPEG artifact reduction).")
    var task: String = "sr"

    @Option(name: .long, help: ArgumentHelp("JPEG qualities, comma separated (task deblock).", valueName: "10,20,30,40"))
    var quality: String = "10,20,30,40"

    @Option(name: .long, help: ArgumentHelp("Task deblock: standard (Y alone through JPEG), social (camera JPEG, down-scaled by 0.75, re-compressed in colour; scored against the down-scaled original) or color (colour JPEG 4:2:0; also scored on RGB as `enhance denoise` restores it).", valueName: "standard|social|color"))
    var degradation: String?

    @Flag(name: .long, help: "Score each model averaged over the 8 flips/rotations (test-time augmentation, as `upscale --tta`; 8x slower). Its name gets +tta.")
    var tta = false

    @Flag(name: .long, help: "Task deblock: score the restored Y rounded to 8 bits, as a saved file holds it (default: as computed, like AR-CNN's test code).")
    var rounded = false

    @Flag(name: .long, help: "Task deblock: also score each model with every convolution padding its own input by edge replication, as AR-CNN's MATLAB test code does (default: the input padded once, as `enhance denoise` runs). Its name gets +per-layer-padding.")
    var perLayerPadding = false

    @Flag(name: .long, help: "Print one JSON document instead of tables.")
    var json = false

    func validate() throws {
        if dataset.isEmpty { throw ValidationError("Missing --dataset (a folder of images, or Set5 / Set14)") }
        guard task == "sr" || task == "deblock" else { throw ValidationError("unknown --task '\(task)'; use sr or deblock") }
        _ = try parseIntList(scale, option: "--scale", allowed: 1...8)
        _ = try parseIntList(quality, option: "--quality", allowed: 1...100)
        if let degradation {
            _ = try parseDegradation(degradation)
            if task != "deblock" { throw ValidationError("--degradation applies to --task deblock") }
        }
        if rounded && task != "deblock" { throw ValidationError("--rounded applies to --task deblock (super-resolution outputs are always rounded)") }
        if tta && model.isEmpty { throw ValidationError("--tta applies to models: add --model NAME") }
        if perLayerPadding && (task != "deblock" || model.isEmpty) {
            throw ValidationError("--per-layer-padding applies to --task deblock with a --model")
        }
        if perLayerPadding && tta { throw ValidationError("--per-layer-padding does not combine with --tta") }
        let baseline = task == "sr" ? "bicubic" : "jpeg"
        if let method, method != baseline {
            throw ValidationError("unknown --method '\(method)' for --task \(task); available: \(baseline)")
        }
    }

    func run() throws {
        let scales = try parseIntList(scale, option: "--scale", allowed: 1...8)
        let context = ComputeContext(threads: threads)
        let results: [EvaluationResult] = try reportingFileErrors {
            var results: [EvaluationResult] = []
            let models = try model.map { try ModelCatalog.load($0) }
            if task == "deblock" {
                results = try runDeblock(models: models, context: context)
            } else {
                for name in dataset {
                    let folder = resolveDataset(name)
                    for s in scales {
                        var methods: [any SRMethod] = method != nil || models.isEmpty ? [BicubicMethod()] : []
                        for m in models {
                            guard m.info.task == .superResolution else {
                                throw ValidationError("model \(m.info.name) is not a super-resolution model")
                            }
                            if m.info.scale == s { methods.append(ModelMethod(model: m, tta: tta, context: context)) }
                            else if scales.count == 1 {
                                throw ValidationError("model \(m.info.name) is for x\(m.info.scale), not x\(s)")
                            }
                        }
                        for m in methods {
                            if !json { print("\n\(folder.lastPathComponent)  \(m.name)  x\(s)"); printHeader() }
                            let result = try SREvaluation.run(method: m, dataset: folder, scale: s) { score in
                                if !json { printRow(score) }
                            }
                            if !json { printMean(result) }
                            results.append(result)
                        }
                    }
                }
            }
            return results
        }
        if json { print(try jsonString(EvaluationReport(results: results))) }
    }

    /// JPEG artifact reduction: each model at the quality it was trained for, or every quality.
    private func runDeblock(models: [Model], context: ComputeContext) throws -> [EvaluationResult] {
        let qualities = try parseIntList(quality, option: "--quality", allowed: 1...100)
        let kind = try degradation.map(parseDegradation) ?? .standard
        let label = switch kind {
        case .standard: ""
        case .social: "  social (camera q\(DeblockProtocol.socialCameraQuality), x\(DeblockProtocol.socialScale), re-compressed)"
        case .color: "  color (JPEG 4:2:0)"
        }
        var results: [EvaluationResult] = []
        for name in dataset {
            let folder = resolveDataset(name)
            for q in qualities {
                var methods: [any DeblockMethod] = method != nil || models.isEmpty ? [JPEGBaselineMethod()] : []
                for m in models {
                    guard m.info.task == .deblocking else {
                        throw ValidationError("model \(m.info.name) is not a deblocking model")
                    }
                    if m.info.jpegQuality == nil || m.info.jpegQuality == q || qualities.count == 1 {
                        methods.append(ModelMethod(model: m, tta: tta, context: context))
                        if perLayerPadding { methods.append(try PerLayerPaddingMethod(model: m, context: context)) }
                    }
                }
                for m in methods {
                    if !json { print("\n\(folder.lastPathComponent)  \(m.name)  quality \(q)\(label)"); printHeader(psnrB: true, rgb: kind != .standard) }
                    let result = try DeblockEvaluation.run(method: m, dataset: folder, quality: q, degradation: kind,
                                                           output: rounded ? .eightBit : .asComputed) { score in
                        if !json { printRow(score) }
                    }
                    if !json { printMean(result) }
                    results.append(result)
                }
            }
        }
        return results
    }

    private func printHeader(psnrB: Bool = false, rgb: Bool = false) {
        if psnrB {
            print(pad("image", 18) + pad("PSNR", 9, right: true) + pad("SSIM", 9, right: true) + pad("PSNR-B", 9, right: true)
                  + (rgb ? pad("RGB PSNR", 10, right: true) : "") + pad("time", 10, right: true))
            return
        }
        print(pad("image", 16) + pad("PSNR", 9, right: true) + pad("SSIM", 9, right: true) + pad("time", 10, right: true))
    }

    private func printRow(_ s: ImageScore) {
        if let b = s.psnrB {
            print(pad(s.name, 18) + pad(fmt(s.psnr, 2), 9, right: true) + pad(fmt(s.ssim, 4), 9, right: true)
                  + pad(fmt(b, 2), 9, right: true) + (s.psnrRGB.map { pad(fmt($0, 2), 10, right: true) } ?? "")
                  + pad(String(format: "%.3fs", s.seconds), 10, right: true))
            return
        }
        print(pad(s.name, 16) + pad(fmt(s.psnr, 2), 9, right: true) + pad(fmt(s.ssim, 4), 9, right: true)
              + pad(String(format: "%.3fs", s.seconds), 10, right: true))
    }

    /// The mean row gives PSNRs to three decimals (the rows above give two): model cycles and
    /// comparisons with the papers' tables are decided by hundredths of a dB.
    private func printMean(_ r: EvaluationResult) {
        if let b = r.mean.psnrB {
            print(pad("mean", 18) + pad(fmt(r.mean.psnr, 3), 9, right: true) + pad(fmt(r.mean.ssim, 4), 9, right: true)
                  + pad(fmt(b, 3), 9, right: true) + (r.mean.psnrRGB.map { pad(fmt($0, 3), 10, right: true) } ?? ""))
            return
        }
        print(pad("mean", 16) + pad(fmt(r.mean.psnr, 3), 9, right: true) + pad(fmt(r.mean.ssim, 4), 9, right: true))
    }
}

/// The value of a `--degradation` option (eval and train), or a one-line refusal naming the valid ones.
func parseDegradation(_ value: String) throws -> DeblockDegradation {
    guard let d = DeblockDegradation(rawValue: value) else {
        throw ValidationError("unknown --degradation '\(value)'; use \(DeblockDegradation.names)")
    }
    return d
}

/// `enhance eval --json` output.
struct EvaluationReport: Codable {
    var results: [EvaluationResult]
}

func fmt(_ v: Double, _ digits: Int) -> String {
    v.isInfinite ? (v > 0 ? "inf" : "-inf") : String(format: "%.\(digits)f", v)
}

func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    if s.count >= width { return s + " " }
    let fill = String(repeating: " ", count: width - s.count)
    return right ? fill + s : s + fill
}
