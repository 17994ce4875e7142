import EnhanceNN
import Synchronization
import Testing
import Dispatch
import Foundation

/// `Parallel`: every item runs exactly once, worker indices stay in range, and the spinning pool
/// behind two-worker regions hands over correctly between consecutive regions, while asleep,
/// when regions nest, and when several threads start regions at once (those fall back to Dispatch).
@Suite struct ParallelTests {
    /// Counts of each item after `rounds` regions of `n` items on `threads` workers.
    static func counts(n: Int, threads: Int, rounds: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: n)
        counts.withUnsafeMutableBufferPointer { c in
            let p = SendablePointer(c.baseAddress!)
            for _ in 0..<rounds {
                Parallel.forEachWithWorker(n, threads: threads) { worker, i in
                    precondition(worker >= 0 && worker < threads)
                    p[i] += 1
                }
            }
        }
        return counts
    }

    @Test func consecutiveRegionsRunEveryItemOnce() {
        #expect(Self.counts(n: 37, threads: 2, rounds: 2000) == [Int](repeating: 2000, count: 37))
        #expect(Self.counts(n: 2, threads: 2, rounds: 2000) == [2000, 2000])
        #expect(Self.counts(n: 5, threads: 3, rounds: 200) == [Int](repeating: 200, count: 5))
    }

    @Test func regionsAfterTheWorkersFellAsleep() {
        for _ in 0..<5 {
            usleep(2_000)   // longer than the workers spin
            #expect(Self.counts(n: 9, threads: 2, rounds: 1) == [Int](repeating: 1, count: 9))
        }
    }

    @Test func nestedAndConcurrentRegions() {
        let total = Atomic<Int>(0)
        // Outer regions from 4 threads at once, each with an inner region per item.
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<50 {
                Parallel.forEach(6, threads: 2) { _ in
                    Parallel.forEach(3, threads: 2) { _ in total.add(1, ordering: .relaxed) }
                }
            }
        }
        #expect(total.load(ordering: .relaxed) == 4 * 50 * 6 * 3)
        var sums = [Int](repeating: 0, count: 3)
        sums.withUnsafeMutableBufferPointer { s in
            let p = SendablePointer(s.baseAddress!)
            Parallel.forEachChunk(1000, threads: 3) { worker, range in p[worker] = range.reduce(0, +) }
        }
        #expect(sums.reduce(0, +) == 999 * 1000 / 2)
    }
}
