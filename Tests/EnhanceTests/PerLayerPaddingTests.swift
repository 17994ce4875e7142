import Enhance
import EnhanceImage
import EnhanceModels
import Foundation
import Testing

/// `PerLayerPaddingMethod`: the network as AR-CNN's `ARCNN.m` runs it, every layer padding by
/// edge replication, against `ModelMethod`, which pads the input once.
@Suite struct PerLayerPaddingTests {
    @Test func equalsInputPaddingAwayFromTheBorderAndDiffersAtIt() throws {
        let model = try ModelCatalog.load("arcnn-q30")
        var truth = Image(width: 48, height: 40, colorModel: .grey)
        for y in 0..<40 { for x in 0..<48 { truth[0, y, x] = Float((x * 37 + y * 91 + (x * y) % 23) % 256) / 255 } }
        let sample = try DeblockProtocol.prepare(groundTruth: truth, quality: 30)
        let once = try ModelMethod(model: model, context: .serial).restoreY(sample)
        let perLayer = try PerLayerPaddingMethod(model: model, context: .serial).restoreY(sample)
        #expect(perLayer.width == 48 && perLayer.height == 40)
        let radius = model.info.architecture.contextPadding   // 4 + 3 + 0 + 2 for 9-7-1-5
        #expect(radius == 9)
        var interior: Float = 0, border: Float = 0
        for y in 0..<40 {
            for x in 0..<48 {
                let d = abs(once[0, y, x] - perLayer[0, y, x])
                if min(x, y, 47 - x, 39 - y) >= radius { interior = max(interior, d) } else { border = max(border, d) }
            }
        }
        #expect(interior < 1e-5, "\(interior)")
        #expect(border > 1e-3, "\(border)")
    }

    @Test func refusesStridedNetworks() throws {
        let model = try ModelCatalog.load("fast-arcnn-q20")
        let error = #expect(throws: PerLayerPaddingError.self) { try PerLayerPaddingMethod(model: model) }
        #expect(error?.description == "model fast-arcnn-q20 has a strided or transposed convolution; per-layer padding applies to stride-1 networks (arcnn, srcnn)")
    }
}
