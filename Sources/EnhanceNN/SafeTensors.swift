import Foundation

/// A weight file that cannot be used, with the file and the reason. `description` is one line.
public struct WeightFileError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public enum Reason: Equatable, Sendable {
        case unreadable(String)
        case tooShort(bytes: Int)
        case headerLengthZero
        case headerTooLarge(length: UInt64, limit: Int)
        case headerBeyondFile(length: UInt64, available: Int)
        case invalidJSON(offset: Int, message: String)
        case notAnObject
        case invalidMetadata(String)
        case invalidEntry(name: String, problem: String)
        case unsupportedDType(name: String, dtype: String)
        case offsetsOutsideData(name: String, begin: Int, end: Int, dataBytes: Int)
        /// `expected` is −1 when the byte count overflows.
        case sizeMismatch(name: String, shape: [Int], dtype: String, expected: Int, span: Int)
        case overlap(first: String, second: String)
        case gap(begin: Int, end: Int)
        case nonFinite(String)
        case missingTensor(String)
        case unexpectedTensor(String)
        case shapeMismatch(name: String, expected: [Int], found: [Int])
        case writeFailed(String)
    }

    /// File path (or a label for in-memory data).
    public let file: String
    public let reason: Reason

    public init(file: String, reason: Reason) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reasonText)" }
    public var errorDescription: String? { description }

    private var reasonText: String {
        switch reason {
        case .unreadable(let why): return "cannot read weight file (\(why))"
        case .tooShort(let n): return "not a safetensors file: \(n) bytes, need at least 8"
        case .headerLengthZero: return "safetensors header length is 0"
        case .headerTooLarge(let len, let limit): return "safetensors header length \(len) exceeds the \(limit)-byte limit"
        case .headerBeyondFile(let len, let avail): return "safetensors header length \(len) exceeds the \(avail) bytes after the length field"
        case .invalidJSON(let off, let msg): return "safetensors header is not valid JSON at byte \(off): \(msg)"
        case .notAnObject: return "safetensors header is not a JSON object"
        case .invalidMetadata(let why): return "safetensors __metadata__ \(why)"
        case .invalidEntry(let name, let problem): return "tensor \"\(name)\": \(problem)"
        case .unsupportedDType(let name, let d): return "tensor \"\(name)\": unsupported dtype \"\(d)\" (F32, F16, BF16, F64 are read)"
        case .offsetsOutsideData(let name, let b, let e, let n):
            return "tensor \"\(name)\": data_offsets [\(b), \(e)] outside the \(n)-byte data section"
        case .sizeMismatch(let name, let shape, let d, let expected, let span):
            if expected < 0 { return "tensor \"\(name)\": shape \(shape) of \(d) is too large (byte count overflows)" }
            return "tensor \"\(name)\": shape \(shape) of \(d) needs \(expected) bytes, data_offsets span \(span)"
        case .overlap(let a, let b): return "tensors \"\(a)\" and \"\(b)\" overlap"
        case .gap(let b, let e): return "data bytes [\(b), \(e)) belong to no tensor"
        case .nonFinite(let name): return "tensor \"\(name)\" contains NaN or Inf"
        case .missingTensor(let name): return "missing tensor \"\(name)\" required by the network"
        case .unexpectedTensor(let name): return "unexpected tensor \"\(name)\" not in the network"
        case .shapeMismatch(let name, let e, let f): return "tensor \"\(name)\" has shape \(f), the network expects \(e)"
        case .writeFailed(let why): return "cannot write weight file (\(why))"
        }
    }
}

/// Tensors and string metadata read from a safetensors file.
public struct SafeTensorsFile: Sendable {
    /// Tensor names in file (offset) order.
    public var names: [String]
    /// All tensors, converted to Float32.
    public var tensors: [String: Tensor]
    /// The `__metadata__` map (empty when absent).
    public var metadata: [String: String]

    public init(names: [String], tensors: [String: Tensor], metadata: [String: String]) {
        self.names = names
        self.tensors = tensors
        self.metadata = metadata
    }
}

/// Reader and writer for the safetensors format
/// (<https://github.com/huggingface/safetensors>):
///
/// ```
/// [8 bytes: N, little-endian UInt64][N bytes: JSON header, UTF-8, space-padded][data section]
/// header = {"__metadata__": {string: string}, name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
/// ```
/// Offsets are relative to the data section; every byte of it belongs to exactly one tensor.
/// Data is little-endian, row-major. Writing produces F32; reading accepts F32, F16, BF16 and F64.
/// Files are untrusted: every inconsistency is a `WeightFileError`, never a crash.
public enum SafeTensors {
    /// Default limit on the JSON header (100 MB).
    public static let defaultMaxHeaderBytes = 100_000_000

    // MARK: Writing

    /// Serialises tensors (in the given order) as F32 with `metadata` in `__metadata__`.
    public static func encode(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:]) -> Data {
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(JSONLite.quote($0)):\(JSONLite.quote(metadata[$0]!))" }
            parts.append("\"__metadata__\":{" + m.joined(separator: ",") + "}")
        }
        var offset = 0
        var seen = Set<String>()
        for (name, t) in tensors {
            precondition(name != "__metadata__" && seen.insert(name).inserted, "SafeTensors.encode: bad or duplicate name \(name)")
            let bytes = t.count * 4
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(JSONLite.quote(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var data = Data(capacity: 8 + headerBytes.count + offset)
        var len = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &len) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for (_, t) in tensors {
            t.storage.withUnsafeBufferPointer { p in
                for v in p {
                    var bits = v.bitPattern.littleEndian
                    withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
                }
            }
        }
        return data
    }

    /// Writes atomically (temporary file, then rename).
    public static func write(_ tensors: [(name: String, tensor: Tensor)], metadata: [String: String] = [:], to url: URL) throws {
        do {
            try encode(tensors, metadata: metadata).write(to: url, options: .atomic)
        } catch {
            throw WeightFileError(file: url.path, reason: .writeFailed(error.localizedDescription))
        }
    }

    // MARK: Reading

    /// Reads and validates a file.
    public static func read(contentsOf url: URL, maxHeaderBytes: Int = defaultMaxHeaderBytes) throws -> SafeTensorsFile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw WeightFileError(file: url.path, reason: .unreadable(error.localizedDescription))
        }
        return try decode(data, file: url.path, maxHeaderBytes: maxHeaderBytes)
    }

    private static func dtypeSize(_ d: String) -> Int? {
        switch d {
        case "F32": return 4
        case "F16", "BF16": return 2
        case "F64": return 8
        default: return nil
        }
    }

    private struct Entry {
        let name: String
        let dtype: String
        let shape: [Int]
        let begin: Int
        let end: Int
    }

    /// Parses and validates in-memory file contents; `file` names the source in errors.
    public static func decode(_ data: Data, file: String, maxHeaderBytes: Int = defaultMaxHeaderBytes) throws -> SafeTensorsFile {
        func err(_ r: WeightFileError.Reason) -> WeightFileError { WeightFileError(file: file, reason: r) }
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> SafeTensorsFile in
            guard raw.count >= 8 else { throw err(.tooShort(bytes: raw.count)) }
            let n = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            guard n > 0 else { throw err(.headerLengthZero) }
            guard n <= UInt64(maxHeaderBytes) else { throw err(.headerTooLarge(length: n, limit: maxHeaderBytes)) }
            guard n <= UInt64(raw.count - 8) else { throw err(.headerBeyondFile(length: n, available: raw.count - 8)) }
            let headerLength = Int(n)
            let json: JSONLite
            do {
                json = try JSONLite.parse(UnsafeRawBufferPointer(rebasing: raw[8..<(8 + headerLength)]))
            } catch let e as JSONLite.ParseError {
                throw err(.invalidJSON(offset: e.offset, message: e.message))
            }
            guard case .object(let members) = json else { throw err(.notAnObject) }
            let dataStart = 8 + headerLength
            let dataBytes = raw.count - dataStart

            var metadata: [String: String] = [:]
            var entries: [Entry] = []
            for (name, value) in members {
                if name == "__metadata__" {
                    guard case .object(let kv) = value else { throw err(.invalidMetadata("is not an object")) }
                    for (k, v) in kv {
                        guard case .string(let s) = v else { throw err(.invalidMetadata("value of \"\(k)\" is not a string")) }
                        metadata[k] = s
                    }
                    continue
                }
                entries.append(try parseEntry(name: name, value: value, dataBytes: dataBytes, err: err))
            }

            // Every data byte belongs to exactly one tensor.
            let sorted = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
            var covered = 0
            var previous: Entry? = nil
            for e in sorted {
                if e.begin < covered, let p = previous { throw err(.overlap(first: p.name, second: e.name)) }
                if e.begin > covered { throw err(.gap(begin: covered, end: e.begin)) }
                if e.end >= covered { previous = e }
                covered = max(covered, e.end)
            }
            if covered < dataBytes { throw err(.gap(begin: covered, end: dataBytes)) }

            var tensors: [String: Tensor] = [:]
            let base = raw.baseAddress! + dataStart
            for e in sorted {
                let count = Tensor.elementCount(e.shape)
                let src = base + e.begin
                let t = Tensor(shape: e.shape) { out in
                    switch e.dtype {
                    case "F32":
                        for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                    case "F64":
                        for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
                    case "BF16":
                        for i in 0..<count {
                            let h = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                            out[i] = Float(bitPattern: UInt32(h) << 16)
                        }
                    default: // F16
                        for i in 0..<count {
                            out[i] = halfToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                        }
                    }
                }
                guard t.isFinite else { throw err(.nonFinite(e.name)) }
                tensors[e.name] = t
            }
            return SafeTensorsFile(names: sorted.map(\.name), tensors: tensors, metadata: metadata)
        }
    }

    private static func parseEntry(name: String, value: JSONLite, dataBytes: Int,
                                   err: (WeightFileError.Reason) -> WeightFileError) throws -> Entry {
        func bad(_ problem: String) -> WeightFileError { err(.invalidEntry(name: name, problem: problem)) }
        guard !name.isEmpty else { throw bad("empty tensor name") }
        guard case .object(let fields) = value else { throw bad("entry is not an object") }
        var dtype: String? = nil, shape: [Int]? = nil, offsets: [Int]? = nil
        for (k, v) in fields {
            switch k {
            case "dtype":
                guard case .string(let s) = v else { throw bad("dtype is not a string") }
                dtype = s
            case "shape":
                guard case .array(let dims) = v else { throw bad("shape is not an array") }
                var s: [Int] = []
                for d in dims {
                    guard let x = d.integer, x >= 0 else { throw bad("shape has a dimension that is not a non-negative integer") }
                    s.append(x)
                }
                shape = s
            case "data_offsets":
                guard case .array(let items) = v, items.count == 2,
                      let b = items[0].integer, let e = items[1].integer, b >= 0, e >= 0 else {
                    throw bad("data_offsets is not a pair of non-negative integers")
                }
                offsets = [b, e]
            default:
                throw bad("unknown field \"\(k)\"")
            }
        }
        guard let dtype else { throw bad("missing dtype") }
        guard let shape else { throw bad("missing shape") }
        guard let offsets else { throw bad("missing data_offsets") }
        guard let size = dtypeSize(dtype) else { throw err(.unsupportedDType(name: name, dtype: dtype)) }
        let (b, e) = (offsets[0], offsets[1])
        guard b <= e, e <= dataBytes else {
            throw err(.offsetsOutsideData(name: name, begin: b, end: e, dataBytes: dataBytes))
        }
        var bytes = size, overflow = false
        for d in shape {
            let r = bytes.multipliedReportingOverflow(by: d)
            bytes = r.partialValue
            overflow = overflow || r.overflow
        }
        guard !overflow, bytes == e - b else {
            throw err(.sizeMismatch(name: name, shape: shape, dtype: dtype, expected: overflow ? -1 : bytes, span: e - b))
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: b, end: e)
    }

    /// IEEE 754 binary16 → binary32 (exact, including subnormals, Inf and NaN).
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int(h >> 10) & 0x1F
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            // ±0 or subnormal: mant · 2^-24
            let v = Float(mant) * 0x1.0p-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
    }
}

extension Sequential {
    /// Writes every parameter (names as `parameterNames`) with `metadata` to a safetensors file.
    public func saveWeights(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(namedParameters, metadata: metadata, to: url)
    }

    /// Loads parameters from a safetensors file, checking names, shapes and values;
    /// returns the file's metadata.
    @discardableResult
    public mutating func loadWeights(from url: URL) throws -> [String: String] {
        let f = try SafeTensors.read(contentsOf: url)
        try load(f.tensors, file: url.path)
        return f.metadata
    }
}
