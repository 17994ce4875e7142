import EnhanceCLI
import EnhanceImage
import EnhanceNN
import Foundation
import Testing

/// Runs the built `enhance` executable (it sits beside the test bundle) and captures its output.
struct CLIRun {
    var status: Int32
    var stdout: String
    var stderr: String

    static var executable: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // swift test runs …/debug/EnhancePackageTests.xctest (a file on Linux, a bundle on macOS).
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("enhance")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return dir.appendingPathComponent("enhance")
    }

    static var available: Bool { FileManager.default.isExecutableFile(atPath: executable.path) }

    /// Runs `enhance` with `environment` added to this process's. Unless the caller sets it (or
    /// `removing` lists it), OPENBLAS_CORETYPE is this process's OpenBLAS core, so that the CLI
    /// runs the same sgemm kernels as the library calls it is compared with.
    static func run(_ arguments: [String], environment: [String: String] = [:], removing: [String] = []) throws -> CLIRun {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        if env["OPENBLAS_CORETYPE"] == nil { env["OPENBLAS_CORETYPE"] = BLAS.coreName }
        for (k, v) in environment { env[k] = v }
        for k in removing { env[k] = nil }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIRun(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }
}

func scratchFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("enhance-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A small RGB image with edges and gradients, on the 8-bit grid.
func sampleImage(width: Int = 40, height: Int = 30) -> Image {
    var img = Image(width: width, height: height, colorModel: .rgb)
    for y in 0..<height {
        for x in 0..<width {
            img[0, y, x] = Float(x) / Float(width)
            img[1, y, x] = (x / 5 + y / 5) % 2 == 0 ? 0.9 : 0.1
            img[2, y, x] = Float(y) / Float(height)
        }
    }
    return img.quantized8()
}

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct CLIErrorTests {
    /// Each bad input gives one line on stderr naming the file and the reason, exit 1, and no output file.
    @Test(arguments: [
        ("empty.png", [UInt8](), "empty file"),
        ("text.png", Array("just some text\n".utf8), "not a supported image (PNG, JPEG, WebP, BMP)"),
        ("cut.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0],
         "truncated PNG (unexpected end of data)"),
    ])
    func badInputFile(name: String, bytes: [UInt8], reason: String) throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent(name)
        try Data(bytes).write(to: input)
        let output = folder.appendingPathComponent("out.png")
        let r = try CLIRun.run(["upscale", input.path, "-o", output.path, "--scale", "2", "--model", "bicubic"])
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(input.path): \(reason)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [name])
    }

    @Test func truncatedJPEG() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let jpeg = try ImageIO.encode(sampleImage(), options: EncodeOptions(format: .jpeg))
        let input = folder.appendingPathComponent("cut.jpg")
        try Data(jpeg.prefix(jpeg.count / 2)).write(to: input)
        let r = try CLIRun.run(["upscale", input.path, "-o", folder.appendingPathComponent("o.png").path, "--model", "bicubic"])
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(input.path): truncated JPEG (premature end of data)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["cut.jpg"])
    }

    @Test func headerAboveThePixelLimit() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A valid 64x64 PNG, with a configured limit of 1000 pixels.
        let input = folder.appendingPathComponent("big.png")
        try ImageIO.write(sampleImage(width: 64, height: 64), to: input)
        let r = try CLIRun.run(["upscale", input.path, "-o", folder.appendingPathComponent("o.png").path, "--model", "bicubic"],
                               environment: ["ENHANCE_MAX_PIXELS": "1000"])
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(input.path): image is 64x64 = 4096 pixels, above the limit of 1000 (set ENHANCE_MAX_PIXELS)\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["big.png"])
    }

    @Test func missingInput() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("nothing-here.png")
        let r = try CLIRun.run(["upscale", input.path, "-o", folder.appendingPathComponent("o.png").path, "--model", "bicubic"])
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(input.path): no such file\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    @Test func refusesToOverwriteTheInput() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("a.png")
        try ImageIO.write(sampleImage(), to: input)
        let before = try Data(contentsOf: input)
        let r = try CLIRun.run(["upscale", input.path, "-o", input.path, "--model", "bicubic"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("refusing to overwrite the input \(input.path)"))
        #expect(try Data(contentsOf: input) == before)
    }
}

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct CLIOutputTests {
    @Test func bicubicUpscaleEqualsTheLibrary() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.png"), output = folder.appendingPathComponent("out.png")
        let image = sampleImage()
        try ImageIO.write(image, to: input)
        let r = try CLIRun.run(["upscale", input.path, "-o", output.path, "--scale", "3", "--model", "bicubic"])
        #expect(r.status == 0, "\(r.stderr)")
        let written = try ImageIO.read(contentsOf: output)
        #expect(written.width == 120 && written.height == 90)
        #expect(written == image.resized(scale: 3, method: .bicubic).quantized8())
    }

    @Test func evalJSONHasTheDocumentedShape() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try ImageIO.write(sampleImage(width: 48, height: 36), to: folder.appendingPathComponent("one.png"))
        try ImageIO.write(sampleImage(width: 30, height: 30), to: folder.appendingPathComponent("two.png"))
        let r = try CLIRun.run(["eval", "--method", "bicubic", "--dataset", folder.path, "--scale", "2,3", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let results = try #require(doc["results"] as? [[String: Any]])
        #expect(results.count == 2)
        #expect(results.map { $0["scale"] as? Int } == [2, 3])
        for result in results {
            #expect(result["dataset"] as? String == folder.lastPathComponent)
            #expect(result["method"] as? String == "bicubic")
            let images = try #require(result["images"] as? [[String: Any]])
            #expect(images.map { $0["name"] as? String } == ["one", "two"])
            let psnrs = images.compactMap { $0["psnr"] as? Double }
            let mean = try #require(result["mean"] as? [String: Any])
            #expect(abs((mean["psnr"] as? Double ?? 0) - psnrs.reduce(0, +) / 2) < 1e-9)
            #expect((mean["ssim"] as? Double ?? 0) > 0.3)
        }
    }

    @Test func evalTableMeanRowGivesThreeDecimals() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try ImageIO.write(sampleImage(width: 48, height: 36), to: folder.appendingPathComponent("one.png"))
        let table = try CLIRun.run(["eval", "--method", "bicubic", "--dataset", folder.path, "--scale", "2"])
        let json = try CLIRun.run(["eval", "--method", "bicubic", "--dataset", folder.path, "--scale", "2", "--json"])
        #expect(table.status == 0 && json.status == 0, "\(table.stderr)\(json.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let result = try #require((doc["results"] as? [[String: Any]])?.first)
        let mean = try #require(result["mean"] as? [String: Any])
        let psnr = try #require(mean["psnr"] as? Double), ssim = try #require(mean["ssim"] as? Double)
        let image = try #require((result["images"] as? [[String: Any]])?.first?["psnr"] as? Double)
        let lines = table.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.contains(["mean", String(format: "%.3f", psnr), String(format: "%.4f", ssim)]))
        #expect(lines.contains { $0.first == "one" && $0.dropFirst().first == String(format: "%.2f", image) })
    }

    @Test func unknownModelIsAOneLineError() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.png")
        try ImageIO.write(sampleImage(), to: input)
        let r = try CLIRun.run(["upscale", input.path, "-o", folder.appendingPathComponent("o.png").path, "--model", "no-such-model"],
                               environment: ["ENHANCE_MODELS": folder.path])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("error: unknown model 'no-such-model'; available: "))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }
}

@Suite struct CLIParseTests {
    @Test func defaultSubcommandIsUpscale() throws {
        let command = try EnhanceCommand.parseAsRoot(["photo.png", "-o", "big.png", "--scale", "3"])
        #expect(String(describing: type(of: command)) == "UpscaleCommand")
    }

    @Test func invalidScaleListIsRejected() {
        #expect(throws: (any Error).self) { _ = try EnhanceCommand.parseAsRoot(["eval", "--dataset", "x", "--scale", "2,z"]) }
        let message = EnhanceCommand.message(for: CLIParseTests.parseError(["eval", "--dataset", "x", "--scale", "2,z"]))
        #expect(message == "--scale: 'z' is not a whole number in 1...8")
    }

    /// `eval --tta` averages models; with the baseline alone it would do nothing, so it is refused.
    @Test func ttaWithoutModelIsRefused() throws {
        let message = EnhanceCommand.message(for: CLIParseTests.parseError(["eval", "--dataset", "x", "--tta"]))
        #expect(message == "--tta applies to models: add --model NAME")
    }

    static func parseError(_ args: [String]) -> any Error {
        do { _ = try EnhanceCommand.parseAsRoot(args); return CancellationError() } catch { return error }
    }
}
