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
}
