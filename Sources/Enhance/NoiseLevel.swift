import EnhanceImage

/// waifu2x-style noise-reduction levels, mapped onto AR-CNN models trained at one JPEG quality each.
///
/// | level | strength | model trained on JPEG quality |
/// |---|---|---|
/// | 0 | light  | 40 |
/// | 1 | medium | 30 |
/// | 2 | strong | 20 |
/// | 3 | strongest | 10 |
///
/// `auto` reads the file's luminance quantisation table (``JPEGInfo/estimatedQuality(_:)``)
/// and picks the level whose training quality is nearest; files above quality 60 and
/// non-JPEG files get no denoising.
public enum NoiseLevel: Sendable, Equatable {
    /// JPEG quality each level's model was trained for.
    public static let trainingQuality = [0: 40, 1: 30, 2: 20, 3: 10]

    /// Above this estimated quality, `auto` leaves the image alone.
    public static let autoCeiling = 60

    /// Model name of a level (`arcnn-q20` for level 2).
    public static func modelName(level: Int, family: String = "arcnn") -> String? {
        trainingQuality[level].map { "\(family)-q\($0)" }
    }

    /// The level for an estimated JPEG quality, nil for none.
    public static func level(forQuality quality: Int) -> Int? {
        guard quality <= autoCeiling else { return nil }
        return trainingQuality.min { a, b in
            let da = abs(a.value - quality), db = abs(b.value - quality)
            return da != db ? da < db : a.key > b.key  // on a tie, the stronger level
        }?.key
    }

    /// The level `auto` picks for a file's bytes: nil for anything but a JPEG of quality ≤ 60.
    public static func automatic(fileBytes: [UInt8]) -> Int? {
        guard ImageFormat.sniff(fileBytes) == .jpeg, let q = JPEGInfo.estimatedQuality(fileBytes) else { return nil }
        return level(forQuality: q)
    }
}
