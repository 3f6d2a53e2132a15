import NNCore

/// Reads one JSON object of a config: typed getters with defaults and range checks, a record
/// of the keys asked for (an unread key is an error, with the nearest known key suggested), and
/// the resolved object — defaults filled in — that becomes the run's `config.json`.
///
/// Problems go to the shared `Diagnostics` instead of being thrown, so one pass over a config
/// finds every problem; a getter with a bad value returns its default to let reading go on.
public final class ObjectReader {
    public let path: String
    public let diagnostics: Diagnostics
    private let pairs: [(String, JSONValue)]
    private var known: [String] = []
    private var resolved: [(String, Resolved)] = []
    /// False when the value at `path` was present but not an object.
    public let isValid: Bool

    indirect enum Resolved {
        case value(JSONValue)
        case object(ObjectReader)
        case array([Resolved])
    }

    public init(path: String, value: JSONValue?, diagnostics: Diagnostics) {
        self.path = path
        self.diagnostics = diagnostics
        switch value {
        case .object(let p)?:
            pairs = p
            isValid = true
            var seen = Set<String>()
            for (k, _) in p where !seen.insert(k).inserted {
                diagnostics.error(ObjectReader.join(path, k), "key appears more than once")
            }
        case nil, .null?:
            pairs = []
            isValid = true
        case let other?:
            pairs = []
            isValid = false
            diagnostics.error(path, "expected object, got \(other.brief)")
        }
    }

    static func join(_ path: String, _ key: String) -> String { path + "." + key }
    public func childPath(_ key: String) -> String { ObjectReader.join(path, key) }

    /// The raw value under `key` (marks it as known).
    public func raw(_ key: String) -> JSONValue? {
        if !known.contains(key) { known.append(key) }
        return pairs.last(where: { $0.0 == key })?.1
    }

    public func has(_ key: String) -> Bool {
        if case .null? = pairs.last(where: { $0.0 == key })?.1 { return false }
        return pairs.contains { $0.0 == key }
    }

    /// Records a value in the resolved config (for values read outside the typed getters).
    public func record(_ key: String, _ value: JSONValue) {
        if let i = resolved.firstIndex(where: { $0.0 == key }) { resolved[i].1 = .value(value) } else { resolved.append((key, .value(value))) }
    }

    func record(_ key: String, resolved r: Resolved) {
        if let i = resolved.firstIndex(where: { $0.0 == key }) { resolved[i].1 = r } else { resolved.append((key, r)) }
    }

    // MARK: Scalars

    /// A number; `check` returns an "expected …" phrase when the value is out of range.
    public func double(_ key: String, default def: Double, check: NumberCheck = .any) -> Double {
        guard let v = raw(key), v != .null else { record(key, .number(def)); return def }
        guard case .number(let d) = v else {
            diagnostics.error(childPath(key), "expected \(check.phrase("number")), got \(shown(v))")
            record(key, .number(def)); return def
        }
        if !check.accepts(d) {
            diagnostics.error(childPath(key), "expected \(check.phrase("number")), got \(shown(d))")
            record(key, .number(def)); return def
        }
        record(key, .number(d))
        return d
    }

    /// A number stored as Float32: beyond ±3.4e38 it would be infinite, and a positive value
    /// below Float32's smallest normal number (1.2e-38) would be 0 in training (denormals are
    /// flushed to zero), so both are errors rather than a silently different value.
    public func float(_ key: String, default def: Float, check: NumberCheck = .any) -> Float {
        let d = double(key, default: Double(def), check: check)
        if let problem = float32Problem(d, check: check) {
            diagnostics.error(childPath(key), "expected \(check.phrase("number")), got \(shown(d)) (\(problem))")
            record(key, .number(Double(def))); return def
        }
        return Float(d)
    }

    /// A number that may be null (null and absent give `nil`).
    public func optionalDouble(_ key: String, check: NumberCheck = .any) -> Double? {
        guard let v = raw(key), v != .null else { record(key, .null); return nil }
        guard case .number(let d) = v, check.accepts(d) else {
            diagnostics.error(childPath(key), "expected \(check.phrase("number")) or null, got \(shown(v))")
            record(key, .null); return nil
        }
        // Optional numbers are stored as Float32 (clip norms, max_norm) or are fractions.
        if let problem = float32Problem(d, check: check) {
            diagnostics.error(childPath(key), "expected \(check.phrase("number")) or null, got \(shown(d)) (\(problem))")
            record(key, .null); return nil
        }
        record(key, .number(d))
        return d
    }

    public func int(_ key: String, default def: Int, check: NumberCheck = .any) -> Int {
        guard let v = raw(key), v != .null else { record(key, .number(Double(def))); return def }
        guard case .number(let d) = v, d == d.rounded() else {
            diagnostics.error(childPath(key), "expected \(check.phrase("integer")), got \(shown(v))")
            record(key, .number(Double(def))); return def
        }
        if Int(checking: d) == nil || !check.accepts(d) {
            diagnostics.error(childPath(key), "expected \(check.phrase("integer")), got \(shown(d))")
            record(key, .number(Double(def))); return def
        }
        record(key, .number(d))
        return Int(d)
    }

    public func optionalInt(_ key: String, check: NumberCheck = .any) -> Int? {
        guard let v = raw(key), v != .null else { record(key, .null); return nil }
        guard case .number(let d) = v, Int(checking: d) != nil, check.accepts(d) else {
            diagnostics.error(childPath(key), "expected \(check.phrase("integer")) or null, got \(shown(v))")
            record(key, .null); return nil
        }
        record(key, .number(d))
        return Int(d)
    }

    public func bool(_ key: String, default def: Bool) -> Bool {
        guard let v = raw(key), v != .null else { record(key, .bool(def)); return def }
        guard case .bool(let b) = v else {
            diagnostics.error(childPath(key), "expected boolean (true or false), got \(shown(v))")
            record(key, .bool(def)); return def
        }
        record(key, .bool(b))
        return b
    }

    public func string(_ key: String, default def: String?) -> String? {
        guard let v = raw(key), v != .null else { record(key, def.map { .string($0) } ?? .null); return def }
        guard case .string(let s) = v else {
            diagnostics.error(childPath(key), "expected string, got \(shown(v))")
            record(key, def.map { .string($0) } ?? .null); return def
        }
        record(key, .string(s))
        return s
    }

    /// A required string.
    public func requiredString(_ key: String) -> String? {
        guard has(key) else {
            _ = raw(key)
            diagnostics.error(childPath(key), "missing required key (expected string)")
            return nil
        }
        return string(key, default: nil)
    }

    /// One of `choices`; a near miss gets a "did you mean".
    public func choice(_ key: String, _ choices: [String], default def: String?) -> String? {
        guard let v = raw(key), v != .null else {
            if def == nil {
                diagnostics.error(childPath(key), "missing required key (expected one of \(choices.joined(separator: ", ")))")
            }
            record(key, def.map { .string($0) } ?? .null)
            return def
        }
        guard case .string(let s) = v else {
            diagnostics.error(childPath(key), "expected one of \(choices.joined(separator: ", ")), got \(shown(v))")
            record(key, def.map { .string($0) } ?? .null); return def
        }
        guard choices.contains(s) else {
            var msg = "expected one of \(choices.joined(separator: ", ")), got \(JSONValue.quote(s))"
            if let c = suggestion(for: s, in: choices) { msg += ". Did you mean \(JSONValue.quote(c))?" }
            diagnostics.error(childPath(key), msg)
            if key == "type" || key == "format" { abandon() }
            record(key, def.map { .string($0) } ?? .null); return nil
        }
        record(key, .string(s))
        return s
    }

    /// A list of numbers (e.g. `betas`, `input`).
    public func doubles(_ key: String, default def: [Double]?, count: Int? = nil, check: NumberCheck = .any) -> [Double]? {
        guard let v = raw(key), v != .null else {
            record(key, def.map { .array($0.map { .number($0) }) } ?? .null); return def
        }
        let what = (count.map { "array of \($0) " } ?? "array of ") + check.phrase("numbers")
        guard case .array(let items) = v, count == nil || items.count == count else {
            diagnostics.error(childPath(key), "expected \(what), got \(shown(v))")
            return def
        }
        var out: [Double] = []
        for (i, item) in items.enumerated() {
            guard case .number(let d) = item, check.accepts(d) else {
                diagnostics.error(childPath(key) + ".\(i)", "expected \(check.phrase("number")), got \(shown(item))")
                return def
            }
            // Lists of numbers become Float32 (betas, class weights, ranges) or integers.
            if let problem = float32Problem(d, check: check) {
                diagnostics.error(childPath(key) + ".\(i)", "expected \(check.phrase("number")), got \(shown(d)) (\(problem))")
                return def
            }
            out.append(d)
        }
        record(key, .array(out.map { .number($0) }))
        return out
    }

    /// A list of integers (e.g. `milestones`, `kernel_size`); an item that is not an integer in
    /// `check`'s range is an error at its own path (`$.schedule.milestones.0`).
    public func ints(_ key: String, default def: [Int]?, count: Int? = nil, check: NumberCheck = .any) -> [Int]? {
        guard let v = raw(key), v != .null else {
            record(key, def.map { .array($0.map { .number(Double($0)) }) } ?? .null); return def
        }
        let what = (count.map { "array of \($0) " } ?? "array of ") + check.phrase("integers")
        guard case .array(let items) = v, count == nil || items.count == count else {
            diagnostics.error(childPath(key), "expected \(what), got \(shown(v))")
            return def
        }
        var out: [Int] = []
        for (i, item) in items.enumerated() {
            guard case .number(let d) = item, let n = Int(checking: d), check.accepts(d) else {
                diagnostics.error(childPath(key) + ".\(i)", "expected \(check.phrase("integer")), got \(shown(item))")
                return def
            }
            out.append(n)
        }
        record(key, .array(out.map { .number(Double($0)) }))
        return out
    }

    // MARK: Nested

    /// A nested object (absent or null reads as `{}` so its defaults fill in).
    public func object(_ key: String) -> ObjectReader {
        let child = ObjectReader(path: childPath(key), value: raw(key), diagnostics: diagnostics)
        record(key, resolved: .object(child))
        return child
    }

    /// A list of values; each item is handed to `item` with its path. `nil` when absent.
    public func array(_ key: String, required: Bool = false) -> [(path: String, value: JSONValue)]? {
        guard let v = raw(key), v != .null else {
            if required { diagnostics.error(childPath(key), "missing required key (expected array)") }
            return nil
        }
        guard case .array(let items) = v else {
            diagnostics.error(childPath(key), "expected array, got \(shown(v))")
            return nil
        }
        return items.enumerated().map { (childPath(key) + ".\($0.offset)", $0.element) }
    }

    /// Records a list of resolved item readers under `key`.
    public func recordArray(_ key: String, _ items: [ObjectReader]) {
        record(key, resolved: .array(items.map { .object($0) }))
    }

    /// Stops checking this object's keys: its `type` was invalid, so which keys belong here
    /// is unknown and reporting them would only bury the real problem.
    public func abandon() { abandoned = true }
    private var abandoned = false

    /// Reports every key that no getter asked for, suggesting the closest known one.
    public func finish() {
        guard isValid, !abandoned else { return }
        for (k, _) in pairs where !known.contains(k) {
            if let c = suggestion(for: k, in: known) {
                diagnostics.error(childPath(k), "unknown key. Did you mean \(JSONValue.quote(c))?")
            } else {
                diagnostics.error(childPath(k), "unknown key; known keys here: \(known.joined(separator: ", "))")
            }
        }
    }

    /// The object as read, defaults filled in.
    public var resolvedValue: JSONValue { .object(resolved.map { ($0.0, ObjectReader.value($0.1)) }) }

    private static func value(_ r: Resolved) -> JSONValue {
        switch r {
        case .value(let v): return v
        case .object(let o): return o.resolvedValue
        case .array(let a): return .array(a.map(value))
        }
    }
}
