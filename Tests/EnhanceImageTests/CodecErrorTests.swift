import EnhanceImage
import Foundation
import Testing

private typealias S = CodecTestSupport

/// The limit used by these tests, independent of ENHANCE_MAX_PIXELS in the environment.
private let limit200M = DecodeLimits(maxPixels: 200_000_000)

/// The error `body` throws, or nil.
private func ioError(_ body: () throws -> Any) -> ImageIOError? {
    do {
        _ = try body()
        return nil
    } catch let error as ImageIOError {
        return error
    } catch {
        return ImageIOError(path: "?", reason: "unexpected error type \(type(of: error)): \(error)")
    }
}

@Suite("Codec bad input")
struct CodecBadInputTests {
    @Test("empty file, from memory and from disk")
    func empty() throws {
        #expect(ioError { try ImageIO.decode([], name: "e.png") }?.description == "e.png: empty file")
        let folder = try S.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("empty.jpg")
        try Data().write(to: url)
        #expect(ioError { try ImageIO.read(contentsOf: url, limits: limit200M) } == ImageIOError(path: url.path, reason: "empty file"))
    }

    @Test("a file that is not an image")
    func notAnImage() {
        let text = Array("hello, this is not a picture\n".utf8)
        #expect(ioError { try ImageIO.decode(text, name: "notes.png") }?.description
            == "notes.png: not a supported image (PNG, JPEG, WebP, BMP)")
        #expect(ioError { try ImageIO.decode([0x89, 0x50], name: "x") }?.reason == ImageIO.unsupportedReason)
    }

    @Test("truncated PNG, cut in the pixel data and in the header", arguments: [0.5, 0.05])
    func truncatedPNG(fraction: Double) throws {
        let png = try ImageIO.encode(S.busyImage8(width: 64, height: 64, model: .rgb), options: EncodeOptions(format: .png))
        let cut = Array(png[0..<Int(Double(png.count) * fraction)])
        #expect(ioError { try ImageIO.decode(cut, name: "cut.png") }?.description == "cut.png: truncated PNG (unexpected end of data)")
    }

    @Test("PNG with a damaged header checksum")
    func corruptPNG() throws {
        var png = try ImageIO.encode(S.busyImage8(width: 4, height: 4, model: .rgb), options: EncodeOptions(format: .png))
        png[29] ^= 0xFF  // inside the IHDR CRC
        #expect(ioError { try ImageIO.decode(png, name: "bad.png") }?.description == "bad.png: corrupt PNG (IHDR: CRC error)")
    }

    @Test("truncated JPEG, baseline and progressive")
    func truncatedJPEG() throws {
        let jpeg = try ImageIO.encode(S.smoothImage(width: 64, height: 48, model: .rgb), options: EncodeOptions(format: .jpeg))
        let cut = Array(jpeg[0..<(jpeg.count / 2)])
        #expect(ioError { try ImageIO.decode(cut, name: "cut.jpg") }?.description == "cut.jpg: truncated JPEG (premature end of data)")
        let header = Array(jpeg[0..<40])
        #expect(ioError { try ImageIO.decode(header, name: "h.jpg") }?.reason == "truncated JPEG (premature end of data)")
        let progressive = try Array(Data(contentsOf: try S.fixture("progressive-q75.jpg")))
        let cutP = Array(progressive[0..<(progressive.count * 2 / 3)])
        #expect(ioError { try ImageIO.decode(cutP, name: "p.jpg") }?.reason == "truncated JPEG (premature end of data)")
    }

    @Test("truncated WebP and BMP")
    func truncatedOthers() throws {
        let webp = try ImageIO.encode(S.smoothImage(width: 32, height: 32, model: .rgb), options: EncodeOptions(format: .webp))
        #expect(ioError { try ImageIO.decode(Array(webp[0..<(webp.count / 2)]), name: "c.webp") }?.reason
            == "corrupt or truncated WebP (image data could not be decoded)")
        let bmp = try ImageIO.encode(S.busyImage8(width: 8, height: 8, model: .rgb), options: EncodeOptions(format: .bmp))
        #expect(ioError { try ImageIO.decode(Array(bmp[0..<100]), name: "c.bmp") }?.reason == "truncated BMP (pixel data incomplete)")
        #expect(ioError { try ImageIO.decode(Array(bmp[0..<20]), name: "c.bmp") }?.reason == "truncated BMP (header incomplete)")
    }

    @Test("PNG header claiming 100000x100000 is refused before allocating")
    func hugePNG() {
        var ihdr = S.be32(100_000) + S.be32(100_000)
        ihdr += [8, 2, 0, 0, 0]
        let file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + S.pngChunk("IHDR", ihdr)
            + S.pngChunk("IDAT", S.zlibStored([0, 1, 2, 3])) + S.pngChunk("IEND", [])
        #expect(ioError { try ImageIO.decode(file, name: "huge.png", limits: limit200M) }?.description
            == "huge.png: image is 100000x100000 = 10000000000 pixels, above the limit of 200000000 (set ENHANCE_MAX_PIXELS)")
    }

    @Test("JPEG, WebP and BMP headers above the limit are refused")
    func hugeOthers() throws {
        var jpeg = try ImageIO.encode(S.smoothImage(width: 16, height: 16, model: .rgb), options: EncodeOptions(format: .jpeg))
        let sof = try #require(S.jpegMarkerOffset(jpeg, 0xC0))
        jpeg[sof + 5] = 0xEA; jpeg[sof + 6] = 0x60  // height 60000
        jpeg[sof + 7] = 0xEA; jpeg[sof + 8] = 0x60  // width 60000
        #expect(ioError { try ImageIO.decode(jpeg, name: "huge.jpg", limits: limit200M) }?.reason
            == "image is 60000x60000 = 3600000000 pixels, above the limit of 200000000 (set ENHANCE_MAX_PIXELS)")

        var webp = try ImageIO.encode(S.busyImage8(width: 4, height: 4, model: .rgb), options: EncodeOptions(format: .webp, lossless: true))
        #expect(webp[12..<16].elementsEqual("VP8L".utf8) && webp[20] == 0x2F)
        // VP8L: 14 bits width-1, 14 bits height-1 (little-endian bit order) after the signature byte.
        var bits = UInt32(webp[21]) | UInt32(webp[22]) << 8 | UInt32(webp[23]) << 16 | UInt32(webp[24]) << 24
        bits = (bits & ~0x0FFF_FFFF) | 16382 | 16382 << 14
        for i in 0..<4 { webp[21 + i] = UInt8((bits >> (8 * UInt32(i))) & 0xFF) }
        #expect(ioError { try ImageIO.decode(webp, name: "huge.webp", limits: limit200M) }?.reason
            == "image is 16383x16383 = 268402689 pixels, above the limit of 200000000 (set ENHANCE_MAX_PIXELS)")

        var bmp = try ImageIO.encode(S.busyImage8(width: 2, height: 2, model: .rgb), options: EncodeOptions(format: .bmp))
        bmp.replaceSubrange(18..<26, with: S.le32(100_000) + S.le32(100_000))
        #expect(ioError { try ImageIO.decode(bmp, name: "huge.bmp", limits: limit200M) }?.reason
            == "image is 100000x100000 = 10000000000 pixels, above the limit of 200000000 (set ENHANCE_MAX_PIXELS)")
    }

    @Test("the pixel limit is inclusive and configurable")
    func limitBoundary() throws {
        let png = try ImageIO.encode(S.busyImage8(width: 10, height: 10, model: .grey), options: EncodeOptions(format: .png))
        #expect(try ImageIO.decode(png, name: "ok.png", limits: DecodeLimits(maxPixels: 100)).width == 10)
        #expect(ioError { try ImageIO.decode(png, name: "s.png", limits: DecodeLimits(maxPixels: 99)) }?.reason
            == "image is 10x10 = 100 pixels, above the limit of 99 (set ENHANCE_MAX_PIXELS)")
        #expect(DecodeLimits.fromEnvironment(["ENHANCE_MAX_PIXELS": "1000"]).maxPixels == 1000)
        #expect(DecodeLimits.fromEnvironment(["ENHANCE_MAX_PIXELS": "lots"]).maxPixels == 200_000_000)
        #expect(DecodeLimits.fromEnvironment(["ENHANCE_MAX_PIXELS": "-5"]).maxPixels == 200_000_000)
        #expect(DecodeLimits.fromEnvironment([:]).maxPixels == 200_000_000)
    }

    @Test("unreadable paths: missing file, a directory")
    func unreadable() throws {
        let folder = try S.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.png")
        #expect(ioError { try ImageIO.read(contentsOf: missing) }?.description == "\(missing.path): no such file")
        #expect(ioError { try ImageIO.read(contentsOf: folder) }?.description == "\(folder.path): is a directory")
    }

    @Test("unreadable path: permission denied", .enabled(if: getuid() != 0, "root reads files regardless of permissions"))
    func permissionDenied() throws {
        let folder = try S.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("secret.png")
        try Data([0x89, 0x50]).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: url.path)
        #expect(ioError { try ImageIO.read(contentsOf: url) }?.description == "\(url.path): permission denied")
    }
}

@Suite("Codec encode and write errors")
struct CodecWriteTests {
    @Test("encode refuses what the format cannot hold")
    func encodeErrors() {
        let ycbcr = Image(width: 2, height: 2, colorModel: .ycbcr)
        #expect(ioError { try ImageIO.encode(ycbcr, options: EncodeOptions(format: .png)) }?.description
            == "image: cannot encode YCbCr image; convert to RGB first")
        let rgba = Image(width: 2, height: 2, colorModel: .rgba)
        #expect(ioError { try ImageIO.encode(rgba, options: EncodeOptions(format: .jpeg)) }?.reason
            == "JPEG cannot store alpha; flatten or drop the alpha channel first")
        #expect(ioError { try ImageIO.encode(rgba, options: EncodeOptions(format: .bmp)) }?.reason
            == "BMP cannot store alpha; use PNG or drop the alpha channel first")
        let rgb = Image(width: 2, height: 2, colorModel: .rgb)
        #expect(ioError { try ImageIO.encode(rgb, options: EncodeOptions(format: .jpeg, bitDepth: 16)) }?.reason
            == "16-bit output needs PNG; JPEG is 8-bit")
        #expect(ioError { try ImageIO.encode(rgb, options: EncodeOptions(format: .jpeg, quality: 0)) }?.reason
            == "quality must be 1...100, got 0")
        #expect(ioError { try ImageIO.encode(Image(width: 0, height: 3, colorModel: .rgb), options: EncodeOptions()) }?.reason
            == "cannot encode an empty 0x3 image")
    }

    @Test("write is atomic: the file appears whole, no temporary is left, an existing file is replaced")
    func writeSuccess() throws {
        let folder = try S.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.png")
        try Data("old".utf8).write(to: url)
        let image = S.busyImage16(width: 6, height: 5, model: .rgba)
        try ImageIO.write(image, to: url)  // nil options: PNG from the extension, 16 bits kept
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.png"])
        let back = try ImageIO.read(contentsOf: url)
        #expect(back.pixels == image.pixels && back.sourceBitDepth == 16)

        let jpgURL = folder.appendingPathComponent("photo.JPG")
        try ImageIO.write(S.smoothImage(width: 8, height: 8, model: .rgb), to: jpgURL)
        #expect(ImageFormat.sniff(try Data(contentsOf: jpgURL)) == .jpeg)
    }

    @Test("write failures leave nothing behind")
    func writeFailures() throws {
        let folder = try S.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = S.busyImage8(width: 4, height: 4, model: .rgb)

        let tiff = folder.appendingPathComponent("out.tiff")
        #expect(ioError { try ImageIO.write(image, to: tiff) }?.description
            == "\(tiff.path): cannot tell the image format from extension '.tiff' (use .png, .jpg, .webp or .bmp)")

        let missingFolder = folder.appendingPathComponent("no-such-folder")
        let inMissing = missingFolder.appendingPathComponent("out.png")
        #expect(ioError { try ImageIO.write(image, to: inMissing) }?.description
            == "\(inMissing.path): cannot create a file in \(missingFolder.path) (no such file)")

        // The target name is taken by a directory: the rename fails after the bytes were written.
        let blocked = folder.appendingPathComponent("blocked.png")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: false)
        #expect(ioError { try ImageIO.write(image, to: blocked) }?.description
            == "\(blocked.path): cannot replace the file (is a directory)")

        // Encoding errors happen before any file is created.
        #expect(ioError { try ImageIO.write(Image(width: 2, height: 2, colorModel: .rgba), to: folder.appendingPathComponent("a.jpg")) } != nil)

        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["blocked.png"])
    }
}

@Suite("Codec formats")
struct CodecFormatTests {
    @Test("extensions map to formats, case-insensitively")
    func extensions() {
        #expect(ImageFormat(pathExtension: "jpg") == .jpeg)
        #expect(ImageFormat(pathExtension: "JPG") == .jpeg)
        #expect(ImageFormat(pathExtension: "jpeg") == .jpeg)
        #expect(ImageFormat(pathExtension: "png") == .png)
        #expect(ImageFormat(pathExtension: "PNG") == .png)
        #expect(ImageFormat(pathExtension: "webp") == .webp)
        #expect(ImageFormat(pathExtension: "bmp") == .bmp)
        #expect(ImageFormat(pathExtension: "gif") == nil)
        #expect(ImageFormat(pathExtension: "") == nil)
    }

    @Test("magic numbers name the format, whatever the file is called")
    func sniff() throws {
        #expect(ImageFormat.sniff([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) == .png)
        #expect(ImageFormat.sniff([0xFF, 0xD8, 0xFF, 0xE0]) == .jpeg)
        #expect(ImageFormat.sniff(Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8)) == .webp)
        #expect(ImageFormat.sniff(Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVEfmt ".utf8)) == nil)
        #expect(ImageFormat.sniff(Array("BM".utf8)) == .bmp)
        #expect(ImageFormat.sniff([UInt8]()) == nil)
        // A PNG saved under a .jpg name is still read as PNG.
        let folder = try S.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("misnamed.jpg")
        let image = S.busyImage8(width: 3, height: 3, model: .greyAlpha)
        try ImageIO.write(image, to: url, options: EncodeOptions(format: .png))
        #expect(try ImageIO.read(contentsOf: url).pixels == image.pixels)
    }
}

@Suite("Codec robustness")
struct CodecRobustnessTests {
    /// Every prefix and 300 seeded random corruptions of a small file of each format either decode or
    /// throw an ImageIOError naming the file: never a trap.
    @Test("truncated and corrupted files never crash", arguments: ImageFormat.allCases)
    func neverCrash(format: ImageFormat) throws {
        let model: ColorModel = format == .jpeg || format == .bmp ? .rgb : .rgba
        var image = S.smoothImage(width: 12, height: 10, model: model)
        if format != .bmp { image.iccProfile = S.iccProfile() }
        let bytes = try ImageIO.encode(image, options: EncodeOptions(format: format, quality: 80))
        var outcomes = (decoded: 0, refused: 0)
        func attempt(_ data: [UInt8]) {
            do {
                _ = try ImageIO.decode(data, name: "f", limits: DecodeLimits(maxPixels: 1 << 20))
                outcomes.decoded += 1
            } catch let error as ImageIOError {
                #expect(error.path == "f" && !error.reason.isEmpty && !error.reason.contains("\n"))
                outcomes.refused += 1
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        for length in 0..<bytes.count { attempt(Array(bytes[0..<length])) }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(truncatingIfNeeded: state >> 1)
        }
        for _ in 0..<300 {
            var copy = bytes
            for _ in 0..<(1 + next() % 4) { copy[next() % copy.count] = UInt8(truncatingIfNeeded: next()) }
            attempt(copy)
        }
        #expect(outcomes.refused > 0)
        #expect(outcomes.decoded + outcomes.refused == bytes.count + 300)
    }
}
