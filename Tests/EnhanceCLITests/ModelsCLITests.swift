import Foundation
import Testing

/// `enhance models`: the table and the JSON listing, on a folder of test models with the shipped
/// ones hidden.
@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct ModelsCLITests {
    static func folder() throws -> URL {
        let folder = try UpscaleFixtures.modelFolder().folder
        try DenoiseCLITests.writeModel(to: folder)
        return folder
    }

    @Test func tableMarksTheDefaultOfEachScaleAndQuality() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let r = try CLIRun.run(["models"], environment: ["ENHANCE_MODELS": folder.path, "ENHANCE_BUNDLED_MODELS": "0"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(lines.first == ["name", "task", "for", "architecture", "RF", "MACs/px", "validation"])
        // AR-CNN: 81·64 + 49·64·32 + 32·16 + 25·16 = 106448 multiply-adds per pixel (+ < 0.5 % of border).
        #expect(lines.contains(["arcnn-q20*", "deblock", "q20", "arcnn-9-7-1-5", "19", "106448"]))
        // FSRCNN (8, 4, 1) x2: (25·8 + 8·4 + 9·16 + 4·8 + 81·8) / 4 = 264.
        #expect(lines.contains(["tiny-fsrcnn-x2*", "sr", "x2", "fsrcnn-8-4-1", "11", "264"]))
        #expect(r.stdout.hasSuffix("* default for its scale (upscale) or JPEG quality (--noise); MACs/px: multiply-adds per output pixel\n"))
    }

    @Test func jsonListsEveryModelWithItsMetadata() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let r = try CLIRun.run(["models", "--json"], environment: ["ENHANCE_MODELS": folder.path, "ENHANCE_BUNDLED_MODELS": "0"])
        #expect(r.status == 0, "\(r.stderr)")
        let listing = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(listing["default"] as? String == "tiny-fsrcnn-x2")
        let models = try #require(listing["models"] as? [[String: Any]])
        #expect(models.compactMap { $0["name"] as? String } == ["arcnn-q20", "tiny-fsrcnn-x2"])
        #expect(models[0]["jpegQuality"] as? Int == 20 && models[1]["scale"] as? Int == 2)
        #expect(models.compactMap { $0["multiplyAddsPerOutputPixel"] as? Int } == [106448, 264])
    }
}
