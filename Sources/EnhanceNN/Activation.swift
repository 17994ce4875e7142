/// An elementwise activation of the form `v > 0 ? v : slope[c] · v` that a preceding `Conv2d`
/// can apply while writing its output (inference only: `Sequential.forward` fuses such pairs;
/// training runs the layers one by one).
public protocol ChannelSlopeActivation {
    /// One slope per channel for an input of `channels` channels, or nil when the layer does not
    /// accept that many channels (the unfused path then reports the mismatch).
    func fusedSlopes(channels: Int) -> [Float]?
}

extension ReLU: ChannelSlopeActivation {
    public func fusedSlopes(channels: Int) -> [Float]? { [Float](repeating: 0, count: channels) }
}

extension LeakyReLU: ChannelSlopeActivation {
    public func fusedSlopes(channels: Int) -> [Float]? { [Float](repeating: negativeSlope, count: channels) }
}

extension PReLU: ChannelSlopeActivation {
    public func fusedSlopes(channels: Int) -> [Float]? {
        if self.channels == 1 { return [Float](repeating: weight.storage[0], count: channels) }
        return self.channels == channels ? weight.storage : nil
    }
}

/// Rectified linear unit, `max(x, 0)`, elementwise on any shape. No parameters.
public struct ReLU: Layer {
    public init() {}
    public var description: String { "ReLU" }
    public func outputShape(forInput shape: [Int]) -> [Int] { shape }

    public func forward(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        var y = input
        let n = y.count
        y.storage.withUnsafeMutableBufferPointer { buf in
            let p = SendablePointer(buf.baseAddress!)
            elementwiseRanges(n, threads: context.threads) { r in
                let q = p.pointer
                for i in r { q[i] = max(q[i], 0) }
            }
        }
        return y
    }

    /// Saves the output (positive exactly where the input was).
    public func trainingForward(_ input: consuming Tensor, context: ComputeContext) -> (output: Tensor, activations: Activations) {
        let y = forward(input, context: context)
        return (y, Activations(tensors: [y], inputShape: y.shape))
    }

    public func backward(outputGradient: consuming Tensor, activations: Activations, needsInputGradient: Bool,
                         context: ComputeContext) -> Backward {
        guard needsInputGradient else { return Backward(inputGradient: nil, parameterGradients: []) }
        var g = outputGradient
        let y = activations.tensors[0]
        precondition(g.shape == y.shape, "ReLU.backward: gradient \(g.shape) vs output \(y.shape)")
        let n = g.count
        g.storage.withUnsafeMutableBufferPointer { gp in
            y.storage.withUnsafeBufferPointer { yp in
                let gq = SendablePointer(gp.baseAddress!), yq = SendableConstPointer(yp.baseAddress!)
                elementwiseRanges(n, threads: context.threads) { r in
                    ReLU.maskGradient(gq.pointer + r.lowerBound, yq.pointer + r.lowerBound, count: r.count)
                }
            }
        }
        return Backward(inputGradient: g, parameterGradients: [])
    }
}

extension ReLU {
    /// `g[i] = 0` where `!(y[i] > 0)` (branch-free SIMD8).
    @inline(never)
    static func maskGradient(_ g: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        let zero = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            let v = load8(y + i)
            store8(load8(g + i).replacing(with: 0, where: .!(v .> zero)), g + i)
            i += 8
        }
        while i < count { if !(y[i] > 0) { g[i] = 0 }; i += 1 }
    }
}

/// Leaky ReLU, `x > 0 ? x : negativeSlope · x`, elementwise. No parameters.
public struct LeakyReLU: Layer {
    public let negativeSlope: Float
    public init(negativeSlope: Float = 0.01) { self.negativeSlope = negativeSlope }
    public var description: String { "LeakyReLU(\(negativeSlope))" }
    public func outputShape(forInput shape: [Int]) -> [Int] { shape }

    public func forward(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        var y = input
        let n = y.count, a = negativeSlope
        y.storage.withUnsafeMutableBufferPointer { buf in
            let p = SendablePointer(buf.baseAddress!)
            elementwiseRanges(n, threads: context.threads) { r in
                let q = p.pointer
                for i in r { q[i] = q[i] > 0 ? q[i] : a * q[i] }
            }
        }
        return y
    }

    /// Saves the input.
    public func trainingForward(_ input: consuming Tensor, context: ComputeContext) -> (output: Tensor, activations: Activations) {
        let x = input
        return (forward(x, context: context), Activations(tensors: [x], inputShape: x.shape))
    }

    public func backward(outputGradient: consuming Tensor, activations: Activations, needsInputGradient: Bool,
                         context: ComputeContext) -> Backward {
        guard needsInputGradient else { return Backward(inputGradient: nil, parameterGradients: []) }
        var g = outputGradient
        let x = activations.tensors[0]
        precondition(g.shape == x.shape, "LeakyReLU.backward: gradient \(g.shape) vs input \(x.shape)")
        let n = g.count, a = negativeSlope
        g.storage.withUnsafeMutableBufferPointer { gp in
            x.storage.withUnsafeBufferPointer { xp in
                for i in 0..<n where !(xp[i] > 0) { gp[i] *= a }
            }
        }
        return Backward(inputGradient: g, parameterGradients: [])
    }
}

/// Parametric ReLU (He et al. 2015), `x > 0 ? x : a[c] · x`, with one learnable slope per channel
/// of an NCHW input (or one shared slope when `channels == 1`, as PyTorch's `nn.PReLU()`).
/// Parameter name `"weight"`, shape `[channels]`, initialised to 0.25 as PyTorch.
public struct PReLU: Layer {
    public let channels: Int
    /// `[channels]` negative slopes.
    public var weight: Tensor
    public var initializer: Initializer

    public init(channels: Int, initialSlope: Float = 0.25) {
        precondition(channels > 0, "PReLU: channels must be > 0, got \(channels)")
        self.channels = channels
        self.weight = Tensor(shape: [channels], repeating: initialSlope)
        self.initializer = .constant(initialSlope)
    }

    public var description: String { "PReLU(\(channels))" }
    public var parameterNames: [String] { ["weight"] }
    public var parameters: [Tensor] {
        get { [weight] }
        set { weight = checkedParameters(newValue, against: [weight], names: parameterNames, "PReLU")[0] }
    }
    public mutating func initializeParameters(rng: inout SeededGenerator) {
        initializer.fill(&weight, fanIn: 1, rng: &rng)
    }

    public func outputShape(forInput shape: [Int]) -> [Int] {
        let (_, c, _, _) = nchw(shape, "PReLU")
        precondition(channels == 1 || c == channels, "PReLU: input has \(c) channels, layer has \(channels)")
        return shape
    }

    public func forward(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        var y = input
        let (n, c, h, w) = nchw(outputShape(forInput: y.shape), "PReLU")
        let plane = h * w, shared = channels == 1
        weight.storage.withUnsafeBufferPointer { ap in
            y.storage.withUnsafeMutableBufferPointer { buf in
                let p = SendablePointer(buf.baseAddress!), a = SendableConstPointer(ap.baseAddress!)
                Self.planes(n * c, plane: plane, threads: context.threads) { range in
                    for pl in range {
                        let q = p.pointer + pl * plane
                        Self.forwardPlane(UnsafePointer(q), q, count: plane, slope: a.pointer[shared ? 0 : pl % c])
                    }
                }
            }
        }
        return y
    }

    /// Saves the input; the output is written into a new tensor (no copy of the saved input first).
    public func trainingForward(_ input: consuming Tensor, context: ComputeContext) -> (output: Tensor, activations: Activations) {
        let x = input
        let (n, c, h, w) = nchw(outputShape(forInput: x.shape), "PReLU")
        let plane = h * w, shared = channels == 1
        let y = Tensor(shape: x.shape) { out in
            x.storage.withUnsafeBufferPointer { xp in
                weight.storage.withUnsafeBufferPointer { ap in
                    let src = SendableConstPointer(xp.baseAddress!), dst = SendablePointer(out.baseAddress!)
                    let a = SendableConstPointer(ap.baseAddress!)
                    Self.planes(n * c, plane: plane, threads: context.threads) { range in
                        for pl in range {
                            Self.forwardPlane(src.pointer + pl * plane, dst.pointer + pl * plane, count: plane,
                                              slope: a.pointer[shared ? 0 : pl % c])
                        }
                    }
                }
            }
        }
        return (y, Activations(tensors: [x], inputShape: x.shape))
    }

    /// The slope gradient is summed per plane (SIMD8 lanes in Float, the plane total in Double), then
    /// over planes in plane order: the result does not depend on the thread count.
    public func backward(outputGradient: consuming Tensor, activations: Activations, needsInputGradient: Bool,
                         context: ComputeContext) -> Backward {
        var g = outputGradient
        let x = activations.tensors[0]
        precondition(g.shape == x.shape, "PReLU.backward: gradient \(g.shape) vs input \(x.shape)")
        let (n, c, h, w) = nchw(x.shape, "PReLU")
        let plane = h * w, shared = channels == 1
        var sums = [Double](repeating: 0, count: n * c)
        g.storage.withUnsafeMutableBufferPointer { gp in
            x.storage.withUnsafeBufferPointer { xp in
                weight.storage.withUnsafeBufferPointer { ap in
                    sums.withUnsafeMutableBufferPointer { sp in
                        let gq = SendablePointer(gp.baseAddress!), xq = SendableConstPointer(xp.baseAddress!)
                        let a = SendableConstPointer(ap.baseAddress!), sq = SendablePointer(sp.baseAddress!)
                        Self.planes(n * c, plane: plane, threads: context.threads) { range in
                            for pl in range {
                                sq.pointer[pl] = Self.backwardPlane(gq.pointer + pl * plane, xq.pointer + pl * plane, count: plane,
                                                                    slope: a.pointer[shared ? 0 : pl % c])
                            }
                        }
                    }
                }
            }
        }
        var da = [Double](repeating: 0, count: channels)
        for pl in 0..<(n * c) { da[shared ? 0 : pl % c] += sums[pl] }
        let dA = Tensor(shape: [channels], storage: da.map { Float($0) })
        return Backward(inputGradient: needsInputGradient ? g : nil, parameterGradients: [dA])
    }

    /// Runs `body` over contiguous ranges of `count` planes, in parallel when there is enough work.
    @inline(__always)
    static func planes(_ count: Int, plane: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        let parts = count * plane >= 1 << 16 ? min(count, 4 * max(1, threads)) : 1
        Parallel.forEach(parts, threads: threads) { i in body(Parallel.chunk(i, of: parts, count: count)) }
    }

    /// `dst[i] = src[i] > 0 ? src[i] : slope · src[i]` (`src` may equal `dst`).
    @inline(never)
    static func forwardPlane(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int, slope: Float) {
        let a = SIMD8<Float>(repeating: slope), zero = SIMD8<Float>()
        var i = 0
        while i + 8 <= count {
            let v = load8(src + i)
            store8(v.replacing(with: v * a, where: .!(v .> zero)), dst + i)
            i += 8
        }
        while i < count { let v = src[i]; dst[i] = v > 0 ? v : slope * v; i += 1 }
    }

    /// Where `x ≤ 0` (or NaN): returns Σ g·x and scales `g` by `slope`; elsewhere `g` is unchanged.
    @inline(never)
    static func backwardPlane(_ g: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int, slope: Float) -> Double {
        let a = SIMD8<Float>(repeating: slope), zero = SIMD8<Float>()
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= count {
            let x0 = load8(x + i), g0 = load8(g + i), x1 = load8(x + i + 8), g1 = load8(g + i + 8)
            let m0 = .!(x0 .> zero), m1 = .!(x1 .> zero)
            acc0 += (g0 * x0).replacing(with: 0, where: .!m0)
            acc1 += (g1 * x1).replacing(with: 0, where: .!m1)
            store8(g0.replacing(with: g0 * a, where: m0), g + i)
            store8(g1.replacing(with: g1 * a, where: m1), g + i + 8)
            i += 16
        }
        while i + 8 <= count {
            let x0 = load8(x + i), g0 = load8(g + i)
            let m0 = .!(x0 .> zero)
            acc0 += (g0 * x0).replacing(with: 0, where: .!m0)
            store8(g0.replacing(with: g0 * a, where: m0), g + i)
            i += 8
        }
        var s = Double((acc0 + acc1).sum())
        while i < count {
            if !(x[i] > 0) { s += Double(g[i] * x[i]); g[i] *= slope }
            i += 1
        }
        return s
    }
}

/// Sub-pixel rearrangement (Shi et al. 2016), PyTorch's `nn.PixelShuffle(r)`:
/// `[N, C·r², H, W] → [N, C, H·r, W·r]` with `out[n, c, y·r + i, x·r + j] = in[n, c·r² + i·r + j, y, x]`.
public struct PixelShuffle: Layer {
    public let factor: Int
    public init(factor: Int) {
        precondition(factor >= 1, "PixelShuffle: factor must be ≥ 1, got \(factor)")
        self.factor = factor
    }
    public var description: String { "PixelShuffle(\(factor))" }

    public func outputShape(forInput shape: [Int]) -> [Int] {
        let (n, c, h, w) = nchw(shape, "PixelShuffle")
        let r2 = factor * factor
        precondition(c % r2 == 0, "PixelShuffle: \(c) channels not divisible by factor² = \(r2)")
        return [n, c / r2, h * factor, w * factor]
    }

    /// Moves values between the two layouts; `toShuffled` chooses the direction.
    private func rearrange(_ src: Tensor, lowShape: [Int], toShuffled: Bool) -> Tensor {
        let (n, cin, h, w) = (lowShape[0], lowShape[1], lowShape[2], lowShape[3])
        let r = factor, c = cin / (r * r), oh = h * r, ow = w * r
        let outShape = toShuffled ? [n, c, oh, ow] : lowShape
        return Tensor(shape: outShape) { out in
            src.storage.withUnsafeBufferPointer { sp in
                let s = sp.baseAddress!, d = out.baseAddress!
                for b in 0..<n {
                    for ch in 0..<c {
                        for i in 0..<r {
                            for j in 0..<r {
                                let lowPlane = ((b * cin) + ch * r * r + i * r + j) * h * w
                                let highPlane = (b * c + ch) * oh * ow
                                for y in 0..<h {
                                    let low = lowPlane + y * w, high = highPlane + (y * r + i) * ow + j
                                    if toShuffled {
                                        for x in 0..<w { d[high + x * r] = s[low + x] }
                                    } else {
                                        for x in 0..<w { d[low + x] = s[high + x * r] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func forward(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        _ = outputShape(forInput: input.shape)
        return rearrange(input, lowShape: input.shape, toShuffled: true)
    }

    public func trainingForward(_ input: consuming Tensor, context: ComputeContext) -> (output: Tensor, activations: Activations) {
        let shape = input.shape
        return (forward(input, context: context), Activations(inputShape: shape))
    }

    public func backward(outputGradient: consuming Tensor, activations: Activations, needsInputGradient: Bool,
                         context: ComputeContext) -> Backward {
        guard needsInputGradient else { return Backward(inputGradient: nil, parameterGradients: []) }
        let expected = outputShape(forInput: activations.inputShape)
        precondition(outputGradient.shape == expected, "PixelShuffle.backward: gradient \(outputGradient.shape), expected \(expected)")
        let g = rearrange(outputGradient, lowShape: activations.inputShape, toShuffled: false)
        return Backward(inputGradient: g, parameterGradients: [])
    }
}
