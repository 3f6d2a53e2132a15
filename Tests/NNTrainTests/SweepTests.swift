#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NNCore
import Testing
@testable import NNTrain

// Sweeps: distributions, seeded plans, grid, halving promotions, checks, boundary warnings.

private func draws(_ d: Distribution, _ n: Int, seed: UInt64 = 1) -> [Double] {
    var rng = Xoshiro256(seed: seed, stream: .sampling)
    return (0..<n).map { _ in d.sample(&rng).doubleValue! }
}

private func log10(_ x: Double) -> Double { x.log / 10.0.log }

@Test func logUniformValuesAreUniformInLogSpace() {
    let xs = draws(.logUniformValues(min: 1e-6, max: 1), 30_000)
    #expect(xs.allSatisfy { $0 >= 1e-6 && $0 <= 1 })
    // Six one-decade bins each hold a sixth of the draws (±5%: about 3 standard deviations).
    var bins = [Int](repeating: 0, count: 6)
    for x in xs { bins[min(5, Int(log10(x) + 6))] += 1 }
    for b in bins { #expect(abs(Double(b) - 5000) < 250, "decade counts \(bins)") }
    // Linear-space uniform would put ~90% of the draws in the top decade.
    let u = draws(.uniform(min: 1e-6, max: 1), 10_000)
    #expect(u.filter { $0 > 0.1 }.count > 8800)
}

@Test func intUniformBoundsAreInclusiveAndQuantisedDrawsSitOnTheGrid() {
    let ints = draws(.intUniform(min: 1, max: 3), 6_000)
    #expect(Set(ints) == [1, 2, 3])
    for v in [1.0, 2, 3] { #expect(abs(Double(ints.filter { $0 == v }.count) - 2000) < 150) }
    let q = draws(.qUniform(min: 0, max: 1, q: 0.1), 2_000)
    #expect(Set(q).count == 11)          // 0, 0.1, …, 1.0: both ends included by rounding
    for v in q {
        #expect(abs((v / 0.1).rounded() * 0.1 - v) < 1e-12)
        #expect(JSONValue.format(v).count <= 3, "printed as \(JSONValue.format(v))")   // 0.3, not 0.30000000000000004
    }
    let ql = draws(.qLogUniformValues(min: 16, max: 512, q: 16), 2_000)
    #expect(ql.allSatisfy { $0.truncatingRemainder(dividingBy: 16) == 0 && $0 >= 16 && $0 <= 512 })
    // Normal and log-normal: mean and spread.
    let n = draws(.normal(mu: 2, sigma: 0.5), 20_000)
    let mean = n.reduce(0, +) / Double(n.count)
    let sd = (n.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n.count)).squareRoot()
    #expect(abs(mean - 2) < 0.02 && abs(sd - 0.5) < 0.02)
    let ln = draws(.logNormal(mu: -3, sigma: 1), 20_000).map { $0.log }
    #expect(abs(ln.reduce(0, +) / Double(ln.count) + 3) < 0.04)
}

/// A sweep spec from JSON text (its base config is the shipped quickstart).
private func spec(_ text: String) throws -> SweepSpec {
    try SweepReader.read(try JSONValue.parse(text), baseDirectory: repositoryRoot + "configs/sweep", defaultName: "s")
}

private func specErrors(_ text: String) -> [String] {
    do { _ = try spec(text); return [] } catch let e as ConfigErrors { return e.errors.map(\.description) } catch { return ["\(error)"] }
}

private func plan(_ text: String) throws -> SweepPlan {
    let s = try spec(text)
    let base = try ConfigLoader.loadJSON(path: s.configPath)
    return SweepPlan.make(spec: s, base: base, baseDirectory: ConfigLoader.directoryOf(s.configPath))
}

@Test func trialValuesAndSeedsAreAPureFunctionOfSweepSeedAndIndex() throws {
    let text = #"{"config": "../quickstart.json", "run_cap": RUNCAP, "seed": SEED, "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1}, "regularization.l2": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-2}, "model.layers.1.units": {"values": [32, 64, 128]}}}"#
    let a = try plan(text.replacingOccurrences("RUNCAP", "5").replacingOccurrences("SEED", "7"))
    let b = try plan(text.replacingOccurrences("RUNCAP", "12").replacingOccurrences("SEED", "7"))
    let c = try plan(text.replacingOccurrences("RUNCAP", "5").replacingOccurrences("SEED", "8"))
    #expect(a.trials.count == 5 && b.trials.count == 12)
    #expect(Array(b.trials.prefix(5)) == a.trials)        // more trials leave the first ones alone
    #expect(a.trials.map(\.values) != c.trials.map(\.values))
    #expect(Set(a.trials.map(\.seed)).count == 5)          // each trial trains with its own seed
    #expect(a.trials[3].seed == SweepPlan.trialSeed(seed: 7, index: 3))
    // The trial's config carries its values, seed and name.
    let config = try a.config(for: a.trials[2], runDirectory: "/tmp/x")
    #expect(Double(config.optimizer.lr) == Double(Float(a.trials[2].values[0].doubleValue!)))
    #expect(config.seed == a.trials[2].seed && config.name == "s-0002" && config.outputDirectory == "/tmp/x")
}

@Test func discreteSpacesAreSampledWithoutReplacementAndGridsEnumerateInOrder() throws {
    let r = try plan(#"{"config": "../quickstart.json", "run_cap": 10, "parameters": {"optimizer.lr": {"values": [0.1, 0.01, 0.001]}, "optimizer.type": {"values": ["adam", "sgd"]}}}"#)
    #expect(r.trials.count == 6)   // only 6 distinct points
    #expect(Set(r.trials.map { JSONValue.array($0.values).serialized(indent: 0) }).count == 6)
    let g = try plan(#"{"config": "../quickstart.json", "method": "grid", "parameters": {"optimizer.lr": {"values": [0.1, 0.01]}, "model.layers.1.units": {"values": [16, 32, 64]}, "training.epochs": {"value": 1}}}"#)
    #expect(g.trials.map { $0.values.map { SweepReport.cellText($0) }.joined(separator: "/") } ==
            ["0.1/16/1", "0.1/32/1", "0.1/64/1", "0.01/16/1", "0.01/32/1", "0.01/64/1"])
    let errors = specErrors(#"{"config": "../quickstart.json", "method": "grid", "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1}}}"#)
    #expect(errors.count == 1 && errors[0].contains("$.parameters.optimizer.lr") && errors[0].contains("grid search needs a list of values"))
}

@Test func sweepFileErrorsNameThePathAndTheFix() {
    let legacy = specErrors(#"{"config": "c.json", "parameters": {"optimizer.lr": {"distribution": "log_uniform", "min": -13.8, "max": 0}}}"#)
    #expect(legacy.count == 1 && legacy[0].contains("natural-log exponents") && legacy[0].contains("log_uniform_values"))
    let cases: [(String, String)] = [
        (#""parameters": {"optimizer.lr": {"distribution": "log_uniform_valus", "min": 1e-5, "max": 1}}"#, #"Did you mean "log_uniform_values""#),
        (#""parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 0, "max": 1}}"#, "expected a number > 0 for a log-scale"),
        (#""parameters": {"optimizer.lr": {"distribution": "uniform", "min": 1, "max": 0.1}}"#, "expected min < max"),
        (#""parameters": {"optimizer.lr": {"distribution": "int_uniform", "min": 1, "max": 2.5}}"#, "integer min and max"),
        (#""parameters": {"optimizer.lr": {"values": []}}"#, "non-empty list"),
        (#""parameters": {"optimizer.lr": {"values": [1, 2], "probabilities": [0.5]}}"#, "sum to 1"),
        (#""parameters": {"optimizer.lr": 0.1}"#, "expected an object such as"),
        (#""parameters": {"optimizer.lr": {"value": 0.1}}, "metric": {"name": "val_los"}"#, #"Did you mean "val_loss""#),
        (#""parameters": {"optimizer.lr": {"value": 0.1}}, "eta": 2"#, #"only used by method "halving""#),
        (#""parameters": {"optimizer.lr": {"value": 0.1}}, "method": "bayes""#, "Optuna"),
        (#""parameters": {"optimizer.lr": {"value": 0.1}}, "run_caps": 3"#, #"Did you mean "run_cap""#),
    ]
    for (body, expected) in cases {
        let errors = specErrors(#"{"config": "c.json", "# + body + "}")
        #expect(errors.contains { $0.contains(expected) }, "\(body) → \(errors)")
        #expect(errors.allSatisfy { $0.hasPrefix("$.") })
    }
}

@Test func shorthandParsesEveryForm() {
    let d = Diagnostics()
    #expect(SweepReader.parseShorthand("log:1e-6:1", path: "p", diag: d) == .logUniformValues(min: 1e-6, max: 1))
    #expect(SweepReader.parseShorthand("uniform:0:0.5", path: "p", diag: d) == .uniform(min: 0, max: 0.5))
    #expect(SweepReader.parseShorthand("int:16:256", path: "p", diag: d) == .intUniform(min: 16, max: 256))
    #expect(SweepReader.parseShorthand("q:0:1:0.25", path: "p", diag: d) == .qUniform(min: 0, max: 1, q: 0.25))
    #expect(SweepReader.parseShorthand("qlog:16:512:16", path: "p", diag: d) == .qLogUniformValues(min: 16, max: 512, q: 16))
    #expect(SweepReader.parseShorthand("normal:0:2", path: "p", diag: d) == .normal(mu: 0, sigma: 2))
    #expect(SweepReader.parseShorthand("lognormal:-3:1", path: "p", diag: d) == .logNormal(mu: -3, sigma: 1))
    #expect(SweepReader.parseShorthand("adam,sgd", path: "p", diag: d) == .values([.string("adam"), .string("sgd")], probabilities: nil))
    #expect(SweepReader.parseShorthand("64,128", path: "p", diag: d) == .values([.number(64), .number(128)], probabilities: nil))
    #expect(SweepReader.parseShorthand("sgd", path: "p", diag: d) == .constant(.string("sgd")))
    #expect(SweepReader.parseShorthand("[0.9, 0.99]", path: "p", diag: d) == .constant(.array([.number(0.9), .number(0.99)])))
    #expect(SweepReader.parseShorthand(#"{"distribution": "int_uniform", "min": 1, "max": 4}"#, path: "p", diag: d) == .intUniform(min: 1, max: 4))
    #expect(!d.hasErrors)
    #expect(SweepReader.parseShorthand("log:1e-6", path: "p", diag: d) == nil)
    #expect(SweepReader.parseShorthand("log:a:b", path: "p", diag: d) == nil)
    #expect(d.errors.count == 2)
}

@Test func parametersAndMetricAreCheckedAgainstTheBaseConfigBeforeAnythingRuns() throws {
    func problems(_ params: String, metric: String = "val_loss", config: String = "../quickstart.json") throws -> [String] {
        let s = try spec(#"{"config": "\#(config)", "metric": {"name": "\#(metric)"}, "parameters": \#(params)}"#)
        let base = try ConfigLoader.loadJSON(path: s.configPath)
        return SweepPlan.check(spec: s, base: base, baseDirectory: ConfigLoader.directoryOf(s.configPath), configName: "quickstart.json").map(\.description)
    }
    #expect(try problems(#"{"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1}}"#).isEmpty)
    let typo = try problems(#"{"optimizer.lrr": {"values": [0.1]}}"#)
    #expect(typo.count == 1 && typo[0].hasPrefix("$.parameters.optimizer.lrr") && typo[0].contains(#"Did you mean "lr""#))
    let index = try problems(#"{"model.layers.7.units": {"values": [32]}}"#)
    #expect(index.count == 1 && index[0].contains("is a list of 4"))
    let type = try problems(#"{"training.batch_size": {"distribution": "uniform", "min": 16, "max": 256}}"#)
    #expect(type.count == 1 && type[0].contains("$.training.batch_size") && type[0].contains("integer"))
    #expect(try problems(#"{"training.batch_size": {"distribution": "int_uniform", "min": 16, "max": 256}}"#).isEmpty)
    let range = try problems(#"{"model.layers.2.rate": {"distribution": "uniform", "min": 0.1, "max": 1.5}}"#)
    #expect(range.count == 1 && range[0].contains("with max 1.5"))
    let kind = try problems(#"{"optimizer.type": {"values": ["adam", "adamax"]}}"#)
    #expect(kind.count == 1 && kind[0].contains(#"value "adamax""#))
    // A metric the runs will not write.
    let noVal = try spec(#"{"config": "../quickstart.json", "parameters": {"data.validation_split": {"value": 0}}}"#)
    _ = noVal
    let base = try ConfigLoader.loadJSON(path: repositoryRoot + "configs/quickstart.json")
    let stripped = try applyOverride(path: "data.validation_split", value: .number(0), to: base)
    let s = try spec(#"{"config": "../quickstart.json", "parameters": {"optimizer.lr": {"value": 0.01}}}"#)
    let metricErrors = SweepPlan.check(spec: s, base: stripped, baseDirectory: repositoryRoot + "configs", configName: "q.json")
    #expect(metricErrors.count == 1 && metricErrors[0].path == "$.metric.name" && metricErrors[0].message.contains("validation_split"))
}

// MARK: Halving and the ledger

private func tempSweepDirectory(_ name: String) -> String {
    let d = "/tmp/nntrain-sweep-unit-\(name)-\(Runtime.processID)"
    for sub in ["ledger", "heartbeats"] { for f in FileIO.listDirectory(d + "/" + sub) { FileIO.remove(d + "/" + sub + "/" + f) } }
    return d
}

/// A pid that no process has (pid_max is at most 2^22 on Linux).
private let deadPID: Int32 = 0x7FFF_FFF0

@Test func halvingPromotesTheBestThirdOfEachRung() throws {
    let p = try plan(#"{"config": "../quickstart.json", "method": "halving", "min_epochs": 1, "max_epochs": 9, "eta": 3, "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}}}"#)
    #expect(p.rungs == [1, 3, 9] && p.trials.count == 9)
    let dir = tempSweepDirectory("halving")
    let ledger = SweepLedger(directory: dir)
    // Rung 0: trial i scores (i * 7) % 9, so the ranking (minimize) is known: 0, 4, 8 are best.
    for i in 0..<9 {
        let task = SweepTask(trial: i, rung: 0)
        #expect(try ledger.claim(task, attempt: 1, pid: deadPID) != nil)
        if i == 5 {
            try ledger.record(SweepResult(task: task, attempt: 1, status: .failed, metric: nil, bestEpoch: nil, epochsRun: 0,
                                          seconds: 0, stopReason: nil, reason: "diverged", exitCode: 4))
            continue
        }
        try ledger.record(SweepResult(task: task, attempt: 1, status: .completed, metric: Double((i * 7) % 9), bestEpoch: 1,
                                      epochsRun: 1, seconds: 0, stopReason: "paused", reason: nil, exitCode: 0))
    }
    var status = SweepStatus(plan: p, ledger: ledger)
    #expect(status.openRungs == 2)
    #expect(status.tasks.keys.filter { $0.rung == 1 }.map(\.trial).sorted() == [0, 4, 8])
    #expect(status.nextClaimable(retryFailed: false, skip: [])?.task == SweepTask(trial: 0, rung: 1))
    // The failure is final once rung 1 is open, even with --retry-failed.
    #expect(status.nextClaimable(retryFailed: true, skip: [])?.task.rung == 1)
    // A claim whose process is gone is stale and resumes as attempt 2; a live one is running.
    _ = try ledger.claim(SweepTask(trial: 0, rung: 1), attempt: 1, pid: deadPID)
    _ = try ledger.claim(SweepTask(trial: 4, rung: 1), attempt: 1, pid: Runtime.processID)
    status = SweepStatus(plan: p, ledger: ledger)
    #expect(status.tasks[SweepTask(trial: 0, rung: 1)].map { if case .stale = $0 { return true }; return false } == true)
    #expect(status.tasks[SweepTask(trial: 4, rung: 1)].map { if case .running = $0 { return true }; return false } == true)
    let next = status.nextClaimable(retryFailed: false, skip: [])
    #expect(next?.task == SweepTask(trial: 0, rung: 1) && next?.attempt == 2 && next?.fresh == false)
    #expect(try ledger.claim(SweepTask(trial: 0, rung: 1), attempt: 2) != nil)
    #expect(try ledger.claim(SweepTask(trial: 0, rung: 1), attempt: 2) == nil)   // a second claimer loses
    // Finish rung 1: trial 8 best → the only one at rung 2.
    for (t, m) in [(0, 0.5), (4, 0.7), (8, 0.2)] {
        try ledger.record(SweepResult(task: SweepTask(trial: t, rung: 1), attempt: t == 0 ? 2 : 1, status: .completed, metric: m,
                                      bestEpoch: 3, epochsRun: 3, seconds: 1, stopReason: "paused", reason: nil, exitCode: 0))
    }
    status = SweepStatus(plan: p, ledger: ledger)
    #expect(status.tasks.keys.filter { $0.rung == 2 }.map(\.trial) == [8])
    #expect(!status.isFinished)
    try ledger.record(SweepResult(task: SweepTask(trial: 8, rung: 2), attempt: 1, status: .completed, metric: 0.1, bestEpoch: 9,
                                  epochsRun: 9, seconds: 3, stopReason: "completed", reason: nil, exitCode: 0))
    status = SweepStatus(plan: p, ledger: ledger)
    #expect(status.isFinished)
    let report = SweepReport.collect(plan: p, directory: dir, ledger: ledger)
    #expect(report.best?.trial == 8 && report.best?.rung == 2)
    #expect(report.ranked.map(\.trial) == [8, 0, 4, 3, 7, 2, 6, 1])   // rung first, then metric
    #expect(report.rows[5].status == "failed" && report.rows[5].reason == "diverged")
    let csv = report.csv.split(separator: "\n")
    #expect(csv[0] == "trial,status,rung,optimizer.lr,val_loss,best_epoch,epochs_run,seconds,run_dir,reason")
    #expect(csv.count == 10 && csv[9].hasPrefix("8,completed,2,") && csv[9].contains(",0.1,9,9,4,trials/0008,"))
}

@Test func boundaryRuleWarnsWhenTheBestValueSitsAtAnEdge() throws {
    let p = try plan(#"{"config": "../quickstart.json", "run_cap": 3, "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1}, "regularization.l2": {"distribution": "uniform", "min": 0, "max": 0.01}, "model.layers.1.units": {"values": [16, 32, 64]}}}"#)
    func report(_ values: [JSONValue]) -> SweepReport {
        var plan = p
        plan.trials = [PlannedTrial(index: 0, seed: 1, values: values)]
        let row = SweepReport.Row(trial: 0, status: "completed", rung: 0, values: values, metric: 0.5, bestEpoch: 1, epochsRun: 1,
                                  seconds: 1, runDirectory: "trials/0000", reason: nil)
        var r = SweepReport(plan: plan, rows: [row], ranked: [row], warnings: [], finished: true)
        r.warnings = r.boundaryWarnings().map(\.message)
        return r
    }
    // lr 0.5 is in the top 10% of [1e-6, 1] in log space (log10 0.5 = -0.3 > -0.6).
    let top = report([.number(0.5), .number(0.005), .number(32)]).warnings
    #expect(top.count == 1 && top[0].contains("optimizer.lr") && top[0].contains("top 10%") && top[0].contains("log scale")
            && top[0].contains("max 1000") && top[0].contains("log:1e-06:1000"))
    // What the report draws: the edge and the widened range.
    let w = report([.number(0.5), .number(0.005), .number(32)]).boundaryWarnings()
    #expect(w.count == 1 && w[0].path == "optimizer.lr" && w[0].upper && w[0].widened?.min == 1e-6 && w[0].widened?.max == 1000)
    // 1e-3 is the middle of the log range even though it is near 0 in linear terms: no warning.
    #expect(report([.number(1e-3), .number(0.005), .number(32)]).warnings.isEmpty)
    let bottom = report([.number(1e-3), .number(0.0005), .number(64)]).warnings
    #expect(bottom.count == 2)
    #expect(bottom[0].contains("regularization.l2") && bottom[0].contains("bottom 10%") && bottom[0].contains("cannot widen"))
    #expect(bottom[1].contains("model.layers.1.units") && bottom[1].contains("largest of the values"))
}

// MARK: Repeats

private let lrSpace = #""optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1}, "model.layers.1.units": {"values": [32, 64, 128]}"#

@Test func repeatsTrainEachConfigurationSeveralTimesWithSeedsOfItsOwn() throws {
    let single = try plan(#"{"config": "../quickstart.json", "run_cap": 4, "seed": 3, "parameters": {"# + lrSpace + "}}")
    let repeated = try plan(#"{"config": "../quickstart.json", "run_cap": 4, "seed": 3, "repeats": 3, "parameters": {"# + lrSpace + "}}")
    #expect(single.trials.count == 4 && single.configurationCount == 4 && single.spec.repeats == 1)
    #expect(repeated.trials.count == 12 && repeated.configurationCount == 4)
    for t in repeated.trials {
        // Trial c·3 + k is repeat k of configuration c: the values of the configuration's trial without repeats.
        #expect(t.config == t.index / 3 && t.repeatIndex == t.index % 3)
        #expect(t.values == single.trials[t.config].values)
    }
    // Repeat 0 trains with the seed the configuration has without repeats; every trial has its own seed.
    #expect(repeated.trials.filter { $0.repeatIndex == 0 }.map(\.seed) == single.trials.map(\.seed))
    #expect(Set(repeated.trials.map(\.seed)).count == 12)
    #expect(repeated.trials[7].seed == SweepPlan.repeatSeed(seed: 3, config: 2, repeatIndex: 1))
    // The trial's config carries its seed; plan.json reads back the same trials.
    let config = try repeated.config(for: repeated.trials[5], runDirectory: "/tmp/x")
    #expect(config.seed == repeated.trials[5].seed && config.name == "s-0005")
    #expect(repeated.json["repeats"]?.doubleValue == 3 && repeated.json["run_cap"]?.doubleValue == 4)
    // A seed parameter and repeats contradict each other; repeats must be 1…1000.
    let seedErrors = specErrors(#"{"config": "../quickstart.json", "repeats": 2, "parameters": {"seed": {"values": [1, 2]}}}"#)
    #expect(seedErrors == [#"$.parameters.seed: repeats 2 trains each configuration with seeds of its own, and seed is a parameter of this sweep: remove seed from the parameters, or set repeats to 1"#])
    #expect(specErrors(#"{"config": "../quickstart.json", "repeats": 0, "parameters": {"seed": {"values": [1, 2]}}}"#)
            == ["$.repeats: expected integer in 1...1000, got 0"])
}

/// Records a completed result for `trial` at `rung`.
private func complete(_ ledger: SweepLedger, _ trial: Int, rung: Int, _ metric: Double) throws {
    let task = SweepTask(trial: trial, rung: rung)
    _ = try ledger.claim(task, attempt: 1, pid: deadPID)
    try ledger.record(SweepResult(task: task, attempt: 1, status: .completed, metric: metric, bestEpoch: 1, epochsRun: 1,
                                  seconds: 1, stopReason: "paused", reason: nil, exitCode: 0))
}

@Test func halvingWithRepeatsPromotesConfigurationsOnTheirMean() throws {
    let p = try plan(#"{"config": "../quickstart.json", "method": "halving", "min_epochs": 1, "max_epochs": 3, "eta": 3, "repeats": 2, "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}}}"#)
    #expect(p.rungs == [1, 3] && p.configurationCount == 3 && p.trials.count == 6)
    let dir = tempSweepDirectory("halving-repeats")
    let ledger = SweepLedger(directory: dir)
    // Configuration 0 has the single best run (0.1) but the worst mean (0.55); configuration 2 the best mean (0.3).
    let rung0: [Double] = [0.1, 1.0, 0.4, 0.45, 0.35, 0.25]
    for (trial, m) in rung0.enumerated() { try complete(ledger, trial, rung: 0, m) }
    var status = SweepStatus(plan: p, ledger: ledger)
    // Both repeats of the best-mean configuration go on together; a per-trial ranking would promote trial 0.
    #expect(status.tasks.keys.filter { $0.rung == 1 }.map(\.trial).sorted() == [4, 5])
    try complete(ledger, 4, rung: 1, 0.2)
    try complete(ledger, 5, rung: 1, 0.3)
    status = SweepStatus(plan: p, ledger: ledger)
    #expect(status.isFinished)
    let report = SweepReport.collect(plan: p, directory: dir, ledger: ledger)
    #expect(report.rankedConfigs.map(\.config) == [2, 1, 0])
    let top = report.rankedConfigs[0]
    #expect(top.rung == 1 && top.metrics == [0.2, 0.3] && abs(top.mean! - 0.25) < 1e-12)
    #expect(abs(top.std! - (0.005).squareRoot()) < 1e-12)      // sample std: √(((0.05)² + (0.05)²) / 1)
    #expect(report.best?.trial == 4)                               // best.json: the configuration's first repeat
    let csv = report.csv.split(separator: "\n")
    #expect(csv[0] == "trial,config,repeat,status,rung,optimizer.lr,val_loss,val_loss_mean,val_loss_std,best_epoch,epochs_run,seconds,run_dir,reason")
    #expect(csv[1].hasPrefix("0,0,0,completed,0,") && csv[1].contains(",0.1,0.55,"))
    let configs = report.configsCSV.split(separator: "\n")
    #expect(configs[0] == "config,status,rung,optimizer.lr,val_loss_mean,val_loss_std,val_loss_min,val_loss_max,completed,repeats,seconds,trials")
    #expect(configs[3].hasPrefix("2,completed,1,") && configs[3].contains(",0.25,0.0707106781186547")
            && configs[3].hasSuffix(",0.2,0.3,2,2,4,0004 0005"))
    #expect(report.table().contains("(minimize the mean val_loss of 2 repeats per configuration)"))
    #expect(report.json["leaderboard"]?.arrayValue?.first?["config"]?.doubleValue == 2)
}

@Test func ledgerFilesWithNumbersOutOfRangeAreSkippedWithAWarningNamingTheFile() throws {
    let dir = tempSweepDirectory("ledger-garbage")
    try FileIO.makeDirectories(dir + "/ledger")
    try FileIO.makeDirectories(dir + "/heartbeats")
    try FileIO.writeAtomically(dir + "/ledger/result-0000-r0-a1.json", text: #"{"trial": 1e300, "rung": 0, "attempt": 1, "status": "completed", "metric": 0.5}"#)
    try FileIO.writeAtomically(dir + "/ledger/claim-0001-r0-a1.json", text: #"{"trial": 1, "rung": 0, "attempt": 1, "host": "h", "pid": -1e20, "time": 0}"#)
    try FileIO.writeAtomically(dir + "/ledger/result-0002-r0-a1.json", text: #"{"trial": 2, "rung": 0, "attempt": 1, "status": "completed", "metric": 0.5, "best_epoch": 1e99, "exit_code": -7}"#)
    try FileIO.writeAtomically(dir + "/ledger/claim-0003-r0-a1.json", text: #"{"trial": 3, "rung": 0, "attempt": 1, "host": "h", "pid": 99999999999, "time": 0}"#)
    // Content that names another task than its file; a time a century ahead; not UTF-8.
    try FileIO.writeAtomically(dir + "/ledger/claim-0004-r0-a1.json", text: #"{"trial": 5, "rung": 0, "attempt": 1, "host": "h", "pid": 12, "time": 0}"#)
    try FileIO.writeAtomically(dir + "/ledger/claim-0005-r0-a2.json", text: #"{"trial": 5, "rung": 0, "attempt": 2, "host": "h", "pid": 12, "time": 5e9}"#)
    try FileIO.writeAtomically(dir + "/ledger/result-0006-r0-a1.json", [0x7B, 0xFF, 0xFE, 0x22, 0x7D])
    // A heartbeat whose pid does not fit a pid_t: a SIGILL in Int32(_:) before.
    try FileIO.writeAtomically(dir + "/heartbeats/0000-r0-a1", text: #"{"host": "h", "pid": 1e15, "time": 1}"#)
    let s = SweepLedger(directory: dir).snapshot()
    #expect(s.results.keys.map(\.trial) == [2])
    #expect(s.results[SweepTask(trial: 2, rung: 0)]?[1]?.bestEpoch == nil && s.results[SweepTask(trial: 2, rung: 0)]?[1]?.exitCode == 0)
    #expect(s.heartbeats.isEmpty)
    let problems = s.problems.sorted()
    #expect(problems == [
        dir + "/heartbeats/0000-r0-a1: skipped: not a heartbeat (expected host, pid in 1…2^31−1, time)",
        dir + "/ledger/claim-0001-r0-a1.json: skipped: not a claim (expected trial, rung, attempt, host, pid in 1…2^31−1, time)",
        dir + "/ledger/claim-0003-r0-a1.json: skipped: not a claim (expected trial, rung, attempt, host, pid in 1…2^31−1, time)",
        dir + "/ledger/claim-0004-r0-a1.json: skipped: its trial, rung or attempt differ from its file name",
        dir + "/ledger/claim-0005-r0-a2.json: skipped: not a claim (expected trial, rung, attempt, host, pid in 1…2^31−1, time)",
        dir + "/ledger/result-0000-r0-a1.json: skipped: not a result (expected trial, rung, attempt, status completed or failed, finite metric and seconds)",
    ] + problems.filter { $0.hasPrefix(dir + "/ledger/result-0006-r0-a1.json: skipped: not JSON") }, "\(problems)")
    #expect(problems.count == 7)
    // An unusable record still takes its attempt number: the next attempt of each task goes past it.
    let ledger = SweepLedger(directory: dir)
    for (trial, attempt) in [(0, 1), (1, 1), (3, 1), (4, 1), (5, 2), (6, 1)] {
        let state = ledger.state(of: SweepTask(trial: trial, rung: 0), in: s)
        guard case .stale(let c) = state else { Issue.record("trial \(trial): \(state)"); continue }
        #expect(c.attempt == attempt)
    }
}

@Test func corruptLedgerFilesThatAreNotRegularOrTooLargeAreSkippedWithoutBlocking() throws {
    let dir = tempSweepDirectory("ledger-special")
    try FileIO.makeDirectories(dir + "/ledger")
    // A FIFO would block a read forever; a directory and a sparse 2 MB file are not records either.
    for name in ["claim-0000-r0-a1.json", "result-0001-r0-a1.json"] { FileIO.remove(dir + "/ledger/" + name) }
    #expect(mkfifo(dir + "/ledger/claim-0000-r0-a1.json", 0o644) == 0)
    try FileIO.makeDirectories(dir + "/ledger/claim-0002-r0-a1.json")
    let fd = open(dir + "/ledger/result-0001-r0-a1.json", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    #expect(fd >= 0 && ftruncate(fd, 2 << 20) == 0)
    close(fd)
    let start = Runtime.wallTime()
    let s = SweepLedger(directory: dir).snapshot()
    #expect(Runtime.wallTime() - start < 5)
    let problems = s.problems.sorted()
    #expect(problems.count == 3, "\(problems)")
    #expect(problems.first == dir + "/ledger/claim-0000-r0-a1.json: skipped: not a regular file")
    #expect(problems.contains(dir + "/ledger/claim-0002-r0-a1.json: skipped: not a regular file"))
    #expect(problems.contains { $0.hasPrefix(dir + "/ledger/result-0001-r0-a1.json: skipped: file is 2097152 bytes, more than the 1048576-byte limit") })
    #expect(s.claims.keys.map(\.trial).sorted() == [0, 1, 2])
}

@Test func aClaimOnThisHostWithALivePidButNoHeartbeatGoesStale() throws {
    // The pid of a process that died may belong to another process now: the claim must still
    // go stale once nothing was heard from it for staleAfter seconds.
    let dir = tempSweepDirectory("reused-pid")
    try FileIO.makeDirectories(dir + "/ledger")
    let task = SweepTask(trial: 0, rung: 0)
    let old = Runtime.wallTime() - 1000
    try FileIO.writeAtomically(dir + "/ledger/claim-0000-r0-a1.json",
                               text: #"{"trial": 0, "rung": 0, "attempt": 1, "host": "\#(Runtime.hostName)", "pid": \#(Runtime.processID), "time": \#(old)}"#)
    let ledger = SweepLedger(directory: dir, staleAfter: 300)
    let stale = ledger.state(of: task, in: ledger.snapshot())
    #expect({ if case .stale(let c) = stale { return c.attempt == 1 }; return false }(), "\(stale)")
    // A recent heartbeat keeps it running; an old one does not.
    ledger.heartbeat(task, attempt: 1)
    #expect({ if case .running = ledger.state(of: task, in: ledger.snapshot()) { return true }; return false }())
    try FileIO.writeAtomically(ledger.heartbeatPath(task, 1),
                               text: #"{"host": "\#(Runtime.hostName)", "pid": \#(Runtime.processID), "time": \#(old)}"#)
    #expect({ if case .stale = ledger.state(of: task, in: ledger.snapshot()) { return true }; return false }())
    // A recent claim whose pid is dead is stale at once, as before.
    _ = try ledger.claim(task, attempt: 2, pid: deadPID)
    #expect({ if case .stale(let c) = ledger.state(of: task, in: ledger.snapshot()) { return c.attempt == 2 }; return false }())
}

@Test func theHeartbeatThreadBeatsWhileTheTrialSendsNoEvents() throws {
    let dir = tempSweepDirectory("heartbeat-thread")
    let ledger = SweepLedger(directory: dir)
    let task = SweepTask(trial: 3, rung: 1)
    let beat = HeartbeatThread(ledger: ledger, task: task, attempt: 2, period: 0.05)
    let first = ledger.snapshot().heartbeats["0003-r1-a2"]?.time ?? 0
    Runtime.sleep(seconds: 0.3)
    let later = ledger.snapshot().heartbeats["0003-r1-a2"]?.time ?? 0
    beat.finish()
    #expect(first > 0 && later > first)
    #expect(ledger.snapshot().heartbeats["0003-r1-a2"]?.pid == Runtime.processID)
}

@Test func checkedIntRefusesEveryDoubleThatIsNotAWholeNumberInRange() {
    #expect(Int(checking: 1e19) == nil)            // Int(1e19) traps
    #expect(Int(checking: -1e300) == nil && Int(checking: .nan) == nil && Int(checking: .infinity) == nil)
    #expect(Int(checking: 2.5) == nil && Int(checking: nil) == nil)
    #expect(Int(checking: 9_007_199_254_740_991) == 9_007_199_254_740_991)
    #expect(Int(checking: 9_007_199_254_740_992) == nil)
    #expect(Int(checking: -3) == -3 && Int(checking: -3, in: 0...10) == nil && Int(checking: 10, in: 0...10) == 10)
    #expect(ledgerPID(.number(99_999_999_999)) == nil && ledgerPID(.number(0)) == nil && ledgerPID(.number(42)) == 42)
    #expect(ledgerTime(.number(1e300)) == nil && ledgerTime(.number(-1)) == nil && ledgerTime(.number(1e9)) == 1e9)
}

@Test func distributionsWhoseBoundsOverflowAreConfigErrorsNotTraps() {
    func errors(_ param: String) -> [String] {
        specErrors(#"{"config": "../quickstart.json", "parameters": {"training.epochs": \#(param)}}"#)
    }
    // int:1:1e19 trapped in Int(_:) (SIGILL) before.
    #expect(errors(#"{"distribution": "int_uniform", "min": 1, "max": 1e19}"#)
            == ["$.parameters.training.epochs: int_uniform needs integer min and max in -9007199254740991…9007199254740991 (±(2^53 − 1)), got 1 and 1e+19"])
    #expect(errors(#"{"min": -1e300, "max": 1}"#)
            == ["$.parameters.training.epochs: int_uniform needs integer min and max in -9007199254740991…9007199254740991 (±(2^53 − 1)), got -1e+300 and 1"])
    let d = Diagnostics()
    #expect(SweepReader.parseShorthand("int:1:1e19", path: "--param training.epochs", diag: d) == nil && d.errors.count == 1)
    // Draws that would be inf (written as null, the config's default) are refused.
    #expect(errors(#"{"distribution": "uniform", "min": -1e308, "max": 1e308}"#)
            == ["$.parameters.training.epochs: expected max − min to be a finite number, got min -1e+308 and max 1e+308"])
    #expect(errors(#"{"distribution": "q_uniform", "min": 0, "max": 1e300, "q": 1e-10}"#)
            == ["$.parameters.training.epochs.q: expected a q for which max / q is a finite number, got q 1e-10 for max 1e+300"])
    #expect(errors(#"{"distribution": "log_normal", "mu": 0, "sigma": 100}"#)
            == ["$.parameters.training.epochs: expected mu + 9·sigma < 709 (every draw exp(mu + sigma·z) must be a finite number), got mu 0 and sigma 100"])
    #expect(errors(#"{"distribution": "normal", "mu": 0, "sigma": 1e308}"#).count == 1)
    // The largest exact integers are still bounds.
    #expect(errors(#"{"distribution": "int_uniform", "min": -9007199254740991, "max": 9007199254740991}"#).isEmpty)
    var rng = Xoshiro256(seed: 1, stream: .sampling)
    for _ in 0..<100 {
        let v = Distribution.intUniform(min: -maxExactInteger, max: maxExactInteger).sample(&rng).doubleValue ?? .nan
        #expect(abs(v) <= Double(maxExactInteger))
    }
}

@Test func everyTrialSeedIsASeedTheConfigAccepts() throws {
    // Trial seeds are drawn in 0…2^53−1; the config reader refused ≥ 9e15 (≈0.08% of trials).
    var high: [Int] = []
    for i in 0..<40_000 where SweepPlan.trialSeed(seed: 0, index: i) >= 9_000_000_000_000_000 { high.append(i) }
    #expect(!high.isEmpty)
    let p = try plan(#"{"config": "../quickstart.json", "run_cap": \#((high.first ?? 0) + 1), "parameters": {"optimizer.lr": {"values": [0.01, 0.02, 0.03]}, "training.epochs": {"distribution": "int_uniform", "min": 1, "max": 1000}}}"#)
    let t = try #require(p.trials.last)
    #expect(t.seed >= 9_000_000_000_000_000)
    let config = try p.config(for: t, runDirectory: "/tmp/x")
    #expect(config.seed == t.seed)
    // The boundary itself: 2^53 − 1 is accepted, 2^53 refused, by the config and the sweep file.
    #expect(try readConfig(subsetConfig().replacing(#""seed": 3"#, with: #""seed": 9007199254740991"#)).seed == 9_007_199_254_740_991)
    #expect(configProblems(subsetConfig().replacing(#""seed": 3"#, with: #""seed": 9007199254740992"#))
            == ["$.seed: expected integer in 0...9007199254740991, got 9007199254740992"])
    #expect(try spec(#"{"config": "../quickstart.json", "seed": 9007199254740991, "parameters": {"optimizer.lr": {"value": 0.1}}}"#).seed == 9_007_199_254_740_991)
}

// MARK: Overlapping parameters

@Test func parametersThatSetTheSameConfigValueAreRefusedNamingBoth() throws {
    let cases: [(String, String)] = [
        (#""model.layers": {"value": [{"type": "flatten"}]}, "model.layers.1.activation": {"values": ["relu", "tanh"]}"#,
         "$.parameters.model.layers.1.activation: lies inside parameter model.layers, which sets the whole of model.layers: one would overwrite the other in every trial; keep one of them"),
        (#""optimizer.lr": {"values": [0.1, 0.01]}, "optimizer": {"value": {"type": "sgd", "lr": 0.5}}"#,
         "$.parameters.optimizer: contains parameter optimizer.lr (it sets the whole of optimizer): one would overwrite the other in every trial; keep one of them"),
        (#""model.layers.1.units": {"values": [16, 32]}, "model.layers.01.units": {"values": [64]}"#,
         "$.parameters.model.layers.01.units: sets the same config value as parameter model.layers.1.units; keep one of them"),
        // W&B's nested form flattens first: model.layers (nested) against model.layers.1.units.
        (#""model": {"parameters": {"layers": {"value": []}}}, "model.layers.1.units": {"values": [16, 32]}"#,
         "$.parameters.model.layers.1.units: lies inside parameter model.layers, which sets the whole of model.layers: one would overwrite the other in every trial; keep one of them"),
    ]
    for (params, expected) in cases {
        let errors = specErrors(#"{"config": "../quickstart.json", "parameters": {"# + params + "}}")
        #expect(errors == [expected], "\(params)")
    }
    // Sibling paths and prefixes of a key name are fine (optimizer.lr vs optimizer.lr_decay is not a prefix).
    #expect(specErrors(#"{"config": "../quickstart.json", "parameters": {"model.layers.1.units": {"values": [16]}, "model.layers.10.units": {"values": [16]}, "optimizer.lr": {"values": [0.1]}, "optimizer.lr_x": {"values": [1]}}}"#).isEmpty)
    // --param: against another --param, and against the sweep file's parameters.
    func loadErrors(_ params: [String], file: String = "configs/quickstart.json") -> [String] {
        var o = SweepOverrides()
        o.params = params
        do { _ = try SweepLoader.plan(path: repositoryRoot + file, overrides: o); return [] } catch { return error.lines }
    }
    #expect(loadErrors(["optimizer.lr=log:1e-4:1e-1", "optimizer=" + #"{"value": {"type": "sgd"}}"#]).contains {
        $0.contains("$.parameters.optimizer: contains parameter optimizer.lr") })
    #expect(loadErrors(["optimizer.lr=log:1e-4:1e-1", "optimizer.lr=0.1"]) == ["--param optimizer.lr: sets the same config value as --param optimizer.lr; give it once"])
    #expect(loadErrors(["regularization=" + #"{"value": {"l2": 0.1}}"#], file: "configs/sweep/quickstart-lr.json").contains {
        $0.contains("$.parameters.regularization: contains parameter regularization.l2") })
}

// MARK: The smallest or largest value sampled

@Test func extremeRuleWarnsWhenTheBestIsTheLargestValueDrawnInsideTheRange() throws {
    let p = try plan(#"{"config": "../quickstart.json", "run_cap": 8, "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}, "regularization.l2": {"distribution": "uniform", "min": 0, "max": 0.01}}}"#)
    /// A report whose trials have these learning rates (fractions of the log range) and the metric
    /// falling steadily as lr grows; l2 sits in the middle of its range.
    func warnings(_ fractions: [Double], l2: [Double]? = nil, metrics: [Double]? = nil) -> [String] {
        var plan = p
        var rows: [SweepReport.Row] = []
        for (i, f) in fractions.enumerated() {
            let values: [JSONValue] = [.number(Distribution.logUniform(1e-5, 1e-1, f)), .number(l2?[i] ?? 0.005)]
            rows.append(SweepReport.Row(trial: i, status: "completed", rung: 0, values: values, metric: metrics?[i] ?? 2 - f, bestEpoch: 1,
                                        epochsRun: 1, seconds: 1, runDirectory: "trials/000\(i)", reason: nil))
        }
        plan.trials = rows.map { PlannedTrial(index: $0.trial, seed: 1, values: $0.values) }
        let ranked = rows.sorted { $0.metric! < $1.metric! }
        var r = SweepReport(plan: plan, rows: rows, ranked: ranked, warnings: [], finished: true)
        r.warnings = r.boundaryWarnings().map(\.message)
        return r.warnings
    }
    // Eight trials, the best at the largest lr drawn, 70% of the way up the log range (0.0063).
    let eight = warnings([0.1, 0.2, 0.3, 0.35, 0.45, 0.5, 0.6, 0.7])
    #expect(eight == ["optimizer.lr: the best value 0.00631 is the largest of the 8 values tried, at 70% of [1e-05, 0.1] (log scale); the optimum may lie beyond it: search again with min 1e-05, max 10 (--param optimizer.lr=log:1e-05:10)"])
    // The smallest drawn, on a linear range.
    let low = warnings([0.3, 0.4, 0.5, 0.6, 0.7], l2: [0.006, 0.007, 0.008, 0.009, 0.003])
    #expect(low.count == 2 && low[1] == "regularization.l2: the best value 0.003 is the smallest of the 5 values tried, at 30% of [0, 0.01]; the range cannot widen past 0 there")
    // Fewer than five completed trials: no verdict from the sampled extremes.
    #expect(warnings([0.3, 0.5, 0.6, 0.7]).isEmpty)
    // The best (lr at 50%) not at an extreme of what was drawn: nothing.
    #expect(warnings([0.2, 0.3, 0.5, 0.6, 0.7], metrics: [1.5, 1.2, 0.9, 1.0, 1.1]).isEmpty)
    #expect(warnings([0.75, 0.2, 0.3, 0.6, 0.45], l2: [0.005, 0.001, 0.009, 0.004, 0.006]).count == 1)
    // In the top 10% and the largest drawn: one warning (the edge one), not two.
    let edge = warnings([0.1, 0.2, 0.3, 0.4, 0.95])
    #expect(edge.count == 1 && edge[0].contains("lies in the top 10% of [1e-05, 0.1]"))
}

/// Which seed wins is noise: no edge or extreme warning for `seed`, even at the smallest listed.
@Test func noRangeWarningForASeedParameter() throws {
    var p = try plan(#"{"config": "../quickstart.json", "run_cap": 6, "parameters": {"seed": {"values": [1, 2, 3, 4, 5, 6]}}}"#)
    let rows = (0..<6).map { i in
        SweepReport.Row(trial: i, status: "completed", rung: 0, values: [.number(Double(i + 1))], metric: Double(i), bestEpoch: 1,
                        epochsRun: 1, seconds: 1, runDirectory: "trials/000\(i)", reason: nil)
    }
    p.trials = rows.map { PlannedTrial(index: $0.trial, seed: 1, values: $0.values) }
    var r = SweepReport(plan: p, rows: rows, ranked: rows, warnings: [], finished: true)
    r.warnings = r.boundaryWarnings().map(\.message)
    #expect(r.warnings.isEmpty, "\(r.warnings)")
}

private extension String {
    /// Replaces every `a` with `b` (no Foundation in this test target).
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        let chars = Array(self), pat = Array(a)
        var out = ""
        var i = 0
        while i < chars.count {
            if i + pat.count <= chars.count && Array(chars[i..<(i + pat.count)]) == pat {
                out += b
                i += pat.count
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        return out
    }
}

// MARK: Large sweeps

@Test func aTrialReadsItsOwnPlanEntryAndGetsWhatTheWholePlanSays() throws {
    let p = try plan(#"{"config": "../quickstart.json", "run_cap": 3000, "repeats": 2, "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}, "model.layers.1.activation": {"values": ["relu", "tanh"]}}}"#)
    let dir = tempSweepDirectory("plan-lookup")
    try FileIO.makeDirectories(dir)
    try p.overwrite(directory: dir)
    let text = String(decoding: try FileIO.read(dir + "/plan.json"), as: UTF8.self)
    // One JSON document, the trials one per line at its end.
    #expect(text.contains("\n  \"trials\": [\n    {\"trial\":0,\"config\":0,\"repeat\":0,\"seed\":"))
    let whole = try SweepPlan.load(directory: dir)
    #expect(whole.trials == p.trials && whole.spec.runCap == 3000)
    for i in [0, 1, 2999, 3000, 4567, 5999] {
        let one = try SweepPlan.load(directory: dir, trial: i, wholeBelow: 0)
        #expect(one.trials.count == 6000 && one.trials[i] == p.trials[i] && one.spec.runCap == 3000)
        // The others are placeholders: right configuration and repeat, no values.
        let other = (i + 1) % 6000
        #expect(one.trials[other].values.isEmpty && one.trials[other].config == other / 2 && one.trials[other].repeatIndex == other % 2)
        #expect(try one.configJSON(for: one.trials[i], runDirectory: "/r") == p.configJSON(for: p.trials[i], runDirectory: "/r"))
    }
    // Another layout (pretty-printed by hand, or an older nntrain) is read whole.
    try FileIO.writeAtomically(dir + "/plan.json", text: p.json.serialized() + "\n")
    #expect(try SweepPlan.load(directory: dir, trial: 4567, wholeBelow: 0).trials == p.trials)
    // Lines out of order: not found by bisection, so read whole (and still right).
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let first = try #require(lines.firstIndex { $0.hasPrefix("    {\"trial\":0,") })
    lines.swapAt(first + 10, first + 5000)
    try FileIO.writeAtomically(dir + "/plan.json", text: lines.joined(separator: "\n"))
    let swapped = try SweepPlan.load(directory: dir, trial: 10, wholeBelow: 0)
    #expect(swapped.trials.count == 6000 && swapped.trials[10].values == p.trials[5000].values)
    // A truncated plan is a plan error naming the file, not a crash.
    try FileIO.writeAtomically(dir + "/plan.json", Array(text.utf8.prefix(text.utf8.count / 2)))
    #expect(throws: ConfigLoadError.self) { try SweepPlan.load(directory: dir, trial: 5999, wholeBelow: 0) }
}

@Test func collectIsNotQuadraticInTheNumberOfTrials() throws {
    // 80,000 trials took 12 s (every trial scanned every task); now well under a second here.
    func collectSeconds(_ n: Int) throws -> Double {
        let p = try plan(#"{"config": "../quickstart.json", "run_cap": \#(n), "parameters": {"optimizer.lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}}}"#)
        let dir = tempSweepDirectory("collect-\(n)")
        let start = Clock.now()
        let report = SweepReport.collect(plan: p, directory: dir, ledger: SweepLedger(directory: dir))
        #expect(report.rows.count == n)
        return Clock.now() - start
    }
    let small = try collectSeconds(2_000), large = try collectSeconds(16_000)
    // 8× the trials: about 8× the time when linear, 64× when quadratic.
    #expect(large < max(small, 0.01) * 30, "2,000 trials: \(small) s, 16,000: \(large) s")
}

@Test func formatSignificantPrintsAnyDouble() {
    // Near the ends of Double's range it printed "nan.nane-307" (inf/inf inside the rounding).
    for v in [1e-307, 2.2250738585072014e-308, 1e-300, 1e308, -1.7976931348623157e308, 3.7e35, 0.000123, 42] {
        let s = formatSignificant(v, 3)
        let back = Double(s) ?? .nan
        // (-1.797e308 to 3 digits is -1.8e308, past the largest Double: only its digits are checked.)
        #expect(!s.contains("nan") && !s.contains("inf") && (!back.isFinite || abs(back - v) <= abs(v) * 0.02), "\(v) → \(s)")
    }
    // Subnormals (flushed to zero where the process sets FTZ/DAZ, as nntrain does): never nan.
    for v in [1e-320, -5e-324] { #expect(!formatSignificant(v, 3).contains("nan"), "\(v) → \(formatSignificant(v, 3))") }
    #expect(formatSignificant(1e-307, 3) == "1e-307" && formatSignificant(-1.7976931348623157e308, 3) == "-1.8e308")
    #expect(formatSignificant(.infinity, 3) == "inf" && formatSignificant(.nan, 3) == "nan" && formatSignificant(0.000123, 3) == "0.000123")
    // Powers of ten print with a one-digit mantissa, never "10e298".
    for e in [-300, -100, -20, -5, 16, 20, 100, 200, 299, 300, 308] {
        let s = formatSignificant(pow(10, Double(e)), 3)
        #expect(s.hasPrefix("1e") && Int(s.dropFirst(2)) == e, "1e\(e) → \(s)")
    }
}
