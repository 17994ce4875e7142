import Foundation

extension Image {
    /// The rectangle `x..<x+width`, `y..<y+height` of every channel, keeping the metadata.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> Image {
        precondition(x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= width && y + h <= height,
                     "crop \(w)x\(h) at (\(x), \(y)) outside the \(width)x\(height) image")
        let ch = channels
        var out = [Float](repeating: 0, count: w * h * ch)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<ch {
                    for row in 0..<h {
                        let s = (c * height + y + row) * width + x
                        let d = (c * h + row) * w
                        for i in 0..<w { dst[d + i] = src[s + i] }
                    }
                }
            }
        }
        return Image(width: w, height: h, colorModel: colorModel, pixels: out,
                     sourceBitDepth: sourceBitDepth, iccProfile: iccProfile)
    }

    /// MATLAB `modcrop(img, scale)`: the top-left part whose width and height are multiples of `scale`.
    public func modcropped(_ scale: Int) -> Image {
        precondition(scale >= 1, "modcrop scale must be at least 1, got \(scale)")
        return cropped(x: 0, y: 0, width: width - width % scale, height: height - height % scale)
    }

    /// Removes `border` pixels from every edge (the SR protocol shaves `scale` pixels before scoring).
    public func shaved(_ border: Int) -> Image {
        precondition(border >= 0 && 2 * border <= width && 2 * border <= height,
                     "cannot shave \(border) pixels from a \(width)x\(height) image")
        return cropped(x: border, y: border, width: width - 2 * border, height: height - 2 * border)
    }
}
