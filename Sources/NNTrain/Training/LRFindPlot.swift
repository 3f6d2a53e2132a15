import NNCore

/// `lr_find.svg`: the smoothed loss of a range test against the lr on a log axis (a tick per
/// decade), the suggestion marked with a dot and a dashed line. An `SVGChart`: plain SVG 1.1,
/// no scripts, no external references, so any browser or viewer opens it.
public enum LRFindPlot {
    public static func svg(_ points: [LRFinder.Point], suggestion: Int?, title: String) -> String {
        var chart = SVGChart(title: "\(title): learning-rate range test", xLabel: "learning rate", yLabel: "smoothed loss")
        chart.width = 680; chart.height = 400; chart.id = "lr-find"
        chart.xScale = .log
        // The test stops where the loss blows up: that end is part of the picture.
        chart.clipSpikes = false
        chart.emptyText = "no finite loss to plot"
        let shown = points.filter { $0.lr > 0 && $0.smoothedLoss.isFinite }
        if !shown.isEmpty { chart.series = [SVGChart.Series("smoothed loss", shown.map { (x: $0.lr, y: $0.smoothedLoss) })] }
        if let s = suggestion, points.indices.contains(s), points[s].lr > 0, points[s].smoothedLoss.isFinite {
            let p = points[s]
            chart.markers = [SVGChart.Marker(x: p.lr, y: p.smoothedLoss, label: "suggested lr \(significant(p.lr, 3))")]
        }
        return chart.svg()
    }
}
