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

    /// Best-of-`repeats` wall time of `body`, in seconds.
    public static func time(repeats: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
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

    /// Inference of `architecture` producing an `outputSize`² plane from a context-padded input,
    /// as ``PlaneInference`` runs it; per-layer times included.
    public static func inference(name: String, architecture: Architecture, outputSize: Int,
                                 context: ComputeContext, repeats: Int = 5) -> Result {
        var net = architecture.makeNetwork(seed: 7)
        var rng = SeededGenerator(seed: 11)
        net.initializeParameters(rng: &rng)
        let inputSide = outputSize / architecture.networkScale + 2 * architecture.contextPadding
        let input = randomTensor([1, architecture.channels, inputSide, inputSide], seed: 3)
        _ = net.forward(input, context: context)  // warm-up
        let total = time(repeats: repeats) { _ = net.forward(input, context: context) }
        var layers: [Result] = []
        var x = input
        for (i, layer) in net.layers.enumerated() {
            let xin = x
            let macs = layer.multiplyAdds(forInput: xin.shape)
            var y = layer.forward(xin, context: context)
            let t = time(repeats: repeats) { y = layer.forward(xin, context: context) }
            if macs > 0 {
                layers.append(Result(name: "\(i) \(layer)", ms: t * 1e3, gflops: 2 * Double(macs) / t / 1e9))
            }
            x = y
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

    /// The standard suite of issue 3 (names are stable: scripts read them).
    public static func standardSuite(context: ComputeContext, quick: Bool = false) -> [Result] {
        let r = quick ? 1 : 5
        var results: [Result] = []
        results.append(inference(name: "srcnn-9-1-5-512", architecture: Architecture(familyName: "srcnn-9-1-5", scale: 1)!,
                                 outputSize: 512, context: context, repeats: r))
        results.append(inference(name: "srcnn-9-5-5-512", architecture: Architecture(familyName: "srcnn-9-5-5", scale: 1)!,
                                 outputSize: 512, context: context, repeats: r))
        for s in [2, 3, 4] {
            let side = s == 3 ? 510 : 512
            results.append(inference(name: "fsrcnn-x\(s)-\(side / s)", architecture: .fsrcnn(d: 56, s: 12, m: 4, scale: s),
                                     outputSize: side, context: context, repeats: r))
        }
        results.append(inference(name: "fsrcnn-s-x2-256", architecture: .fsrcnn(d: 32, s: 5, m: 1, scale: 2),
                                 outputSize: 512, context: context, repeats: r))
        results.append(inference(name: "enhance-net-x3-170", architecture: Architecture(familyName: "enhance-net", scale: 3)!,
                                 outputSize: 510, context: context, repeats: r))
        results.append(inference(name: "arcnn-512", architecture: Architecture(familyName: "arcnn", scale: 1)!,
                                 outputSize: 512, context: context, repeats: r))
        results.append(inference(name: "fast-arcnn-512", architecture: .fastArcnn,
                                 outputSize: 512, context: context, repeats: r))
        results.append(trainingStep(name: "srcnn-9-5-5-train-step", architecture: Architecture(familyName: "srcnn-9-5-5", scale: 1)!,
                                    context: context, repeats: quick ? 1 : 3))
        results.append(trainingStep(name: "srcnn-9-1-5-train-step", architecture: Architecture(familyName: "srcnn-9-1-5", scale: 1)!,
                                    context: context, repeats: quick ? 1 : 3))
        // FSRCNN-class models train on 32² low-resolution sub-images (`enhance train --patch 32`).
        results.append(trainingStep(name: "fsrcnn-x2-train-step", architecture: .fsrcnn(d: 56, s: 12, m: 4, scale: 2),
                                    patch: 32, context: context, repeats: quick ? 1 : 5))
        results.append(trainingStep(name: "enhance-net-x3-train-step", architecture: .enhanceNet(channels: 48, blocks: 5, scale: 3),
                                    patch: 32, context: context, repeats: quick ? 1 : 3))
        return results
    }

    /// Every shipped model on a 512x512 output (seconds per output megapixel).
    public static func shippedModels(context: ComputeContext, quick: Bool = false) -> [Result] {
        ModelCatalog.scan().entries.map { entry in
            let arch = entry.info.architecture
            let side = 512 / arch.networkScale * arch.networkScale
            return inference(name: "model:\(entry.info.name)", architecture: arch, outputSize: side,
                             context: context, repeats: quick ? 1 : 3)
        }
    }
}
