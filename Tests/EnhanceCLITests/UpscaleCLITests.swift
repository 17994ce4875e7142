import EnhanceCLI
import Enhance
import EnhanceImage
import EnhanceModels
import Foundation
import Testing

/// Files for the upscale command tests: a model folder, and hand-built PNG/JPEG bytes.
enum UpscaleFixtures {
    /// A small FSRCNN x2 with random weights (last layer scaled up so the output varies), in a
    /// fresh folder for `ENHANCE_MODELS`.
    static func modelFolder() throws -> (folder: URL, model: Model) {
        let folder = try scratchFolder()
        let arch = Architecture.fsrcnn(d: 8, s: 4, m: 1, scale: 2)
        var net = arch.makeNetwork(seed: 11)
        var p = net.parameters
        for i in p[p.count - 2].storage.indices { p[p.count - 2].storage[i] *= 200 }
        net.parameters = p
        let model = Model(info: ModelInfo(name: "tiny-fsrcnn-x2", task: .superResolution, architecture: arch, scale: 2),
                          network: net)
        try model.write(to: folder.appendingPathComponent("tiny-fsrcnn-x2.safetensors"))
        return (folder, model)
    }

    static func be32(_ v: Int) -> [UInt8] { [UInt8((v >> 24) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    static func crc32(_ bytes: [UInt8]) -> Int {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return Int(c ^ 0xFFFF_FFFF)
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(data.count) + body + be32(crc32(body))
    }

    /// zlib stream of stored (uncompressed) blocks.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var i = 0
        repeat {
            let n = min(65535, data.count - i)
            out += [i + n == data.count ? 1 : 0, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[i..<(i + n)]
            i += n
        } while i < data.count
        var a = 1, b = 0
        for byte in data { a = (a + Int(byte)) % 65521; b = (b + a) % 65521 }
        return out + be32(b << 16 | a)
    }

    /// An 8-bit palette PNG: `indices` row-major, `palette` RGB triples, `alphas` the tRNS entries.
    static func palettePNG(width: Int, height: Int, indices: [UInt8], palette: [[UInt8]], alphas: [UInt8]) -> [UInt8] {
        var raw: [UInt8] = []
        for y in 0..<height { raw += [0] + indices[(y * width)..<((y + 1) * width)] }
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        file += chunk("IHDR", be32(width) + be32(height) + [8, 3, 0, 0, 0])
        file += chunk("PLTE", palette.flatMap { $0 })
        file += chunk("tRNS", alphas)
        file += chunk("IDAT", zlibStored(raw))
        file += chunk("IEND", [])
        return file
    }

    /// `jpeg` with an EXIF APP1 segment (little-endian IFD0 with Orientation) after SOI.
    static func jpegWithOrientation(_ jpeg: [UInt8], _ orientation: Int) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        var tiff: [UInt8] = Array("II".utf8) + u16(42) + u32(8)
        tiff += u16(1) + u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0) + u32(0)
        let payload = Array("Exif\0\0".utf8) + tiff
        let segment: [UInt8] = [0xFF, 0xE1, UInt8((payload.count + 2) >> 8), UInt8((payload.count + 2) & 0xFF)] + payload
        return Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }

    /// A minimal ICC v2 profile header with one tag (164 bytes), recognisable bytes.
    static func iccProfile() -> [UInt8] {
        var p = [UInt8](repeating: 0, count: 164)
        func put(_ bytes: [UInt8], _ at: Int) { for (i, b) in bytes.enumerated() { p[at + i] = b } }
        put(be32(164), 0); put(Array("lcms".utf8), 4); put([0x02, 0x10, 0, 0], 8)
        put(Array("mntr".utf8), 12); put(Array("RGB ".utf8), 16); put(Array("XYZ ".utf8), 20)
        put(Array("acsp".utf8), 36); put(Array("ENHC".utf8), 48); put(Array("UPSC".utf8), 52)
        put([0x00, 0x00, 0xF6, 0xD6, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xD3, 0x2D], 68)
        put(be32(1), 128); put(Array("wtpt".utf8), 132); put(be32(144), 136); put(be32(20), 140)
        put(Array("XYZ ".utf8), 144)
        put([0x00, 0x00, 0xF3, 0x51, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x16, 0xCC], 152)
        return p
    }

    /// Files under `folder`, relative, sorted (hidden ones included).
    static func tree(_ folder: URL) -> [String] {
        let e = FileManager.default.enumerator(atPath: folder.path)
        var out: [String] = []
        while let p = e?.nextObject() as? String {
            var dir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: folder.appendingPathComponent(p).path, isDirectory: &dir)
            if !dir.boolValue { out.append(p) }
        }
        return out.sorted()
    }
}

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct UpscaleInputTests {
    /// A palette PNG with tRNS becomes RGBA; alpha is the clamped bicubic of the input alpha and
    /// the colour is the library's (model on Y) result.
    @Test func paletteWithTransparency() throws {
        let (models, model) = try UpscaleFixtures.modelFolder()
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder); try? FileManager.default.removeItem(at: models) }
        let w = 12, h = 9
        let indices = (0..<(w * h)).map { i in UInt8((i % w) / 4) }
        let png = UpscaleFixtures.palettePNG(width: w, height: h, indices: indices,
                                             palette: [[200, 40, 30], [20, 180, 60], [30, 60, 220]], alphas: [255, 0, 128])
        let input = folder.appendingPathComponent("pal.png"), output = folder.appendingPathComponent("big.png")
        try Data(png).write(to: input)
        let r = try CLIRun.run(["upscale", input.path, "-o", output.path, "--model", "tiny-fsrcnn-x2"],
                               environment: ["ENHANCE_MODELS": models.path])
        #expect(r.status == 0, "\(r.stderr)")
        let decoded = try ImageIO.read(contentsOf: input)
        #expect(decoded.colorModel == .rgba)
        let written = try ImageIO.read(contentsOf: output)
        #expect(written.colorModel == .rgba && written.width == 24 && written.height == 18)
        var alpha = decoded.plane(3).resized(scale: 2, method: .bicubic)
        for i in alpha.pixels.indices { alpha.pixels[i] = min(max(alpha.pixels[i], 0), 1) }
        #expect(written.plane(3) == alpha.quantized8())
        let expected = Upscaler(model: model, scale: 2).upscale(decoded).quantized8()
        var worst: Float = 0
        for i in expected.pixels.indices { worst = max(worst, abs(expected.pixels[i] - written.pixels[i])) }
        #expect(worst <= 1.0 / 255 + 1e-6)
    }

    /// 16-bit PNG in, 16-bit PNG out by default, with the exact samples of the library.
    @Test func sixteenBitStaysSixteenBit() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var image = Image(width: 10, height: 7, colorModel: .rgb, sourceBitDepth: 16)
        for i in image.pixels.indices { image.pixels[i] = Float((i * 7919) % 65536) / 65535 }
        let input = folder.appendingPathComponent("deep.png"), output = folder.appendingPathComponent("deep-x2.png")
        try ImageIO.write(image, to: input)
        let r = try CLIRun.run(["upscale", input.path, "--model", "bicubic"])
        #expect(r.status == 0, "\(r.stderr)")
        let written = try ImageIO.read(contentsOf: output)
        #expect(written.sourceBitDepth == 16)
        let expected = Upscaler(model: nil, scale: 2).upscale(try ImageIO.read(contentsOf: input))
        #expect(written.pixels == Image(interleaved16: expected.interleaved16(), width: 20, height: 14, colorModel: .rgb).pixels)
        // --depth 8 asks for 8 bits
        let eight = folder.appendingPathComponent("eight.png")
        #expect(try CLIRun.run(["upscale", input.path, "-o", eight.path, "--model", "bicubic", "--depth", "8"]).status == 0)
        #expect(try ImageIO.read(contentsOf: eight).sourceBitDepth == 8)
    }

    /// A JPEG stored sideways with EXIF orientation 6 is upscaled upright.
    @Test func exifOrientationSix() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let stored = try ImageIO.encode(sampleImage(width: 40, height: 24), options: EncodeOptions(format: .jpeg, quality: 95))
        let input = folder.appendingPathComponent("side.jpg"), output = folder.appendingPathComponent("up.png")
        try Data(UpscaleFixtures.jpegWithOrientation(stored, 6)).write(to: input)
        let r = try CLIRun.run(["upscale", input.path, "-o", output.path, "--model", "bicubic"])
        #expect(r.status == 0, "\(r.stderr)")
        let written = try ImageIO.read(contentsOf: output)
        #expect(written.width == 48 && written.height == 80)
        let upright = try ImageIO.read(contentsOf: input)
        #expect(upright.width == 24 && upright.height == 40)
        #expect(written == Upscaler(model: nil, scale: 2).upscale(upright).quantized8())
    }

    /// The ICC profile is carried to PNG and JPEG outputs byte for byte.
    @Test(arguments: ["png", "jpg"])
    func iccProfileIsPreserved(ext: String) throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        var image = sampleImage(width: 16, height: 12)
        image.iccProfile = UpscaleFixtures.iccProfile()
        let input = folder.appendingPathComponent("icc.png"), output = folder.appendingPathComponent("out.\(ext)")
        try ImageIO.write(image, to: input)
        #expect(try ImageIO.read(contentsOf: input).iccProfile == UpscaleFixtures.iccProfile())
        let r = try CLIRun.run(["upscale", input.path, "-o", output.path, "--model", "bicubic"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ImageIO.read(contentsOf: output).iccProfile == UpscaleFixtures.iccProfile())
    }
}

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct UpscaleBatchTests {
    /// One corrupt file in a recursive batch: one error line, the others done (tree kept,
    /// extensions replaced), exit status 1, nothing partial left.
    @Test func batchWithOneCorruptFile() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let inputs = folder.appendingPathComponent("in"), out = folder.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inputs.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try ImageIO.write(sampleImage(), to: inputs.appendingPathComponent("a.png"))
        try Data(Array("definitely not an image".utf8)).write(to: inputs.appendingPathComponent("b.png"))
        try ImageIO.write(sampleImage(width: 20, height: 16), to: inputs.appendingPathComponent("sub/c.jpg"))
        let r = try CLIRun.run(["upscale", inputs.path, "--recursive", "-o", out.path, "--model", "bicubic", "--json"])
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(inputs.path)/b.png: not a supported image (PNG, JPEG, WebP, BMP)\n")
        #expect(UpscaleFixtures.tree(out) == ["a.png", "sub/c.png"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let files = try #require(doc["files"] as? [[String: Any]])
        #expect(files.map { $0["status"] as? String } == ["done", "failed", "done"])
        #expect(files[1]["error"] as? String == "\(inputs.path)/b.png: not a supported image (PNG, JPEG, WebP, BMP)")
        #expect(files[0]["output"] as? String == out.appendingPathComponent("a.png").path)
        #expect(doc["failed"] as? Int == 1 && doc["done"] as? Int == 2)
        // Without --recursive the subfolder is not visited.
        let flat = folder.appendingPathComponent("flat")
        _ = try CLIRun.run(["upscale", inputs.path, "-o", flat.path, "--model", "bicubic"])
        #expect(UpscaleFixtures.tree(flat) == ["a.png"])
    }

    /// Ctrl-C during a batch: exit status 130, a message, the files already written kept, the one
    /// in progress abandoned without a trace (no `.partial` file), the rest not started.
    @Test func interruptStopsTheBatchCleanly() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let inputs = folder.appendingPathComponent("in"), out = folder.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let count = 40
        for i in 0..<count { try ImageIO.write(sampleImage(width: 96, height: 96), to: inputs.appendingPathComponent("i\(i).png")) }
        let process = Process()
        process.executableURL = CLIRun.executable
        // Slow on purpose (the 9-5-5 network, eight passes each): seconds for the whole batch.
        process.arguments = ["upscale", inputs.path, "-o", out.path, "--scale", "2", "--model", "srcnn-9-5-5-x2", "--tta", "--threads", "1"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        func written() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? [] }
        for _ in 0..<3000 where !written().contains(where: { $0.hasSuffix(".png") && !$0.hasPrefix(".") }) { usleep(10_000) }
        process.interrupt()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(stderr)")
        let files = written()
        #expect(!files.isEmpty && files.count < count)
        #expect(!files.contains { $0.hasPrefix(".") }, "left behind: \(files)")
        #expect(stderr.contains("interrupted: ") && stderr.contains(" of \(count) files handled, the rest not started"), "\(stderr)")
        for name in files { #expect(try ImageIO.read(contentsOf: out.appendingPathComponent(name)).width == 192) }
    }

    @Test func skipExisting() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("a.png"), output = folder.appendingPathComponent("a-x2.png")
        try ImageIO.write(sampleImage(), to: input)
        try Data("keep me".utf8).write(to: output)
        let r = try CLIRun.run(["upscale", input.path, "--model", "bicubic", "--skip-existing", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Data(contentsOf: output) == Data("keep me".utf8))
        #expect(r.stdout.contains("\"status\" : \"skipped\""))
        // Without the flag the output is replaced.
        #expect(try CLIRun.run(["upscale", input.path, "--model", "bicubic"]).status == 0)
        #expect(try ImageIO.read(contentsOf: output).width == 80)
    }

    /// Names: extension replaced (never `a.jpg.png`), default pattern beside the input, patterns.
    @Test func outputNames() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("a.jpg")
        try Data(try ImageIO.encode(sampleImage(), options: EncodeOptions(format: .jpeg))).write(to: input)
        #expect(try CLIRun.run(["upscale", input.path, "--model", "bicubic"]).status == 0)
        #expect(try CLIRun.run(["upscale", input.path, "--model", "bicubic", "--scale", "3", "-o", "{name}_big.{ext}", "--format", "webp"]).status == 0)
        #expect(try CLIRun.run(["upscale", input.path, "--model", "bicubic", "-o", folder.appendingPathComponent("o").path + "/"]).status == 0)
        #expect(try CLIRun.run(["upscale", input.path, "--model", "bicubic", "--scale", "1.5", "-o", folder.path + "/{name}-{scale}.png"]).status == 0)
        #expect(UpscaleFixtures.tree(folder) == ["a-1.5.png", "a-x2.png", "a.jpg", "a_big.webp", "o/a.png"])
        #expect(try ImageIO.read(contentsOf: folder.appendingPathComponent("a_big.webp")).width == 120)
        #expect(try ImageIO.read(contentsOf: folder.appendingPathComponent("a-1.5.png")).width == 60)
    }

    /// Two inputs that would share one output: the second is refused.
    @Test func sameOutputTwice() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try ImageIO.write(sampleImage(), to: folder.appendingPathComponent("a.png"))
        try Data(try ImageIO.encode(sampleImage(), options: EncodeOptions(format: .jpeg))).write(to: folder.appendingPathComponent("a.jpg"))
        let out = folder.appendingPathComponent("out")
        let r = try CLIRun.run(["upscale", folder.appendingPathComponent("a.jpg").path, folder.appendingPathComponent("a.png").path,
                                "-o", out.path, "--model", "bicubic"])
        #expect(r.status == 1)
        #expect(r.stderr == "error: \(out.path)/a.png: also the output of \(folder.path)/a.jpg\n")
    }
}

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct UpscaleOptionTests {
    @Test func tooSmallTileIsRefused() throws {
        let (models, _) = try UpscaleFixtures.modelFolder()
        defer { try? FileManager.default.removeItem(at: models) }
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("a.png")
        try ImageIO.write(sampleImage(), to: input)
        let r = try CLIRun.run(["upscale", input.path, "--model", "tiny-fsrcnn-x2", "--tile", "5"],
                               environment: ["ENHANCE_MODELS": models.path])
        #expect(r.status == 1)
        #expect(r.stderr == "error: --tile 5 is smaller than 8, the least this model's receptive field allows\n")
        #expect(UpscaleFixtures.tree(folder) == ["a.png"])
    }

    /// Tiles and TTA through the command line: a forced tile gives the library's result.
    @Test func forcedTileAndTTA() throws {
        let (models, model) = try UpscaleFixtures.modelFolder()
        defer { try? FileManager.default.removeItem(at: models) }
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("a.png")
        let image = sampleImage(width: 30, height: 21)
        try ImageIO.write(image, to: input)
        let env = ["ENHANCE_MODELS": models.path]
        let plain = folder.appendingPathComponent("plain.png"), tta = folder.appendingPathComponent("tta.png")
        #expect(try CLIRun.run(["upscale", input.path, "-o", plain.path, "--model", "tiny-fsrcnn-x2", "--tile", "9"], environment: env).status == 0)
        #expect(try CLIRun.run(["upscale", input.path, "-o", tta.path, "--model", "tiny-fsrcnn-x2", "--tta", "--threads", "1"], environment: env).status == 0)
        #expect(try ImageIO.read(contentsOf: plain) == Upscaler(model: model, scale: 2, tile: 9).upscale(image).quantized8())
        let expected = Upscaler(model: model, target: .scale(2), tta: true).upscale(image).quantized8()
        let got = try ImageIO.read(contentsOf: tta)
        var worst: Float = 0
        for i in got.pixels.indices { worst = max(worst, abs(got.pixels[i] - expected.pixels[i])) }
        #expect(worst <= 1.0 / 255 + 1e-6)
        #expect(got != (try ImageIO.read(contentsOf: plain)))
    }

    /// `denoise --tta` is the library's TTA denoise of the shipped level-2 model (arcnn-q20);
    /// before, the flag existed on `upscale` only and its denoise step ignored it.
    @Test func denoiseWithTTA() throws {
        let folder = try scratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("a.png")
        let image = sampleImage(width: 30, height: 21)
        try ImageIO.write(image, to: input)
        let plain = folder.appendingPathComponent("plain.png"), tta = folder.appendingPathComponent("tta.png")
        #expect(try CLIRun.run(["denoise", input.path, "-o", plain.path, "--noise", "2", "--threads", "1"]).status == 0)
        #expect(try CLIRun.run(["denoise", input.path, "-o", tta.path, "--noise", "2", "--tta", "--threads", "1"]).status == 0)
        let expected = Denoiser(model: try ModelCatalog.load("arcnn-q20"), tta: true).denoise(image).quantized8()
        let got = try ImageIO.read(contentsOf: tta)
        #expect(got.pixels.count == expected.pixels.count)
        #expect(zip(got.pixels, expected.pixels).allSatisfy { abs($0 - $1) <= 1.0 / 255 + 1e-6 })
        #expect(got != (try ImageIO.read(contentsOf: plain)))
    }

    @Test func noiseAndStyleWithoutModels() {
        func message(_ args: [String]) -> String {
            do { _ = try EnhanceCommand.parseAsRoot(args); return "" } catch { return EnhanceCommand.message(for: error) }
        }
        // Refused while no quality-20 deblocking model is shipped (DenoiseCLITests checks the
        // refusal with the shipped models hidden); accepted once one is.
        let shipped = ModelCatalog.deblockingModel(quality: 20) != nil
        #expect(message(["upscale", "a.png", "--noise", "2"])
                == (shipped ? "" : "--noise 2: noise level 2 needs a deblocking model for JPEG quality 20 (arcnn-q20), which is not shipped yet"))
        #expect(message(["upscale", "a.png", "--noise", "auto"]) == "")  // resolved per file
        #expect(message(["upscale", "a.png", "--noise", "7"]).hasPrefix("The value '7' is invalid for '--noise"))
        #expect(message(["upscale", "a.png", "--noise", "-1", "--style", "photo"]) == "")
        #expect(message(["upscale", "a.png", "--style", "art"]) == "--style art: no art-style model is shipped yet; use --style photo")
        #expect(message(["upscale", "a.png", "--scale", "2", "--width", "100"]) == "use either --scale or --width/--height, not both")
    }
}
