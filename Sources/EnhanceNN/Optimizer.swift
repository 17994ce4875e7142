import Foundation

/// Learning-rate factor as a function of the number of updates already made.
public enum LearningRateSchedule: Sendable, Equatable {
    /// Factor 1.
    case constant
    /// `gamma^(step / every)`.
    case step(every: Int, gamma: Double)
    /// Cosine from 1 down to `minimumFactor` over `totalSteps`, then `minimumFactor`.
    case cosine(totalSteps: Int, minimumFactor: Double)

    /// Factor applied to the base learning rate at update number `step` (0-based).
    public func factor(step: Int) -> Double {
        switch self {
        case .constant:
            return 1
        case .step(let every, let gamma):
            precondition(every > 0, "LearningRateSchedule.step: every must be > 0, got \(every)")
            return pow(gamma, Double(step / every))
        case .cosine(let total, let minimum):
            precondition(total > 0, "LearningRateSchedule.cosine: totalSteps must be > 0, got \(total)")
            let t = min(Double(step) / Double(total), 1)
            return minimum + (1 - minimum) * 0.5 * (1 + cos(Double.pi * t))
        }
    }
}

/// Exported optimizer state: everything needed to resume training bit-identically.
/// `tensors` are named `"<slot>.<parameter name>"` (e.g. `"momentum.0.weight"`, `"m.0.weight"`);
/// `metadata` holds the kind, the step count and the hyper-parameters as strings, so the
/// whole state can be stored in a safetensors file (`SafeTensors.write`).
public struct OptimizerState: Sendable {
    public var tensors: [String: Tensor]
    public var metadata: [String: String]
    public init(tensors: [String: Tensor], metadata: [String: String]) {
        self.tensors = tensors
        self.metadata = metadata
    }
}

/// A state that cannot be imported into this optimizer.
public struct OptimizerStateError: Error, CustomStringConvertible, LocalizedError, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "optimizer state: \(message)" }
    public var errorDescription: String? { description }
}

/// Gradient-descent optimizer over a network's parameters (addressed by name).
public protocol Optimizer: Sendable {
    /// Updates already applied.
    var step: Int { get }
    /// Applies one update: `parameters[i]` (named `names[i]`) moves along `-gradients[i]`.
    mutating func update(parameters: inout [Tensor], names: [String], gradients: [Tensor])
    /// Slots and counters for a checkpoint.
    func exportState() -> OptimizerState
    /// Restores `exportState()` output; throws when kind, names or shapes disagree.
    mutating func importState(_ state: OptimizerState) throws
    /// Forgets the history of re-initialised elements of parameter `name`
    /// (`Sequential.reviveUnits`), so that their first updates are those of a fresh parameter.
    mutating func resetState(of name: String, elements: [Int])
}

extension Optimizer {
    /// Updates every parameter of `network` from gradients in `network.parameterNames` order.
    public mutating func update(_ network: inout Sequential, gradients: [Tensor]) {
        var p = network.parameters
        update(parameters: &p, names: network.parameterNames, gradients: gradients)
        network.parameters = p
    }
}

/// Per-parameter learning-rate multiplier lookup: the exact parameter name first, then each
/// shorter dotted prefix (`"2.weight"` → `"2"`), else 1. `["4": 0.1]` slows both `"4.weight"`
/// and `"4.bias"` (SRCNN's last layer).
func learningRateMultiplier(_ table: [String: Float], for name: String) -> Float {
    if table.isEmpty { return 1 }
    var key = Substring(name)
    while true {
        if let m = table[String(key)] { return m }
        guard let dot = key.lastIndex(of: ".") else { return 1 }
        key = key[..<dot]
    }
}

private func checkUpdateArguments(_ p: [Tensor], _ names: [String], _ g: [Tensor], _ who: String) {
    precondition(p.count == names.count && p.count == g.count,
                 "\(who): \(p.count) parameters, \(names.count) names, \(g.count) gradients")
    for i in 0..<p.count {
        precondition(p[i].shape == g[i].shape, "\(who): \(names[i]) has shape \(p[i].shape), gradient \(g[i].shape)")
    }
}

private func importSlots(_ state: OptimizerState, kind: String, slots: [String], into table: inout [String: Tensor]) throws -> Int {
    guard state.metadata["optimizer"] == kind else {
        throw OptimizerStateError("expected \(kind) state, found \(state.metadata["optimizer"] ?? "no optimizer kind")")
    }
    guard let s = state.metadata["step"], let step = Int(s), step >= 0 else {
        throw OptimizerStateError("missing or invalid step count \(state.metadata["step"] ?? "nil")")
    }
    var restored: [String: Tensor] = [:]
    for (key, t) in state.tensors {
        guard let dot = key.firstIndex(of: "."), slots.contains(String(key[..<dot])) else {
            throw OptimizerStateError("unexpected tensor \(key)")
        }
        guard t.isFinite else { throw OptimizerStateError("tensor \(key) holds NaN or Inf") }
        restored[key] = t
    }
    table = restored
    return step
}

/// Stochastic gradient descent with momentum (PyTorch form): `v ← μ·v + g + λ·w`,
/// `w ← w − lr·factor(step)·multiplier(name)·v`.
public struct SGD: Optimizer {
    public var learningRate: Float
    public var momentum: Float
    public var weightDecay: Float
    /// See `learningRateMultiplier`: keys are parameter names or dotted prefixes.
    public var learningRateMultipliers: [String: Float]
    public var schedule: LearningRateSchedule
    public private(set) var step: Int = 0
    /// Momentum buffers keyed `"momentum.<name>"`.
    private var slots: [String: Tensor] = [:]

    public init(learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0,
                learningRateMultipliers: [String: Float] = [:], schedule: LearningRateSchedule = .constant) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.learningRateMultipliers = learningRateMultipliers
        self.schedule = schedule
    }

    public mutating func update(parameters: inout [Tensor], names: [String], gradients: [Tensor]) {
        checkUpdateArguments(parameters, names, gradients, "SGD")
        let base = Double(learningRate) * schedule.factor(step: step)
        for i in 0..<parameters.count {
            let key = "momentum." + names[i]
            var v = slots[key] ?? Tensor(shape: parameters[i].shape)
            slots[key] = nil
            let lr = Float(base) * learningRateMultiplier(learningRateMultipliers, for: names[i])
            let mu = momentum, wd = weightDecay, n = v.count
            v.storage.withUnsafeMutableBufferPointer { vp in
                parameters[i].storage.withUnsafeMutableBufferPointer { wp in
                    gradients[i].storage.withUnsafeBufferPointer { gp in
                        for j in 0..<n {
                            let g = gp[j] + wd * wp[j]
                            vp[j] = mu * vp[j] + g
                            wp[j] -= lr * vp[j]
                        }
                    }
                }
            }
            slots[key] = v
        }
        step += 1
    }

    public func exportState() -> OptimizerState {
        OptimizerState(tensors: slots, metadata: [
            "optimizer": "sgd", "step": String(step), "learning_rate": String(learningRate),
            "momentum": String(momentum), "weight_decay": String(weightDecay),
        ])
    }

    public mutating func importState(_ state: OptimizerState) throws {
        step = try importSlots(state, kind: "sgd", slots: ["momentum"], into: &slots)
    }

    /// The momentum of those elements becomes 0.
    public mutating func resetState(of name: String, elements: [Int]) {
        guard var v = slots["momentum." + name] else { return }
        for e in elements { v.storage[e] = 0 }
        slots["momentum." + name] = v
    }
}

/// Adam (Kingma & Ba 2015) with bias correction; optional L2 weight decay added to the
/// gradient (off by default). Step size `lr·factor(step)·multiplier(name)`.
public struct Adam: Optimizer {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    public var learningRateMultipliers: [String: Float]
    public var schedule: LearningRateSchedule
    public private(set) var step: Int = 0
    /// First and second moments keyed `"m.<name>"` and `"v.<name>"`.
    private var slots: [String: Tensor] = [:]

    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, learningRateMultipliers: [String: Float] = [:],
                schedule: LearningRateSchedule = .constant) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.learningRateMultipliers = learningRateMultipliers
        self.schedule = schedule
    }

    public mutating func update(parameters: inout [Tensor], names: [String], gradients: [Tensor]) {
        checkUpdateArguments(parameters, names, gradients, "Adam")
        let t = Double(step + 1)
        let c1 = 1 - pow(Double(beta1), t), c2 = 1 - pow(Double(beta2), t)
        let base = Double(learningRate) * schedule.factor(step: step)
        for i in 0..<parameters.count {
            let mk = "m." + names[i], vk = "v." + names[i]
            var m = slots[mk] ?? Tensor(shape: parameters[i].shape)
            var v = slots[vk] ?? Tensor(shape: parameters[i].shape)
            slots[mk] = nil; slots[vk] = nil
            let lr = Float(base / c1) * learningRateMultiplier(learningRateMultipliers, for: names[i])
            let rc2 = Float(1 / c2.squareRoot())
            let b1 = beta1, b2 = beta2, eps = epsilon, wd = weightDecay, n = m.count
            m.storage.withUnsafeMutableBufferPointer { mp in
                v.storage.withUnsafeMutableBufferPointer { vp in
                    parameters[i].storage.withUnsafeMutableBufferPointer { wp in
                        gradients[i].storage.withUnsafeBufferPointer { gp in
                            for j in 0..<n {
                                let g = gp[j] + wd * wp[j]
                                mp[j] = b1 * mp[j] + (1 - b1) * g
                                vp[j] = b2 * vp[j] + (1 - b2) * g * g
                                wp[j] -= lr * mp[j] / (vp[j].squareRoot() * rc2 + eps)
                            }
                        }
                    }
                }
            }
            slots[mk] = m; slots[vk] = v
        }
        step += 1
    }

    public func exportState() -> OptimizerState {
        OptimizerState(tensors: slots, metadata: [
            "optimizer": "adam", "step": String(step), "learning_rate": String(learningRate),
            "beta1": String(beta1), "beta2": String(beta2), "epsilon": String(epsilon),
            "weight_decay": String(weightDecay),
        ])
    }

    public mutating func importState(_ state: OptimizerState) throws {
        step = try importSlots(state, kind: "adam", slots: ["m", "v"], into: &slots)
    }

    /// The first moment of those elements becomes 0 and the second the mean second moment of the
    /// tensor's other elements: a zero second moment, with a late step's bias correction, would
    /// make their updates several times the learning rate for about the next thousand steps.
    public mutating func resetState(of name: String, elements: [Int]) {
        guard var m = slots["m." + name], var v = slots["v." + name], !elements.isEmpty else { return }
        let reset = Set(elements)
        var sum = 0.0, count = 0
        for j in 0..<v.count where !reset.contains(j) { sum += Double(v.storage[j]); count += 1 }
        let typical = count > 0 ? Float(sum / Double(count)) : 0
        for e in elements { m.storage[e] = 0; v.storage[e] = typical }
        slots["m." + name] = m; slots["v." + name] = v
    }
}

extension Optimizer {
    /// `importState` after checking that every slot tensor names a parameter of `network`
    /// with the same shape (a checkpoint from another architecture is refused).
    public mutating func importState(_ state: OptimizerState, matching network: Sequential) throws {
        let shapes = Dictionary(uniqueKeysWithValues: zip(network.parameterNames, network.parameters.map(\.shape)))
        for key in state.tensors.keys.sorted() {
            let t = state.tensors[key]!
            guard let dot = key.firstIndex(of: ".") else { throw OptimizerStateError("unexpected tensor \(key)") }
            let name = String(key[key.index(after: dot)...])
            guard let shape = shapes[name] else {
                throw OptimizerStateError("tensor \(key) refers to parameter \(name), which the network does not have")
            }
            guard shape == t.shape else {
                throw OptimizerStateError("tensor \(key) has shape \(t.shape), parameter \(name) has \(shape)")
            }
        }
        try importState(state)
    }
}
