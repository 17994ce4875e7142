import EnhanceNN
import Testing

/// Forward outputs against tools/gen_nn_golden.py (NumPy float64 reference, see the script for
/// each configuration), to 1e-5 absolute; losses to 1e-6 relative; the RNG exactly.
@Suite("Golden forward values")
struct GoldenTests {
    let ctx = ComputeContext(threads: 2)

    private func conv(_ i: Int, _ o: Int, k: Int, stride: Int = 1, padding: Padding = .valid,
                      w: (Int, Int, Double), b: (Int, Int, Double)) -> Conv2d {
        var c = Conv2d(inChannels: i, outChannels: o, kernel: k, stride: stride, padding: padding)
        c.weight = patternTensor(c.weight.shape, w.0, w.1, w.2)
        c.bias = patternTensor(c.bias.shape, b.0, b.1, b.2)
        return c
    }

    private func deconv(_ i: Int, _ o: Int, k: Int, stride: Int, padding: Int, outputPadding: Int,
                        w: (Int, Int, Double), b: (Int, Int, Double)) -> ConvTranspose2d {
        var c = ConvTranspose2d(inChannels: i, outChannels: o, kernel: k, stride: stride, padding: padding, outputPadding: outputPadding)
        c.weight = patternTensor(c.weight.shape, w.0, w.1, w.2)
        c.bias = patternTensor(c.bias.shape, b.0, b.1, b.2)
        return c
    }

    private func prelu(_ c: Int, _ w: (Int, Int, Double)) -> PReLU {
        var p = PReLU(channels: c)
        p.weight = patternTensor([c], w.0, w.1, w.2)
        return p
    }

    private func check(_ layer: some Layer, _ x: Tensor, _ shape: [Int], _ expected: [Float], _ label: String) {
        let y = layer.forward(x, context: ctx)
        #expect(y.shape == shape, "\(label): shape")
        #expect(layer.outputShape(forInput: x.shape) == shape, "\(label): outputShape")
        guard y.shape == shape else { return }
        let d = maxAbsDiff(y.storage, expected)
        #expect(d <= 1e-5, "\(label): max |difference| \(d)")
        // Training forward gives the same values.
        #expect(layer.trainingForward(x, context: ctx).output == y, "\(label): training forward differs")
    }

    @Test func convolutions() {
        check(conv(3, 4, k: 3, padding: .zero, w: (5, 17, 1 / 27.0.squareRoot()), b: (3, 11, 0.1)),
              patternTensor([1, 3, 9, 8], 7, 23), Golden.conv3x3ZeroShape, Golden.conv3x3Zero, "conv3x3Zero")
        check(conv(2, 3, k: 5, stride: 2, padding: .replicate, w: (13, 31, 1 / 50.0.squareRoot()), b: (7, 5, 0.1)),
              patternTensor([2, 2, 11, 10], 11, 29), Golden.conv5x5Stride2ReplicateShape, Golden.conv5x5Stride2Replicate,
              "conv5x5Stride2Replicate")
        check(conv(1, 2, k: 9, w: (19, 41, 1 / 9.0), b: (3, 7, 0.1)),
              patternTensor([1, 1, 12, 13], 17, 37), Golden.conv9x9ValidShape, Golden.conv9x9Valid, "conv9x9Valid")
        check(conv(4, 2, k: 1, w: (3, 13, 0.5), b: (2, 5, 0.1)),
              patternTensor([1, 4, 5, 6], 5, 19), Golden.conv1x1Shape, Golden.conv1x1, "conv1x1")
        check(conv(2, 2, k: 3, stride: 2, padding: .zero, w: (11, 23, 1 / 18.0.squareRoot()), b: (5, 7, 0.1)),
              patternTensor([1, 2, 9, 9], 7, 31), Golden.conv3x3Stride2ZeroShape, Golden.conv3x3Stride2Zero, "conv3x3Stride2Zero")
    }

    @Test func transposedConvolutions() {
        check(deconv(3, 1, k: 9, stride: 3, padding: 4, outputPadding: 2, w: (29, 47, 1 / 27.0.squareRoot()), b: (3, 7, 0.1)),
              patternTensor([1, 3, 5, 4], 23, 43), Golden.deconv9Stride3Shape, Golden.deconv9Stride3, "deconv9Stride3")
        #expect(Golden.deconv9Stride3Shape == [1, 1, 15, 12], "FSRCNN-style deconvolution gives 3x the input size")
        check(deconv(2, 2, k: 4, stride: 2, padding: 1, outputPadding: 0, w: (7, 19, 0.25), b: (3, 5, 0.1)),
              patternTensor([1, 2, 4, 5], 5, 17), Golden.deconv4Stride2Pad1Shape, Golden.deconv4Stride2Pad1, "deconv4Stride2Pad1")
        check(deconv(2, 3, k: 3, stride: 2, padding: 0, outputPadding: 1, w: (11, 31, 0.3), b: (5, 7, 0.1)),
              patternTensor([2, 2, 3, 3], 13, 29), Golden.deconv3Stride2OutPad1Shape, Golden.deconv3Stride2OutPad1,
              "deconv3Stride2OutPad1")
    }

    @Test func activationsAndShuffle() {
        let x = patternTensor([2, 3, 4, 4], 31, 53)
        var p = PReLU(channels: 3)
        p.weight = Tensor(shape: [3], storage: [0.25, -0.1, 0.5])
        check(p, x, Golden.preluShape, Golden.prelu, "prelu")
        check(LeakyReLU(negativeSlope: 0.2), x, Golden.leakyReLUShape, Golden.leakyReLU, "leakyReLU")
        check(ReLU(), x, Golden.reluShape, Golden.relu, "relu")
        check(PixelShuffle(factor: 2), patternTensor([1, 8, 3, 3], 7, 29), Golden.pixelShuffle2Shape, Golden.pixelShuffle2, "pixelShuffle2")
        check(PixelShuffle(factor: 3), patternTensor([2, 9, 2, 2], 5, 41), Golden.pixelShuffle3Shape, Golden.pixelShuffle3, "pixelShuffle3")
    }

    @Test func tinyFSRCNN() {
        let net = Sequential(
            conv(1, 4, k: 5, padding: .zero, w: (3, 17, 0.2), b: (5, 7, 0.1)), prelu(4, (7, 11, 0.3)),
            conv(4, 2, k: 1, w: (5, 19, 0.5), b: (3, 5, 0.1)), prelu(2, (3, 7, 0.3)),
            conv(2, 2, k: 3, padding: .zero, w: (11, 13, 0.3), b: (2, 5, 0.1)), prelu(2, (5, 9, 0.3)),
            conv(2, 4, k: 1, w: (13, 17, 0.5), b: (7, 9, 0.1)), prelu(4, (11, 13, 0.3)),
            deconv(4, 1, k: 9, stride: 2, padding: 4, outputPadding: 1, w: (17, 29, 0.1), b: (3, 5, 0.1)))
        check(net, patternTensor([1, 1, 6, 7], 7, 23), Golden.tinyFSRCNNShape, Golden.tinyFSRCNN, "tinyFSRCNN")
        #expect(Golden.tinyFSRCNNShape == [1, 1, 12, 14])
    }

    @Test func residual() {
        let block = Residual(Sequential(conv(2, 2, k: 3, padding: .zero, w: (5, 23, 0.3), b: (3, 7, 0.1)), ReLU(),
                                        conv(2, 2, k: 3, padding: .replicate, w: (7, 19, 0.3), b: (5, 9, 0.1))))
        check(block, patternTensor([1, 2, 6, 6], 11, 31), Golden.residualShape, Golden.residual, "residual")
    }

    @Test func losses() {
        let p = Tensor(shape: [60], storage: pattern(60, 37, 61))
        let t = Tensor(shape: [60], storage: pattern(60, 41, 67))
        for (loss, expected) in [(Loss.mse, Golden.mseLoss), (.l1, Golden.l1Loss), (.charbonnier(epsilon: 1e-3), Golden.charbonnierLoss)] {
            let v = loss.value(prediction: p, target: t)
            #expect(abs(v - expected) <= 1e-6 * expected, "\(loss): \(v) vs \(expected)")
        }
    }

    @Test func seededGenerator() {
        var g = SeededGenerator(seed: 42)
        #expect((0..<4).map { _ in g.next() } == Golden.rngSeed42)
        var h = SeededGenerator(seed: 7)
        let gauss = (0..<4).map { _ in h.nextGaussian() }
        for (a, b) in zip(gauss, Golden.gaussianSeed7) { #expect(abs(a - b) <= 1e-14, "gaussian \(a) vs \(b)") }
        // State export restores the sequence.
        var a = SeededGenerator(seed: 5)
        _ = a.next()
        var b = SeededGenerator(seed: 0)
        b.state = a.state
        #expect(a.next() == b.next())
    }
}
