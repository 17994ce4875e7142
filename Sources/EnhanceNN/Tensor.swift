/// A dense Float32 tensor: a shape and a flat, row-major storage array.
///
/// Layout convention for images and feature maps is **NCHW**: element `[n, c, y, x]` of a
/// tensor of shape `[N, C, H, W]` lives at `storage[((n * C + c) * H + y) * W + x]`.
/// Convolution weights are `[out, in, kh, kw]` (PyTorch order); transposed-convolution
/// weights are `[in, out, kh, kw]` (also PyTorch's order); biases and per-channel
/// parameters are `[C]`.
public struct Tensor: Sendable, Equatable {
    /// Extent of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// Flat row-major values; `storage.count == shape.reduce(1, *)`.
    public var storage: [Float]

    /// A tensor filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        let count = Tensor.elementCount(shape)
        self.shape = shape
        self.storage = [Float](repeating: value, count: count)
    }

    /// A tensor over existing values; `storage.count` must equal the product of `shape`.
    public init(shape: [Int], storage: [Float]) {
        let count = Tensor.elementCount(shape)
        precondition(storage.count == count,
                     "Tensor: storage has \(storage.count) elements, shape \(shape) needs \(count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor whose storage is produced by `initializer`, which must initialise every element
    /// of the buffer it is given (no zero-filling is done first).
    @inlinable
    public init(shape: [Int], uninitializedFill initializer: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let count = Tensor.elementCount(shape)
        self.init(shape: shape, storage: [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            initializer(buffer)
            initialized = count
        })
    }

    /// Product of the extents; precondition: every extent is ≥ 0.
    @inlinable
    public static func elementCount(_ shape: [Int]) -> Int {
        var count = 1
        for d in shape {
            precondition(d >= 0, "Tensor: negative extent in shape \(shape)")
            count *= d
        }
        return count
    }

    /// Number of elements.
    @inlinable public var count: Int { storage.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }

    /// Same values under a new shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    /// Reinterprets the shape in place (same element count).
    public mutating func reshape(_ newShape: [Int]) {
        let c = Tensor.elementCount(newShape)
        precondition(c == storage.count, "Tensor.reshape: \(shape) -> \(newShape) changes the element count")
        shape = newShape
    }

    /// Element at a multi-index (slow; for tests and debugging).
    public subscript(_ index: Int...) -> Float {
        get { storage[flatIndex(index)] }
        set { storage[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor: index \(index) for shape \(shape)")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "Tensor: index \(index) out of bounds for shape \(shape)")
            flat = flat * d + i
        }
        return flat
    }

    // MARK: NCHW accessors (precondition: rank 4)

    /// Batch size N of an NCHW tensor.
    public var batch: Int { precondition(rank == 4, "Tensor: expected NCHW, shape \(shape)"); return shape[0] }
    /// Channel count C of an NCHW tensor.
    public var channels: Int { precondition(rank == 4, "Tensor: expected NCHW, shape \(shape)"); return shape[1] }
    /// Height H of an NCHW tensor.
    public var height: Int { precondition(rank == 4, "Tensor: expected NCHW, shape \(shape)"); return shape[2] }
    /// Width W of an NCHW tensor.
    public var width: Int { precondition(rank == 4, "Tensor: expected NCHW, shape \(shape)"); return shape[3] }

    // MARK: Elementwise helpers

    /// Largest absolute elementwise difference (shapes must match).
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "Tensor.maxAbsDifference: shapes \(shape) and \(other.shape)")
        var m: Float = 0
        for i in 0..<storage.count { m = Swift.max(m, abs(storage[i] - other.storage[i])) }
        return m
    }

    /// `self += other` elementwise (shapes must match).
    public mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "Tensor.add: shapes \(shape) and \(other.shape)")
        let n = storage.count
        storage.withUnsafeMutableBufferPointer { a in
            other.storage.withUnsafeBufferPointer { b in
                for i in 0..<n { a[i] += b[i] }
            }
        }
    }

    /// `self *= factor` elementwise.
    public mutating func scale(by factor: Float) {
        let n = storage.count
        storage.withUnsafeMutableBufferPointer { a in
            for i in 0..<n { a[i] *= factor }
        }
    }

    /// True when every element is finite (no NaN or ±Inf).
    public var isFinite: Bool {
        storage.withUnsafeBufferPointer { p in
            for v in p where !v.isFinite { return false }
            return true
        }
    }

    /// Sum of all elements, accumulated in Double.
    public func sum() -> Double {
        storage.withUnsafeBufferPointer { p in
            var s = 0.0
            for v in p { s += Double(v) }
            return s
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = storage.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(storage.count > 8 ? ", ..." : "")])"
    }
}
