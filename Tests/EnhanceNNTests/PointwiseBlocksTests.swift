import EnhanceNN
import Testing

/// The register-blocked inference kernels of PointwiseBlocks.swift against the Double reference
/// (`Ref`, independent of the engine):
/// - `ConvKernels.forwardThenPointwise` (k×k conv + PReLU + 1x1 + PReLU, 24-position blocks with
///   the D-channel map in L1; tiny bands fall back to the band-scratch path),
/// - `ConvKernels.directForward` with fused slopes (stride 1, outC % 4 == 0: `wideBlocks`, input
///   read in place, activation in registers),
/// - whole networks through `Sequential.forward` (which also takes the 1x1 + deconvolution fusion
///   through `pointwiseRun`).
/// Inputs and weights are uniform in ±1 (weights scaled by 1/√fan-in), so outputs are of order 1;
/// the Float results must be within 1e-5 · (1 + max |reference|) (float rounding of sums of at
/// most a few hundred products). Every case runs at 1, 2 and 3 threads.
@Suite struct PointwiseBlocksTests {
    static func values(_ n: Int, seed: UInt64, scale: Float) -> [Float] {
        randomTensor([n], seed: seed, scale: scale).storage
    }

    static func expectClose(_ y: [Float], _ ref: DTensor, _ why: String) {
        let scale = ref.v.reduce(0) { max($0, abs($1)) }
        let d = zip(y, ref.v).reduce(0.0) { max($0, abs(Double($1.0) - $1.1)) }
        #expect(y.count == ref.v.count, "\(why)")
        #expect(d <= 1e-5 * (1 + scale), "\(why): max |y − ref| = \(d), max |ref| = \(scale)")
    }

    /// (batch, inC, D, S, k, stride, height, width): FSRCNN's first stage at several sizes (odd
    /// widths, batch 2; more than 4096 input pixels, else D >= 8 takes the sgemm path and is not
    /// fused), channel counts that are not multiples of 4 on both sides, tiny images whose bands
    /// have fewer than 24 wide positions (fallback paths), and strided first layers through their
    /// space-to-depth form (Fast AR-CNN's 9x9 stride 2 → 64 → 32 at odd and even sizes, stride 3).
    @Test func convThenPointwiseMatchesReference() {
        let cases: [(Int, Int, Int, Int, Int, Int, Int, Int)] = [
            (1, 1, 56, 12, 5, 1, 70, 67), (2, 1, 56, 12, 5, 1, 66, 71), (1, 1, 56, 12, 5, 1, 80, 53), (1, 3, 6, 5, 3, 1, 33, 30),
            (1, 2, 6, 7, 3, 1, 8, 9), (1, 1, 4, 4, 5, 1, 5, 5), (3, 1, 7, 8, 3, 1, 4, 27),
            (1, 1, 64, 32, 9, 2, 90, 77), (2, 1, 64, 32, 9, 2, 41, 52), (1, 2, 6, 5, 5, 3, 40, 35), (1, 1, 8, 4, 9, 2, 10, 13),
        ]
        for (i, (n, inC, D, S, k, stride, h, w)) in cases.enumerated() {
            let g = ConvGeometry(inChannels: inC, outChannels: D, inHeight: h, inWidth: w, kernel: k, stride: stride)
            let x = Self.values(n * inC * h * w, seed: UInt64(10 + i), scale: 1)
            let w1 = Self.values(D * inC * k * k, seed: UInt64(20 + i), scale: 1 / Float(inC * k * k).squareRoot())
            let b1 = Self.values(D, seed: UInt64(30 + i), scale: 0.2), s1 = Self.values(D, seed: UInt64(40 + i), scale: 0.5)
            let w2 = Self.values(S * D, seed: UInt64(50 + i), scale: 1 / Float(D).squareRoot())
            let b2 = Self.values(S, seed: UInt64(60 + i), scale: 0.2), s2 = Self.values(S, seed: UInt64(70 + i), scale: 0.5)
            var ref = Ref.conv(DTensor([n, inC, h, w], x.map(Double.init)), w1.map(Double.init), b1.map(Double.init),
                               out: D, k: k, stride: stride, padding: .valid)
            ref = Ref.prelu(ref, s1.map(Double.init))
            ref = Ref.prelu(Ref.conv(ref, w2.map(Double.init), b2.map(Double.init), out: S, k: 1, stride: 1, padding: .valid),
                            s2.map(Double.init))
            let why = "\(n)x\(inC)x\(h)x\(w), \(k)x\(k) stride \(stride) -> \(D) -> \(S)"
            guard ConvKernels.pointwiseFusionApplies(g) else { Issue.record("\(why): fusion does not apply"); continue }
            for threads in [1, 2, 3] {
                var y = [Float](repeating: .nan, count: n * S * g.outHeight * g.outWidth)
                w2.withUnsafeBufferPointer { w2p in b2.withUnsafeBufferPointer { b2p in s2.withUnsafeBufferPointer { s2p in
                    let stage = PointwiseStage(inChannels: D, outChannels: S, weight: w2p.baseAddress!, bias: b2p.baseAddress!,
                                               slopes: s2p.baseAddress!)
                    ConvKernels.forwardThenPointwise(g, batch: n, input: x, weight: w1, bias: b1, slopes: s1, pointwise: stage,
                                                     output: &y, threads: threads)
                } } }
                Self.expectClose(y, ref, "\(why), \(threads) threads")
            }
        }
    }

    /// Stride-1 convolutions with fused PReLU on the in-place block path (outC % 4 == 0, images
    /// of more than 4096 pixels or fewer than 8 output channels, else sgemm) and next to it
    /// (outC % 4 != 0, bands of fewer than 24 wide positions), batch > 1 and odd widths.
    @Test func directForwardWithSlopesMatchesReference() {
        let cases: [(Int, Int, Int, Int, Int, Int)] = [
            (1, 12, 12, 3, 70, 63), (1, 3, 12, 3, 80, 61), (2, 5, 4, 3, 31, 47), (1, 6, 4, 5, 9, 8),
            (1, 6, 7, 3, 30, 41), (2, 4, 4, 3, 3, 10),
        ]
        for (i, (n, inC, outC, k, h, w)) in cases.enumerated() {
            let g = ConvGeometry(inChannels: inC, outChannels: outC, inHeight: h, inWidth: w, kernel: k, stride: 1)
            let x = Self.values(n * inC * h * w, seed: UInt64(110 + i), scale: 1)
            let wt = Self.values(outC * inC * k * k, seed: UInt64(120 + i), scale: 1 / Float(inC * k * k).squareRoot())
            let b = Self.values(outC, seed: UInt64(130 + i), scale: 0.2), s = Self.values(outC, seed: UInt64(140 + i), scale: 0.5)
            let ref = Ref.prelu(Ref.conv(DTensor([n, inC, h, w], x.map(Double.init)), wt.map(Double.init), b.map(Double.init),
                                         out: outC, k: k, stride: 1, padding: .valid), s.map(Double.init))
            for threads in [1, 2, 3] {
                var y = [Float](repeating: .nan, count: n * g.outputCount)
                ConvKernels.directForward(g, batch: n, input: x, weight: wt, bias: b, output: &y, threads: threads, slopes: s)
                Self.expectClose(y, ref, "\(n)x\(inC)x\(h)x\(w) \(k)x\(k) -> \(outC), \(threads) threads")
            }
        }
    }

    /// Whole FSRCNN-like and Fast AR-CNN-like networks through `Sequential.forward` (all fusions,
    /// the strided first layer with its 1x1 too) against the Double reference run layer by layer.
    @Test func networksMatchReference() {
        func fsrcnn(d: Int, s: Int, m: Int, scale: Int) -> Sequential {
            var layers: [any Layer] = [Conv2d(inChannels: 1, outChannels: d, kernel: 5), PReLU(channels: d),
                                       Conv2d(inChannels: d, outChannels: s, kernel: 1), PReLU(channels: s)]
            for _ in 0..<m { layers += [Conv2d(inChannels: s, outChannels: s, kernel: 3), PReLU(channels: s)] as [any Layer] }
            layers += [Conv2d(inChannels: s, outChannels: d, kernel: 1), PReLU(channels: d),
                       ConvTranspose2d(inChannels: d, outChannels: 1, kernel: 9, stride: scale)] as [any Layer]
            return Sequential(layers)
        }
        let cases: [(Sequential, [Int], String)] = [
            (fsrcnn(d: 56, s: 12, m: 4, scale: 2), [1, 1, 78, 69], "FSRCNN x2 (first stage and 3x3s on the block kernels)"),
            (fsrcnn(d: 56, s: 12, m: 4, scale: 2), [1, 1, 45, 51], "FSRCNN x2, small (sgemm convolutions)"),
            (fsrcnn(d: 56, s: 12, m: 2, scale: 3), [2, 1, 33, 29], "FSRCNN x3, batch 2"),
            (fsrcnn(d: 32, s: 5, m: 1, scale: 4), [1, 1, 27, 38], "FSRCNN-s x4"),
            (fsrcnn(d: 16, s: 8, m: 1, scale: 2), [1, 1, 11, 13], "tiny FSRCNN"),
            (Sequential([Conv2d(inChannels: 1, outChannels: 16, kernel: 9, stride: 2), ReLU(),
                         Conv2d(inChannels: 16, outChannels: 8, kernel: 1), ReLU(),
                         Conv2d(inChannels: 8, outChannels: 8, kernel: 3), ReLU(),
                         Conv2d(inChannels: 8, outChannels: 16, kernel: 1), ReLU(),
                         ConvTranspose2d(inChannels: 16, outChannels: 1, kernel: 9, stride: 2)]),
             [1, 1, 75, 68], "small Fast AR-CNN (strided first layer fused with its 1x1)"),
        ]
        for (var net, shape, why) in cases {
            var rng = SeededGenerator(seed: 5)
            net.initializeParameters(rng: &rng)
            net.parameters = net.parameters.enumerated().map { i, p in
                // He-like weights; PReLU slopes and biases of both signs.
                let fanIn = p.shape.count == 4 ? Float(p.shape[1] * p.shape[2] * p.shape[3]) : 4
                return randomTensor(p.shape, seed: UInt64(300 + i), scale: p.shape.count == 4 ? 1.5 / fanIn.squareRoot() : 0.5)
            }
            let x = randomTensor(shape, seed: 17)
            var ref = DTensor(x)
            for layer in net.layers {
                if let c = layer as? Conv2d {
                    ref = Ref.conv(ref, c.weight.storage.map(Double.init), c.bias.storage.map(Double.init), out: c.outChannels,
                                   k: c.kernel, stride: c.stride, padding: c.padding)
                } else if let a = layer as? PReLU {
                    ref = Ref.prelu(ref, a.weight.storage.map(Double.init))
                } else if layer is ReLU {
                    ref = Ref.prelu(ref, [Double](repeating: 0, count: ref.shape[1]))
                } else if let d = layer as? ConvTranspose2d {
                    ref = Ref.deconv(ref, d.weight.storage.map(Double.init), d.bias.storage.map(Double.init), out: d.outChannels,
                                     k: d.kernel, stride: d.stride, padding: d.padding, outputPadding: d.outputPadding)
                } else {
                    Issue.record("\(why): unexpected layer \(layer)")
                }
            }
            for threads in [1, 2, 3] {
                let y = net.forward(x, context: ComputeContext(threads: threads))
                #expect(y.shape == ref.shape, "\(why)")
                Self.expectClose(y.storage, ref, "\(why), \(threads) threads")
            }
        }
    }
}
