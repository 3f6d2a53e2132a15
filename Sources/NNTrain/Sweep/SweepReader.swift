import NNCore

/// Reads sweep files and the `--param` shorthand.
public enum SweepReader {
    /// Reads a sweep object. `baseDirectory` resolves a relative `config` path. The parameters
    /// are checked against the base config separately (`SweepPlan.check`).
    public static func read(_ json: JSONValue, baseDirectory: String, defaultName: String) throws(ConfigErrors) -> SweepSpec {
        let diag = Diagnostics()
        let r = ObjectReader(path: "$", value: json, diagnostics: diag)
        if !r.isValid { throw ConfigErrors(diag.errors) }
        let name = readDirectoryName(r, default: defaultName)
        let configRel = r.requiredString("config")
        if r.raw("program") != nil {
            diag.error("$.program", "nntrain sweeps train an nntrain config, not a program: name it with \"config\": \"path/to/experiment.json\"")
        }
        let methodName = r.choice("method", SweepMethod.allCases.map(\.rawValue), default: "random")
        let method = methodName.flatMap(SweepMethod.init(rawValue:)) ?? .random
        if case .string(let m)? = r.raw("method"), m == "bayes" {
            diag.error("$.method", "bayes is not built in; use \"random\" (the notes' advice), or drive nntrain from Optuna's ask/tell CLI (README, \"Other optimisers\")")
        }
        let m = r.object("metric")
        let metricName = m.choice("name", SweepMetric.columns, default: "val_loss") ?? "val_loss"
        let goal = m.choice("goal", ["minimize", "maximize"], default: Metric(rawValue: metricName)?.maximize == true ? "maximize" : "minimize")
        m.finish()
        let metric = SweepMetric(name: metricName, maximize: goal == "maximize")
        if let e = m.raw("target") { _ = e; diag.warning("$.metric.target", "ignored: every trial runs to its budget") }

        var parameters: [SweepParameter] = []
        if let p = r.raw("parameters") {
            guard case .object(let pairs) = p, !pairs.isEmpty else {
                diag.error("$.parameters", "expected an object of config paths to search, e.g. {\"optimizer.lr\": {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1e-1}}, got \(p.brief)")
                throw ConfigErrors(diag.errors)
            }
            collectParameters(pairs, prefix: "", specPath: "$.parameters", into: &parameters, diag: diag)
        } else {
            diag.error("$.parameters", "missing required key (expected an object of config paths to search)")
        }
        r.record("parameters", .object(parameters.map { ($0.path, $0.distribution.json) }))
        checkOverlaps(parameters, diag: diag)

        let runCapRaw = r.optionalInt("run_cap", check: .closed(1, 1_000_000))
        let seed = UInt64(r.int("seed", default: 0, check: .closed(0, 9_007_199_254_740_991)))
        let jobs = r.int("jobs", default: 1, check: .closed(1, 1024))
        let repeats = r.int("repeats", default: 1, check: .closed(1, 1000))
        if repeats > 1, parameters.contains(where: { normalizedPath($0.path) == "seed" }) {
            diag.error("$.parameters.seed", "repeats \(repeats) trains each configuration with seeds of its own, and seed is a parameter of this sweep: remove seed from the parameters, or set repeats to 1")
        }
        let halving = method == .halving
        var minEpochs = 1, maxEpochs = 9, eta = 3
        if halving {
            minEpochs = r.int("min_epochs", default: 1, check: .closed(1, 1_000_000))
            maxEpochs = r.int("max_epochs", default: 9, check: .closed(1, 1_000_000))
            eta = r.int("eta", default: 3, check: .closed(2, 100))
            if minEpochs > maxEpochs { diag.error("$.min_epochs", "expected at most max_epochs (\(maxEpochs)), got \(minEpochs)") }
        } else {
            for k in ["min_epochs", "max_epochs", "eta"] {
                if let v = r.raw(k), v != .null {
                    diag.error("$.\(k)", "only used by method \"halving\" (successive halving); the method is \"\(method.rawValue)\"")
                }
            }
        }
        if r.raw("early_terminate") != nil {
            diag.error("$.early_terminate", "nntrain's Hyperband is method \"halving\" with min_epochs, max_epochs and eta at the top level")
        }
        r.finish()

        // Method-specific checks.
        if method == .grid {
            for p in parameters where p.distribution.discreteValues == nil {
                diag.error("$.parameters.\(p.path)", "grid search needs a list of values, got distribution \(distributionName(p.distribution)); list them (\"values\": [1e-4, 1e-3, 1e-2]) or use method \"random\"")
            }
        }
        if halving, parameters.contains(where: { $0.path == "training.epochs" }) {
            diag.error("$.parameters.training.epochs", "halving sets the epochs itself (min_epochs … max_epochs); remove training.epochs from the parameters")
        }
        var runCap = runCapRaw ?? 20
        if method == .grid {
            let size = gridSize(parameters)
            if let c = runCapRaw, c < size {
                diag.warning("$.run_cap", "the grid has \(size) points; only the first \(c) run")
                runCap = c
            } else {
                runCap = size
            }
            if size > 1_000_000 { diag.error("$.parameters", "the grid has \(size) points, more than 1,000,000; use method \"random\"") }
        } else if halving && runCapRaw == nil {
            var n = 1
            for _ in 1..<max(1, SweepSpec.rungCount(minEpochs, maxEpochs, eta)) { n *= eta }
            runCap = max(n, eta)
        } else if let size = discreteSize(parameters), size < runCap {
            // Discrete spaces are sampled without replacement: there are only `size` distinct trials.
            if runCapRaw != nil { diag.warning("$.run_cap", "the search space has only \(size) distinct points; running \(size) trials, not \(runCap)") }
            runCap = size
        }
        r.record("run_cap", .number(Double(runCap)))
        if diag.hasErrors { throw ConfigErrors(diag.errors) }
        let spec = SweepSpec(name: name, configPath: resolvePath(configRel ?? "", baseDirectory), method: method,
                             metric: metric, parameters: parameters, runCap: runCap, seed: seed, jobs: jobs,
                             minEpochs: minEpochs, maxEpochs: maxEpochs, eta: eta, resolved: r.resolvedValue,
                             warnings: diag.warnings, repeats: repeats)
        return spec
    }

    /// Refuses two parameters that set the same config value: one path inside the other
    /// (`model.layers` and `model.layers.1.activation`, `optimizer` and `optimizer.lr`) or the
    /// same path once list indices are read as numbers (`model.layers.01.units`). Applying the
    /// trial's values one after the other would silently overwrite the earlier one.
    static func checkOverlaps(_ ps: [SweepParameter], diag: Diagnostics) {
        let parts = ps.map { normalizedPath($0.path).split(separator: ".").map(String.init) }
        for j in ps.indices {
            for i in 0..<j {
                let (a, b) = (parts[i], parts[j])
                let here = "$.parameters.\(ps[j].path)"
                if a == b {
                    diag.error(here, "sets the same config value as parameter \(ps[i].path); keep one of them")
                    break
                }
                if a.count < b.count && Array(b.prefix(a.count)) == a {
                    diag.error(here, "lies inside parameter \(ps[i].path), which sets the whole of \(ps[i].path): one would overwrite the other in every trial; keep one of them")
                    break
                }
                if b.count < a.count && Array(a.prefix(b.count)) == b {
                    diag.error(here, "contains parameter \(ps[i].path) (it sets the whole of \(ps[j].path)): one would overwrite the other in every trial; keep one of them")
                    break
                }
            }
        }
    }

    static func distributionName(_ d: Distribution) -> String {
        if case .string(let s)? = d.json["distribution"] { return s }
        return "values"
    }

    static func gridSize(_ ps: [SweepParameter]) -> Int {
        var n = 1
        for p in ps { n = n.multipliedReportingOverflow(by: max(1, p.distribution.discreteValues?.count ?? 1)).partialValue; if n > 10_000_000 { return n } }
        return n
    }

    /// The number of distinct points when every parameter is discrete, else nil.
    static func discreteSize(_ ps: [SweepParameter]) -> Int? {
        var n = 1
        for p in ps {
            guard let v = p.distribution.discreteValues else { return nil }
            n = n.multipliedReportingOverflow(by: v.count).partialValue
            if n > 10_000_000 { return n }
        }
        return n
    }

    /// Flattens `parameters` (nested W&B `{"optimizer": {"parameters": {"lr": …}}}` becomes
    /// `optimizer.lr`) and reads each distribution.
    static func collectParameters(_ pairs: [(String, JSONValue)], prefix: String, specPath: String,
                                  into out: inout [SweepParameter], diag: Diagnostics) {
        var seen = Set<String>()
        for (key, value) in pairs {
            let path = prefix.isEmpty ? key : prefix + "." + key
            let here = specPath + "." + key
            if !seen.insert(key).inserted { diag.error(here, "parameter appears more than once"); continue }
            if key.isEmpty || key.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
                diag.error(here, "expected a config path like optimizer.lr, got \(JSONValue.quote(key))")
                continue
            }
            if case .object(let inner) = value, let nested = value["parameters"] {
                guard case .object(let np) = nested, inner.count == 1 else {
                    diag.error(here, "a nested \"parameters\" object must be the only key of its parameter")
                    continue
                }
                collectParameters(np, prefix: path, specPath: here + ".parameters", into: &out, diag: diag)
                continue
            }
            if let d = readDistribution(value, path: here, diag: diag) {
                if out.contains(where: { $0.path == path }) { diag.error(here, "parameter \(path) appears more than once"); continue }
                out.append(SweepParameter(path: path, distribution: d))
            }
        }
    }
}
