import Enhance
import EnhanceModels
import EnhanceNN
import Foundation
import Testing

@Suite struct ModelCatalogTests {
    static func write(_ arch: Architecture, name: String, scale: Int, psnr: Double, file: String, to folder: URL) throws {
        let record = TrainingRecord(command: "test", data: "none", steps: 1, backprops: 1, wallSeconds: 0,
                                    validationPSNR: psnr, validationSet: "Set5")
        let model = Model(info: ModelInfo(name: name, task: .superResolution, architecture: arch, scale: scale, training: record),
                          network: arch.makeNetwork(seed: 1))
        try model.write(to: folder.appendingPathComponent(file))
    }

    /// A new empty folder; the caller removes it.
    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("catalog-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func modelsAreKnownByTheirMetadataNotFileNames() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let srcnn = Architecture(familyName: "srcnn-9-1-5", scale: 3)!
        try Self.write(srcnn, name: "srcnn-9-1-5-x3", scale: 3, psnr: 32.1, file: "whatever.safetensors", to: folder)
        try Self.write(.fsrcnn(d: 8, s: 4, m: 1, scale: 3), name: "fsrcnn-x3", scale: 3, psnr: 31.0, file: "a.safetensors", to: folder)
        try Self.write(srcnn, name: "srcnn-9-1-5-x2", scale: 2, psnr: 36.0, file: "srcnn-9-1-5-x3.safetensors", to: folder)
        try Data("not a model".utf8).write(to: folder.appendingPathComponent("broken.safetensors"))
        let folders = [folder]
        let (entries, problems) = ModelCatalog.scan(folders: folders)
        let names = entries.map(\.info.name)
        #expect(names == ["fsrcnn-x3", "srcnn-9-1-5-x2", "srcnn-9-1-5-x3"])
        #expect(problems.count == 1 && problems[0].hasPrefix(folder.appendingPathComponent("broken.safetensors").path))
        // The file named srcnn-9-1-5-x3 holds the x2 model: the name inside counts.
        #expect(try ModelCatalog.load("srcnn-9-1-5-x2", folders: folders).info.scale == 2)
        #expect(try ModelCatalog.load("srcnn-9-1-5-x3", folders: folders).info.scale == 3)
        // An FSRCNN that validated 1.1 dB below the SRCNN is not the x3 default.
        #expect(ModelCatalog.defaultModel(scale: 3, folders: folders) == "srcnn-9-1-5-x3")
        #expect(ModelCatalog.defaultModel(scale: 2, folders: folders) == "srcnn-9-1-5-x2")
    }

    @Test func theDefaultIsThePreferredFamilyAmongTheModelsWithinTheMarginOfTheBest() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let srcnn = Architecture(familyName: "srcnn-9-5-5", scale: 3)!
        try Self.write(srcnn, name: "srcnn-9-5-5-x3", scale: 3, psnr: 32.62, file: "s.safetensors", to: folder)
        // 0.04 dB below the SRCNN (within the 0.05 dB margin): the faster family wins.
        try Self.write(.fsrcnn(d: 8, s: 4, m: 1, scale: 3), name: "fsrcnn-x3", scale: 3, psnr: 32.58, file: "f.safetensors", to: folder)
        #expect(ModelCatalog.defaultModel(scale: 3, folders: [folder]) == "fsrcnn-x3")
        // Beaten by more than the margin: the SRCNN again.
        try Self.write(.fsrcnn(d: 8, s: 4, m: 1, scale: 3), name: "fsrcnn-x3", scale: 3, psnr: 32.56, file: "f.safetensors", to: folder)
        #expect(ModelCatalog.defaultModel(scale: 3, folders: [folder]) == "srcnn-9-5-5-x3")
        // The preferred family wins as soon as it is the best.
        try Self.write(.enhanceNet(channels: 8, blocks: 1, scale: 3), name: "enhance-net-x3", scale: 3, psnr: 32.9,
                       file: "e.safetensors", to: folder)
        #expect(ModelCatalog.defaultModel(scale: 3, folders: [folder]) == "enhance-net-x3")
    }
}
