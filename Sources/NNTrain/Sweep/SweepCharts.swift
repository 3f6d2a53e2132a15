import NNCore

/// The charts of a sweep's page (`SweepPage`): the metric against each parameter and the
/// successive-halving rungs.
enum SweepCharts {
    /// One completed task: its trial, rung and metric.
    struct Point { var trial: Int; var rung: Int; var metric: Double }

    /// Every completed task with a finite metric, by rung then trial.
    static func points(_ status: SweepStatus) -> [Point] {
        status.tasks.compactMap { task, state -> Point? in
            guard case .done(let r) = state, r.status == .completed, let m = r.metric, m.isFinite else { return nil }
            return Point(trial: task.trial, rung: task.rung, metric: m)
        }.sorted { ($0.rung, $0.trial) < ($1.rung, $1.trial) }
    }

    /// Whether parameter `p` is drawn on a log axis: a log distribution, or a list of positive
    /// numbers spanning two decades or more.
    static func isLog(_ p: SweepParameter) -> Bool {
        switch p.distribution {
        case .logUniformValues, .qLogUniformValues, .logNormal: return true
        case .values(let vs, _):
            let n = vs.compactMap(\.doubleValue)
            guard n.count == vs.count, let lo = n.min(), let hi = n.max(), lo > 0 else { return false }
            return hi / lo >= 100
        default: return false
        }
    }

    /// The figure of every searched parameter (constants left out): the metric of each
    /// completed trial against its value (halving: one colour per rung), the best trial marked,
    /// the search range on the x axis with its outer tenths shaded grey (with a boundary
    /// warning the axis runs on to the widened range it suggests, the part not searched
    /// shaded red), and under the chart that warning and the failed trials not drawn.
    static func parameterFigures(_ s: SweepPage.Sweep) -> String {
        let r = s.report, spec = r.plan.spec, pts = points(s.status)
        var figures = ""
        for (i, p) in spec.parameters.enumerated() {
            if case .constant = p.distribution { continue }
            figures += figure(s, parameter: i, points: pts)
        }
        return figures.isEmpty ? "<p>No parameter varies.</p>\n" : "<div class=\"charts\">\n" + figures + "</div>\n"
    }

    static func figure(_ s: SweepPage.Sweep, parameter i: Int, points pts: [Point]) -> String {
        let r = s.report, spec = r.plan.spec, p = spec.parameters[i], trials = r.plan.trials
        let value = { (t: Int) -> JSONValue? in t < trials.count && i < trials[t].values.count ? trials[t].values[i] : nil }
        // Strings and booleans: one position per value, in the order the sweep lists them.
        var categories: [String]? = nil
        let listed = p.distribution.discreteValues ?? []
        if listed.contains(where: { $0.doubleValue == nil }) { categories = listed.map(SweepReport.display) }
        func x(_ v: JSONValue) -> Double? {
            if let c = categories { return c.firstIndex(of: SweepReport.display(v)).map(Double.init) }
            return v.doubleValue
        }
        var chart = SVGChart(title: "\(spec.metric.name) against \(p.path)", xLabel: p.path, yLabel: spec.metric.name)
        chart.id = "param\(i)"; chart.xCategories = categories; chart.autoLogY = true
        if categories == nil && isLog(p) { chart.xScale = .log }
        let rungs = Set(pts.map(\.rung)).sorted()
        chart.series = rungs.map { rung in
            let name = spec.method == .halving ? "rung \(rung) (\(SweepPage.epochs(r, rung)) epoch\(SweepPage.epochs(r, rung) == "1" ? "" : "s"))" : "trials"
            let xy = pts.filter { $0.rung == rung }.compactMap { pt in value(pt.trial).flatMap(x).map { (x: $0, y: pt.metric) } }
            return SVGChart.Series(name, xy, color: SVGChart.palette[rung % SVGChart.palette.count], width: 2, dots: true)
        }
        let warning = r.boundary.first { $0.path == p.path }
        if let (lo, hi, log) = p.distribution.range, hi > lo, !log || lo > 0 {
            // The searched range, its outer tenths shaded; with a warning, the axis runs on to
            // the widened range it suggests (when a finite number: 1.5e308 + half the range is
            // not), the part not searched shaded red.
            let (wlo, whi) = warning?.widened.flatMap { $0.min.isFinite && $0.max.isFinite ? $0 : nil } ?? (lo, hi)
            chart.xRange = Swift.min(lo, wlo)...Swift.max(hi, whi)
            func at(_ f: Double) -> Double { log ? (lo.log + f * (hi.log - lo.log)).exp : lo + f * (hi - lo) }
            chart.bands = [SVGChart.Band(from: lo, to: at(0.1), color: "#7f7f7f"), SVGChart.Band(from: at(0.9), to: hi, color: "#7f7f7f")]
            if wlo < lo { chart.bands.append(SVGChart.Band(from: wlo, to: lo, label: "not searched")) }
            if whi > hi { chart.bands.append(SVGChart.Band(from: hi, to: whi, label: "not searched")) }
        }
        if let b = r.best, i < b.values.count, let bx = x(b.values[i]) {
            let y = r.repeats > 1 ? r.rankedConfigs.first?.mean : b.metric
            chart.markers = [SVGChart.Marker(x: bx, y: y, label: "best \(SweepPlan.trialName(b.trial))")]
        }
        var caption = ""
        if let warning { caption += "<span class=\"finding\">warning: \(xmlEscape(warning.message))</span><br>" }
        let failed = r.rows.filter { $0.status == "failed" }
        if !failed.isEmpty {
            let listed = failed.prefix(6).map { "\(SweepPlan.trialName($0.trial)) (\(p.path)=\(i < $0.values.count ? SweepReport.display($0.values[i]) : "?"))" }
            caption += xmlEscape("failed, not drawn: " + listed.joined(separator: ", ") + (failed.count > 6 ? ", … (\(failed.count) in all)" : ""))
        }
        return "<figure>\n" + chart.svg(standalone: false) + (caption.isEmpty ? "" : "<figcaption>\(caption)</figcaption>\n") + "</figure>\n"
    }

    /// Per rung: its epoch budget, the trials it ran, how they ended, how many moved on and
    /// the best metric there.
    static func rungTable(_ s: SweepPage.Sweep) -> String {
        let r = s.report, metric = r.plan.spec.metric
        var rows: [[String]] = []
        for (k, epochs) in r.plan.rungs.enumerated() {
            let tasks = s.status.tasks.filter { $0.key.rung == k }
            guard !tasks.isEmpty else { break }
            let results = tasks.values.compactMap { state -> SweepResult? in if case .done(let res) = state { return res }; return nil }
            let metrics = results.filter { $0.status == .completed }.compactMap(\.metric).filter(\.isFinite)
            let promoted = s.status.tasks.keys.filter { $0.rung == k + 1 }.count
            let best = metrics.reduce(nil as Double?) { b, m in b.map { metric.better(m, than: $0) ? m : $0 } ?? m }
            rows.append([String(k), String(epochs), String(tasks.count), String(metrics.count),
                         String(results.filter { $0.status == .failed }.count), k + 1 < r.plan.rungs.count ? String(promoted) : "—",
                         best.map { significant($0, 5) } ?? ""])
        }
        return HTML.table(["rung", "epochs", "trials", "completed", "failed", "promoted", "best " + metric.name], rows, cls: "rungs")
    }

    /// The metric of each trial at each rung it reached, against the rung's epoch budget (one
    /// position per rung): a line per trial promoted at least once, dots for those that
    /// stopped at the first rung.
    static func rungChart(_ s: SweepPage.Sweep) -> SVGChart {
        let r = s.report, rungs = r.plan.rungs, pts = points(s.status)
        var chart = SVGChart(title: "\(r.plan.spec.metric.name) per rung", xLabel: "epochs (rung budget)", yLabel: r.plan.spec.metric.name)
        chart.id = "rungs"; chart.autoLogY = true; chart.xCategories = rungs.map(String.init)
        var byTrial: [Int: [Point]] = [:]
        for pt in pts where pt.rung < rungs.count { byTrial[pt.trial, default: []].append(pt) }
        let order = r.ranked.map(\.trial) + r.rows.map(\.trial)
        var seen = Set<Int>(), lines: [SVGChart.Series] = [], stopped: [(x: Double, y: Double)] = []
        for t in order where seen.insert(t).inserted {
            guard let mine = byTrial[t] else { continue }
            let xy = mine.map { (x: Double($0.rung), y: $0.metric) }
            if mine.count > 1 || mine.contains(where: { $0.rung > 0 }) {
                lines.append(SVGChart.Series("trial \(SweepPlan.trialName(t))", xy, color: SVGChart.palette[lines.count % SVGChart.palette.count]))
            } else {
                stopped += xy
            }
        }
        chart.series = lines + (stopped.isEmpty ? [] : [SVGChart.Series("stopped at rung 0", stopped, color: "#7f7f7f", width: 1.5, dots: true)])
        return chart
    }
}
