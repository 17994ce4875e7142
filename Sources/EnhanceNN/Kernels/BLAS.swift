import CBLAS
import Foundation

/// Thin wrapper over OpenBLAS (pthread build). Matrices are row-major.
public enum BLAS {
    /// Sets the number of threads OpenBLAS uses inside one call (global to the process).
    /// Kernels in this module call sgemm from their own workers with OpenBLAS set to 1 thread.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "BLAS.setThreads: thread count must be >= 1, got \(n)")
        openblas_set_num_threads(Int32(n))
    }

    /// The number of threads OpenBLAS currently uses.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// C = alpha · op(A) · op(B) + beta · C, row-major.
    /// op(A) is m×k (A is m×k with row stride lda, or k×m when `transA`); op(B) is k×n;
    /// C is m×n with row stride ldc.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension BLAS {
    /// The core OpenBLAS chose its kernels for when it loaded ("Haswell", "Zen", "SkylakeX", …;
    /// "Prescott", SSE3, is its fallback for a CPU model it does not know).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// The `OPENBLAS_CORETYPE` to ask for when OpenBLAS fell back to kernels older than the CPU,
    /// nil when its own choice already has AVX2 kernels or the CPU lacks AVX2 and FMA. Debian 12's
    /// OpenBLAS 0.3.21 does not know newer Xeons (model 207) and takes "Prescott" there: sgemm
    /// 20–28 GFLOP/s on one thread against 125 with "SkylakeX" and 67 with "Haswell", an AR-CNN
    /// training step 186 → 127 ms (session 16). `flags` are /proc/cpuinfo's (`cpuFlags()`).
    /// `flags` is only evaluated when OpenBLAS's own choice is a fallback (no file read otherwise).
    public static func betterCoreType(current: String, flags: @autoclosure () -> Set<String>) -> String? {
        let avx2Cores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]
        guard !avx2Cores.contains(current.lowercased()) else { return nil }
        let flags = flags()
        guard flags.contains("avx2"), flags.contains("fma") else { return nil }
        let avx512: Set<String> = ["avx512f", "avx512bw", "avx512dq", "avx512vl"]
        return avx512.isSubset(of: flags) ? "SkylakeX" : "Haswell"
    }

    /// The CPU's feature flags from the first "flags" line of /proc/cpuinfo (empty elsewhere).
    public static func cpuFlags(cpuinfo: String = "/proc/cpuinfo") -> Set<String> {
        guard let text = try? String(contentsOfFile: cpuinfo, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
