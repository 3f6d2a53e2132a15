#if canImport(Glibc)
import Glibc
private func mathLog(_ x: Double) -> Double { Glibc.log(x) }
private func mathExp(_ x: Double) -> Double { Glibc.exp(x) }
private func mathCos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
import Darwin
private func mathLog(_ x: Double) -> Double { Darwin.log(x) }
private func mathExp(_ x: Double) -> Double { Darwin.exp(x) }
private func mathCos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
import NNCore

/// How a sweep picks its trials.
public enum SweepMethod: String, Sendable, CaseIterable {
    case random, grid, halving
}

/// The number a sweep ranks trials by: a `curves.csv` column, at its best epoch.
public struct SweepMetric: Sendable, Equatable {
    public var name: String
    public var maximize: Bool
    public var goal: String { maximize ? "maximize" : "minimize" }
    public init(name: String, maximize: Bool) { self.name = name; self.maximize = maximize }

    /// Columns of `curves.csv` that can rank trials.
    public static let columns = ["val_loss", "val_accuracy", "loss", "accuracy"]

    /// Whether `a` is better than `b`.
    public func better(_ a: Double, than b: Double) -> Bool { maximize ? a > b : a < b }
}

/// Where a parameter's values come from (the W&B sweep vocabulary; `min`/`max` in value space).
public enum Distribution: Sendable, Equatable {
    case constant(JSONValue)
    case values([JSONValue], probabilities: [Double]?)
    case uniform(min: Double, max: Double)
    case logUniformValues(min: Double, max: Double)
    case intUniform(min: Int, max: Int)
    case qUniform(min: Double, max: Double, q: Double)
    case qLogUniformValues(min: Double, max: Double, q: Double)
    case normal(mu: Double, sigma: Double)
    case logNormal(mu: Double, sigma: Double)

    public static let names = ["uniform", "log_uniform_values", "int_uniform", "q_uniform",
                               "q_log_uniform_values", "normal", "log_normal", "categorical", "constant"]

    /// A finite list of values (constant or values), else nil.
    public var discreteValues: [JSONValue]? {
        switch self {
        case .constant(let v): return [v]
        case .values(let v, _): return v
        default: return nil
        }
    }

    /// The numeric range `[min, max]` and whether it is searched in log space.
    public var range: (min: Double, max: Double, log: Bool)? {
        switch self {
        case .uniform(let a, let b), .qUniform(let a, let b, _): return (a, b, false)
        case .logUniformValues(let a, let b), .qLogUniformValues(let a, let b, _): return (a, b, true)
        case .intUniform(let a, let b): return (Double(a), Double(b), false)
        default: return nil
        }
    }

    /// The spec as written in a sweep file (resolved: the distribution named).
    public var json: JSONValue {
        func n(_ d: Double) -> JSONValue { .number(d) }
        switch self {
        case .constant(let v): return .object([("value", v)])
        case .values(let v, let p):
            var o: [(String, JSONValue)] = [("values", .array(v))]
            if let p { o.append(("probabilities", .array(p.map(n)))) }
            return .object(o)
        case .uniform(let a, let b): return .object([("distribution", .string("uniform")), ("min", n(a)), ("max", n(b))])
        case .logUniformValues(let a, let b): return .object([("distribution", .string("log_uniform_values")), ("min", n(a)), ("max", n(b))])
        case .intUniform(let a, let b): return .object([("distribution", .string("int_uniform")), ("min", n(Double(a))), ("max", n(Double(b)))])
        case .qUniform(let a, let b, let q): return .object([("distribution", .string("q_uniform")), ("min", n(a)), ("max", n(b)), ("q", n(q))])
        case .qLogUniformValues(let a, let b, let q): return .object([("distribution", .string("q_log_uniform_values")), ("min", n(a)), ("max", n(b)), ("q", n(q))])
        case .normal(let m, let s): return .object([("distribution", .string("normal")), ("mu", n(m)), ("sigma", n(s))])
        case .logNormal(let m, let s): return .object([("distribution", .string("log_normal")), ("mu", n(m)), ("sigma", n(s))])
        }
    }

    /// One draw. `rng` advances by the same amount for every distribution kind except `values`
    /// with probabilities, so adding a parameter never changes the draws of the ones before it.
    public func sample(_ rng: inout Xoshiro256) -> JSONValue {
        let u = rng.nextUnitDouble()
        let u2 = rng.nextUnitDouble()
        switch self {
        case .constant(let v): return v
        case .values(let v, let p):
            guard let p else { return v[min(v.count - 1, Int(u * Double(v.count)))] }
            let total = p.reduce(0, +)
            var acc = 0.0
            for (i, w) in p.enumerated() {
                acc += w / total
                if u < acc { return v[i] }
            }
            return v[v.count - 1]
        case .uniform(let a, let b): return .number(a + (b - a) * u)
        case .logUniformValues(let a, let b): return .number(Distribution.logUniform(a, b, u))
        case .intUniform(let a, let b): return .number(Double(a + min(b - a, Int(u * Double(b - a + 1)))))
        case .qUniform(let a, let b, let q): return .number(Distribution.quantize(a + (b - a) * u, q))
        case .qLogUniformValues(let a, let b, let q): return .number(Distribution.quantize(Distribution.logUniform(a, b, u), q))
        case .normal(let m, let s): return .number(m + s * Distribution.gaussian(u, u2))
        case .logNormal(let m, let s): return .number((m + s * Distribution.gaussian(u, u2)).exp)
        }
    }

    static func logUniform(_ a: Double, _ b: Double, _ u: Double) -> Double {
        // Endpoints exact: u = 0 gives a; the result never leaves [a, b] by rounding.
        let v = (a.log + (b.log - a.log) * u).exp
        return Swift.min(b, Swift.max(a, v))
    }

    /// round(x / q) · q, as W&B's q_ distributions; printed without float noise.
    static func quantize(_ x: Double, _ q: Double) -> Double {
        let k = (x / q).rounded()
        let v = k * q
        // 0.1 * 3 = 0.30000000000000004: prefer the short decimal when it reads back the same.
        if let s = Double(shortDecimal(v)), abs(s - v) <= abs(v) * 1e-12 { return s }
        return v
    }

    /// Box–Muller from two uniforms in [0, 1).
    static func gaussian(_ u1: Double, _ u2: Double) -> Double {
        let r = (-2 * (1 - u1).log).squareRoot()
        return r * (2 * Double.pi * u2).cos
    }
}

/// `%.12g`-style text of a number (for quantised values).
func shortDecimal(_ v: Double) -> String {
    var digits = 12
    var best = "\(v)"
    while digits >= 1 {
        let s = formatSignificant(v, digits)
        guard let d = Double(s), abs(d - v) <= abs(v) * 1e-12 else { break }
        best = s
        digits -= 1
    }
    return best
}

/// A number with `digits` significant digits, as plain or exponent text.
public func formatSignificant(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
    if v == 0 { return "0" }
    var e = Int((abs(v)).log10.rounded(.down))
    var scale = pow10(digits - 1 - e)
    var r = (v * scale).rounded() / scale
    if abs(r) >= pow10(e + 1) { e += 1; scale = pow10(digits - 1 - e); r = (v * scale).rounded() / scale }
    if !scale.isFinite || !r.isFinite {
        // Near the ends of Double's range v · scale overflows (inf/inf is nan) or r rounds past
        // the largest Double: round the mantissa itself.
        e = Int(abs(v).log10.rounded(.down))
        let unit = pow10(digits - 1)
        var m = e < -290 ? v * 1e300 / pow10(e + 300) : v / pow10(e)
        m = (m * unit).rounded() / unit
        if abs(m) >= 10 { m /= 10; e += 1 }
        return "\(trimZeros(fixed(m, max(0, digits - 1))))e\(e < 0 ? "-" : "")\(abs(e) < 10 ? "0" : "")\(abs(e))"
    }
    if e < -4 || e >= 15 {
        let m = r / pow10(e)
        let ms = trimZeros(fixed(m, max(0, digits - 1)))
        return "\(ms)e\(e < 0 ? "-" : "")\(abs(e) < 10 ? "0" : "")\(abs(e))"
    }
    return trimZeros(fixed(r, max(0, digits - 1 - e)))
}

private func pow10(_ n: Int) -> Double {
    var r = 1.0
    if n >= 0 { for _ in 0..<n { r *= 10 } } else { for _ in 0..<(-n) { r /= 10 } }
    return r
}

private func fixed(_ v: Double, _ decimals: Int) -> String {
    let neg = v < 0
    let scale = pow10(decimals)
    let scaled = (abs(v) * scale).rounded()
    var intPart = (scaled / scale).rounded(.down)
    var frac = scaled - intPart * scale
    if frac >= scale { intPart += 1; frac -= scale }
    var s = String(format0(intPart))
    if decimals > 0 {
        var f = String(format0(frac))
        while f.count < decimals { f = "0" + f }
        s += "." + f
    }
    return (neg ? "-" : "") + s
}

private func format0(_ d: Double) -> String {
    if d < 9e15 { return String(Int64(d)) }
    return "\(d)"
}

private func trimZeros(_ s: String) -> String {
    guard s.contains(".") else { return s }
    var t = s
    while t.hasSuffix("0") { t.removeLast() }
    if t.hasSuffix(".") { t.removeLast() }
    return t
}

extension Double {
    var log: Double { mathLog(self) }
    var exp: Double { mathExp(self) }
    var log10: Double { mathLog(self) / mathLog(10) }
    var cos: Double { mathCos(self) }
}

/// One searched config value: its dotted config path and its distribution.
public struct SweepParameter: Sendable, Equatable {
    public var path: String
    public var distribution: Distribution
}

/// A sweep file, read and checked (DESIGN §7, README "Sweeps").
public struct SweepSpec: Sendable {
    public var name: String
    /// Absolute path of the base experiment config.
    public var configPath: String
    public var method: SweepMethod
    public var metric: SweepMetric
    public var parameters: [SweepParameter]
    /// Number of trials (halving: trials at the first rung).
    public var runCap: Int
    public var seed: UInt64
    public var jobs: Int
    public var minEpochs: Int
    public var maxEpochs: Int
    public var eta: Int
    /// The sweep as read, defaults filled in (written into `plan.json`).
    public var resolved: JSONValue
    public var warnings: [ConfigError] = []
    /// Runs per configuration, each with its own training seed; configurations are ranked
    /// (and halving promotes them) by the mean of the metric over their completed repeats.
    public var repeats: Int = 1

    /// The epoch budgets of the halving rungs: min_epochs · eta^k, capped by max_epochs.
    public var rungEpochs: [Int] {
        guard method == .halving else { return [] }
        var out: [Int] = []
        var e = Double(minEpochs)
        while true {
            let r = min(maxEpochs, Int(e.rounded()))
            if out.last != r { out.append(r) }
            if r >= maxEpochs { break }
            e *= Double(eta)
        }
        return out
    }
}

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

    /// One parameter's spec: `value`, `values` (+ `probabilities`) or a distribution.
    public static func readDistribution(_ value: JSONValue, path: String, diag: Diagnostics) -> Distribution? {
        guard case .object = value else {
            diag.error(path, "expected an object such as {\"values\": [...]}, {\"value\": x} or {\"distribution\": \"log_uniform_values\", \"min\": 1e-5, \"max\": 1e-1}, got \(value.brief)")
            return nil
        }
        let before = diag.errors.count
        let r = ObjectReader(path: path, value: value, diagnostics: diag)
        var result: Distribution? = nil
        let distName: String?
        if case .string(let s)? = r.raw("distribution") {
            distName = s
            let legacy = ["log_uniform": "log_uniform_values", "q_log_uniform": "q_log_uniform_values",
                          "inv_log_uniform": nil, "inv_log_uniform_values": nil, "q_normal": nil, "q_log_normal": nil]
            if let replacement = legacy[s] {
                if let replacement {
                    diag.error(path + ".distribution", "\"\(s)\" takes natural-log exponents as min and max (W&B's legacy meaning: min -13.8 means e^-13.8 ≈ 1e-6), which is easy to get wrong; use \"\(replacement)\" with min and max in value space, e.g. {\"distribution\": \"\(replacement)\", \"min\": 1e-6, \"max\": 1}")
                } else {
                    diag.error(path + ".distribution", "\"\(s)\" is not supported; expected one of \(Distribution.names.joined(separator: ", "))")
                }
                r.abandon()
                return nil
            }
            if !Distribution.names.contains(s) {
                var msg = "expected one of \(Distribution.names.joined(separator: ", ")), got \(JSONValue.quote(s))"
                if let c = closest(to: s, in: Distribution.names) { msg += ". Did you mean \(JSONValue.quote(c))?" }
                diag.error(path + ".distribution", msg)
                r.abandon()
                return nil
            }
        } else if let d = r.raw("distribution"), d != .null {
            diag.error(path + ".distribution", "expected a string, got \(d.brief)")
            r.abandon()
            return nil
        } else {
            distName = nil
        }
        func number(_ key: String) -> Double? {
            guard let v = r.raw(key) else {
                diag.error(path, "missing required key \"\(key)\" for distribution \(distName ?? "uniform")")
                return nil
            }
            guard case .number(let d) = v, d.isFinite else { diag.error(path + "." + key, "expected a number, got \(v.brief)"); return nil }
            return d
        }
        func minMax() -> (Double, Double)? {
            guard let a = number("min"), let b = number("max") else { return nil }
            guard a < b else { diag.error(path, "expected min < max, got min \(JSONValue.format(a)) and max \(JSONValue.format(b))"); return nil }
            // a + (b − a)·u must be a number: max − min = inf would draw inf, written as null (the default).
            guard (b - a).isFinite else {
                diag.error(path, "expected max − min to be a finite number, got min \(JSONValue.format(a)) and max \(JSONValue.format(b))")
                return nil
            }
            return (a, b)
        }
        /// The integer bounds of int_uniform: whole numbers a Double holds exactly.
        func intBounds(_ a: Double, _ b: Double) -> Distribution? {
            guard let lo = Int(checking: a), let hi = Int(checking: b) else {
                diag.error(path, "int_uniform needs integer min and max in -\(maxExactInteger)…\(maxExactInteger) (±(2^53 − 1)), got \(JSONValue.format(a)) and \(JSONValue.format(b))")
                return nil
            }
            return .intUniform(min: lo, max: hi)
        }
        /// q must keep round(x / q)·q finite over the whole range.
        func quantum(_ q: Double, _ a: Double, _ b: Double) -> Double? {
            guard q > 0 else { diag.error(path + ".q", "expected a number > 0, got \(JSONValue.format(q))"); return nil }
            guard (Swift.max(abs(a), abs(b)) / q).isFinite else {
                diag.error(path + ".q", "expected a q for which max / q is a finite number, got q \(JSONValue.format(q)) for max \(JSONValue.format(Swift.max(abs(a), abs(b))))")
                return nil
            }
            return q
        }
        let hasValue = r.raw("value") != nil, hasValues = r.raw("values") != nil
        switch (distName, hasValue, hasValues) {
        case (nil, true, false), ("constant"?, true, false):
            result = .constant(r.raw("value")!)
        case (nil, false, true), ("categorical"?, false, true):
            guard case .array(let items)? = r.raw("values"), !items.isEmpty else {
                diag.error(path + ".values", "expected a non-empty list, got \(r.raw("values")!.brief)")
                return nil
            }
            var probabilities: [Double]? = nil
            if let p = r.raw("probabilities") {
                guard case .array(let ps) = p, ps.count == items.count,
                      let ds = Optional(ps.compactMap(\.doubleValue)), ds.count == ps.count, ds.allSatisfy({ $0 >= 0 && $0.isFinite }),
                      abs(ds.reduce(0, +) - 1) < 1e-6 else {
                    diag.error(path + ".probabilities", "expected \(items.count) numbers >= 0 that sum to 1 (one per value), got \(p.brief)")
                    return nil
                }
                probabilities = ds
            }
            var distinct: [JSONValue] = []
            for v in items where !distinct.contains(v) { distinct.append(v) }
            if distinct.count != items.count && probabilities == nil {
                diag.warning(path + ".values", "lists a value more than once; each distinct value is one grid point")
                result = .values(distinct, probabilities: nil)
            } else {
                result = .values(items, probabilities: probabilities)
            }
        case (_, true, true):
            diag.error(path, "give either \"value\" or \"values\", not both")
        case (nil, false, false):
            // W&B: min/max without a distribution is uniform (int_uniform when both are integers).
            if r.raw("min") != nil || r.raw("max") != nil {
                if case .number(let a)? = r.raw("min"), case .number(let b)? = r.raw("max"), a == a.rounded(), b == b.rounded() {
                    if let (a, b) = minMax() { result = intBounds(a, b) }
                } else if let (a, b) = minMax() {
                    result = .uniform(min: a, max: b)
                }
            } else {
                diag.error(path, "expected \"values\", \"value\" or a \"distribution\" with its min/max (or mu/sigma)")
            }
        case ("uniform"?, false, false):
            if let (a, b) = minMax() { result = .uniform(min: a, max: b) }
        case ("log_uniform_values"?, false, false), ("q_log_uniform_values"?, false, false):
            if let (a, b) = minMax() {
                if a <= 0 {
                    diag.error(path + ".min", "expected a number > 0 for a log-scale distribution (min and max are values, not exponents), got \(JSONValue.format(a))")
                } else if distName == "log_uniform_values" {
                    result = .logUniformValues(min: a, max: b)
                } else if let q = number("q"), let q = quantum(q, a, b) {
                    result = .qLogUniformValues(min: a, max: b, q: q)
                }
            }
        case ("int_uniform"?, false, false):
            if let (a, b) = minMax() {
                if a != a.rounded() || b != b.rounded() {
                    diag.error(path, "int_uniform needs integer min and max, got \(JSONValue.format(a)) and \(JSONValue.format(b))")
                } else {
                    result = intBounds(a, b)
                }
            }
        case ("q_uniform"?, false, false):
            if let (a, b) = minMax(), let q = number("q"), let q = quantum(q, a, b) {
                result = .qUniform(min: a, max: b, q: q)
            }
        case ("normal"?, false, false), ("log_normal"?, false, false):
            let mu = r.raw("mu") == nil ? 0 : number("mu")
            let sigma = r.raw("sigma") == nil ? 1 : number("sigma")
            if let mu, let sigma {
                // Box–Muller's |z| stays below 9 (√(2·53·ln 2) ≈ 8.6): every draw must be a finite number.
                let top = mu + 9 * sigma
                if sigma <= 0 { diag.error(path + ".sigma", "expected a number > 0, got \(JSONValue.format(sigma))") }
                else if distName == "normal" && !(abs(mu) + 9 * sigma).isFinite {
                    diag.error(path, "expected |mu| + 9·sigma to be a finite number (every draw mu + sigma·z must be one), got mu \(JSONValue.format(mu)) and sigma \(JSONValue.format(sigma))")
                } else if distName == "log_normal" && !(top < 709) {
                    diag.error(path, "expected mu + 9·sigma < 709 (every draw exp(mu + sigma·z) must be a finite number), got mu \(JSONValue.format(mu)) and sigma \(JSONValue.format(sigma))")
                } else { result = distName == "normal" ? .normal(mu: mu, sigma: sigma) : .logNormal(mu: mu, sigma: sigma) }
            }
        default:
            diag.error(path, "distribution \(distName ?? "") takes \(distName == "categorical" ? "\"values\"" : distName == "constant" ? "\"value\"" : "min/max (or mu/sigma)"), not \(hasValue ? "\"value\"" : "\"values\"")")
        }
        for k in ["min", "max", "q", "mu", "sigma"] { _ = r.raw(k) }
        _ = r.raw("probabilities")
        r.finish()
        return diag.errors.count == before ? result : nil
    }

    /// `--param` shorthand: `log:1e-6:1`, `uniform:0:0.5`, `int:16:256`, `q:0:1:0.1`,
    /// `qlog:16:512:16`, `normal:0:1`, `lognormal:0:1`, `a,b,c` (values), a single value
    /// (constant), or a W&B spec object in JSON.
    public static func parseShorthand(_ text: String, path: String, diag: Diagnostics) -> Distribution? {
        let t = text.trimmingSpaces
        if t.hasPrefix("{") {
            guard let j = try? JSONValue.parse(Array(t.utf8)) else {
                diag.error(path, "invalid JSON: \(t)")
                return nil
            }
            return readDistribution(j, path: path, diag: diag)
        }
        let kinds = ["log": "log_uniform_values", "loguniform": "log_uniform_values", "uniform": "uniform", "int": "int_uniform",
                     "q": "q_uniform", "qlog": "q_log_uniform_values", "normal": "normal", "lognormal": "log_normal"]
        let parts = t.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 1, let kind = kinds[parts[0]] {
            let nums = parts.dropFirst().map { Double($0) }
            guard !nums.contains(where: { $0 == nil }) else {
                diag.error(path, "expected numbers after \(parts[0]):, got \(JSONValue.quote(t))")
                return nil
            }
            let n = nums.map { $0! }
            let keys: [String]
            switch kind {
            case "normal", "log_normal": keys = ["mu", "sigma"]
            case "q_uniform", "q_log_uniform_values": keys = ["min", "max", "q"]
            default: keys = ["min", "max"]
            }
            guard n.count == keys.count else {
                diag.error(path, "\(parts[0]): takes \(keys.joined(separator: ":")), got \(JSONValue.quote(t)); e.g. --param optimizer.lr=log:1e-6:1")
                return nil
            }
            var o: [(String, JSONValue)] = [("distribution", .string(kind))]
            for (k, v) in zip(keys, n) { o.append((k, .number(v))) }
            return readDistribution(.object(o), path: path, diag: diag)
        }
        if parts.count > 1, ["log_uniform", "choice", "values"].contains(parts[0]) || Double(parts[0]) == nil && parts[0].allSatisfy(\.isLetter) && parts.count >= 3 {
            if parts[0] == "values" || parts[0] == "choice" {
                return readDistribution(.object([("values", .array(splitValues(parts.dropFirst().joined(separator: ":"))))]), path: path, diag: diag)
            }
            diag.error(path, "unknown distribution \(JSONValue.quote(parts[0])); expected log:MIN:MAX, uniform:MIN:MAX, int:MIN:MAX, q:MIN:MAX:Q, qlog:MIN:MAX:Q, normal:MU:SIGMA, lognormal:MU:SIGMA, A,B,C or one value")
            return nil
        }
        if t.contains(",") && !t.hasPrefix("[") {
            return .values(splitValues(t), probabilities: nil)
        }
        return .constant((try? JSONValue.parse(Array(t.utf8))) ?? .string(t))
    }

    static func splitValues(_ t: String) -> [JSONValue] {
        t.split(separator: ",").map { s in
            let x = String(s).trimmingSpaces
            return (try? JSONValue.parse(Array(x.utf8))) ?? .string(x)
        }
    }
}

extension SweepSpec {
    static func rungCount(_ minEpochs: Int, _ maxEpochs: Int, _ eta: Int) -> Int {
        var n = 1
        var e = Double(minEpochs)
        while Int(e.rounded()) < maxEpochs { e *= Double(eta); n += 1 }
        return n
    }
}

/// A config path as `--set` applies it: list indices read as numbers (`layers.01` is `layers.1`).
func normalizedPath(_ path: String) -> String {
    path.split(separator: ".", omittingEmptySubsequences: false)
        .map { part in Int(part).map { String($0) } ?? String(part) }
        .joined(separator: ".")
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" { s.removeLast() }
        return String(s)
    }
}
