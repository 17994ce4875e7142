/// 2-D transposed convolution ("deconvolution") with PyTorch's `nn.ConvTranspose2d` semantics.
///
/// - Input `[N, inChannels, H, W]`, output `[N, outChannels, H', W']` with
///   `H' = (H − 1)·stride − 2·padding + kernel + outputPadding`.
///   FSRCNN's last layer (kernel 9, stride s, padding 4, outputPadding s − 1) gives `H' = s·H`.
/// - `weight` is `[inChannels, outChannels, kernel, kernel]` (PyTorch order for transposed
///   convolutions), `bias` is `[outChannels]`. Parameter names: `"weight"`, `"bias"`.
/// - Implemented as the adjoint of a valid strided `Conv2d` (outChannels → inChannels) over
///   the uncropped output, followed by cropping `padding` pixels from the top/left. Strided
///   layers with at most 4 output channels (FSRCNN, Fast AR-CNN) run forward through
///   `ConvKernels.transposedForward` instead (exact sub-pixel phases, written cropped with the bias).
public struct ConvTranspose2d: Layer {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let outputPadding: Int
    /// `[inChannels, outChannels, kernel, kernel]`.
    public var weight: Tensor
    /// `[outChannels]`.
    public var bias: Tensor
    /// Fan-in for `.heNormal` is `inChannels × kernel² / stride²` (products summed per output pixel).
    public var weightInitializer: Initializer
    public var biasInitializer: Initializer

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, weightInitializer: Initializer = .heNormal, biasInitializer: Initializer = .zeros) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0,
                     "ConvTranspose2d: channels \(inChannels)->\(outChannels), kernel \(kernel), stride \(stride) must be > 0")
        precondition(padding >= 0 && outputPadding >= 0 && outputPadding < stride,
                     "ConvTranspose2d: padding \(padding) ≥ 0 and 0 ≤ outputPadding \(outputPadding) < stride \(stride) required")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.weight = Tensor(shape: [inChannels, outChannels, kernel, kernel])
        self.bias = Tensor(shape: [outChannels])
        self.weightInitializer = weightInitializer
        self.biasInitializer = biasInitializer
    }

    public var parameterNames: [String] { ["weight", "bias"] }
    public var parameters: [Tensor] {
        get { [weight, bias] }
        set {
            let p = checkedParameters(newValue, against: [weight, bias], names: parameterNames, "ConvTranspose2d")
            weight = p[0]; bias = p[1]
        }
    }

    public var description: String {
        "ConvTranspose2d(\(inChannels)->\(outChannels), \(kernel)x\(kernel), stride \(stride), padding \(padding), outputPadding \(outputPadding))"
    }

    public mutating func initializeParameters(rng: inout SeededGenerator) {
        let fanIn = max(1, inChannels * kernel * kernel / (stride * stride))
        weightInitializer.fill(&weight, fanIn: fanIn, rng: &rng)
        biasInitializer.fill(&bias, fanIn: fanIn, rng: &rng)
    }

    public func outputShape(forInput shape: [Int]) -> [Int] {
        let (n, c, h, w) = nchw(shape, "ConvTranspose2d")
        precondition(c == inChannels, "ConvTranspose2d: input has \(c) channels, layer expects \(inChannels)")
        precondition(h > 0 && w > 0, "ConvTranspose2d: empty input \(shape)")
        let oh = (h - 1) * stride - 2 * padding + kernel + outputPadding
        let ow = (w - 1) * stride - 2 * padding + kernel + outputPadding
        precondition(oh > 0 && ow > 0, "ConvTranspose2d: input \(h)x\(w) gives an empty output \(oh)x\(ow)")
        return [n, outChannels, oh, ow]
    }

    public func multiplyAdds(forInput shape: [Int]) -> Int {
        let (n, _, h, w) = nchw(shape, "ConvTranspose2d")
        return n * h * w * inChannels * outChannels * kernel * kernel
    }

    /// Extent of the uncropped buffer for input extent `n` (covers the crop window too).
    private func fullExtent(_ n: Int) -> Int {
        (n - 1) * stride + kernel + max(0, outputPadding - padding)
    }

    /// Geometry of the equivalent forward convolution (outChannels → inChannels) over the uncropped buffer.
    private func geometry(inputHeight h: Int, inputWidth w: Int) -> ConvGeometry {
        let g = ConvGeometry(inChannels: outChannels, outChannels: inChannels, inHeight: fullExtent(h),
                             inWidth: fullExtent(w), kernel: kernel, stride: stride)
        precondition(g.outHeight == h && g.outWidth == w,
                     "ConvTranspose2d: adjoint geometry \(g.outHeight)x\(g.outWidth) != input \(h)x\(w)")
        return g
    }

    public func forward(_ input: consuming Tensor, context: ComputeContext) -> Tensor {
        let outShape = outputShape(forInput: input.shape)
        let (n, _, h, w) = nchw(input.shape, "ConvTranspose2d")
        if ConvKernels.transposedDirectApplies(outChannels: outChannels, kernel: kernel, stride: stride) {
            // Few output channels (FSRCNN): exact sub-pixel phases straight into the cropped output.
            return Tensor(shape: outShape) { out in
                input.storage.withUnsafeBufferPointer { xp in
                    weight.storage.withUnsafeBufferPointer { wp in
                        bias.storage.withUnsafeBufferPointer { bp in
                            ConvKernels.transposedForward(batch: n, inChannels: inChannels, outChannels: outChannels, inHeight: h,
                                                          inWidth: w, kernel: kernel, stride: stride, padding: padding,
                                                          outHeight: outShape[2], outWidth: outShape[3], input: xp.baseAddress!,
                                                          weight: wp.baseAddress!, bias: bp.baseAddress!, output: out.baseAddress!,
                                                          threads: context.threads)
                        }
                    }
                }
            }
        }
        let g = geometry(inputHeight: h, inputWidth: w)
        let full = Tensor(shape: [n, outChannels, g.inHeight, g.inWidth]) { out in
            input.storage.withUnsafeBufferPointer { xp in
                weight.storage.withUnsafeBufferPointer { wp in
                    ConvKernels.backwardInput(g, batch: n, outputGradient: xp.baseAddress!, weight: wp.baseAddress!,
                                              inputGradient: out.baseAddress!, threads: context.threads)
                }
            }
        }
        return cropAddingBias(full, outShape: outShape)
    }

    /// Whether `forward(_:afterPointwise:slopes:context:)` applies: `conv` is a stride-1 1x1
    /// convolution giving this layer's input channels, and this layer takes the direct kernel.
    public func canFuse(pointwise conv: Conv2d) -> Bool {
        conv.kernel == 1 && conv.stride == 1 && conv.outChannels == inChannels
            && ConvKernels.transposedDirectApplies(outChannels: outChannels, kernel: kernel, stride: stride)
    }

    /// Inference of the 1x1 convolution `conv` (+ activation `slopes`, nil for none) followed by
    /// this layer: the direct kernel computes each input row it needs from `conv`'s input, so the
    /// `inChannels` map never exists whole. Requires `canFuse(pointwise:)`.
    public func forward(_ input: consuming Tensor, afterPointwise conv: Conv2d, slopes: [Float]?,
                        context: ComputeContext) -> Tensor {
        precondition(canFuse(pointwise: conv), "ConvTranspose2d: \(conv) then \(self) cannot be fused")
        precondition(slopes.map { $0.count == inChannels } ?? true,
                     "ConvTranspose2d: \(slopes?.count ?? 0) fused slopes for \(inChannels) channels")
        let midShape = conv.outputShape(forInput: input.shape)
        let outShape = outputShape(forInput: midShape)
        let (n, _, h, w) = nchw(midShape, "ConvTranspose2d")
        return Tensor(shape: outShape) { out in
            input.storage.withUnsafeBufferPointer { xp in
                conv.weight.storage.withUnsafeBufferPointer { w1 in
                    conv.bias.storage.withUnsafeBufferPointer { b1 in
                        withOptionalPointer(slopes) { s1 in
                            weight.storage.withUnsafeBufferPointer { wp in
                                bias.storage.withUnsafeBufferPointer { bp in
                                    let stage = PointwiseStage(inChannels: conv.inChannels, outChannels: conv.outChannels,
                                                               weight: w1.baseAddress!, bias: b1.baseAddress!, slopes: s1)
                                    ConvKernels.transposedForward(batch: n, inChannels: inChannels, outChannels: outChannels,
                                                                  inHeight: h, inWidth: w, kernel: kernel, stride: stride,
                                                                  padding: padding, outHeight: outShape[2], outWidth: outShape[3],
                                                                  input: xp.baseAddress!, weight: wp.baseAddress!,
                                                                  bias: bp.baseAddress!, output: out.baseAddress!,
                                                                  threads: context.threads, pointwise: stage)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func cropAddingBias(_ full: Tensor, outShape: [Int]) -> Tensor {
        let (n, c, oh, ow) = (outShape[0], outShape[1], outShape[2], outShape[3])
        let fh = full.shape[2], fw = full.shape[3]
        let p = padding
        return Tensor(shape: outShape) { out in
            full.storage.withUnsafeBufferPointer { fp in
                bias.storage.withUnsafeBufferPointer { bp in
                    for plane in 0..<(n * c) {
                        let b = bp[plane % c]
                        let src = fp.baseAddress! + plane * fh * fw, dst = out.baseAddress! + plane * oh * ow
                        for y in 0..<oh {
                            let s = src + (y + p) * fw + p, d = dst + y * ow
                            for x in 0..<ow { d[x] = s[x] + b }
                        }
                    }
                }
            }
        }
    }

    /// Saves the input.
    public func trainingForward(_ input: consuming Tensor, context: ComputeContext) -> (output: Tensor, activations: Activations) {
        let x = input
        let y = forward(x, context: context)
        return (y, Activations(tensors: [x], inputShape: x.shape))
    }

    public func backward(outputGradient dy: consuming Tensor, activations: Activations, needsInputGradient: Bool,
                         context: ComputeContext) -> Backward {
        let x = activations.tensors[0]
        let (n, _, h, w) = nchw(x.shape, "ConvTranspose2d.backward")
        let outShape = outputShape(forInput: x.shape)
        precondition(dy.shape == outShape, "ConvTranspose2d.backward: output gradient \(dy.shape), expected \(outShape)")
        let g = geometry(inputHeight: h, inputWidth: w)
        let (oh, ow) = (outShape[2], outShape[3])
        let fh = g.inHeight, fw = g.inWidth, p = padding
        // Gradient with respect to the uncropped buffer: dy placed at offset (p, p), zeros elsewhere
        // (dy itself when nothing is cropped, as in FSRCNN's unpadded training form).
        let uncropped = p == 0 && fh == oh && fw == ow
        var biasSums = [Double](repeating: 0, count: outChannels)
        dy.storage.withUnsafeBufferPointer { dp in
            for plane in 0..<(n * outChannels) {
                let src = dp.baseAddress! + plane * oh * ow
                var s = 0.0
                for i in 0..<(oh * ow) { s += Double(src[i]) }
                biasSums[plane % outChannels] += s
            }
        }
        var dyFull = copy dy
        if !uncropped {
            dyFull = Tensor(shape: [n, outChannels, fh, fw])
            dyFull.storage.withUnsafeMutableBufferPointer { fp in
                dy.storage.withUnsafeBufferPointer { dp in
                    for plane in 0..<(n * outChannels) {
                        let src = dp.baseAddress! + plane * oh * ow, dst = fp.baseAddress! + plane * fh * fw
                        for y in 0..<oh { (dst + (y + p) * fw + p).update(from: src + y * ow, count: ow) }
                    }
                }
            }
        }
        let dB = Tensor(shape: bias.shape, storage: biasSums.map { Float($0) })
        var dW = Tensor(shape: weight.shape)
        dyFull.storage.withUnsafeBufferPointer { fp in
            x.storage.withUnsafeBufferPointer { xp in
                dW.storage.withUnsafeMutableBufferPointer { wp in
                    ConvKernels.backwardWeight(g, batch: n, input: fp.baseAddress!, outputGradient: xp.baseAddress!,
                                               weightGradient: wp.baseAddress!, biasGradient: nil, threads: context.threads)
                }
            }
        }
        var dx: Tensor? = nil
        if needsInputGradient {
            dx = Tensor(shape: x.shape) { out in
                dyFull.storage.withUnsafeBufferPointer { fp in
                    weight.storage.withUnsafeBufferPointer { wp in
                        ConvKernels.forward(g, batch: n, input: fp.baseAddress!, weight: wp.baseAddress!, bias: nil,
                                            output: out.baseAddress!, threads: context.threads)
                    }
                }
            }
        }
        return Backward(inputGradient: dx, parameterGradients: [dW, dB])
    }
}
