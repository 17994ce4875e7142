import EnhanceNN
import Testing

/// The sgemm-based paths of `ConvKernels` (stride-1 forward / backwardWeight, sub-pixel
/// backwardInput) on the shapes that select them: training patches of SRCNN / FSRCNN, scaled
/// down so that the Double reference stays quick in debug builds. Same tolerance as `KernelTests`.
@Suite struct KernelTestsGEMMPaths {
    typealias Noise = KernelTests.Noise

    /// (in, out, h, w, kernel, stride, batch) and the path each case is there for.
    static let cases: [(ConvGeometry, Int, String)] = [
        (1, 64, 17, 17, 9, 1, 3, "1-channel 9x9: row-im2col forward and backwardWeight"),
        (24, 16, 11, 11, 5, 1, 3, "per-tap backwardWeight (channels·taps > 512), im2col backwardInput"),
        (40, 24, 9, 10, 5, 1, 2, "per-tap backwardWeight, direct backwardInput (both sides > 512)"),
        (600, 8, 3, 4, 1, 1, 2, "1x1 with 600 input channels: per-tap forward and backwardWeight"),
        (16, 40, 6, 7, 1, 1, 4, "1x1 expansion: backwardInput through one sgemm"),
        (1, 24, 21, 21, 9, 2, 3, "deconvolution x2 to one channel: per-tap sub-pixel backwardInput"),
        (1, 24, 33, 33, 9, 3, 2, "deconvolution x3: im2col sub-pixel backwardInput"),
        (2, 12, 20, 23, 9, 3, 2, "sub-pixel backwardInput with unequal, unaligned sides and 2 channels"),
        (1, 16, 25, 29, 9, 4, 2, "deconvolution x4"),
    ].map { (ConvGeometry(inChannels: $0.0, outChannels: $0.1, inHeight: $0.2, inWidth: $0.3, kernel: $0.4, stride: $0.5), $0.6, $0.7) }

    @Test func forwardMatchesReference() {
        var noise = Noise(state: 11)
        for (g, batch, what) in Self.cases {
            let x = noise.array(g.inputCount * batch), w = noise.array(g.weightCount), b = noise.array(g.outChannels)
            var ref = [Float](repeating: 0, count: g.outputCount * batch)
            ConvKernels.Reference.forward(g, batch: batch, input: x, weight: w, bias: b, output: &ref)
            for threads in [1, 2] {
                var y = [Float](repeating: .nan, count: g.outputCount * batch)
                ConvKernels.forward(g, batch: batch, input: x, weight: w, bias: b, output: &y, threads: threads)
                let r = KernelTests.close(y, ref, scale: Float(g.inChannels * g.kernel * g.kernel))
                #expect(r.ok, "forward \(g) batch \(batch) threads \(threads) (\(what)): max error \(r.worst)")
            }
        }
    }

    @Test func backwardInputMatchesReference() {
        var noise = Noise(state: 12)
        for (g, batch, what) in Self.cases {
            let dy = noise.array(g.outputCount * batch), w = noise.array(g.weightCount)
            var ref = [Float](repeating: 0, count: g.inputCount * batch)
            ConvKernels.Reference.backwardInput(g, batch: batch, outputGradient: dy, weight: w, inputGradient: &ref)
            for threads in [1, 2] {
                var dx = [Float](repeating: .nan, count: g.inputCount * batch)
                ConvKernels.backwardInput(g, batch: batch, outputGradient: dy, weight: w, inputGradient: &dx, threads: threads)
                let r = KernelTests.close(dx, ref, scale: Float(g.outChannels * g.kernel * g.kernel))
                #expect(r.ok, "backwardInput \(g) batch \(batch) threads \(threads) (\(what)): max error \(r.worst)")
            }
        }
    }

    @Test func backwardWeightMatchesReferenceAndIsReproducible() {
        var noise = Noise(state: 13)
        for (g, batch, what) in Self.cases {
            let x = noise.array(g.inputCount * batch), dy = noise.array(g.outputCount * batch)
            let w0 = noise.array(g.weightCount), b0 = noise.array(g.outChannels)
            var refW = w0, refB = b0
            ConvKernels.Reference.backwardWeight(g, batch: batch, input: x, outputGradient: dy, weightGradient: &refW, biasGradient: &refB)
            let scale = Float(batch * g.outHeight * g.outWidth)
            for threads in [1, 2, 3] {
                var dw = w0, db = b0
                ConvKernels.backwardWeight(g, batch: batch, input: x, outputGradient: dy, weightGradient: &dw, biasGradient: &db, threads: threads)
                let rw = KernelTests.close(dw, refW, scale: scale), rb = KernelTests.close(db, refB, scale: scale)
                #expect(rw.ok, "backwardWeight dW \(g) batch \(batch) threads \(threads) (\(what)): max error \(rw.worst)")
                #expect(rb.ok, "backwardWeight dBias \(g) batch \(batch) threads \(threads) (\(what)): max error \(rb.worst)")
                var dw2 = w0, db2 = b0
                ConvKernels.backwardWeight(g, batch: batch, input: x, outputGradient: dy, weightGradient: &dw2, biasGradient: &db2, threads: threads)
                #expect(dw2 == dw && db2 == db, "backwardWeight not bit-identical across runs: \(g) threads \(threads)")
            }
        }
    }

    /// A one-image, one-channel deconvolution-shaped case computed by hand: conv geometry
    /// 1→1, kernel 2, stride 2 on a 4x4 input, so backwardInput scatters each dy value over a
    /// 2x2 block weighted by the kernel (the path taken with 4 sub-pixel rows).
    @Test func subPixelHandComputedCase() {
        let g = ConvGeometry(inChannels: 1, outChannels: 1, inHeight: 4, inWidth: 4, kernel: 2, stride: 2)
        var dx = [Float](repeating: .nan, count: 16)
        ConvKernels.backwardInput(g, batch: 1, outputGradient: [1, 2, 3, 4], weight: [1, 10, 100, 1000], inputGradient: &dx, threads: 1)
        #expect(dx == [1, 10, 2, 20,
                       100, 1000, 200, 2000,
                       3, 30, 4, 40,
                       300, 3000, 400, 4000])
    }
}
