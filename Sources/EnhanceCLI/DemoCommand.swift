import ArgumentParser
import Enhance
import EnhanceImage
import EnhanceMetrics
import EnhanceModels
import EnhanceNN
import Foundation

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Upscale the built-in test card and remove JPEG artifacts from it, writing side-by-side comparisons."
    )

    @Option(name: .shortAndLong, help: "Output folder.") var output: String = "out"
    @Option(help: "Scale factor.") var scale: Int = 3
    @Option(help: "Model (default: the best shipped one for the scale).") var model: String?

    func run() throws {
        let folder = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let original = TestCard.make(width: 480, height: 336).modcropped(scale)
        // What a user would have: the card shrunk by exact bicubic, stored as an 8-bit file.
        let low = original.resized(scale: 1 / Double(scale), method: .bicubic).quantized8()
        let bicubic = low.resized(scale: Double(scale), method: .bicubic).quantized8()
        let name = model ?? ModelCatalog.defaultModel(scale: scale)
        let chosen = try name.map { try ModelCatalog.load($0) }
        let start = DispatchTime.now().uptimeNanoseconds
        let enhanced = Upscaler(model: chosen, scale: scale).upscale(low).quantized8()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        let yTruth = original.luma(quantized: true)
        func psnr(_ image: Image) -> Double {
            SRProtocol.score(restoredY: image.luma(quantized: true), groundTruthY: yTruth, scale: scale).psnr
        }
        let comparison = sideBySide([bicubic, enhanced, original], gap: 6)
        let files: [(String, Image)] = [("card-original.png", original), ("card-low.png", low),
                                        ("card-bicubic.png", bicubic), ("card-enhance.png", enhanced),
                                        ("comparison.png", comparison)]
        for (file, image) in files { try ImageIO.write(image, to: folder.appendingPathComponent(file)) }
        let method = chosen?.info.name ?? "bicubic (no model shipped for this scale yet)"
        print("test card \(original.width)x\(original.height), x\(scale), model \(method)")
        print(String(format: "PSNR (Y, shave %d): bicubic %.2f dB, Enhance %.2f dB (%.3f s)", scale, psnr(bicubic), psnr(enhanced), seconds))
        print("wrote \(folder.path)/comparison.png (bicubic | Enhance | original) and the single images")
        try denoiseDemo(original: original, folder: folder)
    }

    /// The card saved as a quality-20 colour JPEG, then `--noise auto` as `enhance denoise` does it.
    func denoiseDemo(original: Image, folder: URL) throws {
        let bytes = try ImageIO.encode(original, options: EncodeOptions(format: .jpeg, quality: 20, chroma: .s420))
        let jpegURL = folder.appendingPathComponent("card-q20.jpg")
        try Data(bytes).write(to: jpegURL)
        let decoded = try ImageIO.decode(bytes, name: jpegURL.lastPathComponent)
        guard let level = NoiseLevel.automatic(fileBytes: bytes) else { return }
        guard let model = try? NoiseLevel.model(level: level) else {
            print("JPEG artifact reduction: no deblocking model for noise level \(level) is shipped yet")
            return
        }
        let name = model.info.name
        let start = DispatchTime.now().uptimeNanoseconds
        let denoised = Denoiser(model: model).denoise(decoded).quantized8()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let yTruth = original.luma(quantized: true)
        func scores(_ image: Image) -> (y: Double, rgb: Double) {
            (DeblockProtocol.score(restoredY: image.luma(quantized: true), groundTruthY: yTruth).psnr,
             DeblockProtocol.psnrRGB(restored: image, groundTruth: original.quantized8()))
        }
        let before = scores(decoded), after = scores(denoised)
        try ImageIO.write(denoised, to: folder.appendingPathComponent("card-q20-denoised.png"))
        try ImageIO.write(sideBySide([decoded, denoised, original], gap: 6), to: folder.appendingPathComponent("denoise-comparison.png"))
        print("JPEG quality 20 test card, --noise auto -> level \(level), model \(name)")
        print(String(format: "PSNR Y / RGB: JPEG %.2f / %.2f dB, Enhance %.2f / %.2f dB (%.3f s)",
                     before.y, before.rgb, after.y, after.rgb, seconds))
        print("wrote \(folder.path)/denoise-comparison.png (JPEG | Enhance | original)")
    }

    /// Images of equal height side by side on a white ground.
    func sideBySide(_ images: [Image], gap: Int) -> Image {
        let h = images.map(\.height).max() ?? 0
        let w = images.reduce(0) { $0 + $1.width } + gap * (images.count - 1)
        var out = Image(width: w, height: h, colorModel: .rgb)
        for i in out.pixels.indices { out.pixels[i] = 1 }
        var x0 = 0
        for im in images {
            let rgb = im.colorModel == .rgb ? im : im.toYCbCr().toRGB()
            for c in 0..<3 {
                for y in 0..<rgb.height {
                    for x in 0..<rgb.width { out[c, y, x0 + x] = rgb[c, y, x] }
                }
            }
            x0 += im.width + gap
        }
        return out
    }
}
