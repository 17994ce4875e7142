import Foundation

/// How the channels of an ``Image`` are to be read.
public enum ColorModel: String, Sendable, Codable, CaseIterable {
    /// One channel: luminance (or any single plane, e.g. the Y of YCbCr).
    case grey
    /// Two channels: luminance, then alpha.
    case greyAlpha
    /// Three channels: red, green, blue (sRGB-encoded, not linear).
    case rgb
    /// Four channels: red, green, blue, alpha (straight, not premultiplied).
    case rgba
    /// Three channels: Y, Cb, Cr as MATLAB's `rgb2ycbcr` (BT.601 studio swing), each scaled by 1/255.
    case ycbcr

    public var channelCount: Int {
        switch self {
        case .grey: 1
        case .greyAlpha: 2
        case .rgb, .ycbcr: 3
        case .rgba: 4
        }
    }

    public var hasAlpha: Bool { self == .greyAlpha || self == .rgba }
}

/// A planar float image.
///
/// Layout: `channels` planes of `height` rows of `width` samples, row-major, plane after plane:
/// sample `(c, y, x)` is `pixels[(c * height + y) * width + x]`.
///
/// Value range: nominally `0...1`; 8-bit sample `v` is stored as `Float(v) / 255`, 16-bit sample
/// `v` as `Float(v) / 65535`. Both conversions round-trip exactly (see ``quantized8()``).
/// Intermediate results (a network's output, bicubic overshoot) may leave `0...1`; they are
/// clamped only when quantised.
///
/// Metadata that a file carried (ICC profile, source bit depth) travels with the pixels so
/// that a writer can put it back.
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var colorModel: ColorModel
    public var pixels: [Float]
    /// Bits per sample of the source this image came from (8 or 16; 1, 2, 4 are reported as 8).
    public var sourceBitDepth: Int
    /// Embedded ICC profile, byte for byte as read.
    public var iccProfile: [UInt8]?

    public var channels: Int { colorModel.channelCount }
    public var planeSize: Int { width * height }

    /// An image of zeros.
    public init(width: Int, height: Int, colorModel: ColorModel, sourceBitDepth: Int = 8, iccProfile: [UInt8]? = nil) {
        precondition(width >= 0 && height >= 0, "Image size must be non-negative, got \(width)x\(height)")
        self.width = width
        self.height = height
        self.colorModel = colorModel
        self.pixels = [Float](repeating: 0, count: width * height * colorModel.channelCount)
        self.sourceBitDepth = sourceBitDepth
        self.iccProfile = iccProfile
    }

    /// An image over existing planar samples.
    public init(width: Int, height: Int, colorModel: ColorModel, pixels: [Float], sourceBitDepth: Int = 8, iccProfile: [UInt8]? = nil) {
        precondition(pixels.count == width * height * colorModel.channelCount,
                     "Image \(width)x\(height) \(colorModel) needs \(width * height * colorModel.channelCount) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.colorModel = colorModel
        self.pixels = pixels
        self.sourceBitDepth = sourceBitDepth
        self.iccProfile = iccProfile
    }

    /// Sample `(c, y, x)`; for tests and cold paths, not for hot loops.
    @inlinable
    public subscript(c: Int, y: Int, x: Int) -> Float {
        get { pixels[(c * height + y) * width + x] }
        set { pixels[(c * height + y) * width + x] = newValue }
    }

    /// One channel as a single-plane image (`.grey`), keeping the metadata.
    public func plane(_ c: Int) -> Image {
        precondition(c >= 0 && c < channels, "channel \(c) out of range 0..<\(channels)")
        let n = planeSize
        return Image(width: width, height: height, colorModel: .grey,
                     pixels: Array(pixels[(c * n)..<((c + 1) * n)]),
                     sourceBitDepth: sourceBitDepth, iccProfile: iccProfile)
    }

    /// Builds an image from single-plane images of equal size.
    public static func stacking(_ planes: [Image], as model: ColorModel) -> Image {
        precondition(planes.count == model.channelCount, "\(model) needs \(model.channelCount) planes, got \(planes.count)")
        guard let first = planes.first else { return Image(width: 0, height: 0, colorModel: model) }
        var out = [Float]()
        out.reserveCapacity(first.planeSize * planes.count)
        for p in planes {
            precondition(p.width == first.width && p.height == first.height && p.channels == 1,
                         "planes must be single-channel \(first.width)x\(first.height), got \(p.width)x\(p.height)x\(p.channels)")
            out.append(contentsOf: p.pixels)
        }
        return Image(width: first.width, height: first.height, colorModel: model, pixels: out,
                     sourceBitDepth: first.sourceBitDepth, iccProfile: first.iccProfile)
    }

    // MARK: Integer conversions

    /// From interleaved 8-bit samples (`channels` per pixel, row-major).
    public init(interleaved8 samples: [UInt8], width: Int, height: Int, colorModel: ColorModel) {
        let ch = colorModel.channelCount
        precondition(samples.count == width * height * ch, "expected \(width * height * ch) samples, got \(samples.count)")
        var planar = [Float](repeating: 0, count: samples.count)
        let n = width * height
        samples.withUnsafeBufferPointer { src in
            planar.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    for c in 0..<ch { dst[c * n + i] = Float(src[i * ch + c]) / 255 }
                }
            }
        }
        self.init(width: width, height: height, colorModel: colorModel, pixels: planar, sourceBitDepth: 8)
    }

    /// From interleaved 16-bit samples (`channels` per pixel, row-major).
    public init(interleaved16 samples: [UInt16], width: Int, height: Int, colorModel: ColorModel) {
        let ch = colorModel.channelCount
        precondition(samples.count == width * height * ch, "expected \(width * height * ch) samples, got \(samples.count)")
        var planar = [Float](repeating: 0, count: samples.count)
        let n = width * height
        samples.withUnsafeBufferPointer { src in
            planar.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    for c in 0..<ch { dst[c * n + i] = Float(src[i * ch + c]) / 65535 }
                }
            }
        }
        self.init(width: width, height: height, colorModel: colorModel, pixels: planar, sourceBitDepth: 16)
    }

    /// Interleaved 8-bit samples: each value clamped to `0...1`, times 255, rounded half away from zero.
    public func interleaved8() -> [UInt8] {
        let ch = channels, n = planeSize
        return [UInt8](unsafeUninitializedCapacity: n * ch) { dst, count in
            pixels.withUnsafeBufferPointer { src in
                for i in 0..<n {
                    for c in 0..<ch { dst[i * ch + c] = Image.quantize8(src[c * n + i]) }
                }
            }
            count = n * ch
        }
    }

    /// Interleaved 16-bit samples: each value clamped to `0...1`, times 65535, rounded.
    public func interleaved16() -> [UInt16] {
        let ch = channels, n = planeSize
        return [UInt16](unsafeUninitializedCapacity: n * ch) { dst, count in
            pixels.withUnsafeBufferPointer { src in
                for i in 0..<n {
                    for c in 0..<ch { dst[i * ch + c] = Image.quantize16(src[c * n + i]) }
                }
            }
            count = n * ch
        }
    }

    /// The same image with every sample rounded to the 8-bit grid (as MATLAB stores `uint8`).
    public func quantized8() -> Image {
        var out = self
        out.pixels.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = Float(Image.quantize8(p[i])) / 255 }
        }
        return out
    }

    @inlinable
    public static func quantize8(_ v: Float) -> UInt8 {
        let s = v * 255
        if !(s > 0) { return 0 }  // also maps NaN to 0
        if s >= 255 { return 255 }
        return UInt8(s.rounded(.toNearestOrAwayFromZero))
    }

    @inlinable
    public static func quantize16(_ v: Float) -> UInt16 {
        let s = v * 65535
        if !(s > 0) { return 0 }
        if s >= 65535 { return 65535 }
        return UInt16(s.rounded(.toNearestOrAwayFromZero))
    }
}
