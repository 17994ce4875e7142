import EnhanceCLI
import EnhanceNN
#if canImport(Glibc)
import Glibc
#endif

// OpenBLAS picks its kernels once, when it loads. Where it falls back to kernels older than the
// CPU (a CPU model newer than the library: see `BLAS.betterCoreType`), start again once with
// OPENBLAS_CORETYPE set; setting the variable yourself (to anything) skips this. execv returns
// only on failure, and then we carry on with OpenBLAS's choice.
if getenv("OPENBLAS_CORETYPE") == nil,
   let core = BLAS.betterCoreType(current: BLAS.coreName, flags: BLAS.cpuFlags()) {
    setenv("OPENBLAS_CORETYPE", core, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
}

// Reuse freed large buffers instead of mapping fresh pages for every tensor (page faults
// otherwise cost more than the arithmetic of a 1x1 convolution).
_ = ComputeContext.reuseLargeAllocations()
EnhanceCommand.main()
