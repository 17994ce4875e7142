import Dispatch
import EnhanceModels
import EnhanceNN

/// Speed measurements behind `enhance bench`. Timing is reported, never asserted.
public enum Benchmark {
    /// One measured case.
    public struct Result: Sendable, Codable, Equatable {
        public var name: String
        /// Best wall time of the repetitions, milliseconds.
        public var ms: Double
        /// Useful floating-point work per second (2 × multiply-adds / time), 10⁹/s.
        public var gflops: Double
        /// Sub-images per second (training cases only).
        public var patchesPerSecond: Double?
        /// Seconds per output megapixel (inference cases only).
        public var secondsPerMegapixel: Double?
        /// Per-layer breakdown (inference cases only).
        public var layers: [Result]?
    }

    /// Best wall time of `body`, in seconds, over at least `repeats` runs and, when
    /// `repeats > 1`, as many more as fit in `minimumSeconds` of measuring (at most 1000 runs):
    /// a 5 ms network is then timed about 100 times, so one slow run of a busy machine does not
    /// decide its number.
    public static func time(repeats: Int, minimumSeconds: Double = 0.5, _ body: () -> Void) -> Double {
        var best = Double.infinity, spent = 0.0, runs = 0
        while runs < max(1, repeats) || (repeats > 1 && spent < minimumSeconds && runs < 1000) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            let t = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = min(best, t); spent += t; runs += 1
        }
        return best
    }

    /// OpenBLAS sgemm throughput on `threads` threads (square n×n×n), the machine's reference.
    public static func sgemmGFLOPs(n: Int = 1536, threads: Int, repeats: Int = 5) -> Double {
        BLAS.setThreads(threads)
        defer { BLAS.setThreads(1) }
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let t = time(repeats: repeats) {
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        BLAS.sgemm(m: n, n: n, k: n, a: ap.baseAddress!, lda: n, b: bp.baseAddress!, ldb: n,
                                   beta: 0, c: cp.baseAddress!, ldc: n)
                    }
                }
            }
        }
        return 2 * Double(n * n * n) / t / 1e9
    }

    static func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor(shape: shape) { buf in
            for i in buf.indices { buf[i] = Float(rng.nextUniform()) }
        }
    }

    /// A network of `architecture` (fixed random weights) and the context-padded input that gives
    /// an `outputSize`² plane, as ``PlaneInference`` runs it.
    static func prepared(_ architecture: Architecture, outputSize: Int) -> (Sequential, Tensor) {
        var net = architecture.makeNetwork(seed: 7)
        var rng = SeededGenerator(seed: 11)
        net.initializeParameters(rng: &rng)
        let inputSide = outputSize / architecture.networkScale + 2 * architecture.contextPadding
        return (net, randomTensor([1, architecture.channels, inputSide, inputSide], seed: 3))
    }

    /// Inference of `architecture` producing an `outputSize`² plane from a context-padded input,
    /// as ``PlaneInference`` runs it; with the time of each step `Sequential.forward` takes (a
    /// layer, or layers it fuses: "0+2 Conv2d(...) + Conv2d(...)"), so that they add up to the whole.
    public static func inference(name: String, architecture: Architecture, outputSize: Int,
                                 context: ComputeContext, repeats: Int = 5) -> Result {
        let (net, input) = prepared(architecture, outputSize: outputSize)
        _ = net.forward(input, context: context)  // warm-up
        let total = time(repeats: repeats, minimumSeconds: 1.5) { _ = net.forward(input, context: context) }
        var layers: [Result] = []
        var x = input, i = 0
        while i < net.layers.count {
            let xin = x, stage = net.inferenceStage(at: i, inputShape: x.shape)
            var shape = xin.shape, macs = 0
            for l in stage.layers {
                macs += net.layers[l].multiplyAdds(forInput: shape)
                shape = net.layers[l].outputShape(forInput: shape)
            }
            var y = net.run(stage, xin, context: context)
            let t = time(repeats: repeats, minimumSeconds: 0.25) { y = net.run(stage, xin, context: context) }
            if macs > 0 {
                // Named by the layers that compute (activations fused into them are left out).
                let computing = stage.layers.count == 1 ? Array(stage.layers)
                    : stage.layers.filter { !(net.layers[$0] is any ChannelSlopeActivation) }
                let name = computing.map(String.init).joined(separator: "+") + " "
                    + computing.map { "\(net.layers[$0])" }.joined(separator: " + ")
                layers.append(Result(name: name, ms: t * 1e3, gflops: 2 * Double(macs) / t / 1e9))
            }
            x = y
            i = stage.layers.upperBound
        }
        let macs = net.multiplyAdds(forInput: input.shape)
        let megapixels = Double(outputSize * outputSize) / 1e6
        return Result(name: name, ms: total * 1e3, gflops: 2 * Double(macs) / total / 1e9,
                      secondsPerMegapixel: total / megapixels, layers: layers)
    }

    /// One Adam step (forward, MSE, backward, update) on a batch of `batch` sub-images of `patch`² pixels,
    /// in the trainer's geometry: the label is the `(patch − 2·contextPadding)·networkScale` square
    /// at ``Architecture/outputOffset`` of the network's output (FSRCNN: the outputs whose every
    /// deconvolution tap has an input); the loss gradient is zero outside it.
    public static func trainingStep(name: String, architecture: Architecture, batch: Int = 64, patch: Int = 33,
                                    context: ComputeContext, repeats: Int = 3) -> Result {
        var net = architecture.makeNetwork(seed: 5)
        let input = randomTensor([batch, architecture.channels, patch, patch], seed: 1)
        let outShape = net.outputShape(forInput: input.shape)
        let labelSide = (patch - 2 * architecture.contextPadding) * architecture.networkScale
        let offset = architecture.outputOffset
        let cropped = outShape[2] != labelSide || outShape[3] != labelSide
        let target = randomTensor([outShape[0], outShape[1], labelSide, labelSide], seed: 2)
        var optimizer = Adam(learningRate: 1e-4)
        func step() {
            let (y, acts) = net.trainingForward(input, context: context)
            let prediction = cropped ? y.window(offset: offset, size: labelSide) : y
            let (_, g) = Loss.mse.evaluate(prediction: prediction, target: target)
            let full = cropped ? g.placed(in: outShape, offset: offset) : g
            let back = net.backward(outputGradient: full, activations: acts, needsInputGradient: false, context: context)
            optimizer.update(&net, gradients: back.parameterGradients)
        }
        step()
        let t = time(repeats: repeats, step)
        // Forward + backward ≈ 3 × forward multiply-adds (the first layer's input gradient is skipped).
        let macs = 3 * net.multiplyAdds(forInput: input.shape)
        return Result(name: name, ms: t * 1e3, gflops: 2 * Double(macs) / t / 1e9,
                      patchesPerSecond: Double(batch) / t)
    }

    /// A speed ratio the issues ask for, measured by alternating the two networks.
    public struct Comparison: Sendable, Codable, Equatable {
        public var fast: String
        public var slow: String
        /// Best wall times over the alternations, milliseconds.
        public var fastMs: Double
        public var slowMs: Double
        /// How many times each network ran.
        public var rounds: Int
        /// Seconds per output megapixel of `slow` over those of `fast`.
        public var ratio: Double
    }

    /// The standard suite's ratios (issues 5 and 6): FSRCNN x3 and enhance-net x3 against SRCNN
    /// 9-5-5, Fast AR-CNN against AR-CNN, each pair run alternately (one forward pass of each per
    /// round) for at least `seconds`, best time of each. A slow phase of a shared machine then
    /// hits both sides of a ratio, where separately timed cases can land in different phases.
    public static func standardComparisons(context: ComputeContext, seconds: Double = 4,
                                           including: (String) -> Bool = { _ in true }) -> [Comparison] {
        let srcnn = ("srcnn-9-5-5-512", Architecture(familyName: "srcnn-9-5-5", scale: 1)!, 512)
        let pairs = [
            (("fsrcnn-x3-170", Architecture.fsrcnn(d: 56, s: 12, m: 4, scale: 3), 510), srcnn),
            (("enhance-net-x3-170", Architecture(familyName: "enhance-net", scale: 3)!, 510), srcnn),
            (("fast-arcnn-512", Architecture.fastArcnn, 512), ("arcnn-512", Architecture(familyName: "arcnn", scale: 1)!, 512)),
        ]
        return pairs.filter { including($0.0.0) && including($0.1.0) }.map { fast, slow in
            let (fastNet, fastInput) = prepared(fast.1, outputSize: fast.2)
            let (slowNet, slowInput) = prepared(slow.1, outputSize: slow.2)
            _ = fastNet.forward(fastInput, context: context); _ = slowNet.forward(slowInput, context: context)
            var bestFast = Double.infinity, bestSlow = Double.infinity, spent = 0.0, rounds = 0
            while spent < seconds || rounds < 3 {
                let f = time(repeats: 1) { _ = fastNet.forward(fastInput, context: context) }
                let s = time(repeats: 1) { _ = slowNet.forward(slowInput, context: context) }
                bestFast = min(bestFast, f); bestSlow = min(bestSlow, s); spent += f + s; rounds += 1
            }
            let ratio = (bestSlow / Double(slow.2 * slow.2)) / (bestFast / Double(fast.2 * fast.2))
            return Comparison(fast: fast.0, slow: slow.0, fastMs: bestFast * 1e3, slowMs: bestSlow * 1e3, rounds: rounds, ratio: ratio)
        }
    }

    /// The standard suite of issue 3 (names are stable: scripts read them); `including` picks cases by name.
    public static func standardSuite(context: ComputeContext, quick: Bool = false,
                                     including: (String) -> Bool = { _ in true }) -> [Result] {
        let r = quick ? 1 : 5, tr = quick ? 1 : 3
        var cases: [(String, () -> Result)] = []
        func forward(_ name: String, _ architecture: Architecture, _ outputSize: Int) {
            cases.append((name, { inference(name: name, architecture: architecture, outputSize: outputSize, context: context, repeats: r) }))
        }
        func train(_ name: String, _ architecture: Architecture, patch: Int = 33, repeats: Int = tr) {
            cases.append((name, { trainingStep(name: name, architecture: architecture, patch: patch, context: context, repeats: repeats) }))
        }
        forward("srcnn-9-1-5-512", Architecture(familyName: "srcnn-9-1-5", scale: 1)!, 512)
        forward("srcnn-9-5-5-512", Architecture(familyName: "srcnn-9-5-5", scale: 1)!, 512)
        for s in [2, 3, 4] {
            let side = s == 3 ? 510 : 512
            forward("fsrcnn-x\(s)-\(side / s)", .fsrcnn(d: 56, s: 12, m: 4, scale: s), side)
        }
        forward("fsrcnn-s-x2-256", .fsrcnn(d: 32, s: 5, m: 1, scale: 2), 512)
        forward("enhance-net-x3-170", Architecture(familyName: "enhance-net", scale: 3)!, 510)
        forward("arcnn-512", Architecture(familyName: "arcnn", scale: 1)!, 512)
        forward("fast-arcnn-512", .fastArcnn, 512)
        train("srcnn-9-5-5-train-step", Architecture(familyName: "srcnn-9-5-5", scale: 1)!)
        train("srcnn-9-1-5-train-step", Architecture(familyName: "srcnn-9-1-5", scale: 1)!)
        // FSRCNN-class models and AR-CNN train on 32² sub-images (`enhance train --patch 32`).
        train("fsrcnn-x2-train-step", .fsrcnn(d: 56, s: 12, m: 4, scale: 2), patch: 32, repeats: quick ? 1 : 5)
        train("enhance-net-x3-train-step", .enhanceNet(channels: 48, blocks: 5, scale: 3), patch: 32)
        train("arcnn-train-step", Architecture(familyName: "arcnn", scale: 1)!, patch: 32)
        train("fast-arcnn-train-step", .fastArcnn, patch: 32)
        return cases.filter { including($0.0) }.map { $0.1() }
    }

    /// Every shipped model on a 512x512 output (seconds per output megapixel).
    public static func shippedModels(context: ComputeContext, quick: Bool = false,
                                     including: (String) -> Bool = { _ in true }) -> [Result] {
        ModelCatalog.scan().entries.filter { including("model:\($0.info.name)") }.map { entry in
            let arch = entry.info.architecture
            let side = 512 / arch.networkScale * arch.networkScale
            return inference(name: "model:\(entry.info.name)", architecture: arch, outputSize: side,
                             context: context, repeats: quick ? 1 : 3)
        }
    }
}
