#if canImport(Glibc)
import Glibc
private func mathLog(_ x: Double) -> Double { Glibc.log(x) }
private func mathExp(_ x: Double) -> Double { Glibc.exp(x) }
#elseif canImport(Darwin)
import Darwin
private func mathLog(_ x: Double) -> Double { Darwin.log(x) }
private func mathExp(_ x: Double) -> Double { Darwin.exp(x) }
#endif
import NNCore

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
        case .normal(let m, let s): return .number(m + s * Xoshiro256.boxMuller(u, u2))
        case .logNormal(let m, let s): return .number((m + s * Xoshiro256.boxMuller(u, u2)).exp)
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
}

extension Double {
    var log: Double { mathLog(self) }
    var exp: Double { mathExp(self) }
    var log10: Double { mathLog(self) / mathLog(10) }
}

// MARK: - Reading a distribution

extension SweepReader {
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
