import ArgumentParser
import Foundation

/// `enhance denoise`: JPEG artifact reduction without resizing, `enhance upscale --scale 1 --noise N`.
struct DenoiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "denoise",
        abstract: "Remove JPEG artifacts (noise levels 0 light ... 3 strong, or auto from the file's JPEG quality).",
        discussion: """
        Level 0, 1, 2, 3 use the AR-CNN model trained at JPEG quality 40, 30, 20, 10. auto reads \
        the file's quantisation table and picks the nearest level; files above quality 60 and \
        PNG/WebP/BMP files are left as they are. The model works on the luma (BT.601 Y); chroma \
        and alpha are kept. Same inputs and outputs as `enhance upscale`.
        """
    )

    @Argument(help: "Input images or folders.") var inputs: [String] = []
    @Option(name: .shortAndLong, help: "Output file, folder, or name pattern (see `enhance upscale --help`).") var output: String?
    @Option(name: .long, parsing: .unconditional, help: "Noise level: 0...3 or auto.") var noise: String = "auto"
    @Option(help: "Output format: png, jpg, webp or bmp.") var format: String?
    @Flag(help: "Process folders recursively.") var recursive = false
    @Flag(help: "Skip inputs whose output exists.") var skipExisting = false
    @Flag(help: "Average the model over the 8 flips/rotations (test-time augmentation, 8x slower).") var tta = false
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "No progress on standard error.") var quiet = false
    @Flag(help: "Print a JSON summary on standard output.") var json = false

    func validate() throws {
        guard NoiseOption(argument: noise) != nil, noise != "-1" else {
            throw ValidationError("--noise must be 0, 1, 2, 3 or auto, got '\(noise)'")
        }
    }

    /// The equivalent `upscale` arguments.
    var upscaleArguments: [String] {
        var args = ["--scale", "1", "--noise", noise]
        if let output { args += ["-o", output] }
        if let format { args += ["--format", format] }
        if let threads { args += ["--threads", String(threads)] }
        if tta { args.append("--tta") }
        if recursive { args.append("--recursive") }
        if skipExisting { args.append("--skip-existing") }
        if quiet { args.append("--quiet") }
        if json { args.append("--json") }
        return args + inputs
    }

    func run() throws {
        let upscale = try UpscaleCommand.parse(upscaleArguments)
        try upscale.validate()
        try upscale.run()
    }
}
