import EnhanceNN
import Testing

/// The SIMD8, plane-parallel PReLU and ReLU passes used in training, against Double loops over the
/// same data. Shapes cover plane sizes that are not multiples of 8 or 16 (scalar tails), a shared
/// slope, zeros in the input (the negative side, as `!(x > 0)`), and enough elements for the
/// parallel path (≥ 65536). Every case runs with 1, 2 and 3 threads:
/// - forward and input gradient: exact (one multiplication per element, same as the reference);
/// - slope gradient: |fast − Double| ≤ 1e-5 · (1 + Σ|g·x|) of its channel, and bit-identical
///   across thread counts (per-plane sums are added in plane order).
@Suite struct ActivationKernelTests {
    static let shapes: [([Int], Int)] = [
        ([64, 12, 20, 20], 12),   // FSRCNN mapping layer, parallel path
        ([3, 5, 7, 9], 5),        // 63-element planes: 16-, 8- and scalar tails, serial path
        ([2, 4, 33, 31], 1),      // one shared slope
        ([16, 56, 9, 10], 56),    // 90-element planes, parallel path
    ]

    static func input(_ shape: [Int], seed: UInt64) -> Tensor {
        var x = randomTensor(shape, seed: seed)
        for i in stride(from: 0, to: x.count, by: 7) { x.storage[i] = 0 }   // exact zeros take the slope side
        return x
    }

    @Test func preluMatchesDoubleReference() {
        for (shape, channels) in Self.shapes {
            var layer = PReLU(channels: channels)
            layer.weight = randomTensor([channels], seed: 5, scale: 0.5)
            let x = Self.input(shape, seed: 1), dy = randomTensor(shape, seed: 2)
            let c = shape[1], plane = shape[2] * shape[3]
            var refY = [Float](repeating: 0, count: x.count), refDx = refY
            var refDa = [Double](repeating: 0, count: channels), mag = refDa
            for i in 0..<x.count {
                let ch = channels == 1 ? 0 : (i / plane) % c, a = layer.weight.storage[ch]
                let v = x.storage[i], g = dy.storage[i]
                refY[i] = v > 0 ? v : a * v
                refDx[i] = v > 0 ? g : a * g
                if !(v > 0) { refDa[ch] += Double(g) * Double(v); mag[ch] += abs(Double(g) * Double(v)) }
            }
            var slopeGradients: [[Float]] = []
            for threads in [1, 2, 3] {
                let ctx = ComputeContext(threads: threads)
                let (y, acts) = layer.trainingForward(x, context: ctx)
                #expect(y.storage == refY, "PReLU forward \(shape) threads \(threads)")
                #expect(layer.forward(x, context: ctx).storage == refY, "PReLU inference \(shape) threads \(threads)")
                let b = layer.backward(outputGradient: dy, activations: acts, needsInputGradient: true, context: ctx)
                #expect(b.inputGradient!.storage == refDx, "PReLU input gradient \(shape) threads \(threads)")
                let da = b.parameterGradients[0].storage
                for ch in 0..<channels {
                    #expect(abs(Double(da[ch]) - refDa[ch]) <= 1e-5 * (1 + mag[ch]),
                            "PReLU slope gradient \(shape) ch \(ch) threads \(threads): \(da[ch]) vs \(refDa[ch])")
                }
                slopeGradients.append(da)
            }
            #expect(slopeGradients[1] == slopeGradients[0] && slopeGradients[2] == slopeGradients[0],
                    "PReLU slope gradient depends on the thread count for \(shape)")
        }
    }

    @Test func reluBackwardMasksExactly() {
        for (shape, _) in Self.shapes + [([4, 16, 64, 65], 16)] {   // the last: 266240 elements, parallel
            let x = Self.input(shape, seed: 3), dy = randomTensor(shape, seed: 4)
            let ref = zip(x.storage, dy.storage).map { v, g in v > 0 ? g : 0 }
            for threads in [1, 2, 3] {
                let ctx = ComputeContext(threads: threads)
                let (y, acts) = ReLU().trainingForward(x, context: ctx)
                #expect(y.storage == x.storage.map { max($0, 0) })
                let b = ReLU().backward(outputGradient: dy, activations: acts, needsInputGradient: true, context: ctx)
                #expect(b.inputGradient!.storage == ref, "ReLU backward \(shape) threads \(threads)")
            }
        }
    }
}
