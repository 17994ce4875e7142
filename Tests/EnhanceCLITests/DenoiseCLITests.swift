import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation
import Testing

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct DenoiseCLITests {
    /// A deblocking model with random weights, shipped under the name level 2 looks for.
    static func writeModel(to folder: URL) throws {
        let arch = Architecture(familyName: "arcnn", scale: 1)!
        var net = arch.makeNetwork(seed: 9)
        // Make the last layer's output visible: weights large enough to change 8-bit pixels.
        var params = net.parameters
        params[params.count - 2].scale(by: 500)
        net.parameters = params
        let model = Model(info: ModelInfo(name: "arcnn-q20", task: .deblocking, architecture: arch, scale: 1, jpegQuality: 20),
                          network: net)
        try model.write(to: folder.appendingPathComponent("arcnn-q20.safetensors"))
    }

    @Test func autoDenoisesAQuality20JPEGAndLeavesAPNGAlone() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.writeModel(to: folder)
        let picture = sampleImage(width: 48, height: 40)
        let jpeg = folder.appendingPathComponent("photo.jpg"), png = folder.appendingPathComponent("drawing.png")
        try Data(try ImageIO.encode(picture, options: EncodeOptions(format: .jpeg, quality: 20))).write(to: jpeg)
        try ImageIO.write(picture, to: png)
        let out = folder.appendingPathComponent("out")
        let r = try CLIRun.run(["denoise", jpeg.path, png.path, "-o", out.path, "--format", "png", "--json"],
                               environment: ["ENHANCE_MODELS": folder.path])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let files = try #require(summary["files"] as? [[String: Any]])
        #expect(files.map { $0["denoiser"] as? String } == ["arcnn-q20", nil])
        // The JPEG went through the model: same size, different luma; the PNG is unchanged.
        let decoded = try ImageIO.read(contentsOf: jpeg)
        let denoised = try ImageIO.read(contentsOf: out.appendingPathComponent("photo.png"))
        #expect(denoised.width == 48 && denoised.height == 40)
        #expect(denoised.luma(quantized: true) != decoded.luma(quantized: true))
        #expect(try ImageIO.read(contentsOf: out.appendingPathComponent("drawing.png")) == picture)
    }

    @Test func upscaleAtScale1WithANoiseLevelIsDenoise() throws {
        // `enhance upscale --help`: "--scale 1 keeps the size: it converts the file, and with
        // --noise removes JPEG artifacts (as `enhance denoise`)".
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.writeModel(to: folder)
        let jpeg = folder.appendingPathComponent("photo.jpg")
        try Data(try ImageIO.encode(sampleImage(width: 40, height: 32), options: EncodeOptions(format: .jpeg, quality: 20))).write(to: jpeg)
        let viaUpscale = folder.appendingPathComponent("u.png"), viaDenoise = folder.appendingPathComponent("d.png")
        let env = ["ENHANCE_MODELS": folder.path]
        let u = try CLIRun.run(["upscale", jpeg.path, "--scale", "1", "--noise", "2", "-o", viaUpscale.path, "--quiet"], environment: env)
        let d = try CLIRun.run(["denoise", jpeg.path, "--noise", "2", "-o", viaDenoise.path, "--quiet"], environment: env)
        #expect(u.status == 0 && d.status == 0, "\(u.stderr) \(d.stderr)")
        let a = try ImageIO.read(contentsOf: viaUpscale), b = try ImageIO.read(contentsOf: viaDenoise)
        #expect(a == b)
        #expect(a.luma(quantized: true) != (try ImageIO.read(contentsOf: jpeg)).luma(quantized: true))
    }

    @Test func aLevelWithoutAModelIsRefused() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Self.writeModel(to: folder)
        let input = folder.appendingPathComponent("a.png")
        try ImageIO.write(sampleImage(), to: input)
        // Only the test's folder (level 2's model), not the shipped models.
        let r = try CLIRun.run(["denoise", input.path, "-o", folder.appendingPathComponent("b.png").path, "--noise", "3"],
                               environment: ["ENHANCE_MODELS": folder.path, "ENHANCE_BUNDLED_MODELS": "0"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--noise 3: noise level 3 needs a deblocking model for JPEG quality 10 (arcnn-q10), which is not shipped yet"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("b.png").path))
    }
}
