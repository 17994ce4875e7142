import Enhance
import EnhanceCLI
import EnhanceImage
import EnhanceModels
import Foundation
import Testing

/// `--degradation` on `enhance eval` and `enhance train` (AR-CNN's social re-compression).
@Suite struct DegradationParseTests {
    @Test func validValuesParse() throws {
        for value in ["standard", "social", "color"] {
            _ = try EnhanceCommand.parseAsRoot(["eval", "--task", "deblock", "--dataset", "x", "--degradation", value])
            _ = try EnhanceCommand.parseAsRoot(["train", "--model", "arcnn", "--quality", "20", "--degradation", value])
        }
    }

    @Test func unknownValuesAreOneLineErrors() {
        for args in [["eval", "--task", "deblock", "--dataset", "x", "--degradation", "twitter"],
                     ["train", "--model", "arcnn", "--quality", "20", "--degradation", "twitter"]] {
            let message = EnhanceCommand.message(for: CLIParseTests.parseError(args))
            #expect(message == "unknown --degradation 'twitter'; use standard, social or color")
        }
    }

    @Test func roundedIsForDeblocking() {
        let message = EnhanceCommand.message(for: CLIParseTests.parseError(["eval", "--dataset", "x", "--rounded"]))
        #expect(message == "--rounded applies to --task deblock (super-resolution outputs are always rounded)")
        #expect(throws: Never.self) { _ = try EnhanceCommand.parseAsRoot(["eval", "--task", "deblock", "--dataset", "x", "--rounded"]) }
    }

    @Test func degradationIsForDeblocking() {
        let message = EnhanceCommand.message(for: CLIParseTests.parseError(["eval", "--dataset", "x", "--degradation", "social"]))
        #expect(message == "--degradation applies to --task deblock")
    }
}

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct DegradationCLITests {
    @Test func evalJSONCarriesTheDegradation() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let images = [sampleImage(width: 48, height: 36), sampleImage(width: 41, height: 30)]
        try ImageIO.write(images[0], to: folder.appendingPathComponent("one.png"))
        try ImageIO.write(images[1], to: folder.appendingPathComponent("two.png"))
        let r = try CLIRun.run(["eval", "--task", "deblock", "--dataset", folder.path, "--quality", "20,40",
                                "--degradation", "social", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let results = try #require(doc["results"] as? [[String: Any]])
        #expect(results.map { $0["quality"] as? Int } == [20, 40])
        for result in results {
            let q = try #require(result["quality"] as? Int)
            #expect(result["degradation"] as? String == "social")
            #expect(result["method"] as? String == "jpeg" && result["task"] as? String == "deblock")
            let scores = try #require(result["images"] as? [[String: Any]])
            // The same numbers as the protocol computed here.
            let expected = try images.map {
                let s = try DeblockProtocol.prepareSocial(groundTruth: $0, quality: q)
                return DeblockProtocol.score(restoredY: s.compressedY, groundTruthY: s.groundTruthY)
            }
            // (JSON keeps 15-17 significant digits.)
            let psnr = scores.compactMap { $0["psnr"] as? Double }, psnrB = scores.compactMap { $0["psnrB"] as? Double }
            #expect(psnr.count == 2 && zip(psnr, expected.map(\.psnr)).allSatisfy { abs($0 - $1) < 1e-9 })
            #expect(psnrB.count == 2 && zip(psnrB, expected.map(\.psnrB)).allSatisfy { abs($0 - $1) < 1e-9 })
        }
        // Standard stays the default and says so; the text header names the social degradation.
        let standard = try CLIRun.run(["eval", "--task", "deblock", "--dataset", folder.path, "--quality", "20", "--json"])
        let sdoc = try #require(try JSONSerialization.jsonObject(with: Data(standard.stdout.utf8)) as? [String: Any])
        #expect((sdoc["results"] as? [[String: Any]])?.first?["degradation"] as? String == "standard")
        // Scored as computed unless --rounded; the JPEG baseline is 8-bit, so the same either way.
        #expect((sdoc["results"] as? [[String: Any]])?.first?["output"] as? String == "float")
        let rounded = try CLIRun.run(["eval", "--task", "deblock", "--dataset", folder.path, "--quality", "20", "--json", "--rounded"])
        let rdoc = try #require(try JSONSerialization.jsonObject(with: Data(rounded.stdout.utf8)) as? [String: Any])
        let rresult = try #require((rdoc["results"] as? [[String: Any]])?.first)
        #expect(rresult["output"] as? String == "8bit")
        let means = [sdoc, rdoc].compactMap { (($0["results"] as? [[String: Any]])?.first?["mean"] as? [String: Any])?["psnr"] as? Double }
        #expect(means.count == 2 && abs(means[0] - means[1]) < 1e-6, "\(means)")
        let text = try CLIRun.run(["eval", "--task", "deblock", "--dataset", folder.path, "--quality", "20", "--degradation", "social"])
        #expect(text.stdout.contains("\(folder.lastPathComponent)  jpeg  quality 20  social (camera q92, x0.75, re-compressed)"))
        let plain = try CLIRun.run(["eval", "--task", "deblock", "--dataset", folder.path, "--quality", "20"])
        #expect(plain.stdout.contains("\(folder.lastPathComponent)  jpeg  quality 20\n"))
    }

    @Test func trainRecordsTheDegradationAndRefusesAnotherOnResume() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data"), out = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<2 { try ImageIO.write(sampleImage(width: 64, height: 60 + i), to: data.appendingPathComponent("i\(i).png")) }
        let config: [String: Any] = [
            "model": "arcnn", "quality": 20, "scale": 1, "degradation": "social", "steps": 2, "batchSize": 2,
            "patchSize": 24, "patchStride": 20, "trainFolders": [data.path], "validationFolder": data.path,
            "logEvery": 1, "validateEvery": 2, "checkpointEvery": 1, "outputFolder": out.path, "threads": 1, "augment": false,
        ]
        let configURL = folder.appendingPathComponent("train.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let r = try CLIRun.run(["train", "--config", configURL.path])
        #expect(r.status == 0, "\(r.stderr)")
        // 64x60 and 64x61 become 48x45 and 48x46: 2x2 sub-images of 24 at stride 20 each.
        #expect(r.stderr.contains("2 images, 8 sub-images of 24x24, social JPEG degradation at quality 20, 2 validation images"))
        let best = try Model.read(contentsOf: out.appendingPathComponent("best.safetensors"))
        #expect(best.info.name == "arcnn-social-q20")
        #expect(best.info.training?.data.contains("social degradation: camera JPEG 4:2:0 q92") == true)
        let other = try CLIRun.run(["train", "--config", configURL.path, "--degradation", "standard", "--steps", "3", "--resume"])
        #expect(other.status == 1)
        #expect(other.stderr.hasSuffix("\nerror: \(out.path)/checkpoint.safetensors: checkpoint was made with different settings (degradation social vs standard)\n"))

        try Data(#"{"model": "arcnn", "quality": 20, "degradation": "twitter"}"#.utf8).write(to: configURL)
        let bad = try CLIRun.run(["train", "--config", configURL.path])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("\(configURL.path): setting 'degradation': unknown degradation 'twitter'; use standard, social or color"))
    }
}
