import NNCore
import NNTrain

/// `nntrain bench CONFIG [--set …] [--threads N] [--steps N] [--json]`.
func benchCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    let threads: Int?, steps: Int?
    do {
        parsed = try Arguments(args, command: "bench", valued: ["--set", "--threads", "--steps"], boolean: ["--json", "--verbose", "--help", "-h"])
        threads = try parsed.int("--threads", range: 1...1024, command: "bench")
        steps = try parsed.int("--steps", range: 1...100_000, command: "bench")
    } catch {
        return usage(error)
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.bench); return 0 }
    guard parsed.positionals.count == 1 else { return usage(UsageError(message: "expected one CONFIG", command: "bench")) }
    let config: ExperimentConfig
    do { config = try ConfigLoader.load(path: parsed.positionals[0], overrides: parsed.all("--set")) } catch {
        for line in error.lines { printError(line) }
        return 2
    }
    let t = Experiment.threadCount(config: config, option: threads)
    let r = StepBenchmark.run(config, threads: t, steps: steps ?? 50, verbose: parsed.has("--verbose"))
    if parsed.has("--json") {
        printOut(r.json.serialized(indent: 0))
        return 0
    }
    func ms(_ s: Double) -> String { fmt(s * 1000, 3) + " ms" }
    printOut("\(config.name): one training step, batch \(r.batch), \(r.threads) thread\(r.threads == 1 ? "" : "s") (median of \(r.steps))")
    printOut("  forward    \(ms(r.forward))")
    printOut("  loss       \(ms(r.loss))")
    printOut("  backward   \(ms(r.backward))")
    printOut("  optimizer  \(ms(r.optimizer))")
    printOut("  step       \(ms(r.step))   \(fmt(r.samplesPerSecond, 0)) samples/s")
    printOut("  GEMMs      \(ms(r.gemm))   (\(r.gemmCalls) products alone, between the steps, \(fmt(2 * Double(r.gemmMultiplyAdds) / r.gemm / 1e9, 1)) GFLOP/s): limit \(fmt(r.gemmLimit, 0)) samples/s")
    if parsed.has("--verbose") {
        for (c, sec) in r.products {
            printOut("    \(c.transposeA ? "Aᵀ" : "A ")·\(c.transposeB ? "Bᵀ" : "B ")  m \(c.m)  n \(c.n)  k \(c.k)   \(ms(sec))  \(fmt(2 * Double(c.multiplyAdds) / sec / 1e9, 1)) GFLOP/s")
        }
    }
    printOut("  the step reaches \(fmt(100 * r.samplesPerSecond / r.gemmLimit, 1))% of its GEMM-bound limit")
    return 0
}
