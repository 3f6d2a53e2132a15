import NNCore

/// `lr_find.svg`: the smoothed loss of a range test against the lr on a log axis (a tick per
/// decade), the suggestion marked with a dot and a dashed line. When the loss blew up past
/// `zoomWhenAbove` × its start, a second chart below shows the same curve with the y axis
/// ending at `zoomTop` × the start (points above drawn as triangles on the top edge), where
/// the descent the suggestion comes from is visible. `SVGChart`s: plain SVG 1.1, no scripts,
/// no external references, so any browser or viewer opens it.
public enum LRFindPlot {
    public static let zoomWhenAbove = 1.5
    public static let zoomTop = 1.2

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
        let losses = shown.map(\.smoothedLoss)
        guard let start = losses.first, let low = losses.min(), let high = losses.max(), start > 0,
              high > zoomWhenAbove * start, low < zoomTop * start else { return chart.svg() }
        var zoom = chart
        zoom.title = "zoomed: the loss up to \(significant(zoomTop, 2))× its start"
        zoom.id = "lr-find-zoom"; zoom.height = 300
        let top = zoomTop * start
        zoom.yRange = (low - 0.05 * (top - low))...top
        return SVGChart.stacked([chart, zoom])
    }
}
