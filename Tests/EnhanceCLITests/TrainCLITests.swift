import EnhanceImage
import EnhanceModels
import Foundation
import Testing

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct TrainCLITests {
    /// A config file gives the settings, the command line overrides them, and the run writes its files.
    @Test func configFileWithOverridesTrainsAndResumes() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data"), out = folder.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<2 { try ImageIO.write(sampleImage(width: 64, height: 60 + i), to: data.appendingPathComponent("i\(i).png")) }
        let config: [String: Any] = [
            "model": "srcnn-9-1-5", "scale": 2, "steps": 3, "batchSize": 2, "patchSize": 21, "patchStride": 20,
            "trainFolders": [data.path], "validationFolder": data.path, "logEvery": 1, "validateEvery": 2,
            "checkpointEvery": 2, "outputFolder": out.path, "threads": 1, "augment": false,
        ]
        let configURL = folder.appendingPathComponent("train.json")
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let r = try CLIRun.run(["train", "--config", configURL.path, "--steps", "4"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("step 4/4"))
        let log = try String(contentsOf: out.appendingPathComponent("log.csv"), encoding: .utf8)
        #expect(log.split(separator: "\n").last?.hasPrefix("4,8,") == true)
        for file in ["checkpoint.safetensors", "best.safetensors", "curve.svg"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
        }
        let best = try Model.read(contentsOf: out.appendingPathComponent("best.safetensors"))
        #expect(best.info.name == "srcnn-9-1-5-x2" && best.info.scale == 2)
        #expect(best.info.training?.command.contains("--config") == true)
        // Again without --resume: refused; with --resume and more steps: continues from step 4.
        let again = try CLIRun.run(["train", "--config", configURL.path, "--steps", "4"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("exists: pass --resume to continue that run"))
        let resumed = try CLIRun.run(["train", "--config", configURL.path, "--steps", "6", "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resumed at step 4"))
        // --resume without --config: the settings come from the checkpoint; options still override.
        let bare = try CLIRun.run(["train", "--resume", "-o", out.path, "--steps", "8"])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(bare.stderr.contains("resumed at step 6"))
        let log8 = try String(contentsOf: out.appendingPathComponent("log.csv"), encoding: .utf8)
        #expect(log8.split(separator: "\n").last?.hasPrefix("8,16,") == true)
        // ... and a setting that would change the run is still refused.
        let changed = try CLIRun.run(["train", "--resume", "-o", out.path, "--steps", "10", "--batch", "3"])
        #expect(changed.status == 1)
        #expect(changed.stderr.contains("checkpoint was made with different settings (batch size 2 vs 3)"))
        let empty = folder.appendingPathComponent("empty")
        let none = try CLIRun.run(["train", "--resume", "-o", empty.path])
        #expect(none.status == 64)
        #expect(none.stderr.contains("\(empty.path)/checkpoint.safetensors: no checkpoint to resume from"))
    }

    @Test func configFileMistakesAreNamed() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let configURL = folder.appendingPathComponent("bad.json")
        try Data(#"{"model": "srcnn-9-5-5", "stepz": 10}"#.utf8).write(to: configURL)
        let typo = try CLIRun.run(["train", "--config", configURL.path])
        #expect(typo.status == 64)
        #expect(typo.stderr.contains("\(configURL.path): unknown setting 'stepz'"))
        try Data(#"{"steps": "many"}"#.utf8).write(to: configURL)
        let type = try CLIRun.run(["train", "--config", configURL.path])
        #expect(type.stderr.contains("\(configURL.path): setting 'steps' must be of type Int"))
    }
}
