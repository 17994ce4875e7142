import ArgumentParser
import Dispatch
import EnhanceModels
import EnhanceNN
import Foundation

/// Developer tool behind `benchmarks/peers.py` (`make bench-peers`): runs a model's bare
/// network on one raw plane and times it, so other runtimes can be compared on identical
/// input, weights and work.
///
/// Two modes:
/// - **Forward**: `--model FILE --input in.f32 --width W --height H [--output out.f32]`.
///   The input is a raw little-endian float32 plane, row-major `H × W`, *already*
///   context-padded (``Architecture/contextPadding`` pixels each side); it goes through
///   `model.network.forward` unchanged (valid convolutions, no cropping). One warm-up pass,
///   then `--repeat` timed passes. Stdout: JSON `{"ms", "repeats", "shape", "threads",
///   "context_padding", "output_offset", "network_scale"}` with the best time in milliseconds,
///   the NCHW output shape and the model's geometry; `--output` receives the raw
///   uncropped output (little-endian float32, row-major `shape[2] × shape[3]`).
/// - **Random model**: `--random-model ARCH --scale S [--seed N] --write FILE` writes a model
///   of that architecture whose every parameter is drawn at unit gain (He-normal weights,
///   including the last layer, whose training initialiser is 0.001; biases uniform in
///   ±0.1; PReLU slopes uniform in 0.05...0.45), so outputs on 0...1 input are of order 1
///   and a 1e-4 agreement check between runtimes is meaningful.
struct ForwardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Developer tool: time a model's network on a raw float32 plane (used by make bench-peers).",
        discussion: """
        Forward mode reads a context-padded H×W little-endian float32 plane, runs the network \
        once to warm up and then --repeat times, prints {"ms": best, "shape": [N,C,H,W], ...} \
        and writes the uncropped output plane. Random-model mode writes a model with \
        unit-gain random weights (same seed, same file).
        """
    )

    @Option(help: "Model: path to a .safetensors file or a shipped model name.") var model: String?
    @Option(help: "Raw little-endian float32 input plane, row-major, already context-padded.") var input: String?
    @Option(help: "Input plane width in samples.") var width: Int?
    @Option(help: "Input plane height in samples.") var height: Int?
    @Option(help: "Where to write the raw float32 network output (uncropped).") var output: String?
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(name: .customLong("repeat"), help: "Timed passes after the warm-up; the best is reported.") var repeats = 5

    @Option(help: "Write a random-weight model of this architecture (e.g. srcnn-9-5-5, fsrcnn) instead of running one.")
    var randomModel: String?
    @Option(help: "Scale of the random model.") var scale: Int?
    @Option(help: "Seed of the random model's weights.") var seed: UInt64 = 1
    @Option(help: "Output .safetensors file of the random model.") var write: String?

    struct Report: Encodable {
        /// Best wall time of one forward pass, milliseconds.
        var ms: Double
        var repeats: Int
        /// NCHW output shape.
        var shape: [Int]
        var threads: Int
        /// The model's geometry, for callers that pad and crop (``Architecture``).
        var context_padding: Int
        var output_offset: Int
        var network_scale: Int
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1, got \(threads)") }
        if randomModel != nil {
            guard write != nil else { throw ValidationError("--random-model needs --write FILE") }
            guard let scale, (1...8).contains(scale) else { throw ValidationError("--random-model needs --scale in 1...8") }
            return
        }
        guard model != nil, input != nil else {
            throw ValidationError("give --model and --input (forward), or --random-model and --write")
        }
        guard let width, let height, width >= 1, height >= 1 else {
            throw ValidationError("--width and --height must be given and ≥ 1")
        }
        guard repeats >= 1 else { throw ValidationError("--repeat must be ≥ 1, got \(repeats)") }
    }

    func run() throws {
        if let arch = randomModel {
            try writeRandomModel(arch, scale: scale!, to: URL(fileURLWithPath: write!))
            return
        }
        let model = try ModelCatalog.load(self.model!)
        let w = width!, h = height!
        let plane = try readPlane(input!, count: w * h)
        let context = ComputeContext(threads: threads)
        let x = Tensor(shape: [1, model.info.architecture.channels, h, w], storage: plane)
        var y = model.network.forward(x, context: context)  // warm-up
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            y = model.network.forward(x, context: context)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        if let output {
            // Float storage is little-endian on every platform Enhance builds for (x86-64, arm64).
            let bytes = y.storage.withUnsafeBufferPointer { Data(bytes: $0.baseAddress!, count: $0.count * 4) }
            do { try bytes.write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
                throw ValidationError("\(output): cannot write output (\(error.localizedDescription))")
            }
        }
        let arch = model.info.architecture
        print(try jsonString(Report(ms: best, repeats: repeats, shape: y.shape, threads: context.threads,
                                    context_padding: arch.contextPadding, output_offset: arch.outputOffset,
                                    network_scale: arch.networkScale)))
    }

    /// Reads `count` little-endian float32 samples from `path`; the file must hold exactly that many.
    private func readPlane(_ path: String, count: Int) throws -> [Float] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ValidationError("\(path): cannot read input (\(error.localizedDescription))")
        }
        guard data.count == count * 4 else {
            throw ValidationError("\(path): \(data.count) bytes, expected \(count * 4) (\(count) float32 samples for --width × --height)")
        }
        return [Float](unsafeUninitializedCapacity: count) { buf, n in
            data.withUnsafeBytes { raw in
                for i in 0..<count {
                    buf[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
            n = count
        }
    }

    /// Writes a model of architecture family `name` with unit-gain random parameters (see the type's doc).
    private func writeRandomModel(_ name: String, scale: Int, to url: URL) throws {
        guard let arch = Architecture(familyName: name, scale: scale) else {
            throw ValidationError("--random-model: unknown architecture '\(name)' (known: \(Architecture.familyNames.joined(separator: ", ")))")
        }
        var net = arch.makeNetwork(seed: seed)
        var rng = SeededGenerator(seed: seed)
        for i in net.layers.indices {
            var params = net.layers[i].parameters
            if params.isEmpty { continue }
            switch net.layers[i] {
            case let c as Conv2d:
                Initializer.heNormal.fill(&params[0], fanIn: c.inChannels * c.kernel * c.kernel, rng: &rng)
                fillUniform(&params[1], -0.1, 0.1, rng: &rng)
            case let d as ConvTranspose2d:
                // Each output sample sums about inChannels × (kernel / stride)² products.
                Initializer.heNormal.fill(&params[0], fanIn: max(1, d.inChannels * d.kernel * d.kernel / (d.stride * d.stride)), rng: &rng)
                fillUniform(&params[1], -0.1, 0.1, rng: &rng)
            case is PReLU:
                fillUniform(&params[0], 0.05, 0.45, rng: &rng)
            default:
                throw ValidationError("--random-model: no unit-gain rule for layer \(net.layers[i]) of \(arch.familyName)")
            }
            net.layers[i].parameters = params
        }
        let task: ModelTask = arch.networkScale == 1 && !arch.takesUpscaledInput ? .deblocking : .superResolution
        let info = ModelInfo(name: "\(arch.familyName)-x\(scale)-random\(seed)", task: task, architecture: arch,
                             scale: task == .deblocking ? 1 : scale)
        try Model(info: info, network: net).write(to: url)
    }

    private func fillUniform(_ t: inout Tensor, _ lo: Float, _ hi: Float, rng: inout SeededGenerator) {
        for i in 0..<t.count { t.storage[i] = lo + (hi - lo) * Float(rng.nextUniform()) }
    }
}
