import NNCore

/// What a sweep found: `trials.csv`, `best.json`, the leaderboard and the boundary warnings.
public struct SweepReport {
    public struct Row {
        public var trial: Int
        /// completed, failed, running, interrupted (its process died: the next run resumes it) or pending.
        public var status: String
        /// The highest rung the trial reached (halving).
        public var rung: Int
        public var values: [JSONValue]
        public var metric: Double?
        public var bestEpoch: Int?
        public var epochsRun: Int
        public var seconds: Double
        /// The run directory, relative to the sweep directory.
        public var runDirectory: String
        public var reason: String?
        /// The configuration the trial trains and which of its repeats it is (repeats > 1).
        public var config: Int
        public var repeatIndex: Int

        public init(trial: Int, status: String, rung: Int, values: [JSONValue], metric: Double?, bestEpoch: Int?,
                    epochsRun: Int, seconds: Double, runDirectory: String, reason: String?,
                    config: Int? = nil, repeatIndex: Int = 0) {
            self.trial = trial; self.status = status; self.rung = rung; self.values = values; self.metric = metric
            self.bestEpoch = bestEpoch; self.epochsRun = epochsRun; self.seconds = seconds
            self.runDirectory = runDirectory; self.reason = reason
            self.config = config ?? trial; self.repeatIndex = repeatIndex
        }
    }

    /// One configuration of a sweep with repeats: the metric of its completed repeats summarised.
    ///
    /// `mean` = Σ mᵢ / n and `std` = √(Σ (mᵢ − mean)² / (n − 1)) (the sample standard deviation,
    /// as pandas' `std()`; nil for n < 2) over the n repeats completed at the configuration's
    /// highest rung.
    public struct ConfigRow {
        public var config: Int
        /// completed (every repeat finished, at least one completed), failed (every repeat
        /// failed), else running, interrupted or pending (the least finished of its repeats).
        public var status: String
        public var rung: Int
        public var values: [JSONValue]
        public var trials: [Row]
        public var metrics: [Double]
        public var seconds: Double

        public var mean: Double? { metrics.isEmpty ? nil : metrics.reduce(0, +) / Double(metrics.count) }
        public var std: Double? {
            guard let m = mean, metrics.count > 1 else { return nil }
            return (metrics.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(metrics.count - 1)).squareRoot()
        }
        public var min: Double? { metrics.min() }
        public var max: Double? { metrics.max() }
        /// The trial that stands for the configuration in `best.json`: its first repeat that
        /// completed at the configuration's highest rung.
        public var representative: Row? {
            trials.first { $0.status == "completed" && $0.rung == rung && $0.metric != nil }
        }
    }

    public var plan: SweepPlan
    public var rows: [Row]
    /// Completed trials, best first (halving: trials of higher rungs first).
    public var ranked: [Row]
    public var warnings: [String]
    /// The boundary warnings with what they are about (`warnings` holds their messages).
    public var boundary: [BoundaryWarning] = []
    public var finished: Bool
    /// Ledger records that were skipped, one line each naming the file (`SweepLedger.Snapshot.problems`).
    public var ledgerProblems: [String] = []

    /// The best trial: with repeats, the representative of the best configuration.
    public var best: Row? { repeats > 1 ? rankedConfigs.first?.representative : ranked.first }
    public var repeats: Int { max(1, plan.spec.repeats) }

    /// The trials grouped by configuration, in configuration order.
    public var configs: [ConfigRow] {
        var order: [Int] = []
        var groups: [Int: [Row]] = [:]
        for r in rows {
            if groups[r.config] == nil { order.append(r.config) }
            groups[r.config, default: []].append(r)
        }
        return order.map { c in
            let trials = groups[c] ?? []
            let rung = trials.map(\.rung).max() ?? 0
            let done = trials.filter { $0.status == "completed" && $0.rung == rung && $0.metric != nil }
            var status = done.isEmpty ? "failed" : "completed"
            for s in ["pending", "interrupted", "running"] where trials.contains(where: { $0.status == s }) { status = s }
            return ConfigRow(config: c, status: status, rung: rung, values: trials.first?.values ?? [], trials: trials,
                             metrics: done.compactMap(\.metric), seconds: trials.map(\.seconds).reduce(0, +))
        }
    }

    /// Configurations with a completed repeat, best mean first (halving: higher rungs first).
    public var rankedConfigs: [ConfigRow] {
        let metric = plan.spec.metric
        return configs.filter { $0.mean != nil }.sorted { a, b in
            if a.rung != b.rung { return a.rung > b.rung }
            if a.mean! != b.mean! { return metric.better(a.mean!, than: b.mean!) }
            return a.config < b.config
        }
    }
    public var completedCount: Int { rows.filter { $0.status == "completed" }.count }
    public var failedCount: Int { rows.filter { $0.status == "failed" }.count }

    /// The exit code of a finished sweep whose every trial failed: the code the failures share
    /// (3 data, 4 diverged, 2 config), else 1. Nil when the sweep is not finished, or a trial
    /// completed, or none failed (the sweep then exits 0).
    public func allFailedExitCode(ledger: SweepLedger) -> Int32? {
        guard completedCount == 0 && failedCount > 0 && finished else { return nil }
        let codes = Set(SweepStatus(plan: plan, ledger: ledger).tasks.values.compactMap { s -> Int32? in
            if case .done(let r) = s { return r.exitCode }; return nil
        })
        return codes.count == 1 ? max(1, codes.first!) : 1
    }

    public static func collect(plan: SweepPlan, directory: String, ledger: SweepLedger) -> SweepReport {
        let status = SweepStatus(plan: plan, ledger: ledger)
        var rows: [Row] = []
        for t in plan.trials {
            var row = Row(trial: t.index, status: "pending", rung: 0, values: t.values, metric: nil, bestEpoch: nil,
                          epochsRun: 0, seconds: 0, runDirectory: "trials/" + SweepPlan.trialName(t.index), reason: nil,
                          config: t.config, repeatIndex: t.repeatIndex)
            // Seconds over every rung's result.
            for rung in 0..<status.openRungs {
                if case .done(let r)? = status.tasks[SweepTask(trial: t.index, rung: rung)] { row.seconds += r.seconds }
            }
            if let (task, state) = status.latest(t.index) {
                row.rung = task.rung
                switch state {
                case .pending: row.status = "pending"
                case .running: row.status = "running"
                case .stale: row.status = "interrupted"
                case .done(let r):
                    row.status = r.status.rawValue
                    row.metric = r.metric
                    row.bestEpoch = r.bestEpoch
                    row.epochsRun = r.epochsRun
                    row.reason = r.reason
                }
                if case .done = state {} else {
                    // Not finished at this rung: report what the rung below measured.
                    if task.rung > 0, case .done(let r)? = status.tasks[SweepTask(trial: t.index, rung: task.rung - 1)] {
                        row.metric = r.metric; row.bestEpoch = r.bestEpoch; row.epochsRun = r.epochsRun
                    }
                }
            }
            rows.append(row)
        }
        let metric = plan.spec.metric
        let ranked = rows.filter { $0.status == "completed" && $0.metric != nil }.sorted { a, b in
            if a.rung != b.rung { return a.rung > b.rung }
            if a.metric! != b.metric! { return metric.better(a.metric!, than: b.metric!) }
            return a.trial < b.trial
        }
        var report = SweepReport(plan: plan, rows: rows, ranked: ranked, warnings: [], finished: status.isFinished)
        report.boundary = report.boundaryWarnings()
        report.warnings = report.boundary.map(\.message)
        report.ledgerProblems = status.snapshot.problems
        return report
    }

    // MARK: The boundary rule

    /// A parameter whose best value lies at an edge of what was searched.
    public struct BoundaryWarning: Sendable {
        public var path: String
        public var message: String
        /// At the upper edge (else the lower).
        public var upper: Bool
        /// The range to search next, for a parameter with a range that can widen.
        public var widened: (min: Double, max: Double)?
    }

    /// For every numeric parameter whose best value lies in the outer 10% of its range (log
    /// space for log distributions; the smallest or largest of ≥ 3 listed numbers), or is the
    /// smallest or largest value sampled among at least 5 completed trials (configurations,
    /// with repeats), which edge and a widened range to search next. One warning per parameter;
    /// none for `seed` and `data.split_seed`, whose values have no order that matters.
    public func boundaryWarnings() -> [BoundaryWarning] {
        guard let best else { return [] }
        // The values of the completed trials (configurations): what the search has seen.
        let seen = repeats > 1 ? rankedConfigs.map(\.values) : ranked.map(\.values)
        /// Whether `v` is the largest (true) or smallest (false) sampled value of parameter `i`.
        func extreme(_ i: Int, _ v: Double) -> Bool? {
            let nums = seen.compactMap { i < $0.count ? $0[i].doubleValue : nil }
            guard seen.count >= SweepReport.extremeRuleMinimum, nums.count == seen.count,
                  let lo = nums.min(), let hi = nums.max(), lo < hi else { return nil }
            return v == hi ? true : v == lo ? false : nil
        }
        var out: [BoundaryWarning] = []
        for (i, p) in plan.spec.parameters.enumerated() {
            // A seed has no optimum to lie beyond: which one wins is noise.
            guard p.path != "seed", p.path != "data.split_seed" else { continue }
            guard i < best.values.count, case .number(let v) = best.values[i] else { continue }
            if let (lo, hi, log) = p.distribution.range {
                let f = log ? (v.log - lo.log) / (hi.log - lo.log) : (v - lo) / (hi - lo)
                guard f.isFinite else { continue }
                let scale = log ? " (log scale)" : ""
                let upper: Bool
                var msg: String
                if f <= 0.1 || f >= 0.9 {
                    upper = f >= 0.9
                    msg = "\(p.path): the best value \(formatSignificant(v, 3)) lies in the \(upper ? "top" : "bottom") 10% of [\(formatSignificant(lo, 3)), \(formatSignificant(hi, 3))]\(scale)"
                } else if let e = extreme(i, v) {
                    upper = e
                    msg = "\(p.path): the best value \(formatSignificant(v, 3)) is the \(upper ? "largest" : "smallest") of the \(seen.count) values tried, at \(formatSignificant(f * 100, 2))% of [\(formatSignificant(lo, 3)), \(formatSignificant(hi, 3))]\(scale)"
                } else {
                    continue
                }
                var (nlo, nhi) = (lo, hi)
                if log {
                    let decades = Swift.max(1, ((hi.log10 - lo.log10) / 2).rounded(.up))
                    var factor = 1.0
                    for _ in 0..<Int(Swift.min(decades, 300)) { factor *= 10 }
                    if upper { nhi = hi * factor } else { nlo = lo / factor }
                } else {
                    var half = (hi - lo) / 2
                    if case .intUniform = p.distribution { half = half.rounded(.up) }
                    if upper { nhi = hi + half } else { nlo = lo >= 0 ? Swift.max(0, lo - half) : lo - half }
                }
                var widened: (min: Double, max: Double)? = nil
                if nlo == lo && nhi == hi {
                    msg += "; the range cannot widen past 0 there"
                } else {
                    widened = (nlo, nhi)
                    let short = shorthandName(p.distribution)
                    msg += "; the optimum may lie beyond it: search again with min \(formatSignificant(nlo, 3)), max \(formatSignificant(nhi, 3))"
                    if let short { msg += " (--param \(p.path)=\(short):\(formatSignificant(nlo, 3)):\(formatSignificant(nhi, 3)))" }
                }
                out.append(BoundaryWarning(path: p.path, message: msg, upper: upper, widened: widened))
            } else if case .values(let vs, _) = p.distribution {
                let nums = vs.compactMap(\.doubleValue).sorted()
                guard nums.count >= 3, nums.count == vs.count else { continue }
                if v == nums.first || v == nums.last {
                    let upper = v == nums.last
                    out.append(BoundaryWarning(path: p.path, message: "\(p.path): the best value \(formatSignificant(v, 3)) is the \(upper ? "largest" : "smallest") of the values tried; try \(upper ? "larger" : "smaller") ones too", upper: upper))
                }
            } else if let upper = extreme(i, v) {
                // normal, log_normal: no edges, but the best may still be the most extreme draw.
                var msg = "\(p.path): the best value \(formatSignificant(v, 3)) is the \(upper ? "largest" : "smallest") of the \(seen.count) values tried; the optimum may lie beyond it"
                if case .normal(_, let sigma) = p.distribution {
                    msg += ": search again centred there (--param \(p.path)=normal:\(formatSignificant(v, 3)):\(formatSignificant(sigma, 3)))"
                } else if case .logNormal(_, let sigma) = p.distribution, v > 0 {
                    msg += ": search again centred there (--param \(p.path)=lognormal:\(formatSignificant(v.log, 3)):\(formatSignificant(sigma, 3)))"
                }
                out.append(BoundaryWarning(path: p.path, message: msg, upper: upper))
            }
        }
        return out
    }

    /// Completed trials (configurations) the smallest-or-largest-sampled rule needs.
    public static let extremeRuleMinimum = 5

    func shorthandName(_ d: Distribution) -> String? {
        switch d {
        case .uniform: return "uniform"
        case .logUniformValues: return "log"
        case .intUniform: return "int"
        default: return nil
        }
    }
}
