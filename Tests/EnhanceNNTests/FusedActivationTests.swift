import EnhanceNN
import Testing

/// `Sequential.forward` runs a `Conv2d` followed by ReLU / LeakyReLU / PReLU as one step (the
/// activation applied by the convolution kernel as it writes). It must equal running the layers
/// one by one (`trainingForward`, which never fuses): the convolution is the same computation,
/// so the tolerance is 1e-6 · (1 + inChannels·k²) (only the order of a few float operations of
/// the sgemm path may differ). Each case runs with 1, 2 and 3 threads.
@Suite struct FusedActivationTests {
    /// Networks covering the kernel paths: direct (5x5, 3x3 on large images, strided), sgemm
    /// (1x1, small 3x3), Winograd (3x3 with ≥ 16 channels), and a PReLU with one shared slope.
    static func networks() -> [(Sequential, [Int], String)] {
        [
            (Sequential(Conv2d(inChannels: 1, outChannels: 56, kernel: 5), PReLU(channels: 56),
                        Conv2d(inChannels: 56, outChannels: 12, kernel: 1), PReLU(channels: 12),
                        Conv2d(inChannels: 12, outChannels: 12, kernel: 3), PReLU(channels: 12),
                        Conv2d(inChannels: 12, outChannels: 56, kernel: 1), PReLU(channels: 56),
                        ConvTranspose2d(inChannels: 56, outChannels: 1, kernel: 9, stride: 2)),
             [1, 1, 47, 53], "FSRCNN-like chain (direct, sgemm 1x1, deconvolution)"),
            (Sequential(Conv2d(inChannels: 3, outChannels: 20, kernel: 3, padding: .replicate), ReLU(),
                        Conv2d(inChannels: 20, outChannels: 20, kernel: 3), LeakyReLU(negativeSlope: 0.1),
                        Conv2d(inChannels: 20, outChannels: 8, kernel: 3, stride: 2), PReLU(channels: 1)),
             [2, 3, 70, 66], "same padding + ReLU, Winograd + leaky, strided + shared PReLU, batch 2"),
            (Sequential(Conv2d(inChannels: 4, outChannels: 9, kernel: 3), PReLU(channels: 9),
                        Conv2d(inChannels: 9, outChannels: 9, kernel: 1), ReLU()),
             [1, 4, 20, 23], "small image: sgemm 3x3 path, channels not a multiple of 8"),
        ]
    }

    @Test func fusedEqualsLayerByLayer() {
        for (var net, shape, why) in Self.networks() {
            net.initialize(seed: 4)
            // Mixed-sign slopes and biases so that both branches of the activation are taken.
            net.parameters = net.parameters.enumerated().map { i, p in randomTensor(p.shape, seed: UInt64(100 + i), scale: 0.5) }
            let x = randomTensor(shape, seed: 8)
            for threads in [1, 2, 3] {
                let context = ComputeContext(threads: threads)
                let fused = net.forward(x, context: context)
                let plain = net.trainingForward(x, context: context).output
                #expect(fused.shape == plain.shape, "\(why)")
                let d = maxAbsDiff(fused.storage, plain.storage)
                #expect(d <= 1e-6 * (1 + 56 * 25), "\(why), \(threads) threads: max |fused − plain| = \(d)")
            }
        }
    }

    /// Each activation's fused slopes, and nil where the unfused layer would reject the input.
    @Test func slopes() {
        #expect(ReLU().fusedSlopes(channels: 3) == [0, 0, 0])
        #expect(LeakyReLU(negativeSlope: 0.2).fusedSlopes(channels: 2) == [0.2, 0.2])
        var p = PReLU(channels: 2)
        p.weight = Tensor(shape: [2], storage: [0.1, -0.3])
        #expect(p.fusedSlopes(channels: 2) == [0.1, -0.3])
        #expect(p.fusedSlopes(channels: 3) == nil)
        #expect(PReLU(channels: 1).fusedSlopes(channels: 4) == [0.25, 0.25, 0.25, 0.25])
    }
}
