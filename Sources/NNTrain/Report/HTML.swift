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
}
