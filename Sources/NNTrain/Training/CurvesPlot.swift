import NNCore

/// `curves.svg`, written into a run directory when the run ends: loss and val_loss per epoch,
/// and for a classifier accuracy and val_accuracy in a second chart below, with the epochs
/// the diagnosis names (`best_epoch`, `epoch`, `last_epoch` in a finding's evidence) marked.
public enum CurvesPlot {
    /// The epochs a finding's evidence names, labelled with its code.
    public static func markers(_ findings: [Finding]) -> [SVGChart.Marker] {
        var out: [SVGChart.Marker] = []
        for f in findings {
            guard let pairs = f.evidence.objectValue else { continue }
            for (key, value) in pairs where ["best_epoch", "epoch", "last_epoch"].contains(key) {
                if let e = value.doubleValue { out.append(SVGChart.Marker(x: e, label: "\(f.code) (\(String(key.map { $0 == "_" ? " " : $0 })) \(Int(checking: e) ?? 0))")) }
            }
        }
        return out
    }

    /// The loss chart and (when any epoch has an accuracy) the accuracy chart of `figures`.
    public static func charts(_ figures: RunFigures, findings: [Finding], name: String, id: String = "curves") -> [SVGChart] {
        let epochs = figures.epochs, x = epochs.map { Double($0.epoch) }
        func series(_ label: String, _ values: [Double?], dashed: Bool = false, color: String) -> SVGChart.Series? {
            let pts = zip(x, values).compactMap { p in p.1.map { (x: p.0, y: $0) } }
            return pts.isEmpty ? nil : SVGChart.Series(label, pts, color: color, dashed: dashed)
        }
        var loss = SVGChart(title: "\(name): loss per epoch", xLabel: "epoch", yLabel: "loss")
        loss.id = id + "-loss"; loss.wholeX = true; loss.autoLogY = true
        loss.series = [series("loss", epochs.map(\.loss), color: SVGChart.palette[0]),
                       series("val_loss", epochs.map(\.valLoss), dashed: true, color: SVGChart.palette[1])].compactMap { $0 }
        loss.markers = markers(findings)
        var charts = [loss]
        if epochs.contains(where: { $0.accuracy != nil || $0.valAccuracy != nil }) {
            var acc = SVGChart(title: "\(name): accuracy per epoch", xLabel: "epoch", yLabel: "accuracy")
            acc.id = id + "-accuracy"
            acc.clipSpikes = false; acc.wholeX = true
            acc.series = [series("accuracy", epochs.map(\.accuracy), color: SVGChart.palette[0]),
                          series("val_accuracy", epochs.map(\.valAccuracy), dashed: true, color: SVGChart.palette[1])].compactMap { $0 }
            acc.markers = loss.markers
            charts.append(acc)
        }
        return charts
    }

    /// Writes `curves.svg` into `directory` from its curves.csv; nothing when curves.csv has
    /// no rows or does not read. A failed write is returned, not thrown: the run's results are
    /// written already.
    @discardableResult
    public static func write(directory: String, name: String, findings: [Finding]) -> FileError? {
        guard let figures = try? RunFigures.read(directory: directory, classes: nil, diverged: false), !figures.epochs.isEmpty else { return nil }
        do { try FileIO.writeAtomically(directory + "/curves.svg", text: SVGChart.stacked(charts(figures, findings: findings, name: name))) } catch {
            return error
        }
        return nil
    }
}
