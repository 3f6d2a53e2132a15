import NNCore

/// `lr_find.svg`: the smoothed loss of a range test against the lr on a log axis (a tick per
/// decade), the suggestion marked with a dot and a dashed line. Plain SVG 1.1: no scripts, no
/// external references, so any browser or viewer opens it.
public enum LRFindPlot {
    static let width = 640.0, height = 400.0
    static let left = 70.0, right = 20.0, top = 40.0, bottom = 50.0

    public static func svg(_ points: [LRFinder.Point], suggestion: Int?, title: String) -> String {
        let shown = points.filter { $0.lr > 0 && $0.smoothedLoss.isFinite }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(num(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">\(escape(title)): learning-rate range test</text>\n"
        let plotW = width - left - right, plotH = height - top - bottom
        out += "<rect x=\"\(num(left))\" y=\"\(num(top))\" width=\"\(num(plotW))\" height=\"\(num(plotH))\" fill=\"none\" stroke=\"#888\"/>\n"
        guard let first = shown.first, let last = shown.last else {
            out += "<text x=\"\(num(width / 2))\" y=\"\(num(height / 2))\" text-anchor=\"middle\">no finite loss to plot</text>\n</svg>\n"
            return out
        }
        var x0 = log10(first.lr), x1 = log10(last.lr)
        if x1 <= x0 { x0 -= 0.5; x1 += 0.5 }
        var y0 = shown.map(\.smoothedLoss).min() ?? 0, y1 = shown.map(\.smoothedLoss).max() ?? 1
        if y1 <= y0 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        func px(_ lr: Double) -> Double { left + (log10(lr) - x0) / (x1 - x0) * plotW }
        func py(_ v: Double) -> Double { top + (y1 - v) / (y1 - y0) * plotH }
        // A tick and label per decade; the lr axis.
        var decade = x0.rounded(.up)
        while decade <= x1 + 1e-9 {
            let x = px(pow(10, decade))
            out += "<line x1=\"\(num(x))\" y1=\"\(num(top))\" x2=\"\(num(x))\" y2=\"\(num(top + plotH))\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(num(x))\" y=\"\(num(top + plotH + 16))\" text-anchor=\"middle\">1e\(Int(decade))</text>\n"
            decade += 1
        }
        out += "<text x=\"\(num(left + plotW / 2))\" y=\"\(num(height - 10))\" text-anchor=\"middle\">learning rate (log scale)</text>\n"
        // Five loss ticks; the loss axis.
        for k in 0...4 {
            let v = y0 + (y1 - y0) * Double(k) / 4
            out += "<text x=\"\(num(left - 6))\" y=\"\(num(py(v) + 4))\" text-anchor=\"end\">\(significant(v, 3))</text>\n"
        }
        out += "<text x=\"16\" y=\"\(num(top + plotH / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 16 \(num(top + plotH / 2)))\">smoothed loss</text>\n"
        var d = ""
        for (i, p) in shown.enumerated() { d += (i == 0 ? "M" : " L") + "\(num(px(p.lr))),\(num(py(p.smoothedLoss)))" }
        out += "<path d=\"\(d)\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\"/>\n"
        if let s = suggestion, points.indices.contains(s), points[s].lr > 0, points[s].smoothedLoss.isFinite {
            let p = points[s], x = px(p.lr), y = py(p.smoothedLoss)
            out += "<line x1=\"\(num(x))\" y1=\"\(num(top))\" x2=\"\(num(x))\" y2=\"\(num(top + plotH))\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>\n"
            out += "<circle cx=\"\(num(x))\" cy=\"\(num(y))\" r=\"5\" fill=\"#d62728\"/>\n"
            let anchor = x > left + plotW * 0.7 ? "end" : "start", dx = anchor == "end" ? -8.0 : 8.0
            out += "<text x=\"\(num(x + dx))\" y=\"\(num(top + 16))\" text-anchor=\"\(anchor)\" fill=\"#d62728\">suggested lr \(significant(p.lr, 3))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// A coordinate with one decimal.
    static func num(_ v: Double) -> String { fmt(v, 1) }

    /// Text safe inside an XML element.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
