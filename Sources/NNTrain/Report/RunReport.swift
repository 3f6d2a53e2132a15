import NNCore

/// `nntrain report`: one self-contained HTML page (inline SVG and CSS, no scripts) of one run
/// or several. Per run: loss, accuracy and lr per epoch, the per-step loss with its smoothed
/// trend and grad_norm, the layer statistics of layers.csv, the diagnosis with its evidence
/// marked on the epoch charts, the resolved config and the summary. Several runs: their
/// curves overlaid, and a table of the config keys whose values differ.
public enum RunReport {
    /// One run directory, read back.
    public struct Run: Sendable {
        public var directory: String
        public var name: String
        public var figures: RunFigures
        public var findings: [Finding]
        public var config: JSONValue?
        public var summary: JSONValue?
        /// A classifier's per-class figures on its test split (`nntrain eval`), or why there are none.
        public var testMetrics: ClassificationMetrics? = nil
        public var testMetricsNote: String? = nil
    }

    /// Smoothing of the per-step trend: an exponential moving average with this decay,
    /// divided by 1 − decayᵏ so that it starts at the first value.
    public static let smoothing = 0.9

    /// Reads the run in `directory`. A sweep directory or one that holds no run: `.config`
    /// (exit 2); a file that does not read: `.data` naming it (exit 3).
    /// `testFigures`: evaluate a classifier's test split for the per-class figures (a sweep's
    /// page, which does not show them, skips it).
    public static func load(_ directory: String, testFigures: Bool = true) throws(RunError) -> Run {
        if FileIO.isDirectory(directory), !FileIO.exists(directory + "/curves.csv"),
           FileIO.isDirectory(directory + "/ledger") || FileIO.isDirectory(directory + "/trials") {
            throw .config(["\(directory) looks like a sweep directory without its plan.json, not a run: "
                           + "give `nntrain report` a run directory, or a sweep directory alone"])
        }
        let figures = try RunFigures.read(runDirectory: directory)
        let config = try json(directory + "/config.json"), summary = try json(directory + "/summary.json")
        let base = directory.split(separator: "/").last.map(String.init) ?? directory
        let name = summary?["name"]?.stringValue ?? config?["name"]?.stringValue ?? base
        var run = Run(directory: directory, name: name, figures: figures, findings: Diagnosis.findings(figures),
                      config: config, summary: summary)
        if testFigures { (run.testMetrics, run.testMetricsNote) = testMetrics(directory, config: config) }
        return run
    }

    /// The run's per-class figures on its `data.test`, evaluated as `nntrain eval` does; nil
    /// with a note when the run has no weights, no test data, is not a classifier, or the
    /// evaluation fails (the data moved, a file does not read).
    static func testMetrics(_ directory: String, config: JSONValue?) -> (ClassificationMetrics?, String?) {
        guard FileIO.exists(directory + "/model.safetensors") else { return (nil, "no model.safetensors (the run did not finish)") }
        guard let test = config?["data"]?["test"], test != .null else { return (nil, "the run has no data.test") }
        guard config?["data"]?["task"]?.stringValue != "regression" else { return (nil, nil) }
        do {
            let r = try Experiment.evaluate(directories: [directory], data: nil, threads: nil)
            // No figures from outputs that are not finite (eval exits 4): say so, as for a failure.
            if let e = r.runs.first?.evaluation, r.runs.first?.metrics == nil {
                return (nil, "not evaluated: the loss on \(e.source) is \(e.loss) (the model's outputs are not finite: NaN or infinite weights or inputs)")
            }
            return (r.runs.first?.metrics, nil)
        } catch {
            return (nil, "not evaluated: \(error.description)")
        }
    }

    /// A JSON object file, nil when missing.
    static func json(_ path: String) throws(RunError) -> JSONValue? {
        guard FileIO.exists(path) else { return nil }
        let value: JSONValue
        do { value = try JSONValue.parse(FileIO.read(path, limit: 16 << 20)) } catch { throw .data(DataError(file: path, "\(error)")) }
        guard case .object = value else { throw .data(DataError(file: path, "expected a JSON object, got \(value.brief)")) }
        return value
    }

    /// The page of `runs` (one or more).
    public static func html(_ runs: [Run]) -> String {
        let labels = self.labels(runs)
        var body = HTML.heading(1, runs.count == 1 ? "nntrain report: \(labels[0])" : "nntrain report: \(runs.count) runs")
        if runs.count > 1 {
            body += HTML.heading(2, "Runs compared", id: "compare")
            body += HTML.table(["run", "directory", "stop reason", "best val_loss", "test accuracy", "diagnosis"], zip(labels, runs).map { l, r in
                [l, r.directory, r.summary?["stop_reason"]?.stringValue ?? "", r.summary?["best_val_loss"]?.doubleValue.map { significant($0, 4) } ?? "",
                 r.summary?["test_accuracy"]?.doubleValue.map { significant($0, 4) } ?? "", r.findings.map(\.code).joined(separator: ", ")]
            }, cls: "runs")
            body += HTML.charts(overlays(runs, labels: labels))
            body += HTML.heading(3, "Config keys that differ", id: "config-diff")
            let diff = differingKeys(runs.map { $0.config ?? .object([]) })
            body += diff.isEmpty ? "<p>The resolved configs are the same.</p>\n"
                : HTML.table(["key"] + labels, diff.map { [$0.key] + $0.values }, cls: "config-diff")
        }
        for (i, r) in runs.enumerated() { body += section(r, label: labels[i], index: i) }
        return HTML.page(title: "nntrain report: " + labels.joined(separator: ", "), body: body)
    }

    /// The runs' names; a name two runs share gets its directory's last component added (the
    /// whole directory when that is shared too).
    static func labels(_ runs: [Run]) -> [String] {
        func base(_ r: Run) -> String { r.directory.split(separator: "/").last.map(String.init) ?? r.directory }
        return runs.map { r in
            guard runs.filter({ $0.name == r.name }).count > 1 else { return r.name }
            return runs.filter { base($0) == base(r) }.count > 1 ? "\(r.name) (\(r.directory))" : "\(r.name) (\(base(r)))"
        }
    }

    static func section(_ r: Run, label: String, index: Int) -> String {
        let id = "run\(index)"
        var out = HTML.heading(2, label, id: id)
        out += "<p>Directory: <code>\(xmlEscape(r.directory))</code></p>\n"
        out += HTML.heading(3, "Diagnosis")
        out += "<ul class=\"diagnosis\">\n"
        for f in r.findings {
            out += "<li><span class=\"code \(f.code == "healthy" ? "healthy" : "finding")\">\(xmlEscape(f.code))</span>"
                + (f.code == "healthy" ? "" : ": \(xmlEscape(f.message))")
                + "<div class=\"evidence\">\(xmlEscape(f.evidence.serialized(indent: 0)))</div></li>\n"
        }
        out += "</ul>\n"
        out += HTML.heading(3, "Curves")
        out += HTML.charts(CurvesPlot.charts(r.figures, findings: r.findings, name: label, id: id) + epochCharts(r, id: id))
        let steps = stepCharts(r, id: id), layers = layerCharts(r, id: id)
        if !steps.isEmpty { out += HTML.heading(3, "Steps (steps.csv)") + HTML.charts(steps) }
        if !layers.isEmpty { out += HTML.heading(3, "Layers (layers.csv)") + HTML.charts(layers) }
        if let m = r.testMetrics {
            out += HTML.heading(3, "Test set: per-class figures and confusion matrix")
            out += HTML.metrics(m)
        } else if let note = r.testMetricsNote {
            out += HTML.heading(3, "Test set: per-class figures") + "<p>\(xmlEscape(note))</p>\n"
        }
        out += HTML.heading(3, "Resolved config (config.json)")
        out += r.config.map { HTML.pre($0.serialized()) } ?? "<p>No config.json.</p>\n"
        out += HTML.heading(3, "Summary (summary.json)")
        out += r.summary.map { HTML.pre($0.serialized()) } ?? "<p>No summary.json: the run is still going, or was killed.</p>\n"
        return out
    }

    static func epochCharts(_ r: Run, id: String) -> [SVGChart] {
        let pts = r.figures.epochs.compactMap { e in e.lr.map { (x: Double(e.epoch), y: $0) } }
        guard !pts.isEmpty else { return [] }
        var lr = SVGChart(title: "learning rate per epoch", xLabel: "epoch", yLabel: "lr")
        lr.id = id + "-lr"; lr.yScale = .log; lr.clipSpikes = false; lr.wholeX = true
        lr.series = [SVGChart.Series("lr", pts)]
        return [lr]
    }

    /// The exponential moving average of `values` (see `smoothing`); non-finite values skipped.
    public static func smoothed(_ values: [Double]) -> [Double] {
        var s = 0.0, k = 0.0, out: [Double] = []
        for v in values {
            if v.isFinite { s = smoothing * s + (1 - smoothing) * v; k += 1 }
            out.append(k > 0 ? s / (1 - pow(smoothing, k)) : .nan)
        }
        return out
    }

    static func stepCharts(_ r: Run, id: String) -> [SVGChart] {
        let steps = r.figures.steps
        guard !steps.isEmpty else { return [] }
        let x = steps.map { Double($0.step) }
        var loss = SVGChart(title: "loss per logged step", xLabel: "step", yLabel: "loss")
        loss.id = id + "-steps"; loss.wholeX = true; loss.autoLogY = true
        loss.series = [SVGChart.Series("loss", zip(x, steps.map(\.loss)).map { (x: $0, y: $1) }, color: "#aec7e8", width: 1),
                       SVGChart.Series("smoothed", zip(x, smoothed(steps.map(\.loss))).map { (x: $0, y: $1) }, color: "#1f77b4")]
        var out = [loss]
        let g = steps.compactMap { s in s.gradNorm.map { (x: Double(s.step), y: $0) } }
        if !g.isEmpty {
            var grad = SVGChart(title: "gradient norm per logged step", xLabel: "step", yLabel: "grad_norm")
            grad.id = id + "-grad"; grad.yScale = .log; grad.wholeX = true
            grad.series = [SVGChart.Series("grad_norm", g, color: "#9467bd")]
            out.append(grad)
        }
        return out
    }

    static func layerCharts(_ r: Run, id: String) -> [SVGChart] {
        let rows = r.figures.layers
        guard !rows.isEmpty else { return [] }
        var names: [String] = []
        for l in rows where !names.contains(l.layer) { names.append(l.layer) }
        func series(_ value: (RunFigures.Layer) -> Double?, _ what: String = "", dashed: Bool = false) -> [SVGChart.Series] {
            names.enumerated().compactMap { i, n in
                let pts = rows.filter { $0.layer == n }.compactMap { l in value(l).map { (x: Double(l.epoch), y: $0) } }
                let type = rows.first { $0.layer == n }?.type ?? ""
                return pts.isEmpty ? nil : SVGChart.Series("\(n) \(type)\(what)", pts, color: SVGChart.palette[i % SVGChart.palette.count], dashed: dashed)
            }
        }
        var std = SVGChart(title: "activation std per layer", xLabel: "epoch", yLabel: "act_std")
        std.id = id + "-act-std"; std.wholeX = true; std.series = series { $0.actStd }
        // Vanishing activations span decades; a healthy std is near 1.
        std.yScale = .log; std.clipSpikes = false
        var fractions = SVGChart(title: "dead (solid) and saturated (dashed) fraction", xLabel: "epoch", yLabel: "fraction")
        fractions.id = id + "-fractions"; fractions.yRange = 0...1; fractions.wholeX = true
        fractions.series = series({ $0.deadFraction }, " dead") + series({ $0.saturatedFraction }, " saturated", dashed: true)
        return fractions.series.isEmpty ? [std] : [std, fractions]
    }

    /// Loss, val_loss, accuracy and the smoothed step loss of every run on shared axes.
    static func overlays(_ runs: [Run], labels: [String]) -> [SVGChart] {
        func chart(_ title: String, _ y: String, _ id: String, _ pick: (Run) -> [(x: Double, y: Double)]) -> SVGChart? {
            var c = SVGChart(title: title, xLabel: id == "steps" ? "step" : "epoch", yLabel: y)
            c.id = "overlay-" + id; c.wholeX = true; c.autoLogY = true
            c.series = runs.indices.compactMap { i in
                let p = pick(runs[i])
                return p.isEmpty ? nil : SVGChart.Series(labels[i], p, color: SVGChart.palette[i % SVGChart.palette.count])
            }
            return c.series.isEmpty ? nil : c
        }
        func epochs(_ f: @escaping (RunFigures.Epoch) -> Double?) -> (Run) -> [(x: Double, y: Double)] {
            { r in r.figures.epochs.compactMap { e in f(e).map { (x: Double(e.epoch), y: $0) } } }
        }
        return [chart("loss per epoch", "loss", "loss", epochs { $0.loss }),
                chart("val_loss per epoch", "val_loss", "val-loss", epochs { $0.valLoss }),
                chart("val_accuracy per epoch", "val_accuracy", "val-accuracy", epochs { $0.valAccuracy }),
                chart("smoothed step loss", "loss", "steps", { r in zip(r.figures.steps, smoothed(r.figures.steps.map(\.loss))).map { (x: Double($0.step), y: $1) } }),
        ].compactMap { $0 }
    }

    /// `key.sub.0.units` → the value's compact JSON, for every leaf of `json`.
    public static func flatten(_ json: JSONValue, prefix: String = "") -> [(key: String, value: String)] {
        switch json {
        case .object(let pairs):
            return pairs.flatMap { flatten($0.1, prefix: prefix.isEmpty ? $0.0 : prefix + "." + $0.0) }
        case .array(let items) where !items.isEmpty:
            return items.enumerated().flatMap { flatten($0.element, prefix: prefix + "." + String($0.offset)) }
        default:
            return [(prefix, json.serialized(indent: 0))]
        }
    }

    /// The flattened keys whose values are not the same in all `configs`, in the order they
    /// first appear; a key a config lacks shows as "—".
    public static func differingKeys(_ configs: [JSONValue]) -> [(key: String, values: [String])] {
        let flat = configs.map { flatten($0) }
        var keys: [String] = [], seen: Set<String> = []
        for f in flat { for (k, _) in f where seen.insert(k).inserted { keys.append(k) } }
        let maps = flat.map { Dictionary($0.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }) }
        return keys.compactMap { k in
            let values = maps.map { $0[k] ?? "—" }
            return Set(values).count > 1 ? (k, values) : nil
        }
    }

    /// Reads `directories` and writes their page to `path`.
    public static func write(directories: [String], to path: String) throws(RunError) {
        var runs: [Run] = []
        for d in directories { runs.append(try load(d)) }
        do { try FileIO.writeAtomically(path, text: html(runs)) } catch { throw .io("cannot write \(path): \(error)") }
    }
}
