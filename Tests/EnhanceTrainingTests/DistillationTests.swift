import Enhance
import EnhanceImage
import EnhanceMetrics
import EnhanceModels
import EnhanceNN
import EnhanceTraining
import Foundation
import Testing

/// `--teacher`: labels made from a model's output on each whole training input.
@Suite struct DistillationTests {
    static func jpegSet() throws -> TrainingSet {
        try TrainingSet(groundTruthY: PSNRWeightedLossTests.images(), degradation: .jpeg(quality: 10),
                        geometry: PSNRWeightedLossTests.arcnnGeometry, threads: 1)
    }

    /// A deblocking model with random weights (seed 7), written to `folder`.
    static func writeArcnnTeacher(in folder: URL) throws -> (URL, Model) {
        let arch = Architecture.arcnn(f1: 9, f2: 7, f3: 1, f4: 5, n1: 64, n2: 32, n3: 16)
        let model = Model(info: ModelInfo(name: "teacher-q10", task: .deblocking, architecture: arch, scale: 1, jpegQuality: 10),
                          network: arch.makeNetwork(seed: 7))
        let url = folder.appendingPathComponent("teacher.safetensors")
        try model.write(to: url)
        return (url, model)
    }

    static func config(_ folder: URL, teacher: URL?) -> TrainingConfig {
        var c = TrainingConfig()
        c.model = "arcnn"; c.scale = 1; c.quality = 10
        c.batchSize = 4; c.steps = 1; c.patchSize = 24; c.patchStride = 8; c.threads = 1; c.seed = 5
        c.logEvery = 1; c.validateEvery = 100; c.checkpointEvery = 100; c.outputFolder = folder.path
        c.teacher = teacher?.path
        return c
    }

    @Test func labelsBlendTheTeacherWithTheGroundTruth() throws {
        let plain = try Self.jpegSet()
        var blended = plain
        // A "teacher" that returns the JPEG itself: label = 0.25 · input + 0.75 · truth.
        try blended.blendLabels(weight: 0.25) { $0.input }
        #expect(blended.patches == plain.patches)
        for (p, q) in zip(plain.pairs, blended.pairs) {
            #expect(q.input == p.input)
            let expected = zip(p.input, p.label).map { 0.25 * $0.0 + 0.75 * $0.1 }
            #expect(zip(q.label, expected).allSatisfy { abs($0.0 - $0.1) <= 1e-7 })
            #expect(q.label != p.label)
        }
    }

    @Test func refusedForSuperResolutionAndWrongSizes() throws {
        let srcnn = PatchGeometry(upscaledInput: true, inputSize: 16, stride: 8, radius: 6, networkScale: 1)
        var sr = try TrainingSet(groundTruthY: PSNRWeightedLossTests.images(), degradation: .bicubic(scale: 3), geometry: srcnn, threads: 1)
        #expect(throws: TrainingError("--teacher needs labels the size of their inputs (arcnn, fast-arcnn), not a super-resolution run")) {
            try sr.blendLabels(weight: 1) { $0.input }
        }
        var set = try Self.jpegSet()
        #expect(throws: TrainingError("--teacher gave 3 pixels for training image 0, which has 1600")) {
            try set.blendLabels(weight: 1) { _ in [0, 0, 0] }
        }
    }

    /// The trainer's labels are the teacher's output on each whole JPEG input (over the 8
    /// flips/rotations with `teacherTTA`), and its record says so.
    @Test func trainerLabelsAreTheTeachersOutput() throws {
        let folder = try temporaryFolder("distil")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (url, teacher) = try Self.writeArcnnTeacher(in: folder)
        let inference = PlaneInference(model: teacher, context: .serial)
        for tta in [false, true] {
            var c = Self.config(folder, teacher: url)
            c.teacherTTA = tta
            let trainer = try Trainer(config: c, dataset: try Self.jpegSet(), validation: [])
            for p in trainer.dataset.pairs {
                #expect(p.label == inference.run(p.input, width: p.inputWidth, height: p.inputHeight, tta: tta))
            }
            let truth = try Self.jpegSet().pairs
            let teacherPSNR = zip(trainer.dataset.pairs, truth).map { Metrics.psnr($0.0.label, $0.1.label, peak: 1) }.reduce(0, +) / 3
            let inputPSNR = truth.map { Metrics.psnr($0.input, $0.label, peak: 1) }.reduce(0, +) / 3
            #expect(trainer.teacherReport == String(format: "teacher %.3f dB over the training images (their JPEG %.3f dB)", teacherPSNR, inputPSNR))
            let notes = trainer.currentModel(validationPSNR: .nan).info.training!.notes
            #expect(notes.hasSuffix(", labels 1.0 × the output of teacher.safetensors\(tta ? " over the 8 flips/rotations" : "") (distillation)"))
        }
        let plain = try Trainer(config: Self.config(folder, teacher: nil), dataset: try Self.jpegSet(), validation: [])
        #expect(plain.teacherReport == nil)
        #expect(zip(plain.dataset.pairs, try Self.jpegSet().pairs).allSatisfy { $0.0.label == $0.1.label })
    }

    @Test func trainerRefusesASuperResolutionTeacher() throws {
        let folder = try temporaryFolder("distil-sr")
        defer { try? FileManager.default.removeItem(at: folder) }
        let arch = Architecture.fsrcnn(d: 8, s: 4, m: 1, scale: 2)
        let url = folder.appendingPathComponent("fsrcnn.safetensors")
        try Model(info: ModelInfo(name: "fsrcnn-x2", task: .superResolution, architecture: arch, scale: 2), network: arch.makeNetwork()).write(to: url)
        let c = Self.config(folder, teacher: url)
        #expect(throws: TrainingError("--teacher: \(url.path) is a super-resolution model and this run removes JPEG artifacts; distillation needs a deblocking teacher for a deblocking run")) {
            _ = try Trainer(config: c, dataset: try Self.jpegSet(), validation: [])
        }
        var zero = c
        zero.teacherWeight = 0
        #expect(throws: TrainingError("--teacher-weight must be in (0, 1], got 0.0")) {
            _ = try Trainer(config: zero, dataset: try Self.jpegSet(), validation: [])
        }
    }

    @Test func aResumeKeepsTheTeacher() throws {
        var a = TrainingConfig(), b = TrainingConfig()
        a.teacher = "/somewhere/arcnn-q10.safetensors"
        #expect(a.resumeMismatch(with: b) == "teacher none vs arcnn-q10.safetensors at 1.0")
        b.teacher = "/elsewhere/arcnn-q10.safetensors"
        #expect(a.resumeMismatch(with: b) == nil)
        b.teacherTTA = true
        #expect(a.resumeMismatch(with: b) == "teacher arcnn-q10.safetensors+tta at 1.0 vs arcnn-q10.safetensors at 1.0")
        // Round trip through the checkpoint's JSON.
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(b))
        #expect(decoded == b)
    }
}
