import NNCore

/// One problem in a config: where (`$.optimizer.lr`) and what.
///
/// Rendered as `$.optimizer.lr: expected number > 0, got -0.1`; the CLI puts the file name first.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Every problem found in a config, reported together (`validate` lists them all).
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Collects errors and warnings while a config is read, so one pass reports all of them.
public final class Diagnostics {
    public private(set) var errors: [ConfigError] = []
    public private(set) var warnings: [ConfigError] = []
    public init() {}
    public func error(_ path: String, _ message: String) { errors.append(ConfigError(path: path, message: message)) }
    public func warning(_ path: String, _ message: String) { warnings.append(ConfigError(path: path, message: message)) }
    public var hasErrors: Bool { !errors.isEmpty }
}

/// Levenshtein distance, for "did you mean" suggestions.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

/// The closest candidate within edit distance min(3, half the word's length), if any.
public func closest(to word: String, in candidates: [String]) -> String? {
    var best: (String, Int)?
    let limit = min(3, max(1, word.count / 2))
    for c in candidates {
        let d = editDistance(word.lowercased(), c.lowercased())
        if d <= limit && (best == nil || d < best!.1) { best = (c, d) }
    }
    return best?.0
}
