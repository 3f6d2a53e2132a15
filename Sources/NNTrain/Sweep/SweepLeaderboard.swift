import NNCore

// What a sweep report writes and prints: trials.csv, configs.csv, best.json, the leaderboard
// table and the JSON of `--json`.

extension SweepReport {
    // MARK: Files

    /// `trials.csv`: trial, status, [rung,] each parameter, the metric, best_epoch, epochs_run,
    /// seconds, run_dir, reason.
    /// With repeats > 1 each row also says its `config` and `repeat` (after `trial`) and the
    /// configuration's `<metric>_mean` and `<metric>_std` (after the metric).
    public var csv: String {
        let halving = plan.spec.method == .halving
        let name = plan.spec.metric.name
        let repeated = repeats > 1
        var header = ["trial"]
        if repeated { header += ["config", "repeat"] }
        header.append("status")
        if halving { header.append("rung") }
        header += plan.spec.parameters.map(\.path)
        header.append(name)
        if repeated { header += [name + "_mean", name + "_std"] }
        header += ["best_epoch", "epochs_run", "seconds", "run_dir", "reason"]
        var lines = [header.map(csvCell).joined(separator: ",")]
        var summaries: [Int: ConfigRow] = [:]
        if repeated { for c in configs { summaries[c.config] = c } }
        for r in rows {
            var cells = [String(r.trial)]
            if repeated { cells += [String(r.config), String(r.repeatIndex)] }
            cells.append(r.status)
            if halving { cells.append(String(r.rung)) }
            cells += r.values.map(SweepReport.cellText)
            cells.append(r.metric.map { JSONValue.format($0) } ?? "")
            if repeated {
                let c = summaries[r.config]
                cells += [c?.mean.map { JSONValue.format($0) } ?? "", c?.std.map { JSONValue.format($0) } ?? ""]
            }
            cells += [r.bestEpoch.map(String.init) ?? "",
                      String(r.epochsRun), JSONValue.format((r.seconds * 1000).rounded() / 1000), r.runDirectory, r.reason ?? ""]
            lines.append(cells.map(csvCell).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `configs.csv` (repeats > 1): config, status, [rung,] each parameter, `<metric>_mean`,
    /// `<metric>_std`, `<metric>_min`, `<metric>_max`, completed (repeats that completed),
    /// repeats, seconds (all its trials), trials (their numbers, space-separated).
    public var configsCSV: String {
        let halving = plan.spec.method == .halving
        let name = plan.spec.metric.name
        var header = ["config", "status"]
        if halving { header.append("rung") }
        header += plan.spec.parameters.map(\.path)
        header += [name + "_mean", name + "_std", name + "_min", name + "_max", "completed", "repeats", "seconds", "trials"]
        var lines = [header.map(csvCell).joined(separator: ",")]
        func num(_ d: Double?) -> String { d.map { JSONValue.format($0) } ?? "" }
        for c in configs {
            var cells = [String(c.config), c.status]
            if halving { cells.append(String(c.rung)) }
            cells += c.values.map(SweepReport.cellText)
            cells += [num(c.mean), num(c.std), num(c.min), num(c.max), String(c.metrics.count), String(c.trials.count),
                      JSONValue.format((c.seconds * 1000).rounded() / 1000),
                      c.trials.map { SweepPlan.trialName($0.trial) }.joined(separator: " ")]
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
        if repeats > 1 { try FileIO.writeAtomically(directory + "/configs.csv", text: configsCSV) }
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

    /// The leaderboard as a text table (top `limit`). With repeats it ranks configurations:
    /// the metric's mean, std, min and max over the completed repeats, and how many completed.
    public func table(limit: Int = 10) -> String {
        let halving = plan.spec.method == .halving
        let name = plan.spec.metric.name
        var header = ["rank", repeats > 1 ? "config" : "trial"]
        if halving { header.append("epochs") }
        header += plan.spec.parameters.map(\.path)
        var body: [[String]] = []
        let rankedCount: Int
        if repeats > 1 {
            header += [name + "_mean", name + "_std", "min", "max", "runs", "seconds"]
            let ranked = rankedConfigs
            rankedCount = ranked.count
            for (i, c) in ranked.prefix(limit).enumerated() {
                var cells = [String(i + 1), String(c.config)]
                if halving { cells.append(String(c.representative?.epochsRun ?? 0)) }
                cells += c.values.map(SweepReport.display)
                cells += [formatSignificant(c.mean!, 5), c.std.map { formatSignificant($0, 2) } ?? "",
                          formatSignificant(c.min!, 5), formatSignificant(c.max!, 5),
                          "\(c.metrics.count)/\(c.trials.count)", formatSignificant(c.seconds, 3)]
                body.append(cells)
            }
        } else {
            header += [name, "best_epoch", "seconds"]
            rankedCount = ranked.count
            for (i, r) in ranked.prefix(limit).enumerated() {
                var cells = [String(i + 1), SweepPlan.trialName(r.trial)]
                if halving { cells.append(String(r.epochsRun)) }
                cells += r.values.map(SweepReport.display)
                cells += [formatSignificant(r.metric!, 5), r.bestEpoch.map(String.init) ?? "", formatSignificant(r.seconds, 3)]
                body.append(cells)
            }
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
        if repeats > 1 {
            footer += " (\(plan.spec.metric.goal) the mean \(plan.spec.metric.name) of \(repeats) repeats per configuration)"
        } else {
            footer += " (\(plan.spec.metric.goal) \(plan.spec.metric.name))"
        }
        if rankedCount > limit { footer += "; top \(limit) shown" }
        out.append(footer)
        return out.joined(separator: "\n")
    }

    /// The leaderboard for scripts (`--json`).
    public var json: JSONValue {
        func rowJSON(_ r: Row, rank: Int?) -> JSONValue {
            var o: [(String, JSONValue)] = []
            if let rank { o.append(("rank", .number(Double(rank)))) }
            o.append(("trial", .number(Double(r.trial))))
            if repeats > 1 { o += [("config", .number(Double(r.config))), ("repeat", .number(Double(r.repeatIndex)))] }
            o.append(("status", .string(r.status)))
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
        let name = plan.spec.metric.name
        func configJSON(_ c: ConfigRow, rank: Int?) -> JSONValue {
            func num(_ d: Double?) -> JSONValue { d.map { .number($0) } ?? .null }
            var o: [(String, JSONValue)] = []
            if let rank { o.append(("rank", .number(Double(rank)))) }
            o += [("config", .number(Double(c.config))), ("status", .string(c.status))]
            if plan.spec.method == .halving { o.append(("rung", .number(Double(c.rung)))) }
            o.append(("params", .object(zip(plan.spec.parameters, c.values).map { ($0.path, $1) })))
            o += [(name + "_mean", num(c.mean)), (name + "_std", num(c.std)), (name + "_min", num(c.min)), (name + "_max", num(c.max)),
                  ("completed", .number(Double(c.metrics.count))), ("repeats", .number(Double(c.trials.count))),
                  ("seconds", .number((c.seconds * 1000).rounded() / 1000)),
                  ("trials", .array(c.trials.map { .number(Double($0.trial)) })),
                  ("best_trial", c.representative.map { .number(Double($0.trial)) } ?? .null)]
            return .object(o)
        }
        var o: [(String, JSONValue)] = [
            ("name", .string(plan.spec.name)),
            ("method", .string(plan.spec.method.rawValue)),
            ("metric", .object([("name", .string(name)), ("goal", .string(plan.spec.metric.goal))])),
            ("finished", .bool(finished)),
            ("completed", .number(Double(completedCount))),
            ("failed", .number(Double(failedCount))),
        ]
        if repeats > 1 {
            // best and leaderboard are configurations (ranked by their mean); trials are the runs.
            let ranked = rankedConfigs
            o += [("repeats", .number(Double(repeats))),
                  ("best", ranked.first.map { configJSON($0, rank: 1) } ?? .null),
                  ("leaderboard", .array(ranked.enumerated().map { configJSON($1, rank: $0 + 1) })),
                  ("configs", .array(configs.map { configJSON($0, rank: nil) }))]
        } else {
            o += [("best", best.map { rowJSON($0, rank: 1) } ?? .null),
                  ("leaderboard", .array(ranked.enumerated().map { rowJSON($1, rank: $0 + 1) }))]
        }
        o += [("trials", .array(rows.map { rowJSON($0, rank: nil) })),
              ("warnings", .array(warnings.map { .string($0) }))]
        return .object(o)
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
