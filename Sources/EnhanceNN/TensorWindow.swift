extension Tensor {
    /// The `size`×`size` window at (`offset`, `offset`) of every plane of an NCHW tensor (how the
    /// trainer compares a network's output with a smaller label).
    public func window(offset: Int, size: Int) -> Tensor {
        let planes = shape[0] * shape[1], h = shape[2], w = shape[3]
        precondition(offset >= 0 && offset + size <= h && offset + size <= w, "window \(offset)+\(size) outside \(h)x\(w)")
        return Tensor(shape: [shape[0], shape[1], size, size]) { out in
            storage.withUnsafeBufferPointer { src in
                for p in 0..<planes {
                    for r in 0..<size {
                        (out.baseAddress! + (p * size + r) * size)
                            .initialize(from: src.baseAddress! + (p * h + offset + r) * w + offset, count: size)
                    }
                }
            }
        }
    }

    /// Adjoint of ``window(offset:size:)``: this tensor's planes placed at (`offset`, `offset`)
    /// in zeros of `shape`.
    public func placed(in shape: [Int], offset: Int) -> Tensor {
        let size = self.shape[3], h = shape[2], w = shape[3], planes = shape[0] * shape[1]
        precondition(offset >= 0 && offset + size <= h && offset + size <= w, "placing \(size) at \(offset) outside \(h)x\(w)")
        var out = Tensor(shape: shape)
        out.storage.withUnsafeMutableBufferPointer { dst in
            storage.withUnsafeBufferPointer { src in
                for p in 0..<planes {
                    for r in 0..<size {
                        (dst.baseAddress! + (p * h + offset + r) * w + offset)
                            .update(from: src.baseAddress! + (p * size + r) * size, count: size)
                    }
                }
            }
        }
        return out
    }
}
