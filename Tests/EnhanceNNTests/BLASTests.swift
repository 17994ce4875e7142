import EnhanceNN
import Foundation
import Testing

/// `BLAS.betterCoreType`: when `enhance` restarts itself with OPENBLAS_CORETYPE set.
@Suite struct BLASCoreTypeTests {
    static let zen3: Set<String> = ["sse3", "avx", "avx2", "fma", "bmi2"]
    static let xeon = zen3.union(["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_fp16"])

    @Test func fallbackKernelsOnANewerCPUAreReplaced() {
        #expect(BLAS.betterCoreType(current: "Prescott", flags: Self.xeon) == "SkylakeX")
        #expect(BLAS.betterCoreType(current: "Prescott", flags: Self.zen3) == "Haswell")
        #expect(BLAS.betterCoreType(current: "Sandybridge", flags: Self.zen3) == "Haswell")
        // AVX-512F alone (no BW/DQ/VL) is not enough for the SkylakeX kernels.
        #expect(BLAS.betterCoreType(current: "Prescott", flags: Self.zen3.union(["avx512f"])) == "Haswell")
    }

    @Test func ownChoicesWithAVX2KernelsAreKept() {
        for core in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SAPPHIRERAPIDS"] {
            #expect(BLAS.betterCoreType(current: core, flags: Self.xeon) == nil, "\(core)")
        }
        // A CPU without AVX2 and FMA keeps whatever OpenBLAS chose.
        #expect(BLAS.betterCoreType(current: "Prescott", flags: ["sse3", "avx"]) == nil)
        #expect(BLAS.betterCoreType(current: "Prescott", flags: []) == nil)
    }

    @Test func cpuFlagsComeFromTheFirstFlagsLine() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cpuinfo-\(getpid())")
        defer { try? FileManager.default.removeItem(at: url) }
        try "processor\t: 0\nmodel\t\t: 207\nflags\t\t: fpu sse3 avx2 fma\nprocessor\t: 1\nflags\t\t: other\n"
            .write(to: url, atomically: true, encoding: .utf8)
        #expect(BLAS.cpuFlags(cpuinfo: url.path) == ["fpu", "sse3", "avx2", "fma"])
        #expect(BLAS.cpuFlags(cpuinfo: url.path + ".missing") == [])
    }
}
