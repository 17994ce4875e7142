/// 2-D convolution (cross-correlation, as PyTorch's `nn.Conv2d`) over NCHW tensors.
///
/// - Input `[N, inChannels, H, W]`, output `[N, outChannels, H', W']` with
///   `H' = (H + 2p − kernel) / stride + 1`, `p = 0` for `.valid` and `(kernel − 1) / 2` otherwise.
/// - `weight` is `[outChannels, inChannels, kernel, kernel]` (PyTorch order), `bias` is `[outChannels]`.
/// - Parameter names: `"weight"`, `"bias"`.
public struct Conv2d: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Padding
    /// `[outChannels, inChannels, kernel, kernel]`.
    public var weight: Tensor
    /// `[outChannels]`.
    public var bias: Tensor
    /// Used by `initializeParameters`; fan-in is `inChannels × kernel²`.
    public var weightInitializer: Initializer
    public var biasInitializer: Initializer

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Padding = .valid,
                weightInitializer: Initializer = .heNormal, biasInitializer: Initializer = .zeros) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0,
                     "Conv2d: channels \(inChannels)->\(outChannels), kernel \(kernel), stride \(stride) must be > 0")
        precondition(padding == .valid || kernel % 2 == 1,
                     "Conv2d: padding \(padding) needs an odd kernel, got \(kernel)")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.weight = Tensor(shape: [outChannels, inChannels, kernel, kernel])
        self.bias = Tensor(shape: [outChannels])
        self.weightInitializer = weightInitializer
        self.biasInitializer = biasInitializer
    }

    /// Pixels added on each side before the valid convolution.
    public var padAmount: Int { padding == .valid ? 0 : (kernel - 1) / 2 }

    public var parameterNames: [String] { ["weight", "bias"] }
    public var parameters: [Tensor] {
        get { [weight, bias] }
        set {
            let p = checkedParameters(newValue, against: [weight, bias], names: parameterNames, "Conv2d")
            weight = p[0]; bias = p[1]
        }
    }

    public var description: String {
        "Conv2d(\(inChannels)->\(outChannels), \(kernel)x\(kernel), stride \(stride), \(padding))"
    }

    public mutating func initializeParameters(rng: inout SeededGenerator) {
        weightInitializer.fill(&weight, fanIn: inChannels * kernel * kernel, rng: &rng)
        biasInitializer.fill(&bias, fanIn: inChannels * kernel * kernel, rng: &rng)
    }

    private func geometry(paddedHeight: Int, paddedWidth: Int) -> ConvGeometry {
        ConvGeometry(inChannels: inChannels, outChannels: outChannels, inHeight: paddedHeight,
                     inWidth: paddedWidth, kernel: kernel, stride: stride)
    }

    public func outputShape(forInput shape: [Int]) -> [Int] {
        let (n, c, h, w) = nchw(shape, "Conv2d")
        precondition(c == inChannels, "Conv2d: input has \(c) channels, layer expects \(inChannels)")
        let ph = h + 2 * padAmount, pw = w + 2 * padAmount
        precondition(ph >= kernel && pw >= kernel,
                     "Conv2d: input \(h)x\(w) (padded \(ph)x\(pw)) is smaller than the \(kernel)x\(kernel) kernel")
        return [n, outChannels, (ph - kernel) / stride + 1, (pw - kernel) / stride + 1]
    }

    public func multiplyAdds(forInput shape: [Int]) -> Int {
        let o = outputShape(forInput: shape)
        return o[0] * o[2] * o[3] * outChannels * inChannels * kernel * kernel
    }

    public func forward(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        let outShape = outputShape(forInput: input.shape)
        let x = padAmount == 0 ? input : padPlanes(input, pad: padAmount, mode: padding, threads: context.threads)
        return convolve(paddedInput: x, outShape: outShape, context: context)
    }

    /// Inference followed by the activation `v > 0 ? v : slopes[co] · v` (ReLU, leaky ReLU,
    /// PReLU), applied by the kernel as it writes the output (`Sequential.forward` uses this for a
    /// convolution followed by such an activation). `slopes` has one value per output channel.
    public func forward(_ input: consuming Tensor, fusedSlopes slopes: [Float], context: ComputeContext) -> Tensor {
        precondition(slopes.count == outChannels, "Conv2d: \(slopes.count) fused slopes for \(outChannels) output channels")
        let outShape = outputShape(forInput: input.shape)
        let x = padAmount == 0 ? input : padPlanes(input, pad: padAmount, mode: padding, threads: context.threads)
        return convolve(paddedInput: x, outShape: outShape, context: context, slopes: slopes)
    }

    /// Whether `forward(_:fusedSlopes:thenPointwise:nextSlopes:context:)` can run this
    /// convolution and `next` together on an input of `shape`: `next` is a stride-1 1x1
    /// convolution taking this layer's output, and this layer runs on the direct path (stride 1,
    /// or strided through its space-to-depth form).
    public func canFuse(pointwise next: Conv2d, inputShape shape: [Int]) -> Bool {
        guard next.kernel == 1, next.stride == 1, next.inChannels == outChannels, shape.count == 4,
              shape[1] == inChannels else { return false }
        let ph = shape[2] + 2 * padAmount, pw = shape[3] + 2 * padAmount
        guard ph >= kernel && pw >= kernel else { return false }
        return ConvKernels.pointwiseFusionApplies(geometry(paddedHeight: ph, paddedWidth: pw))
    }

    /// Inference of this convolution (+ activation `slopes`, nil for none) followed by the 1x1
    /// convolution `next` (+ activation `nextSlopes`), band by band so that this layer's output
    /// never exists whole (`ConvKernels.forwardThenPointwise`). Requires `canFuse(pointwise:inputShape:)`.
    public func forward(_ input: consuming Tensor, fusedSlopes slopes: [Float]?, thenPointwise next: Conv2d,
                        nextSlopes: [Float]?, context: ComputeContext) -> Tensor {
        precondition(canFuse(pointwise: next, inputShape: input.shape),
                     "Conv2d: \(self) then \(next) cannot be fused on input \(input.shape)")
        precondition(slopes.map { $0.count == outChannels } ?? true && nextSlopes.map { $0.count == next.outChannels } ?? true,
                     "Conv2d: fused slopes \(slopes?.count ?? 0), \(nextSlopes?.count ?? 0) for \(outChannels), \(next.outChannels) channels")
        let outShape = next.outputShape(forInput: outputShape(forInput: input.shape))
        let x = padAmount == 0 ? input : padPlanes(input, pad: padAmount, mode: padding, threads: context.threads)
        let g = geometry(paddedHeight: x.shape[2], paddedWidth: x.shape[3])
        return Tensor(shape: outShape) { out in
            x.storage.withUnsafeBufferPointer { xp in
                weight.storage.withUnsafeBufferPointer { wp in
                    bias.storage.withUnsafeBufferPointer { bp in
                        next.weight.storage.withUnsafeBufferPointer { w2 in
                            next.bias.storage.withUnsafeBufferPointer { b2 in
                                withOptionalPointer(slopes) { s1 in
                                    withOptionalPointer(nextSlopes) { s2 in
                                        let stage = PointwiseStage(inChannels: next.inChannels, outChannels: next.outChannels,
                                                                   weight: w2.baseAddress!, bias: b2.baseAddress!, slopes: s2)
                                        ConvKernels.forwardThenPointwise(g, batch: outShape[0], input: xp.baseAddress!,
                                                                         weight: wp.baseAddress!, bias: bp.baseAddress!, slopes: s1,
                                                                         pointwise: stage, output: out.baseAddress!,
                                                                         threads: context.threads)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func convolve(paddedInput x: Tensor, outShape: [Int], context: ComputeContext, slopes: [Float]? = nil) -> Tensor {
        let g = geometry(paddedHeight: x.shape[2], paddedWidth: x.shape[3])
        return Tensor(shape: outShape) { out in
            x.storage.withUnsafeBufferPointer { xp in
                weight.storage.withUnsafeBufferPointer { wp in
                    bias.storage.withUnsafeBufferPointer { bp in
                        if let slopes {
                            slopes.withUnsafeBufferPointer { sp in
                                ConvKernels.forward(g, batch: outShape[0], input: xp.baseAddress!, weight: wp.baseAddress!,
                                                    bias: bp.baseAddress!, output: out.baseAddress!, threads: context.threads,
                                                    slopes: sp.baseAddress!)
                            }
                        } else {
                            ConvKernels.forward(g, batch: outShape[0], input: xp.baseAddress!, weight: wp.baseAddress!,
                                                bias: bp.baseAddress!, output: out.baseAddress!, threads: context.threads)
                        }
                    }
                }
            }
        }
    }

    /// Saves the padded input.
    public func trainingForward(_ input: consuming Tensor, context: ComputeContext) -> (output: Tensor, activations: Activations) {
        let inShape = input.shape
        let outShape = outputShape(forInput: inShape)
        let x = padAmount == 0 ? input : padPlanes(input, pad: padAmount, mode: padding, threads: context.threads)
        let y = convolve(paddedInput: x, outShape: outShape, context: context)
        return (y, Activations(tensors: [x], inputShape: inShape))
    }

    public func backward(outputGradient dy: consuming Tensor, activations: Activations, needsInputGradient: Bool,
                         context: ComputeContext) -> Backward {
        let x = activations.tensors[0]
        let batch = x.shape[0]
        let g = geometry(paddedHeight: x.shape[2], paddedWidth: x.shape[3])
        precondition(dy.shape == [batch, outChannels, g.outHeight, g.outWidth],
                     "Conv2d.backward: output gradient \(dy.shape), expected \([batch, outChannels, g.outHeight, g.outWidth])")
        var dW = Tensor(shape: weight.shape)
        var dB = Tensor(shape: bias.shape)
        dy.storage.withUnsafeBufferPointer { dyp in
            x.storage.withUnsafeBufferPointer { xp in
                dW.storage.withUnsafeMutableBufferPointer { dwp in
                    dB.storage.withUnsafeMutableBufferPointer { dbp in
                        ConvKernels.backwardWeight(g, batch: batch, input: xp.baseAddress!, outputGradient: dyp.baseAddress!,
                                                   weightGradient: dwp.baseAddress!, biasGradient: dbp.baseAddress!,
                                                   threads: context.threads)
                    }
                }
            }
        }
        var dx: Tensor? = nil
        if needsInputGradient {
            let dxp = Tensor(shape: x.shape) { out in
                dy.storage.withUnsafeBufferPointer { dyp in
                    weight.storage.withUnsafeBufferPointer { wp in
                        ConvKernels.backwardInput(g, batch: batch, outputGradient: dyp.baseAddress!, weight: wp.baseAddress!,
                                                  inputGradient: out.baseAddress!, threads: context.threads)
                    }
                }
            }
            dx = padAmount == 0 ? dxp : unpadPlanesGradient(dxp, pad: padAmount, mode: padding)
        }
        return Backward(inputGradient: dx, parameterGradients: [dW, dB])
    }
}

/// Calls `body` with a pointer to `values`' storage, or with nil.
func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let values else { return body(nil) }
    return values.withUnsafeBufferPointer { body($0.baseAddress!) }
}
