import CCodecs
import EnhanceImage
import Foundation

/// Writes an image file band by band, atomically.
///
/// PNG and JPEG are encoded as the rows arrive (CCodecs' streaming encoders), so the image
/// never exists whole in memory; WebP and BMP, whose encoders take a whole image, collect the
/// bands first. The file is written under a hidden temporary name in the destination folder
/// (`.<name>.<random>.partial`) and renamed over the destination by ``finish()``: a failure or
/// an abandoned writer leaves nothing behind. Samples are clamped to `0...1` and rounded as
/// ``Image/quantize8(_:)`` / ``Image/quantize16(_:)``, exactly as ``ImageIO/encode(_:options:name:)``.
public final class ImageFileWriter {
    public let url: URL
    public let width: Int, height: Int
    public let colorModel: ColorModel
    public let options: EncodeOptions
    private let temporary: URL
    private var writer: OpaquePointer?
    /// Bands kept for the whole-image encoders (WebP, BMP).
    private var collected: Image?
    private var rowsWritten = 0
    private var done = false

    /// Opens `url` for a `width`×`height` image of `colorModel` (`.grey`, `.greyAlpha`, `.rgb`,
    /// `.rgba`). Throws ``ImageIOError`` (naming `url`) for impossible combinations (alpha in
    /// JPEG, 16 bits outside PNG) or when the file cannot be created.
    public init(url: URL, width: Int, height: Int, colorModel: ColorModel, options: EncodeOptions,
                iccProfile: [UInt8]? = nil) throws {
        precondition(width > 0 && height > 0 && colorModel != .ycbcr,
                     "ImageFileWriter: \(width)x\(height) \(colorModel) cannot be written")
        self.url = url
        self.width = width; self.height = height
        self.colorModel = colorModel
        self.options = options
        let folder = url.deletingLastPathComponent()
        temporary = folder.appendingPathComponent(".\(url.lastPathComponent).\(UInt32.random(in: 0...UInt32.max)).partial")
        func fail(_ reason: String) -> ImageIOError { ImageIOError(path: url.path, reason: reason) }
        if options.bitDepth != 8 && options.bitDepth != 16 { throw fail("bit depth must be 8 or 16, got \(options.bitDepth)") }
        if options.bitDepth == 16 && options.format != .png {
            throw fail("16-bit output needs PNG; \(options.format.rawValue.uppercased()) is 8-bit")
        }
        if options.format == .jpeg && colorModel.hasAlpha {
            throw fail("JPEG cannot store alpha; flatten or drop the alpha channel first")
        }
        if !(1...100).contains(options.quality) { throw fail("quality must be 1...100, got \(options.quality)") }
        switch options.format {
        case .png, .jpeg:
            var message = [CChar](repeating: 0, count: Int(CC_MESSAGE_SIZE))
            var handle: OpaquePointer?
            let icc = iccProfile ?? []
            let code = icc.withUnsafeBufferPointer { p in
                cc_writer_open(temporary.path, options.format == .png ? Int32(CC_STREAM_PNG) : Int32(CC_STREAM_JPEG),
                               Int32(width), Int32(height), Int32(colorModel.channelCount), Int32(options.bitDepth),
                               Int32(options.quality), options.chroma == .s420 ? 1 : 0, p.baseAddress, p.count,
                               &handle, &message)
            }
            if code != CC_OK {
                try? FileManager.default.removeItem(at: temporary)
                throw fail(String(cString: message))
            }
            writer = handle
        case .webp, .bmp:
            collected = Image(width: width, height: height, colorModel: colorModel, iccProfile: iccProfile)
        }
    }

    deinit { if !done { abort() } }

    /// Appends the next rows (a full-width band in this writer's colour model).
    public func write(_ band: Image) throws {
        precondition(!done, "ImageFileWriter: write after finish/abort")
        precondition(band.width == width && band.colorModel == colorModel && rowsWritten + band.height <= height,
                     "ImageFileWriter: band \(band.width)x\(band.height) \(band.colorModel) after \(rowsWritten) rows of \(width)x\(height) \(colorModel)")
        defer { rowsWritten += band.height }
        if collected != nil {
            let ch = colorModel.channelCount, n = band.height * width
            collected!.pixels.withUnsafeMutableBufferPointer { dst in
                band.pixels.withUnsafeBufferPointer { src in
                    for c in 0..<ch {
                        (dst.baseAddress! + (c * height + rowsWritten) * width).update(from: src.baseAddress! + c * n, count: n)
                    }
                }
            }
            return
        }
        var message = [CChar](repeating: 0, count: Int(CC_MESSAGE_SIZE))
        let code: Int32
        if options.bitDepth == 16 {
            code = band.interleaved16().withUnsafeBytes { cc_writer_write_rows(writer, $0.baseAddress, Int32(band.height), &message) }
        } else {
            code = band.interleaved8().withUnsafeBytes { cc_writer_write_rows(writer, $0.baseAddress, Int32(band.height), &message) }
        }
        if code != CC_OK {
            abort()
            throw ImageIOError(path: url.path, reason: String(cString: message))
        }
    }

    /// Completes the file and moves it into place.
    public func finish() throws {
        precondition(!done, "ImageFileWriter: finish after finish/abort")
        precondition(rowsWritten == height, "ImageFileWriter: \(rowsWritten) of \(height) rows written")
        if let image = collected {
            collected = nil
            done = true
            try ImageIO.write(image, to: url, options: options)
            return
        }
        var message = [CChar](repeating: 0, count: Int(CC_MESSAGE_SIZE))
        let code = cc_writer_finish(writer, &message)
        writer = nil
        done = true
        if code != CC_OK {
            try? FileManager.default.removeItem(at: temporary)
            throw ImageIOError(path: url.path, reason: String(cString: message))
        }
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw ImageIOError(path: url.path, reason: reason)
        }
    }

    /// Abandons the file: nothing is left behind.
    public func abort() {
        if let writer { cc_writer_abort(writer) }
        writer = nil
        collected = nil
        if !done { try? FileManager.default.removeItem(at: temporary) }
        done = true
    }
}
