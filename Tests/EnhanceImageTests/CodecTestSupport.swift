import EnhanceImage
import Foundation

/// Helpers shared by the Codec* suites: synthetic images, hand-built PNG/BMP/ICC bytes, PSNR.
enum CodecTestSupport {
    /// A smooth, deterministic test image on the 8-bit grid (JPEG-friendly), `channels` of `model`.
    static func smoothImage(width: Int, height: Int, model: ColorModel) -> Image {
        var image = Image(width: width, height: height, colorModel: model)
        for c in 0..<model.channelCount {
            for y in 0..<height {
                for x in 0..<width {
                    let v = 0.5 + 0.4 * sin(Double(x) / 5 + Double(c)) * cos(Double(y) / 7 - Double(c))
                    image[c, y, x] = Float((v * 255).rounded()) / 255
                }
            }
        }
        return image
    }

    /// Every sample `(c * 37 + y * 11 + x * 5) mod 256` over 255: exercises all 8-bit values, no smoothness.
    static func busyImage8(width: Int, height: Int, model: ColorModel) -> Image {
        var image = Image(width: width, height: height, colorModel: model)
        for c in 0..<model.channelCount {
            for y in 0..<height {
                for x in 0..<width { image[c, y, x] = Float((c * 37 + y * 11 + x * 5) % 256) / 255 }
            }
        }
        return image
    }

    /// 16-bit samples that are not multiples of 257 (so an 8-bit path would lose them).
    static func busyImage16(width: Int, height: Int, model: ColorModel) -> Image {
        var image = Image(width: width, height: height, colorModel: model, sourceBitDepth: 16)
        for c in 0..<model.channelCount {
            for y in 0..<height {
                for x in 0..<width { image[c, y, x] = Float((c * 9973 + y * 4099 + x * 1031 + 1) % 65536) / 65535 }
            }
        }
        return image
    }

    /// PSNR in dB over all samples, peak 1.
    static func psnr(_ a: Image, _ b: Image) -> Double {
        precondition(a.pixels.count == b.pixels.count, "size mismatch \(a.pixels.count) vs \(b.pixels.count)")
        var sum = 0.0
        for i in a.pixels.indices {
            let d = Double(a.pixels[i]) - Double(b.pixels[i])
            sum += d * d
        }
        let mse = sum / Double(a.pixels.count)
        return mse == 0 ? .infinity : 10 * log10(1 / mse)
    }

    static func maxAbsDifference(_ a: Image, _ b: Image) -> Float {
        precondition(a.pixels.count == b.pixels.count, "size mismatch")
        return zip(a.pixels, b.pixels).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    static func fixture(_ name: String) throws -> URL {
        guard let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw ImageIOError(path: name, reason: "Fixtures folder missing from the test bundle")
        }
        return folder.appendingPathComponent(name)
    }

    /// A fresh empty folder under the system temporary folder.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("enhance-codec-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    // MARK: Checksums

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for x in bytes {
            a = (a + UInt32(x)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }

    // MARK: Hand-built PNG (stored deflate blocks: no zlib needed, independent of libpng's writer)

    /// A zlib stream of stored (uncompressed) deflate blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out.append(final)
            out += le16(n) + le16(~n & 0xFFFF)
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        return out + be32(adler32(data))
    }

    static func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(UInt32(data.count)) + body + be32(crc32(body))
    }

    /// A PNG file. `rows`: one array of samples (already in bit depth units, e.g. 0...3 for 2-bit) per
    /// row, `channels` per pixel; packed MSB first, 16-bit big-endian, filter 0. Adam7 when interlaced.
    static func png(width: Int, height: Int, bitDepth: Int, colorType: UInt8, channels: Int, rows: [[Int]],
                    interlaced: Bool = false, extraChunks: [(String, [UInt8])] = []) -> [UInt8] {
        func packRow(_ samples: [Int]) -> [UInt8] {
            var out: [UInt8] = [0]  // filter: none
            if bitDepth == 16 {
                for s in samples { out += [UInt8(s >> 8), UInt8(s & 0xFF)] }
            } else if bitDepth == 8 {
                out += samples.map { UInt8($0) }
            } else {
                var byte = 0, used = 0
                for s in samples {
                    byte = byte << bitDepth | s
                    used += bitDepth
                    if used == 8 { out.append(UInt8(byte)); byte = 0; used = 0 }
                }
                if used > 0 { out.append(UInt8(byte << (8 - used))) }
            }
            return out
        }
        var raw: [UInt8] = []
        if interlaced {
            let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            for (x0, y0, dx, dy) in passes {
                for y in stride(from: y0, to: height, by: dy) {
                    let xs = Array(stride(from: x0, to: width, by: dx))
                    if xs.isEmpty { continue }
                    raw += packRow(xs.flatMap { x in rows[y][(x * channels)..<((x + 1) * channels)] })
                }
            }
        } else {
            for row in rows { raw += packRow(row) }
        }
        var ihdr = be32(UInt32(width)) + be32(UInt32(height))
        ihdr += [UInt8(bitDepth), colorType, 0, 0, interlaced ? 1 : 0]
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        file += pngChunk("IHDR", ihdr)
        for (type, data) in extraChunks { file += pngChunk(type, data) }
        file += pngChunk("IDAT", zlibStored(raw))
        file += pngChunk("IEND", [])
        return file
    }

    // MARK: ICC

    /// A minimal valid ICC v2 profile (header, one `wtpt` tag), 164 bytes, with recognisable bytes.
    static func iccProfile(colorSpace: String = "RGB ") -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 164)
        func put(_ bytes: [UInt8], _ at: Int) { for (i, b) in bytes.enumerated() { p[at + i] = b } }
        put(be32(164), 0)
        put(Array("lcms".utf8), 4)
        put([0x02, 0x10, 0, 0], 8)
        put(Array("mntr".utf8), 12)
        put(Array(colorSpace.utf8), 16)
        put(Array("XYZ ".utf8), 20)
        put([0x07, 0xEA, 0, 11, 0, 28, 0, 12, 0, 0, 0, 0], 24)  // 2026-11-28 12:00:00
        put(Array("acsp".utf8), 36)
        put(Array("ENHC".utf8), 48)  // manufacturer
        put(Array("TEST".utf8), 52)  // model
        put([0x00, 0x00, 0xF6, 0xD6, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xD3, 0x2D], 68)  // D50
        put(be32(1), 128)  // tag count
        put(Array("wtpt".utf8), 132)
        put(be32(144), 136)
        put(be32(20), 140)
        put(Array("XYZ ".utf8), 144)
        put([0x00, 0x00, 0xF3, 0x51, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x16, 0xCC], 152)  // D65-ish white
        return p
    }

    // MARK: JPEG byte patching

    /// `jpeg` with an EXIF APP1 segment (IFD0 holding Orientation = `orientation`) inserted after SOI.
    static func jpegWithOrientation(_ jpeg: [UInt8], _ orientation: Int, bigEndian: Bool = false) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : le16(v) }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? be32(UInt32(v)) : le32(v) }
        var tiff: [UInt8] = bigEndian ? Array("MM".utf8) : Array("II".utf8)
        tiff += u16(42) + u32(8)
        tiff += u16(2)  // two entries: XResolution-free, just a harmless tag then Orientation
        tiff += u16(0x010F) + u16(2) + u32(4) + Array("ENH\0".utf8)  // Make, ASCII, 4 bytes inline
        tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0)
        tiff += u32(0)  // no next IFD
        let payload = Array("Exif\0\0".utf8) + tiff
        let segment: [UInt8] = [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        return Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }

    /// Offset of the first marker `marker` (e.g. 0xC0 for SOF0) in a JPEG's header segments, or nil.
    static func jpegMarkerOffset(_ jpeg: [UInt8], _ marker: UInt8) -> Int? {
        var i = 2
        while i + 4 <= jpeg.count, jpeg[i] == 0xFF {
            if jpeg[i + 1] == marker { return i }
            if jpeg[i + 1] == 0xDA { return nil }
            i += 2 + (Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3]))
        }
        return nil
    }
}
