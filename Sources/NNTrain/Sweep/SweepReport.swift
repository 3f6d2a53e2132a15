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
    }

    public var plan: SweepPlan
    public var rows: [Row]
    /// Completed trials, best first (halving: trials of higher rungs first).
    public var ranked: [Row]
    public var warnings: [String]
    public var finished: Bool

    public var best: Row? { ranked.first }
    public var completedCount: Int { rows.filter { $0.status == "completed" }.count }
    public var failedCount: Int { rows.filter { $0.status == "failed" }.count }

    public static func collect(plan: SweepPlan, directory: String, ledger: SweepLedger) -> SweepReport {
        let status = SweepStatus(plan: plan, ledger: ledger)
        var rows: [Row] = []
        for t in plan.trials {
            var row = Row(trial: t.index, status: "pending", rung: 0, values: t.values, metric: nil, bestEpoch: nil,
                          epochsRun: 0, seconds: 0, runDirectory: "trials/" + SweepPlan.trialName(t.index), reason: nil)
            // Seconds over every rung's result.
            for (task, state) in status.tasks where task.trial == t.index {
                if case .done(let r) = state { row.seconds += r.seconds }
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
        report.warnings = report.boundaryWarnings()
        return report
    }

    // MARK: The boundary rule

    /// For every numeric parameter whose best value lies in the outer 10% of its range (log
    /// space for log distributions; the smallest or largest of ≥ 3 listed numbers), which edge
    /// and a widened range to search next.
    public func boundaryWarnings() -> [String] {
        guard let best else { return [] }
        var out: [String] = []
        for (i, p) in plan.spec.parameters.enumerated() {
            guard case .number(let v) = best.values[i] else { continue }
            if let (lo, hi, log) = p.distribution.range {
                let f = log ? (v.log - lo.log) / (hi.log - lo.log) : (v - lo) / (hi - lo)
                guard f <= 0.1 || f >= 0.9 else { continue }
                let upper = f >= 0.9
                let scale = log ? " (log scale)" : ""
                var (nlo, nhi) = (lo, hi)
                if log {
                    let decades = max(1, ((hi.log10 - lo.log10) / 2).rounded(.up))
                    var factor = 1.0
                    for _ in 0..<Int(decades) { factor *= 10 }
                    if upper { nhi = hi * factor } else { nlo = lo / factor }
                } else {
                    var half = (hi - lo) / 2
                    if case .intUniform = p.distribution { half = half.rounded(.up) }
                    if upper { nhi = hi + half } else { nlo = lo >= 0 ? max(0, lo - half) : lo - half }
                }
                var msg = "\(p.path): the best value \(formatSignificant(v, 3)) lies in the \(upper ? "top" : "bottom") 10% of [\(formatSignificant(lo, 3)), \(formatSignificant(hi, 3))]\(scale)"
                if nlo == lo && nhi == hi {
                    msg += "; the range cannot widen past 0 there"
                } else {
                    let short = shorthandName(p.distribution)
                    msg += "; the optimum may lie beyond it: search again with min \(formatSignificant(nlo, 3)), max \(formatSignificant(nhi, 3))"
                    if let short { msg += " (--param \(p.path)=\(short):\(formatSignificant(nlo, 3)):\(formatSignificant(nhi, 3)))" }
                }
                out.append(msg)
            } else if case .values(let vs, _) = p.distribution {
                let nums = vs.compactMap(\.doubleValue).sorted()
                guard nums.count >= 3, nums.count == vs.count else { continue }
                if v == nums.first || v == nums.last {
                    let upper = v == nums.last
                    out.append("\(p.path): the best value \(formatSignificant(v, 3)) is the \(upper ? "largest" : "smallest") of the values tried; try \(upper ? "larger" : "smaller") ones too")
                }
            }
        }
        return out
    }

    func shorthandName(_ d: Distribution) -> String? {
        switch d {
        case .uniform: return "uniform"
        case .logUniformValues: return "log"
        case .intUniform: return "int"
        default: return nil
        }
    }

    // MARK: Files

    /// `trials.csv`: trial, status, [rung,] each parameter, the metric, best_epoch, epochs_run,
    /// seconds, run_dir, reason.
    public var csv: String {
        let halving = plan.spec.method == .halving
        var header = ["trial", "status"]
        if halving { header.append("rung") }
        header += plan.spec.parameters.map(\.path)
        header += [plan.spec.metric.name, "best_epoch", "epochs_run", "seconds", "run_dir", "reason"]
        var lines = [header.map(csvCell).joined(separator: ",")]
        for r in rows {
            var cells = [String(r.trial), r.status]
            if halving { cells.append(String(r.rung)) }
            cells += r.values.map(SweepReport.cellText)
            cells += [r.metric.map { JSONValue.format($0) } ?? "", r.bestEpoch.map(String.init) ?? "",
                      String(r.epochsRun), JSONValue.format((r.seconds * 1000).rounded() / 1000), r.runDirectory, r.reason ?? ""]
            lines.append(cells.map(csvCell).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func cellText(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return s
        case .number(let d): return JSONValue.format(d)
        default: return v.serialized(indent: 0)
        }
    }

    /// The best trial's resolved config, ready for `nntrain run` (its own name, no output dir).
    public func bestConfig(directory: String) -> JSONValue? {
        guard let best,
              let bytes = try? FileIO.read(directory + "/" + best.runDirectory + "/config.json"),
              case .object(var pairs)? = try? JSONValue.parse(bytes) else { return nil }
        pairs.removeAll { $0.0 == "output" }
        if let i = pairs.firstIndex(where: { $0.0 == "name" }) { pairs[i].1 = .string(plan.spec.name + "-best") }
        return .object(pairs)
    }

    /// Writes `trials.csv` and (when a trial completed) `best.json`, atomically.
    public func write(directory: String) throws(FileError) {
        try FileIO.writeAtomically(directory + "/trials.csv", text: csv)
        if let config = bestConfig(directory: directory) {
            try FileIO.writeAtomically(directory + "/best.json", text: config.serialized() + "\n")
        }
    }

    // MARK: Leaderboard

    public static func describe(_ t: PlannedTrial, _ ps: [SweepParameter]) -> String {
        zip(ps, t.values).map { p, v in "\(p.path)=\(display(v))" }.joined(separator: " ")
    }

    static func display(_ v: JSONValue) -> String {
        if case .number(let d) = v { return d == d.rounded() && abs(d) < 1e9 ? JSONValue.format(d) : formatSignificant(d, 3) }
        return cellText(v)
    }

    /// The leaderboard as a text table (top `limit`).
    public func table(limit: Int = 10) -> String {
        let halving = plan.spec.method == .halving
        var header = ["rank", "trial"]
        if halving { header.append("epochs") }
        header += plan.spec.parameters.map(\.path) + [plan.spec.metric.name, "best_epoch", "seconds"]
        var body: [[String]] = []
        for (i, r) in ranked.prefix(limit).enumerated() {
            var cells = [String(i + 1), SweepPlan.trialName(r.trial)]
            if halving { cells.append(String(r.epochsRun)) }
            cells += r.values.map(SweepReport.display)
            cells += [formatSignificant(r.metric!, 5), r.bestEpoch.map(String.init) ?? "", formatSignificant(r.seconds, 3)]
            body.append(cells)
        }
        var widths = header.map(\.count)
        for row in body { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ")
                .trimmingSpaces
        }
        var out = [line(header)] + body.map(line)
        var footer = "\(completedCount) completed"
        if failedCount > 0 { footer += ", \(failedCount) failed" }
        let unfinished = rows.count - completedCount - failedCount
        if unfinished > 0 { footer += ", \(unfinished) not finished" }
        footer += " (\(plan.spec.metric.goal) \(plan.spec.metric.name))"
        if ranked.count > limit { footer += "; top \(limit) shown" }
        out.append(footer)
        return out.joined(separator: "\n")
    }

    /// The leaderboard for scripts (`--json`).
    public var json: JSONValue {
        func rowJSON(_ r: Row, rank: Int?) -> JSONValue {
            var o: [(String, JSONValue)] = []
            if let rank { o.append(("rank", .number(Double(rank)))) }
            o += [("trial", .number(Double(r.trial))), ("status", .string(r.status))]
            if plan.spec.method == .halving { o.append(("rung", .number(Double(r.rung)))) }
            o.append(("params", .object(zip(plan.spec.parameters, r.values).map { ($0.path, $1) })))
            o += [(plan.spec.metric.name, r.metric.map { .number($0) } ?? .null),
                  ("best_epoch", r.bestEpoch.map { .number(Double($0)) } ?? .null),
                  ("epochs_run", .number(Double(r.epochsRun))),
                  ("seconds", .number((r.seconds * 1000).rounded() / 1000)),
                  ("run_dir", .string(r.runDirectory)),
                  ("reason", r.reason.map { .string($0) } ?? .null)]
            return .object(o)
        }
        return .object([
            ("name", .string(plan.spec.name)),
            ("method", .string(plan.spec.method.rawValue)),
            ("metric", .object([("name", .string(plan.spec.metric.name)), ("goal", .string(plan.spec.metric.goal))])),
            ("finished", .bool(finished)),
            ("completed", .number(Double(completedCount))),
            ("failed", .number(Double(failedCount))),
            ("best", best.map { rowJSON($0, rank: 1) } ?? .null),
            ("leaderboard", .array(ranked.enumerated().map { rowJSON($1, rank: $0 + 1) })),
            ("trials", .array(rows.map { rowJSON($0, rank: nil) })),
            ("warnings", .array(warnings.map { .string($0) })),
        ])
    }
}

func csvCell(_ s: String) -> String {
    if s.contains(",") || s.contains("\"") || s.contains("\n") {
        return "\"" + s.replacingAll("\"", "\"\"") + "\""
    }
    return s
}

extension String {
    func replacingAll(_ a: Character, _ b: String) -> String {
        var out = ""
        for c in self { if c == a { out += b } else { out.append(c) } }
        return out
    }
}
