import NNCore

/// One trial of a plan (one training run): its index, training seed and the value of every
/// parameter. With `repeats` R, trial `config·R + repeat` is repeat `repeat` of configuration
/// `config`; the R trials of a configuration share their values and differ in their seed.
public struct PlannedTrial: Sendable, Equatable {
    public var index: Int
    public var seed: UInt64
    /// Parallel to the spec's parameters.
    public var values: [JSONValue]
    /// The configuration this trial trains (its index when repeats is 1).
    public var config: Int
    /// Which of the configuration's repeats (0 when repeats is 1).
    public var repeatIndex: Int

    public init(index: Int, seed: UInt64, values: [JSONValue], config: Int? = nil, repeatIndex: Int = 0) {
        self.index = index; self.seed = seed; self.values = values
        self.config = config ?? index; self.repeatIndex = repeatIndex
    }
}

/// A sweep's trial list and everything a worker on any machine needs to run one trial:
/// the sweep as read, the base config's JSON and folder. Written once as `plan.json`.
public struct SweepPlan: Sendable {
    public var spec: SweepSpec
    /// The base experiment config as written (before the trials' values are applied).
    public var base: JSONValue
    /// The base config's folder (its relative paths resolve against it).
    public var baseDirectory: String
    public var trials: [PlannedTrial]

    public static let fileName = "plan.json"
    public var rungs: [Int] { spec.rungEpochs }

    /// The generator of trial `index` of a sweep seeded `seed`: trial i's values depend on
    /// (seed, i) only, so any trial can be re-run alone and extending `run_cap` keeps the others.
    static func trialRNG(seed: UInt64, index: Int) -> Xoshiro256 {
        var sm = SplitMix64(seed: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        return Xoshiro256(seed: sm.next(), stream: .sampling)
    }

    /// The training seed of trial `index`: an integer in 0…2^53 − 1, the range a config's `seed` accepts.
    public static func trialSeed(seed: UInt64, index: Int) -> UInt64 {
        var sm = SplitMix64(seed: seed &+ 0x5EED &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
        return sm.next() & ((1 << 53) - 1)
    }

    /// The training seed of repeat `repeatIndex` of configuration `config`: repeat 0 trains with
    /// the seed the configuration's trial has without repeats (`trialSeed(seed:index: config)`),
    /// each further repeat with a seed drawn from (sweep seed, config, repeat).
    public static func repeatSeed(seed: UInt64, config: Int, repeatIndex: Int) -> UInt64 {
        let first = trialSeed(seed: seed, index: config)
        guard repeatIndex > 0 else { return first }
        var sm = SplitMix64(seed: first ^ (UInt64(repeatIndex) &* 0x9E37_79B9_7F4A_7C15))
        return sm.next() & ((1 << 53) - 1)
    }

    /// The number of configurations (trials / repeats).
    public var configurationCount: Int { trials.count / max(1, spec.repeats) }

    /// Samples (random, halving) or enumerates (grid) the trials.
    public static func make(spec: SweepSpec, base: JSONValue, baseDirectory: String) -> SweepPlan {
        let ps = spec.parameters
        var rows: [[JSONValue]] = []
        let n = spec.runCap
        switch spec.method {
        case .grid:
            let lists = ps.map { $0.distribution.discreteValues ?? [] }
            rows = gridPoints(lists, limit: n)
        case .random, .halving:
            if let size = SweepReader.discreteSize(ps), size <= 1_000_000,
               !ps.contains(where: { if case .values(_, let p?) = $0.distribution { return !p.isEmpty }; return false }) {
                // A purely discrete space: the first n points of a seeded permutation of the grid
                // (without replacement; a prefix of the permutation does not depend on n).
                let lists = ps.map { $0.distribution.discreteValues! }
                var rng = Xoshiro256(seed: spec.seed, stream: .sampling)
                var swapped: [Int: Int] = [:]
                for i in 0..<min(n, size) {
                    let j = i + rng.below(size - i)
                    let vi = swapped[i] ?? i, vj = swapped[j] ?? j
                    swapped[i] = vj; swapped[j] = vi
                    rows.append(decode(vj, lists))
                }
            } else {
                var seen = Set<String>()
                let discrete = SweepReader.discreteSize(ps) != nil
                for i in 0..<n {
                    var rng = trialRNG(seed: spec.seed, index: i)
                    var row = ps.map { $0.distribution.sample(&rng) }
                    if discrete {
                        // Weighted discrete space: redraw (bounded) until the point is new.
                        var tries = 0
                        while seen.contains(JSONValue.array(row).serialized(indent: 0)) && tries < 1000 {
                            tries += 1
                            row = ps.map { $0.distribution.sample(&rng) }
                        }
                        seen.insert(JSONValue.array(row).serialized(indent: 0))
                    }
                    rows.append(row)
                }
            }
        }
        let seedParam = ps.firstIndex { $0.path == "seed" }
        // Each configuration runs `repeats` times in a row: trial c·R + k is repeat k of configuration c.
        let repeats = max(1, spec.repeats)
        var trials: [PlannedTrial] = []
        for (c, row) in rows.enumerated() {
            for k in 0..<repeats {
                let seed = seedParam.flatMap { Int(checking: row[$0].doubleValue, in: 0...maxExactInteger).map(UInt64.init) }
                    ?? repeatSeed(seed: spec.seed, config: c, repeatIndex: k)
                trials.append(PlannedTrial(index: c * repeats + k, seed: seed, values: row, config: c, repeatIndex: k))
            }
        }
        return SweepPlan(spec: spec, base: base, baseDirectory: baseDirectory, trials: trials)
    }

    static func gridPoints(_ lists: [[JSONValue]], limit: Int) -> [[JSONValue]] {
        var out: [[JSONValue]] = []
        var total = 1
        for l in lists { total = total.multipliedReportingOverflow(by: l.count).partialValue }
        for k in 0..<min(limit, total) { out.append(decode(k, lists)) }
        return out
    }

    /// Mixed-radix decoding: the first parameter varies slowest (like itertools.product).
    static func decode(_ k: Int, _ lists: [[JSONValue]]) -> [JSONValue] {
        var k = k
        var row = [JSONValue](repeating: .null, count: lists.count)
        for p in lists.indices.reversed() {
            row[p] = lists[p][k % lists[p].count]
            k /= lists[p].count
        }
        return row
    }

    // MARK: Trial configs

    /// The config of trial `t` at `runDirectory`: the base config with the trial's values,
    /// its seed and name, and (halving) `training.epochs = max_epochs`.
    public func configJSON(for t: PlannedTrial, runDirectory: String) throws(OverrideError) -> JSONValue {
        var json = base
        for (p, v) in zip(spec.parameters, t.values) {
            json = try applyOverride(path: p.path, value: v, to: json)
        }
        if !spec.parameters.contains(where: { $0.path == "seed" }) {
            json = try applyOverride(path: "seed", value: .number(Double(t.seed)), to: json)
        }
        json = try applyOverride(path: "name", value: .string("\(spec.name)-\(SweepPlan.trialName(t.index))"), to: json)
        json = try applyOverride(path: "output.dir", value: .string(runDirectory), to: json)
        if spec.method == .halving {
            json = try applyOverride(path: "training.epochs", value: .number(Double(spec.maxEpochs)), to: json)
        }
        return json
    }

    public func config(for t: PlannedTrial, runDirectory: String) throws(ConfigErrors) -> ExperimentConfig {
        let json: JSONValue
        do { json = try configJSON(for: t, runDirectory: runDirectory) } catch {
            throw ConfigErrors([ConfigError(path: "$", message: error.message)])
        }
        return try ExperimentConfig.read(json, baseDirectory: baseDirectory)
    }

    /// `0007`: trial directories sort in order.
    public static func trialName(_ i: Int) -> String {
        let s = String(i)
        return s.count >= 4 ? s : String(repeating: "0", count: 4 - s.count) + s
    }

    // MARK: Checking a sweep before anything runs

    /// Every problem of the sweep against its base config: each parameter path must exist and
    /// accept the values it can take (tried at min, max and an inner value, or every listed
    /// value), and the metric must be a column the runs write.
    public static func check(spec: SweepSpec, base: JSONValue, baseDirectory: String, configName: String) -> [ConfigError] {
        var errors: [ConfigError] = []
        let baseConfig: ExperimentConfig
        do {
            baseConfig = try ExperimentConfig.read(base, baseDirectory: baseDirectory)
        } catch {
            return error.errors.map { ConfigError(path: "\(configName): \($0.path)", message: $0.message) }
        }
        // The metric.
        let hasValidation = baseConfig.data.validation != nil || baseConfig.data.validationSplit > 0
        let validationParam = spec.parameters.contains { $0.path.hasPrefix("data.validation") }
        if spec.metric.name.hasPrefix("val_") && !hasValidation && !validationParam {
            errors.append(ConfigError(path: "$.metric.name", message: "\(spec.metric.name) needs validation data, but \(configName) has none: set data.validation_split (e.g. 0.1) or data.validation in it, or rank by \"\(String(spec.metric.name.dropFirst(4)))\" (training data)"))
        }
        if Metric(rawValue: spec.metric.name)?.needsClassification == true && baseConfig.data.task != .classification {
            errors.append(ConfigError(path: "$.metric.name", message: "\(spec.metric.name) is written only for data.task \"classification\"; \(configName) is a regression: use \"val_loss\" or \"loss\""))
        }
        // Each parameter, one probe value at a time.
        for p in spec.parameters {
            var reported = false
            for (v, label) in probeValues(p) where !reported {
                var json = base
                do {
                    // One parameter at a time: a problem is reported under the parameter that causes it.
                    json = try applyOverride(path: p.path, value: v, to: json)
                } catch {
                    errors.append(ConfigError(path: "$.parameters.\(p.path)", message: "not a path of \(configName): \(error.message)"))
                    reported = true
                    continue
                }
                do {
                    _ = try ExperimentConfig.read(json, baseDirectory: baseDirectory)
                } catch {
                    let mine = error.errors.filter { $0.path == "$." + p.path || $0.path.hasPrefix("$." + p.path + ".") }
                    let relevant = mine.isEmpty ? error.errors : mine
                    for e in relevant.prefix(3) {
                        let unknown = e.message.hasPrefix("unknown key")
                        let what = unknown ? "\(p.path) is not a key of \(configName)'s config: \(e.message)"
                            : "with \(label) \(v.serialized(indent: 0)) the config is invalid: \(e.path): \(e.message)"
                        errors.append(ConfigError(path: "$.parameters.\(p.path)", message: what))
                    }
                    reported = true
                }
            }
        }
        return errors
    }

    /// Values that show whether a parameter's whole range is acceptable.
    static func probeValues(_ p: SweepParameter) -> [(value: JSONValue, label: String)] {
        switch p.distribution {
        case .constant(let v): return [(v, "value")]
        case .values(let v, _): return v.map { ($0, "value") }
        case .intUniform(let a, let b): return [(.number(Double(a)), "min"), (.number(Double(b)), "max")]
        case .uniform(let a, let b):
            return [(.number(a), "min"), (.number(b), "max"), (.number(a + (b - a) * 0.318309886), "the sampled value")]
        case .logUniformValues(let a, let b):
            return [(.number(a), "min"), (.number(b), "max"), (.number(Distribution.logUniform(a, b, 0.318309886)), "the sampled value")]
        case .qUniform(let a, let b, let q):
            return [(.number(Distribution.quantize(a, q)), "min"), (.number(Distribution.quantize(b, q)), "max"),
                    (.number(Distribution.quantize(a + (b - a) * 0.318309886, q)), "the sampled value")]
        case .qLogUniformValues(let a, let b, let q):
            return [(.number(Distribution.quantize(a, q)), "min"), (.number(Distribution.quantize(b, q)), "max")]
        case .normal(let m, let s): return [(.number(m), "mu"), (.number(m - 3 * s), "mu - 3 sigma"), (.number(m + 3 * s), "mu + 3 sigma")]
        case .logNormal(let m, let s): return [(.number(m.exp), "exp(mu)"), (.number((m + 3 * s).exp), "exp(mu + 3 sigma)")]
        }
    }
}
