#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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

    // MARK: plan.json

    public var json: JSONValue {
        var o: [(String, JSONValue)] = [
            ("nntrain_version", .string(Experiment.version)),
            ("name", .string(spec.name)),
            ("method", .string(spec.method.rawValue)),
            ("metric", .object([("name", .string(spec.metric.name)), ("goal", .string(spec.metric.goal))])),
            ("seed", .number(Double(spec.seed))),
            ("run_cap", .number(Double(configurationCount))),
        ]
        if spec.repeats > 1 {
            o.append(("repeats", .number(Double(spec.repeats))))
            o.append(("trial_count", .number(Double(trials.count))))
        }
        if spec.method == .halving {
            o.append(("rungs", .array(rungs.map { .number(Double($0)) })))
            o.append(("eta", .number(Double(spec.eta))))
        }
        o += [
            ("parameters", .array(spec.parameters.map { .string($0.path) })),
            ("sweep", spec.resolved),
            ("config_path", .string(spec.configPath)),
            ("config_directory", .string(baseDirectory)),
            ("base_config", base),
            ("trials", .array(trials.map { t in
                var o: [(String, JSONValue)] = [("trial", .number(Double(t.index)))]
                if spec.repeats > 1 { o += [("config", .number(Double(t.config))), ("repeat", .number(Double(t.repeatIndex)))] }
                o += [("seed", .number(Double(t.seed))), ("params", .object(zip(spec.parameters, t.values).map { ($0.path, $1) }))]
                return .object(o)
            })),
        ]
        return .object(o)
    }

    /// Reads `DIR/plan.json`.
    public static func load(directory: String) throws(ConfigLoadError) -> SweepPlan {
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: 256 << 20) } catch { throw .file(error) }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes, maxDepth: 96) } catch { throw .syntax(path: path, error) }
        guard case .array(let ts)? = json["trials"] else { throw notAPlan(path) }
        var (spec, base, dir) = try header(json, path: path)
        var trials: [PlannedTrial] = []
        let repeats = max(1, spec.repeats)
        guard ts.count % repeats == 0 else {
            throw .invalid(path: path, ConfigErrors([ConfigError(path: "$.trials", message: "expected a multiple of repeats (\(repeats)) trials, got \(ts.count)")]))
        }
        trials.reserveCapacity(ts.count)
        for (i, t) in ts.enumerated() { trials.append(try trial(t, index: i, spec: spec, path: path)) }
        spec.runCap = trials.count / repeats
        return SweepPlan(spec: spec, base: base, baseDirectory: dir, trials: trials)
    }

    static func notAPlan(_ path: String) -> ConfigLoadError {
        .invalid(path: path, ConfigErrors([ConfigError(path: "$", message: "not an nntrain sweep plan (missing sweep, base_config, config_directory or trials)")]))
    }

    /// The sweep, base config and folder of a plan.json object.
    static func header(_ json: JSONValue, path: String) throws(ConfigLoadError) -> (SweepSpec, JSONValue, String) {
        guard let sweep = json["sweep"], let base = json["base_config"], case .string(let dir)? = json["config_directory"] else {
            throw notAPlan(path)
        }
        var spec: SweepSpec
        do { spec = try SweepReader.read(sweep, baseDirectory: dir, defaultName: "sweep") } catch { throw .invalid(path: path, error) }
        if case .string(let cp)? = json["config_path"] { spec.configPath = cp }
        return (spec, base, dir)
    }

    /// Trial `i` of plan.json (`$.trials.i`).
    static func trial(_ t: JSONValue, index i: Int, spec: SweepSpec, path: String) throws(ConfigLoadError) -> PlannedTrial {
        guard case .object? = t["params"], let seed = Int(checking: t["seed"]?.doubleValue, in: 0...maxExactInteger) else {
            throw .invalid(path: path, ConfigErrors([ConfigError(path: "$.trials.\(i)", message: "expected {trial, seed, params} with an integer seed in 0…\(maxExactInteger) (2^53 − 1)")]))
        }
        let values = spec.parameters.map { t["params"]?[$0.path] ?? .null }
        // The configuration and repeat follow from the position (trial c·R + k).
        let repeats = max(1, spec.repeats)
        return PlannedTrial(index: i, seed: UInt64(seed), values: values, config: i / repeats, repeatIndex: i % repeats)
    }

    /// Reads `DIR/plan.json` for a worker that runs trial `index` alone: the header, and of the
    /// trial list only that trial, found by bisecting the one-per-line list `write` lays out, so
    /// a trial of a million-trial sweep does not parse the other 999,999. The other trials are
    /// placeholders (index, configuration and repeat right, no values, seed 0): use this plan for
    /// that trial only. A plan not laid out that way (edited, or by an older nntrain), a small
    /// one, or one where the trial is not found is read whole, as `load(directory:)`.
    public static func load(directory: String, trial index: Int, wholeBelow: Int = 4 << 20) throws(ConfigLoadError) -> SweepPlan {
        let path = directory + "/" + fileName
        guard let file = PlanFile(path), case let size = file.size, size >= wholeBelow,
              let found = try lookUp(file, size: size, trial: index, path: path) else {
            return try load(directory: directory)
        }
        return found
    }

    /// The fast path of `load(directory:trial:)`; nil where it does not apply.
    private static func lookUp(_ file: PlanFile, size: Int, trial index: Int, path: String) throws(ConfigLoadError) -> SweepPlan? {
        let marker = Array("\n  \"trials\": [\n".utf8)
        // The header: everything before the trial list (the sweep, the base config), at most 16 MB.
        var head: [UInt8] = []
        var markerAt: Int? = nil
        while markerAt == nil && head.count < Swift.min(size, 16 << 20) {
            guard let chunk = file.bytes(at: head.count, count: Swift.min(1 << 20, size - head.count)), !chunk.isEmpty else { return nil }
            let from = Swift.max(0, head.count - marker.count)
            head += chunk
            markerAt = firstIndex(of: marker, in: head, from: from)
        }
        guard let markerAt else { return nil }
        // `{ …header…,` + `}`: the header's keys without the trial list.
        guard markerAt > 0, head[markerAt - 1] == UInt8(ascii: ",") else { return nil }
        let headerJSON: JSONValue
        do { headerJSON = try JSONValue.parse(Array(head[..<(markerAt - 1)]) + Array("\n}".utf8), maxDepth: 96) } catch { return nil }
        var (spec, base, dir) = try header(headerJSON, path: path)
        let repeats = max(1, spec.repeats)
        guard let cap = Int(checking: headerJSON["run_cap"]?.doubleValue, in: 1...10_000_000),
              case let (count, overflow) = cap.multipliedReportingOverflow(by: repeats), !overflow, index < count else { return nil }
        // Bisect the lines of the trial list: line k holds trial k, in order.
        let listStart = markerAt + marker.count
        var lo = listStart, hi = size
        var entry: JSONValue? = nil
        var steps = 0
        while lo < hi && steps < 128 {
            steps += 1
            let mid = lo + (hi - lo) / 2
            guard let line = file.line(startingAtOrAfter: mid, listStart: listStart, size: size) else { return nil }
            if line.trial == nil || line.trial! > index {
                hi = mid
            } else if line.trial! < index {
                lo = line.end + 1
            } else {
                entry = line.value
                break
            }
        }
        guard let entry, Int(checking: entry["trial"]?.doubleValue) == index else { return nil }
        var trials: [PlannedTrial] = []
        trials.reserveCapacity(count)
        for i in 0..<count { trials.append(PlannedTrial(index: i, seed: 0, values: [], config: i / repeats, repeatIndex: i % repeats)) }
        trials[index] = try trial(entry, index: index, spec: spec, path: path)
        spec.runCap = cap
        return SweepPlan(spec: spec, base: base, baseDirectory: dir, trials: trials)
    }

    private static func firstIndex(of needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    /// plan.json's text: the header pretty-printed, then the trials one per line, in order, as
    /// the last key (`"trials": [` on a line of its own), so that a worker finds its own trial
    /// without parsing the others.
    var fileText: String {
        guard case .object(var pairs) = json, let last = pairs.popLast(), last.0 == "trials", case .array(let ts) = last.1 else {
            return json.serialized() + "\n"
        }
        var head = JSONValue.object(pairs).serialized()
        head.removeLast(2)   // "\n}"
        let lines = ts.map { "    " + $0.serialized(indent: 0) }
        return head + ",\n  \"trials\": [\n" + lines.joined(separator: ",\n") + (lines.isEmpty ? "" : "\n") + "  ]\n}\n"
    }

    /// Writes `plan.json` unless one exists; true when this call wrote it.
    public func write(directory: String) throws(FileError) -> Bool {
        try FileIO.makeDirectories(directory)
        return try FileIO.createExclusively(directory + "/" + SweepPlan.fileName, text: fileText)
    }

    /// Replaces `plan.json` (a random sweep extended by a larger run_cap).
    public func overwrite(directory: String) throws(FileError) {
        try FileIO.writeAtomically(directory + "/" + SweepPlan.fileName, text: fileText)
    }
}

/// Applies `value` at a dotted `path` (lists by index), as `--set` does.
public func applyOverride(path: String, value: JSONValue, to json: JSONValue) throws(OverrideError) -> JSONValue {
    let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    if parts.contains(where: \.isEmpty) { throw OverrideError(message: "empty key in path \(path)") }
    return try setConfigValue(value, at: parts[...], in: json, walked: "$")
}

/// A regular file read at offsets (`pread`): the plan lookup of one trial.
final class PlanFile {
    private let fd: Int32
    let size: Int

    /// Nil when `path` cannot be opened or is not a regular file (a FIFO is never waited on).
    init?(_ path: String) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { close(fd); return nil }
        self.fd = fd
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// Up to `count` bytes at `offset` (fewer at the end), or nil on a read error.
    func bytes(at offset: Int, count: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0 else { return nil }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { b in pread(fd, b.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            done += n
        }
        out.removeLast(count - done)
        return out
    }

    /// The first line of a plan's trial list that starts at or after `offset`: its end (the
    /// offset of its newline), the trial it holds and its JSON; trial nil past the list's end.
    func line(startingAtOrAfter offset: Int, listStart: Int, size: Int) -> (end: Int, trial: Int?, value: JSONValue?)? {
        // A line starts at listStart or after a newline: read from the byte before `offset`.
        var start = offset
        if offset > listStart {
            guard let window = bytes(at: offset - 1, count: Swift.min(1 << 16, size - offset + 1)),
                  let nl = window.firstIndex(of: 0x0A) else { return nil }
            start = offset - 1 + nl + 1
        }
        if start >= size { return (size, nil, nil) }
        // The line itself: 64 kB, else up to 1 MB.
        var text = bytes(at: start, count: Swift.min(1 << 16, size - start)) ?? []
        if !text.contains(0x0A) { text = bytes(at: start, count: Swift.min(1 << 20, size - start)) ?? [] }
        guard let nl = text.firstIndex(of: 0x0A) else { return nil }
        var line = text[..<nl]
        while line.first == 0x20 { line = line.dropFirst() }
        if line.last == 0x2C { line = line.dropLast() }   // ","
        if line.first == 0x5D || line.first == 0x7D { return (start + nl, nil, nil) }   // "]" or "}": past the list
        guard let v = try? JSONValue.parse(Array(line), maxDepth: 64), let t = Int(checking: v["trial"]?.doubleValue, in: 0...maxExactInteger) else { return nil }
        return (start + nl, t, v)
    }
}
