/// Rectified units that never fire ("dead ReLUs"), and bringing them back.
///
/// A channel of a convolution followed by a ReLU is dead when its rectified output is 0 at
/// every position of every input: it then passes no gradient to its own weights, and no
/// amount of training can revive it. Adam at a high rate kills many: the shipped 9-5-5 SRCNN
/// and AR-CNN models had lost 9–14 of the 32 units of their second layer, AR-CNN 23 of 32 in
/// its 7x7 layer (session 9, `docs/training.md`). `reviveUnits` gives such a unit fresh
/// incoming weights (and a bias that makes it fire on half of a probe batch) and zero outgoing
/// ones: the network computes exactly what it computed before, and the unit learns again from
/// the next update.

/// How often each rectified unit of one convolution fired on a batch.
public struct UnitActivity: Sendable, Equatable {
    /// Index in `Sequential.layers` of the convolution whose output channels these are.
    public let layer: Int
    /// Per output channel, the fraction of output positions (over the whole batch) where the
    /// rectified output is positive.
    public let activeFraction: [Double]

    public init(layer: Int, activeFraction: [Double]) {
        self.layer = layer
        self.activeFraction = activeFraction
    }

    /// Channels that never fired.
    public var deadUnits: [Int] { activeFraction.indices.filter { activeFraction[$0] == 0 } }
}

/// Parameter elements that `Sequential.reviveUnits` replaced, for optimizer state and weight
/// averages that must follow.
public struct RevivedElements: Sendable, Equatable {
    /// Index in `Sequential.parameters` (and `parameterNames`).
    public let parameter: Int
    /// Flat element indices in that tensor, ascending.
    public let elements: [Int]
}

extension Sequential {
    /// Indices of every convolution whose output goes through a ReLU into a convolution or
    /// transposed convolution of this network's own layers: the units `unitActivity` measures
    /// and `reviveUnits` can re-initialise. (PReLU and leaky ReLU units cannot die.)
    public var rectifiedConvolutions: [Int] {
        layers.indices.filter { i in
            i + 2 < layers.count && layers[i] is Conv2d && layers[i + 1] is ReLU
                && (layers[i + 2] is Conv2d || layers[i + 2] is ConvTranspose2d)
        }
    }

    /// Runs `input` through the layers one by one and measures how often each rectified unit
    /// (`rectifiedConvolutions`) fires.
    public func unitActivity(_ input: Tensor, context: ComputeContext = .default) -> [UnitActivity] {
        let measured = Set(rectifiedConvolutions)
        var result: [UnitActivity] = []
        var x = input
        for (i, layer) in layers.enumerated() {
            x = layer.forward(consume x, context: context)
            guard i >= 1, measured.contains(i - 1) else { continue }
            let (n, c, h, w) = nchw(x.shape, "Sequential.unitActivity")
            let plane = h * w
            var fraction = [Double](repeating: 0, count: c)
            x.storage.withUnsafeBufferPointer { p in
                for ch in 0..<c {
                    var positive = 0
                    for b in 0..<n {
                        let base = (b * c + ch) * plane
                        for j in 0..<plane where p[base + j] > 0 { positive += 1 }
                    }
                    fraction[ch] = Double(positive) / Double(max(n * plane, 1))
                }
            }
            result.append(UnitActivity(layer: i - 1, activeFraction: fraction))
        }
        return result
    }

    /// Gives output channels `units` of the convolution at `layer` (one of
    /// `rectifiedConvolutions`) new incoming weights from the layer's own initialiser, shifted to
    /// sum to zero, and zero weights out of them in the next convolution. (The units found dead
    /// in the shipped models still had their initial weights, with sums of −4.6 to −23 over the
    /// 3136 inputs of AR-CNN's 7x7 layer: on inputs that are all ≥ 0 they never fired from the
    /// first update on; the live ones had positive sums.) The bias is 0, or with a `probe` batch the
    /// negated median of the unit's new pre-activation on it, so that the unit fires on half of
    /// the probe's positions (inputs to a hidden layer are ReLU outputs, all ≥ 0, and a zero-bias
    /// unit can start dead again). The network's output is unchanged for any input whose
    /// rectified outputs on those channels were already 0 (which is what made them dead). Returns
    /// the parameter elements replaced.
    @discardableResult
    public mutating func reviveUnits(_ units: [Int], ofLayer layer: Int, rng: inout SeededGenerator,
                                     probe: Tensor? = nil, context: ComputeContext = .default) -> [RevivedElements] {
        precondition(rectifiedConvolutions.contains(layer), "Sequential.reviveUnits: layer \(layer) is not a convolution followed by a ReLU and a convolution")
        guard !units.isEmpty else { return [] }
        var conv = layers[layer] as! Conv2d
        let units = Array(Set(units)).sorted()
        precondition(units.allSatisfy { $0 >= 0 && $0 < conv.outChannels }, "Sequential.reviveUnits: units \(units) outside 0..<\(conv.outChannels)")
        let first = layers[..<layer].reduce(0) { $0 + $1.parameterNames.count }
        let consumerFirst = first + conv.parameterNames.count    // the ReLU has no parameters

        // Incoming: one unit's weights are a contiguous [inChannels, k, k] block of [out, in, k, k].
        let fanIn = conv.inChannels * conv.kernel * conv.kernel
        var fresh = Tensor(shape: [units.count, conv.inChannels, conv.kernel, conv.kernel])
        conv.weightInitializer.fill(&fresh, fanIn: fanIn, rng: &rng)
        var weightElements: [Int] = [], biasElements: [Int] = []
        for (k, u) in units.enumerated() {
            // Zero-sum: the unit's inputs are ReLU outputs with a large common positive part
            // (brightness), so the sign of the weights' sum would decide alone whether it fires.
            var sum = 0.0
            for j in 0..<fanIn { sum += Double(fresh.storage[k * fanIn + j]) }
            let mean = Float(sum / Double(fanIn))
            for j in 0..<fanIn {
                conv.weight.storage[u * fanIn + j] = fresh.storage[k * fanIn + j] - mean
                weightElements.append(u * fanIn + j)
            }
            conv.bias.storage[u] = 0
            biasElements.append(u)
        }
        if let probe {
            var x = probe
            for i in 0..<layer { x = layers[i].forward(consume x, context: context) }
            let pre = conv.forward(x, context: context)
            let (n, c, h, w) = nchw(pre.shape, "Sequential.reviveUnits")
            for u in units {
                var values: [Float] = []
                values.reserveCapacity(n * h * w)
                let plane = h * w
                for b in 0..<n {
                    let start = (b * c + u) * plane
                    values += pre.storage[start..<(start + plane)]
                }
                values.sort()
                if !values.isEmpty { conv.bias.storage[u] = -values[values.count / 2] }
            }
        }
        layers[layer] = conv

        // Outgoing: input channel u of the consumer.
        var outgoing: [Int] = []
        if var next = layers[layer + 2] as? Conv2d {
            let k2 = next.kernel * next.kernel
            for o in 0..<next.outChannels {
                for u in units {
                    for j in 0..<k2 { outgoing.append((o * next.inChannels + u) * k2 + j) }
                }
            }
            outgoing.sort()
            for e in outgoing { next.weight.storage[e] = 0 }
            layers[layer + 2] = next
        } else {
            var next = layers[layer + 2] as! ConvTranspose2d   // weight [in, out, k, k]: one unit is a contiguous block
            let block = next.outChannels * next.kernel * next.kernel
            for u in units {
                for j in 0..<block { outgoing.append(u * block + j) }
            }
            for e in outgoing { next.weight.storage[e] = 0 }
            layers[layer + 2] = next
        }
        return [RevivedElements(parameter: first, elements: weightElements),
                RevivedElements(parameter: first + 1, elements: biasElements),
                RevivedElements(parameter: consumerFirst, elements: outgoing)]
    }
}
