import NNCore

/// A sweep that cannot start: one line per problem (exit code 2).
public struct SweepLoadError: Error, CustomStringConvertible {
    public var lines: [String]
    public init(_ lines: [String]) { self.lines = lines }
    public var description: String { lines.joined(separator: "\n") }
}

/// Command-line settings that override or complete a sweep file (or make one from a config).
public struct SweepOverrides: Sendable {
    /// `--param path=DIST` (shorthand or W&B JSON).
    public var params: [String] = []
    public var trials: Int?
    public var method: String?
    /// `NAME` or `NAME:minimize|maximize`.
    public var metric: String?
    public var seed: Int?
    public var name: String?
    public var minEpochs: Int?
    public var maxEpochs: Int?
    public var eta: Int?
    public var repeats: Int?
    public init() {}
    public var isEmpty: Bool {
        params.isEmpty && trials == nil && method == nil && metric == nil && seed == nil && name == nil
            && minEpochs == nil && maxEpochs == nil && eta == nil && repeats == nil
    }
}

public enum SweepLoader {
    /// Whether `json` is a sweep file (names a base `config` and `parameters`) rather than an
    /// experiment config.
    public static func isSweepFile(_ json: JSONValue) -> Bool {
        json["model"] == nil && (json["parameters"] != nil || json["config"] != nil)
    }

    /// Reads a sweep file, or an experiment config plus `--param` shorthand, applies the
    /// overrides, and checks the whole sweep against its base config. Returns the plan.
    public static func plan(path: String, overrides o: SweepOverrides) throws(SweepLoadError) -> SweepPlan {
        let json: JSONValue
        do { json = try ConfigLoader.loadJSON(path: path) } catch { throw SweepLoadError(error.lines) }
        let folder = ConfigLoader.directoryOf(path)
        var stem = String(path.split(separator: "/").last ?? "sweep")
        if stem.hasSuffix(".json") { stem.removeLast(5) }

        var sweep: [(String, JSONValue)]
        var sweepPath = path
        let diag = Diagnostics()
        if isSweepFile(json) {
            guard case .object(let pairs) = json else { throw SweepLoadError(["\(path): $: expected an object"]) }
            sweep = pairs
        } else {
            guard !o.params.isEmpty else {
                throw SweepLoadError(["\(path) is an experiment config; say what to search with --param, e.g. nntrain sweep \(path) --param optimizer.lr=log:1e-5:1e-1 --trials 20, or write a sweep file (README, \"Sweeps\")"])
            }
            sweepPath = "--param"
            let configName = json["name"]?.stringValue ?? stem
            sweep = [("name", .string(configName)), ("config", .string(FileIO.absolutePath(path)))]
            // Rank by validation loss when the config has validation data, else by training loss.
            var metric = "val_loss"
            if let c = try? ExperimentConfig.read(json, baseDirectory: folder),
               c.data.validation == nil && c.data.validationSplit == 0 {
                metric = "loss"
            }
            sweep.append(("metric", .object([("name", .string(metric))])))
        }
        func set(_ key: String, _ v: JSONValue) {
            if let i = sweep.firstIndex(where: { $0.0 == key }) { sweep[i].1 = v } else { sweep.append((key, v)) }
        }
        if !o.params.isEmpty {
            var params: [(String, JSONValue)] = []
            if case .object(let p)? = sweep.first(where: { $0.0 == "parameters" })?.1 { params = p }
            var given: [String: String] = [:]
            for text in o.params {
                guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                    diag.error("--param \(text)", "expected key.path=DIST, e.g. optimizer.lr=log:1e-6:1 or model.layers.1.units=128,256,512")
                    continue
                }
                let key = String(text[..<eq])
                let spec = String(text[text.index(after: eq)...])
                // Two --param for one path: refused, not the last silently winning.
                if let earlier = given[normalizedPath(key)] {
                    diag.error("--param \(key)", "sets the same config value as --param \(earlier); give it once")
                    continue
                }
                given[normalizedPath(key)] = key
                if let d = SweepReader.parseShorthand(spec, path: "--param \(key)", diag: diag) {
                    // A --param replaces the sweep file's parameter of the same path.
                    params.removeAll { normalizedPath($0.0) == normalizedPath(key) }
                    params.append((key, d.json))
                }
            }
            set("parameters", .object(params))
        }
        if let t = o.trials { set("run_cap", .number(Double(t))) }
        if let m = o.method { set("method", .string(m)) }
        if let s = o.seed { set("seed", .number(Double(s))) }
        if let n = o.name { set("name", .string(n)) }
        if let v = o.minEpochs { set("min_epochs", .number(Double(v))) }
        if let v = o.maxEpochs { set("max_epochs", .number(Double(v))) }
        if let v = o.eta { set("eta", .number(Double(v))) }
        if let v = o.repeats { set("repeats", .number(Double(v))) }
        if let m = o.metric {
            let parts = m.split(separator: ":").map(String.init)
            var obj: [(String, JSONValue)] = [("name", .string(parts.first ?? m))]
            if parts.count > 1 { obj.append(("goal", .string(parts[1]))) }
            set("metric", .object(obj))
        }
        if diag.hasErrors { throw SweepLoadError(diag.errors.map(\.description)) }

        let spec: SweepSpec
        do { spec = try SweepReader.read(.object(sweep), baseDirectory: folder, defaultName: stem) } catch {
            throw SweepLoadError(error.errors.map { "\(sweepPath): \($0)" })
        }
        let base: JSONValue
        do { base = try ConfigLoader.loadJSON(path: spec.configPath) } catch {
            throw SweepLoadError(error.lines.map { isSweepFile(json) ? "\(path): $.config: \($0)" : $0 })
        }
        let baseDirectory = ConfigLoader.directoryOf(spec.configPath)
        let configName = shortName(spec.configPath)
        let problems = SweepPlan.check(spec: spec, base: base, baseDirectory: baseDirectory, configName: configName)
        if !problems.isEmpty { throw SweepLoadError(problems.map { "\(sweepPath): \($0)" }) }
        var plan = SweepPlan.make(spec: spec, base: base, baseDirectory: baseDirectory)
        plan.spec.warnings = spec.warnings
        return plan
    }

    static func shortName(_ path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }

    /// Checks a new plan against the one already in `directory`. Returns the plan to use:
    /// the existing one when they agree, the new one when a random sweep only grew its
    /// run_cap (earlier trials are unchanged); throws when they differ otherwise.
    public static func reconcile(_ plan: SweepPlan, with existing: SweepPlan, directory: String) throws(SweepLoadError) -> (plan: SweepPlan, extended: Bool) {
        var a = existing.spec.resolved, b = plan.spec.resolved
        let capA = existing.configurationCount, capB = plan.configurationCount
        a = (try? applyOverride(path: "run_cap", value: .number(0), to: a)) ?? a
        b = (try? applyOverride(path: "run_cap", value: .number(0), to: b)) ?? b
        var diffs = configDifferences(a, b).map { "sweep: " + $0 }
        diffs += configDifferences(existing.base, plan.base).map { "base config: " + $0 }
        if existing.baseDirectory != plan.baseDirectory { diffs.append("base config folder: \(existing.baseDirectory) → \(plan.baseDirectory)") }
        if diffs.isEmpty && capA == capB { return (existing, false) }
        if diffs.isEmpty && capB > capA && plan.spec.method != .halving && Array(plan.trials.prefix(existing.trials.count)) == existing.trials {
            return (plan, true)
        }
        if diffs.isEmpty {
            diffs.append("run_cap: \(capA) → \(capB)" + (capB < capA ? " (a sweep can grow, not shrink)" : " (a halving sweep's rungs depend on it)"))
        }
        throw SweepLoadError(["\(directory) holds a different sweep:"] + diffs.prefix(12).map { "  " + $0 }
                             + ["continue it with `nntrain sweep \(directory)`, or give this one its own directory with --out DIR (or a new \"name\")"])
    }
}
