import Dispatch
import Foundation
import Synchronization

/// A raw pointer that may cross into `DispatchQueue.concurrentPerform` workers.
///
/// The caller guarantees that concurrent workers touch disjoint elements.
public struct SendablePointer<Pointee>: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Pointee>
    @inlinable public init(_ pointer: UnsafeMutablePointer<Pointee>) { self.pointer = pointer }
    @inlinable public subscript(i: Int) -> Pointee {
        get { pointer[i] }
        nonmutating set { pointer[i] = newValue }
    }
}

/// A read-only raw pointer that may cross into concurrent workers.
public struct SendableConstPointer<Pointee>: @unchecked Sendable {
    public let pointer: UnsafePointer<Pointee>
    @inlinable public init(_ pointer: UnsafePointer<Pointee>) { self.pointer = pointer }
    @inlinable public subscript(i: Int) -> Pointee { pointer[i] }
}

/// Parallel loops over disjoint work items.
public enum Parallel {
    /// Number of logical CPUs available to the process.
    public static var processorCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Calls `body(i)` for every `i` in `0..<n`, on up to `threads` workers.
    ///
    /// Items are handed out dynamically (an atomic counter), so the order and the worker of an
    /// item are unspecified: `body` must write disjoint memory for different `i`.
    /// `threads <= 1` or `n <= 1` runs serially, in order, on the calling thread.
    public static func forEach(_ n: Int, threads: Int, _ body: (Int) -> Void) {
        precondition(n >= 0, "Parallel.forEach: negative count \(n)")
        let workers = min(n, max(1, threads))
        if workers <= 1 {
            for i in 0..<n { body(i) }
            return
        }
        let next = Atomic<Int>(0)
        run(workers) { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= n { break }
                body(i)
            }
        }
    }

    /// Like `forEach`, but also passes the worker index (`0..<min(n, threads)`), so that each
    /// worker can reuse its own scratch buffer.
    public static func forEachWithWorker(_ n: Int, threads: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
        precondition(n >= 0, "Parallel.forEachWithWorker: negative count \(n)")
        let workers = min(n, max(1, threads))
        if workers <= 1 {
            for i in 0..<n { body(0, i) }
            return
        }
        let next = Atomic<Int>(0)
        run(workers) { w in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= n { break }
                body(w, i)
            }
        }
    }

    /// Calls `body(worker, range)` once per worker with a fixed, contiguous split of `0..<n` into
    /// `min(n, threads)` ranges (worker `w` gets the `w`-th range). The split depends only on
    /// `n` and `threads`, which makes per-worker partial sums reproducible.
    public static func forEachChunk(_ n: Int, threads: Int, _ body: (_ worker: Int, _ range: Range<Int>) -> Void) {
        precondition(n >= 0, "Parallel.forEachChunk: negative count \(n)")
        let workers = min(n, max(1, threads))
        if workers <= 1 {
            if n > 0 { body(0, 0..<n) }
            return
        }
        run(workers) { w in
            body(w, chunk(w, of: workers, count: n))
        }
    }

    /// Runs `body(w)` for `w` in `0..<workers` at the same time: `w = 0` on the calling thread,
    /// the others on the spinning pool's threads (`SpinningPool`) when it is free and large
    /// enough, else through `DispatchQueue.concurrentPerform`.
    static func run(_ workers: Int, _ body: (Int) -> Void) {
        if SpinningPool.shared.run(workers, body) { return }
        DispatchQueue.concurrentPerform(iterations: workers, execute: body)
    }

    /// The `w`-th of `parts` contiguous, nearly equal ranges that cover `0..<count`.
    @inlinable public static func chunk(_ w: Int, of parts: Int, count: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let lo = w * base + min(w, extra)
        return lo..<(lo + base + (w < extra ? 1 : 0))
    }
}

/// Worker threads that stay awake (spinning) for a short while after each parallel region, so
/// that the next region of the same forward pass starts on all cores at once. Waking a sleeping
/// Dispatch worker took ~25 µs here, against ~0.4 ms per layer of FSRCNN: a few per cent of a
/// small network's time went to wake-ups. After `spinNanoseconds` without work a worker sleeps
/// on a condition variable. One region at a time: a region that starts while another runs
/// (nested, or from another thread) is told to use Dispatch instead.
final class SpinningPool: @unchecked Sendable {
    static let shared = SpinningPool(helpers: max(0, Parallel.processorCount - 1))

    /// How long an idle worker keeps spinning before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000

    private let helpers: Int
    private let busy = Atomic<Bool>(false)
    /// Region number << 16 | its worker count, moved (release) after `job` is written.
    private let state = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let condition = NSCondition()
    private var started = false
    /// The current region's body: written before `state` moves, read by its workers after they
    /// see it move (acquire); replaced only after they have all finished.
    private nonisolated(unsafe) var job: ((Int) -> Void)?

    init(helpers: Int) { self.helpers = helpers }

    /// Runs `body(w)`, `w` in `0..<workers`, on the caller (w = 0) and `workers − 1` pool
    /// threads; false (nothing run) when the pool is busy or has too few threads.
    func run(_ workers: Int, _ body: (Int) -> Void) -> Bool {
        guard workers >= 2, workers - 1 <= helpers, workers < 1 << 16,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            condition.lock()
            if !started { startThreads(); started = true }
            job = body
            remaining.store(workers - 1, ordering: .relaxed)
            let region = (state.load(ordering: .relaxed) >> 16) + 1
            state.store(region << 16 | workers, ordering: .releasing)
            condition.broadcast()
            condition.unlock()
            body(0)
            while remaining.load(ordering: .acquiring) > 0 {}
            job = nil
        }
        return true
    }

    private func startThreads() {
        for index in 1...helpers {
            let thread = Thread { [self] in work(index) }
            thread.name = "enhance-worker-\(index)"
            thread.start()
        }
    }

    private func work(_ index: Int) {
        var seen = 0
        while true {
            // Spin for a while, then sleep until the state moves.
            var current = state.load(ordering: .acquiring)
            if current == seen {
                let start = DispatchTime.now().uptimeNanoseconds
                var spins = 0
                while current == seen {
                    spins += 1
                    if spins & 255 == 0 && DispatchTime.now().uptimeNanoseconds - start > Self.spinNanoseconds {
                        condition.lock()
                        while state.load(ordering: .acquiring) == seen { condition.wait() }
                        condition.unlock()
                    }
                    current = state.load(ordering: .acquiring)
                }
            }
            seen = current
            if index < current & 0xFFFF {
                // No local copy of the closure outlives the call: `run` may return as soon as
                // `remaining` reaches zero.
                job?(index)
                remaining.subtract(1, ordering: .releasing)
            }
        }
    }
}
