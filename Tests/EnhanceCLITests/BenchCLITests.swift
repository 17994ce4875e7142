import EnhanceNN
import Foundation
import Testing

@Suite(.enabled(if: CLIRun.available, "the enhance executable is not built beside the tests"))
struct BenchCLITests {
    /// Without OPENBLAS_CORETYPE, `enhance` restarts itself with the kernels `BLAS.betterCoreType`
    /// picks when OpenBLAS fell back to older ones (Sources/enhance/main.swift); `bench --json`
    /// reports the core it ran on.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
                   "OPENBLAS_CORETYPE is set for the tests: this process's core is not OpenBLAS's own choice"))
    func openBLASKernelsMatchTheCPU() throws {
        let r = try CLIRun.run(["bench", "--quick", "--json", "--threads", "1", "--case", "fsrcnn-s-x2-256"],
                               removing: ["OPENBLAS_CORETYPE"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let expected = BLAS.betterCoreType(current: BLAS.coreName, flags: BLAS.cpuFlags()) ?? BLAS.coreName
        #expect((doc["openblas_core"] as? String)?.lowercased() == expected.lowercased())
        #expect((doc["results"] as? [[String: Any]])?.map { $0["name"] as? String } == ["fsrcnn-s-x2-256"])
    }

    @Test func aCaseThatMatchesNothingIsAnError() throws {
        let r = try CLIRun.run(["bench", "--quick", "--case", "no-such-case", "--case", "nor-this"])
        #expect(r.status == 1)
        #expect(r.stderr == "error: no benchmark case name contains 'no-such-case', 'nor-this' (`enhance bench` without --case runs them all)\n")
    }
}
