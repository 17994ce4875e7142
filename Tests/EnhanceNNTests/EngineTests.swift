import Dispatch
import EnhanceNN
import Testing

/// Thread-safety of inference, shapes, names and bookkeeping.
@Suite("Engine")
struct EngineTests {
    private func srcnn(_ f2: Int, padding: Padding) -> Sequential {
        var net = Sequential(Conv2d(inChannels: 1, outChannels: 64, kernel: 9, padding: padding), ReLU(),
                             Conv2d(inChannels: 64, outChannels: 32, kernel: f2, padding: padding), ReLU(),
                             Conv2d(inChannels: 32, outChannels: 1, kernel: 5, padding: padding))
        net.initialize(seed: 1)
        return net
    }

    /// A network is a stateless value: concurrent inference from several threads gives the
    /// serial result bit for bit.
    @Test func concurrentInferenceMatchesSerial() {
        var net = Sequential(Conv2d(inChannels: 1, outChannels: 8, kernel: 5, padding: .replicate), PReLU(channels: 8),
                             Conv2d(inChannels: 8, outChannels: 4, kernel: 3, padding: .zero), PixelShuffle(factor: 2))
        net.initialize(seed: 4)
        let inputs = (0..<4).map { randomTensor([1, 1, 19, 23], seed: UInt64(10 + $0)) }
        let serial = inputs.map { net.forward($0, context: .serial) }
        let results = ResultBox(count: inputs.count)
        DispatchQueue.concurrentPerform(iterations: inputs.count) { i in
            results.set(i, net.forward(inputs[i], context: .serial))
        }
        for i in 0..<inputs.count { #expect(results.get(i) == serial[i]) }
        // Two threads inside the kernels agree with one thread to rounding.
        let two = net.forward(inputs[0], context: ComputeContext(threads: 2))
        #expect(two.maxAbsDifference(serial[0]) <= 1e-5)
    }

    @Test func shapesNamesAndCosts() {
        let valid = srcnn(5, padding: .valid)
        #expect(valid.outputShape(forInput: [2, 1, 33, 33]) == [2, 1, 17, 17])
        #expect(srcnn(1, padding: .valid).outputShape(forInput: [1, 1, 33, 33]) == [1, 1, 21, 21])
        let same = srcnn(5, padding: .replicate)
        #expect(same.outputShape(forInput: [1, 1, 512, 384]) == [1, 1, 512, 384])
        #expect(same.parameterNames == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"])
        #expect(same.parameterCount == 64 * 81 + 64 + 32 * 64 * 25 + 32 + 32 * 25 + 1)
        #expect(same.multiplyAdds(forInput: [1, 1, 512, 512]) == 512 * 512 * (64 * 81 + 32 * 64 * 25 + 32 * 25))

        let deconv = ConvTranspose2d(inChannels: 56, outChannels: 1, kernel: 9, stride: 3, padding: 4, outputPadding: 2)
        #expect(deconv.weight.shape == [56, 1, 9, 9])
        #expect(deconv.outputShape(forInput: [1, 56, 85, 64]) == [1, 1, 255, 192])
        let strided = Conv2d(inChannels: 1, outChannels: 64, kernel: 9, stride: 2, padding: .zero)
        #expect(strided.outputShape(forInput: [1, 1, 32, 31]) == [1, 64, 16, 16])

        let res = Sequential(Conv2d(inChannels: 1, outChannels: 4, kernel: 3, padding: .zero),
                             Residual(Sequential(Conv2d(inChannels: 4, outChannels: 4, kernel: 3, padding: .zero), PReLU(channels: 4))),
                             PixelShuffle(factor: 2))
        #expect(res.parameterNames == ["0.weight", "0.bias", "1.body.0.weight", "1.body.0.bias", "1.body.1.weight"])
        #expect(res.outputShape(forInput: [1, 1, 5, 6]) == [1, 1, 10, 12])
    }

    @Test func parametersRoundTripAndSkippedInputGradient() {
        var net = srcnn(1, padding: .valid)
        var p = net.parameters
        p[0].storage[0] = 42
        net.parameters = p
        #expect((net.layers[0] as! Conv2d).weight.storage[0] == 42)
        #expect(net.namedParameters.first!.name == "0.weight")

        let x = randomTensor([2, 1, 15, 15], seed: 3)
        let pass = net.trainingForward(x, context: .serial)
        let dy = randomTensor(pass.output.shape, seed: 4)
        let a = net.backward(outputGradient: dy, activations: pass.activations, needsInputGradient: false, context: .serial)
        let b = net.backward(outputGradient: dy, activations: pass.activations, needsInputGradient: true, context: .serial)
        #expect(a.inputGradient == nil)
        #expect(b.inputGradient?.shape == x.shape)
        #expect(a.parameterGradients == b.parameterGradients)
        #expect(a.parameterGradients.map(\.shape) == net.parameters.map(\.shape))
    }

    @Test func tensorBasics() {
        var t = Tensor(shape: [2, 3, 4, 5])
        t[1, 2, 3, 4] = 7
        #expect(t.storage[((1 * 3 + 2) * 4 + 3) * 5 + 4] == 7)
        #expect((t.batch, t.channels, t.height, t.width) == (2, 3, 4, 5))
        #expect(t.reshaped([6, 20]).shape == [6, 20])
        #expect(t.sum() == 7)
        t.storage[0] = .nan
        #expect(!t.isFinite)
    }

    @Test func learningRateMultiplierLookup() {
        // "4" slows both parameters of layer 4; an exact name wins over its prefix.
        var p = [Tensor(shape: [1], storage: [0]), Tensor(shape: [1], storage: [0]), Tensor(shape: [1], storage: [0])]
        var sgd = SGD(learningRate: 1, momentum: 0, learningRateMultipliers: ["4": 0.1, "4.bias": 0.5])
        let g = [Tensor(shape: [1], storage: [1]), Tensor(shape: [1], storage: [1]), Tensor(shape: [1], storage: [1])]
        sgd.update(parameters: &p, names: ["0.weight", "4.weight", "4.bias"], gradients: g)
        #expect(p.map { $0.storage[0] } == [-1, -0.1, -0.5])
    }
}

/// Collects results written from concurrent workers (disjoint indices, guarded by a lock).
private final class ResultBox: @unchecked Sendable {
    private var values: [Tensor?]
    private let lock = DispatchQueue(label: "ResultBox")
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ t: Tensor) { lock.sync { values[i] = t } }
    func get(_ i: Int) -> Tensor? { lock.sync { values[i] } }
}
