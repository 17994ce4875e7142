import Foundation

/// An image file format Enhance reads and writes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case png, jpeg, webp, bmp

    /// The format for a file extension, case-insensitive: `png`, `jpg`/`jpeg`/`jpe`, `webp`, `bmp`.
    public init?(pathExtension: String) {
        switch pathExtension.lowercased() {
        case "png": self = .png
        case "jpg", "jpeg", "jpe": self = .jpeg
        case "webp": self = .webp
        case "bmp": self = .bmp
        default: return nil
        }
    }

    /// The usual file extension, without the dot.
    public var fileExtension: String {
        switch self {
        case .png: "png"
        case .jpeg: "jpg"
        case .webp: "webp"
        case .bmp: "bmp"
        }
    }

    /// The format named by a file's first bytes (magic numbers), or nil.
    ///
    /// PNG `89 50 4E 47 0D 0A 1A 0A`; JPEG `FF D8 FF`; WebP `RIFF....WEBP`; BMP `BM`.
    public static func sniff(_ bytes: some Collection<UInt8>) -> ImageFormat? {
        let b = Array(bytes.prefix(12))
        if b.count >= 8, b[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if b.count >= 3, b[0] == 0xFF, b[1] == 0xD8, b[2] == 0xFF { return .jpeg }
        if b.count >= 12, b[0..<4].elementsEqual("RIFF".utf8), b[8..<12].elementsEqual("WEBP".utf8) { return .webp }
        if b.count >= 2, b[0] == 0x42, b[1] == 0x4D { return .bmp }
        return nil
    }
}

/// Bounds on what a decoder will allocate, checked against the file's header before any pixel memory.
public struct DecodeLimits: Sendable, Equatable {
    /// Largest accepted `width * height`.
    public var maxPixels: Int

    public init(maxPixels: Int) {
        precondition(maxPixels > 0, "maxPixels must be positive, got \(maxPixels)")
        self.maxPixels = maxPixels
    }

    /// The built-in pixel limit (200 megapixels) when the environment does not set one.
    public static let defaultMaxPixels = 200_000_000

    /// `ENHANCE_MAX_PIXELS` from the environment when it is a positive integer, else 200 megapixels.
    public static var `default`: DecodeLimits { fromEnvironment(ProcessInfo.processInfo.environment) }

    /// `ENHANCE_MAX_PIXELS` from `environment` when it is a positive integer, else 200 megapixels.
    public static func fromEnvironment(_ environment: [String: String]) -> DecodeLimits {
        if let text = environment["ENHANCE_MAX_PIXELS"],
           let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0 {
            return DecodeLimits(maxPixels: value)
        }
        return DecodeLimits(maxPixels: defaultMaxPixels)
    }
}

/// JPEG chroma subsampling.
public enum ChromaSubsampling: String, Sendable, CaseIterable {
    /// Full-resolution chroma.
    case s444 = "444"
    /// Chroma halved in both directions (libjpeg's default).
    case s420 = "420"
}

/// How ``ImageIO/encode(_:options:name:)`` writes a file.
public struct EncodeOptions: Sendable, Equatable {
    public var format: ImageFormat
    /// JPEG and lossy WebP quality, 1...100 (IJG scale for JPEG).
    public var quality: Int
    /// WebP only: lossless (exact samples, also under transparent pixels).
    public var lossless: Bool
    /// Bits per sample: 8, or 16 (PNG only).
    public var bitDepth: Int
    /// JPEG only: chroma subsampling of colour images.
    public var chroma: ChromaSubsampling

    public init(format: ImageFormat = .png, quality: Int = 95, lossless: Bool = false, bitDepth: Int = 8,
                chroma: ChromaSubsampling = .s420) {
        self.format = format
        self.quality = quality
        self.lossless = lossless
        self.bitDepth = bitDepth
        self.chroma = chroma
    }
}

/// A file could not be read, decoded, encoded or written. One line: `"<path>: <reason>"`.
public struct ImageIOError: Error, CustomStringConvertible, LocalizedError, Equatable {
    /// The file (or name) concerned.
    public var path: String
    /// Why, in a few words.
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
    public var errorDescription: String? { description }
}
