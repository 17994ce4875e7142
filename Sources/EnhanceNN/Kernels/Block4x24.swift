// The register block shared by the direct, pointwise and Winograd product kernels.

/// Sums for 4 output channels × 24 positions: three SIMD8 vectors a channel, 12 of AVX2's 16
/// vector registers (the other four hold the three input vectors and one broadcast weight).
/// Every member is inlined, so a kernel that uses it compiles to the same register-resident loop
/// as if the 12 accumulators were written out; the multiply-add order is fixed (channel by
/// channel, then vector by vector), so results do not depend on which kernel ran.
struct Block4x24 {
    var a00, a01, a02, a10, a11, a12, a20, a21, a22, a30, a31, a32: SIMD8<Float>

    /// Every sum of channel `co + i` starts at `bias[co + i]` (0 without a bias).
    @_transparent
    init(bias: UnsafePointer<Float>?, co: Int) {
        a00 = SIMD8(repeating: bias?[co] ?? 0); a01 = a00; a02 = a00
        a10 = SIMD8(repeating: bias?[co + 1] ?? 0); a11 = a10; a12 = a10
        a20 = SIMD8(repeating: bias?[co + 2] ?? 0); a21 = a20; a22 = a20
        a30 = SIMD8(repeating: bias?[co + 3] ?? 0); a31 = a30; a32 = a30
    }

    /// Adds `w[i] · x[0 ..< 24]` to channel i's sums (`w`: the 4 channels' weights, contiguous).
    @_transparent
    mutating func add(_ x: UnsafePointer<Float>, weights w: UnsafePointer<Float>) {
        let x0 = load8(x), x1 = load8(x + 8), x2 = load8(x + 16)
        let w0 = SIMD8<Float>(repeating: w[0])
        a00 = a00.addingProduct(x0, w0); a01 = a01.addingProduct(x1, w0); a02 = a02.addingProduct(x2, w0)
        let w1 = SIMD8<Float>(repeating: w[1])
        a10 = a10.addingProduct(x0, w1); a11 = a11.addingProduct(x1, w1); a12 = a12.addingProduct(x2, w1)
        let w2 = SIMD8<Float>(repeating: w[2])
        a20 = a20.addingProduct(x0, w2); a21 = a21.addingProduct(x1, w2); a22 = a22.addingProduct(x2, w2)
        let w3 = SIMD8<Float>(repeating: w[3])
        a30 = a30.addingProduct(x0, w3); a31 = a31.addingProduct(x1, w3); a32 = a32.addingProduct(x2, w3)
    }

    /// Adds a convolution at 24 consecutive (wide) positions: for each of `channels` input
    /// channels (`channelStride` apart from `x`) and each of its `tapCount` taps (offsets
    /// `taps[t]`), `w[0 ..< 4] · x[c · channelStride + taps[t] ..< + 24]`, with `w` advancing by 4
    /// (weights packed `[c][t][4]`, `PackedWeights.block`).
    @_transparent
    mutating func addTaps(_ x: UnsafePointer<Float>, channels: Int, channelStride: Int, taps: UnsafePointer<Int>,
                          tapCount: Int, weights w: UnsafePointer<Float>) {
        var wp = w, xc = x
        for _ in 0..<channels {
            for t in 0..<tapCount {
                add(xc + taps[t], weights: wp)
                wp += 4
            }
            xc += channelStride
        }
    }

    /// The activation `v > 0 ? v : slopes[co + i] · v` on channel i (nothing for nil).
    @_transparent
    mutating func activate(_ slopes: UnsafePointer<Float>?, co: Int) {
        guard let s = slopes else { return }
        let s0 = s[co], s1 = s[co + 1], s2 = s[co + 2], s3 = s[co + 3]
        a00 = slope8(a00, s0); a01 = slope8(a01, s0); a02 = slope8(a02, s0)
        a10 = slope8(a10, s1); a11 = slope8(a11, s1); a12 = slope8(a12, s1)
        a20 = slope8(a20, s2); a21 = slope8(a21, s2); a22 = slope8(a22, s2)
        a30 = slope8(a30, s3); a31 = slope8(a31, s3); a32 = slope8(a32, s3)
    }

    /// Channel i's 24 sums to `out + i·channelStride`.
    @_transparent
    func store(_ out: UnsafeMutablePointer<Float>, channelStride: Int) {
        let o1 = out + channelStride, o2 = o1 + channelStride, o3 = o2 + channelStride
        store8(a00, out); store8(a01, out + 8); store8(a02, out + 16)
        store8(a10, o1); store8(a11, o1 + 8); store8(a12, o1 + 16)
        store8(a20, o2); store8(a21, o2 + 8); store8(a22, o2 + 16)
        store8(a30, o3); store8(a31, o3 + 8); store8(a32, o3 + 16)
    }

    /// Channel `co + i`'s sums for the wide positions `p ..< p + 24` into `band`'s output;
    /// `q0`, `q1`, `q2` are `wideSlot(band, p)`, `(p + 8)` and `(p + 16)`.
    @_transparent
    func storeWide(_ band: WideBand, co: Int, p: Int, _ q0: Int, _ q1: Int, _ q2: Int) {
        EnhanceNN.storeWide(a00, band, co, p, q0); EnhanceNN.storeWide(a01, band, co, p + 8, q1)
        EnhanceNN.storeWide(a02, band, co, p + 16, q2)
        EnhanceNN.storeWide(a10, band, co + 1, p, q0); EnhanceNN.storeWide(a11, band, co + 1, p + 8, q1)
        EnhanceNN.storeWide(a12, band, co + 1, p + 16, q2)
        EnhanceNN.storeWide(a20, band, co + 2, p, q0); EnhanceNN.storeWide(a21, band, co + 2, p + 8, q1)
        EnhanceNN.storeWide(a22, band, co + 2, p + 16, q2)
        EnhanceNN.storeWide(a30, band, co + 3, p, q0); EnhanceNN.storeWide(a31, band, co + 3, p + 8, q1)
        EnhanceNN.storeWide(a32, band, co + 3, p + 16, q2)
    }
}
