/// Windows BMP, in Swift (no C library needed).
///
/// Reads uncompressed 1/4/8-bit palette (a palette of greys gives a grey image), 16/24/32-bit
/// (BI_RGB and BI_BITFIELDS; an alpha mask gives RGBA), bottom-up and top-down, with the core (12),
/// info (40) and V2-V5 headers. Writes 24-bit RGB or 8-bit grey (grey palette), bottom-up.
enum BMPCodec {
    private static func u16(_ b: UnsafeBufferPointer<UInt8>, _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
    private static func u32(_ b: UnsafeBufferPointer<UInt8>, _ o: Int) -> UInt32 {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    static func decode(_ bytes: [UInt8], name: String, limits: DecodeLimits) throws -> Image {
        func fail(_ reason: String) -> ImageIOError { ImageIOError(path: name, reason: reason) }
        return try bytes.withUnsafeBufferPointer { b -> Image in
            if b.count < 26 { throw fail("truncated BMP (header incomplete)") }
            let pixelOffset = Int(u32(b, 10))
            let headerSize = Int(u32(b, 14))
            let width: Int, height: Int, bpp: Int, compression: UInt32
            var colorsUsed = 0
            let paletteEntrySize: Int
            if headerSize == 12 {
                width = u16(b, 18)
                height = u16(b, 20)
                bpp = u16(b, 24)
                compression = 0
                paletteEntrySize = 3
            } else if [40, 52, 56, 64, 108, 124].contains(headerSize) {
                if b.count < 14 + 40 { throw fail("truncated BMP (header incomplete)") }
                width = Int(Int32(bitPattern: u32(b, 18)))
                height = Int(Int32(bitPattern: u32(b, 22)))
                bpp = u16(b, 28)
                compression = u32(b, 30)
                colorsUsed = Int(u32(b, 46))
                paletteEntrySize = 4
            } else {
                throw fail("unsupported BMP header (\(headerSize) bytes)")
            }
            let topDown = height < 0
            let rows = abs(height)
            if width <= 0 || rows == 0 || width > Int(Int32.max) || rows > Int(Int32.max) {
                throw fail("corrupt BMP (size \(width)x\(height))")
            }
            if width * rows > limits.maxPixels { throw ImageIO.limitError(name: name, width: width, height: rows, limits: limits) }

            // BI_RGB = 0, BI_BITFIELDS = 3, BI_ALPHABITFIELDS = 6.
            var masks: [UInt32] = []
            switch (bpp, compression) {
            case (1, 0), (4, 0), (8, 0), (24, 0): break
            case (16, 0): masks = [0x7C00, 0x03E0, 0x001F, 0]
            case (32, 0): masks = [0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0]
            case (16, 3), (32, 3), (16, 6), (32, 6):
                let hasAlphaMask = compression == 6 || headerSize >= 56
                let at = headerSize >= 52 ? 54 : 14 + headerSize
                let count = hasAlphaMask ? 4 : 3
                if b.count < at + 4 * count { throw fail("truncated BMP (colour masks missing)") }
                masks = (0..<count).map { u32(b, at + 4 * $0) }
                if count == 3 { masks.append(0) }
            case (_, 1), (_, 2): throw fail("compressed (RLE) BMP is not supported")
            default: throw fail("unsupported BMP (\(bpp) bits per pixel, compression \(compression))")
            }

            var palette: [(UInt8, UInt8, UInt8)] = []
            if bpp <= 8 {
                let count = colorsUsed > 0 ? min(colorsUsed, 1 << bpp) : 1 << bpp
                let start = 14 + headerSize
                if b.count < start + count * paletteEntrySize { throw fail("truncated BMP (palette incomplete)") }
                for i in 0..<count {
                    let o = start + i * paletteEntrySize
                    palette.append((b[o + 2], b[o + 1], b[o]))
                }
            }

            let stride = (bpp * width + 31) / 32 * 4
            let (needed, overflow) = stride.multipliedReportingOverflow(by: rows)
            if overflow || pixelOffset < 14 || pixelOffset > b.count || b.count - pixelOffset < needed {
                throw fail("truncated BMP (pixel data incomplete)")
            }
            let n = width * rows
            let isGreyPalette = !palette.isEmpty && palette.allSatisfy { $0.0 == $0.1 && $0.1 == $0.2 }
            let hasAlpha = masks.count == 4 && masks[3] != 0
            let model: ColorModel = bpp <= 8 ? (isGreyPalette ? .grey : .rgb) : (hasAlpha ? .rgba : .rgb)
            let ch = model.channelCount
            let table = ImageIO.unit8

            let pixels = [Float](unsafeUninitializedCapacity: n * ch) { dst, count in
                let d = dst.baseAddress!
                for row in 0..<rows {
                    let y = topDown ? row : rows - 1 - row
                    let src = pixelOffset + row * stride
                    let outRow = y * width
                    switch bpp {
                    case 24:
                        for x in 0..<width {
                            let s = src + 3 * x
                            d[outRow + x] = table[Int(b[s + 2])]
                            d[n + outRow + x] = table[Int(b[s + 1])]
                            d[2 * n + outRow + x] = table[Int(b[s])]
                        }
                    case 1, 4, 8:
                        let perByte = 8 / bpp, mask = (1 << bpp) - 1
                        for x in 0..<width {
                            let byte = Int(b[src + x / perByte])
                            let shift = 8 - bpp * (x % perByte + 1)
                            let index = (byte >> shift) & mask
                            let entry = index < palette.count ? palette[index] : (0, 0, 0)
                            if ch == 1 {
                                d[outRow + x] = table[Int(entry.0)]
                            } else {
                                d[outRow + x] = table[Int(entry.0)]
                                d[n + outRow + x] = table[Int(entry.1)]
                                d[2 * n + outRow + x] = table[Int(entry.2)]
                            }
                        }
                    default:  // 16 or 32 with masks
                        let bytesPerPixel = bpp / 8
                        for x in 0..<width {
                            let s = src + bytesPerPixel * x
                            let v = bytesPerPixel == 4 ? u32(b, s) : UInt32(u16(b, s))
                            for c in 0..<ch { d[c * n + outRow + x] = maskedValue(v, masks[c]) }
                        }
                    }
                }
                count = n * ch
            }
            return Image(width: width, height: rows, colorModel: model, pixels: pixels, sourceBitDepth: 8)
        }
    }

    /// The field of `v` under `mask`, scaled to 0...1.
    private static func maskedValue(_ v: UInt32, _ mask: UInt32) -> Float {
        if mask == 0 { return 0 }
        let shift = UInt32(mask.trailingZeroBitCount)
        let maxValue = mask >> shift
        return Float((v & mask) >> shift) / Float(maxValue)
    }

    static func encode(_ image: Image, name: String) throws -> [UInt8] {
        let grey: Bool
        switch image.colorModel {
        case .grey: grey = true
        case .rgb: grey = false
        case .greyAlpha, .rgba: throw ImageIOError(path: name, reason: "BMP cannot store alpha; use PNG or drop the alpha channel first")
        case .ycbcr: throw ImageIOError(path: name, reason: "cannot encode YCbCr image; convert to RGB first")
        }
        let w = image.width, h = image.height
        let bpp = grey ? 8 : 24
        let stride = (bpp * w + 31) / 32 * 4
        let paletteSize = grey ? 256 * 4 : 0
        let offset = 14 + 40 + paletteSize
        let total = offset + stride * h
        if total > Int(UInt32.max) { throw ImageIOError(path: name, reason: "image is too large for BMP (\(w)x\(h))") }
        var out = [UInt8](repeating: 0, count: total)
        func put16(_ v: Int, _ o: Int) { out[o] = UInt8(v & 0xFF); out[o + 1] = UInt8((v >> 8) & 0xFF) }
        func put32(_ v: Int, _ o: Int) { for i in 0..<4 { out[o + i] = UInt8((v >> (8 * i)) & 0xFF) } }
        out[0] = 0x42; out[1] = 0x4D
        put32(total, 2)
        put32(offset, 10)
        put32(40, 14)
        put32(w, 18)
        put32(h, 22)  // positive: bottom-up
        put16(1, 26)
        put16(bpp, 28)
        put32(0, 30)
        put32(stride * h, 34)
        put32(2835, 38)  // 72 dpi
        put32(2835, 42)
        put32(grey ? 256 : 0, 46)
        if grey {
            for i in 0..<256 {
                out[54 + 4 * i] = UInt8(i); out[54 + 4 * i + 1] = UInt8(i); out[54 + 4 * i + 2] = UInt8(i)
            }
        }
        let n = image.planeSize
        out.withUnsafeMutableBufferPointer { dst in
            image.pixels.withUnsafeBufferPointer { src in
                for y in 0..<h {
                    let row = offset + (h - 1 - y) * stride
                    let s = y * w
                    if grey {
                        for x in 0..<w { dst[row + x] = Image.quantize8(src[s + x]) }
                    } else {
                        for x in 0..<w {
                            dst[row + 3 * x] = Image.quantize8(src[2 * n + s + x])
                            dst[row + 3 * x + 1] = Image.quantize8(src[n + s + x])
                            dst[row + 3 * x + 2] = Image.quantize8(src[s + x])
                        }
                    }
                }
            }
        }
        return out
    }
}
