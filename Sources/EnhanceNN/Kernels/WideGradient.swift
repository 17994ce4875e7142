// Weight-gradient engine: dW[co, c, t] += Σ_p dyWide[co, p] · x[c, p + taps[t]] over one band,
// with dyWide zero at the discarded wide columns. SIMD8 over p, register-blocked as
// 4 output channels × 3 (input channel, tap) pairs; lanes are summed at the end of each block.

/// Accumulates one band into `partial` (`[outC][inC][T]`, row-major).
/// `dy`: `outC` planes of `length` floats (multiple of 8), zero where the position is not an
/// output. `x`: `inC` planes `chanStride` apart, readable up to `length - 1 + max tap offset`.
func wideWeightGradient(outC: Int, inC: Int, taps: UnsafePointer<Int>, T: Int,
                        dy: UnsafePointer<Float>, length: Int,
                        x: UnsafePointer<Float>, chanStride: Int,
                        partial: UnsafeMutablePointer<Float>) {
    let Q = inC * T
    @inline(__always) func src(_ q: Int) -> UnsafePointer<Float> { x + (q / T) * chanStride + taps[q % T] }
    var co = 0
    while co + 4 <= outC {
        let d0 = dy + co * length, d1 = d0 + length, d2 = d1 + length, d3 = d2 + length
        var q = 0
        while q + 3 <= Q {
            let x0 = src(q), x1 = src(q + 1), x2 = src(q + 2)
            var a00 = SIMD8<Float>(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00
            var a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00
            var p = 0
            while p < length {
                let v0 = load8(x0 + p), v1 = load8(x1 + p), v2 = load8(x2 + p)
                let e0 = load8(d0 + p)
                a00 = a00.addingProduct(e0, v0); a01 = a01.addingProduct(e0, v1); a02 = a02.addingProduct(e0, v2)
                let e1 = load8(d1 + p)
                a10 = a10.addingProduct(e1, v0); a11 = a11.addingProduct(e1, v1); a12 = a12.addingProduct(e1, v2)
                let e2 = load8(d2 + p)
                a20 = a20.addingProduct(e2, v0); a21 = a21.addingProduct(e2, v1); a22 = a22.addingProduct(e2, v2)
                let e3 = load8(d3 + p)
                a30 = a30.addingProduct(e3, v0); a31 = a31.addingProduct(e3, v1); a32 = a32.addingProduct(e3, v2)
                p += 8
            }
            let r0 = partial + co * Q + q, r1 = r0 + Q, r2 = r1 + Q, r3 = r2 + Q
            r0[0] += a00.sum(); r0[1] += a01.sum(); r0[2] += a02.sum()
            r1[0] += a10.sum(); r1[1] += a11.sum(); r1[2] += a12.sum()
            r2[0] += a20.sum(); r2[1] += a21.sum(); r2[2] += a22.sum()
            r3[0] += a30.sum(); r3[1] += a31.sum(); r3[2] += a32.sum()
            q += 3
        }
        while q < Q {
            let x0 = src(q)
            var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
            var p = 0
            while p < length {
                let v = load8(x0 + p)
                a0 = a0.addingProduct(load8(d0 + p), v); a1 = a1.addingProduct(load8(d1 + p), v)
                a2 = a2.addingProduct(load8(d2 + p), v); a3 = a3.addingProduct(load8(d3 + p), v)
                p += 8
            }
            let r = partial + co * Q + q
            r[0] += a0.sum(); r[Q] += a1.sum(); r[2 * Q] += a2.sum(); r[3 * Q] += a3.sum()
            q += 1
        }
        co += 4
    }
    while co < outC {
        let d0 = dy + co * length
        var q = 0
        while q + 4 <= Q {
            let x0 = src(q), x1 = src(q + 1), x2 = src(q + 2), x3 = src(q + 3)
            var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
            var p = 0
            while p < length {
                let e = load8(d0 + p)
                a0 = a0.addingProduct(e, load8(x0 + p)); a1 = a1.addingProduct(e, load8(x1 + p))
                a2 = a2.addingProduct(e, load8(x2 + p)); a3 = a3.addingProduct(e, load8(x3 + p))
                p += 8
            }
            let r = partial + co * Q + q
            r[0] += a0.sum(); r[1] += a1.sum(); r[2] += a2.sum(); r[3] += a3.sum()
            q += 4
        }
        while q < Q {
            let x0 = src(q)
            var a0 = SIMD8<Float>()
            var p = 0
            while p < length { a0 = a0.addingProduct(load8(d0 + p), load8(x0 + p)); p += 8 }
            partial[co * Q + q] += a0.sum()
            q += 1
        }
        co += 1
    }
}
