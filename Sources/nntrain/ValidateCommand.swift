import NNCore
import NNTrain

/// `nntrain validate CONFIG [...]`: every problem at once, or the effective config and plan.
func validateCommand(_ args: ArraySlice<String>) -> Int32 {
    let parsed: Arguments
    do {
        parsed = try Arguments(args, command: "validate", valued: ["--set"], boolean: ["--quiet", "--help", "-h"])
    } catch {
        return usage(error)
    }
    if parsed.has("--help") || parsed.has("-h") { printOut(Help.validate); return 0 }
    guard parsed.positionals.count == 1 else {
        return usage(UsageError(message: "expected one CONFIG", command: "validate"))
    }
    let path = parsed.positionals[0]
    if parsed.all("--set").isEmpty, let json = try? ConfigLoader.loadJSON(path: path), SweepLoader.isSweepFile(json) {
        return validateSweep(path, quiet: parsed.has("--quiet"))
    }
    let config: ExperimentConfig
    do {
        config = try ConfigLoader.load(path: path, overrides: parsed.all("--set"))
    } catch {
        for line in error.lines { printError(line) }
        let n = error.lines.count
        printError("\(path): \(n) problem\(n == 1 ? "" : "s") found")
        return 2
    }
    let quiet = parsed.has("--quiet")
    for w in config.warnings { printError("warning: \(path): \(w)") }
    for source in [config.data.train, config.data.validation, config.data.test].compactMap({ $0 }) {
        for f in source.files where !FileIO.exists(f) {
            var hint = ""
            if f.contains("/usr/share/datasets/fashion-mnist") { hint = " (install the Debian package dataset-fashion-mnist: `make data`)" }
            printError("warning: \(path): data file not found: \(f)\(hint)")
        }
    }
    if quiet { return 0 }
    let plan = ModelPlan(config: config)
    printOut("\(path): OK")
    printOut("")
    printOut("effective config:")
    printOut(config.resolved.serialized())
    printOut("")
    printOut("layers (input \(config.model.input)):")
    let nameWidth = max(10, plan.rows.map(\.name.count).max() ?? 0)
    let descWidth = max(12, plan.rows.map(\.description.count).max() ?? 0)
    for row in plan.rows {
        let name = padded(String(repeating: "  ", count: row.depth) + row.name, nameWidth + 2 * row.depth)
        let desc = padded(row.description, descWidth)
        let shape = padded("\(row.outputShape)", 16)
        printOut("  \(name)  \(desc)  \(shape)  \(row.parameterCount) parameters")
    }
    printOut("parameters: \(plan.parameterCount)")
    printOut("")
    let schedule = config.learningRateSchedule(stepsPerEpoch: 1)
    let epochs = config.training.epochs
    var points = Set([0, epochs / 4, epochs / 2, (3 * epochs) / 4, epochs - 1])
    if config.schedule.warmupEpochs > 0 && config.schedule.warmupEpochs < epochs {
        points.insert(config.schedule.warmupEpochs - 1); points.insert(config.schedule.warmupEpochs)
    }
    printOut("learning rate (\(config.schedule.kind.rawValue)\(config.schedule.warmupEpochs > 0 ? ", \(config.schedule.warmupEpochs) warmup epochs ramping per step" : "")):")
    for e in points.sorted() where e >= 0 && e < epochs {
        let lr = e < config.schedule.warmupEpochs ? schedule.learningRate(epoch: e, step: e) : schedule.learningRate(atEpochStart: e)
        printOut("  epoch \(e + 1): \(lr)\(e < config.schedule.warmupEpochs ? " (end of the epoch)" : "")")
    }
    return 0
}

/// `nntrain validate SWEEP.json`: the sweep's checks, then what it would run.
private func validateSweep(_ path: String, quiet: Bool) -> Int32 {
    let plan: SweepPlan
    do { plan = try SweepLoader.plan(path: path, overrides: SweepOverrides()) } catch {
        for line in error.lines { printError(line) }
        printError("\(path): \(error.lines.count) problem\(error.lines.count == 1 ? "" : "s") found")
        return 2
    }
    for w in plan.spec.warnings { printError("warning: \(path): \(w)") }
    if quiet { return 0 }
    printOut("\(path): OK (a sweep over \(plan.spec.configPath))")
    var line = "\(plan.spec.method.rawValue), \(plan.trials.count) trials, \(plan.spec.metric.goal) \(plan.spec.metric.name), seed \(plan.spec.seed), jobs \(plan.spec.jobs)"
    if plan.spec.method == .halving { line += ", rungs of \(plan.rungs.map(String.init).joined(separator: "/")) epochs, eta \(plan.spec.eta)" }
    printOut(line)
    printOut("")
    printOut("parameters:")
    for p in plan.spec.parameters { printOut("  \(p.path): \(p.distribution.json.serialized(indent: 0))") }
    printOut("")
    printOut("first trials:")
    for t in plan.trials.prefix(5) { printOut("  \(SweepPlan.trialName(t.index))  \(SweepReport.describe(t, plan.spec.parameters))") }
    return 0
}
