import NNCore
import NNTrain

/// `nntrain lr-find CONFIG [--set …] [--min LR] [--max LR] [--steps N] [--out DIR] [--force]
/// [--threads N] [--json] [--quiet]`: the learning-rate range test (`LRFinder`). Exit codes as
/// `run`'s, except that a diverged test is its normal end (0).
func lrFindCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    var options = LRFinder.Options()
    do throws(UsageError) {
        parsed = try Arguments(args, command: "lr-find", valued: ["--set", "--min", "--max", "--steps", "--out", "--threads"],
                               boolean: ["--force", "--json", "--quiet", "--help", "-h"])
        options.threads = try parsed.int("--threads", range: 1...1024, command: "lr-find")
        options.steps = try parsed.int("--steps", range: 2...100_000, command: "lr-find") ?? options.steps
        for (flag, keyPath) in [("--min", \LRFinder.Options.minLR), ("--max", \LRFinder.Options.maxLR)] {
            guard let text = parsed.value(flag) else { continue }
            guard let v = Double(text), v.isFinite, v > 0 else {
                throw UsageError(message: "\(flag): expected a positive learning rate, got \(text)", command: "lr-find")
            }
            options[keyPath: keyPath] = v
        }
        guard options.minLR < options.maxLR else {
            throw UsageError(message: "--min \(options.minLR) must be below --max \(options.maxLR)", command: "lr-find")
        }
    } catch {
        return usage(error)
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.lrFind); return 0 }
    guard parsed.positionals.count == 1 else {
        return usage(UsageError(message: parsed.positionals.isEmpty ? "missing CONFIG" : "expected one CONFIG", command: "lr-find"))
    }
    let path = parsed.positionals[0]
    let config: ExperimentConfig
    do { config = try ConfigLoader.load(path: path, overrides: parsed.all("--set")) } catch {
        for line in error.lines { printError(line) }
        return 2
    }
    for w in config.warnings { printError("warning: \(path): \(w)") }
    let quiet = parsed.has("--quiet") || parsed.has("--json")
    options.outputDirectory = parsed.value("--out")
    options.force = parsed.has("--force")
    options.onEvent = { event in if case .message(let m) = event { printError(m) } }
    Runtime.installSignalFlag()
    options.pendingSignal = { Runtime.pendingSignal }
    if !quiet {
        printError("lr-find: \(options.steps) steps, lr from \(significant(options.minLR, 3)) to \(significant(options.maxLR, 3))")
    }
    let result: LRFinder.Result
    do { result = try LRFinder.run(config, options: options) } catch {
        if case .interrupted(let signal) = error { printError("\(interruptedMessage(signal)); nothing was written") } else {
            printError("error: " + error.description)
        }
        return error.exitCode
    }
    if parsed.has("--json") {
        printOut(LRFinder.json(result).serialized())
        return 0
    }
    if parsed.has("--quiet") {
        if let lr = result.suggestedLR { printOut(significant(lr, 3)) }
        return 0
    }
    if let step = result.divergedAtStep {
        printOut("the loss diverged at step \(step) of \(result.steps) (lr \(significant(result.points.last?.lr ?? .nan, 3))): the normal end of a range test")
    } else {
        printOut("ran all \(result.steps) steps without the loss diverging; raise --max to see where it does")
    }
    if let lr = result.minLossLR { printOut("lowest smoothed loss at lr \(significant(lr, 3))") }
    if let lr = result.suggestedLR {
        printOut("suggested lr \(significant(lr, 3)) (steepest descent of the smoothed loss)")
        printOut("use it: nntrain run \(path) --set optimizer.lr=\(significant(lr, 3))")
    } else {
        printOut("no suggestion: too few steps ran before the loss diverged; lower --min or raise --steps")
    }
    printOut("results: \(result.csv), \(result.svg)")
    return 0
}
