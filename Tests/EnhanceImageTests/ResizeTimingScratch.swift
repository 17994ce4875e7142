import EnhanceImage
import Foundation
import Testing

@Test func resizeTimingScratch() {
    let w = 512, h = 512
    var px = [Float](repeating: 0, count: w * h * 3)
    for i in px.indices { px[i] = Float((i * 7919) % 256) / 255 }
    let img = Image(width: w, height: h, colorModel: .rgb, pixels: px)
    let grey = img.plane(0)
    for (name, f) in [("grey x0.5", { _ = grey.resized(scale: 0.5) }), ("grey x2", { _ = grey.resized(scale: 2) }),
                      ("grey x1/3", { _ = grey.resized(scale: 1.0 / 3) }), ("rgb x2", { _ = img.resized(scale: 2) }),
                      ("rgb x1/3 q", { _ = img.resized(scale: 1.0 / 3, quantizeEachPass: true) }),
                      ("luma", { _ = img.luma(quantized: true) })] as [(String, () -> Void)] {
        f()
        let t = Date()
        for _ in 0..<10 { f() }
        print("TIMING \(name): \(Date().timeIntervalSince(t) * 100) ms")
    }
}
