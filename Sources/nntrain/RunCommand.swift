import NNCore
import NNTrain

/// `nntrain run CONFIG [...]`.
func runCommand(_ args: ArraySlice<String>) -> Int32 {
    // Known before parsing, so that even a usage error answers `--json` with a JSON object.
    let json = args.contains("--json")
    let parsed: Arguments
    let threads: Int?
    do {
        parsed = try Arguments(args, command: "run", valued: ["--set", "--out", "--threads", "--resume", "--params-json", "--result-json", "--metric"],
                               boolean: ["--force", "--quiet", "--json", "--diagnose", "--tensorboard", "--help", "-h"])
        threads = try parsed.int("--threads", range: 1...1024, command: "run")
    } catch {
        return failedRun(json: json, code: usage(error), message: "error: \(error.message)")
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.run); return 0 }
    // --metric and --result-json are checked before anything is read or trained.
    let metric: SweepMetric?
    switch runMetric(parsed) {
    case .success(let m): metric = m
    case .failure(let e): return failedRun(json: json, code: usage(e), message: "error: \(e.message)")
    }
    if let file = parsed.value("--result-json"), let problem = resultJSONProblem(file) {
        let e = UsageError(message: "--result-json \(file): \(problem)", command: "run")
        return failedRun(json: json, code: usage(e), message: "error: \(e.message)")
    }
    /// A failure before training (exit 2): printed, and written to --result-json too.
    func failedBeforeTraining(_ lines: [String], directory: String?) -> Int32 {
        for line in lines { printError(line) }
        let message = lines.joined(separator: "\n")
        if let file = parsed.value("--result-json"), let metric {
            _ = writeResultJSON(file, metric: metric, best: nil, status: "failed", directory: directory, summary: nil, message: message)
        }
        return failedRun(json: json, code: 2, message: message)
    }
    // --tensorboard is --set output.tensorboard=true, for a new run and a resumed one.
    let tensorboard = parsed.has("--tensorboard") ? ["output.tensorboard=true"] : []
    if let dir = parsed.value("--resume") {
        guard parsed.positionals.isEmpty, parsed.value("--out") == nil else {
            let e = UsageError(message: "--resume DIR continues the run in DIR with its own config.json; give no CONFIG and no --out", command: "run")
            return failedRun(json: json, code: usage(e), message: "error: \(e.message)")
        }
        // A config that does not load is reported by the resume itself, with its context.
        if parsed.value("--metric") != nil, let m = metric,
           let config = try? ConfigLoader.load(path: dir + "/config.json", overrides: parsed.all("--set") + tensorboard),
           let problem = config.metricProblem(m.name) {
            return failedBeforeTraining(["error: --metric \(m.name): \(problem)"], directory: dir)
        }
        return train(parsed, directory: dir, threads: threads, metric: metric) { options throws(RunError) in
            try Experiment.resume(directory: dir, overrides: parsed.all("--set") + tensorboard, options: options)
        }
    }
    guard parsed.positionals.count == 1 else {
        let e = UsageError(message: parsed.positionals.isEmpty ? "missing CONFIG" : "expected one CONFIG, got \(parsed.positionals.count) arguments", command: "run")
        return failedRun(json: json, code: usage(e), message: "error: \(e.message)")
    }
    let path = parsed.positionals[0]
    var sets = parsed.all("--set")
    if let file = parsed.value("--params-json") {
        do { sets = try paramsJSON(file, config: try? ConfigLoader.loadJSON(path: path)) + sets } catch {
            return failedBeforeTraining(["error: --params-json \(file): \(error.message)"], directory: parsed.value("--out"))
        }
    }
    let config: ExperimentConfig
    do {
        config = try ConfigLoader.load(path: path, overrides: sets + (parsed.has("--diagnose") ? ["diagnostics=true"] : []) + tensorboard)
    } catch {
        return failedBeforeTraining(error.lines, directory: parsed.value("--out"))
    }
    let directory = parsed.value("--out") ?? config.runDirectory
    if parsed.value("--metric") != nil, let m = metric, let problem = config.metricProblem(m.name) {
        return failedBeforeTraining(["error: --metric \(m.name): \(problem)"], directory: directory)
    }
    // Warnings are printed even with --quiet, which silences progress only.
    for w in config.warnings { printError("warning: \(path): \(w)") }
    return train(parsed, directory: directory, threads: threads, metric: metric) { options throws(RunError) in
        try Experiment.run(config, options: options)
    }
}

/// `--metric NAME[:minimize|:maximize]` (default with `--result-json`: val_loss, falling back
/// to loss where the run has no validation data); nil when neither flag is given.
func runMetric(_ parsed: Arguments) -> Result<SweepMetric?, UsageError> {
    guard let m = parsed.value("--metric") ?? (parsed.value("--result-json") != nil ? "val_loss" : nil) else { return .success(nil) }
    let parts = m.split(separator: ":").map(String.init)
    guard let name = parts.first, SweepMetric.columns.contains(name),
          parts.count == 1 || (parts.count == 2 && ["minimize", "maximize"].contains(parts[1])) else {
        var message = "--metric: expected one of \(SweepMetric.columns.joined(separator: ", ")) with an optional :minimize or :maximize, got \(m)"
        if let name = parts.first, let c = suggestion(for: name, in: SweepMetric.columns), c != name { message += ". Did you mean \(c)?" }
        return .failure(UsageError(message: message, command: "run"))
    }
    return .success(SweepMetric(name: name, maximize: parts.count == 2 ? parts[1] == "maximize" : Metric(rawValue: name)?.maximize == true))
}

/// Why `--result-json FILE` cannot be written (checked before training, so a run is never
/// wasted on an unwritable result): an empty path, a directory, a folder that does not
/// exist or is not writable. Nil when it can be.
func resultJSONProblem(_ file: String) -> String? {
    if file.isEmpty { return "expected a file path, got an empty string" }
    if FileIO.isDirectory(file) { return "is a directory; expected a file path" }
    if file.hasSuffix("/") { return "ends in /; expected a file path" }
    var dir = "."
    if let slash = file.lastIndex(of: "/") { dir = slash == file.startIndex ? "/" : String(file[..<slash]) }
    guard FileIO.isDirectory(dir) else { return "its folder \(dir) does not exist" }
    guard access(dir, W_OK) == 0 || (FileIO.exists(file) && access(file, W_OK) == 0) else {
        return "its folder \(dir) is not writable"
    }
    return nil
}

/// With `--json`, a failed run prints one JSON object on stdout too, so that a script reading
/// stdout never parses empty output: `{"status", "exit_code", "message", "summary"}`, where
/// `status` is `diverged`, `interrupted` or `failed` and `summary` is the run's summary.json
/// where one was written (null otherwise). Returns `code`.
func failedRun(json: Bool, code: Int32, status: String = "failed", message: String, summary: JSONValue? = nil) -> Int32 {
    guard json else { return code }
    printOut(JSONValue.object([
        ("status", .string(status)), ("exit_code", .number(Double(code))),
        ("message", .string(message)), ("summary", summary ?? .null),
    ]).serialized())
    return code
}

/// Runs `body` with progress, signal handling and the result printing of `nntrain run`.
func train(_ parsed: Arguments, directory: String, threads: Int?, metric initialMetric: SweepMetric?,
           _ body: (Experiment.Options) throws(RunError) -> Experiment.Result) -> Int32 {
    let quiet = parsed.has("--quiet")
    var metric = initialMetric
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
                let message = "error: \(result.directory)/curves.csv has no finite \(metric.name) (does the config have validation data?)"
                printError(message)
                return failedRun(json: parsed.has("--json"), code: 1, message: message, summary: result.summary)
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
            for finding in diagnosisLines(summary: result.summary) { printOut("diagnosis: " + finding) }
            printOut("results: \(result.directory)/")
        } else {
            // --quiet keeps what needs attention: the findings, on stderr; not "healthy".
            for finding in diagnosisLines(summary: result.summary) where finding != "healthy" { printError("diagnosis: " + finding) }
        }
        return 0
    } catch {
        let status: String
        var summary: JSONValue? = nil
        switch error {
        case .diverged: status = "diverged"
        case .interrupted: status = "interrupted"
        default: status = "failed"
        }
        if status != "failed", let bytes = try? FileIO.read(directory + "/summary.json", limit: 16 << 20) {
            summary = try? JSONValue.parse(bytes)
        }
        if let file = parsed.value("--result-json"), let metric {
            // A diverged or interrupted run's result carries the summary it wrote.
            _ = writeResultJSON(file, metric: metric, best: nil, status: status, directory: directory, summary: summary, message: error.description)
        }
        progress.endLine()
        let message: String
        if case .interrupted(let signal) = error {
            // Interrupted while the data was still being read (a FIFO without a writer): no
            // summary of this run exists, and there is nothing to resume.
            if summary?["stop_reason"] == .string("interrupted") {
                message = "\(interruptedMessage(signal)); partial results written; resume with: nntrain run --resume \(directory)"
            } else {
                message = "\(interruptedMessage(signal)) before training began; nothing was written"
            }
        } else {
            message = error.description
        }
        printError(message)
        if !parsed.has("--json") {
            for finding in diagnosisLines(summary: summary) where !(quiet && finding == "healthy") { printError("diagnosis: " + finding) }
        }
        return failedRun(json: parsed.has("--json"), code: error.exitCode, status: status, message: message, summary: summary)
    }
}

/// `interrupted (Ctrl-C)` or `interrupted (SIGTERM)`: what the user did, in their words.
func interruptedMessage(_ signal: Int32) -> String {
    switch signal {
    case SIGINT: return "interrupted (Ctrl-C)"
    case SIGTERM: return "interrupted (SIGTERM)"
    default: return "interrupted by signal \(signal)"
    }
}

func usage(_ e: UsageError) -> Int32 {
    printError("error: \(e.message)")
    printError("usage: see `nntrain \(e.command.map { "\($0) " } ?? "")--help`")
    return 2
}

/// Reads a JSON object of config paths and values as `--set` assignments: flat
/// (`{"optimizer.lr": 0.01}`), nested (`{"optimizer": {"lr": 0.01}}`, merged key by key into
/// the config exactly as `--set optimizer.lr=0.01` would, never replacing the whole object), or
/// with W&B's wrapper at any level (`{"optimizer.lr": {"value": 0.01}}`). An object goes in
/// whole where `config` holds no object or list at its path (`{"model": {"init": {"type":
/// "orthogonal"}}}` over `"init": "he_normal"`), as do an empty object and a list. A number
/// beyond the range of a double is an error.
func paramsJSON(_ file: String, config: JSONValue? = nil) throws(OverrideError) -> [String] {
    let bytes: [UInt8]
    let json: JSONValue
    do {
        bytes = try FileIO.read(file, limit: 16 << 20)
        json = try JSONValue.parse(bytes)
    } catch {
        throw OverrideError(message: "\(error)")
    }
    guard case .object = json else {
        throw OverrideError(message: "expected an object of config paths and values, e.g. {\"optimizer.lr\": 0.01}, got \(json.brief)")
    }
    var assignments: [String] = []
    /// Whether the config holds an object or list at the dotted `key` (or nothing: merging
    /// into a missing object creates it, as --set does).
    func isContainer(_ key: String) -> Bool {
        var node = config
        for part in key.split(separator: ".").map(String.init) {
            switch node {
            case .object(let pairs)?: node = pairs.last { $0.0 == part }?.1
            case .array(let items)?: node = Int(part).flatMap { $0 >= 0 && $0 < items.count ? items[$0] : nil }
            default: return node == nil || node == .null
            }
        }
        switch node {
        case .object?, .array?, .null?, nil: return true
        default: return false
        }
    }
    func walk(_ value: JSONValue, _ key: String) throws(OverrideError) {
        var v = value
        if !key.isEmpty, case .object(let inner) = v, inner.count == 1, inner[0].0 == "value" { v = inner[0].1 }
        if case .object(let pairs) = v, key.isEmpty || (!pairs.isEmpty && isContainer(key)) {
            for (k, child) in pairs {
                if k.isEmpty || k.contains("=") || k.hasPrefix(".") || k.hasSuffix(".") {
                    throw OverrideError(message: "$\(key.isEmpty ? "" : "." + key): expected config path keys like \"lr\" or \"optimizer.lr\", got \(JSONValue.quote(k))")
                }
                try walk(child, key.isEmpty ? k : key + "." + k)
            }
            return
        }
        if v.containsNonFiniteNumber {
            throw OverrideError(message: "$.\(key): the number \(outOfRangeNumbers(bytes).first ?? "") is out of range (beyond ±1.8e308)")
        }
        assignments.append("\(key)=\(v.serialized(indent: 0))")
    }
    try walk(json, "")
    return assignments
}

/// `--result-json FILE`: the metric at its best epoch, the run's status and summary.
func writeResultJSON(_ file: String, metric: SweepMetric, best: (value: Double, epoch: Int)?, status: String,
                     directory: String?, summary: JSONValue?, message: String? = nil) -> Bool {
    let json = JSONValue.object([
        ("metric", .string(metric.name)), ("goal", .string(metric.goal)),
        ("value", best.map { .number($0.value) } ?? .null),
        ("best_epoch", best.map { .number(Double($0.epoch)) } ?? .null),
        ("status", .string(status)), ("message", message.map { .string($0) } ?? .null),
        ("run_dir", directory.map { .string($0) } ?? .null), ("summary", summary ?? .null),
    ])
    do { try FileIO.writeAtomically(file, text: json.serialized() + "\n") } catch {
        printError("error: --result-json: \(error)")
        return false
    }
    return true
}
