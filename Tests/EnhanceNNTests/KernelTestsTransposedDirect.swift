import EnhanceNN
import Testing

/// `ConvKernels.transposedForward`: the direct forward pass of strided transposed convolutions to
/// at most 4 output channels (FSRCNN's and Fast AR-CNN's last layer), written straight into the
/// cropped output. Compared with the Double scatter reference `Ref.deconv`:
/// |fast − reference| ≤ 1e-5 · (1 + inChannels·k²); an unwritten (NaN) element fails.
/// Every case runs with 1, 2 and 3 threads, which must give identical results.
@Suite struct KernelTestsTransposedDirect {
    /// (in, out, h, w, kernel, stride, padding, outputPadding, batch) and why the case is there.
    static let cases: [((Int, Int, Int, Int, Int, Int, Int, Int, Int), String)] = [
        ((56, 1, 40, 37, 9, 2, 0, 0, 1), "FSRCNN x2 unpadded: four phases in one group, 24- and 8-column blocks"),
        ((56, 1, 29, 33, 9, 3, 0, 0, 1), "FSRCNN x3 unpadded: three groups of three phases"),
        ((12, 1, 21, 26, 9, 4, 0, 0, 2), "x4: four groups of four phases (3 and 2 taps), batch 2"),
        ((7, 1, 23, 31, 9, 2, 4, 1, 1), "paper padding 4 / outputPadding 1 (even crop: vector interleave)"),
        ((5, 2, 19, 17, 9, 3, 4, 2, 2), "paper form x3, 2 output channels"),
        ((3, 3, 15, 30, 5, 2, 1, 1, 1), "odd crop (scalar interleave), 3 output channels"),
        ((4, 4, 9, 11, 4, 2, 1, 0, 3), "even kernel: phases with equal extents, 4 output channels, batch 3"),
        ((2, 1, 13, 12, 3, 3, 0, 2, 1), "kernel = stride: one tap per phase, bias-only output-padding rows"),
        ((9, 1, 3, 40, 7, 5, 2, 0, 1), "stride 5: a group of four phases and one of one, few rows"),
        ((6, 1, 1, 1, 9, 2, 0, 0, 1), "one input pixel"),
        // Channel chunks of 16 (the tile accumulates across chunks), including a partial last chunk.
        ((64, 1, 17, 29, 9, 2, 4, 1, 1), "Fast AR-CNN-like 64 -> 1, four full chunks, odd width"),
        ((56, 1, 13, 23, 9, 4, 4, 3, 1), "FSRCNN x4 paper form, 3.5 chunks: runs of 4 then 1 slots"),
        ((33, 2, 11, 19, 9, 3, 4, 2, 1), "x3, 2 outputs, chunks 16 + 16 + 1"),
        ((20, 1, 9, 45, 8, 2, 3, 1, 1), "even kernel s = 2: no extra row/column, chunks 16 + 4"),
        ((17, 1, 7, 21, 7, 5, 2, 0, 2), "stride 5 (groups of 4 and 1 phases, two runs), batch 2"),
    ]

    @Test func matchesReference() {
        var noise = KernelTests.Noise(state: 31)
        for ((inC, outC, h, w, k, s, p, op, batch), why) in Self.cases {
            let x = noise.array(batch * inC * h * w), wt = noise.array(inC * outC * k * k), b = noise.array(outC)
            let ref = Ref.deconv(DTensor([batch, inC, h, w], x.map(Double.init)), wt.map(Double.init), b.map(Double.init),
                                 out: outC, k: k, stride: s, padding: p, outputPadding: op)
            let oh = ref.shape[2], ow = ref.shape[3]
            var results: [[Float]] = []
            for threads in [1, 2, 3] {
                var y = [Float](repeating: .nan, count: batch * outC * oh * ow)
                ConvKernels.transposedForward(batch: batch, inChannels: inC, outChannels: outC, inHeight: h, inWidth: w, kernel: k,
                                              stride: s, padding: p, outHeight: oh, outWidth: ow, input: x, weight: wt, bias: b,
                                              output: &y, threads: threads)
                let (ok, worst) = KernelTests.close(y, ref.v.map { Float($0) }, scale: Float(inC * k * k))
                #expect(ok, "\(why), \(threads) threads: worst \(worst)")
                results.append(y)
            }
            #expect(results[0] == results[1] && results[1] == results[2], "\(why): results depend on the thread count")
        }
    }

    /// The layer takes this path and agrees with the previous one (adjoint of the strided
    /// convolution, then crop and bias) on FSRCNN's x2/x3/x4 deconvolutions.
    @Test func layerMatchesAdjointPath() {
        for s in [2, 3, 4] {
            var layer = ConvTranspose2d(inChannels: 56, outChannels: 1, kernel: 9, stride: s, padding: 4, outputPadding: s - 1)
            layer.parameters = [randomTensor([56, 1, 9, 9], seed: UInt64(s)), randomTensor([1], seed: 40)]
            let x = randomTensor([1, 56, 35, 44], seed: 9)
            let y = layer.forward(x, context: ComputeContext(threads: 2))
            let g = ConvGeometry(inChannels: 1, outChannels: 56, inHeight: 34 * s + 9, inWidth: 43 * s + 9,
                                 kernel: 9, stride: s)
            var full = [Float](repeating: 0, count: g.inputCount)
            ConvKernels.backwardInput(g, batch: 1, outputGradient: x.storage, weight: layer.weight.storage, inputGradient: &full, threads: 2)
            let oh = y.shape[2], ow = y.shape[3]
            var expected = [Float](repeating: 0, count: oh * ow)
            for r in 0..<oh { for c in 0..<ow { expected[r * ow + c] = full[(r + 4) * g.inWidth + c + 4] + layer.bias.storage[0] } }
            #expect(maxAbsDiff(y.storage, expected) <= 1e-5 * (1 + 56 * 81), "x\(s)")
        }
    }
}
