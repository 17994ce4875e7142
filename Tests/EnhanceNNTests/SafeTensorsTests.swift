import EnhanceNN
import Foundation
import Testing

/// Builds a safetensors byte stream from a header text and raw data bytes.
private func file(_ header: String, _ data: [UInt8] = [], length: UInt64? = nil) -> Data {
    var d = Data()
    var n = (length ?? UInt64(header.utf8.count)).littleEndian
    withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
    d.append(contentsOf: Array(header.utf8))
    d.append(contentsOf: data)
    return d
}

private func f32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}

/// The one-line message of the error thrown when decoding `data` (nil if it decodes).
private func message(_ data: Data) -> String? {
    do {
        _ = try SafeTensors.decode(data, file: "w.safetensors")
        return nil
    } catch let e as WeightFileError {
        return e.description
    } catch {
        return "unexpected error type: \(error)"
    }
}

private func entry(_ name: String, _ dtype: String, _ shape: [Int], _ b: Int, _ e: Int) -> String {
    "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(b),\(e)]}"
}

@Suite("Safetensors weight files")
struct SafeTensorsTests {
    private func smallNet() -> Sequential {
        var net = Sequential(Conv2d(inChannels: 1, outChannels: 2, kernel: 3, padding: .replicate), ReLU(),
                             Conv2d(inChannels: 2, outChannels: 1, kernel: 1))
        net.initialize(seed: 3)
        return net
    }

    @Test func roundTripThroughFile() throws {
        let net = smallNet()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nn-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.safetensors")
        let meta = ["architecture": "srcnn-9-5-5", "scale": "3", "note": "quote \" and \\ and \n newline, ünïcode"]
        try net.saveWeights(to: url, metadata: meta)

        let bytes = try Data(contentsOf: url)
        let n = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        #expect(n % 8 == 0, "header padded to 8 bytes")
        #expect(bytes.count == 8 + Int(n) + 4 * net.parameterCount)

        let f = try SafeTensors.read(contentsOf: url)
        #expect(f.metadata == meta)
        #expect(f.names == net.parameterNames)
        for (name, t) in net.namedParameters { #expect(f.tensors[name] == t) }

        var other = Sequential(Conv2d(inChannels: 1, outChannels: 2, kernel: 3, padding: .replicate), ReLU(),
                               Conv2d(inChannels: 2, outChannels: 1, kernel: 1))
        let m = try other.loadWeights(from: url)
        #expect(m == meta)
        #expect(other.parameters == net.parameters)
    }

    @Test func readsOtherFloatTypes() throws {
        // F16: 1.0, -2.5, 65504 (max), smallest subnormal; BF16: 1.0, -0.5; F64: 0.1
        let f16: [UInt16] = [0x3C00, 0xC100, 0x7BFF, 0x0001]
        let bf16: [UInt16] = [0x3F80, 0xBF00]
        var data: [UInt8] = []
        for h in f16 + bf16 { data += withUnsafeBytes(of: h.littleEndian) { Array($0) } }
        data += withUnsafeBytes(of: (0.1 as Double).bitPattern.littleEndian) { Array($0) }
        let header = "{" + [entry("h", "F16", [2, 2], 0, 8), entry("b", "BF16", [2], 8, 12), entry("d", "F64", [1], 12, 20)]
            .joined(separator: ",") + "}"
        let f = try SafeTensors.decode(file(header, data), file: "x")
        #expect(f.tensors["h"]!.storage == [1, -2.5, 65504, Float(0x1.0p-24)])
        #expect(f.tensors["h"]!.shape == [2, 2])
        #expect(f.tensors["b"]!.storage == [1, -0.5])
        #expect(f.tensors["d"]!.storage == [Float(0.1)])
        #expect(f.metadata.isEmpty)
    }

    @Test func headerLengthErrors() {
        #expect(message(Data([1, 2, 3])) == "w.safetensors: not a safetensors file: 3 bytes, need at least 8")
        #expect(message(file("{}", length: 0)) == "w.safetensors: safetensors header length is 0")
        #expect(message(file("{}  ", length: 1000)) == "w.safetensors: safetensors header length 1000 exceeds the 4 bytes after the length field")
        #expect(message(file("{}", length: 200_000_000)) == "w.safetensors: safetensors header length 200000000 exceeds the 100000000-byte limit")
        #expect(message(file("{}", length: UInt64.max)) == "w.safetensors: safetensors header length 18446744073709551615 exceeds the 100000000-byte limit")
    }

    @Test func invalidJSON() {
        #expect(message(file("{\"a\": ")) == "w.safetensors: safetensors header is not valid JSON at byte 6: unexpected end of header")
        #expect(message(file("{\"a\" 1}")) == "w.safetensors: safetensors header is not valid JSON at byte 5: expected ':'")
        #expect(message(file("[1, 2]")) == "w.safetensors: safetensors header is not a JSON object")
        #expect(message(file("{\"w\":1,\"w\":2}")) == "w.safetensors: safetensors header is not valid JSON at byte 7: duplicate key \"w\"")
        #expect(message(file("{} x")) == "w.safetensors: safetensors header is not valid JSON at byte 3: trailing characters")
        #expect(message(file(String(repeating: "[", count: 100))) == "w.safetensors: safetensors header is not valid JSON at byte 33: nesting deeper than 32")
        #expect(message(file("{\"__metadata__\":{\"scale\":2}}")) == "w.safetensors: safetensors __metadata__ value of \"scale\" is not a string")
        #expect(message(file("{\"__metadata__\":[]}")) == "w.safetensors: safetensors __metadata__ is not an object")
        // Space padding after the object is allowed.
        #expect(message(file("{}      ")) == nil)
    }

    @Test func invalidEntries() {
        #expect(message(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", [0, 0, 0, 0]))
                == "w.safetensors: tensor \"w\": shape has a dimension that is not a non-negative integer")
        #expect(message(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", [0, 0, 0, 0]))
                == "w.safetensors: tensor \"w\": data_offsets is not a pair of non-negative integers")
        #expect(message(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}")) == "w.safetensors: tensor \"w\": missing data_offsets")
        #expect(message(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", [0, 0, 0, 0]))
                == "w.safetensors: tensor \"w\": unknown field \"x\"")
        #expect(message(file("{\"w\":7}")) == "w.safetensors: tensor \"w\": entry is not an object")
    }

    @Test func unknownDType() {
        #expect(message(file("{" + entry("w", "Q8", [2], 0, 2) + "}", [0, 0]))
                == "w.safetensors: tensor \"w\": unsupported dtype \"Q8\" (F32, F16, BF16, F64 are read)")
        #expect(message(file("{" + entry("w", "I32", [1], 0, 4) + "}", [0, 0, 0, 0]))
                == "w.safetensors: tensor \"w\": unsupported dtype \"I32\" (F32, F16, BF16, F64 are read)")
    }

    @Test func offsetsAndLayout() {
        let d8 = f32Bytes([1, 2])
        #expect(message(file("{" + entry("w", "F32", [4], 0, 16) + "}", d8))
                == "w.safetensors: tensor \"w\": data_offsets [0, 16] outside the 8-byte data section")
        #expect(message(file("{" + entry("w", "F32", [2], 8, 0) + "}", d8))
                == "w.safetensors: tensor \"w\": data_offsets [8, 0] outside the 8-byte data section")
        #expect(message(file("{" + entry("w", "F32", [3], 0, 8) + "}", d8))
                == "w.safetensors: tensor \"w\": shape [3] of F32 needs 12 bytes, data_offsets span 8")
        #expect(message(file("{" + entry("w", "F32", [1 << 40, 1 << 40], 0, 8) + "}", d8))
                == "w.safetensors: tensor \"w\": shape [1099511627776, 1099511627776] of F32 is too large (byte count overflows)")
        let d12 = f32Bytes([1, 2, 3])
        #expect(message(file("{" + entry("a", "F32", [2], 0, 8) + "," + entry("b", "F32", [2], 4, 12) + "}", d12))
                == "w.safetensors: tensors \"a\" and \"b\" overlap")
        let d20 = f32Bytes([1, 2, 3, 4, 5])
        #expect(message(file("{" + entry("a", "F32", [2], 0, 8) + "," + entry("b", "F32", [2], 12, 20) + "}", d20))
                == "w.safetensors: data bytes [8, 12) belong to no tensor")
        #expect(message(file("{" + entry("a", "F32", [2], 0, 8) + "}", d12))
                == "w.safetensors: data bytes [8, 12) belong to no tensor")
        // Zero-sized tensors are fine.
        #expect(message(file("{" + entry("a", "F32", [2], 0, 8) + "," + entry("e", "F32", [0, 3], 8, 8) + "}", d8)) == nil)
    }

    @Test func nonFiniteValues() {
        #expect(message(file("{" + entry("w", "F32", [2], 0, 8) + "}", f32Bytes([1, .nan])))
                == "w.safetensors: tensor \"w\" contains NaN or Inf")
        #expect(message(file("{" + entry("w", "F16", [1], 0, 2) + "}", [0x00, 0x7C]))
                == "w.safetensors: tensor \"w\" contains NaN or Inf")
        let huge = withUnsafeBytes(of: (1e300 as Double).bitPattern.littleEndian) { Array($0) }
        #expect(message(file("{" + entry("w", "F64", [1], 0, 8) + "}", huge))
                == "w.safetensors: tensor \"w\" contains NaN or Inf")
    }

    @Test func architectureMismatch() throws {
        let net = smallNet()
        var params = Dictionary(uniqueKeysWithValues: net.namedParameters.map { ($0.name, $0.tensor) })
        var target = smallNet()

        var p = params
        p["2.weight"] = Tensor(shape: [1, 2, 3, 3])
        #expect(throws: WeightFileError(file: "m.safetensors", reason: .shapeMismatch(name: "2.weight", expected: [1, 2, 1, 1], found: [1, 2, 3, 3]))) {
            try target.load(p, file: "m.safetensors")
        }
        #expect(WeightFileError(file: "m.safetensors", reason: .shapeMismatch(name: "2.weight", expected: [1, 2, 1, 1], found: [1, 2, 3, 3])).description
                == "m.safetensors: tensor \"2.weight\" has shape [1, 2, 3, 3], the network expects [1, 2, 1, 1]")

        p = params
        p["2.bias"] = nil
        do {
            try target.load(p, file: "m.safetensors")
            Issue.record("missing tensor accepted")
        } catch let e as WeightFileError {
            #expect(e.description == "m.safetensors: missing tensor \"2.bias\" required by the network")
        }

        p = params
        p["4.weight"] = Tensor(shape: [1])
        do {
            try target.load(p, file: "m.safetensors")
            Issue.record("extra tensor accepted")
        } catch let e as WeightFileError {
            #expect(e.description == "m.safetensors: unexpected tensor \"4.weight\" not in the network")
        }

        params["0.bias"]!.storage[1] = .infinity
        do {
            try target.load(params, file: "m.safetensors")
            Issue.record("Inf accepted")
        } catch let e as WeightFileError {
            #expect(e.description == "m.safetensors: tensor \"0.bias\" contains NaN or Inf")
        }
        // A failed load leaves the network unchanged.
        #expect(target.parameters == smallNet().parameters)
    }

    @Test func unreadablePath() {
        let url = URL(fileURLWithPath: "/nonexistent-dir/none.safetensors")
        do {
            _ = try SafeTensors.read(contentsOf: url)
            Issue.record("read succeeded")
        } catch let e as WeightFileError {
            guard case .unreadable = e.reason else { Issue.record("reason \(e.reason)"); return }
            #expect(e.description.hasPrefix("/nonexistent-dir/none.safetensors: cannot read weight file ("))
            #expect(!e.description.contains("\n"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    /// Every truncation and thousands of random byte corruptions of a valid file either decode
    /// or throw a `WeightFileError`; none crashes.
    @Test func corruptionNeverCrashes() {
        let valid = SafeTensors.encode(smallNet().namedParameters, metadata: ["architecture": "test"])
        var outcomes = (ok: 0, rejected: 0)
        func attempt(_ d: Data) {
            do { _ = try SafeTensors.decode(d, file: "f"); outcomes.ok += 1 } catch is WeightFileError { outcomes.rejected += 1 } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        for n in 0..<valid.count { attempt(valid.prefix(n)) }
        var rng = SeededGenerator(seed: 11)
        let headerEnd = 8 + Int(valid.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for _ in 0..<3000 {
            var d = valid
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                // Mostly corrupt the length field and header, where parsing happens.
                let i = Int(rng.next() % UInt64(rng.next() % 4 == 0 ? d.count : headerEnd))
                d[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            attempt(d)
        }
        #expect(outcomes.rejected > 3000, "most corruptions are rejected (\(outcomes))")
        #expect(outcomes.ok > 0, "some data-only corruptions still decode (\(outcomes))")
    }
}
