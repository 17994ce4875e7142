import Foundation

/// How much of the machine a computation may use. A plain value: pass it to each call.
public struct ComputeContext: Sendable, Equatable {
    /// Worker threads for parallel loops (≥ 1). Results of training are bit-identical for a
    /// given seed *and* thread count.
    public var threads: Int

    /// `threads` defaults to every active core.
    public init(threads: Int? = nil) {
        let t = threads ?? ProcessInfo.processInfo.activeProcessorCount
        precondition(t >= 1, "ComputeContext: threads must be ≥ 1, got \(t)")
        self.threads = t
    }

    /// All cores.
    public static var `default`: ComputeContext { ComputeContext() }
    /// One thread.
    public static let serial = ComputeContext(threads: 1)
}
