import NNCore

/// Pieces of the self-contained HTML page of `nntrain report`: inline CSS, no scripts, no
/// references outside the file. Every text from a run's files goes through `xmlEscape`.
enum HTML {
    static let style = """
    body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1180px; }
    h1 { font-size: 22px; } h2 { font-size: 18px; border-bottom: 1px solid #ccc; padding-bottom: 4px; margin-top: 36px; }
    h3 { font-size: 15px; margin-top: 20px; }
    .charts { display: flex; flex-wrap: wrap; gap: 8px; }
    pre { background: #f6f6f6; padding: 8px; font-size: 12px; overflow-x: auto; max-height: 480px; }
    table { border-collapse: collapse; font-size: 13px; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
    th { background: #f0f0f0; } .code { font-family: monospace; font-weight: bold; }
    figure { margin: 0; } figcaption { font-size: 12px; max-width: 560px; margin: 2px 0 10px 8px; }
    table.confusion td { text-align: right; min-width: 28px; } table.per-class td { text-align: right; }
    .healthy { color: #2ca02c; } .finding { color: #d62728; } .evidence { color: #555; font-size: 12px; font-family: monospace; }
    """

    static func page(title: String, body: String) -> String {
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>\(xmlEscape(title))</title>\n<style>\n\(style)\n</style>\n</head>\n<body>\n"
            + body + "</body>\n</html>\n"
    }

    static func heading(_ level: Int, _ text: String, id: String? = nil) -> String {
        "<h\(level)\(id.map { " id=\"\(xmlEscape($0))\"" } ?? "")>\(xmlEscape(text))</h\(level)>\n"
    }

    static func pre(_ text: String) -> String { "<pre>\(xmlEscape(text))</pre>\n" }

    static func charts(_ charts: [SVGChart]) -> String {
        charts.isEmpty ? "" : "<div class=\"charts\">\n" + charts.map { $0.svg(standalone: false) }.joined() + "</div>\n"
    }

    /// A table of names (in bold) and values, without a header row; every cell escaped.
    static func facts(_ rows: [(String, String)], cls: String) -> String {
        "<table class=\"\(cls)\">\n" + rows.map { "<tr><th>\(xmlEscape($0.0))</th><td>\(xmlEscape($0.1))</td></tr>\n" }.joined() + "</table>\n"
    }

    /// A table with a header row; every cell escaped.
    static func table(_ header: [String], _ rows: [[String]], cls: String) -> String {
        var out = "<table class=\"\(cls)\">\n<tr>" + header.map { "<th>\(xmlEscape($0))</th>" }.joined() + "</tr>\n"
        for r in rows { out += "<tr>" + r.map { "<td>\(xmlEscape($0))</td>" }.joined() + "</tr>\n" }
        return out + "</table>\n"
    }

    /// `eval`'s figures: accuracy and top-k, the per-class table with its macro and weighted
    /// means, and the confusion matrix (rows the true class, columns the predicted), each cell
    /// shaded by its share of the row.
    static func metrics(_ m: ClassificationMetrics) -> String {
        func f(_ d: Double) -> String { fmt(d, 4) }
        var out = "<p>accuracy \(f(m.accuracy))" + m.topK.filter { $0.k > 1 }.map { " · top-\($0.k) \(f($0.accuracy))" }.joined()
            + " · \(m.examples) examples</p>\n"
        let p = m.precision, r = m.recall, f1 = m.f1, s = m.support
        var rows = (0..<m.classes).map { c in [String(c), String(s[c]), f(p[c]), f(r[c]), f(f1[c])] }
        rows.append(["macro avg", String(m.examples), f(m.macro.precision), f(m.macro.recall), f(m.macro.f1)])
        rows.append(["weighted avg", String(m.examples), f(m.weighted.precision), f(m.weighted.recall), f(m.weighted.f1)])
        out += "<div class=\"charts\">\n" + table(["class", "support", "precision", "recall", "f1"], rows, cls: "per-class")
        out += "<table class=\"confusion\">\n<tr><th>true \\ predicted</th>" + (0..<m.classes).map { "<th>\($0)</th>" }.joined() + "</tr>\n"
        for t in 0..<m.classes {
            out += "<tr><th>\(t)</th>"
            for c in 0..<m.classes {
                let n = m.confusion[t][c]
                let share = s[t] > 0 ? Double(n) / Double(s[t]) : 0
                let color = t == c ? "44,160,44" : "214,39,40"
                out += "<td style=\"background: rgba(\(color),\(fmt(min(1, share * 1.5), 3)))\">\(n)</td>"
            }
            out += "</tr>\n"
        }
        return out + "</table>\n</div>\n"
    }
}
