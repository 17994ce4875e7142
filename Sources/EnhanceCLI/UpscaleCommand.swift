import ArgumentParser
import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation

struct UpscaleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upscale",
        abstract: "Upscale an image with a model (default: the best shipped one for the scale) or bicubic."
    )

    @Argument(help: "Input image (PNG, JPEG, WebP, BMP).")
    var input: String

    @Option(name: .shortAndLong, help: "Output file; the format follows the extension (png, jpg, webp, bmp).")
    var output: String

    @Option(name: .long, help: "Scale factor.")
    var scale: Int = 2

    @Option(name: .long, help: "Model name (see `enhance models`), a .safetensors path, or 'bicubic'.")
    var model: String?

    @Option(name: .long, help: "Tile side in input pixels (default: whole image). The result does not depend on it.")
    var tile: Int?

    @Option(name: .long, help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(name: .long, help: "JPEG/WebP quality 1-100.")
    var quality: Int = 95

    func validate() throws {
        guard (1...8).contains(scale) else { throw ValidationError("--scale must be 1...8, got \(scale)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1...100, got \(quality)") }
    }

    func run() throws {
        let inURL = URL(fileURLWithPath: input), outURL = URL(fileURLWithPath: output)
        if inURL.standardizedFileURL.resolvingSymlinksInPath().path == outURL.standardizedFileURL.resolvingSymlinksInPath().path {
            throw ValidationError("refusing to overwrite the input \(input)")
        }
        guard let format = ImageFormat(pathExtension: outURL.pathExtension) else {
            throw ValidationError("\(output): unknown output format '.\(outURL.pathExtension)'; use .png, .jpg, .webp or .bmp")
        }
        let context = ComputeContext(threads: threads)
        do {
            let chosen: Model?
            let name = model ?? ModelCatalog.defaultModel(scale: scale) ?? "bicubic"
            if name == "bicubic" {
                chosen = nil
            } else {
                chosen = try ModelCatalog.load(name)
                guard chosen!.info.task == .superResolution, chosen!.info.scale == scale else {
                    throw ValidationError("model \(name) is a x\(chosen!.info.scale) \(chosen!.info.task.rawValue) model; asked for --scale \(scale)")
                }
            }
            if let tile, let chosen {
                let minimum = PlaneInference(model: chosen, context: context).minimumTile
                guard tile >= minimum else {
                    throw ValidationError("--tile \(tile) is smaller than \(minimum), the least this model's receptive field allows")
                }
            }
            let image = try ImageIO.read(contentsOf: inURL)
            let result = Upscaler(model: chosen, scale: scale, tile: tile, context: context).upscale(image)
            var options = EncodeOptions(format: format)
            options.quality = quality
            options.bitDepth = format == .png && image.sourceBitDepth == 16 ? 16 : 8
            try ImageIO.write(result, to: outURL, options: options)
        } catch let error as ImageIOError {
            printError("error: \(error.description)")
            throw ExitCode.failure
        } catch let error as ModelError {
            printError("error: \(error.message)")
            throw ExitCode.failure
        } catch let error as WeightFileError {
            printError("error: \(error.description)")
            throw ExitCode.failure
        }
    }
}
