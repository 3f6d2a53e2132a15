import NNCore
import NNTrain

/// `nntrain run CONFIG [...]`.
func runCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    let threads: Int?
    do {
        parsed = try Arguments(args, command: "run", valued: ["--set", "--out", "--threads", "--resume"],
                               boolean: ["--force", "--quiet", "--json", "--diagnose", "--help", "-h"])
        threads = try parsed.int("--threads", range: 1...1024, command: "run")
    } catch {
        return usage(error)
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.run); return 0 }
    if let dir = parsed.value("--resume") {
        guard parsed.positionals.isEmpty, parsed.value("--out") == nil else {
            return usage(UsageError(message: "--resume DIR continues the run in DIR with its own config.json; give no CONFIG and no --out", command: "run"))
        }
        return train(parsed, directory: dir, threads: threads) { options throws(RunError) in
            try Experiment.resume(directory: dir, overrides: parsed.all("--set"), options: options)
        }
    }
    guard parsed.positionals.count == 1 else {
        return usage(UsageError(message: parsed.positionals.isEmpty ? "missing CONFIG" : "expected one CONFIG, got \(parsed.positionals.count) arguments", command: "run"))
    }
    let path = parsed.positionals[0]
    let config: ExperimentConfig
    do {
        config = try ConfigLoader.load(path: path, overrides: parsed.all("--set") + (parsed.has("--diagnose") ? ["diagnostics=true"] : []))
    } catch {
        for line in error.lines { printError(line) }
        return 2
    }
    let quiet = parsed.has("--quiet")
    for w in config.warnings where !quiet { printError("warning: \(path): \(w)") }
    return train(parsed, directory: parsed.value("--out") ?? config.runDirectory, threads: threads) { options throws(RunError) in
        try Experiment.run(config, options: options)
    }
}

/// Runs `body` with progress, signal handling and the result printing of `nntrain run`.
func train(_ parsed: Arguments, directory: String, threads: Int?,
           _ body: (Experiment.Options) throws(RunError) -> Experiment.Result) -> Int32 {
    let quiet = parsed.has("--quiet")
    let progress = ProgressPrinter(quiet: quiet)
    var options = Experiment.Options()
    options.outputDirectory = parsed.value("--out")
    options.force = parsed.has("--force")
    options.threads = threads
    options.onEvent = { progress.handle($0) }
    Runtime.installSignalFlag()
    options.pendingSignal = { Runtime.pendingSignal }

    do {
        let result = try body(options)
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
        if case .interrupted = error {
            printError("\(error.description); resume with: nntrain run --resume \(directory)")
        } else {
            printError(error.description)
        }
        return error.exitCode
    }
}

func usage(_ e: UsageError) -> Int32 {
    printError("error: \(e.message)")
    printError("usage: see `nntrain \(e.command.map { "\($0) " } ?? "")--help`")
    return 2
}
