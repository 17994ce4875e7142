import EnhanceImage
import Foundation

/// A test card drawn entirely by code: colour gradients, a zone plate, fine lines at many
/// angles, checkerboards and text. It is the project's own example image (no third-party
/// pictures ship with Enhance). Supersampled 4×4 per pixel, so edges are anti-aliased like a
/// real photograph's and the card is a fair super-resolution target.
public enum TestCard {
    /// Draws the card at `width`×`height` (RGB, 8-bit grid).
    public static func make(width: Int = 384, height: Int = 256) -> Image {
        let ss = 4
        var img = Image(width: width, height: height, colorModel: .rgb)
        let n = width * height
        let text = "ENHANCE 2026"
        let digits = "SRCNN FSRCNN x2 x3 x4"
        img.pixels.withUnsafeMutableBufferPointer { px in
            for y in 0..<height {
                for x in 0..<width {
                    var acc: (Double, Double, Double) = (0, 0, 0)
                    for sy in 0..<ss {
                        for sx in 0..<ss {
                            let u = (Double(x) + (Double(sx) + 0.5) / Double(ss)) / Double(width)
                            let v = (Double(y) + (Double(sy) + 0.5) / Double(ss)) / Double(height)
                            let c = sample(u: u, v: v, aspect: Double(width) / Double(height), text: text, caption: digits)
                            acc.0 += c.0; acc.1 += c.1; acc.2 += c.2
                        }
                    }
                    let k = 1.0 / Double(ss * ss)
                    let i = y * width + x
                    px[i] = Float(acc.0 * k); px[n + i] = Float(acc.1 * k); px[2 * n + i] = Float(acc.2 * k)
                }
            }
        }
        return img.quantized8()
    }

    /// Colour at normalised coordinates (u, v) in [0, 1]².
    static func sample(u: Double, v: Double, aspect: Double, text: String, caption: String) -> (Double, Double, Double) {
        // Top band: hue gradient fading to grey.
        if v < 0.18 {
            let h = u * 6, t = v / 0.18
            let r = clamp(abs(h - 3) - 1), g = clamp(2 - abs(h - 2)), b = clamp(2 - abs(h - 4))
            return (mix(r, 0.5, t), mix(g, 0.5, t), mix(b, 0.5, t))
        }
        // Left block: zone plate (concentric rings of rising frequency).
        if u < 0.34 && v < 0.72 {
            let cx = (u - 0.17) * aspect, cy = v - 0.45
            let r2 = (cx * cx + cy * cy) * 260
            let g = 0.5 + 0.5 * cos(r2)
            return (g, g, g)
        }
        // Middle block: fan of lines.
        if u < 0.67 && v < 0.72 {
            let cx = (u - 0.34) * aspect, cy = v - 0.72
            let angle = atan2(-cy, cx)
            let stripes = sin(angle * 28) > 0
            let dist = (cx * cx + cy * cy).squareRoot()
            if dist < 0.08 { return (0.9, 0.2, 0.1) }
            return stripes ? (0.05, 0.05, 0.1) : (0.95, 0.95, 0.9)
        }
        // Right block: checkerboards of shrinking size on a coloured ground.
        if v < 0.72 {
            let lu = (u - 0.67) / 0.33, lv = (v - 0.18) / 0.54
            let band = Int(lv * 3)
            let cells = [4.0, 6.0, 10.0][min(band, 2)]
            let on = (Int(lu * cells) + Int(lv * cells * 3)) % 2 == 0
            return on ? (0.1, 0.25, 0.6) : (0.95, 0.85, 0.3)
        }
        // Bottom: text on a soft vertical gradient.
        let ground = 0.85 - 0.3 * (v - 0.72) / 0.28
        let bg = (ground, ground * 0.97, ground * 0.9)
        if glyphInk(text, u: (u - 0.04) / 0.92, v: (v - 0.75) / 0.13) { return (0.08, 0.08, 0.12) }
        if glyphInk(caption, u: (u - 0.04) / 0.6, v: (v - 0.90) / 0.07) { return (0.55, 0.05, 0.05) }
        return bg
    }

    static func clamp(_ x: Double) -> Double { min(max(x, 0), 1) }
    static func mix(_ a: Double, _ b: Double, _ t: Double) -> Double { a + (b - a) * t }

    /// Whether (u, v) in the string's box [0,1]² falls on ink of the 5×7 font (1-cell gaps).
    static func glyphInk(_ s: String, u: Double, v: Double) -> Bool {
        guard u >= 0, u < 1, v >= 0, v < 1 else { return false }
        let chars = Array(s)
        let cellsX = Double(chars.count * 6), col = Int(u * cellsX), row = Int(v * 7)
        let ch = chars[col / 6], cx = col % 6
        guard cx < 5, let rows = font[ch] else { return false }
        return (rows[row] >> (4 - cx)) & 1 == 1
    }

    /// 5×7 bitmap glyphs, one byte per row, bit 4 leftmost.
    static let font: [Character: [UInt8]] = [
        "A": [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "N": [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
        "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11], "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        "x": [0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11], " ": [0, 0, 0, 0, 0, 0, 0],
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E], "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
    ]
}
