import NNCore

/// `nntrain report SWEEP_DIR`: one self-contained HTML page of a sweep, read from its
/// `plan.json`, ledger and trial run directories (nothing in the sweep is written but the
/// page). It holds the leaderboard, the metric against each searched parameter (a log axis
/// for log distributions; the search range drawn with its outer 10% shaded, red where the
/// edge-of-range warning applies, the warning under the chart), the curves of the top trials
/// overlaid, and for successive halving the rungs: each rung's budget, trials and promotions,
/// and each trial's metric across the rungs it reached.
public enum SweepPage {
    /// How many of the best trials have their curves overlaid.
    public static let topTrials = 5
    /// Leaderboard rows on the page; the rest are in trials.csv.
    public static let leaderboardRows = 100

    /// Whether `directory` holds a sweep (its `plan.json`).
    public static func isSweep(_ directory: String) -> Bool {
        FileIO.isDirectory(directory) && FileIO.exists(directory + "/" + SweepPlan.fileName)
    }

    /// A sweep read back: its report (as `sweep collect` builds it), the state of every task
    /// and the run directories of its best trials.
    public struct Sweep {
        public var directory: String
        public var report: SweepReport
        public var status: SweepStatus
        /// The best trials' runs, best first, labelled.
        public var top: [(label: String, run: RunReport.Run)] = []
        /// Lines about what could not be read (ledger records, a top trial's run directory).
        public var problems: [String] = []
    }

    /// Reads the sweep in `directory`; a plan that does not load: `.config` (exit 2).
    public static func load(_ directory: String) throws(RunError) -> Sweep {
        let plan: SweepPlan
        do { plan = try SweepPlan.load(directory: directory) } catch { throw .config(error.lines) }
        let ledger = SweepLedger(directory: directory)
        let status = SweepStatus(plan: plan, ledger: ledger)
        let report = SweepReport.collect(plan: plan, directory: directory, ledger: ledger)
        var sweep = Sweep(directory: directory, report: report, status: status, problems: report.ledgerProblems)
        let best = report.repeats > 1 ? report.rankedConfigs.compactMap(\.representative) : report.ranked
        for (rank, row) in best.prefix(topTrials).enumerated() {
            let dir = directory + "/" + row.runDirectory
            do {
                sweep.top.append(("#\(rank + 1) trial \(SweepPlan.trialName(row.trial))", try RunReport.load(dir, testFigures: false)))
            } catch {
                sweep.problems.append("trial \(SweepPlan.trialName(row.trial)): its curves are left out: \(error.description)")
            }
        }
        return sweep
    }

    /// Reads the sweep in `directory` and writes its page to `path`.
    public static func write(directory: String, to path: String) throws(RunError) {
        let sweep = try load(directory)
        do { try FileIO.writeAtomically(path, text: html(sweep)) } catch { throw .io("cannot write \(path): \(error)") }
    }

    /// The page.
    public static func html(_ s: Sweep) -> String {
        let r = s.report, spec = r.plan.spec, metric = spec.metric
        var body = HTML.heading(1, "nntrain sweep report: \(spec.name)")
        let unfinished = r.rows.count - r.completedCount - r.failedCount
        var facts: [(String, String)] = [
            ("directory", s.directory), ("method", spec.method.rawValue), ("metric", "\(metric.name) (\(metric.goal))"),
            ("trials", "\(r.rows.count): \(r.completedCount) completed, \(r.failedCount) failed, \(unfinished) not finished"
                + (r.finished ? "" : " (the sweep is not finished)")),
        ]
        if r.repeats > 1 { facts.append(("repeats", "\(r.repeats) per configuration, ranked by the mean")) }
        if let b = r.best {
            let v = r.repeats > 1 ? r.rankedConfigs.first?.mean : b.metric
            facts.append(("best", "trial \(SweepPlan.trialName(b.trial)): \(metric.name) \(v.map { significant($0, 5) } ?? "")"
                + " with " + SweepReport.describe(PlannedTrial(index: b.trial, seed: 0, values: b.values), spec.parameters)))
            facts.append(("best config", s.directory + "/best.json"))
        }
        body += HTML.facts(facts, cls: "facts")
        if !s.problems.isEmpty {
            body += "<ul class=\"problems\">\n" + s.problems.map { "<li class=\"finding\">\(xmlEscape($0))</li>\n" }.joined() + "</ul>\n"
        }
        body += HTML.heading(2, "Leaderboard", id: "leaderboard") + leaderboard(r)
        body += HTML.heading(2, "\(metric.name) against each parameter", id: "parameters")
        body += SweepCharts.parameterFigures(s)
        if !s.top.isEmpty {
            body += HTML.heading(2, "Curves of the top \(s.top.count) trials", id: "top-trials")
            body += HTML.charts(RunReport.overlays(s.top.map(\.run), labels: s.top.map(\.label)))
            body += "<p>Each trial's own page: <code>nntrain report \(xmlEscape(s.directory))/trials/NNNN</code>.</p>\n"
        }
        if spec.method == .halving {
            body += HTML.heading(2, "Successive halving rungs", id: "rungs")
            body += SweepCharts.rungTable(s) + HTML.charts([SweepCharts.rungChart(s)])
        }
        return HTML.page(title: "nntrain sweep report: " + spec.name, body: body)
    }

    /// Ranked trials (configurations, with repeats) as in `sweep collect`, then the failed
    /// and unfinished ones with their status and reason.
    static func leaderboard(_ r: SweepReport) -> String {
        let spec = r.plan.spec, halving = spec.method == .halving, name = spec.metric.name
        let params = spec.parameters.map(\.path)
        var out = ""
        if r.repeats > 1 {
            let ranked = r.rankedConfigs
            let header = ["rank", "config"] + (halving ? ["epochs"] : []) + params + ["mean " + name, "std", "repeats", "seconds"]
            out += HTML.table(header, ranked.prefix(leaderboardRows).enumerated().map { i, c in
                [String(i + 1), String(c.config)] + (halving ? [epochs(r, c.rung)] : []) + c.values.map(SweepReport.display)
                    + [c.mean.map { significant($0, 5) } ?? "", c.std.map { significant($0, 3) } ?? "", String(c.metrics.count), fmt(c.seconds, 1)]
            }, cls: "leaderboard")
            if ranked.count > leaderboardRows { out += "<p>\(ranked.count - leaderboardRows) more configurations in configs.csv.</p>\n" }
        } else {
            let header = ["rank", "trial"] + (halving ? ["epochs"] : []) + params + [name, "best_epoch", "seconds"]
            out += HTML.table(header, r.ranked.prefix(leaderboardRows).enumerated().map { i, row in
                [String(i + 1), SweepPlan.trialName(row.trial)] + (halving ? [epochs(r, row.rung)] : [])
                    + row.values.map(SweepReport.display) + [row.metric.map { significant($0, 5) } ?? "", row.bestEpoch.map(String.init) ?? "", fmt(row.seconds, 1)]
            }, cls: "leaderboard")
            if r.ranked.count > leaderboardRows { out += "<p>\(r.ranked.count - leaderboardRows) more trials in trials.csv.</p>\n" }
        }
        let rest = r.rows.filter { $0.status != "completed" }
        if !rest.isEmpty {
            out += HTML.heading(3, "Not completed")
            out += HTML.table(["trial", "status"] + params + ["reason"], rest.prefix(leaderboardRows).map { row in
                [SweepPlan.trialName(row.trial), row.status] + row.values.map(SweepReport.display) + [row.reason ?? ""]
            }, cls: "unfinished")
        }
        return out
    }

    /// The epoch budget of `rung` (halving).
    static func epochs(_ r: SweepReport, _ rung: Int) -> String {
        rung < r.plan.rungs.count ? String(r.plan.rungs[rung]) : ""
    }
}
