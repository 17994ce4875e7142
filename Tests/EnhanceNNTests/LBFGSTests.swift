import EnhanceNN
import Foundation
import Testing

@Suite struct LBFGSTests {
    /// A symmetric positive definite n×n matrix (row-major) with eigenvalues spread over `spread`.
    static func spd(_ n: Int, seed: UInt64, spread: Double) -> [Double] {
        let q = randomTensor([n, n], seed: seed).storage.map(Double.init)
        // Gram–Schmidt on the rows of q gives an orthonormal basis.
        var basis: [[Double]] = []
        for i in 0..<n {
            var v = Array(q[i * n..<(i + 1) * n])
            for b in basis {
                let d = zip(v, b).reduce(0) { $0 + $1.0 * $1.1 }
                for j in 0..<n { v[j] -= d * b[j] }
            }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            basis.append(v.map { $0 / norm })
        }
        var a = [Double](repeating: 0, count: n * n)
        for (k, b) in basis.enumerated() {
            let lambda = pow(spread, Double(k) / Double(n - 1))
            for i in 0..<n { for j in 0..<n { a[i * n + j] += lambda * b[i] * b[j] } }
        }
        return a
    }

    static func multiply(_ a: [Double], _ x: [Double]) -> [Double] {
        let n = x.count
        return (0..<n).map { i in (0..<n).reduce(0.0) { $0 + a[i * n + $1] * x[$1] } }
    }

    /// The two-loop recursion is the BFGS inverse-Hessian update applied to its pairs in order,
    /// from `γI` with `γ = sᵀy / yᵀy` of the newest pair: `H ← VᵀHV + ρssᵀ`, `V = I − ρysᵀ`.
    @Test func directionIsTheDenseBFGSUpdate() {
        let n = 6
        let a = Self.spd(n, seed: 3, spread: 50)
        var lbfgs = LBFGS(memory: 3)
        var pairs: [([Double], [Double])] = []
        for k in 0..<4 {   // four pairs into a memory of three: the oldest is dropped
            let s = randomTensor([n], seed: 10 + UInt64(k)).storage.map(Double.init)
            let y = Self.multiply(a, s)
            let kept = lbfgs.record(step: s.map(Float.init), gradientChange: y.map(Float.init))
            #expect(kept)
            pairs.append((s.map { Double(Float($0)) }, y.map { Double(Float($0)) }))
        }
        #expect(lbfgs.steps.count == 3)
        pairs.removeFirst()
        let (sl, yl) = pairs.last!
        let gamma = zip(sl, yl).reduce(0) { $0 + $1.0 * $1.1 } / yl.reduce(0) { $0 + $1 * $1 }
        var h = [Double](repeating: 0, count: n * n)
        for i in 0..<n { h[i * n + i] = gamma }
        for (s, y) in pairs {
            let rho = 1 / zip(s, y).reduce(0) { $0 + $1.0 * $1.1 }
            var v = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n { v[i * n + j] = (i == j ? 1 : 0) - rho * y[i] * s[j] } }
            var hv = [Double](repeating: 0, count: n * n), next = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in 0..<n { for k in 0..<n { hv[i * n + j] += h[i * n + k] * v[k * n + j] } } }
            for i in 0..<n { for j in 0..<n {
                for k in 0..<n { next[i * n + j] += v[k * n + i] * hv[k * n + j] }
                next[i * n + j] += rho * s[i] * s[j]
            } }
            h = next
        }
        let g = randomTensor([n], seed: 20).storage
        let expected = Self.multiply(h, g.map(Double.init)).map { -$0 }
        let d = lbfgs.direction(gradient: g)
        let scale = expected.map(abs).max()!
        for i in 0..<n { #expect(abs(Double(d[i]) - expected[i]) <= 1e-5 * scale, "element \(i): \(d[i]) vs \(expected[i])") }
        // Without pairs the direction is steepest descent; a pair of negative curvature is refused.
        #expect(LBFGS(memory: 3).direction(gradient: g) == g.map { -$0 })
        let keptNegative = lbfgs.record(step: [1, 0, 0, 0, 0, 0], gradientChange: [-1, 0, 0, 0, 0, 0])
        #expect(!keptNegative)
        #expect(lbfgs.steps.count == 3)
    }

    /// On an ill-conditioned quadratic the iterations reach the minimiser `A⁻¹b` and the loss
    /// never rises; the first step moves the largest element by at most `firstStep`.
    @Test func iterationsMinimiseAQuadratic() {
        let n = 8
        let a = Self.spd(n, seed: 5, spread: 100)
        let b = randomTensor([n], seed: 6).storage.map(Double.init)
        func evaluate(_ x: [Float]) -> (loss: Double, gradient: [Float]) {
            let xd = x.map(Double.init), ax = Self.multiply(a, xd)
            let f = 0.5 * zip(xd, ax).reduce(0) { $0 + $1.0 * $1.1 } - zip(b, xd).reduce(0) { $0 + $1.0 * $1.1 }
            return (f, zip(ax, b).map { Float($0 - $1) })
        }
        var lbfgs = LBFGS(memory: 5)
        var x = [Float](repeating: 0, count: n)
        var (loss, gradient) = evaluate(x)
        let first = lbfgs.iterate(x: &x, loss: &loss, gradient: &gradient, firstStep: 0.1, evaluate: evaluate)
        #expect(first.stepLength > 0 && x.map(abs).max()! <= 0.1 + 1e-6)
        for _ in 0..<60 {
            let before = loss
            let it = lbfgs.iterate(x: &x, loss: &loss, gradient: &gradient, firstStep: 0.1, evaluate: evaluate)
            #expect(loss <= before)
            if it.stepLength == 0 { break }
        }
        // The minimiser: solve A x = b by Gaussian elimination.
        var m = a, r = b
        for c in 0..<n {
            for i in (c + 1)..<n {
                let f = m[i * n + c] / m[c * n + c]
                for j in c..<n { m[i * n + j] -= f * m[c * n + j] }
                r[i] -= f * r[c]
            }
        }
        var solution = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            solution[i] = (r[i] - ((i + 1)..<n).reduce(0) { $0 + m[i * n + $1] * solution[$1] }) / m[i * n + i]
        }
        let error = zip(x, solution).map { abs(Double($0) - $1) }.max()!
        #expect(error <= 1e-3 * solution.map(abs).max()!, "distance to the minimiser \(error)")
        #expect(lbfgs.iterations >= 2)
    }

    @Test func stateRoundTripsAndRefusesAnotherKind() throws {
        var lbfgs = LBFGS(memory: 4)
        lbfgs.record(step: [1, 2, 3], gradientChange: [2, 1, 1])
        lbfgs.record(step: [0, 1, -1], gradientChange: [0.5, 2, -1])
        var restored = LBFGS(memory: 4)
        try restored.importState(lbfgs.exportState(), count: 3)
        #expect(restored.steps == lbfgs.steps && restored.gradientChanges == lbfgs.gradientChanges)
        #expect(restored.direction(gradient: [1, -1, 2]) == lbfgs.direction(gradient: [1, -1, 2]))
        #expect(throws: OptimizerStateError("lbfgs pair 0 missing or not of 4 elements")) {
            try restored.importState(lbfgs.exportState(), count: 4)
        }
        #expect(throws: OptimizerStateError("kind adam, expected lbfgs")) {
            try restored.importState(OptimizerState(tensors: [:], metadata: ["optimizer": "adam"]), count: 3)
        }
    }
}
