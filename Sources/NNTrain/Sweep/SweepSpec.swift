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
    public static let columns = Metric.names

    /// Whether `a` is better than `b`.
    public func better(_ a: Double, than b: Double) -> Bool { maximize ? a > b : a < b }
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
