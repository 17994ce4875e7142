import Enhance
import EnhanceModels
import EnhanceNN
import EnhanceTraining
import Testing

/// A sub-image trained on must produce exactly what whole-image inference produces at the
/// label's position: otherwise the network learns one alignment and is run with another.
@Suite struct TrainingGeometryTests {
    @Test(arguments: [
        Architecture.fsrcnn(d: 8, s: 4, m: 2, scale: 3),
        Architecture.fsrcnn(d: 8, s: 4, m: 1, scale: 2),
        Architecture.fsrcnn(d: 8, s: 4, m: 1, scale: 4),
        Architecture.srcnn(f1: 9, f2: 1, f3: 5, n1: 8, n2: 4, channels: 1),
        Architecture.enhanceNet(channels: 6, blocks: 1, scale: 3),
        Architecture.fastArcnn,
    ])
    func subImageOutputEqualsWholeImageInference(architecture arch: Architecture) {
        let model = Model(info: ModelInfo(name: "t", task: .superResolution, architecture: arch, scale: arch.networkScale),
                          network: arch.makeNetwork(seed: 5))
        let w = 50, h = 46
        let plane = (0..<(w * h)).map { i in Float((i * 7919) % 251) / 251 }
        let whole = PlaneInference(model: model, context: .serial).run(plane, width: w, height: h)
        let s = arch.networkScale, outW = w * s
        let geometry = PatchGeometry(upscaledInput: arch.takesUpscaledInput, inputSize: 40, stride: 10,
                                     radius: arch.contextPadding, networkScale: s)
        let (y0, x0) = (2, 4)  // even: stride-2 networks keep the whole-image grid
        let patch = Tensor(shape: [1, 1, 40, 40]) { buf in
            for r in 0..<40 { for c in 0..<40 { buf[r * 40 + c] = plane[(y0 + r) * w + x0 + c] } }
        }
        let out = model.network.forward(patch, context: .serial)
        let ls = geometry.labelSize, off = arch.outputOffset, ow = out.shape[3]
        var worst: Float = 0
        for r in 0..<ls {
            for c in 0..<ls {
                let trained = out.storage[(off + r) * ow + off + c]
                let inferred = whole[((y0 + geometry.radius) * s + r) * outW + (x0 + geometry.radius) * s + c]
                worst = max(worst, abs(trained - inferred))
            }
        }
        #expect(ls > 0)
        #expect(worst <= 1e-5, "\(arch.familyName): max difference \(worst)")
    }
}
