import EnhanceImage
import Foundation
import Testing

/// `enhance demo` (what `make demo` runs): both jobs on the built-in test card.
@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct DemoCLITests {
    /// With a deblocking model for quality 20 (the random one of DenoiseCLITests, the shipped ones
    /// hidden), the demo writes the upscaling and the denoising comparisons and reports both.
    @Test func writesBothComparisons() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try DenoiseCLITests.writeModel(to: folder)
        let out = folder.appendingPathComponent("out")
        let r = try CLIRun.run(["demo", "-o", out.path, "--scale", "2"],
                               environment: ["ENHANCE_MODELS": folder.path, "ENHANCE_BUNDLED_MODELS": "0"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "test card 480x336, x2, model bicubic (no model shipped for this scale yet)")
        #expect(lines.contains("JPEG quality 20 test card, --noise auto -> level 2, model arcnn-q20"))
        #expect(lines.contains { $0.hasPrefix("PSNR Y / RGB: JPEG ") })
        for file in ["comparison.png", "card-enhance.png", "card-q20.jpg", "card-q20-denoised.png", "denoise-comparison.png"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
        }
        let comparison = try ImageIO.read(contentsOf: out.appendingPathComponent("denoise-comparison.png"))
        #expect(comparison.width == 3 * 480 + 2 * 6 && comparison.height == 336)
    }

    /// Without any deblocking model it says so and still succeeds.
    @Test func saysWhenNoDeblockingModelIsShipped() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let r = try CLIRun.run(["demo", "-o", folder.path, "--scale", "2"],
                               environment: ["ENHANCE_MODELS": folder.path, "ENHANCE_BUNDLED_MODELS": "0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("JPEG artifact reduction: no deblocking model for noise level 2 is shipped yet"))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("denoise-comparison.png").path))
    }
}
