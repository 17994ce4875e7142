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
        #expect(lines.first == ["name", "task", "for", "architecture", "RF", "validation"])
        #expect(lines.contains(["arcnn-q20*", "deblock", "q20", "arcnn-9-7-1-5", "19"]))
        #expect(lines.contains(["tiny-fsrcnn-x2*", "sr", "x2", "fsrcnn-8-4-1", "11"]))
        #expect(r.stdout.hasSuffix("* default for its scale (upscale) or JPEG quality (--noise)\n"))
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
    }
}
