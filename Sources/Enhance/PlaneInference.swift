import EnhanceModels
import EnhanceNN

/// Runs a model over one plane, whole or in tiles, with identical results either way.
///
/// Every tile of the input is cut together with ``Architecture/contextPadding`` pixels of
/// context on each side (edge-replicated beyond the image), pushed through the inference
/// network (valid convolutions), and the output is cropped by ``Architecture/outputOffset``.
/// Each output pixel therefore sees exactly the same input values whatever the tiling: tiles
/// may be any rectangles, and a band of rows may be computed on its own (``runBand``).
///
/// Planes are row-major `Float`, `width` samples per row. Coordinates are those of the
/// network's input (the low-resolution plane for FSRCNN, the bicubic-upscaled one for SRCNN).
public struct PlaneInference: Sendable {
    public let architecture: Architecture
    public let network: Sequential
    public let context: ComputeContext

    public init(model: Model, context: ComputeContext = .default) {
        self.architecture = model.info.architecture
        self.network = model.network
        self.context = context
    }

    /// Output size for an input plane.
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        (width * architecture.networkScale, height * architecture.networkScale)
    }

    /// Smallest tile side accepted: tiles smaller than the context would spend almost all
    /// work on overlap.
    public var minimumTile: Int { max(8, architecture.contextPadding) }

    /// Estimated working memory, in bytes, per pixel of a context-padded input tile: the
    /// largest input + output feature maps of one layer (the network runs layer by layer and
    /// frees each input), plus the `scale²` output samples (uncropped, cropped, copied).
    public var bytesPerTilePixel: Int {
        let s = architecture.networkScale
        return 4 * (architecture.largestLayerPair + 3 * s * s)
    }

    /// Fixed working memory of one tile besides the feature maps (convolution scratch), bytes.
    public static let tileOverheadBytes = 8 << 20

    /// Largest tile area (context-padded, in network-input pixels) within `bytes` of working memory.
    public func tilePixels(memoryBudget bytes: Int) -> Int {
        max(minimumTile * minimumTile, (bytes - PlaneInference.tileOverheadBytes) / bytesPerTilePixel)
    }

    /// Whether flipping a context-padded tile gives the tile of the flipped plane: true for
    /// networks without strided layers (tiles on a 1-pixel grid).
    public var tileTTAIsExact: Bool { architecture.tileAlignment == 1 }

    /// Number of tiles ``runBand`` uses for a band of `rows` rows of a `width`-wide plane.
    public func tileCount(width: Int, tileWidth: Int) -> Int {
        (width + tileWidth - 1) / max(1, tileWidth)
    }

    /// Runs the network over a `width`×`height` plane (row-major). `tile` is the side of the
    /// square input tiles (nil: the whole plane at once). With `tta`, the result is the mean of
    /// the 8 flips/rotations: per tile (see ``runTile``) when the network is shift-equivariant,
    /// else (stride-2 Fast AR-CNN, whose sampling grid a flipped tile would move) per plane.
    /// Either way it equals averaging whole-image inference on the 8 transformed planes.
    /// `progress(done, total)` after each tile.
    public func run(_ plane: [Float], width: Int, height: Int, tile: Int? = nil, tta: Bool = false,
                    progress: (Int, Int) -> Void = { _, _ in }) -> [Float] {
        precondition(plane.count == width * height, "PlaneInference: plane has \(plane.count) samples, expected \(width)x\(height)")
        if tta && !tileTTAIsExact {
            let s = architecture.networkScale
            var done = 0
            return Dihedral.mean(height: height * s, width: width * s) { d in
                let (h, w) = d.transposes ? (width, height) : (height, width)
                var tiles = 0
                let y = run(d.apply(plane, height: height, width: width), width: w, height: h, tile: tile) { n, total in
                    tiles = total
                    progress(done + n, 8 * total)
                }
                done += tiles
                return y
            }
        }
        let a = architecture.tileAlignment
        // Tiles start on multiples of the alignment (stride-2 networks keep the whole-image grid).
        let t = tile.map { max(a, $0 / a * a) } ?? max(width, height)
        precondition(t >= 1, "PlaneInference: tile must be ≥ 1, got \(t)")
        let s = architecture.networkScale
        let outW = width * s
        var out = [Float](repeating: 0, count: outW * height * s)
        let tilesY = (height + t - 1) / t
        let total = tilesY * tileCount(width: width, tileWidth: t)
        var done = 0
        for ty in 0..<tilesY {
            let rows = (ty * t)..<min(height, (ty + 1) * t)
            let band = runBand(rows: rows, width: width, height: height, tileWidth: t, tta: tta, fetch: { r in
                Array(plane[(r.lowerBound * width)..<(r.upperBound * width)])
            }, tileDone: { done += 1; progress(done, total) })
            out.withUnsafeMutableBufferPointer { dst in
                band.withUnsafeBufferPointer { src in
                    (dst.baseAddress! + rows.lowerBound * s * outW).update(from: src.baseAddress!, count: src.count)
                }
            }
        }
        return out
    }

    /// Input rows a band of rows needs: the band with ``Architecture/contextPadding`` rows of
    /// context on each side, clipped to the plane (rows beyond it are edge-replicated).
    public func contextRows(for rows: Range<Int>, height: Int) -> Range<Int> {
        let p = architecture.contextPadding
        return max(0, rows.lowerBound - p)..<min(height, rows.upperBound + p)
    }

    /// The network output for input rows `rows` of a `width`×`height` plane:
    /// `(rows.count·s) × (width·s)` samples. The input is read once through `fetch(range)`
    /// (`range` = ``contextRows(for:height:)``, returning `range.count × width` samples) and
    /// cut into tiles `rows.count` high and `tileWidth` wide. `tileDone()` after each tile.
    public func runBand(rows: Range<Int>, width: Int, height: Int, tileWidth: Int, tta: Bool = false,
                        fetch: (Range<Int>) -> [Float], tileDone: () -> Void = {}) -> [Float] {
        precondition(!tta || tileTTAIsExact,
                     "PlaneInference: \(architecture.familyName) averages flips over whole planes only (run(tta:)), not per band")
        precondition(rows.lowerBound >= 0 && rows.upperBound <= height && !rows.isEmpty,
                     "PlaneInference: band \(rows) outside 0..<\(height)")
        precondition(tileWidth >= 1, "PlaneInference: tile width must be ≥ 1, got \(tileWidth)")
        let a = architecture.tileAlignment
        precondition(rows.lowerBound % a == 0 && (tileWidth % a == 0 || tileWidth >= width),
                     "PlaneInference: \(architecture.familyName) needs bands and tiles on multiples of \(a), got rows \(rows), tile width \(tileWidth)")
        let window = contextRows(for: rows, height: height)
        let input = fetch(window)
        precondition(input.count == window.count * width,
                     "PlaneInference: fetched \(input.count) samples for rows \(window) of width \(width)")
        let s = architecture.networkScale, p = architecture.contextPadding
        let th = rows.count, outW = width * s
        var out = [Float](repeating: 0, count: th * s * outW)
        var x0 = 0
        while x0 < width {
            let tw = min(tileWidth, width - x0)
            let ih = th + 2 * p, iw = tw + 2 * p
            // The context-padded tile, edge-replicated beyond the plane.
            let padded = [Float](unsafeUninitializedCapacity: ih * iw) { buf, count in
                input.withUnsafeBufferPointer { src in
                    for r in 0..<ih {
                        let sy = min(max(rows.lowerBound - p + r, 0), height - 1) - window.lowerBound
                        let row = src.baseAddress! + sy * width
                        let dst = buf.baseAddress! + r * iw
                        for c in 0..<iw { dst[c] = row[min(max(x0 - p + c, 0), width - 1)] }
                    }
                }
                count = ih * iw
            }
            let result = runTile(padded, height: th, width: tw, tta: tta)
            let rowLength = tw * s
            out.withUnsafeMutableBufferPointer { dst in
                result.withUnsafeBufferPointer { src in
                    for r in 0..<(th * s) {
                        (dst.baseAddress! + r * outW + x0 * s).update(from: src.baseAddress! + r * rowLength, count: rowLength)
                    }
                }
            }
            tileDone()
            x0 += tw
        }
        return out
    }

    /// Output of one tile, `(th·s) × (tw·s)` row-major, from its context-padded input
    /// (`(th + 2p) × (tw + 2p)`).
    ///
    /// With `tta` the result is the mean, in transform order 0...7, of `T⁻¹(f(T(tile)))` over the
    /// 8 dihedral transforms `T` (``Dihedral``). Because context padding is symmetric and edge
    /// replication commutes with flips and transposition, this equals averaging whole-image
    /// inference on the 8 transformed images.
    public func runTile(_ padded: [Float], height th: Int, width tw: Int, tta: Bool = false) -> [Float] {
        let p = architecture.contextPadding
        let ih = th + 2 * p, iw = tw + 2 * p
        precondition(padded.count == ih * iw, "PlaneInference: padded tile has \(padded.count) samples, expected \(iw)x\(ih)")
        guard tta else { return forwardCropped(padded, ih: ih, iw: iw, th: th, tw: tw) }
        let s = architecture.networkScale
        return Dihedral.mean(height: th * s, width: tw * s) { d in
            let t = d.apply(padded, height: ih, width: iw)
            let (tih, tiw) = d.transposes ? (iw, ih) : (ih, iw)
            let (tth, ttw) = d.transposes ? (tw, th) : (th, tw)
            return forwardCropped(t, ih: tih, iw: tiw, th: tth, tw: ttw)
        }
    }

    /// Network output of a padded `ih × iw` tile, cropped to the `(th·s) × (tw·s)` kept samples.
    private func forwardCropped(_ padded: [Float], ih: Int, iw: Int, th: Int, tw: Int) -> [Float] {
        let y = network.forward(Tensor(shape: [1, 1, ih, iw], storage: padded), context: context)
        let oh = y.shape[2], ow = y.shape[3]
        let s = architecture.networkScale, off = architecture.outputOffset
        let keepH = th * s, keepW = tw * s
        precondition(off + keepH <= oh && off + keepW <= ow,
                     "PlaneInference: network output \(ow)x\(oh) too small for offset \(off) + \(keepW)x\(keepH)")
        if off == 0 && keepH == oh && keepW == ow { return y.storage }
        return [Float](unsafeUninitializedCapacity: keepH * keepW) { dst, count in
            y.storage.withUnsafeBufferPointer { src in
                for r in 0..<keepH {
                    (dst.baseAddress! + r * keepW).update(from: src.baseAddress! + (off + r) * ow + off, count: keepW)
                }
            }
            count = keepH * keepW
        }
    }
}

/// One of the 8 flips/rotations of a rectangle (the dihedral group of the square).
///
/// Transform `k` (0...7): output sample `(y, x)` is input sample `(u, v)` where
/// `(u, v) = transposes ? (x, y) : (y, x)`, then `u` is mirrored when `k & 2` and `v` when
/// `k & 1`. Transform 0 is the identity; 4...7 swap width and height.
public struct Dihedral: Sendable, Equatable {
    public let k: Int
    public init(_ k: Int) {
        precondition((0..<8).contains(k), "Dihedral: transform must be 0...7, got \(k)")
        self.k = k
    }
    public var transposes: Bool { k & 4 != 0 }

    /// `T(a)` for a row-major `height × width` array; the result is `width × height` when transposing.
    public func apply(_ a: [Float], height h: Int, width w: Int) -> [Float] {
        precondition(a.count == h * w, "Dihedral: \(a.count) samples for \(w)x\(h)")
        let (oh, ow) = transposes ? (w, h) : (h, w)
        let fu = k & 2 != 0, fv = k & 1 != 0, tr = transposes
        return [Float](unsafeUninitializedCapacity: a.count) { dst, count in
            a.withUnsafeBufferPointer { src in
                for y in 0..<oh {
                    for x in 0..<ow {
                        var u = tr ? x : y, v = tr ? y : x
                        if fu { u = h - 1 - u }
                        if fv { v = w - 1 - v }
                        dst[y * ow + x] = src[u * w + v]
                    }
                }
            }
            count = a.count
        }
    }

    /// The mean, in transform order 0...7, of `T⁻¹(result(T))`: `result(T)` is the output for
    /// transform `T`, `height × width` in the original orientation (`width × height` when `T`
    /// transposes). Test-time augmentation of a tile or of a whole plane.
    public static func mean(height: Int, width: Int, _ result: (Dihedral) -> [Float]) -> [Float] {
        var sum = [Float](repeating: 0, count: height * width)
        for k in 0..<8 {
            let d = Dihedral(k)
            d.accumulateInverse(result(d), height: height, width: width, into: &sum)
        }
        for i in sum.indices { sum[i] /= 8 }
        return sum
    }

    /// Adds `T⁻¹(b)` to `sum`, a row-major `height × width` array; `b` is `T` of such an array.
    public func accumulateInverse(_ b: [Float], height h: Int, width w: Int, into sum: inout [Float]) {
        precondition(b.count == h * w && sum.count == h * w, "Dihedral: \(b.count) and \(sum.count) samples for \(w)x\(h)")
        let (oh, ow) = transposes ? (w, h) : (h, w)
        let fu = k & 2 != 0, fv = k & 1 != 0, tr = transposes
        b.withUnsafeBufferPointer { src in
            sum.withUnsafeMutableBufferPointer { dst in
                for y in 0..<oh {
                    for x in 0..<ow {
                        var u = tr ? x : y, v = tr ? y : x
                        if fu { u = h - 1 - u }
                        if fv { v = w - 1 - v }
                        dst[u * w + v] += src[y * ow + x]
                    }
                }
            }
        }
    }
}

extension Architecture {
    /// Largest sum of input and output channels of one layer (feature maps alive at once).
    var largestLayerPair: Int {
        switch self {
        case let .srcnn(_, _, _, n1, n2, c): max(c + n1, n1 + n2, n2 + c)
        case let .fsrcnn(d, s, _, _): max(1 + d, d + s, 2 * s, s + d, d + 1)
        case let .arcnn(_, _, _, _, n1, n2, n3): max(1 + n1, n1 + n2, n2 + n3, n3 + 1)
        case .fastArcnn: 1 + 64
        case let .enhanceNet(c, _, scale): max(1 + c, 2 * c, c + scale * scale)
        }
    }
}
