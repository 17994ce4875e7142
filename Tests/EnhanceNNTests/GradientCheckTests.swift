import EnhanceNN
import Testing

/// Finite-difference gradient checks: the engine's Float analytic gradients against central
/// differences (h = 1e-6) of an independent Double reference forward. Tolerance: the largest
/// absolute error of each gradient, divided by the largest |numeric gradient|, is ≤ 1e-4
/// (float32 rounding of sums of a few hundred products); forward outputs agree to 1e-5 relative.
private let gradientTolerance = 1e-4
private let forwardTolerance = 1e-5

/// Random parameter values (so biases and slopes are not trivially 0 or 0.25).
private func randomized<L: Layer>(_ layer: L, seed: UInt64) -> L {
    var l = layer
    l.parameters = l.parameters.enumerated().map { i, t in randomTensor(t.shape, seed: seed &+ UInt64(i), scale: 0.5) }
    return l
}

private func expectPasses(_ r: GradientCheckResult, _ label: String) {
    #expect(r.forwardError <= forwardTolerance, "\(label): forward error \(r.forwardError)")
    for (name, e) in r.gradientErrors {
        #expect(e <= gradientTolerance, "\(label): gradient of \(name) relative error \(e)")
    }
}

struct ConvCase: Sendable, CustomStringConvertible {
    let kernel: Int, stride: Int, padding: Padding
    var description: String { "k\(kernel) s\(stride) \(padding)" }
}

private let convCases: [ConvCase] = [1, 3, 5].flatMap { k in
    [1, 2].flatMap { s in Padding.allCases.map { ConvCase(kernel: k, stride: s, padding: $0) } }
}

@Suite("Gradient checks")
struct GradientCheckTests {
    @Test("Conv2d", arguments: convCases)
    func conv(_ c: ConvCase) {
        let layer = randomized(Conv2d(inChannels: 2, outChannels: 3, kernel: c.kernel, stride: c.stride, padding: c.padding), seed: 1)
        let x = randomTensor([2, 2, 7, 6], seed: 2)
        let r = gradientCheck(layer, input: x) { x, p in
            Ref.conv(x, p[0], p[1], out: 3, k: c.kernel, stride: c.stride, padding: c.padding)
        }
        expectPasses(r, "Conv2d \(c)")
    }

    struct DeconvCase: Sendable, CustomStringConvertible {
        let kernel: Int, stride: Int, padding: Int, outputPadding: Int
        var description: String { "k\(kernel) s\(stride) p\(padding) op\(outputPadding)" }
    }

    @Test("ConvTranspose2d", arguments: [
        DeconvCase(kernel: 9, stride: 3, padding: 4, outputPadding: 2),
        DeconvCase(kernel: 9, stride: 2, padding: 4, outputPadding: 1),
        DeconvCase(kernel: 4, stride: 2, padding: 1, outputPadding: 0),
        DeconvCase(kernel: 3, stride: 2, padding: 0, outputPadding: 1),
        DeconvCase(kernel: 3, stride: 1, padding: 1, outputPadding: 0),
        DeconvCase(kernel: 5, stride: 2, padding: 2, outputPadding: 1),
        DeconvCase(kernel: 9, stride: 2, padding: 0, outputPadding: 0),  // FSRCNN's unpadded training form: dy is used uncopied
    ])
    func deconv(_ c: DeconvCase) {
        let layer = randomized(ConvTranspose2d(inChannels: 3, outChannels: 2, kernel: c.kernel, stride: c.stride,
                                               padding: c.padding, outputPadding: c.outputPadding), seed: 3)
        let x = randomTensor([2, 3, 4, 3], seed: 4)
        let r = gradientCheck(layer, input: x) { x, p in
            Ref.deconv(x, p[0], p[1], out: 2, k: c.kernel, stride: c.stride, padding: c.padding, outputPadding: c.outputPadding)
        }
        expectPasses(r, "ConvTranspose2d \(c)")
    }

    @Test func relu() {
        let r = gradientCheck(ReLU(), input: randomTensor([2, 3, 4, 5], seed: 5)) { x, _ in Ref.relu(x) }
        expectPasses(r, "ReLU")
    }

    @Test func leakyReLU() {
        let r = gradientCheck(LeakyReLU(negativeSlope: 0.2), input: randomTensor([2, 3, 4, 5], seed: 6)) { x, _ in
            Ref.leaky(x, Double(Float(0.2)))
        }
        expectPasses(r, "LeakyReLU")
    }

    @Test("PReLU", arguments: [3, 1])
    func prelu(channels: Int) {
        let layer = randomized(PReLU(channels: channels), seed: 7)
        let r = gradientCheck(layer, input: randomTensor([2, 3, 4, 5], seed: 8)) { x, p in Ref.prelu(x, p[0]) }
        expectPasses(r, "PReLU(\(channels))")
    }

    @Test("PixelShuffle", arguments: [2, 3])
    func pixelShuffle(factor: Int) {
        let r = gradientCheck(PixelShuffle(factor: factor), input: randomTensor([2, 2 * factor * factor, 3, 4], seed: 9)) { x, _ in
            Ref.pixelShuffle(x, factor)
        }
        expectPasses(r, "PixelShuffle(\(factor))")
    }

    @Test func residualIdentity() {
        let body = Sequential(Conv2d(inChannels: 2, outChannels: 2, kernel: 3, padding: .zero), ReLU(),
                              Conv2d(inChannels: 2, outChannels: 2, kernel: 3, padding: .replicate))
        let layer = randomized(Residual(body), seed: 10)
        #expect(layer.parameterNames == ["body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"])
        let r = gradientCheck(layer, input: randomTensor([2, 2, 5, 6], seed: 11)) { x, p in
            let h = Ref.relu(Ref.conv(x, p[0], p[1], out: 2, k: 3, stride: 1, padding: .zero))
            return Ref.add(x, Ref.conv(h, p[2], p[3], out: 2, k: 3, stride: 1, padding: .replicate))
        }
        expectPasses(r, "Residual")
    }

    @Test func residualWithShortcut() {
        // Sub-pixel body against a transposed-convolution shortcut: both 2x upscale.
        let body = Sequential(Conv2d(inChannels: 1, outChannels: 4, kernel: 3, padding: .zero), PixelShuffle(factor: 2))
        let shortcut = Sequential(ConvTranspose2d(inChannels: 1, outChannels: 1, kernel: 4, stride: 2, padding: 1))
        let layer = randomized(Residual(body, shortcut: shortcut), seed: 12)
        #expect(layer.parameterNames == ["body.0.weight", "body.0.bias", "shortcut.0.weight", "shortcut.0.bias"])
        let r = gradientCheck(layer, input: randomTensor([2, 1, 4, 5], seed: 13)) { x, p in
            let a = Ref.pixelShuffle(Ref.conv(x, p[0], p[1], out: 4, k: 3, stride: 1, padding: .zero), 2)
            return Ref.add(a, Ref.deconv(x, p[2], p[3], out: 1, k: 4, stride: 2, padding: 1, outputPadding: 0))
        }
        expectPasses(r, "Residual with shortcut")
    }

    @Test func threeLayerNetwork() {
        let net = randomized(Sequential(
            Conv2d(inChannels: 1, outChannels: 4, kernel: 5, padding: .replicate), ReLU(),
            Conv2d(inChannels: 4, outChannels: 3, kernel: 1), PReLU(channels: 3),
            Conv2d(inChannels: 3, outChannels: 1, kernel: 3, padding: .zero)), seed: 14)
        #expect(net.parameterNames == ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "4.weight", "4.bias"])
        let r = gradientCheck(net, input: randomTensor([2, 1, 7, 6], seed: 15)) { x, p in
            var h = Ref.relu(Ref.conv(x, p[0], p[1], out: 4, k: 5, stride: 1, padding: .replicate))
            h = Ref.prelu(Ref.conv(h, p[2], p[3], out: 3, k: 1, stride: 1, padding: .valid), p[4])
            return Ref.conv(h, p[5], p[6], out: 1, k: 3, stride: 1, padding: .zero)
        }
        expectPasses(r, "3-layer network")
    }

    @Test func fsrcnnLikeNetwork() {
        let net = randomized(Sequential(
            Conv2d(inChannels: 1, outChannels: 3, kernel: 3, padding: .zero), PReLU(channels: 3),
            ConvTranspose2d(inChannels: 3, outChannels: 1, kernel: 9, stride: 2, padding: 4, outputPadding: 1)), seed: 16)
        let r = gradientCheck(net, input: randomTensor([1, 1, 4, 5], seed: 17)) { x, p in
            let h = Ref.prelu(Ref.conv(x, p[0], p[1], out: 3, k: 3, stride: 1, padding: .zero), p[2])
            return Ref.deconv(h, p[3], p[4], out: 1, k: 9, stride: 2, padding: 4, outputPadding: 1)
        }
        expectPasses(r, "conv-PReLU-deconv network")
    }

    @Test("Loss gradients", arguments: [Loss.mse, .l1, .charbonnier(epsilon: 1e-3), .charbonnier(epsilon: 0.5)])
    func loss(_ loss: Loss) {
        let p = randomTensor([2, 1, 5, 4], seed: 18)
        let t = randomTensor([2, 1, 5, 4], seed: 19)
        func reference(_ pv: [Double]) -> Double {
            var s = 0.0
            for i in 0..<pv.count {
                let d = pv[i] - Double(t.storage[i])
                switch loss {
                case .mse: s += d * d
                case .l1: s += abs(d)
                case .charbonnier(let e): s += (d * d + Double(e) * Double(e)).squareRoot()
                }
            }
            return s / Double(pv.count)
        }
        let (value, grad) = loss.evaluate(prediction: p, target: t)
        let pD = p.storage.map(Double.init)
        let ref = reference(pD)
        #expect(abs(value - ref) <= 1e-6 * abs(ref), "\(loss): value \(value) vs \(ref)")
        #expect(loss.value(prediction: p, target: t) == value)
        #expect(loss.gradient(prediction: p, target: t) == grad)
        let err = lossGradientError(grad, at: pD, reference: reference)
        #expect(err <= gradientTolerance, "\(loss): gradient relative error \(err)")
    }
}

/// Largest difference between `gradient` and central differences of `reference` at `point`,
/// relative to the largest numeric element.
private func lossGradientError(_ gradient: Tensor, at point: [Double], reference: ([Double]) -> Double) -> Double {
    let h = 1e-6
    var numeric = [Double](repeating: 0, count: point.count)
    for i in 0..<point.count {
        var a = point, b = point
        a[i] += h; b[i] -= h
        numeric[i] = (reference(a) - reference(b)) / (2 * h)
    }
    let m = numeric.map(abs).max()!
    return zip(gradient.storage, numeric).map { abs(Double($0) - $1) }.max()! / m
}

extension GradientCheckTests {
    /// Per-sample weights: sample `b`'s elements count `w_b` times in the mean, in the value and
    /// in the gradient (checked against finite differences of the weighted reference); weights
    /// of 1 give the unweighted loss bit for bit.
    @Test("Weighted loss gradients", arguments: [Loss.mse, .l1, .charbonnier(epsilon: 0.5)])
    func weightedLoss(_ loss: Loss) {
        let p = randomTensor([3, 1, 4, 5], seed: 21)
        let t = randomTensor([3, 1, 4, 5], seed: 22)
        let weights: [Float] = [0.25, 2, 0.75]
        let perSample = 20
        func reference(_ pv: [Double]) -> Double {
            var s = 0.0
            for i in 0..<pv.count {
                let d = pv[i] - Double(t.storage[i])
                let e: Double
                switch loss {
                case .mse: e = d * d
                case .l1: e = abs(d)
                case .charbonnier(let eps): e = (d * d + Double(eps) * Double(eps)).squareRoot()
                }
                s += Double(weights[i / perSample]) * e
            }
            return s / Double(pv.count)
        }
        let (value, grad) = loss.evaluate(prediction: p, target: t, sampleWeights: weights)
        let pD = p.storage.map(Double.init)
        let ref = reference(pD)
        #expect(abs(value - ref) <= 1e-6 * abs(ref), "\(loss): weighted value \(value) vs \(ref)")
        let err = lossGradientError(grad, at: pD, reference: reference)
        #expect(err <= gradientTolerance, "\(loss): weighted gradient relative error \(err)")
        let ones = loss.evaluate(prediction: p, target: t, sampleWeights: [1, 1, 1])
        let plain = loss.evaluate(prediction: p, target: t)
        #expect(ones.gradient == plain.gradient && abs(ones.value - plain.value) <= 1e-12 * plain.value)
    }
}
