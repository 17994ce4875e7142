import ArgumentParser
import Enhance
import EnhanceNN
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure forward and training speed of the standard networks, and sgemm as the reference."
    )

    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Flag(help: "One repetition per case (a smoke run).") var quick = false
    @Flag(help: "Print one JSON document.") var json = false
    @Option(name: .customLong("case"), help: "Only the cases whose name contains this text (repeatable), e.g. arcnn or model:.")
    var cases: [String] = []

    struct Report: Encodable {
        var threads: Int
        /// The kernels OpenBLAS runs (see `BLAS.betterCoreType` and Sources/enhance/main.swift).
        var openblas_core: String
        var sgemm_gflops: Double
        var results: [Benchmark.Result]
        var comparisons: [Benchmark.Comparison]
    }

    func run() throws {
        let context = ComputeContext(threads: threads)
        let sgemm = Benchmark.sgemmGFLOPs(threads: context.threads, repeats: quick ? 2 : 5)
        if !json { print("sgemm (OpenBLAS \(BLAS.coreName), \(context.threads) threads): " + String(format: "%.1f GFLOP/s", sgemm)) }
        let including: (String) -> Bool = { name in cases.isEmpty || cases.contains { name.contains($0) } }
        let results = Benchmark.standardSuite(context: context, quick: quick, including: including)
            + Benchmark.shippedModels(context: context, quick: quick, including: including)
        let comparisons = Benchmark.standardComparisons(context: context, seconds: quick ? 0 : 4, including: including)
        if !cases.isEmpty && results.isEmpty && comparisons.isEmpty {
            let quoted = cases.map { "'\($0)'" }.joined(separator: ", ")
            printError("error: no benchmark case name contains \(quoted) (`enhance bench` without --case runs them all)")
            throw ExitCode.failure
        }
        if json {
            print(try jsonString(Report(threads: context.threads, openblas_core: BLAS.coreName, sgemm_gflops: sgemm,
                                        results: results, comparisons: comparisons)))
            return
        }
        defer {
            if !comparisons.isEmpty { print("") }
            for c in comparisons {
                print(String(format: "%@ is %.1fx faster than %@ per output megapixel (alternated %d times: %.2f / %.2f ms)",
                             c.fast, c.ratio, c.slow, c.rounds, c.fastMs, c.slowMs))
            }
        }
        for r in results {
            var line = pad(r.name, 26) + pad(String(format: "%.1f ms", r.ms), 12, right: true)
                + pad(String(format: "%.1f GFLOP/s", r.gflops), 16, right: true)
            if let p = r.patchesPerSecond { line += String(format: "  %.0f patches/s", p) }
            if let s = r.secondsPerMegapixel { line += String(format: "  %.3f s/MP", s) }
            print(line)
            for l in r.layers ?? [] {
                print("    " + pad(l.name, 52) + pad(String(format: "%.2f ms", l.ms), 11, right: true)
                      + pad(String(format: "%.1f GFLOP/s", l.gflops), 16, right: true)
                      + String(format: "  %.0f%% of sgemm", 100 * l.gflops / sgemm))
            }
        }
    }
}
