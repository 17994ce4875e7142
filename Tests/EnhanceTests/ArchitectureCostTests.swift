import EnhanceModels
import Testing

/// `Architecture.multiplyAddsPerOutputPixel` against the per-pixel sums written out by hand.
@Suite struct ArchitectureCostTests {
    @Test func multiplyAddsPerOutputPixelMatchTheHandCounts() {
        let cases: [(String, Int, Double)] = [
            // 81·64 + 25·64·32 + 25·32
            ("srcnn-9-5-5", 3, 57184),
            // 81·64 + 64·32 + 25·32
            ("srcnn-9-1-5", 2, 8032),
            // low resolution (25·56 + 56·12 + 4·9·144 + 12·56) / 9 + deconvolution 81·56 / 9
            ("fsrcnn", 3, (7928 + 4536) / 9),
            // (9·48 + 5·9·48·48 + 9·48·9) / 9: 8.7x FSRCNN x3, within the 10x issue 5 allows
            ("enhance-net", 3, 12000),
            // (9·48 + 5·9·48·48 + 9·48·4) / 4
            ("enhance-net", 2, 26460),
        ]
        for (family, scale, expected) in cases {
            let arch = Architecture(familyName: family, scale: scale)!
            #expect(abs(arch.multiplyAddsPerOutputPixel - expected) < 0.01, "\(family) x\(scale): \(arch.multiplyAddsPerOutputPixel)")
        }
        #expect(Architecture(familyName: "enhance-net", scale: 4)!.multiplyAddsPerOutputPixel
                <= 10 * Architecture(familyName: "fsrcnn", scale: 4)!.multiplyAddsPerOutputPixel)
    }
}
