import EnhanceNN

/// What a network computes, in enough detail to rebuild it from a weight file's metadata.
///
/// Every network is defined with **valid** convolutions. Inference pads the input once by
/// ``contextPadding`` (edge replication at image borders, real neighbours inside an image),
/// so tiled and whole-image inference give the same result. For SRCNN this replaces the
/// per-layer replicate padding of the paper's MATLAB test code; the two differ only within
/// the receptive-field radius of the border.
public enum Architecture: Sendable, Equatable, Codable {
    /// SRCNN (Dong et al., TPAMI 2015): conv f1 (n1) → ReLU → conv f2 (n2) → ReLU → conv f3 (channels),
    /// on the bicubic-upscaled image.
    case srcnn(f1: Int, f2: Int, f3: Int, n1: Int, n2: Int, channels: Int)
    /// FSRCNN (Dong, Loy, Tang, ECCV 2016) on the low-resolution image: conv 5x5 (d) → PReLU →
    /// 1x1 (s) → PReLU → m × [3x3 (s) → PReLU] → 1x1 (d) → PReLU → deconv 9x9 stride `scale`.
    case fsrcnn(d: Int, s: Int, m: Int, scale: Int)
    /// AR-CNN (Dong et al., ICCV 2015): 9x9 (64) → 7x7 (32) → 1x1 (16) → 5x5 (1), ReLU between.
    case arcnn(f1: Int, f2: Int, f3: Int, f4: Int, n1: Int, n2: Int, n3: Int)
    /// Fast AR-CNN (Dong et al., 2016): 9x9 (64) stride 2 → 1x1 (32) → 7x7 (32) → 1x1 (64) →
    /// deconvolution 9x9 stride 2 (1), ReLU between: the heavy layers run at half resolution.
    case fastArcnn
    /// Enhance's own fast model, on the low-resolution image: conv 3x3 (c) → PReLU →
    /// `blocks` × [3x3 (c) → PReLU] → 3x3 (scale²) → pixel shuffle, predicting the residual over
    /// MATLAB-exact bicubic (output = bicubic(input) + network(input)).
    case enhanceNet(channels: Int, blocks: Int, scale: Int)

    /// Multiplication factor between the network's input and output sizes.
    public var networkScale: Int {
        switch self {
        case .srcnn, .arcnn, .fastArcnn: 1
        case .fsrcnn(_, _, _, let scale), .enhanceNet(_, _, let scale): scale
        }
    }

    /// Whether the network's input is the bicubic-upscaled image (SRCNN) rather than the
    /// low-resolution one (FSRCNN) or the degraded image at full size (AR-CNN).
    public var takesUpscaledInput: Bool {
        if case .srcnn = self { return true }
        return false
    }

    /// Input channels (1 for Y-only models).
    public var channels: Int {
        switch self {
        case .srcnn(_, _, _, _, _, let c): c
        case .fsrcnn, .arcnn, .fastArcnn, .enhanceNet: 1
        }
    }

    /// Whether the network predicts the difference from the bicubic upscale of its input
    /// (added back by inference, subtracted from the label in training).
    public var residualOverBicubic: Bool {
        if case .enhanceNet = self { return true }
        return false
    }

    /// Kernel sizes of the valid convolutions before any upsampling layer.
    private var validKernels: [Int] {
        switch self {
        case let .srcnn(f1, f2, f3, _, _, _): [f1, f2, f3]
        case let .fsrcnn(_, _, m, _): [5, 1] + Array(repeating: 3, count: m) + [1]
        case let .arcnn(f1, f2, f3, f4, _, _, _): [f1, f2, f3, f4]
        case let .enhanceNet(_, blocks, _): Array(repeating: 3, count: blocks + 2)
        case .fastArcnn: [1, 7, 1]  // after the strided first layer, at half resolution
        }
    }

    /// Input pixels lost on each side by the valid convolutions.
    public var convolutionRadius: Int { validKernels.reduce(0) { $0 + ($1 - 1) / 2 } }

    /// Deconvolution geometry when the network ends in one: kernel, stride, and the padding of the
    /// paper's form (`padding` 4, output = scale × input), which fixes where low-resolution pixel
    /// `i` lands: on `[i·s, (i+1)·s)` of the padded form, i.e. from `i·s + padding` of the
    /// unpadded output the network computes.
    var deconvolution: (kernel: Int, stride: Int, padding: Int)? {
        if case let .fsrcnn(_, _, _, scale) = self { return (9, scale, 4) }
        return nil
    }

    /// Low-resolution feature margin a deconvolution needs so that the kept outputs are complete.
    var deconvolutionMargin: Int {
        guard let d = deconvolution else { return 0 }
        let reach = max(d.padding, d.kernel - 1 - d.padding)
        return (reach + d.stride - 1) / d.stride
    }

    /// Input pixels of context needed on each side of a tile: the input is padded by this much.
    ///
    /// Fast AR-CNN: feature `j` of the stride-2 layer sees padded input `[2j, 2j+8]`; after the
    /// 7x7 layer, feature `k` is centred on padded input `2k + 10`, and the unpadded 9x9 stride-2
    /// deconvolution puts it at output `2k + 4`: output `u` is input `u + 6 − padding`. With a
    /// padding of 14 every kept output (`u = x + 8`) has all its deconvolution taps inside the tile.
    public var contextPadding: Int {
        if case .fastArcnn = self { return 14 }
        return convolutionRadius + deconvolutionMargin
    }

    /// Tiles must start on multiples of this (stride-2 layers keep the whole-image sampling grid).
    public var tileAlignment: Int {
        if case .fastArcnn = self { return 2 }
        return 1
    }

    /// Output pixels skipped at the top and left of the network's output; the next
    /// `networkScale × tile` pixels are kept (those whose every deconvolution tap has an input).
    public var outputOffset: Int {
        if case .fastArcnn = self { return 8 }
        guard let d = deconvolution else { return 0 }
        return deconvolutionMargin * d.stride + d.padding
    }

    /// Receptive field in input pixels (2 × radius + 1).
    public var receptiveField: Int { 2 * contextPadding + 1 }

    /// Short name, e.g. `srcnn-9-5-5`, `fsrcnn-56-12-4`.
    public var familyName: String {
        switch self {
        case let .srcnn(f1, f2, f3, n1, n2, c):
            var s = "srcnn-\(f1)-\(f2)-\(f3)"
            if n1 != 64 || n2 != 32 { s += "-n\(n1)-\(n2)" }
            if c != 1 { s += "-rgb" }
            return s
        case let .fsrcnn(d, s, m, _): return "fsrcnn-\(d)-\(s)-\(m)"
        case let .arcnn(f1, f2, f3, f4, _, _, _): return "arcnn-\(f1)-\(f2)-\(f3)-\(f4)"
        case let .enhanceNet(c, b, _): return c == 48 && b == 5 ? "enhance-net" : "enhance-net-\(c)-\(b)"
        case .fastArcnn: return "fast-arcnn"
        }
    }

    /// Builds the network with freshly initialised parameters (initialisers of each paper).
    ///
    /// The same network serves training and inference: valid convolutions, and for FSRCNN an
    /// unpadded deconvolution whose complete outputs start at ``outputOffset``. Training crops
    /// its output there too, so a sub-image is trained exactly as a tile is later run.
    public func makeNetwork(seed: UInt64 = 0) -> Sequential {
        var layers: [any Layer] = []
        switch self {
        case let .srcnn(f1, f2, f3, n1, n2, c):
            // Paper: Gaussian(0, 0.001) weights; we use He init for the ReLU layers (trains faster)
            // and the paper's small Gaussian for the linear reconstruction layer.
            layers = [
                Conv2d(inChannels: c, outChannels: n1, kernel: f1), ReLU(),
                Conv2d(inChannels: n1, outChannels: n2, kernel: f2), ReLU(),
                Conv2d(inChannels: n2, outChannels: c, kernel: f3, weightInitializer: .gaussian(std: 0.001)),
            ]
        case let .fsrcnn(d, s, m, scale):
            layers = [Conv2d(inChannels: 1, outChannels: d, kernel: 5), PReLU(channels: d),
                      Conv2d(inChannels: d, outChannels: s, kernel: 1), PReLU(channels: s)]
            for _ in 0..<m {
                layers += [Conv2d(inChannels: s, outChannels: s, kernel: 3), PReLU(channels: s)] as [any Layer]
            }
            layers += [Conv2d(inChannels: s, outChannels: d, kernel: 1), PReLU(channels: d)] as [any Layer]
            layers.append(ConvTranspose2d(inChannels: d, outChannels: 1, kernel: 9, stride: scale,
                                          weightInitializer: .gaussian(std: 0.001)))
        case let .arcnn(f1, f2, f3, f4, n1, n2, n3):
            layers = [
                Conv2d(inChannels: 1, outChannels: n1, kernel: f1), ReLU(),
                Conv2d(inChannels: n1, outChannels: n2, kernel: f2), ReLU(),
                Conv2d(inChannels: n2, outChannels: n3, kernel: f3), ReLU(),
                Conv2d(inChannels: n3, outChannels: 1, kernel: f4, weightInitializer: .gaussian(std: 0.001)),
            ]
        case .fastArcnn:
            layers = [
                Conv2d(inChannels: 1, outChannels: 64, kernel: 9, stride: 2), ReLU(),
                Conv2d(inChannels: 64, outChannels: 32, kernel: 1), ReLU(),
                Conv2d(inChannels: 32, outChannels: 32, kernel: 7), ReLU(),
                Conv2d(inChannels: 32, outChannels: 64, kernel: 1), ReLU(),
                ConvTranspose2d(inChannels: 64, outChannels: 1, kernel: 9, stride: 2, weightInitializer: .gaussian(std: 0.001)),
            ]
        case let .enhanceNet(c, blocks, scale):
            layers = [Conv2d(inChannels: 1, outChannels: c, kernel: 3), PReLU(channels: c)]
            for _ in 0..<blocks {
                layers += [Conv2d(inChannels: c, outChannels: c, kernel: 3), PReLU(channels: c)] as [any Layer]
            }
            // Small last layer: training starts from the bicubic result.
            layers += [Conv2d(inChannels: c, outChannels: scale * scale, kernel: 3, weightInitializer: .gaussian(std: 0.001)),
                       PixelShuffle(factor: scale)] as [any Layer]
        }
        var net = Sequential(layers)
        var rng = SeededGenerator(seed: seed)
        net.initializeParameters(rng: &rng)
        return net
    }
}

extension Architecture {
    /// Multiply-adds per output pixel of an image large enough for borders not to count: the cost
    /// measure that does not depend on the machine. The count per pixel at input side n is
    /// c + b/n + O(1/n²) (valid convolutions lose a border), so 2·count(2n) − count(n) at
    /// n = 65536 is c to well under one multiply-add.
    public var multiplyAddsPerOutputPixel: Double {
        let network = makeNetwork(seed: 0)
        func perPixel(_ side: Int) -> Double {
            let shape = [1, channels, side, side]
            let out = network.outputShape(forInput: shape)
            return Double(network.multiplyAdds(forInput: shape)) / Double(out[2] * out[3])
        }
        let n = 65536 / networkScale
        return 2 * perPixel(2 * n) - perPixel(n)
    }
}

extension Architecture {
    /// Architecture families users can name, e.g. in `enhance train --model`.
    public static let familyNames = ["srcnn-9-1-5", "srcnn-9-3-5", "srcnn-9-5-5", "fsrcnn", "fsrcnn-s", "enhance-net", "arcnn", "fast-arcnn"]

    /// Parses a family name (`srcnn-9-5-5`, `srcnn-9-5-5-rgb`, `fsrcnn`, `fsrcnn-s`, `fsrcnn-D-S-M`, `arcnn`)
    /// for a scale; nil when unknown.
    public init?(familyName name: String, scale: Int) {
        let parts = name.lowercased().split(separator: "-").map(String.init)
        switch parts.first {
        case "srcnn":
            var rest = Array(parts.dropFirst())
            var channels = 1
            if rest.last == "rgb" { channels = 3; rest.removeLast() }
            if rest.isEmpty { rest = ["9", "5", "5"] }
            let ints = rest.compactMap(Int.init)
            guard ints.count == 3, ints.allSatisfy({ $0 > 0 && $0 % 2 == 1 }) else { return nil }
            self = .srcnn(f1: ints[0], f2: ints[1], f3: ints[2], n1: 64, n2: 32, channels: channels)
        case "fsrcnn":
            let rest = Array(parts.dropFirst())
            if rest.isEmpty { self = .fsrcnn(d: 56, s: 12, m: 4, scale: scale) }
            else if rest == ["s"] { self = .fsrcnn(d: 32, s: 5, m: 1, scale: scale) }
            else {
                let ints = rest.compactMap(Int.init)
                guard ints.count == 3, ints.allSatisfy({ $0 > 0 }) else { return nil }
                self = .fsrcnn(d: ints[0], s: ints[1], m: ints[2], scale: scale)
            }
        case "enhance":
            let rest = Array(parts.dropFirst())
            guard rest.first == "net" else { return nil }
            if rest.count == 1 { self = .enhanceNet(channels: 48, blocks: 5, scale: scale) }
            else {
                let ints = rest.dropFirst().compactMap(Int.init)
                guard ints.count == 2, ints[0] > 0, ints[1] >= 0 else { return nil }
                self = .enhanceNet(channels: ints[0], blocks: ints[1], scale: scale)
            }
        case "fast":
            guard parts.count == 2, parts[1] == "arcnn" else { return nil }
            self = .fastArcnn
        case "arcnn":
            guard parts.count == 1 else { return nil }
            self = .arcnn(f1: 9, f2: 7, f3: 1, f4: 5, n1: 64, n2: 32, n3: 16)
        default:
            return nil
        }
    }
}
