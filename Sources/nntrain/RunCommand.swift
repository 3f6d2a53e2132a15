import NNCore
import NNTrain

/// `nntrain run CONFIG [...]`.
func runCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    let threads: Int?
    do {
        parsed = try Arguments(args, command: "run", valued: ["--set", "--out", "--threads", "--resume", "--params-json", "--result-json", "--metric"],
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
    var sets = parsed.all("--set")
    if let file = parsed.value("--params-json") {
        do { sets = try paramsJSON(file) + sets } catch {
            printError("error: --params-json \(file): \(error.message)")
            return 2
        }
    }
    let config: ExperimentConfig
    do {
        config = try ConfigLoader.load(path: path, overrides: sets + (parsed.has("--diagnose") ? ["diagnostics=true"] : []))
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
    var metric: SweepMetric? = nil
    if let m = parsed.value("--metric") ?? (parsed.value("--result-json") != nil ? "val_loss" : nil) {
        let parts = m.split(separator: ":").map(String.init)
        guard let name = parts.first, SweepMetric.columns.contains(name),
              parts.count == 1 || (parts.count == 2 && ["minimize", "maximize"].contains(parts[1])) else {
            return usage(UsageError(message: "--metric: expected one of \(SweepMetric.columns.joined(separator: ", ")) with an optional :minimize or :maximize, got \(m)", command: "run"))
        }
        metric = SweepMetric(name: name, maximize: parts.count == 2 ? parts[1] == "maximize" : name.hasSuffix("accuracy"))
    }
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
        if var metric {
            // The metric at its best epoch (what an Optuna `tell` or a W&B agent needs).
            let rows = CurvesFile.rows(result.directory)
            var best = CurvesFile.best(rows, metric: metric, upTo: nil)
            if best == nil && metric.name.hasPrefix("val_") && parsed.value("--metric") == nil {
                best = CurvesFile.best(rows, metric: SweepMetric(name: "loss", maximize: false), upTo: nil)
                if best != nil { metric = SweepMetric(name: "loss", maximize: false) }
            }
            if let file = parsed.value("--result-json") {
                if !writeResultJSON(file, metric: metric, best: best, status: result.outcome.stopReason.rawValue, directory: result.directory, summary: result.summary) { return 1 }
            }
            guard let best else {
                printError("error: \(result.directory)/curves.csv has no finite \(metric.name) (does the config have validation data?)")
                return 1
            }
            if parsed.value("--metric") != nil {
                printOut(JSONValue.format(best.value))
                return 0
            }
        }
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
        if let file = parsed.value("--result-json"), let metric {
            let status: String
            switch error {
            case .diverged: status = "diverged"
            case .interrupted: status = "interrupted"
            default: status = "failed"
            }
            _ = writeResultJSON(file, metric: metric, best: nil, status: status, directory: directory, summary: nil, message: error.description)
        }
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

/// Reads a flat JSON object of config paths and values (`{"optimizer.lr": 0.01}`, or W&B's
/// `{"optimizer.lr": {"value": 0.01}}`) as `--set` assignments.
func paramsJSON(_ file: String) throws(OverrideError) -> [String] {
    let json: JSONValue
    do { json = try JSONValue.parse(try FileIO.read(file, limit: 16 << 20)) } catch {
        throw OverrideError(message: "\(error)")
    }
    guard case .object(let pairs) = json else {
        throw OverrideError(message: "expected an object of config paths and values, e.g. {\"optimizer.lr\": 0.01}, got \(json.brief)")
    }
    return pairs.map { key, value in
        var v = value
        if case .object(let inner) = value, inner.count == 1, inner[0].0 == "value" { v = inner[0].1 }
        return "\(key)=\(v.serialized(indent: 0))"
    }
}

/// `--result-json FILE`: the metric at its best epoch, the run's status and summary.
func writeResultJSON(_ file: String, metric: SweepMetric, best: (value: Double, epoch: Int)?, status: String,
                     directory: String, summary: JSONValue?, message: String? = nil) -> Bool {
    let json = JSONValue.object([
        ("metric", .string(metric.name)), ("goal", .string(metric.goal)),
        ("value", best.map { .number($0.value) } ?? .null),
        ("best_epoch", best.map { .number(Double($0.epoch)) } ?? .null),
        ("status", .string(status)), ("message", message.map { .string($0) } ?? .null),
        ("run_dir", .string(directory)), ("summary", summary ?? .null),
    ])
    do { try FileIO.writeAtomically(file, text: json.serialized() + "\n") } catch {
        printError("error: --result-json: \(error)")
        return false
    }
    return true
}
