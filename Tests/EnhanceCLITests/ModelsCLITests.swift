import EnhanceImage
import EnhanceModels
import EnhanceNN
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

    @Test func activityFindsDeadUnits() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // An AR-CNN whose units 5 and 7 of the 7x7 layer and 0 of the 1x1 layer can never fire.
        let arch = Architecture(familyName: "arcnn", scale: 1)!
        var net = arch.makeNetwork(seed: 9)
        var p = net.parameters
        p[3].storage[5] = -1e4; p[3].storage[7] = -1e4; p[5].storage[0] = -1e4
        net.parameters = p
        let models = try UpscaleFixtures.modelFolder().folder, images = folder.appendingPathComponent("images")
        defer { try? FileManager.default.removeItem(at: models) }
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try Model(info: ModelInfo(name: "arcnn-q20", task: .deblocking, architecture: arch, scale: 1, jpegQuality: 20), network: net)
            .write(to: models.appendingPathComponent("arcnn-q20.safetensors"))
        try ImageIO.write(sampleImage(width: 48, height: 40), to: images.appendingPathComponent("a.png"))
        try ImageIO.write(sampleImage(width: 40, height: 40), to: images.appendingPathComponent("b.png"))
        let env = ["ENHANCE_MODELS": models.path, "ENHANCE_BUNDLED_MODELS": "0"]
        // Every model with ReLU units (not the PReLU FSRCNN), as JSON.
        let r = try CLIRun.run(["models", "--activity", images.path, "--json"], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(reports.compactMap { $0["model"] as? String } == ["arcnn-q20"])
        #expect(reports.first?["images"] as? Int == 2 && reports.first?["dataset"] as? String == "images")
        let layers = try #require(reports.first?["layers"] as? [[String: Any]])
        #expect(layers.compactMap { $0["layer"] as? Int } == [0, 2, 4])
        #expect(layers.compactMap { $0["units"] as? Int } == [64, 32, 16])
        let dead = layers.map { Set($0["dead"] as? [Int] ?? []) }
        #expect(Set([5, 7]).isSubset(of: dead[1]) && dead[2].contains(0))
        for l in layers {
            let fractions = l["activeFraction"] as? [Double] ?? []
            let rare = Set(l["rare"] as? [Int] ?? [])
            #expect(fractions.count == l["units"] as? Int)
            #expect(Set(fractions.indices.filter { fractions[$0] == 0 }) == Set(l["dead"] as? [Int] ?? []))
            #expect(Set(fractions.indices.filter { fractions[$0] < 0.01 }) == rare)
        }
        // The table.
        let t = try CLIRun.run(["models", "--activity", images.path, "--model", "arcnn-q20"], environment: env)
        #expect(t.status == 0, "\(t.stderr)")
        let lines = t.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "arcnn-q20 on images (2 images)")
        #expect(lines.dropFirst().first == "  layer  units  never fire  fire on < 1 % of positions")
        #expect(lines.count == 5 && lines[3].hasPrefix("  2      32     \(dead[1].count) "))
        // --model alone is a mistake.
        let e = try CLIRun.run(["models", "--model", "arcnn-q20"], environment: env)
        #expect(e.status == 64 && e.stderr.hasPrefix("Error: --model applies to --activity"))
    }
}
