/// Facts read from a JPEG file's markers without decoding it.
public enum JPEGInfo {
    /// The IJG luminance quantisation table (JPEG standard Annex K), natural (row-major) order.
    static let standardLuminance: [Int] = [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ]

    /// Zigzag position `k` holds natural position `naturalOrder[k]` (libjpeg's `jpeg_natural_order`).
    static let naturalOrder: [Int] = [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ]

    /// The luminance table libjpeg's `jpeg_set_quality(q, force_baseline: true)` writes, zigzag order.
    static func scaledLuminance(quality q: Int) -> [Int] {
        let scale = q < 50 ? 5000 / q : 200 - 2 * q
        return naturalOrder.map { min(max((standardLuminance[$0] * scale + 50) / 100, 1), 255) }
    }

    /// Luminance quantisation table (table 0, zigzag order as stored in DQT), nil if not a JPEG or absent.
    public static func luminanceTable(_ bytes: [UInt8]) -> [Int]? {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var i = 2
        while i + 4 <= bytes.count {
            guard bytes[i] == 0xFF else { return nil }
            let marker = bytes[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0xD8 || (0xD0...0xD7).contains(marker) || marker == 0x01 { i += 2; continue }
            if marker == 0xD9 || marker == 0xDA { return nil }  // EOI or SOS before any table 0
            let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            let end = i + 2 + length
            guard length >= 2, end <= bytes.count else { return nil }
            if marker == 0xDB {
                var p = i + 4
                while p < end {
                    let precision = Int(bytes[p] >> 4), id = Int(bytes[p] & 0x0F)
                    let size = precision == 0 ? 64 : 128
                    guard p + 1 + size <= end else { return nil }
                    if id == 0 {
                        return (0..<64).map { k in
                            precision == 0 ? Int(bytes[p + 1 + k]) : Int(bytes[p + 1 + 2 * k]) << 8 | Int(bytes[p + 2 + 2 * k])
                        }
                    }
                    p += 1 + size
                }
            }
            i = end
        }
        return nil
    }

    /// Estimated IJG quality (1...100) from the luminance quantisation table, nil if not a JPEG.
    ///
    /// The quality whose scaled standard table is closest (sum of absolute differences) to the file's;
    /// exact for files written by libjpeg with the standard tables. Files with other tables get the
    /// nearest IJG equivalent.
    public static func estimatedQuality(_ bytes: [UInt8]) -> Int? {
        guard let table = luminanceTable(bytes) else { return nil }
        var best = 1, bestDistance = Int.max
        for q in 1...100 {
            let reference = scaledLuminance(quality: q)
            var distance = 0
            for k in 0..<64 { distance += abs(reference[k] - table[k]) }
            if distance < bestDistance {
                best = q
                bestDistance = distance
            }
        }
        return best
    }
}
