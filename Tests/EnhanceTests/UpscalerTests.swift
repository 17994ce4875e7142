import Enhance
import EnhanceImage
import EnhanceModels
import EnhanceNN
import Foundation
import Testing

/// Small networks with random weights (no trained model is needed to test geometry).
enum TestModels {
    /// `arch.makeNetwork(seed:)` with the last layer's weights (initialised tiny, as the papers
    /// do) scaled up, so that the output depends visibly on the input.
    static func network(_ arch: Architecture, seed: UInt64) -> Sequential {
        var net = arch.makeNetwork(seed: seed)
        var p = net.parameters
        for i in p[p.count - 2].storage.indices { p[p.count - 2].storage[i] *= 200 }
        net.parameters = p
        return net
    }

    static func srcnn() -> Model {
        let arch = Architecture.srcnn(f1: 9, f2: 5, f3: 5, n1: 8, n2: 4, channels: 1)
        return Model(info: ModelInfo(name: "test-srcnn-x2", task: .superResolution, architecture: arch, scale: 2),
                     network: network(arch, seed: 3))
    }

    static func fsrcnn(scale: Int = 2) -> Model {
        let arch = Architecture.fsrcnn(d: 8, s: 4, m: 2, scale: scale)
        return Model(info: ModelInfo(name: "test-fsrcnn-x\(scale)", task: .superResolution, architecture: arch, scale: scale),
                     network: network(arch, seed: 5))
    }

    /// Enhance's own architecture (residual over bicubic, pixel shuffle), small.
    static func enhanceNet(scale: Int = 3) -> Model {
        let arch = Architecture.enhanceNet(channels: 6, blocks: 1, scale: scale)
        return Model(info: ModelInfo(name: "test-enhance-net-x\(scale)", task: .superResolution, architecture: arch, scale: scale),
                     network: network(arch, seed: 7))
    }

    /// A colour image with edges, gradients and noise-like texture.
    static func image(width: Int, height: Int, model: ColorModel = .rgb) -> Image {
        var img = Image(width: width, height: height, colorModel: model)
        for c in 0..<img.channels {
            for y in 0..<height {
                for x in 0..<width {
                    let v = 0.5 + 0.4 * sin(Double(x * (c + 1)) * 0.7 + Double(y) * 0.31) * cos(Double(x + 2 * y) * 0.13)
                    img[c, y, x] = Float(v)
                }
            }
        }
        return img.quantized8()
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        var m: Float = 0
        for i in a.indices { m = max(m, abs(a[i] - b[i])) }
        return m
    }
}

@Suite struct BandResamplerTests {
    /// Bands of the band resampler equal the same rows of `Image.resized` bit for bit, for both
    /// pass orders (rows first when the vertical scale is smaller, columns first otherwise).
    @Test(arguments: [(13, 11, 26, 22), (13, 11, 33, 17), (13, 11, 20, 30), (16, 16, 16, 16), (20, 9, 7, 5)])
    func bandsEqualWholeResize(inW: Int, inH: Int, outW: Int, outH: Int) {
        let plane = TestModels.image(width: inW, height: inH, model: .grey)
        let whole = plane.resized(width: outW, height: outH, method: .bicubic)
        let r = BandResampler(inWidth: inW, inHeight: inH, outWidth: outW, outHeight: outH)
        for bandHeight in [1, 3, outH] {
            var rows: [Float] = []
            for y0 in stride(from: 0, to: outH, by: bandHeight) {
                rows += r.rows(y0..<min(outH, y0 + bandHeight)) { range in
                    Array(plane.pixels[(range.lowerBound * inW)..<(range.upperBound * inW)])
                }
            }
            #expect(rows == whole.pixels, "band height \(bandHeight)")
        }
    }
}

@Suite struct TilingTests {
    /// Tiled output equals whole-image output (max difference ≤ 1e-5 before quantisation).
    @Test(arguments: [8, 9, 11, 13, 17, 32])
    func tiledEqualsWholeSRCNN(tile: Int) {
        let model = TestModels.srcnn()
        let image = TestModels.image(width: 23, height: 19)
        let whole = Upscaler(model: model, scale: 2).upscale(image)
        let tiled = Upscaler(model: model, scale: 2, tile: tile).upscale(image)
        #expect(whole.width == 46 && whole.height == 38)
        #expect(TestModels.maxDifference(whole.pixels, tiled.pixels) <= 1e-5)
    }

    @Test(arguments: [8, 9, 11, 13, 17, 32])
    func tiledEqualsWholeFSRCNN(tile: Int) {
        let model = TestModels.fsrcnn()
        let image = TestModels.image(width: 23, height: 19)
        let whole = Upscaler(model: model, scale: 2).upscale(image)
        let tiled = Upscaler(model: model, scale: 2, tile: tile).upscale(image)
        #expect(TestModels.maxDifference(whole.pixels, tiled.pixels) <= 1e-5)
    }

    /// Residual models: the bicubic base is added per tile and band, and must join seamlessly.
    @Test(arguments: [8, 9, 11, 13, 17, 32])
    func tiledEqualsWholeEnhanceNet(tile: Int) {
        let model = TestModels.enhanceNet(scale: 3)
        let image = TestModels.image(width: 23, height: 19)
        let whole = Upscaler(model: model, scale: 3).upscale(image)
        let tiled = Upscaler(model: model, scale: 3, tile: tile).upscale(image)
        #expect(whole.width == 69 && whole.height == 57)
        #expect(TestModels.maxDifference(whole.pixels, tiled.pixels) <= 1e-5)
    }

    /// An enhance-net whose last layer is zero adds nothing: its output is the bicubic upscale,
    /// and with the trained-like last layer it is not.
    @Test func enhanceNetIsAResidualOverBicubic() {
        let model = TestModels.enhanceNet(scale: 2)
        var network = model.network
        var p = network.parameters
        for i in (p.count - 2)..<p.count { for j in p[i].storage.indices { p[i].storage[j] = 0 } }
        network.parameters = p
        let zeroed = Model(info: model.info, network: network)
        let image = TestModels.image(width: 23, height: 19)
        let bicubic = Upscaler(model: nil, scale: 2).upscale(image)
        #expect(TestModels.maxDifference(Upscaler(model: zeroed, scale: 2).upscale(image).pixels, bicubic.pixels) <= 1e-5)
        #expect(TestModels.maxDifference(Upscaler(model: model, scale: 2).upscale(image).pixels, bicubic.pixels) > 1e-2)
    }

    /// The network itself, on one plane: tiles of odd sizes against the whole plane.
    @Test func planeInferenceTiles() {
        for model in [TestModels.srcnn(), TestModels.fsrcnn(scale: 3), TestModels.enhanceNet(scale: 3)] {
            let inference = PlaneInference(model: model, context: .serial)
            let plane = TestModels.image(width: 21, height: 17, model: .grey).pixels
            let whole = inference.run(plane, width: 21, height: 17)
            for tile in [8, 9, 15] {
                let tiled = inference.run(plane, width: 21, height: 17, tile: tile)
                #expect(TestModels.maxDifference(whole, tiled) <= 1e-5, "\(model.info.name) tile \(tile)")
            }
        }
    }

    /// Memory-budget bands (non-square tiles, bands of output rows) and a non-integer scale.
    @Test func budgetBandsEqualWhole() {
        let model = TestModels.fsrcnn()
        let image = TestModels.image(width: 40, height: 31, model: .rgba)
        for target in [UpscaleTarget.scale(2), .scale(2.5), .size(width: 50, height: nil)] {
            let whole = Upscaler(model: model, target: target).upscale(image)
            // 16 MB leaves 8 MB for the tile: about 4 output rows per band at this width
            let banded = Upscaler(model: model, target: target, memoryBudget: 1 << 20 + 700_000).upscale(image)
            #expect(whole.width == target.outputSize(width: 40, height: 31).width)
            #expect(TestModels.maxDifference(whole.pixels, banded.pixels) <= 1e-5, "\(target)")
        }
        #expect(UpscaleTarget.scale(2.5).outputSize(width: 40, height: 31) == (100, 78))
        #expect(UpscaleTarget.size(width: 50, height: nil).outputSize(width: 40, height: 31) == (50, 39))
    }

    /// x2.5 with a x2 model: the model's luma, then exact bicubic from 2W×2H to the final size.
    @Test func remainderIsExactBicubicOfTheModelOutput() {
        let model = TestModels.fsrcnn()
        let grey = TestModels.image(width: 14, height: 10, model: .grey)
        let x2 = Upscaler(model: model, target: .scale(2)).upscale(grey)
        let x25 = Upscaler(model: model, target: .scale(2.5)).upscale(grey)
        #expect(x25.pixels == x2.resized(width: 35, height: 25, method: .bicubic).pixels)
    }

    @Test func tooSmallTileIsRefused() {
        let model = TestModels.fsrcnn()
        let minimum = PlaneInference(model: model).minimumTile
        #expect(minimum == 8)
        #expect(throws: UpscaleError("--tile 7 is smaller than 8, the least this model's receptive field allows")) {
            try Upscaler(model: model, target: .scale(2), tile: 7).validate()
        }
        #expect(throws: Never.self) { try Upscaler(model: model, target: .scale(2), tile: 8).validate() }
    }
}

@Suite struct TTATests {
    /// Dihedral transform `k` of a plane, written independently of the library:
    /// k & 4 transposes, k & 2 flips vertically, k & 1 flips horizontally (in that order).
    static func transform(_ img: Image, _ k: Int) -> Image {
        var out = img
        if k & 4 != 0 {
            out = Image(width: img.height, height: img.width, colorModel: img.colorModel)
            for y in 0..<img.height { for x in 0..<img.width { out[0, x, y] = img[0, y, x] } }
        }
        let src = out
        for y in 0..<src.height {
            for x in 0..<src.width {
                let sy = k & 2 != 0 ? src.height - 1 - y : y, sx = k & 1 != 0 ? src.width - 1 - x : x
                out[0, y, x] = src[0, sy, sx]
            }
        }
        return out
    }

    /// Inverse of ``transform``: flips first, then transposes.
    static func inverse(_ img: Image, _ k: Int) -> Image {
        var out = img
        for y in 0..<img.height {
            for x in 0..<img.width {
                let sy = k & 2 != 0 ? img.height - 1 - y : y, sx = k & 1 != 0 ? img.width - 1 - x : x
                out[0, y, x] = img[0, sy, sx]
            }
        }
        if k & 4 != 0 {
            let src = out
            out = Image(width: src.height, height: src.width, colorModel: src.colorModel)
            for y in 0..<src.height { for x in 0..<src.width { out[0, x, y] = src[0, y, x] } }
        }
        return out
    }

    /// `--tta` equals the mean of the 8 transformed whole-image upscales, transformed back.
    @Test(arguments: [false, true])
    func ttaIsTheMeanOfTheEightTransforms(srcnn: Bool) {
        let model = srcnn ? TestModels.srcnn() : TestModels.fsrcnn()
        let grey = TestModels.image(width: 17, height: 12, model: .grey)
        var mean = [Float](repeating: 0, count: 34 * 24)
        for k in 0..<8 {
            let t = TTATests.transform(grey, k)
            #expect(TTATests.inverse(t, k) == grey)
            let up = TTATests.inverse(Upscaler(model: model, scale: 2).upscale(t), k)
            for i in mean.indices { mean[i] += up.pixels[i] }
        }
        for i in mean.indices { mean[i] /= 8 }
        let tta = Upscaler(model: model, target: .scale(2), tile: 9, tta: true).upscale(grey)
        #expect(TestModels.maxDifference(tta.pixels, mean) <= 1e-5)
        // and it is not simply the plain upscale
        let plain = Upscaler(model: model, scale: 2).upscale(grey)
        #expect(TestModels.maxDifference(tta.pixels, plain.pixels) > 1e-4)
    }
}

extension TTATests {
    /// `denoise --tta` (and the denoise step of `upscale --tta`): the luma is the mean of the 8
    /// transformed denoises, transformed back; `eval --tta` scores exactly that as NAME+tta.
    @Test func denoiseTTAIsTheMeanOfTheEightTransforms() throws {
        let arch = Architecture.fastArcnn
        let model = Model(info: ModelInfo(name: "fast-arcnn-test", task: .deblocking, architecture: arch, scale: 1, jpegQuality: 20),
                          network: TestModels.network(arch, seed: 11))
        let grey = TestModels.image(width: 23, height: 18, model: .grey)
        let plain = PlaneInference(model: model, context: .serial)
        var mean = [Float](repeating: 0, count: grey.planeSize)
        for k in 0..<8 {
            let t = TTATests.transform(grey, k)
            let out = Image(width: t.width, height: t.height, colorModel: .grey,
                            pixels: plain.run(t.pixels, width: t.width, height: t.height))
            let back = TTATests.inverse(out, k)
            for i in mean.indices { mean[i] += back.pixels[i] }
        }
        for i in mean.indices { mean[i] /= 8 }
        let clamped = mean.map { min(max($0, 0), 1) }
        let tta = Denoiser(model: model, tile: 10, tta: true, context: .serial).denoise(grey)
        #expect(TestModels.maxDifference(tta.pixels, clamped) <= 1e-5)
        let once = Denoiser(model: model, context: .serial).denoise(grey)
        #expect(TestModels.maxDifference(tta.pixels, once.pixels) > 1e-3)

        let sample = try DeblockProtocol.prepare(groundTruth: grey, quality: 20)
        let method = ModelMethod(model: model, tta: true, context: .serial)
        #expect(method.name == "fast-arcnn-test+tta" && ModelMethod(model: model).name == "fast-arcnn-test")
        let restored = try method.restoreY(sample)
        let expected = plain.run(sample.compressedY.pixels, width: grey.width, height: grey.height, tta: true)
        #expect(restored.pixels == expected)
        #expect(TestModels.maxDifference(expected, try ModelMethod(model: model).restoreY(sample).pixels) > 1e-3)

        // Whole-plane TTA reports one total from the first tile on: 8 x 3 x 2 tiles of 10 (a
        // transposed plane has as many square tiles), and counts up to it one tile at a time.
        var reports: [(Int, Int)] = []
        let tiled = plain.run(grey.pixels, width: grey.width, height: grey.height, tile: 10, tta: true) { reports.append(($0, $1)) }
        #expect(reports.map(\.1) == Array(repeating: 48, count: 48))
        #expect(reports.map(\.0) == Array(1...48))
        // Tiles place the 7x7 layer's Winograd F(4×4, 7×7) tiles elsewhere, so they round
        // differently: observed 4.3e-5 (0.01 of an 8-bit level).
        #expect(TestModels.maxDifference(tiled, mean) <= 1e-4)
    }
}

@Suite struct AlphaTests {
    /// An opaque orange square inside a fully transparent border whose hidden colour is black.
    static func badge() -> Image {
        var img = Image(width: 24, height: 20, colorModel: .rgba)
        for y in 6..<14 {
            for x in 7..<17 {
                img[0, y, x] = 0.8; img[1, y, x] = 0.4; img[2, y, x] = 0.2; img[3, y, x] = 1
            }
        }
        return img
    }

    /// Alpha keeps its own path (bicubic, clamped) and visible pixels near the edge keep the
    /// square's colour (no dark fringe); without bleeding, the fringe is there.
    @Test func transparentBorderHasNoDarkFringe() {
        let image = AlphaTests.badge()
        let out = Upscaler(model: nil, scale: 2).upscale(image)
        var alpha = image.plane(3).resized(scale: 2, method: .bicubic)
        for i in alpha.pixels.indices { alpha.pixels[i] = min(max(alpha.pixels[i], 0), 1) }
        #expect(out.plane(3).pixels == alpha.pixels)
        var worst: Float = 0, visible = 0
        for y in 0..<out.height {
            for x in 0..<out.width where out[3, y, x] > 0.02 {
                visible += 1
                worst = max(worst, abs(out[0, y, x] - 0.8), abs(out[1, y, x] - 0.4), abs(out[2, y, x] - 0.2))
            }
        }
        #expect(visible > 16 * 20)
        #expect(worst < 1e-5)
        // The naive resize darkens the same pixels.
        let naive = image.resized(scale: 2, method: .bicubic)
        var naiveWorst: Float = 0
        for y in 0..<out.height {
            for x in 0..<out.width where out[3, y, x] > 0.02 { naiveWorst = max(naiveWorst, abs(naive[0, y, x] - 0.8)) }
        }
        #expect(naiveWorst > 0.2)
    }

    /// With a model, alpha is still the clamped bicubic of the input alpha.
    @Test func alphaWithAModel() {
        let image = AlphaTests.badge()
        let out = Upscaler(model: TestModels.fsrcnn(), scale: 2, tile: 9).upscale(image)
        #expect(out.colorModel == .rgba)
        var alpha = image.plane(3).resized(scale: 2, method: .bicubic)
        for i in alpha.pixels.indices { alpha.pixels[i] = min(max(alpha.pixels[i], 0), 1) }
        #expect(out.plane(3).pixels == alpha.pixels)
    }

    @Test func bleedFillsOnlyTransparentPixels() {
        var img = Image(width: 5, height: 1, colorModel: .greyAlpha)
        img.pixels = [0, 0.6, 0, 0, 0, /* alpha */ 0, 1, 0, 0, 0]
        Upscaler.bleedColour(&img, radius: 2)
        // passes: x=0,2 get 0.6; then x=3 gets 0.6; x=4 is beyond the radius: the mean (0.6)
        #expect(img.pixels == [0.6, 0.6, 0.6, 0.6, 0.6, 0, 1, 0, 0, 0])
        var two = Image(width: 3, height: 1, colorModel: .greyAlpha)
        two.pixels = [0.2, 0, 0.8, 1, 0, 0.5]
        Upscaler.bleedColour(&two, radius: 1)
        #expect(two.pixels == [0.2, 0.5, 0.8, 1, 0, 0.5])
    }
}

@Suite struct ImageFileWriterTests {
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("enhance-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Streamed PNG (8 and 16 bits) and JPEG decode to what the whole-image encoder gives.
    @Test(arguments: [(ImageFormat.png, 8), (.png, 16), (.jpeg, 8)])
    func streamedEqualsWhole(format: ImageFormat, depth: Int) throws {
        let dir = try ImageFileWriterTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        var image = TestModels.image(width: 37, height: 29)
        image.iccProfile = Array("not really a profile but bytes".utf8)
        let options = EncodeOptions(format: format, quality: 90, bitDepth: depth)
        let url = dir.appendingPathComponent("s.\(format.fileExtension)")
        let writer = try ImageFileWriter(url: url, width: 37, height: 29, colorModel: .rgb, options: options)
        for y0 in stride(from: 0, to: 29, by: 7) {
            try writer.write(image.cropped(x: 0, y: y0, width: 37, height: min(7, 29 - y0)))
        }
        try writer.finish()
        let streamed = try ImageIO.read(contentsOf: url)
        let whole = try ImageIO.decode(ImageIO.encode(image, options: options), name: "whole")
        #expect(streamed.pixels == whole.pixels)
        #expect(streamed.sourceBitDepth == depth)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [url.lastPathComponent])
    }

    @Test func abandonedWriterLeavesNothing() throws {
        let dir = try ImageFileWriterTests.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("half.png")
        do {
            let writer = try ImageFileWriter(url: url, width: 10, height: 10, colorModel: .grey, options: EncodeOptions())
            try writer.write(Image(width: 10, height: 4, colorModel: .grey))
            writer.abort()
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        #expect(throws: ImageIOError(path: url.path, reason: "JPEG cannot store alpha; flatten or drop the alpha channel first")) {
            _ = try ImageFileWriter(url: url, width: 4, height: 4, colorModel: .rgba, options: EncodeOptions(format: .jpeg))
        }
    }
}
