import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceTraining
import Foundation
import Testing

/// A busy RGB image on the 8-bit grid, different per seed.
func syntheticRGB(width: Int, height: Int, seed: Int) -> Image {
    var img = Image(width: width, height: height, colorModel: .rgb)
    for y in 0..<height {
        for x in 0..<width {
            img[0, y, x] = Float(0.5 + 0.4 * sin(Double(x + seed) / 3 + Double(y) / 7))
            img[1, y, x] = (x / 4 + y / 4 + seed) % 2 == 0 ? 0.8 : 0.2
            img[2, y, x] = Float((x * y + 13 * seed) % 89) / 89
        }
    }
    return img.quantized8()
}

/// Training on the social (re-compressed) degradation: AR-CNN's "standard to real use" transfer.
@Suite struct SocialTrainingTests {
    static let sizes = [(64, 60), (50, 41), (30, 30), (100, 40)]

    static func folder() throws -> URL {
        let folder = try temporaryFolder("social")
        for (i, (w, h)) in sizes.enumerated() {
            try ImageIO.write(syntheticRGB(width: w, height: h, seed: i), to: folder.appendingPathComponent("img\(i).png"))
        }
        return folder
    }

    /// The documented count: each image (after augmentation scale f: `ceil(f · side)`) becomes
    /// `ceil(0.75 · side)` per side, then Σ ⌊(H − size)/stride + 1⌋ · ⌊(W − size)/stride + 1⌋.
    static func expectedPatches(scales: [Double], size: Int, stride: Int) -> Int {
        func ceilScaled(_ side: Int, _ f: Double) -> Int { Int((f * Double(side)).rounded(.up)) }
        var total = 0
        for (w, h) in sizes {
            for f in scales {
                let ws = ceilScaled(ceilScaled(w, f), DeblockProtocol.socialScale)
                let hs = ceilScaled(ceilScaled(h, f), DeblockProtocol.socialScale)
                guard ws >= size, hs >= size else { continue }
                total += ((hs - size) / stride + 1) * ((ws - size) / stride + 1)
            }
        }
        return total
    }

    @Test func patchCountOfASyntheticFolder() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let geometry = PatchGeometry(upscaledInput: true, inputSize: 16, stride: 8, radius: 3, networkScale: 1)
        let set = try TrainingSet(folders: [folder], degradation: .social(quality: 20), geometry: geometry, threads: 2)
        // 48x45, 38x31, 23x23, 75x30: 5·4 + 3·2 + 1·1 + 8·2 = 43
        #expect(Self.expectedPatches(scales: [1], size: 16, stride: 8) == 43)
        #expect(set.patchCount == 43)
        #expect(set.pairs.map(\.inputWidth) == [48, 38, 23, 75] && set.pairs.map(\.inputHeight) == [45, 31, 23, 30])

        let augmented = try TrainingSet(folders: [folder], degradation: .social(quality: 20), geometry: geometry,
                                        augmentation: Augmentation(scales: [1, 0.8], dihedral: true), threads: 2)
        #expect(augmented.patchCount == Self.expectedPatches(scales: [1, 0.8], size: 16, stride: 8))
        #expect(augmented.pairs.count == 8)
    }

    /// Pairs are exactly the evaluation's samples, from files or memory, whatever the thread count.
    @Test func pairsAreTheProtocolSamples() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let geometry = PatchGeometry(upscaledInput: true, inputSize: 16, stride: 8, radius: 3, networkScale: 1)
        let fromFiles = try TrainingSet(folders: [folder], degradation: .social(quality: 30), geometry: geometry,
                                        augmentation: Augmentation(scales: [1, 0.8]), threads: 2)
        let images = Self.sizes.enumerated().map { syntheticRGB(width: $1.0, height: $1.1, seed: $0) }
        let inMemory = try TrainingSet(groundTruth: images, degradation: .social(quality: 30), geometry: geometry,
                                       augmentation: Augmentation(scales: [1, 0.8]), threads: 1)
        #expect(fromFiles.pairs.map(\.input) == inMemory.pairs.map(\.input))
        #expect(fromFiles.pairs.map(\.label) == inMemory.pairs.map(\.label))
        #expect(fromFiles.patches == inMemory.patches)
        // Pair 2 is image 1 at scale 1.
        let sample = try DeblockProtocol.prepareSocial(groundTruth: images[1], quality: 30)
        #expect(fromFiles.pairs[2].input == sample.compressedY.pixels)
        #expect(fromFiles.pairs[2].label == sample.groundTruthY.pixels)
        #expect(fromFiles.pairs[2].input != fromFiles.pairs[2].label)
        // Pair 3 is image 1 down-scaled by 0.8 first.
        let scaled = try DeblockProtocol.prepareSocial(groundTruth: images[1].resized(scale: 0.8, method: .bicubic), quality: 30)
        #expect(fromFiles.pairs[3].label == scaled.groundTruthY.pixels)
        // The standard degradation of the same images differs.
        let standard = try TrainingSet(groundTruth: images, degradation: .jpeg(quality: 30), geometry: geometry, threads: 1)
        #expect(standard.pairs[1].inputWidth == 50 && standard.pairs[1].input != fromFiles.pairs[2].input)
    }

    /// `.color`: full-size pairs, Y of the colour JPEG against Y of the original (`prepareColor`).
    @Test func colourPairsAreTheProtocolSamples() throws {
        let images = Self.sizes.enumerated().map { syntheticRGB(width: $1.0, height: $1.1, seed: $0) }
        let geometry = PatchGeometry(upscaledInput: true, inputSize: 16, stride: 8, radius: 3, networkScale: 1)
        let set = try TrainingSet(groundTruth: images, degradation: .color(quality: 20), geometry: geometry, threads: 2)
        #expect(set.pairs.map(\.inputWidth) == Self.sizes.map(\.0) && set.pairs.map(\.inputHeight) == Self.sizes.map(\.1))
        for (i, image) in images.enumerated() {
            let sample = try DeblockProtocol.prepareColor(groundTruth: image, quality: 20)
            #expect(set.pairs[i].input == sample.compressedY.pixels && set.pairs[i].label == sample.groundTruthY.pixels)
        }
        let c = try JSONDecoder().decode(TrainingConfig.self, from: Data(#"{"model": "arcnn", "quality": 20, "scale": 1, "degradation": "color"}"#.utf8))
        #expect(c.inputDegradation == .color(quality: 20) && c.modelName == "arcnn-color-q20")
    }

    @Test func configCarriesTheDegradation() throws {
        let c = try JSONDecoder().decode(TrainingConfig.self, from: Data(#"{"model": "arcnn", "quality": 20, "scale": 1, "degradation": "social"}"#.utf8))
        #expect(c.degradation == .social)
        #expect(c.inputDegradation == .social(quality: 20))
        #expect(c.modelName == "arcnn-social-q20")
        let plain = try JSONDecoder().decode(TrainingConfig.self, from: Data(#"{"model": "arcnn", "quality": 20, "scale": 1}"#.utf8))
        #expect(plain.degradation == .standard && plain.inputDegradation == .jpeg(quality: 20) && plain.modelName == "arcnn-q20")
        #expect(c.resumeMismatch(with: plain) == "degradation standard vs social")
        // Saved with the field, read back equal.
        #expect(try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(c)) == c)
        do {
            _ = try JSONDecoder().decode(TrainingConfig.self, from: Data(#"{"degradation": "twitter"}"#.utf8))
            Issue.record("an unknown degradation was accepted")
        } catch DecodingError.dataCorrupted(let context) {
            #expect(context.debugDescription == "unknown degradation 'twitter'; use standard, social or color")
            #expect(context.codingPath.map(\.stringValue) == ["degradation"])
        }
    }

    static func config(_ output: URL, degradation: DeblockDegradation) -> TrainingConfig {
        var c = TrainingConfig()
        c.model = "arcnn"
        c.scale = 1
        c.quality = 20
        c.degradation = degradation
        c.batchSize = 2
        c.steps = 2
        c.patchSize = 24
        c.patchStride = 12
        c.threads = 1
        c.augment = false
        c.logEvery = 1
        c.validateEvery = 2
        c.checkpointEvery = 1
        c.outputFolder = output.path
        return c
    }

    @Test func runsRecordTheDegradationAndResumeRefusesAnother() throws {
        let output = try temporaryFolder("social-run")
        defer { try? FileManager.default.removeItem(at: output) }
        let images = Self.sizes.enumerated().map { syntheticRGB(width: $1.0, height: $1.1, seed: $0) }
        let c = Self.config(output, degradation: .social)
        let arch = Architecture(familyName: "arcnn", scale: 1)!
        let set = try TrainingSet(groundTruth: images, degradation: c.inputDegradation,
                                  geometry: Trainer.patchGeometry(c, architecture: arch), threads: 1)
        let validation = [ValidationSample.deblocking(try DeblockProtocol.prepareSocial(groundTruth: images[0], quality: 20))]
        let trainer = try Trainer(config: c, dataset: set, validation: validation)
        try trainer.run(resume: false) { _ in }
        let best = try Model.read(contentsOf: output.appendingPathComponent("best.safetensors"))
        #expect(best.info.name == "arcnn-social-q20" && best.info.jpegQuality == 20)
        #expect(best.info.training?.data.hasSuffix(
            ", social degradation: camera JPEG 4:2:0 q92, bicubic x0.75, re-compressed as colour JPEG 4:2:0 at quality 20") == true)

        var standard = Self.config(output, degradation: .standard)
        standard.steps = 4
        let other = try Trainer(config: standard, dataset: set, validation: validation)
        #expect(throws: TrainingError("\(output.path)/checkpoint.safetensors: checkpoint was made with different settings (degradation social vs standard)")) {
            try other.run(resume: true) { _ in }
        }
    }

    @Test func superResolutionRunsRefuseTheSocialDegradation() throws {
        let output = try temporaryFolder("social-sr")
        defer { try? FileManager.default.removeItem(at: output) }
        var c = TrainerTests.config(output, steps: 1)
        c.degradation = .social
        let (set, validation) = try TrainerTests.data(c)
        #expect(throws: TrainingError("degradation 'social' applies to JPEG artifact reduction: give the JPEG quality to train for (--quality)")) {
            _ = try Trainer(config: c, dataset: set, validation: validation)
        }
    }
}
