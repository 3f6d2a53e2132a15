import NNCore
import NNTrain

/// `nntrain predict RUN_DIR... [--data SOURCE] [--out FILE] [--top-k K] [--probabilities]
/// [--combine mean|geometric] [--tta flip] [--threads N] [--json]`. Exit 2 for usage, runs
/// that cannot form an ensemble, or data that does not fit; 3 for a run's file or data that
/// does not read or a config.json edited after the run; 4 for outputs that are not finite;
/// 1 when the predictions cannot be written.
func predictCommand(_ args: ArraySlice<String>) -> Int32 {
    let p: Arguments
    let topK: Int?, threads: Int?
    do {
        p = try Arguments(args, command: "predict", valued: ["--data", "--out", "-o", "--top-k", "--combine", "--tta", "--threads", "--snapshots"],
                          boolean: ["--probabilities", "--json", "--quiet", "--help", "-h"])
        topK = try p.int("--top-k", range: 1...1 << 16, command: "predict")
        threads = try p.int("--threads", range: 1...1024, command: "predict")
    } catch {
        return usage(error)
    }
    if p.has("--help") || p.has("-h") { printOut(Help.predict); return 0 }
    let dirs = p.positionals
    guard !dirs.isEmpty else { return usage(UsageError(message: "expected at least one RUN_DIR", command: "predict")) }
    let combineText = p.value("--combine") ?? "mean"
    guard let combine = Prediction.Combine(rawValue: combineText) else {
        return usage(UsageError(message: "--combine \(combineText): expected mean or geometric", command: "predict"))
    }
    let tta = p.value("--tta")
    guard tta == nil || tta == "flip" else { return usage(UsageError(message: "--tta \(tta!): expected flip", command: "predict")) }
    let outs = p.all("--out") + p.all("-o")
    guard outs.count <= 1 else { return usage(UsageError(message: "--out given more than once", command: "predict")) }
    let out = outs.first
    if p.has("--json") && out == nil {
        return usage(UsageError(message: "--json prints the figures; give --out FILE for the predictions", command: "predict"))
    }
    do {
        var models: [TrainedModel] = []
        for d in dirs {
            if let spec = p.value("--snapshots") {
                for s in try Snapshots.select(spec, in: d) { models.append(try TrainedModel.load(d, weights: s.path)) }
            } else {
                models.append(try TrainedModel.load(d))
            }
        }
        try Prediction.checkEnsemble(models)
        Experiment.setThreads(config: models[0].config, option: threads)
        let dataset = try Prediction.dataset(p.value("--data"), for: models[0])
        let k = topK ?? 1
        guard !models[0].isClassifier || k <= models[0].outputCount else {
            return usage(UsageError(message: "--top-k \(k): the model has \(models[0].outputCount) classes", command: "predict"))
        }
        let result = try Prediction.run(models, on: dataset, combine: combine, flip: tta == "flip")
        let output = PredictionOutput(result: result, models: models, dataset: dataset, topK: k, probabilities: p.has("--probabilities"))
        if let out {
            do { try FileIO.writeAtomically(out, text: output.csv) } catch {
                printError("error: cannot write \(out): \(error)")
                return 1
            }
        } else {
            writeOut(output.csv)
        }
        let summary = output.summary
        if p.has("--json") {
            guard case .object(var o) = summary else { return 1 }
            o.append(("out", .string(out ?? "")))
            printOut(JSONValue.object(o).serialized())
        } else if !p.has("--quiet") {
            // With the CSV on stdout, the figures go to stderr.
            let say: (String) -> Void = out == nil ? { printError($0) } : { printOut($0) }
            say("predicted \(result.count) examples of \(dataset.origin) with \(models.count == 1 ? "1 model" : "an ensemble of \(models.count) (\(combine.rawValue))")"
                + (tta == "flip" ? ", averaged over the horizontal mirror" : "") + (out.map { ": \($0)" } ?? ""))
            for line in PredictionOutput.describe(summary) { say(line) }
        }
        return 0
    } catch {
        printError(error.description)
        return error.exitCode
    }
}
