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
        abstract: "Upscale the built-in test card and write a side-by-side comparison (bicubic | Enhance | original)."
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
