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
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
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
        DispatchQueue.concurrentPerform(iterations: workers) { w in
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
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            body(w, chunk(w, of: workers, count: n))
        }
    }

    /// The `w`-th of `parts` contiguous, nearly equal ranges that cover `0..<count`.
    @inlinable public static func chunk(_ w: Int, of parts: Int, count: Int) -> Range<Int> {
        let base = count / parts, extra = count % parts
        let lo = w * base + min(w, extra)
        return lo..<(lo + base + (w < extra ? 1 : 0))
    }
}
