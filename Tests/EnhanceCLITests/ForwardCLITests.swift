import EnhanceModels
import EnhanceNN
import Foundation
import Testing

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct ForwardCLITests {
    /// `enhance forward` (used by benchmarks/peers.py) writes exactly the network's output.
    @Test func forwardWritesTheNetworkOutput() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let modelURL = folder.appendingPathComponent("m.safetensors")
        let make = try CLIRun.run(["forward", "--random-model", "fsrcnn", "--scale", "2", "--seed", "3", "--write", modelURL.path])
        #expect(make.status == 0, "\(make.stderr)")
        let model = try Model.read(contentsOf: modelURL)
        let (w, h) = (21, 19)
        let plane = (0..<(w * h)).map { Float(($0 * 31) % 97) / 97 }
        let input = folder.appendingPathComponent("in.f32"), output = folder.appendingPathComponent("out.f32")
        try plane.withUnsafeBufferPointer { try Data(buffer: $0).write(to: input) }
        let r = try CLIRun.run(["forward", "--model", modelURL.path, "--input", input.path, "--width", "\(w)",
                                "--height", "\(h)", "--output", output.path, "--repeat", "1", "--threads", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let expected = model.network.forward(Tensor(shape: [1, 1, h, w], storage: plane), context: .serial)
        #expect(doc["shape"] as? [Int] == expected.shape)
        #expect(doc["context_padding"] as? Int == model.info.architecture.contextPadding)
        let data = try Data(contentsOf: output)
        let got = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(got == expected.storage)
    }
}
