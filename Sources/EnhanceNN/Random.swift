/// Deterministic pseudo-random generator: xoshiro256** seeded through SplitMix64.
///
/// The same seed gives the same sequence on every platform. `nextGaussian()` uses the
/// Box–Muller transform in Double.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose 256-bit state is expanded from `seed` with SplitMix64.
    public init(seed: UInt64) {
        var x = seed
        func splitMix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(&x); s1 = splitMix(&x); s2 = splitMix(&x); s3 = splitMix(&x)
    }

    /// The whole state, for checkpoints.
    public var state: [UInt64] {
        get { [s0, s1, s2, s3] }
        set {
            precondition(newValue.count == 4, "SeededGenerator.state needs 4 words, got \(newValue.count)")
            s0 = newValue[0]; s1 = newValue[1]; s2 = newValue[2]; s3 = newValue[3]
        }
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = SeededGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = SeededGenerator.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal sample (Box–Muller; one sample per call, two uniforms consumed).
    public mutating func nextGaussian() -> Double {
        let u1 = 1.0 - nextUniform()   // (0, 1]
        let u2 = nextUniform()
        return (-2.0 * _log(u1)).squareRoot() * _cos(2.0 * Double.pi * u2)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _log(_ x: Double) -> Double { Glibc.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
@inline(__always) private func _log(_ x: Double) -> Double { Darwin.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif

/// How to fill a weight tensor before training.
public enum Initializer: Sendable, Equatable {
    /// All zeros.
    case zeros
    /// Every element equal to the value.
    case constant(Float)
    /// Normal with mean 0 and the given standard deviation (SRCNN: 0.001; FSRCNN deconv: 0.001).
    case gaussian(std: Float)
    /// He / MSRA normal: std = sqrt(2 / fanIn), fanIn = input channels × kh × kw as the layer states.
    case heNormal

    /// Fills `tensor` from `rng`; `fanIn` is used by `.heNormal`.
    public func fill(_ tensor: inout Tensor, fanIn: Int, rng: inout SeededGenerator) {
        switch self {
        case .zeros:
            for i in 0..<tensor.count { tensor.storage[i] = 0 }
        case .constant(let v):
            for i in 0..<tensor.count { tensor.storage[i] = v }
        case .gaussian(let std):
            for i in 0..<tensor.count { tensor.storage[i] = Float(rng.nextGaussian() * Double(std)) }
        case .heNormal:
            precondition(fanIn > 0, "Initializer.heNormal: fanIn must be > 0, got \(fanIn)")
            let std = (2.0 / Double(fanIn)).squareRoot()
            for i in 0..<tensor.count { tensor.storage[i] = Float(rng.nextGaussian() * std) }
        }
    }
}
