import Enhance
import EnhanceNN
import Testing

/// `Benchmark` reports, never asserts, timing: these tests check what the numbers are made of
/// (names, counts, the per-megapixel arithmetic), not how fast anything ran.
@Suite struct BenchmarkTests {
    @Test func timeRunsAtLeastTheRepeatsAndKeepsTheBest() {
        var runs = 0
        let best = Benchmark.time(repeats: 3, minimumSeconds: 0) { runs += 1 }
        #expect(runs == 3 && best >= 0)
        runs = 0
        _ = Benchmark.time(repeats: 1, minimumSeconds: 10) { runs += 1 }   // one repeat: no time window
        #expect(runs == 1)
    }

    @Test func comparisonAlternatesThePairAndScalesByOutputSize() {
        let context = ComputeContext(threads: 1)
        let comparisons = Benchmark.standardComparisons(context: context, seconds: 0) { $0.contains("arcnn-512") }
        #expect(comparisons.map(\.fast) == ["fast-arcnn-512"] && comparisons.map(\.slow) == ["arcnn-512"])
        guard let c = comparisons.first else { return }
        #expect(c.rounds == 3)   // the minimum when no time window is asked for
        #expect(abs(c.ratio - c.slowMs / c.fastMs) <= 1e-9 * c.ratio)   // same 512² output on both sides
        // FSRCNN x3 (510²) against SRCNN (512²): per output megapixel.
        let sr = Benchmark.standardComparisons(context: context, seconds: 0) { $0 == "fsrcnn-x3-170" || $0 == "srcnn-9-5-5-512" }
        #expect(sr.count == 1)
        if let s = sr.first {
            #expect(abs(s.ratio - (s.slowMs / (512.0 * 512)) / (s.fastMs / (510.0 * 510))) <= 1e-9 * s.ratio)
        }
    }

    /// The per-layer breakdown follows the steps `Sequential.forward` takes: Fast AR-CNN runs as
    /// its fused first stage (9x9 stride 2 + 1x1), the 7x7, and the 1x1 fused into the
    /// deconvolution, and the steps' multiply-adds add up to the network's.
    @Test func inferenceBreakdownFollowsTheFusedSteps() {
        let r = Benchmark.inference(name: "fast-arcnn-64", architecture: .fastArcnn, outputSize: 64,
                                    context: ComputeContext(threads: 1), repeats: 1)
        let names = (r.layers ?? []).map(\.name)
        #expect(names.map { $0.prefix { $0 != " " } } == ["0+2", "4", "6+8"], "\(names)")
        #expect(names.first?.hasSuffix("Conv2d(1->64, 9x9, stride 2, valid) + Conv2d(64->32, 1x1, stride 1, valid)") == true)
        func macs(_ x: Benchmark.Result) -> Double { x.gflops * 1e9 * (x.ms / 1e3) / 2 }
        let parts = (r.layers ?? []).map(macs).reduce(0, +)
        #expect(abs(parts - macs(r)) <= 1e-6 * macs(r), "steps \(parts) against the network's \(macs(r)) multiply-adds")
    }
}
