/// What a layer keeps from a training forward pass for its backward pass.
///
/// Returned by `trainingForward` and handed back to `backward`; the layer itself stores
/// nothing per call, so a layer (and a whole network) is a stateless `Sendable` value.
public struct Activations: Sendable {
    /// Tensors the layer saved (its input, padded input or output, depending on the layer).
    public var tensors: [Tensor]
    /// Saved state of sub-layers (containers such as `Sequential` and `Residual`).
    public var children: [Activations]
    /// Shape of the input the pass saw.
    public var inputShape: [Int]

    public init(tensors: [Tensor] = [], children: [Activations] = [], inputShape: [Int]) {
        self.tensors = tensors
        self.children = children
        self.inputShape = inputShape
    }
}

/// Result of a layer's backward pass.
public struct Backward: Sendable {
    /// dLoss/dInput, or nil when the caller asked not to compute it.
    public var inputGradient: Tensor?
    /// dLoss/dParameter, in the order of `parameterNames`.
    public var parameterGradients: [Tensor]

    public init(inputGradient: Tensor?, parameterGradients: [Tensor]) {
        self.inputGradient = inputGradient
        self.parameterGradients = parameterGradients
    }
}

/// A differentiable NCHW layer. Implementations are immutable during inference:
/// `forward` may be called from several threads at once.
public protocol Layer: Sendable, CustomStringConvertible {
    /// Parameter names local to the layer (e.g. `["weight", "bias"]`), PyTorch style;
    /// containers prefix their children's names (`"0.weight"`, `"2.body.1.weight"`).
    var parameterNames: [String] { get }
    /// Parameter values in the order of `parameterNames`. Setting requires the same shapes.
    var parameters: [Tensor] { get set }
    /// Output shape for an NCHW input shape (precondition on an impossible input).
    func outputShape(forInput shape: [Int]) -> [Int]
    /// Multiply-adds of one forward pass for an input shape (for benchmarks; 0 if negligible).
    func multiplyAdds(forInput shape: [Int]) -> Int
    /// Inference. The input is consumed so that elementwise layers can work in place.
    func forward(_ input: consuming Tensor, context: ComputeContext) -> Tensor
    /// Forward pass that also returns what `backward` needs.
    func trainingForward(_ input: consuming Tensor, context: ComputeContext) -> (output: Tensor, activations: Activations)
    /// Gradients from the loss gradient at the output; `needsInputGradient: false` lets the
    /// first layer of a network skip dLoss/dInput.
    func backward(outputGradient: consuming Tensor, activations: Activations, needsInputGradient: Bool,
                  context: ComputeContext) -> Backward
    /// Fills the parameters with the layer's initialisers.
    mutating func initializeParameters(rng: inout SeededGenerator)
}

extension Layer {
    public var parameterNames: [String] { [] }
    public var parameters: [Tensor] {
        get { [] }
        set { precondition(newValue.isEmpty, "\(Self.self) has no parameters, got \(newValue.count)") }
    }
    public func multiplyAdds(forInput shape: [Int]) -> Int { 0 }
    public mutating func initializeParameters(rng: inout SeededGenerator) {}

    /// Inference with the default context (all cores).
    public func callAsFunction(_ input: Tensor, context: ComputeContext = .default) -> Tensor {
        forward(input, context: context)
    }
}

/// Checks an NCHW shape and returns its extents.
@inline(__always)
func nchw(_ shape: [Int], _ who: String) -> (n: Int, c: Int, h: Int, w: Int) {
    precondition(shape.count == 4, "\(who): expected an NCHW input, got shape \(shape)")
    return (shape[0], shape[1], shape[2], shape[3])
}

/// Replaces parameter values after checking count and shapes.
@inline(__always)
func checkedParameters(_ new: [Tensor], against old: [Tensor], names: [String], _ who: String) -> [Tensor] {
    precondition(new.count == old.count, "\(who): expected \(old.count) parameters, got \(new.count)")
    for i in 0..<new.count {
        precondition(new[i].shape == old[i].shape,
                     "\(who).\(names[i]): expected shape \(old[i].shape), got \(new[i].shape)")
    }
    return new
}
