/// Limited-memory BFGS on a flat parameter vector: the quasi-Newton direction from the last
/// `memory` (step, gradient change) pairs by the two-loop recursion (Nocedal & Wright,
/// Numerical Optimization, algorithm 7.4), with the initial inverse Hessian `γI`,
/// `γ = sᵀy / yᵀy` of the newest pair. It only proposes directions and keeps the pairs;
/// the caller evaluates the loss and chooses the step length (`iterate` does both with a
/// backtracking line search). Dot products are accumulated in Double.
public struct LBFGS: Sendable {
    public let memory: Int
    /// Pairs kept, oldest first: `s = x₊ − x`, `y = g₊ − g`.
    public private(set) var steps: [[Float]] = []
    public private(set) var gradientChanges: [[Float]] = []
    /// Iterations made (accepted steps).
    public private(set) var iterations = 0

    public init(memory: Int = 10) {
        precondition(memory > 0, "LBFGS: memory must be > 0, got \(memory)")
        self.memory = memory
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "LBFGS: vectors of \(a.count) and \(b.count) elements")
        var s = 0.0
        for i in a.indices { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    /// `−H·gradient`, H the inverse-Hessian approximation of the kept pairs (`−gradient` with none).
    public func direction(gradient: [Float]) -> [Float] {
        var q = gradient.map(Double.init)
        let k = steps.count
        var alpha = [Double](repeating: 0, count: k)
        var rho = [Double](repeating: 0, count: k)
        for i in stride(from: k - 1, through: 0, by: -1) {
            rho[i] = 1 / LBFGS.dot(gradientChanges[i], steps[i])
            var a = 0.0
            for j in q.indices { a += Double(steps[i][j]) * q[j] }
            alpha[i] = rho[i] * a
            for j in q.indices { q[j] -= alpha[i] * Double(gradientChanges[i][j]) }
        }
        if let s = steps.last, let y = gradientChanges.last {
            let gamma = LBFGS.dot(s, y) / LBFGS.dot(y, y)
            for j in q.indices { q[j] *= gamma }
        }
        for i in 0..<k {
            var b = 0.0
            for j in q.indices { b += Double(gradientChanges[i][j]) * q[j] }
            b *= rho[i]
            for j in q.indices { q[j] += Double(steps[i][j]) * (alpha[i] - b) }
        }
        return q.map { Float(-$0) }
    }

    /// Keeps the pair when it has positive curvature (`sᵀy > 0`, else H would stop being
    /// positive definite) and returns whether it was kept; the oldest pair goes beyond `memory`.
    @discardableResult
    public mutating func record(step s: [Float], gradientChange y: [Float]) -> Bool {
        let sy = LBFGS.dot(s, y)
        guard sy > 1e-12 * (LBFGS.dot(s, s).squareRoot() * LBFGS.dot(y, y).squareRoot()), sy > 0 else { return false }
        steps.append(s); gradientChanges.append(y)
        if steps.count > memory { steps.removeFirst(); gradientChanges.removeFirst() }
        return true
    }

    /// Forgets every pair (the next direction is steepest descent).
    public mutating func reset() { steps = []; gradientChanges = [] }

    /// Outcome of one `iterate`.
    public struct Iteration: Sendable, Equatable {
        /// Step length along the direction that was accepted (0: none decreased the loss).
        public var stepLength: Double
        /// Loss evaluations the line search made.
        public var evaluations: Int
    }

    /// One iteration from `x` (loss `loss`, gradient `gradient`, updated in place): the
    /// direction, then step lengths `t₀, t₀/2, …` until the loss falls by at least
    /// `10⁻⁴ · t · (gᵀd)` (Armijo). `t₀` is 1, or with no pair yet the length that moves the
    /// largest element by `firstStep`. When no length within `maximumHalvings` decreases the
    /// loss, `x` stays, the pairs are forgotten, and the step length is 0.
    public mutating func iterate(x: inout [Float], loss: inout Double, gradient: inout [Float],
                                 firstStep: Float, maximumHalvings: Int = 20,
                                 evaluate: ([Float]) -> (loss: Double, gradient: [Float])) -> Iteration {
        var d = direction(gradient: gradient)
        var slope = LBFGS.dot(gradient, d)
        if !(slope < 0) {  // not a descent direction (should not happen with positive curvature pairs)
            reset()
            d = gradient.map { -$0 }
            slope = LBFGS.dot(gradient, d)
        }
        var t = 1.0
        if steps.isEmpty {
            let largest = d.reduce(Float(0)) { max($0, abs($1)) }
            guard largest > 0 else { return Iteration(stepLength: 0, evaluations: 0) }
            t = Double(firstStep / largest)
        }
        var evaluations = 0
        for _ in 0...maximumHalvings {
            let candidate = zip(x, d).map { $0 + Float(t) * $1 }
            let (f, g) = evaluate(candidate)
            evaluations += 1
            if f.isFinite && f <= loss + 1e-4 * t * slope {
                let s = zip(candidate, x).map { $0 - $1 }
                let y = zip(g, gradient).map { $0 - $1 }
                record(step: s, gradientChange: y)
                x = candidate; loss = f; gradient = g
                iterations += 1
                return Iteration(stepLength: t, evaluations: evaluations)
            }
            t *= 0.5
        }
        reset()
        return Iteration(stepLength: 0, evaluations: evaluations)
    }

    /// Pairs and counters for a checkpoint: tensors `"s.i"` and `"y.i"` (oldest first).
    public func exportState() -> OptimizerState {
        var tensors: [String: Tensor] = [:]
        for i in steps.indices {
            tensors["s.\(i)"] = Tensor(shape: [steps[i].count], storage: steps[i])
            tensors["y.\(i)"] = Tensor(shape: [gradientChanges[i].count], storage: gradientChanges[i])
        }
        return OptimizerState(tensors: tensors, metadata: [
            "optimizer": "lbfgs", "step": String(iterations), "memory": String(memory), "pairs": String(steps.count),
        ])
    }

    /// Restores `exportState()` output for vectors of `count` elements.
    public mutating func importState(_ state: OptimizerState, count: Int) throws {
        guard state.metadata["optimizer"] == "lbfgs" else {
            throw OptimizerStateError("kind \(state.metadata["optimizer"] ?? "none"), expected lbfgs")
        }
        guard let step = state.metadata["step"].flatMap(Int.init), let pairs = state.metadata["pairs"].flatMap(Int.init),
              pairs >= 0, pairs <= memory else {
            throw OptimizerStateError("lbfgs state without a valid step and pair count")
        }
        var s: [[Float]] = [], y: [[Float]] = []
        for i in 0..<pairs {
            guard let a = state.tensors["s.\(i)"], let b = state.tensors["y.\(i)"], a.count == count, b.count == count else {
                throw OptimizerStateError("lbfgs pair \(i) missing or not of \(count) elements")
            }
            s.append(a.storage); y.append(b.storage)
        }
        guard state.tensors.count == 2 * pairs else { throw OptimizerStateError("lbfgs state has \(state.tensors.count) tensors for \(pairs) pairs") }
        steps = s; gradientChanges = y; iterations = step
    }
}
