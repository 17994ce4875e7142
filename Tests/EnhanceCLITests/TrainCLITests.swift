import EnhanceImage
import EnhanceModels
import Foundation
import Testing

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct TrainCLITests {
    /// Two small training images in `folder/data`.
    static func trainingImages(in folder: URL) throws -> URL {
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<2 { try ImageIO.write(sampleImage(width: 64, height: 60 + i), to: data.appendingPathComponent("i\(i).png")) }
        return data
    }

    /// A config file gives the settings, the command line overrides them, and the run writes its files.
    @Test func configFileWithOverridesTrainsAndResumes() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try Self.trainingImages(in: folder), out = folder.appendingPathComponent("run")
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

    /// Ctrl-C: the step in progress ends, a checkpoint is written, the exit status is 130, and
    /// `--resume` continues from that step.
    @Test func interruptCheckpointsAndExits130() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = try Self.trainingImages(in: folder), out = folder.appendingPathComponent("run")
        let process = Process()
        process.executableURL = CLIRun.executable
        process.arguments = ["train", "--model", "srcnn-9-1-5", "--scale", "2", "--data", data.path, "--patch", "21",
                             "--stride", "20", "--batch", "2", "--steps", "10000000", "--threads", "1", "--no-augment",
                             "--log-every", "100000", "--validate-every", "100000", "--checkpoint-every", "100000", "-o", out.path]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The run has started (and its handler is installed) once log.csv exists.
        let log = out.appendingPathComponent("log.csv")
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: log.path) { usleep(50_000) }
        #expect(FileManager.default.fileExists(atPath: log.path))
        process.interrupt()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(stderr)")
        let stopLine = try #require(stderr.split(separator: "\n").first { $0.hasPrefix("stopped at step ") }, "\(stderr)")
        let step = try #require(Int(stopLine.split(separator: " ")[3]))
        #expect(stopLine == "stopped at step \(step) of 10000000, checkpoint saved: continue with `enhance train --resume -o \(out.path)`")
        let resumed = try CLIRun.run(["train", "--resume", "-o", out.path, "--steps", "\(step + 2)"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resumed at step \(step) "))
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

    @Test func extrapolationOptionsNeedWhatTheyExtend() throws {
        let noInit = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--extrapolate-from", "a.safetensors"])
        #expect(noInit.status == 64)
        #expect(noInit.stderr.contains("Error: --extrapolate-from needs --init (the weights to extrapolate from it)"), "\(noInit.stderr)")
        let noFrom = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--init", "a.safetensors", "--extrapolate-by", "2"])
        #expect(noFrom.stderr.contains("Error: --extrapolate-by needs --extrapolate-from"), "\(noFrom.stderr)")
        let zero = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--init", "a.safetensors",
                                   "--extrapolate-from", "b.safetensors", "--extrapolate-by", "0"])
        #expect(zero.stderr.contains("Error: --extrapolate-by must be > 0, got 0.0"), "\(zero.stderr)")
        let missing = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--init", "/nonexistent/a.safetensors"])
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("Error: --init: no such file '/nonexistent/a.safetensors'"), "\(missing.stderr)")
        #expect(!missing.stderr.contains("loading"), "\(missing.stderr)")
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let present = folder.appendingPathComponent("end.safetensors")
        try Data("not read before the check".utf8).write(to: present)
        let missingEarlier = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--init", present.path,
                                             "--extrapolate-from", "/nonexistent/b.safetensors"])
        #expect(missingEarlier.stderr.contains("Error: --extrapolate-from: no such file '/nonexistent/b.safetensors'"), "\(missingEarlier.stderr)")
        let noUpdates = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--steps", "0"])
        #expect(noUpdates.stderr.contains("Error: --steps 0 needs --init (it validates the start and keeps it as the run's model)"), "\(noUpdates.stderr)")
    }

    @Test func teacherOptionsNeedTheTeacher() throws {
        let weight = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--teacher-weight", "0.5"])
        #expect(weight.status == 64)
        #expect(weight.stderr.contains("Error: --teacher-weight needs --teacher"), "\(weight.stderr)")
        let tta = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--teacher-tta"])
        #expect(tta.stderr.contains("Error: --teacher-tta needs --teacher"), "\(tta.stderr)")
        let range = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--teacher", "t.safetensors", "--teacher-weight", "1.5"])
        #expect(range.stderr.contains("Error: --teacher-weight must be in (0, 1], got 1.5"), "\(range.stderr)")
        let missing = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--teacher", "/nonexistent/t.safetensors"])
        #expect(missing.stderr.contains("Error: --teacher: no such file '/nonexistent/t.safetensors'"), "\(missing.stderr)")
        #expect(!missing.stderr.contains("loading"), "\(missing.stderr)")
    }

    @Test func bordersApplyToStrideOneDeblocking() throws {
        for arguments in [["--model", "fsrcnn", "--scale", "2"], ["--model", "fast-arcnn", "--quality", "20"]] {
            let run = try CLIRun.run(["train"] + arguments + ["--borders"])
            #expect(run.status != 0)
            #expect(run.stderr.contains("--borders applies to deblocking models without strided layers (arcnn, srcnn-shaped)"), "\(run.stderr)")
        }
        let teacher = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--borders", "--teacher", "/dev/null"])
        #expect(teacher.stderr.contains("--teacher does not combine with --borders"), "\(teacher.stderr)")
        let psnr = try CLIRun.run(["train", "--model", "arcnn", "--quality", "20", "--borders", "--loss", "psnr"])
        #expect(psnr.stderr.contains("loss psnr does not combine with --borders"), "\(psnr.stderr)")
    }
}
