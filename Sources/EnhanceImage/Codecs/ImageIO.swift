import CCodecs
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// File-scope wrappers: inside `ImageIO`, `read`/`write` would name its own static methods.
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }

/// Reading and writing image files.
///
/// Decoded images keep the file's colour model (grey, grey+alpha, RGB, RGBA; a palette becomes RGB,
/// or RGBA when it has transparency), its bit depth (16-bit PNG stays exact: `v / 65535`) and its
/// ICC profile, byte for byte. JPEG EXIF orientation is applied, so the image is upright.
/// Errors are ``ImageIOError``s naming the file and the reason; nothing here traps on bad input.
public enum ImageIO {
    /// The message for files whose first bytes match no supported format.
    public static let unsupportedReason = "not a supported image (PNG, JPEG, WebP, BMP)"

    /// Reads and decodes a file; the format comes from its bytes, not its name.
    public static func read(contentsOf url: URL, limits: DecodeLimits = .default) throws -> Image {
        let path = url.path
        // The file's bytes are released as soon as the C decoder is done with them, before the
        // samples are widened to floats: a large image then never holds file, interleaved and
        // planar copies at once.
        switch try decodeToC(try readFile(path), name: path, limits: limits) {
        case .image(let image): return image
        case .c(var raw):
            defer { cc_image_free(&raw) }
            return makeImage(raw)
        }
    }

    /// Decodes an image file held in memory; `name` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String, limits: DecodeLimits = .default) throws -> Image {
        switch try decodeToC(bytes, name: name, limits: limits) {
        case .image(let image): return image
        case .c(var raw):
            defer { cc_image_free(&raw) }
            return makeImage(raw)
        }
    }

    /// A decoded image: finished (BMP, decoded in Swift), or still in the C decoder's buffer.
    private enum Decoded {
        case image(Image)
        case c(cc_image)
    }

    private static func decodeToC(_ bytes: [UInt8], name: String, limits: DecodeLimits) throws -> Decoded {
        if bytes.isEmpty { throw ImageIOError(path: name, reason: "empty file") }
        guard let format = ImageFormat.sniff(bytes) else { throw ImageIOError(path: name, reason: unsupportedReason) }
        switch format {
        case .bmp: return .image(try BMPCodec.decode(bytes, name: name, limits: limits))
        case .png: return .c(try decodeWithC(bytes, name: name, limits: limits, cc_png_decode))
        case .jpeg: return .c(try decodeWithC(bytes, name: name, limits: limits, cc_jpeg_decode))
        case .webp: return .c(try decodeWithC(bytes, name: name, limits: limits, cc_webp_decode))
        }
    }

    /// Encodes an image as a file's bytes.
    ///
    /// Samples are clamped to `0...1` and rounded. Grey images become grey files (for WebP, which has
    /// no grey mode, RGB). The ICC profile is embedded by PNG (iCCP), JPEG (APP2) and WebP (ICCP).
    /// Throws for `.ycbcr` images, alpha in JPEG or BMP, 16 bits outside PNG, a quality outside
    /// 1...100 and empty images; `name` is used in error messages.
    public static func encode(_ image: Image, options: EncodeOptions, name: String = "image") throws -> [UInt8] {
        func fail(_ reason: String) -> ImageIOError { ImageIOError(path: name, reason: reason) }
        if image.colorModel == .ycbcr { throw fail("cannot encode YCbCr image; convert to RGB first") }
        if image.width == 0 || image.height == 0 { throw fail("cannot encode an empty \(image.width)x\(image.height) image") }
        if options.bitDepth != 8 && options.bitDepth != 16 { throw fail("bit depth must be 8 or 16, got \(options.bitDepth)") }
        if options.bitDepth == 16 && options.format != .png { throw fail("16-bit output needs PNG; \(options.format.rawValue.uppercased()) is 8-bit") }
        if !(1...100).contains(options.quality) { throw fail("quality must be 1...100, got \(options.quality)") }
        if image.width > Int(Int32.max) || image.height > Int(Int32.max) { throw fail("image is too large to encode (\(image.width)x\(image.height))") }
        let w = Int32(image.width), h = Int32(image.height)
        let icc = image.iccProfile ?? []
        var message = [CChar](repeating: 0, count: Int(CC_MESSAGE_SIZE))
        var out = cc_buffer()
        let code: Int32
        switch options.format {
        case .bmp:
            return try BMPCodec.encode(image, name: name)
        case .png:
            if options.bitDepth == 16 {
                let samples = image.interleaved16()
                code = samples.withUnsafeBytes { px in
                    icc.withUnsafeBufferPointer { p in
                        cc_png_encode(px.baseAddress, w, h, Int32(image.channels), 16, p.baseAddress, p.count, &out, &message)
                    }
                }
            } else {
                let samples = image.interleaved8()
                code = samples.withUnsafeBytes { px in
                    icc.withUnsafeBufferPointer { p in
                        cc_png_encode(px.baseAddress, w, h, Int32(image.channels), 8, p.baseAddress, p.count, &out, &message)
                    }
                }
            }
        case .jpeg:
            if image.colorModel.hasAlpha { throw fail("JPEG cannot store alpha; flatten or drop the alpha channel first") }
            let samples = image.interleaved8()
            code = samples.withUnsafeBufferPointer { px in
                icc.withUnsafeBufferPointer { p in
                    cc_jpeg_encode(px.baseAddress, w, h, Int32(image.channels), Int32(options.quality),
                                   options.chroma == .s420 ? 1 : 0, p.baseAddress, p.count, &out, &message)
                }
            }
        case .webp:
            let samples = interleavedColour8(image)
            code = samples.withUnsafeBufferPointer { px in
                icc.withUnsafeBufferPointer { p in
                    cc_webp_encode(px.baseAddress, w, h, image.colorModel.hasAlpha ? 4 : 3, Int32(options.quality),
                                   options.lossless ? 1 : 0, p.baseAddress, p.count, &out, &message)
                }
            }
        }
        defer { cc_buffer_free(&out) }
        guard code == CC_OK, let data = out.data else { throw fail(String(cString: message)) }
        return Array(UnsafeBufferPointer(start: data, count: out.size))
    }

    /// Encodes and writes a file atomically: to a temporary name in the same folder, then renamed over
    /// `url`. Nothing is left behind on failure.
    ///
    /// With `options` nil the format comes from the extension (an unknown one is an error), with
    /// default settings, and a PNG keeps 16 bits when the image came from a 16-bit source.
    public static func write(_ image: Image, to url: URL, options: EncodeOptions? = nil) throws {
        let path = url.path
        let opts: EncodeOptions
        if let options {
            opts = options
        } else {
            guard let format = ImageFormat(pathExtension: url.pathExtension) else {
                let ext = url.pathExtension.isEmpty ? "no extension" : "extension '.\(url.pathExtension)'"
                throw ImageIOError(path: path, reason: "cannot tell the image format from \(ext) (use .png, .jpg, .webp or .bmp)")
            }
            opts = EncodeOptions(format: format, bitDepth: format == .png && image.sourceBitDepth == 16 ? 16 : 8)
        }
        let bytes = try encode(image, options: opts, name: path)
        try writeAtomically(bytes, to: path)
    }

    // MARK: - Files

    private static func errnoReason(_ code: Int32) -> String {
        switch code {
        case ENOENT: "no such file"
        case EACCES, EPERM: "permission denied"
        case EISDIR: "is a directory"
        default: String(cString: strerror(code))
        }
    }

    /// Reads a whole file with POSIX calls, so the reason is exact (no such file, permission denied, ...).
    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw ImageIOError(path: path, reason: errnoReason(errno)) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw ImageIOError(path: path, reason: errnoReason(errno)) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw ImageIOError(path: path, reason: "is a directory") }
        var bytes = [UInt8]()
        if st.st_size > 0 { bytes.reserveCapacity(Int(st.st_size)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImageIOError(path: path, reason: errnoReason(errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// Writes `bytes` to a fresh temporary file beside `path`, then renames it to `path`.
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let temp = folder + "/." + url.lastPathComponent + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let code = errno
            throw ImageIOError(path: path, reason: "cannot create a file in \(folder) (\(errnoReason(code)))")
        }
        var failure: String?
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "write failed (\(errnoReason(errno)))"
                    return
                }
                offset += n
            }
        }
        if close(fd) != 0 && failure == nil { failure = "write failed (\(errnoReason(errno)))" }
        if failure == nil && rename(temp, path) != 0 { failure = "cannot replace the file (\(errnoReason(errno)))" }
        if let failure {
            unlink(temp)
            throw ImageIOError(path: path, reason: failure)
        }
    }

    // MARK: - Bridging to CCodecs

    private typealias CDecoder = (UnsafePointer<UInt8>?, Int, Int64, UnsafeMutablePointer<cc_image>?,
                                  UnsafeMutablePointer<CChar>?) -> Int32

    /// Runs a C decoder; on success the caller owns the result (`cc_image_free`).
    private static func decodeWithC(_ bytes: [UInt8], name: String, limits: DecodeLimits, _ decoder: CDecoder) throws -> cc_image {
        var out = cc_image()
        var message = [CChar](repeating: 0, count: Int(CC_MESSAGE_SIZE))
        let code = bytes.withUnsafeBufferPointer { decoder($0.baseAddress, $0.count, Int64(limits.maxPixels), &out, &message) }
        if code == CC_ERR_LIMIT {
            let (width, height) = (Int(out.width), Int(out.height))
            cc_image_free(&out)
            throw limitError(name: name, width: width, height: height, limits: limits)
        }
        guard code == CC_OK, out.pixels != nil else {
            cc_image_free(&out)
            throw ImageIOError(path: name, reason: String(cString: message))
        }
        return out
    }

    /// Planar float image from a C decoder's result (EXIF orientation applied).
    private static func makeImage(_ out: cc_image) -> Image {
        let pixels = out.pixels!
        let models: [ColorModel] = [.grey, .greyAlpha, .rgb, .rgba]
        let width = Int(out.width), height = Int(out.height), channels = Int(out.channels)
        precondition((1...4).contains(channels), "decoder returned \(channels) channels")
        let model = models[channels - 1]
        let planar: [Float]
        if out.bit_depth == 16 {
            planar = deinterleave(pixels.assumingMemoryBound(to: UInt16.self), width: width, height: height, channels: channels)
        } else {
            planar = deinterleave(pixels.assumingMemoryBound(to: UInt8.self), width: width, height: height, channels: channels)
        }
        var icc: [UInt8]?
        if let p = out.icc, out.icc_size > 0 { icc = Array(UnsafeBufferPointer(start: p, count: out.icc_size)) }
        let image = Image(width: width, height: height, colorModel: model, pixels: planar,
                          sourceBitDepth: out.bit_depth == 16 ? 16 : 8, iccProfile: icc)
        return out.orientation == 1 ? image : image.oriented(exif: Int(out.orientation))
    }

    static func limitError(name: String, width: Int, height: Int, limits: DecodeLimits) -> ImageIOError {
        let (product, overflow) = width.multipliedReportingOverflow(by: height)
        let count = overflow ? "more than \(Int.max)" : "\(product)"
        return ImageIOError(path: name, reason: "image is \(width)x\(height) = \(count) pixels, above the limit of \(limits.maxPixels) (set ENHANCE_MAX_PIXELS)")
    }

    /// 8-bit sample `v` as a float, `Float(v) / 255`.
    static let unit8: [Float] = (0..<256).map { Float($0) / 255 }

    /// Interleaved 8-bit samples to planar floats (`v / 255`).
    static func deinterleave(_ src: UnsafePointer<UInt8>, width: Int, height: Int, channels: Int) -> [Float] {
        let n = width * height
        return [Float](unsafeUninitializedCapacity: n * channels) { dst, count in
            unit8.withUnsafeBufferPointer { table in
                for c in 0..<channels {
                    let plane = dst.baseAddress! + c * n
                    var s = src + c
                    for i in 0..<n {
                        plane[i] = table[Int(s.pointee)]
                        s += channels
                    }
                }
            }
            count = n * channels
        }
    }

    /// Interleaved 16-bit samples to planar floats (`v / 65535`).
    static func deinterleave(_ src: UnsafePointer<UInt16>, width: Int, height: Int, channels: Int) -> [Float] {
        let n = width * height
        return [Float](unsafeUninitializedCapacity: n * channels) { dst, count in
            for c in 0..<channels {
                let plane = dst.baseAddress! + c * n
                var s = src + c
                for i in 0..<n {
                    plane[i] = Float(s.pointee) / 65535
                    s += channels
                }
            }
            count = n * channels
        }
    }

    /// Interleaved 8-bit RGB (grey replicated) or RGBA (grey+alpha expanded), for WebP.
    private static func interleavedColour8(_ image: Image) -> [UInt8] {
        switch image.colorModel {
        case .rgb, .rgba, .ycbcr: return image.interleaved8()
        case .grey, .greyAlpha:
            let grey = image.interleaved8()
            let inCh = image.channels, outCh = inCh == 1 ? 3 : 4, n = image.planeSize
            return [UInt8](unsafeUninitializedCapacity: n * outCh) { dst, count in
                grey.withUnsafeBufferPointer { src in
                    for i in 0..<n {
                        let v = src[i * inCh]
                        dst[i * outCh] = v
                        dst[i * outCh + 1] = v
                        dst[i * outCh + 2] = v
                        if outCh == 4 { dst[i * outCh + 3] = src[i * inCh + 1] }
                    }
                }
                count = n * outCh
            }
        }
    }
}
