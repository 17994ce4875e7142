import EnhanceNN
import Testing

/// The sub-pixel wide path of `ConvKernels.backwardInput` (strided convolutions on images with
/// more than 3000 (stride 2) / 1000 (stride ≥ 3) low-resolution positions: the forward pass of
/// FSRCNN's and Fast AR-CNN's deconvolutions at inference). Same tolerance as `KernelTests`:
/// |fast − reference| ≤ 1e-5 · (1 + outChannels·k²); an unwritten (NaN) element fails.
@Suite struct KernelTestsSubPixel {
    typealias Noise = KernelTests.Noise

    /// (in, out, h, w, kernel, stride, batch) and why the case is there. The deconvolution
    /// geometry of an unpadded ConvTranspose2d on an n×m input is h = (n−1)·s + k.
    static let cases: [(ConvGeometry, Int, String)] = [
        (1, 6, 9 + 2 * 58, 9 + 2 * 56, 9, 2, 1, "x2 deconvolution 59x57 → one channel (FSRCNN x2 shape)"),
        (1, 5, 9 + 3 * 33, 9 + 3 * 37, 9, 3, 2, "x3: nine 3x3 phases, groups 4+4+1 (single-row fallback)"),
        (1, 4, 9 + 4 * 34, 9 + 4 * 33, 9, 4, 1, "x4: sixteen phases in four tap boxes (3x3, 2x3, 2x2, 2x2)"),
        (3, 7, 5 + 2 * 56 + 1, 5 + 2 * 53, 5, 2, 1, "3 output channels, rows not covered by any output (zero)"),
        (2, 3, 4 + 3 * 40 + 2, 4 + 3 * 36, 4, 3, 2, "even kernel, phases with 2 and 1 taps, uncovered rows"),
        (1, 9, 3 + 3 * 35, 3 + 3 * 34, 3, 3, 1, "kernel = stride: one tap per phase"),
    ].map { (ConvGeometry(inChannels: $0.0, outChannels: $0.1, inHeight: $0.2, inWidth: $0.3, kernel: $0.4, stride: $0.5), $0.6, $0.7) }

    @Test func backwardInputMatchesReference() {
        KernelTests.expectBackwardInputMatchesReference(Self.cases, seed: 21)
    }

    /// One nonzero dy element and a kernel holding 1…k² reproduces the kernel, placed at the
    /// element's stride position (the transposed convolution of a unit impulse).
    @Test func impulseReproducesKernel() {
        let g = ConvGeometry(inChannels: 1, outChannels: 1, inHeight: 9 + 2 * 59, inWidth: 9 + 2 * 59, kernel: 9, stride: 2)
        var dy = [Float](repeating: 0, count: g.outputCount)
        dy[17 * g.outWidth + 40] = 1
        let w = (0..<81).map { Float($0 + 1) }
        var dx = [Float](repeating: .nan, count: g.inputCount)
        ConvKernels.backwardInput(g, batch: 1, outputGradient: dy, weight: w, inputGradient: &dx, threads: 2)
        var expected = [Float](repeating: 0, count: g.inputCount)
        for ky in 0..<9 { for kx in 0..<9 { expected[(34 + ky) * g.inWidth + 80 + kx] = Float(ky * 9 + kx + 1) } }
        #expect(dx == expected)
    }
}
