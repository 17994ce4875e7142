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

extension ComputeContext {
    /// Keeps freed blocks of up to `maxReusedBytes` in the process heap instead of returning them
    /// to the kernel (glibc: raises `M_MMAP_THRESHOLD` to that size and `M_TRIM_THRESHOLD` to
    /// 1 GiB). Feature maps of a few tens of MB are otherwise `mmap`ed afresh for every layer and
    /// every page faults on first touch: measured here, copying a 64x512x512 tensor took ~55 ms
    /// with fresh pages and ~10 ms with reused ones. Larger blocks (whole decoded images) are
    /// still mapped and returned when freed, so they do not stay in the resident set.
    /// Call once at program start (process-wide); returns false where unsupported.
    @discardableResult
    public static func reuseLargeAllocations(maxReusedBytes: Int = 80 << 20) -> Bool {
        #if os(Linux)
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, "mallopt") else { return false }
        let mallopt = unsafeBitCast(sym, to: MallOpt.self)
        let M_TRIM_THRESHOLD: Int32 = -1, M_MMAP_THRESHOLD: Int32 = -3
        return mallopt(M_MMAP_THRESHOLD, Int32(min(maxReusedBytes, 1 << 30))) == 1 && mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1
        #else
        return false
        #endif
    }
}

/// Splits an elementwise loop over `0..<n` into one contiguous range per thread when `n` is
/// large enough to pay for the hand-off (serial below 256 Ki elements).
@inline(__always)
func elementwiseRanges(_ n: Int, threads: Int, _ body: (Range<Int>) -> Void) {
    Parallel.forEachChunk(n, threads: n >= 1 << 18 ? threads : 1) { _, r in body(r) }
}
