import NNCore
import NNTrain

/// `nntrain run CONFIG [...]`.
func runCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    let threads: Int?
    do {
        parsed = try Arguments(args, command: "run", valued: ["--set", "--out", "--threads"],
                               boolean: ["--force", "--quiet", "--json", "--help", "-h"])
        threads = try parsed.int("--threads", range: 1...1024, command: "run")
    } catch {
        return usage(error)
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.run); return 0 }
    guard parsed.positionals.count == 1 else {
        return usage(UsageError(message: parsed.positionals.isEmpty ? "missing CONFIG" : "expected one CONFIG, got \(parsed.positionals.count) arguments", command: "run"))
    }
    let path = parsed.positionals[0]
    let config: ExperimentConfig
    do {
        config = try ConfigLoader.load(path: path, overrides: parsed.all("--set"))
    } catch {
        for line in error.lines { printError(line) }
        if case .invalid = error { printError("(\(error.lines.count) problem\(error.lines.count == 1 ? "" : "s"); `nntrain validate \(path)` lists them with the effective config)") }
        return 2
    }
    let quiet = parsed.has("--quiet")
    for w in config.warnings where !quiet { printError("warning: \(path): \(w)") }
    let progress = ProgressPrinter(quiet: quiet)
    var options = Experiment.Options()
    options.outputDirectory = parsed.value("--out")
    options.force = parsed.has("--force")
    options.threads = threads
    options.onEvent = { progress.handle($0) }
    Runtime.installSignalFlag()
    options.pendingSignal = { Runtime.pendingSignal }

    do {
        let result = try Experiment.run(config, options: options)
        if parsed.has("--json") {
            printOut(result.summary.serialized())
        } else if !quiet {
            var line = ""
            if let a = result.outcome.testAccuracy { line += "test_accuracy \(fmt(a, 4))  test_loss \(fmt(result.outcome.testLoss ?? .nan, 4))" }
            else if let l = result.outcome.testLoss { line += "test_loss \(fmt(l, 4))" }
            else if let l = result.outcome.bestValLoss { line += "best_val_loss \(fmt(l, 4))" }
            line += (line.isEmpty ? "" : "  ") + "(\(result.outcome.stopReason.rawValue), \(result.outcome.epochsRun) epochs, \(fmt(result.outcome.seconds, 1)) s)"
            printOut(line)
            printOut("results: \(result.directory)/")
        }
        return 0
    } catch {
        printError(error.description)
        if case .config = error { return 2 }
        return error.exitCode
    }
}

func usage(_ e: UsageError) -> Int32 {
    printError("error: \(e.message)")
    printError("usage: see `nntrain \(e.command.map { "\($0) " } ?? "")--help`")
    return 2
}
