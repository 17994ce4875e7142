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

    @Option(name: .long, help: ArgumentHelp("Scales, comma separated.", valueName: "2,3,4"))
    var scale: String = "2,3,4"

    @Flag(name: .long, help: "Print one JSON document instead of tables.")
    var json = false

    func validate() throws {
        if dataset.isEmpty { throw ValidationError("Missing --dataset (a folder of images, or Set5 / Set14)") }
        _ = try parseIntList(scale, option: "--scale", allowed: 1...8)
        if let method, method != "bicubic" { throw ValidationError("unknown --method '\(method)'; available: bicubic") }
    }

    func run() throws {
        let scales = try parseIntList(scale, option: "--scale", allowed: 1...8)
        let context = ComputeContext(threads: threads)
        var results: [EvaluationResult] = []
        do {
            let models = try model.map { try ModelCatalog.load($0) }
            for name in dataset {
                let folder = resolveDataset(name)
                for s in scales {
                    var methods: [any SRMethod] = method != nil || models.isEmpty ? [BicubicMethod()] : []
                    for m in models {
                        guard m.info.task == .superResolution else {
                            throw ValidationError("model \(m.info.name) is not a super-resolution model")
                        }
                        if m.info.scale == s { methods.append(ModelMethod(model: m, context: context)) }
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
        } catch let error as ImageIOError {
            printError("error: \(error.description)"); throw ExitCode.failure
        } catch let error as DatasetError {
            printError("error: \(error.description)"); throw ExitCode.failure
        } catch let error as ModelError {
            printError("error: \(error.message)"); throw ExitCode.failure
        } catch let error as WeightFileError {
            printError("error: \(error.description)"); throw ExitCode.failure
        }
        if json { print(try jsonString(EvaluationReport(results: results))) }
    }

    private func printHeader() {
        print(pad("image", 16) + pad("PSNR", 9, right: true) + pad("SSIM", 9, right: true) + pad("time", 10, right: true))
    }

    private func printRow(_ s: ImageScore) {
        print(pad(s.name, 16) + pad(fmt(s.psnr, 2), 9, right: true) + pad(fmt(s.ssim, 4), 9, right: true)
              + pad(String(format: "%.3fs", s.seconds), 10, right: true))
    }

    private func printMean(_ r: EvaluationResult) {
        print(pad("mean", 16) + pad(fmt(r.mean.psnr, 2), 9, right: true) + pad(fmt(r.mean.ssim, 4), 9, right: true))
    }
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
