import NNCore
import NNTrain

/// `nntrain eval RUN_DIR... [--data SOURCE] [--top-k K] [--out DIR] [--threads N] [--json]`.
/// Exit 2 for usage, runs that cannot form an ensemble, data without labels; 3 for a file that
/// does not read; 4 for a loss that is not finite; 1 when `--out` cannot be written.
func evalCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    let threads: Int?, topK: Int?
    do {
        parsed = try Arguments(args, command: "eval", valued: ["--data", "--threads", "--top-k", "--out", "-o"], boolean: ["--json", "--help", "-h"])
        threads = try parsed.int("--threads", range: 1...1024, command: "eval")
        topK = try parsed.int("--top-k", range: 1...1 << 16, command: "eval")
    } catch {
        return usage(error)
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.eval); return 0 }
    let dirs = parsed.positionals
    guard !dirs.isEmpty else { return usage(UsageError(message: "expected at least one RUN_DIR", command: "eval")) }
    let outs = parsed.all("--out") + parsed.all("-o")
    guard outs.count <= 1 else { return usage(UsageError(message: "--out given more than once", command: "eval")) }
    var source: DataSource? = nil
    if let text = parsed.value("--data") {
        do {
            source = try DataSource.parse(text, baseDirectory: ".", labelsRequired: false)
        } catch {
            for e in error.errors { printError("--data: \(e)") }
            return 2
        }
    }
    do {
        let r = try Experiment.evaluate(directories: dirs, data: source, threads: threads, topK: topK.map { [1, $0] } ?? [1, 5])
        func runJSON(_ run: Experiment.RunEvaluation) -> [(String, JSONValue)] {
            let e = run.evaluation
            var o: [(String, JSONValue)] = [
                ("examples", .number(Double(e.examples))), ("loss", e.loss.isFinite ? .number(e.loss) : .null),
                ("accuracy", e.accuracy.map { .number($0) } ?? .null), ("data", .string(e.source)),
                ("seconds", .number((e.seconds * 1e4).rounded() / 1e4)), ("samples_per_second", .number(e.samplesPerSecond.rounded())),
            ]
            o += metricPairs(run.metrics)
            return o
        }
        let json: JSONValue
        if r.runs.count == 1 {
            json = .object(runJSON(r.runs[0]))
        } else {
            let ensemble = (r.ensemble?.figures ?? []) + metricPairs(r.ensemble?.metrics)
            json = .object([("data", .string(r.dataset.origin)), ("examples", .number(Double(r.dataset.count))),
                            ("runs", .array(r.runs.map { .object([("run", .string($0.directory))] + runJSON($0)) })),
                            ("ensemble", .object(ensemble))])
        }
        let shown = r.runs.count == 1 ? r.runs[0].metrics : r.ensemble?.metrics
        if let dir = outs.first {
            do {
                try FileIO.makeDirectories(dir)
                try FileIO.writeAtomically(dir + "/metrics.json", text: json.serialized() + "\n")
                if let m = shown {
                    try FileIO.writeAtomically(dir + "/confusion.csv", text: m.confusionCSV)
                    try FileIO.writeAtomically(dir + "/per_class.csv", text: m.perClassCSV)
                }
            } catch {
                printError("error: cannot write \(dir): \(error)")
                return 1
            }
        }
        if parsed.has("--json") {
            printOut(json.serialized())
        } else {
            printOut("\(r.dataset.count) examples from \(r.dataset.origin)")
            for run in r.runs {
                let e = run.evaluation
                printOut((r.runs.count > 1 ? "\(run.directory): " : "") + "loss \(fmt(e.loss, 4))" + (e.accuracy.map { "  accuracy \(fmt($0, 4))" } ?? ""))
            }
            if let ens = r.ensemble {
                printOut("ensemble (mean of \(r.runs.count)): " + ens.figures.map { "\($0.0) \($0.1.doubleValue.map { fmt($0, 4) } ?? "n/a")" }.joined(separator: "  "))
            }
            if let m = shown { printOut(""); writeOut(m.table()) }
            if let dir = outs.first { printOut("written: \(dir)/metrics.json" + (shown == nil ? "" : ", confusion.csv, per_class.csv")) }
        }
        if let bad = r.runs.first(where: { !$0.evaluation.loss.isFinite }) {
            // NaN/Inf weights or inputs: no figure of this evaluation means anything.
            let loss = bad.evaluation.loss
            printError("error: the loss of \(bad.directory) on \(bad.evaluation.source) is \(loss.isNaN ? "NaN" : "infinite"): the model's outputs are not finite (NaN or infinite weights or inputs)")
            return 4
        }
        return 0
    } catch {
        printError(error.description)
        return error.exitCode
    }
}

/// The per-class figures of `metrics` for eval's JSON, without the keys eval has already.
private func metricPairs(_ metrics: ClassificationMetrics?) -> [(String, JSONValue)] {
    guard case .object(let pairs)? = metrics?.json else { return [] }
    return pairs.filter { !["examples", "accuracy"].contains($0.0) }
}
