/// Pixel losses, averaged over every element (batch, channels and pixels).
/// Values are accumulated in Double; gradients are dLoss/dPrediction in Float.
public enum Loss: Sendable, Equatable, CustomStringConvertible {
    /// Mean squared error, `mean((p − t)²)` (SRCNN, FSRCNN, AR-CNN).
    case mse
    /// Mean absolute error, `mean(|p − t|)`; the gradient at `p == t` is 0.
    case l1
    /// Charbonnier (smooth L1), `mean(sqrt((p − t)² + ε²))`.
    case charbonnier(epsilon: Float)

    public var description: String {
        switch self {
        case .mse: return "mse"
        case .l1: return "l1"
        case .charbonnier(let e): return "charbonnier(\(e))"
        }
    }

    /// Mean loss.
    public func value(prediction: Tensor, target: Tensor) -> Double {
        evaluate(prediction: prediction, target: target, wantGradient: false).0
    }

    /// dLoss/dPrediction.
    public func gradient(prediction: Tensor, target: Tensor) -> Tensor {
        evaluate(prediction: prediction, target: target, wantGradient: true).1!
    }

    /// Mean loss and its gradient in one pass. With `sampleWeights` (one per entry of the
    /// leading, batch dimension) every element of sample `b` counts `sampleWeights[b]` times:
    /// the value is `mean(w_b · loss_i)` and the gradient follows.
    public func evaluate(prediction: Tensor, target: Tensor, sampleWeights: [Float]? = nil) -> (value: Double, gradient: Tensor) {
        let r = evaluate(prediction: prediction, target: target, wantGradient: true, sampleWeights: sampleWeights)
        return (r.0, r.1!)
    }

    private func evaluate(prediction: Tensor, target: Tensor, wantGradient: Bool,
                          sampleWeights: [Float]? = nil) -> (Double, Tensor?) {
        precondition(prediction.shape == target.shape,
                     "Loss \(self): prediction \(prediction.shape) vs target \(target.shape)")
        let n = prediction.count
        precondition(n > 0, "Loss \(self): empty tensors")
        let samples = sampleWeights == nil ? 1 : prediction.shape[0]
        precondition(sampleWeights == nil || sampleWeights!.count == samples,
                     "Loss \(self): \(sampleWeights?.count ?? 0) sample weights for a batch of \(samples)")
        let perSample = n / samples
        let invN = 1.0 / Double(n)
        var grad = wantGradient ? Tensor(shape: prediction.shape) : nil
        var total = 0.0
        prediction.storage.withUnsafeBufferPointer { pp in
            target.storage.withUnsafeBufferPointer { tp in
                func run(_ g: UnsafeMutablePointer<Float>?) {
                    for b in 0..<samples {
                        let weight = sampleWeights?[b] ?? 1
                        let gScale = Float(invN) * weight
                        var sampleTotal = 0.0
                        let range = b * perSample..<(b + 1) * perSample
                        switch self {
                        case .mse:
                            for i in range {
                                let d = pp[i] - tp[i]
                                sampleTotal += Double(d) * Double(d)
                                g?[i] = 2 * d * gScale
                            }
                        case .l1:
                            for i in range {
                                let d = pp[i] - tp[i]
                                sampleTotal += Double(abs(d))
                                g?[i] = d > 0 ? gScale : (d < 0 ? -gScale : 0)
                            }
                        case .charbonnier(let eps):
                            let e2 = Double(eps) * Double(eps)
                            for i in range {
                                let d = Double(pp[i] - tp[i])
                                let r = (d * d + e2).squareRoot()
                                sampleTotal += r
                                g?[i] = Float(d / r * invN * Double(weight))
                            }
                        }
                        total += sampleTotal * Double(weight)
                    }
                }
                if wantGradient {
                    grad!.storage.withUnsafeMutableBufferPointer { run($0.baseAddress!) }
                } else {
                    run(nil)
                }
            }
        }
        return (total * invN, grad)
    }
}
