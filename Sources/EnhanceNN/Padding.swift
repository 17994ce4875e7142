/// Border handling of `Conv2d`.
public enum Padding: String, Sendable, Equatable, CaseIterable {
    /// No padding: the output shrinks by kernel − 1 (SRCNN training, the paper's "valid").
    case valid
    /// (k−1)/2 zeros on each side: same size at stride 1.
    case zero
    /// (k−1)/2 copies of the edge pixel on each side: same size at stride 1 (SRCNN inference).
    case replicate
}

/// Pads every H×W plane of an NCHW tensor by `pad` on each side (zeros or edge copies).
public func padPlanes(_ x: Tensor, pad: Int, mode: Padding, threads: Int) -> Tensor {
    let (n, c, h, w) = nchw(x.shape, "pad")
    let ph = h + 2 * pad, pw = w + 2 * pad
    let planes = n * c
    return Tensor(shape: [n, c, ph, pw]) { out in
        x.storage.withUnsafeBufferPointer { inp in
            let src = SendableConstPointer(inp.baseAddress!), dst = SendablePointer(out.baseAddress!)
            Parallel.forEach(planes, threads: planes * ph * pw >= 1 << 18 ? threads : 1) { p in
                let s = src.pointer + p * h * w, d = dst.pointer + p * ph * pw
                for y in 0..<ph {
                    let row = d + y * pw
                    let sy = y - pad
                    if mode == .zero && (sy < 0 || sy >= h) {
                        row.initialize(repeating: 0, count: pw)
                        continue
                    }
                    let srow = s + min(max(sy, 0), h - 1) * w
                    let left: Float = mode == .zero ? 0 : srow[0]
                    let right: Float = mode == .zero ? 0 : srow[w - 1]
                    row.initialize(repeating: left, count: pad)
                    (row + pad).initialize(from: srow, count: w)
                    (row + pad + w).initialize(repeating: right, count: pad)
                }
            }
        }
    }
}

/// Adjoint of `padPlanes`: maps the gradient with respect to the padded tensor back to the
/// unpadded one (a crop for zero padding; edge gradients summed into the border for replicate).
func unpadPlanesGradient(_ g: Tensor, pad: Int, mode: Padding) -> Tensor {
    let (n, c, ph, pw) = nchw(g.shape, "unpad")
    let h = ph - 2 * pad, w = pw - 2 * pad
    let planes = n * c
    var out = Tensor(shape: [n, c, h, w])
    out.storage.withUnsafeMutableBufferPointer { outp in
        g.storage.withUnsafeBufferPointer { gp in
            let src = gp.baseAddress!, dst = outp.baseAddress!
            for p in 0..<planes {
                let s = src + p * ph * pw, d = dst + p * h * w
                if mode == .zero {
                    for y in 0..<h {
                        (d + y * w).update(from: s + (y + pad) * pw + pad, count: w)
                    }
                } else {
                    for py in 0..<ph {
                        let y = min(max(py - pad, 0), h - 1)
                        let srow = s + py * pw, drow = d + y * w
                        for px in 0..<pad { drow[0] += srow[px] }
                        for x in 0..<w { drow[x] += srow[x + pad] }
                        for px in (pad + w)..<pw { drow[w - 1] += srow[px] }
                    }
                }
            }
        }
    }
    return out
}
