import NNCore

// The ranges config numbers are checked against, and how an error message shows a number.

/// A range a number must lie in, with the phrase an error message shows.
public enum NumberCheck: Sendable {
    case any
    case positive                 // > 0
    case nonNegative              // >= 0
    case closed(Double, Double)   // a...b
    case halfOpen(Double, Double) // a..<b
    case atLeast(Double)          // >= a

    public func accepts(_ d: Double) -> Bool {
        guard d.isFinite else { return false }
        switch self {
        case .any: return true
        case .positive: return d > 0
        case .nonNegative: return d >= 0
        case .closed(let a, let b): return d >= a && d <= b
        case .halfOpen(let a, let b): return d >= a && d < b
        case .atLeast(let a): return d >= a
        }
    }

    public func phrase(_ noun: String) -> String {
        switch self {
        case .any: return noun
        case .positive: return "\(noun) > 0"
        case .nonNegative: return "\(noun) >= 0"
        case .closed(let a, let b): return "\(noun) in \(JSONValue.format(a))...\(JSONValue.format(b))"
        case .halfOpen(let a, let b): return "\(noun) in \(JSONValue.format(a))..<\(JSONValue.format(b))"
        case .atLeast(let a): return "\(noun) >= \(JSONValue.format(a))"
        }
    }
}

extension JSONValue {
    /// True when the value holds a number a double cannot represent: the parser reads `1e309`
    /// as infinity, which would otherwise print (and write back) as null.
    public var containsNonFiniteNumber: Bool {
        switch self {
        case .number(let d): return !d.isFinite
        case .array(let a): return a.contains { $0.containsNonFiniteNumber }
        case .object(let o): return o.contains { $0.1.containsNonFiniteNumber }
        default: return false
        }
    }
}

/// The number literals of a JSON text, as written, beyond the range of a double (`1e309`), so
/// that an error can quote what the user wrote.
public func outOfRangeNumbers(_ bytes: [UInt8]) -> [String] {
    var found: [String] = []
    var i = 0, inString = false
    while i < bytes.count {
        let b = bytes[i]
        if inString {
            if b == UInt8(ascii: "\\") { i += 1 } else if b == UInt8(ascii: "\"") { inString = false }
            i += 1
            continue
        }
        if b == UInt8(ascii: "\"") { inString = true; i += 1; continue }
        if b == UInt8(ascii: "-") || (b >= 0x30 && b <= 0x39) {
            let start = i
            while i < bytes.count, "+-.eE0123456789".utf8.contains(bytes[i]) { i += 1 }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            if let d = Double(text), !d.isFinite { found.append(text) }
            continue
        }
        i += 1
    }
    return found
}

/// How an error message shows a found value: `number 1.5`, `string "x"`, or for a number
/// beyond a double's range (parsed as infinity) `a number out of range (beyond ±1.8e308)`.
func shown(_ v: JSONValue) -> String {
    if case .number(let d) = v, !d.isFinite { return "a number out of range (beyond ±1.8e308)" }
    return v.brief
}

/// Why `d` cannot stand for itself as a Float32 under `check`: nil when it can. A positive
/// value rounding to 0 or a subnormal is refused only where 0 is out of range (`check` excludes
/// it); elsewhere (a weight decay of 1e-50) it is as good as 0.
func float32Problem(_ d: Double, check: NumberCheck) -> String? {
    guard d.isFinite else { return nil }
    let f = Float(d)
    if !f.isFinite { return "beyond Float32's range of ±3.4e38" }
    if d != 0 && abs(f) < Float.leastNormalMagnitude && !check.accepts(0) {
        return "0 in Float32, whose smallest normal number is 1.2e-38"
    }
    return nil
}

/// `shown` for a bare number: `1.5`, or the out-of-range phrase.
func shown(_ d: Double) -> String { d.isFinite ? JSONValue.format(d) : shown(.number(d)) }
