/// Layers applied in order. Parameter names are `"<index>.<local name>"` (`"0.weight"`,
/// `"0.bias"`, `"2.weight"`, ...), as PyTorch's `nn.Sequential`; nested containers add their
/// own prefixes (`"3.body.0.weight"`).
///
/// A `Sequential` is a `Sendable` value holding only weights and structure: inference
/// (`forward`) can run from several threads at once. Training uses `trainingForward`, which
/// returns the activations that `backward` needs.
public struct Sequential: Layer {
    public var layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }
    public init(_ layers: any Layer...) { self.layers = layers }

    public var description: String {
        "Sequential(\n" + layers.enumerated().map { "  (\($0.offset)) \($0.element)" }.joined(separator: "\n") + "\n)"
    }

    public var parameterNames: [String] {
        layers.enumerated().flatMap { i, l in l.parameterNames.map { "\(i).\($0)" } }
    }

    public var parameters: [Tensor] {
        get { layers.flatMap { $0.parameters } }
        set {
            let counts = layers.map { $0.parameterNames.count }
            precondition(newValue.count == counts.reduce(0, +),
                         "Sequential: expected \(counts.reduce(0, +)) parameters, got \(newValue.count)")
            var k = 0
            for i in 0..<layers.count where counts[i] > 0 {
                layers[i].parameters = Array(newValue[k..<(k + counts[i])])
                k += counts[i]
            }
        }
    }

    public mutating func initializeParameters(rng: inout SeededGenerator) {
        for i in 0..<layers.count { layers[i].initializeParameters(rng: &rng) }
    }

    public func outputShape(forInput shape: [Int]) -> [Int] {
        layers.reduce(shape) { $1.outputShape(forInput: $0) }
    }

    public func multiplyAdds(forInput shape: [Int]) -> Int {
        var s = shape, total = 0
        for l in layers {
            total += l.multiplyAdds(forInput: s)
            s = l.outputShape(forInput: s)
        }
        return total
    }

    /// Inference, with fusions that give the same result as running the layers one by one (up to
    /// rounding):
    /// - a `Conv2d` directly followed by a `ChannelSlopeActivation` (ReLU, leaky ReLU, PReLU) runs
    ///   as one step: the convolution applies the activation as it writes its output;
    /// - a convolution on the direct path (stride 1, or strided through its space-to-depth form)
    ///   (+ activation) followed by a 1x1 convolution (+ activation) runs block by block, the
    ///   first layer's output kept in L1 (`Conv2d.canFuse(pointwise:inputShape:)`), unless the
    ///   1x1 feeds a transposed convolution that takes it (next item);
    /// - a 1x1 convolution (+ activation) followed by a direct `ConvTranspose2d` (FSRCNN's
    ///   expansion and deconvolution) computes the rows the deconvolution reads on the fly
    ///   (`ConvTranspose2d.canFuse(pointwise:)`).
    /// Other layers, and patterns a kernel does not handle, run unfused.
    public func forward(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        var x = input
        var i = 0
        while i < layers.count {
            let stage = inferenceStage(at: i, inputShape: x.shape)
            // `consume` hands the only reference to each layer, so elementwise layers work in place.
            x = run(stage, consume x, context: context)
            i = stage.layers.upperBound
        }
        return x
    }

    /// The step `forward` takes at layer `i` for an input of `shape`: the layers it covers and
    /// how they run together.
    public struct InferenceStage: Sendable {
        enum Kind: Sendable {
            case layer
            case convolution(slopes: [Float])
            case convolutionThenPointwise(slopes: [Float]?, next: Int, nextSlopes: [Float]?)
            case pointwiseThenTransposed(slopes: [Float]?, transposed: Int)
        }
        /// Indices of the layers this step computes.
        public let layers: Range<Int>
        let kind: Kind
    }

    /// The fused step `forward` takes at layer `i` (see `forward`).
    public func inferenceStage(at i: Int, inputShape shape: [Int]) -> InferenceStage {
        precondition(i >= 0 && i < layers.count, "Sequential.inferenceStage: layer \(i) of \(layers.count)")
        if let a = convolutionStage(at: i) {
            // A 1x1 that can feed a direct transposed convolution stays with it (that fusion
            // keeps the wider map out of memory); otherwise it joins the convolution before it.
            if let b = convolutionStage(at: a.next), !feedsTransposed(b), a.conv.canFuse(pointwise: b.conv, inputShape: shape) {
                return InferenceStage(layers: i..<b.next, kind: .convolutionThenPointwise(slopes: a.slopes, next: a.next,
                                                                                         nextSlopes: b.slopes))
            }
            if a.next < layers.count, let d = layers[a.next] as? ConvTranspose2d, d.canFuse(pointwise: a.conv),
               shape.count == 4, shape[1] == a.conv.inChannels {
                return InferenceStage(layers: i..<(a.next + 1), kind: .pointwiseThenTransposed(slopes: a.slopes, transposed: a.next))
            }
            if let slopes = a.slopes {
                return InferenceStage(layers: i..<a.next, kind: .convolution(slopes: slopes))
            }
        }
        return InferenceStage(layers: i..<(i + 1), kind: .layer)
    }

    /// Runs one step of `forward` (`stage` from `inferenceStage(at:inputShape:)` for this input's shape).
    public func run(_ stage: InferenceStage, _ x: consuming Tensor, context: ComputeContext) -> Tensor {
        let i = stage.layers.lowerBound
        switch stage.kind {
        case .layer:
            return layers[i].forward(consume x, context: context)
        case .convolution(let slopes):
            return (layers[i] as! Conv2d).forward(consume x, fusedSlopes: slopes, context: context)
        case .convolutionThenPointwise(let slopes, let next, let nextSlopes):
            return (layers[i] as! Conv2d).forward(consume x, fusedSlopes: slopes, thenPointwise: layers[next] as! Conv2d,
                                                  nextSlopes: nextSlopes, context: context)
        case .pointwiseThenTransposed(let slopes, let transposed):
            return (layers[transposed] as! ConvTranspose2d).forward(consume x, afterPointwise: layers[i] as! Conv2d,
                                                                    slopes: slopes, context: context)
        }
    }

    /// Whether the convolution stage `b` is a 1x1 that the following `ConvTranspose2d` can fuse.
    private func feedsTransposed(_ b: (conv: Conv2d, slopes: [Float]?, next: Int)) -> Bool {
        guard b.next < layers.count, let d = layers[b.next] as? ConvTranspose2d else { return false }
        return d.canFuse(pointwise: b.conv)
    }

    /// The `Conv2d` at `i` with the slopes of a directly following activation it can apply
    /// (nil when there is none), and the index after both.
    private func convolutionStage(at i: Int) -> (conv: Conv2d, slopes: [Float]?, next: Int)? {
        guard i < layers.count, let conv = layers[i] as? Conv2d else { return nil }
        if i + 1 < layers.count, let act = layers[i + 1] as? any ChannelSlopeActivation,
           let slopes = act.fusedSlopes(channels: conv.outChannels) {
            return (conv, slopes, i + 2)
        }
        return (conv, nil, i + 1)
    }

    /// One child `Activations` per layer.
    public func trainingForward(_ input: consuming Tensor, context: ComputeContext) -> (output: Tensor, activations: Activations) {
        let inShape = input.shape
        var x = input
        var saved: [Activations] = []
        saved.reserveCapacity(layers.count)
        for l in layers {
            let r = l.trainingForward(consume x, context: context)
            x = r.output
            saved.append(r.activations)
        }
        return (x, Activations(children: saved, inputShape: inShape))
    }

    public func backward(outputGradient: consuming Tensor, activations: Activations, needsInputGradient: Bool,
                         context: ComputeContext) -> Backward {
        precondition(activations.children.count == layers.count,
                     "Sequential.backward: activations for \(activations.children.count) layers, network has \(layers.count)")
        var g: Tensor? = outputGradient
        var grads = [[Tensor]](repeating: [], count: layers.count)
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let needInput = i > 0 || needsInputGradient
            // A layer before which nothing needs gradients can stop the chain.
            if !needInput && layers[i].parameterNames.isEmpty { break }
            guard let gi = g else { break }
            let r = layers[i].backward(outputGradient: gi, activations: activations.children[i],
                                       needsInputGradient: needInput, context: context)
            grads[i] = r.parameterGradients
            g = r.inputGradient
        }
        // Layers skipped above have no parameters, so their gradient lists stay empty.
        return Backward(inputGradient: needsInputGradient ? g : nil, parameterGradients: grads.flatMap { $0 })
    }

    // MARK: Whole-network conveniences

    /// Parameters with their names, in order.
    public var namedParameters: [(name: String, tensor: Tensor)] {
        Array(zip(parameterNames, parameters)).map { (name: $0.0, tensor: $0.1) }
    }

    /// Total number of scalar parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Re-initialises every parameter from a generator seeded with `seed`
    /// (same seed → same weights).
    public mutating func initialize(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        initializeParameters(rng: &rng)
    }

    /// Replaces all parameters from a name → tensor map that must hold exactly this network's
    /// names with the same shapes and finite values. `file` names the source in errors.
    public mutating func load(_ tensors: [String: Tensor], file: String = "weights") throws {
        let names = parameterNames
        var current = parameters
        let expected = Set(names)
        if let missing = names.first(where: { tensors[$0] == nil }) {
            throw WeightFileError(file: file, reason: .missingTensor(missing))
        }
        if let extra = tensors.keys.sorted().first(where: { !expected.contains($0) }) {
            throw WeightFileError(file: file, reason: .unexpectedTensor(extra))
        }
        for (i, name) in names.enumerated() {
            let t = tensors[name]!
            guard t.shape == current[i].shape else {
                throw WeightFileError(file: file, reason: .shapeMismatch(name: name, expected: current[i].shape, found: t.shape))
            }
            guard t.isFinite else { throw WeightFileError(file: file, reason: .nonFinite(name)) }
            current[i] = t
        }
        parameters = current
    }

    /// Forward, loss and backward for one batch: returns the mean loss and the parameter
    /// gradients (order of `parameterNames`).
    public func lossAndGradients(input: Tensor, target: Tensor, loss: Loss,
                                 context: ComputeContext = .default) -> (loss: Double, gradients: [Tensor]) {
        let pass = trainingForward(input, context: context)
        let (value, dy) = loss.evaluate(prediction: pass.output, target: target)
        let b = backward(outputGradient: dy, activations: pass.activations, needsInputGradient: false, context: context)
        return (value, b.parameterGradients)
    }
}

/// Residual block: `y = body(x) + shortcut(x)`, the shortcut being the identity when nil.
/// Both branches must produce the same shape. Parameter names: `"body.<...>"`, `"shortcut.<...>"`.
public struct Residual: Layer {
    public var body: Sequential
    public var shortcut: Sequential?

    public init(_ body: Sequential, shortcut: Sequential? = nil) {
        self.body = body
        self.shortcut = shortcut
    }

    public var description: String {
        "Residual(body: \(body)" + (shortcut.map { ", shortcut: \($0)" } ?? "") + ")"
    }

    public var parameterNames: [String] {
        body.parameterNames.map { "body.\($0)" } + (shortcut?.parameterNames.map { "shortcut.\($0)" } ?? [])
    }

    public var parameters: [Tensor] {
        get { body.parameters + (shortcut?.parameters ?? []) }
        set {
            let nb = body.parameterNames.count
            let ns = shortcut?.parameterNames.count ?? 0
            precondition(newValue.count == nb + ns, "Residual: expected \(nb + ns) parameters, got \(newValue.count)")
            body.parameters = Array(newValue[0..<nb])
            if shortcut != nil { shortcut!.parameters = Array(newValue[nb...]) }
        }
    }

    public mutating func initializeParameters(rng: inout SeededGenerator) {
        body.initializeParameters(rng: &rng)
        shortcut?.initializeParameters(rng: &rng)
    }

    public func outputShape(forInput shape: [Int]) -> [Int] {
        let a = body.outputShape(forInput: shape)
        let b = shortcut?.outputShape(forInput: shape) ?? shape
        precondition(a == b, "Residual: body gives \(a), shortcut gives \(b)")
        return a
    }

    public func multiplyAdds(forInput shape: [Int]) -> Int {
        body.multiplyAdds(forInput: shape) + (shortcut?.multiplyAdds(forInput: shape) ?? 0)
    }

    public func forward(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        let x = input
        let s = shortcut?.forward(x, context: context) ?? x
        var y = body.forward(x, context: context)
        precondition(y.shape == s.shape, "Residual: body gives \(y.shape), shortcut gives \(s.shape)")
        y.add(s)
        return y
    }

    /// Children: body activations, then shortcut activations when there is a shortcut.
    public func trainingForward(_ input: consuming Tensor, context: ComputeContext) -> (output: Tensor, activations: Activations) {
        let x = input
        var children: [Activations] = []
        var s = x
        if let sc = shortcut {
            let r = sc.trainingForward(x, context: context)
            s = r.output
            children.append(r.activations)
        }
        let rb = body.trainingForward(x, context: context)
        var y = rb.output
        precondition(y.shape == s.shape, "Residual: body gives \(y.shape), shortcut gives \(s.shape)")
        y.add(s)
        children.insert(rb.activations, at: 0)
        return (y, Activations(children: children, inputShape: x.shape))
    }

    public func backward(outputGradient: consuming Tensor, activations: Activations, needsInputGradient: Bool,
                         context: ComputeContext) -> Backward {
        let dy = outputGradient
        let rb = body.backward(outputGradient: dy, activations: activations.children[0],
                               needsInputGradient: needsInputGradient, context: context)
        var grads = rb.parameterGradients
        var dx = rb.inputGradient
        if let sc = shortcut {
            let rs = sc.backward(outputGradient: dy, activations: activations.children[1],
                                 needsInputGradient: needsInputGradient, context: context)
            grads += rs.parameterGradients
            if needsInputGradient { dx!.add(rs.inputGradient!) }
        } else if needsInputGradient {
            dx!.add(dy)
        }
        return Backward(inputGradient: dx, parameterGradients: grads)
    }
}
