import EnhanceNN

/// Deterministic order of sub-images: a seeded shuffle per epoch and a seeded dihedral
/// transform per sample, both derived from (seed, global sample index) alone. Resuming at
/// step `k` therefore needs nothing but `k`.
public struct BatchSampler: Sendable {
    public let seed: UInt64
    public let patchCount: Int
    public let batchSize: Int
    public let dihedral: Bool
    private var epoch = -1
    private var permutation: [Int32] = []

    public init(seed: UInt64, patchCount: Int, batchSize: Int, dihedral: Bool) {
        precondition(patchCount > 0, "BatchSampler: no sub-images to sample from")
        precondition(batchSize > 0, "BatchSampler: batch size must be > 0, got \(batchSize)")
        self.seed = seed; self.patchCount = patchCount; self.batchSize = batchSize; self.dihedral = dihedral
    }

    /// Epoch (full pass over the sub-images) that step `step` starts in.
    public func epoch(ofStep step: Int) -> Int { step * batchSize / patchCount }

    /// (patch index, transform) pairs of batch `step`.
    public mutating func batch(step: Int) -> [(patch: Int, transform: Int)] {
        var out: [(Int, Int)] = []
        out.reserveCapacity(batchSize)
        for b in 0..<batchSize {
            let g = step * batchSize + b
            let e = g / patchCount
            if e != epoch { permutation = Self.permutation(count: patchCount, seed: seed &+ UInt64(e) &* 0x9E37_79B9_7F4A_7C15); epoch = e }
            let transform = dihedral ? Int(Self.mix(seed ^ UInt64(g) &* 0xD1B5_4A32_D192_ED03) & 7) : 0
            out.append((Int(permutation[g % patchCount]), transform))
        }
        return out
    }

    static func permutation(count: Int, seed: UInt64) -> [Int32] {
        var p = (0..<count).map { Int32($0) }
        var rng = SeededGenerator(seed: seed)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                p.swapAt(i, j)
            }
        }
        return p
    }

    /// SplitMix64 finaliser.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension TrainingSet {
    /// Fills an input tensor `[B, 1, size, size]` and a label tensor `[B, 1, labelSize, labelSize]`.
    public func makeBatch(_ items: [(patch: Int, transform: Int)]) -> (input: Tensor, label: Tensor) {
        let size = geometry.inputSize, ls = geometry.labelSize, n = items.count
        var input = Tensor(shape: [n, 1, size, size])
        var label = Tensor(shape: [n, 1, ls, ls])
        input.storage.withUnsafeMutableBufferPointer { ip in
            label.storage.withUnsafeMutableBufferPointer { lp in
                for (b, item) in items.enumerated() {
                    copyPatch(patches[item.patch], transform: item.transform,
                              input: ip.baseAddress! + b * size * size, label: lp.baseAddress! + b * ls * ls)
                }
            }
        }
        return (input, label)
    }
}
