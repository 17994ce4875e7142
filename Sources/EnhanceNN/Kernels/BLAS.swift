import CBLAS

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
