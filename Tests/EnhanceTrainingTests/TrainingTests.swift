import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceNN
import EnhanceTraining
import Foundation
import Testing

/// A smooth pseudo-random Y plane (sums of sinusoids), values in 0.1...0.9.
func syntheticY(width: Int, height: Int, seed: Int) -> Image {
    var img = Image(width: width, height: height, colorModel: .grey)
    let a = Double(seed % 7 + 1), b = Double(seed % 5 + 2)
    for y in 0..<height {
        for x in 0..<width {
            let v = 0.5 + 0.2 * sin(Double(x) / a + Double(y) / (b * 1.7)) + 0.2 * cos(Double(x * y) / 97 + Double(seed))
            img[0, y, x] = Float(v)
        }
    }
    return img.quantized8()
}

func temporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("enhance-tests-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct TrainingSetTests {
    @Test func patchCountOfAKnownFolder() throws {
        // Sizes after modcrop(3): 48x39, 63x63, 33x33, 30x30 (too small for a 33x33 sub-image).
        let folder = try temporaryFolder("patches")
        defer { try? FileManager.default.removeItem(at: folder) }
        let sizes = [(50, 40), (64, 64), (33, 33), (30, 30)]
        for (i, (w, h)) in sizes.enumerated() {
            try ImageIO.write(syntheticY(width: w, height: h, seed: i), to: folder.appendingPathComponent("img\(i).png"))
        }
        let geometry = PatchGeometry(upscaledInput: true, inputSize: 33, stride: 14, radius: 6, networkScale: 1)
        let set = try TrainingSet(folders: [folder], degradation: .bicubic(scale: 3), geometry: geometry)
        // Σ ⌊(H−33)/14+1⌋·⌊(W−33)/14+1⌋ = 1·2 + 3·3 + 1·1 + 0 = 12
        #expect(set.patchCount == 12)
        #expect(set.files.count == 4)
        #expect(geometry.labelSize == 21)

        // Low-resolution input (FSRCNN): sub-images of 11 on the 16x13, 21x21, 11x11, 10x10 inputs, stride 4.
        let lr = PatchGeometry(upscaledInput: false, inputSize: 11, stride: 4, radius: 3, networkScale: 3)
        let lrSet = try TrainingSet(folders: [folder], degradation: .bicubic(scale: 3), geometry: lr)
        // ⌊(13−11)/4+1⌋·⌊(16−11)/4+1⌋ + ⌊(21−11)/4+1⌋² + 1 + 0 = 1·2 + 3·3 + 1 = 12
        #expect(lrSet.patchCount == 12)
        #expect(lr.labelSize == 15)
    }

    /// `downscale: false` keeps the flips and rotations but not the down-scaled copies: the
    /// images at their own scale only (the AR-CNN test images were never down-scaled).
    @Test func downscaleOffKeepsOnlyTheImagesOwnScale() throws {
        func decode(_ json: String) throws -> TrainingConfig { try JSONDecoder().decode(TrainingConfig.self, from: Data(json.utf8)) }
        let standard = try decode(#"{"model": "arcnn", "quality": 20, "scale": 1}"#)
        let flips = try decode(#"{"model": "arcnn", "quality": 20, "scale": 1, "downscale": false}"#)
        let none = try decode(#"{"model": "arcnn", "quality": 20, "scale": 1, "augment": false, "downscale": false}"#)
        #expect(standard.augmentation == .standard && flips.augmentation == .flips && none.augmentation == .none)
        #expect(Augmentation.flips.scales == [1] && Augmentation.flips.dihedral)
        #expect(flips.resumeMismatch(with: standard) == "augmentation differs")
        #expect(none.resumeMismatch(with: flips) == "augmentation differs")
        #expect(try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(flips)) == flips)

        // 64x56 at its own scale gives ⌊(56−16)/8+1⌋·⌊(64−16)/8+1⌋ = 6·7 = 42 sub-images of 16;
        // the 0.9 … 0.6 copies (MATLAB sizes, rounded up: 58x51, 52x45, 45x40, 39x34) add
        // 5·6 + 4·5 + 4·4 + 3·3 = 75.
        let images = [syntheticY(width: 64, height: 56, seed: 5)]
        let geometry = PatchGeometry(upscaledInput: true, inputSize: 16, stride: 8, radius: 4, networkScale: 1)
        func count(_ a: Augmentation) throws -> Int {
            try TrainingSet(groundTruthY: images, degradation: .jpeg(quality: 20), geometry: geometry, augmentation: a, threads: 1).patchCount
        }
        #expect(try count(.flips) == 42 && count(.none) == 42)
        #expect(try count(.standard) == 42 + 75)
    }

    /// `--borders`: the JPEG input edge-padded by the radius, a grid flush with the far edges, and
    /// every ground-truth pixel a label pixel, border rows and columns included.
    @Test func bordersPadTheInputAndMakeEveryPixelALabel() throws {
        let gt = syntheticY(width: 61, height: 50, seed: 4)
        let geometry = PatchGeometry(upscaledInput: true, inputSize: 16, stride: 8, radius: 4, networkScale: 1, paddedBorders: true)
        let set = try TrainingSet(groundTruthY: [gt], degradation: .jpeg(quality: 20), geometry: geometry, threads: 1)
        // Padded input 69x58: x origins 0, 8, …, 48 and 53 (flush); y origins 0, 8, …, 40 and 42.
        #expect(geometry.patchOrigins(length: 69) == [0, 8, 16, 24, 32, 40, 48, 53])
        #expect(geometry.patchOrigins(length: 58) == [0, 8, 16, 24, 32, 40, 42])
        #expect(set.patchCount == 8 * 7)
        let unpadded = PatchGeometry(upscaledInput: true, inputSize: 16, stride: 8, radius: 4, networkScale: 1)
        #expect(unpadded.patchOrigins(length: 61) == [0, 8, 16, 24, 32, 40])
        #expect(try TrainingSet(groundTruthY: [gt], degradation: .jpeg(quality: 20), geometry: unpadded, threads: 1).patchCount == 6 * 5)

        let compressed = try DeblockProtocol.compress(gt.quantized8(), quality: 20)
        var covered = [Bool](repeating: false, count: 61 * 50)
        var input = [Float](repeating: 0, count: 16 * 16), label = [Float](repeating: 0, count: 8 * 8)
        for loc in set.patches {
            input.withUnsafeMutableBufferPointer { ip in
                label.withUnsafeMutableBufferPointer { lp in
                    set.copyPatch(loc, transform: 0, input: ip.baseAddress!, label: lp.baseAddress!)
                }
            }
            let y0 = Int(loc.y), x0 = Int(loc.x)   // padded input origin = label origin in the image
            for r in 0..<16 {
                for c in 0..<16 {
                    let sy = min(max(y0 + r - 4, 0), 49), sx = min(max(x0 + c - 4, 0), 60)
                    #expect(input[r * 16 + c] == compressed[0, sy, sx])
                }
            }
            for r in 0..<8 {
                for c in 0..<8 {
                    #expect(label[r * 8 + c] == gt[0, y0 + r, x0 + c])
                    covered[(y0 + r) * 61 + x0 + c] = true
                }
            }
        }
        #expect(covered.allSatisfy { $0 })
    }

    @Test func bordersAreARunSetting() throws {
        let on = try JSONDecoder().decode(TrainingConfig.self, from: Data(#"{"model": "arcnn", "quality": 20, "scale": 1, "borders": true}"#.utf8))
        var off = on
        off.borders = false
        #expect(on.borders && on.resumeMismatch(with: off) == "borders off vs on")
        #expect(try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(on)) == on)
    }

    @Test func labelIsTheCentreOfTheGroundTruth() throws {
        let gt = syntheticY(width: 60, height: 60, seed: 3)
        let geometry = PatchGeometry(upscaledInput: true, inputSize: 21, stride: 10, radius: 4, networkScale: 1)
        let set = try TrainingSet(groundTruthY: [gt], degradation: .bicubic(scale: 2), geometry: geometry)
        let loc = set.patches[1]
        var input = [Float](repeating: 0, count: 21 * 21), label = [Float](repeating: 0, count: 13 * 13)
        input.withUnsafeMutableBufferPointer { ip in
            label.withUnsafeMutableBufferPointer { lp in
                set.copyPatch(loc, transform: 0, input: ip.baseAddress!, label: lp.baseAddress!)
            }
        }
        #expect(label[0] == gt[0, Int(loc.y) + 4, Int(loc.x) + 4])
        #expect(label[12 * 13 + 12] == gt[0, Int(loc.y) + 16, Int(loc.x) + 16])
    }

    @Test func dihedralTransformsAreTheEightSymmetries() {
        let src: [Float] = [1, 2, 3, 4]  // [[1,2],[3,4]]
        var seen = Set<[Float]>()
        for t in 0..<8 {
            var out = [Float](repeating: 0, count: 4)
            src.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    Dihedral.copy(from: s.baseAddress!, rowStride: 2, size: 2, transform: t, to: o.baseAddress!)
                }
            }
            seen.insert(out)
        }
        #expect(seen.count == 8)
    }

    @Test func samplerIsAPermutationPerEpochAndDeterministic() {
        var a = BatchSampler(seed: 9, patchCount: 10, batchSize: 5, dihedral: true)
        var b = BatchSampler(seed: 9, patchCount: 10, batchSize: 5, dihedral: true)
        let epoch0 = (a.batch(step: 0) + a.batch(step: 1)).map(\.patch)
        #expect(Set(epoch0) == Set(0..<10))
        #expect(epoch0 == (b.batch(step: 0) + b.batch(step: 1)).map(\.patch))
        // Random access gives the same batch as sequential access.
        var c = BatchSampler(seed: 9, patchCount: 10, batchSize: 5, dihedral: true)
        #expect(c.batch(step: 3).map(\.patch) == { var d = b; _ = d.batch(step: 2); return d.batch(step: 3).map(\.patch) }())
    }
}

@Suite struct TrainerTests {
    static func config(_ folder: URL, steps: Int) -> TrainingConfig {
        var c = TrainingConfig()
        c.model = "srcnn-9-1-5"
        c.scale = 2
        c.batchSize = 4
        c.steps = steps
        c.patchSize = 19
        c.patchStride = 9
        c.threads = 2
        c.seed = 42
        c.logEvery = 2
        c.validateEvery = 4
        c.checkpointEvery = 3
        c.outputFolder = folder.path
        return c
    }

    static func data(_ c: TrainingConfig) throws -> (TrainingSet, [ValidationSample]) {
        let arch = Architecture(familyName: c.model, scale: c.scale)!
        let set = try TrainingSet(groundTruthY: (0..<3).map { syntheticY(width: 48, height: 40, seed: $0) },
                                    degradation: .bicubic(scale: c.scale), geometry: Trainer.patchGeometry(c, architecture: arch),
                                    augmentation: Augmentation(scales: [1, 0.8], dihedral: true))
        let validation = [ValidationSample.superResolution(SRProtocol.prepare(groundTruth: syntheticY(width: 30, height: 24, seed: 9), scale: c.scale))]
        return (set, validation)
    }

    static func train(_ folder: URL, steps: Int, stopAt: Int? = nil, resume: Bool = false, ema: Double? = nil) throws -> Trainer {
        var c = config(folder, steps: steps)
        c.ema = ema
        let (set, validation) = try data(c)
        let t = try Trainer(config: c, dataset: set, validation: validation)
        try t.run(resume: resume, stopAt: stopAt) { _ in }
        return t
    }

    @Test func sameSeedGivesIdenticalWeights() throws {
        let f1 = try temporaryFolder("det1"), f2 = try temporaryFolder("det2")
        defer { try? FileManager.default.removeItem(at: f1); try? FileManager.default.removeItem(at: f2) }
        let a = try Self.train(f1, steps: 6), b = try Self.train(f2, steps: 6)
        #expect(a.step == 6)
        #expect(a.namedParameters.map(\.tensor) == b.namedParameters.map(\.tensor))
        // Training moved the weights away from the initialisation.
        let initial = Architecture(familyName: "srcnn-9-1-5", scale: 2)!.makeNetwork(seed: 42).parameters
        #expect(a.namedParameters.map(\.tensor) != initial)
    }

    @Test func resumeEqualsUninterruptedRun() throws {
        let f1 = try temporaryFolder("full"), f2 = try temporaryFolder("resumed")
        defer { try? FileManager.default.removeItem(at: f1); try? FileManager.default.removeItem(at: f2) }
        let full = try Self.train(f1, steps: 9)
        _ = try Self.train(f2, steps: 9, stopAt: 5)  // a session that stopped at step 5
        let resumed = try Self.train(f2, steps: 9, resume: true)
        #expect(resumed.step == 9)
        #expect(resumed.namedParameters.map(\.tensor) == full.namedParameters.map(\.tensor))
        func loggedSteps(_ f: URL) throws -> [String] {
            let log = try String(contentsOf: f.appendingPathComponent("log.csv"), encoding: .utf8)
            return log.split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[0]) }
        }
        #expect(try loggedSteps(f2) == ["0", "2", "4", "6", "8", "9"])
        #expect(try loggedSteps(f1) == loggedSteps(f2))
        // The best model is a normal model file with its training record.
        let best = try Model.read(contentsOf: f2.appendingPathComponent("best.safetensors"))
        #expect(best.info.name == "srcnn-9-1-5-x2")
        #expect(best.info.training?.backprops ?? 0 > 0)
    }

    @Test func aStopRequestCheckpointsWhereTheRunIs() throws {
        let f1 = try temporaryFolder("stop-full"), f2 = try temporaryFolder("stopped")
        defer { try? FileManager.default.removeItem(at: f1); try? FileManager.default.removeItem(at: f2) }
        let full = try Self.train(f1, steps: 9)
        // Asked after every step; the fourth answer is yes (checkpoints come every 3 steps, so
        // the one at step 4 is the stop's own).
        let c = Self.config(f2, steps: 9)
        let (set, validation) = try Self.data(c)
        let stopped = try Trainer(config: c, dataset: set, validation: validation)
        var asked = 0, stopLines: [String] = [], resumeLines: [String] = []
        let stoppedFinished = try stopped.run(resume: false, shouldStop: { asked += 1; return asked == 4 }) { stopLines.append($0) }
        #expect(!stoppedFinished && stopped.step == 4)
        #expect(stopLines.last == "stopped at step 4 of 9, checkpoint saved: continue with `enhance train --resume -o \(f2.path)`")
        let t = try Trainer(config: c, dataset: set, validation: validation)
        let finished = try t.run(resume: true) { resumeLines.append($0) }
        #expect(resumeLines.first?.hasPrefix("resumed at step 4 ") == true)
        #expect(finished && t.step == 9)
        #expect(t.namedParameters.map(\.tensor) == full.namedParameters.map(\.tensor))
        // Not asked once the run is complete.
        let again = try Trainer(config: c, dataset: set, validation: validation)
        #expect(try again.run(resume: true, shouldStop: { Issue.record("asked after the last step"); return true }) { _ in })
    }

    @Test func movingAverageFollowsItsDefinition() throws {
        let folder = try temporaryFolder("ema")
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = Self.config(folder, steps: 4)
        c.ema = 0.75
        let (set, validation) = try Self.data(c)
        let t = try Trainer(config: c, dataset: set, validation: validation)
        // average_0 = the initial weights; average_k = 0.75 · average_(k−1) + 0.25 · weights_k.
        var expected = t.namedParameters.map(\.tensor)
        #expect(t.averagedParameters == expected)
        for _ in 0..<4 {
            t.trainStep()
            let weights = t.namedParameters.map(\.tensor)
            for i in expected.indices {
                for j in expected[i].storage.indices {
                    expected[i].storage[j] = 0.75 * expected[i].storage[j] + (1 - 0.75) * weights[i].storage[j]
                }
            }
            #expect(t.averagedParameters == expected)
            #expect(weights != expected)
        }
        // The model the run validates and saves is the average; `raw` gives the weights.
        #expect(t.currentModel(validationPSNR: 0).network.parameters == expected)
        #expect(t.currentModel(validationPSNR: 0, raw: true).network.parameters == t.namedParameters.map(\.tensor))
        #expect(t.currentModel(validationPSNR: 0).info.training?.notes.hasSuffix(", weights: moving average with decay 0.75") == true)
        #expect(t.validate() != t.validate(raw: true))
    }

    @Test func resumeKeepsTheMovingAverage() throws {
        let f1 = try temporaryFolder("ema-full"), f2 = try temporaryFolder("ema-resumed")
        defer { try? FileManager.default.removeItem(at: f1); try? FileManager.default.removeItem(at: f2) }
        let full = try Self.train(f1, steps: 9, ema: 0.9)
        _ = try Self.train(f2, steps: 9, stopAt: 5, ema: 0.9)
        let resumed = try Self.train(f2, steps: 9, resume: true, ema: 0.9)
        #expect(resumed.averagedParameters != nil)
        #expect(resumed.averagedParameters == full.averagedParameters)
        #expect(resumed.namedParameters.map(\.tensor) == full.namedParameters.map(\.tensor))
        // Resuming with another decay (or none) is refused.
        let error = #expect(throws: TrainingError.self) { _ = try Self.train(f2, steps: 12, resume: true) }
        #expect(error?.message == "\(f2.path)/checkpoint.safetensors: checkpoint was made with different settings (weight average 0.9 vs none)")
    }

    /// Each run started from a model file keeps that file's history in its record: a chain of
    /// three runs reads back, from the third's weight file, as the three runs in order.
    @Test func trainingRecordCarriesTheHistoryOfItsInitWeights() throws {
        let folder = try temporaryFolder("history")
        defer { try? FileManager.default.removeItem(at: folder) }
        var records: [TrainingRecord] = []
        var previous: URL?
        for (i, steps) in [4, 3, 2].enumerated() {
            var c = Self.config(folder.appendingPathComponent("run\(i)"), steps: steps)
            c.initFrom = previous?.path
            let (set, validation) = try Self.data(c)
            let t = try Trainer(config: c, command: "run \(i)", dataset: set, validation: validation)
            try t.run(resume: false, stopAt: nil) { _ in }
            let file = folder.appendingPathComponent("model\(i).safetensors")
            try t.currentModel(validationPSNR: Double(30 + i)).write(to: file)
            let record = try #require(try Model.read(contentsOf: file).info.training)
            #expect(record.earlier == records)
            #expect(record.earlier.allSatisfy { $0.earlier.isEmpty })
            records = record.history
            previous = file
        }
        #expect(records.map(\.command) == ["run 0", "run 1", "run 2"])
        #expect(records.map(\.steps) == [4, 3, 2])
        #expect(records.map(\.validationPSNR) == [30, 31, 32])
        let last = try #require(try Model.read(contentsOf: previous!).info.training)
        #expect(last.totalBackprops == (4 + 3 + 2) * 4)
        #expect(last.totalWallSeconds == records.reduce(0) { $0 + $1.wallSeconds })
    }

    /// A chain of 40 runs, each keeping its start's history as the trainer does, never carries more
    /// than `historyLimit` records: the first run, one summary of the middle, and the newest 14,
    /// with the totals of all 40. The summary survives JSON and is folded again as the chain grows.
    @Test func longHistoriesFoldTheirMiddleIntoOneRecord() throws {
        func run(_ i: Int) -> TrainingRecord {
            TrainingRecord(command: "run \(i)", data: "data \(i)", steps: i + 1, backprops: 4 * (i + 1),
                           wallSeconds: Double(i) / 4, validationPSNR: 30 + Double(i) / 100, validationSet: "LIVE1",
                           notes: "notes \(i)")
        }
        var earlier: [TrainingRecord] = []
        for i in 0 ..< 40 {
            var record = run(i)
            record.earlier = earlier
            let json = try JSONEncoder().encode(record)
            record = try JSONDecoder().decode(TrainingRecord.self, from: json)
            earlier = record.history
            #expect(earlier.count == min(i + 1, TrainingRecord.historyLimit))
            #expect(earlier.reduce(0) { $0 + $1.runs } == i + 1)
            #expect(record.totalBackprops == 2 * (i + 1) * (i + 2))
            #expect(record.totalWallSeconds == Double(i * (i + 1)) / 8)
            #expect(earlier.first == run(0))
            #expect(earlier.suffix(min(i + 1, 14)) == (max(0, i - 13) ... i).map(run)[...])
        }
        #expect(TrainingRecord.historyLimit == 16)
        // after run 39: run 0, runs 1 … 25 folded, runs 26 … 39
        let summary = earlier[1]
        #expect(summary.runs == 25)
        #expect(summary.command == "run 1")
        #expect(summary.data == "data 1")
        #expect(summary.steps == (2 ... 26).reduce(0, +))
        #expect(summary.validationPSNR == run(25).validationPSNR)
        #expect(summary.notes == "first: notes 1 | last: run 25 (notes 25)")
        let json = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
        #expect(json.contains(#""runs":25"#))
    }

    /// Weight files written before records carried `earlier` read with an empty history, and a
    /// record without one is written without the key.
    @Test func trainingRecordWithoutHistoryKeepsItsJSON() throws {
        let old = #"{"command":"c","data":"d","steps":1,"backprops":2,"wallSeconds":3,"validationPSNR":4,"validationSet":"v","notes":"n"}"#
        let record = try JSONDecoder().decode(TrainingRecord.self, from: Data(old.utf8))
        #expect(record == TrainingRecord(command: "c", data: "d", steps: 1, backprops: 2, wallSeconds: 3,
                                         validationPSNR: 4, validationSet: "v", notes: "n"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(record), as: UTF8.self)
        #expect(!json.contains("earlier"))
        #expect(!json.contains("runs"))
        var chained = record
        chained.earlier = [record]
        #expect(try JSONDecoder().decode(TrainingRecord.self, from: encoder.encode(chained)) == chained)
    }

    /// A run with `reviveDeadUnits` from a model whose units 1 and 5 of the first layer and 3 of
    /// the second can never fire (bias −100).
    static func reviveConfig(_ folder: URL, steps: Int) throws -> TrainingConfig {
        let arch = Architecture(familyName: "srcnn-9-1-5", scale: 2)!
        var network = arch.makeNetwork(seed: 5)
        var p = network.parameters
        p[1].storage[1] = -100; p[1].storage[5] = -100; p[3].storage[3] = -100
        network.parameters = p
        let file = folder.appendingPathComponent("dead.safetensors")
        try Model(info: ModelInfo(name: "srcnn-9-1-5-x2", task: .superResolution, architecture: arch, scale: 2), network: network)
            .write(to: file)
        var c = config(folder.appendingPathComponent("run"), steps: steps)
        c.initFrom = file.path
        c.reviveDeadUnits = true
        c.ema = 0.9
        return c
    }

    @Test func deadUnitsAreRevivedWithoutChangingTheOutput() throws {
        let folder = try temporaryFolder("revive")
        defer { try? FileManager.default.removeItem(at: folder) }
        let c = try Self.reviveConfig(folder, steps: 9)
        let (set, validation) = try Self.data(c)
        let t = try Trainer(config: c, dataset: set, validation: validation)
        let dead = t.unitActivity().map(\.deadUnits)
        #expect(dead.count == 2 && Set([1, 5]).isSubset(of: dead[0]) && dead[1].contains(3))
        let before = t.validate()
        let line = t.reviveDeadUnits()
        let count = dead[0].count + dead[1].count
        #expect(line == "step 0  revived \(count) dead units (layer 0: \(dead[0].count) of 64, layer 2: \(dead[1].count) of 32)")
        #expect(t.revivedUnits == count)
        #expect(t.validate() == before)
        #expect(t.unitActivity().allSatisfy { $0.deadUnits.isEmpty })
        #expect(t.reviveDeadUnits() == nil)
        // The average holds the revived weights too (it would otherwise blend in the dead ones).
        #expect(t.averagedParameters == t.namedParameters.map(\.tensor))
        #expect(t.currentModel(validationPSNR: 0).info.training?.notes.hasSuffix(", dead ReLU units revived (\(count) in all)") == true)
    }

    @Test func resumeRevivesAsTheUninterruptedRun() throws {
        let f1 = try temporaryFolder("revive-full"), f2 = try temporaryFolder("revive-resumed")
        defer { try? FileManager.default.removeItem(at: f1); try? FileManager.default.removeItem(at: f2) }
        func run(_ folder: URL, stopAt: Int? = nil, resume: Bool = false) throws -> (Trainer, [String]) {
            let c = try Self.reviveConfig(folder, steps: 9)
            let (set, validation) = try Self.data(c)
            let t = try Trainer(config: c, dataset: set, validation: validation)
            var lines: [String] = []
            try t.run(resume: resume, stopAt: stopAt) { lines.append($0) }
            return (t, lines.filter { $0.contains("revived") })
        }
        let (full, fullLines) = try run(f1)
        _ = try run(f2, stopAt: 5)
        let (resumed, _) = try run(f2, resume: true)
        #expect(fullLines.first?.hasPrefix("step 0  revived ") == true)
        #expect(resumed.namedParameters.map(\.tensor) == full.namedParameters.map(\.tensor))
        #expect(resumed.averagedParameters == full.averagedParameters)
        #expect(resumed.revivedUnits == full.revivedUnits && full.revivedUnits >= 3)
        // Resuming without reviving is another run.
        var off = try Self.reviveConfig(f2, steps: 12)
        off.reviveDeadUnits = false
        let (set, validation) = try Self.data(off)
        let error = #expect(throws: TrainingError.self) { try Trainer(config: off, dataset: set, validation: validation).run(resume: true) { _ in } }
        #expect(error?.message == "\(f2.path)/run/checkpoint.safetensors: checkpoint was made with different settings (reviving dead units on vs off)")
    }

    @Test func refusesCorruptOrMismatchedCheckpoints() throws {
        let folder = try temporaryFolder("corrupt")
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try Self.train(folder, steps: 3)
        // Starting again over an existing run without --resume is refused.
        #expect(throws: TrainingError("\(folder.path)/checkpoint.safetensors exists: pass --resume to continue that run, or choose another --output")) {
            _ = try Self.train(folder, steps: 3)
        }
        // A different architecture.
        var other = Self.config(folder, steps: 6)
        other.model = "srcnn-9-5-5"
        other.patchSize = 21
        let (set, validation) = try Self.data(other)
        let mismatched = try Trainer(config: other, dataset: set, validation: validation)
        #expect(throws: TrainingError("\(folder.path)/checkpoint.safetensors: checkpoint was made with different settings (model srcnn-9-1-5 vs srcnn-9-5-5, patch geometry differs)")) {
            try mismatched.run(resume: true) { _ in }
        }
        // A damaged file.
        let checkpoint = folder.appendingPathComponent("checkpoint.safetensors")
        var bytes = try Data(contentsOf: checkpoint)
        bytes = bytes.prefix(bytes.count / 2)
        try bytes.write(to: checkpoint)
        let error = #expect(throws: TrainingError.self) { _ = try Self.train(folder, steps: 6, resume: true) }
        #expect(error?.message.hasPrefix("\(checkpoint.path): corrupt checkpoint") == true)
    }
}

@Suite struct TransferTests {
    /// Shallow to deep (AR-CNN): the 4-layer 9-7-1-5 network takes the 3-layer 9-7-5 network's
    /// first two layers (same names and shapes); its 16→1 reconstruction cannot take the 32→1 one.
    @Test func shallowToDeepCopiesMatchingLayers() {
        let shallow = Architecture(familyName: "srcnn-9-7-5", scale: 1)!.makeNetwork(seed: 1)
        var deep = Architecture(familyName: "arcnn", scale: 1)!.makeNetwork(seed: 2)
        let fresh = Dictionary(uniqueKeysWithValues: deep.namedParameters.map { ($0.name, $0.tensor) })
        #expect(Trainer.initialize(&deep, from: shallow, map: [:]) == ["0.weight", "0.bias", "2.weight", "2.bias"])
        let after = Dictionary(uniqueKeysWithValues: deep.namedParameters.map { ($0.name, $0.tensor) })
        let base = Dictionary(uniqueKeysWithValues: shallow.namedParameters.map { ($0.name, $0.tensor) })
        #expect(after["0.weight"] == base["0.weight"] && after["2.bias"] == base["2.bias"])
        #expect(after["4.weight"] == fresh["4.weight"] && after["6.weight"] == fresh["6.weight"])
    }

    /// A prefix map renames layers: a 9-7-1-5 net with a 32-channel third layer takes the shallow
    /// net's reconstruction layer (4) as its own (6).
    @Test func initMapRenamesLayers() {
        let shallow = Architecture(familyName: "srcnn-9-7-5", scale: 1)!.makeNetwork(seed: 1)
        var deep = Architecture.arcnn(f1: 9, f2: 7, f3: 1, f4: 5, n1: 64, n2: 32, n3: 32).makeNetwork(seed: 2)
        let copied = Trainer.initialize(&deep, from: shallow, map: ["6": "4"])
        #expect(copied == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"])
        let after = Dictionary(uniqueKeysWithValues: deep.namedParameters.map { ($0.name, $0.tensor) })
        #expect(after["6.weight"] == shallow.namedParameters.first { $0.name == "4.weight" }?.tensor)
    }

    /// `extrapolateFrom`: the run starts one step further along the line from the earlier
    /// weights to the init weights (`init + A·(init − earlier)`), validates that start at step 0
    /// and keeps it as `best.safetensors` until a later validation beats it (and as
    /// `start.safetensors` for good).
    @Test func extrapolationContinuesTheStepFromTheEarlierWeights() throws {
        let folder = try temporaryFolder("extrapolate")
        defer { try? FileManager.default.removeItem(at: folder) }
        let arch = Architecture(familyName: "srcnn-9-1-5", scale: 2)!
        let info = ModelInfo(name: "srcnn-9-1-5-x2", task: .superResolution, architecture: arch, scale: 2)
        let ended = arch.makeNetwork(seed: 1)
        var started = arch.makeNetwork(seed: 2)
        started.parameters = started.parameters.map { var t = $0; if t.shape.count == 1 { t.storage = t.storage.map { $0 + 0.01 } }; return t }
        let endFile = folder.appendingPathComponent("end.safetensors"), startFile = folder.appendingPathComponent("start.safetensors")
        try Model(info: info, network: ended).write(to: endFile)
        try Model(info: info, network: started).write(to: startFile)
        var c = TrainerTests.config(folder.appendingPathComponent("run"), steps: 3)
        c.initFrom = endFile.path
        c.extrapolateFrom = startFile.path
        c.extrapolation = 0.5
        let (set, validation) = try TrainerTests.data(c)
        let t = try Trainer(config: c, dataset: set, validation: validation)
        for (i, (name, tensor)) in t.namedParameters.enumerated() {
            let a = ended.parameters[i].storage, b = started.parameters[i].storage
            #expect(name == ended.parameterNames[i] && tensor.shape == ended.parameters[i].shape)
            #expect(zip(tensor.storage, zip(a, b)).allSatisfy { abs($0 - ($1.0 + 0.5 * ($1.0 - $1.1))) <= 1e-7 })
            #expect(tensor.storage != a)
        }
        #expect(t.currentModel(validationPSNR: 0).info.training?.notes
            .contains(", fine-tuned from end.safetensors extrapolated 0.5x away from start.safetensors") == true)
        let start = try #require(t.validate())
        var lines: [String] = []
        try t.run(resume: false, stopAt: 0) { lines.append($0) }
        #expect(lines.first?.hasPrefix(String(format: "step 0  validation %.3f dB", start)) == true)
        let best = try Model.read(contentsOf: folder.appendingPathComponent("run/best.safetensors"))
        #expect(best.info.training?.steps == 0 && best.info.training?.validationPSNR == start)
        #expect(best.network.parameters == t.namedParameters.map(\.tensor))
        let kept = try Model.read(contentsOf: folder.appendingPathComponent("run/start.safetensors"))
        #expect(kept.network.parameters == best.network.parameters && kept.info.training?.steps == 0)

        // With no updates at all the run is its start: validated, kept, checkpointed, drawn.
        var none = c
        none.steps = 0
        none.outputFolder = folder.appendingPathComponent("none").path
        let zero = try Trainer(config: none, dataset: set, validation: validation)
        #expect(try zero.run(resume: false) { _ in })
        let kept0 = try Model.read(contentsOf: folder.appendingPathComponent("none/best.safetensors"))
        #expect(kept0.network.parameters == best.network.parameters && kept0.info.training?.validationPSNR == start)
        for file in ["start.safetensors", "checkpoint.safetensors", "curve.svg", "log.csv"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("none/\(file)").path), "\(file)")
        }

        // Without validation the start is still kept.
        none.outputFolder = folder.appendingPathComponent("unvalidated").path
        try Trainer(config: none, dataset: set, validation: []).run(resume: false) { _ in }
        let unvalidated = try Model.read(contentsOf: folder.appendingPathComponent("unvalidated/start.safetensors"))
        #expect(unvalidated.network.parameters == best.network.parameters)
        // Its record holds a NaN PSNR, which the metadata JSON keeps as "nan" (it was once written
        // as empty metadata, an unreadable file).
        #expect(unvalidated.info.training?.validationPSNR.isNaN == true)
        let unvalidatedBest = try Model.read(contentsOf: folder.appendingPathComponent("unvalidated/best.safetensors"))
        #expect(unvalidatedBest.info.training?.validationPSNR.isNaN == true)

        // Another architecture cannot be extrapolated from.
        let other = Architecture(familyName: "srcnn-9-5-5", scale: 2)!
        try Model(info: ModelInfo(name: "srcnn-9-5-5-x2", task: .superResolution, architecture: other, scale: 2),
                  network: other.makeNetwork(seed: 3)).write(to: startFile)
        #expect(throws: TrainingError("\(startFile.path): no tensor '2.weight' of shape [32, 64, 1, 1] to extrapolate from")) {
            _ = try Trainer(config: c, dataset: set, validation: validation)
        }
    }

    @Test func deblockingRunsNeedAQuality() throws {
        var c = TrainingConfig()
        c.model = "arcnn"
        c.scale = 1
        let set = try TrainingSet(groundTruthY: [syntheticY(width: 40, height: 40, seed: 1)], degradation: .jpeg(quality: 20),
                                  geometry: PatchGeometry(upscaledInput: true, inputSize: 32, stride: 8, radius: 9, networkScale: 1))
        #expect(throws: TrainingError("model 'arcnn' removes JPEG artifacts: give the JPEG quality to train for (--quality)")) {
            _ = try Trainer(config: c, dataset: set, validation: [])
        }
        c.quality = 20
        let trainer = try Trainer(config: c, dataset: set, validation: [])
        #expect(trainer.currentModel(validationPSNR: 0).info.task == .deblocking)
        #expect(trainer.currentModel(validationPSNR: 0).info.jpegQuality == 20)
        #expect(trainer.config.modelName == "arcnn-q20")
        // The JPEG pairs: label = 8-bit Y, input = that Y through a quality-20 JPEG.
        #expect(set.pairs[0].input != set.pairs[0].label)
        #expect(set.patchCount == 2 * 2)
    }
}

/// `--loss psnr`: each sub-image's squared error weighted by 1 / its image's input error.
@Suite struct PSNRWeightedLossTests {
    static let arcnnGeometry = PatchGeometry(upscaledInput: true, inputSize: 24, stride: 8, radius: 9, networkScale: 1)

    /// Images of different sizes (so different numbers of sub-images) and different textures.
    static func images() -> [Image] {
        [syntheticY(width: 40, height: 40, seed: 1), syntheticY(width: 48, height: 32, seed: 4), syntheticY(width: 32, height: 32, seed: 6)]
    }

    @Test func weightsAreTheInverseImageErrorsWithMeanOneOverTheSubImages() throws {
        let set = try TrainingSet(groundTruthY: Self.images(), degradation: .jpeg(quality: 10), geometry: Self.arcnnGeometry, threads: 1)
        let weights = try set.psnrWeights()
        let mse = set.pairs.map { p in zip(p.input, p.label).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(p.input.count) }
        // Sub-images per image: 3·3, 2·4, 2·2.
        let counts = set.pairs.indices.map { i in set.patches.filter { $0.pair == i }.count }
        #expect(counts == [9, 8, 4])
        #expect(Set(mse).count == 3, "the test needs images of different errors: \(mse)")
        for i in 1..<3 {
            let ratio = Double(weights[i]) / Double(weights[0])
            #expect(abs(ratio - mse[0] / mse[i]) <= 1e-5 * ratio, "image \(i): weight ratio \(ratio) vs \(mse[0] / mse[i])")
        }
        let mean = zip(weights, counts).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / 21
        #expect(abs(mean - 1) <= 1e-6)
    }

    @Test func refusedWhereInputAndLabelDiffer() throws {
        let lowResolution = PatchGeometry(upscaledInput: false, inputSize: 11, stride: 4, radius: 3, networkScale: 3)
        let set = try TrainingSet(groundTruthY: Self.images(), degradation: .bicubic(scale: 3), geometry: lowResolution, threads: 1)
        #expect(throws: TrainingError("loss psnr needs inputs the size of their labels (arcnn, srcnn); pair 0 is 13x13 → 39x39")) {
            _ = try set.psnrWeights()
        }
        let residual = PatchGeometry(upscaledInput: true, inputSize: 16, stride: 8, radius: 3, networkScale: 1, residualLabel: true)
        let residualSet = try TrainingSet(groundTruthY: Self.images(), degradation: .bicubic(scale: 2), geometry: residual, threads: 1)
        #expect(throws: TrainingError("loss psnr needs labels that are images, not residuals over bicubic")) {
            _ = try residualSet.psnrWeights()
        }
    }

    /// The trainer reports the weights' range and trains differently from plain MSE (same seed,
    /// same batches); weights that are all 1 would not change a bit.
    @Test func trainerWeightsTheLossPerImage() throws {
        func run(_ loss: String) throws -> (Trainer, [String]) {
            let folder = try temporaryFolder("psnr-\(loss)")
            defer { try? FileManager.default.removeItem(at: folder) }
            var c = TrainingConfig()
            c.model = "arcnn"; c.scale = 1; c.quality = 10; c.loss = loss
            c.batchSize = 4; c.steps = 3; c.patchSize = 24; c.patchStride = 8; c.threads = 1; c.seed = 5
            c.logEvery = 1; c.validateEvery = 100; c.checkpointEvery = 100; c.outputFolder = folder.path
            let set = try TrainingSet(groundTruthY: Self.images(), degradation: .jpeg(quality: 10), geometry: Self.arcnnGeometry, threads: 1)
            let trainer = try Trainer(config: c, dataset: set, validation: [])
            var lines: [String] = []
            try trainer.run(resume: false) { lines.append($0) }
            return (trainer, lines)
        }
        let (weighted, lines) = try run("psnr")
        let (plain, plainLines) = try run("mse")
        let w = try weighted.dataset.psnrWeights()
        #expect(lines.first == String(format: "loss psnr: image weights %.3f to %.3f (mean 1 over the sub-images)", w.min()!, w.max()!))
        #expect(!plainLines.contains { $0.hasPrefix("loss psnr") })
        #expect(weighted.namedParameters.map(\.tensor) != plain.namedParameters.map(\.tensor))
    }
}

/// `--optimizer lbfgs`: full-batch L-BFGS iterations on a fixed set of sub-images.
@Suite struct LBFGSTrainingTests {
    static func config(_ folder: URL, steps: Int) -> TrainingConfig {
        var c = TrainingConfig()
        c.model = "arcnn"; c.scale = 1; c.quality = 10; c.optimizer = "lbfgs"; c.learningRate = 1e-3
        c.batchSize = 6; c.steps = steps; c.patchSize = 24; c.patchStride = 8; c.threads = 1; c.seed = 3
        c.logEvery = 1; c.validateEvery = 100; c.checkpointEvery = 2; c.outputFolder = folder.path
        return c
    }

    static func run(_ c: TrainingConfig, stopAt: Int? = nil, resume: Bool = false) throws -> (Trainer, [String]) {
        let set = try TrainingSet(groundTruthY: PSNRWeightedLossTests.images(), degradation: .jpeg(quality: 10),
                                  geometry: PSNRWeightedLossTests.arcnnGeometry, threads: 1)
        let trainer = try Trainer(config: c, dataset: set, validation: [])
        var lines: [String] = []
        try trainer.run(resume: resume, stopAt: stopAt) { lines.append($0) }
        return (trainer, lines)
    }

    /// The loss on the fixed batch falls at every step, and a run stopped and resumed (the
    /// curvature pairs from the checkpoint, the loss and gradient recomputed) ends with the
    /// weights of one that never stopped.
    @Test func lossFallsAndResumeEqualsUninterruptedRun() throws {
        let f1 = try temporaryFolder("lbfgs1"), f2 = try temporaryFolder("lbfgs2")
        defer { try? FileManager.default.removeItem(at: f1); try? FileManager.default.removeItem(at: f2) }
        let (whole, lines) = try Self.run(Self.config(f1, steps: 4))
        let losses = lines.compactMap { line -> Double? in
            guard let r = line.range(of: "fixed batch ") else { return nil }
            return Double(line[r.upperBound...].prefix { $0 != " " })
        }
        #expect(losses.count == 4)
        #expect(zip(losses, losses.dropFirst()).allSatisfy { $0.0 < $0.1 }, "fixed-batch PSNR by step: \(losses)")
        _ = try Self.run(Self.config(f2, steps: 4), stopAt: 2)
        let (resumed, _) = try Self.run(Self.config(f2, steps: 4), resume: true)
        #expect(resumed.step == 4)
        #expect(resumed.namedParameters.map(\.tensor) == whole.namedParameters.map(\.tensor))
    }

    @Test func refusesWhatDoesNotApply() throws {
        let folder = try temporaryFolder("lbfgs-refuse")
        defer { try? FileManager.default.removeItem(at: folder) }
        var c = Self.config(folder, steps: 1)
        c.reviveDeadUnits = true
        #expect(throws: TrainingError("--revive-dead does not apply to --optimizer lbfgs (a revived unit would void its curvature pairs)")) { _ = try Self.run(c) }
        c = Self.config(folder, steps: 1); c.ema = 0.99
        #expect(throws: TrainingError("--ema does not apply to --optimizer lbfgs")) { _ = try Self.run(c) }
        c = Self.config(folder, steps: 1); c.learningRateMultipliers = ["6": 0.1]
        #expect(throws: TrainingError("--lr-mult does not apply to --optimizer lbfgs")) { _ = try Self.run(c) }
        c = Self.config(folder, steps: 1); c.batchSize = 22
        #expect(throws: TrainingError("--optimizer lbfgs evaluates --batch sub-images at every step: 22 is more than the 21 there are")) { _ = try Self.run(c) }
    }
}
