import EnhanceModels
import EnhanceNN

/// Runs a model over one plane, whole or in tiles, with identical results either way.
///
/// Every tile of the input is cut together with ``Architecture/contextPadding`` pixels of
/// context on each side (edge-replicated beyond the image), pushed through the inference
/// network (valid convolutions), and the output is cropped by ``Architecture/outputOffset``.
/// Each output pixel therefore sees exactly the same input values whatever the tiling.
public struct PlaneInference: Sendable {
    public let architecture: Architecture
    public let network: Sequential
    public let context: ComputeContext

    public init(model: Model, context: ComputeContext = .default) {
        self.architecture = model.info.architecture
        self.network = model.inferenceNetwork
        self.context = context
    }

    /// Output size for an input plane.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        (width * architecture.networkScale, height * architecture.networkScale)
    }

    /// Smallest tile side accepted: tiles smaller than the context would spend almost all
    /// work on overlap.
    public var minimumTile: Int { max(8, architecture.contextPadding) }

    /// Runs the network over a `width`×`height` plane (row-major). `tile` is the side of the
    /// square input tiles (nil: the whole plane at once). `progress(done, total)` after each tile.
    public func run(_ plane: [Float], width: Int, height: Int, tile: Int? = nil,
                    progress: (Int, Int) -> Void = { _, _ in }) -> [Float] {
        precondition(plane.count == width * height, "PlaneInference: plane has \(plane.count) samples, expected \(width)x\(height)")
        let t = tile ?? max(width, height)
        precondition(t >= 1, "PlaneInference: tile must be ≥ 1, got \(t)")
        let s = architecture.networkScale
        let outW = width * s, outH = height * s
        var out = [Float](repeating: 0, count: outW * outH)
        let tilesX = (width + t - 1) / t, tilesY = (height + t - 1) / t
        var done = 0
        for ty in 0..<tilesY {
            for tx in 0..<tilesX {
                let y0 = ty * t, x0 = tx * t
                let th = min(t, height - y0), tw = min(t, width - x0)
                let result = runTile(plane, width: width, height: height, y0: y0, x0: x0, th: th, tw: tw)
                // Copy the tile's output into place.
                let rowLength = tw * s
                out.withUnsafeMutableBufferPointer { dst in
                    result.withUnsafeBufferPointer { src in
                        for r in 0..<(th * s) {
                            (dst.baseAddress! + (y0 * s + r) * outW + x0 * s)
                                .update(from: src.baseAddress! + r * rowLength, count: rowLength)
                        }
                    }
                }
                done += 1
                progress(done, tilesX * tilesY)
            }
        }
        return out
    }

    /// Output of one tile, `(th·s) × (tw·s)` row-major.
    func runTile(_ plane: [Float], width: Int, height: Int, y0: Int, x0: Int, th: Int, tw: Int) -> [Float] {
        let p = architecture.contextPadding
        let ih = th + 2 * p, iw = tw + 2 * p
        let input = Tensor(shape: [1, 1, ih, iw]) { buf in
            plane.withUnsafeBufferPointer { src in
                for r in 0..<ih {
                    let sy = min(max(y0 - p + r, 0), height - 1)
                    let row = src.baseAddress! + sy * width
                    for c in 0..<iw {
                        buf[r * iw + c] = row[min(max(x0 - p + c, 0), width - 1)]
                    }
                }
            }
        }
        let y = network.forward(input, context: context)
        let oh = y.shape[2], ow = y.shape[3]
        let s = architecture.networkScale, off = architecture.outputOffset
        let keepH = th * s, keepW = tw * s
        precondition(off + keepH <= oh && off + keepW <= ow,
                     "PlaneInference: network output \(ow)x\(oh) too small for offset \(off) + \(keepW)x\(keepH)")
        if off == 0 && keepH == oh && keepW == ow { return y.storage }
        var kept = [Float](repeating: 0, count: keepH * keepW)
        y.storage.withUnsafeBufferPointer { src in
            kept.withUnsafeMutableBufferPointer { dst in
                for r in 0..<keepH {
                    (dst.baseAddress! + r * keepW).update(from: src.baseAddress! + (off + r) * ow + off, count: keepW)
                }
            }
        }
        return kept
    }
}
