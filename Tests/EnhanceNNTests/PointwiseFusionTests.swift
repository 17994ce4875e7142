import EnhanceNN
import Testing

/// `Sequential.forward` fuses (a) a stride-1 convolution (+ activation) with a following 1x1
/// convolution (+ activation), band by band, and (b) a 1x1 convolution (+ activation) with a
/// following direct `ConvTranspose2d`, row by row. Both must equal running the layers one by one
/// (`trainingForward`, which never fuses). The fused kernels add the same products in the same
/// order as the direct kernels; the unfused 1x1 layers go through sgemm, which orders its sums
/// differently, so the tolerance is rounding-level: 2e-6 · (1 + max |output|) (observed ≤ 1.6e-6 ×
/// max |output|). A deconvolution on the Winograd path (stride ≥ 3, TransposedWinograd.swift)
/// magnifies those rounding differences through its transforms: 1e-5 · (1 + max |output|) there
/// (observed ≤ 4.1e-6 × max |output|). Every case runs with 1, 2 and 3 threads.
@Suite struct PointwiseFusionTests {
    static func fsrcnn(d: Int = 56, s: Int = 12, m: Int = 4, scale: Int = 2, padding: Int = 0, outputPadding: Int = 0) -> Sequential {
        var layers: [any Layer] = [Conv2d(inChannels: 1, outChannels: d, kernel: 5), PReLU(channels: d),
                                   Conv2d(inChannels: d, outChannels: s, kernel: 1), PReLU(channels: s)]
        for _ in 0..<m { layers += [Conv2d(inChannels: s, outChannels: s, kernel: 3), PReLU(channels: s)] as [any Layer] }
        layers += [Conv2d(inChannels: s, outChannels: d, kernel: 1), PReLU(channels: d),
                   ConvTranspose2d(inChannels: d, outChannels: 1, kernel: 9, stride: scale, padding: padding,
                                   outputPadding: outputPadding)] as [any Layer]
        return Sequential(layers)
    }

    /// Networks and input shapes: FSRCNN at several sizes (odd widths, batch 2, tiny images where
    /// only the deconvolution fusion applies), other channel counts (not multiples of 4),
    /// activations missing or shared, replicate padding, stride 3 and several output channels.
    static func cases() -> [(Sequential, [Int], String)] {
        [
            (fsrcnn(), [1, 1, 72, 69], "FSRCNN x2, 72x69"),
            (fsrcnn(), [2, 1, 67, 81], "FSRCNN x2, batch 2, odd width"),
            (fsrcnn(scale: 3, padding: 4, outputPadding: 2), [1, 1, 65, 97], "FSRCNN x3 with crop"),
            (fsrcnn(scale: 4), [1, 1, 15, 17], "FSRCNN x4, tiny (first conv on sgemm: only the deconvolution fused)"),
            (fsrcnn(d: 32, s: 5, m: 1), [1, 1, 75, 70], "FSRCNN-s (32, 5, 1)"),
            (Sequential(Conv2d(inChannels: 3, outChannels: 10, kernel: 3, padding: .replicate), LeakyReLU(negativeSlope: 0.1),
                        Conv2d(inChannels: 10, outChannels: 7, kernel: 1),
                        Conv2d(inChannels: 7, outChannels: 18, kernel: 1), ReLU(),
                        ConvTranspose2d(inChannels: 18, outChannels: 3, kernel: 7, stride: 3, padding: 2)),
             [2, 3, 66, 71], "replicate padding, 10/7/18 channels, no activation after the 1x1, 3 output channels"),
            (Sequential(Conv2d(inChannels: 2, outChannels: 9, kernel: 5), PReLU(channels: 1),
                        Conv2d(inChannels: 9, outChannels: 4, kernel: 1), PReLU(channels: 4),
                        Conv2d(inChannels: 4, outChannels: 6, kernel: 1),
                        ConvTranspose2d(inChannels: 6, outChannels: 2, kernel: 4, stride: 2, padding: 1)),
             [1, 2, 90, 61], "shared PReLU slope, 1x1 without activation into the deconvolution"),
        ]
    }

    @Test func fusedEqualsLayerByLayer() {
        for (var net, shape, why) in Self.cases() {
            net.initialize(seed: 4)
            // Mixed-sign slopes and biases so that both branches of the activations are taken.
            net.parameters = net.parameters.enumerated().map { i, p in randomTensor(p.shape, seed: UInt64(200 + i), scale: 0.5) }
            let x = randomTensor(shape, seed: 9)
            let winograd = net.layers.contains { layer in
                (layer as? ConvTranspose2d).map {
                    ConvKernels.transposedWinogradApplies(inChannels: $0.inChannels, outChannels: $0.outChannels,
                                                          kernel: $0.kernel, stride: $0.stride)
                } ?? false
            }
            let tolerance: Float = winograd ? 1e-5 : 2e-6
            for threads in [1, 2, 3] {
                let context = ComputeContext(threads: threads)
                let fused = net.forward(x, context: context)
                let plain = net.trainingForward(x, context: context).output
                #expect(fused.shape == plain.shape, "\(why)")
                let scale = plain.storage.reduce(0) { max($0, abs($1)) }
                let d = maxAbsDiff(fused.storage, plain.storage)
                #expect(d <= tolerance * (1 + scale), "\(why), \(threads) threads: max |fused − plain| = \(d), max |y| = \(scale)")
            }
        }
    }

    /// The patterns are recognised where they should be, and not where a kernel cannot take them.
    @Test func applicability() {
        let net = Self.fsrcnn()
        let first = net.layers[0] as! Conv2d, shrink = net.layers[2] as! Conv2d
        let expand = net.layers[12] as! Conv2d, deconv = net.layers[14] as! ConvTranspose2d
        #expect(first.canFuse(pointwise: shrink, inputShape: [1, 1, 272, 272]))
        #expect(!first.canFuse(pointwise: shrink, inputShape: [1, 1, 20, 20]))       // small: sgemm path, in cache anyway
        #expect(!first.canFuse(pointwise: expand, inputShape: [1, 1, 272, 272]))     // channel mismatch
        #expect(!shrink.canFuse(pointwise: expand, inputShape: [1, 56, 100, 100]))   // shrink is 1x1 itself: sgemm path
        #expect(deconv.canFuse(pointwise: expand))
        #expect(!deconv.canFuse(pointwise: shrink))
        // Winograd geometry (3x3, ≥ 16 channels each side) stays unfused.
        let wide = Conv2d(inChannels: 32, outChannels: 32, kernel: 3), point = Conv2d(inChannels: 32, outChannels: 8, kernel: 1)
        #expect(ConvKernels.useWinograd == !wide.canFuse(pointwise: point, inputShape: [1, 32, 100, 100]))
        // Stride-1 deconvolution: no direct kernel, so no fusion.
        #expect(!ConvTranspose2d(inChannels: 56, outChannels: 1, kernel: 3).canFuse(pointwise: expand))
    }
}
