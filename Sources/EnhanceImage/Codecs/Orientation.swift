extension Image {
    /// The image as it should be displayed when a file stores it with EXIF orientation `orientation`.
    ///
    /// Stored image `W x H`; for 5...8 the result is `H x W`. Output sample `(x', y')` comes from stored
    /// `(sx, sy)`: 1 `(x', y')`; 2 mirror `(W-1-x', y')`; 3 rotate 180 `(W-1-x', H-1-y')`; 4 flip
    /// `(x', H-1-y')`; 5 transpose `(y', x')`; 6 rotate 90 clockwise `(y', H-1-x')`; 7 transverse
    /// `(W-1-y', H-1-x')`; 8 rotate 90 anticlockwise `(W-1-y', x')`.
    public func oriented(exif orientation: Int) -> Image {
        precondition((1...8).contains(orientation), "EXIF orientation must be 1...8, got \(orientation)")
        if orientation == 1 { return self }
        let w = width, h = height
        let swap = orientation >= 5
        let ow = swap ? h : w, oh = swap ? w : h
        let n = w * h
        // Source index = base + x' * dx + y' * dy, per orientation.
        let base: Int, dx: Int, dy: Int
        switch orientation {
        case 2: (base, dx, dy) = (w - 1, -1, w)
        case 3: (base, dx, dy) = ((h - 1) * w + w - 1, -1, -w)
        case 4: (base, dx, dy) = ((h - 1) * w, 1, -w)
        case 5: (base, dx, dy) = (0, w, 1)
        case 6: (base, dx, dy) = ((h - 1) * w, -w, 1)
        case 7: (base, dx, dy) = ((h - 1) * w + w - 1, -w, -1)
        default: (base, dx, dy) = (w - 1, w, -1)  // 8
        }
        let ch = channels
        let out = [Float](unsafeUninitializedCapacity: n * ch) { dst, count in
            pixels.withUnsafeBufferPointer { src in
                for c in 0..<ch {
                    let s = src.baseAddress! + c * n
                    let d = dst.baseAddress! + c * n
                    for y in 0..<oh {
                        var si = base + y * dy
                        let row = d + y * ow
                        for x in 0..<ow {
                            row[x] = s[si]
                            si += dx
                        }
                    }
                }
            }
            count = n * ch
        }
        return Image(width: ow, height: oh, colorModel: colorModel, pixels: out,
                     sourceBitDepth: sourceBitDepth, iccProfile: iccProfile)
    }
}
