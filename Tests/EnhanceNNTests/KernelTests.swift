import EnhanceNN
import Testing

/// Fast convolution kernels against `ConvKernels.Reference` (Double accumulation).
///
/// Tolerance: |fast − reference| ≤ 1e-5 · (1 + scale), where `scale` is the largest sum of
/// absolute products |w·x| over any output element (a bound on float rounding of a length-K sum,
/// K ≤ ~3000 here: 1e-5 ≫ K·2⁻²⁴·... in practice the observed error is ~1e-6 of `scale`).
@Suite struct KernelTests {
    /// Deterministic SplitMix64 stream in -1...1.
    struct Noise {
        var state: UInt64
        mutating func next() -> Float {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Float(z >> 40) / Float(1 << 24) * 2 - 1
        }
        mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
    }

    static func close(_ a: [Float], _ b: [Float], scale: Float, tol: Float = 1e-5) -> (ok: Bool, worst: Float) {
        var worst: Float = 0
        for i in a.indices {
            let d = abs(a[i] - b[i])
            if !d.isFinite { return (false, .infinity) }   // an unwritten (NaN) element fails
            worst = max(worst, d)
        }
        return (worst <= tol * (1 + scale), worst)
    }

    /// Geometries covering kernels 1–9, strides 1–3, channel counts that are and are not multiples
    /// of 4/8, widths from the kernel size up to 40, batches 1–3.
    static let geometries: [(ConvGeometry, Int)] = {
        var noise = Noise(state: 7)
        var list: [(ConvGeometry, Int)] = []
        let fixed: [(Int, Int, Int, Int, Int, Int, Int)] = [
            // (in, out, h, w, k, s, batch)
            (1, 64, 21, 23, 9, 1, 1), (64, 32, 13, 30, 5, 1, 2), (32, 1, 12, 40, 5, 1, 1),
            (1, 56, 11, 14, 5, 1, 1), (56, 12, 7, 9, 1, 1, 3), (12, 12, 10, 10, 3, 1, 2), (12, 56, 6, 33, 1, 1, 1),
            (1, 64, 19, 19, 9, 2, 1), (3, 5, 9, 9, 3, 3, 2), (7, 9, 7, 7, 7, 1, 1), (70, 3, 6, 6, 3, 1, 1),
            (5, 70, 5, 5, 5, 1, 1), (2, 3, 1, 1, 1, 1, 2), (9, 6, 8, 17, 3, 2, 3), (4, 4, 9, 9, 1, 2, 1),
            (16, 17, 3, 40, 3, 1, 1), (1, 1, 9, 9, 9, 1, 1),
            // several bands per image, row groups of 4 plus remainders, columns past 24-blocks
            (8, 1, 70, 61, 5, 1, 1), (6, 10, 60, 45, 3, 1, 1), (1, 2, 50, 55, 9, 2, 1),
        ]
        for f in fixed {
            list.append((ConvGeometry(inChannels: f.0, outChannels: f.1, inHeight: f.2, inWidth: f.3, kernel: f.4, stride: f.5), f.6))
        }
        for _ in 0..<20 {
            let k = [1, 3, 5, 7, 9][Int((noise.next() + 1) * 2.49)]
            let s = 1 + Int((noise.next() + 1) * 1.49)
            let h = k + Int((noise.next() + 1) * 6), w = k + Int((noise.next() + 1) * Float(20 - k / 2))
            let ci = 1 + Int((noise.next() + 1) * 10), co = 1 + Int((noise.next() + 1) * 10)
            list.append((ConvGeometry(inChannels: ci, outChannels: co, inHeight: h, inWidth: w, kernel: k, stride: s), 1 + Int((noise.next() + 1) * 1.4)))
        }
        return list
    }()

    @Test func forwardMatchesReference() {
        var noise = Noise(state: 1)
        for (g, batch) in Self.geometries {
            let x = noise.array(g.inputCount * batch), w = noise.array(g.weightCount), b = noise.array(g.outChannels)
            var ref = [Float](repeating: 0, count: g.outputCount * batch)
            ConvKernels.Reference.forward(g, batch: batch, input: x, weight: w, bias: b, output: &ref)
            let scale = Float(g.inChannels * g.kernel * g.kernel)
            for threads in [1, 2] {
                var y = [Float](repeating: .nan, count: g.outputCount * batch)
                ConvKernels.forward(g, batch: batch, input: x, weight: w, bias: b, output: &y, threads: threads)
                let r = Self.close(y, ref, scale: scale)
                #expect(r.ok, "forward \(g) batch \(batch) threads \(threads): max error \(r.worst)")
            }
            var y0 = [Float](repeating: .nan, count: g.outputCount * batch)
            ConvKernels.forward(g, batch: batch, input: x, weight: w, bias: nil, output: &y0, threads: 2)
            var ref0 = [Float](repeating: 0, count: g.outputCount * batch)
            ConvKernels.Reference.forward(g, batch: batch, input: x, weight: w, bias: nil, output: &ref0)
            #expect(Self.close(y0, ref0, scale: scale).ok, "forward without bias \(g)")
        }
    }

    @Test func backwardInputMatchesReference() {
        Self.expectBackwardInputMatchesReference(Self.geometries.map { ($0.0, $0.1, "") }, seed: 2)
    }

    /// `backwardInput` against the reference for each case, with 1 and 2 threads (shared by the
    /// kernel suites).
    static func expectBackwardInputMatchesReference(_ cases: [(ConvGeometry, Int, String)], seed: UInt64) {
        var noise = Noise(state: seed)
        for (g, batch, what) in cases {
            let dy = noise.array(g.outputCount * batch), w = noise.array(g.weightCount)
            var ref = [Float](repeating: 0, count: g.inputCount * batch)
            ConvKernels.Reference.backwardInput(g, batch: batch, outputGradient: dy, weight: w, inputGradient: &ref)
            let scale = Float(g.outChannels * g.kernel * g.kernel)
            for threads in [1, 2] {
                var dx = [Float](repeating: .nan, count: g.inputCount * batch)
                ConvKernels.backwardInput(g, batch: batch, outputGradient: dy, weight: w, inputGradient: &dx, threads: threads)
                let r = close(dx, ref, scale: scale)
                #expect(r.ok, "backwardInput \(g) batch \(batch) threads \(threads) \(what): max error \(r.worst)")
            }
        }
    }

    @Test func backwardWeightAccumulatesAndMatchesReference() {
        var noise = Noise(state: 3)
        for (g, batch) in Self.geometries {
            let x = noise.array(g.inputCount * batch), dy = noise.array(g.outputCount * batch)
            let w0 = noise.array(g.weightCount), b0 = noise.array(g.outChannels)
            var refW = w0, refB = b0
            ConvKernels.Reference.backwardWeight(g, batch: batch, input: x, outputGradient: dy, weightGradient: &refW, biasGradient: &refB)
            let scale = Float(batch * g.outHeight * g.outWidth)
            var byThreads: [[Float]] = []
            for threads in [1, 2] {
                var dw = w0, db = b0
                ConvKernels.backwardWeight(g, batch: batch, input: x, outputGradient: dy, weightGradient: &dw, biasGradient: &db, threads: threads)
                let rw = Self.close(dw, refW, scale: scale), rb = Self.close(db, refB, scale: scale)
                #expect(rw.ok, "backwardWeight dW \(g) batch \(batch) threads \(threads): max error \(rw.worst)")
                #expect(rb.ok, "backwardWeight dBias \(g) batch \(batch) threads \(threads): max error \(rb.worst)")
                byThreads.append(dw + db)
            }
            // Same thread count twice: bit-identical.
            var dw = w0, db = b0
            ConvKernels.backwardWeight(g, batch: batch, input: x, outputGradient: dy, weightGradient: &dw, biasGradient: &db, threads: 2)
            #expect(dw + db == byThreads[1], "backwardWeight not bit-identical across runs: \(g)")
            // Without a bias gradient the weight gradient is unchanged.
            var dwNoBias = w0
            ConvKernels.backwardWeight(g, batch: batch, input: x, outputGradient: dy, weightGradient: &dwNoBias, biasGradient: nil, threads: 2)
            #expect(dwNoBias == dw, "backwardWeight with nil bias differs: \(g)")
        }
    }

    /// A hand-computed case: 1→1 channel, 3x3 input, 2x2 kernel, stride 1.
    @Test func smallHandComputedCase() {
        let g = ConvGeometry(inChannels: 1, outChannels: 1, inHeight: 3, inWidth: 3, kernel: 2, stride: 1)
        let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 9], w: [Float] = [1, 0, 0, -1], b: [Float] = [0.5]
        var y = [Float](repeating: 0, count: 4)
        ConvKernels.forward(g, batch: 1, input: x, weight: w, bias: b, output: &y, threads: 2)
        #expect(y == [-3.5, -3.5, -3.5, -3.5])
        var dx = [Float](repeating: 9, count: 9)
        ConvKernels.backwardInput(g, batch: 1, outputGradient: [1, 2, 3, 4], weight: w, inputGradient: &dx, threads: 1)
        #expect(dx == [1, 2, 0, 3, 3, -2, 0, -3, -4])
        var dw: [Float] = [1, 1, 1, 1], db: [Float] = [1]
        ConvKernels.backwardWeight(g, batch: 1, input: x, outputGradient: [1, 0, 0, 1], weightGradient: &dw, biasGradient: &db, threads: 2)
        #expect(dw == [7, 9, 13, 15])
        #expect(db == [3])
    }
}
