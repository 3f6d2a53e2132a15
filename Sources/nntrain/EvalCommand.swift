import NNCore
import NNTrain

/// `nntrain eval RUN_DIR [--data SOURCE] [--threads N] [--json]`.
func evalCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    let threads: Int?
    do {
        parsed = try Arguments(args, command: "eval", valued: ["--data", "--threads"], boolean: ["--json", "--help", "-h"])
        threads = try parsed.int("--threads", range: 1...1024, command: "eval")
    } catch {
        return usage(error)
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.eval); return 0 }
    guard parsed.positionals.count == 1 else { return usage(UsageError(message: "expected one RUN_DIR", command: "eval")) }
    let dir = parsed.positionals[0]
    var source: DataSource? = nil
    if let text = parsed.value("--data") {
        do {
            source = try DataSource.parse(text, baseDirectory: ".")
        } catch {
            for e in error.errors { printError("--data: \(e)") }
            return 2
        }
    }
    do {
        let e = try Experiment.evaluate(directory: dir, data: source, threads: threads)
        if parsed.has("--json") {
            let json = JSONValue.object([
                ("examples", .number(Double(e.examples))), ("loss", e.loss.isFinite ? .number(e.loss) : .null),
                ("accuracy", e.accuracy.map { .number($0) } ?? .null), ("data", .string(e.source)),
                ("seconds", .number((e.seconds * 1e4).rounded() / 1e4)), ("samples_per_second", .number(e.samplesPerSecond.rounded())),
            ])
            printOut(json.serialized())
        } else {
            printOut("\(e.examples) examples from \(e.source)")
            printOut("loss \(fmt(e.loss, 4))" + (e.accuracy.map { "  accuracy \(fmt($0, 4))" } ?? ""))
        }
        if !e.loss.isFinite {
            // NaN/Inf weights or inputs: no figure of this evaluation means anything.
            printError("error: the loss on \(e.source) is \(e.loss.isNaN ? "NaN" : "infinite"): the model's outputs are not finite (NaN or infinite weights or inputs)")
            return 4
        }
        return 0
    } catch {
        printError(error.description)
        return error.exitCode
    }
}
