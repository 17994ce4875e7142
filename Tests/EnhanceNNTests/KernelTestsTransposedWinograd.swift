import EnhanceNN
import Testing

/// `ConvKernels.transposedForward` on its Winograd path (stride ≥ 3, phases with 3x3 taps, ≥ 16
/// input channels: FSRCNN's x3 and x4 deconvolutions) against its direct path (`winograd: false`),
/// with and without the fused 1x1 stage in front. Noise in [−1, 1): the two differ by rounding,
/// |winograd − direct| ≤ 2e-7 · (1 + inChannels · k²) here (measured worst about a quarter of that), every
/// element written, and the Winograd results are identical for 1, 2 and 3 threads.
@Suite struct KernelTestsTransposedWinograd {
    /// (in, out, h, w, kernel, stride, padding, outputPadding, batch) and why the case is there.
    static let cases: [((Int, Int, Int, Int, Int, Int, Int, Int, Int), String)] = [
        ((56, 1, 29, 33, 9, 3, 0, 0, 1), "FSRCNN x3 unpadded (nine phases, one group), partial last 8 tiles"),
        ((56, 1, 31, 70, 9, 3, 4, 2, 2), "FSRCNN x3 paper padding, batch 2, several tile rows per worker"),
        ((56, 1, 13, 23, 9, 4, 4, 3, 1), "FSRCNN x4 paper form: 16 phases in two groups (7 of them with zero taps)"),
        ((33, 2, 11, 19, 9, 3, 4, 2, 1), "two output channels: 18 phases"),
        ((16, 1, 5, 4, 7, 3, 1, 0, 1), "7x7 kernel at stride 3, tiny input, odd crop"),
        ((20, 1, 1, 1, 9, 3, 0, 0, 1), "one input pixel"),
    ]

    @Test func matchesDirectPath() {
        var noise = KernelTests.Noise(state: 77)
        for ((inC, outC, h, w, k, s, p, op, batch), why) in Self.cases {
            #expect(ConvKernels.transposedWinogradApplies(inChannels: inC, outChannels: outC, kernel: k, stride: s), "\(why)")
            let oh = (h - 1) * s - 2 * p + k + op, ow = (w - 1) * s - 2 * p + k + op
            let wt = noise.array(inC * outC * k * k), b = noise.array(outC)
            for fused in [false, true] {
                // With the 1x1 stage: 12 channels in, the stage gives inC (PReLU slopes 0.25).
                let stageC = 12
                let x = noise.array(batch * (fused ? stageC : inC) * h * w)
                let w1 = noise.array(inC * stageC), b1 = noise.array(inC), slopes = [Float](repeating: 0.25, count: inC)
                func run(_ winograd: Bool, _ threads: Int) -> [Float] {
                    var y = [Float](repeating: .nan, count: batch * outC * oh * ow)
                    w1.withUnsafeBufferPointer { w1p in
                        b1.withUnsafeBufferPointer { b1p in
                            slopes.withUnsafeBufferPointer { sp in
                                let stage = PointwiseStage(inChannels: stageC, outChannels: inC, weight: w1p.baseAddress!,
                                                           bias: b1p.baseAddress!, slopes: sp.baseAddress!)
                                ConvKernels.transposedForward(batch: batch, inChannels: inC, outChannels: outC, inHeight: h, inWidth: w,
                                                              kernel: k, stride: s, padding: p, outHeight: oh, outWidth: ow, input: x,
                                                              weight: wt, bias: b, output: &y, threads: threads,
                                                              pointwise: fused ? stage : nil, winograd: winograd)
                            }
                        }
                    }
                    return y
                }
                let direct = run(false, 2)
                var results: [[Float]] = []
                for threads in [1, 2, 3] {
                    let y = run(true, threads)
                    let (ok, worst) = KernelTests.close(y, direct, scale: Float(inC * k * k), tol: 2e-7)
                    #expect(ok, "\(why), fused \(fused), \(threads) threads: worst \(worst)")
                    results.append(y)
                }
                #expect(results[0] == results[1] && results[1] == results[2], "\(why), fused \(fused): depends on the thread count")
            }
        }
    }

    /// Shapes the Winograd path leaves to the direct kernel.
    @Test func appliesOnlyWherePhasesHave3x3Taps() {
        #expect(!ConvKernels.transposedWinogradApplies(inChannels: 56, outChannels: 1, kernel: 9, stride: 2))   // 5x5 phases
        #expect(!ConvKernels.transposedWinogradApplies(inChannels: 12, outChannels: 1, kernel: 9, stride: 3))   // few channels
        #expect(!ConvKernels.transposedWinogradApplies(inChannels: 56, outChannels: 1, kernel: 9, stride: 5))   // 2x2 phases
        #expect(ConvKernels.transposedWinogradApplies(inChannels: 56, outChannels: 1, kernel: 9, stride: 3))
        #expect(ConvKernels.transposedWinogradApplies(inChannels: 56, outChannels: 1, kernel: 9, stride: 4))
    }
}
