#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line chart as plain SVG 1.1 (no scripts, no external references): line series (or dots,
/// a scatter plot) with a legend to the right, linear, log or categorical x axes with ticks (a
/// log axis: one per decade), vertical markers with a label, shaded x bands, everything clipped
/// to the plot area. A y axis whose values hold a spike
/// (a diverging loss) ends at the robust upper bound `q3 + 20·(q3 − q1)` of the finite values
/// when the largest lies above it; points above it are drawn at the top edge as triangles.
/// Non-finite points (and on a log axis, those ≤ 0) break the line.
public struct SVGChart: Sendable {
    public enum Scale: Sendable { case linear, log }

    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String?
        public var dashed: Bool
        public var width: Double
        /// Draw each point as a dot (radius `width` + 1.5) and no line: a scatter plot.
        public var dots: Bool
        public init(_ name: String, _ points: [(x: Double, y: Double)], color: String? = nil, dashed: Bool = false, width: Double = 2,
                    dots: Bool = false) {
            self.name = name; self.points = points; self.color = color; self.dashed = dashed; self.width = width; self.dots = dots
        }
    }

    /// The x range `from`…`to` shaded over the plot's height, with a label at its foot.
    public struct Band: Sendable {
        public var from: Double, to: Double
        public var label: String
        public var color: String
        public init(from: Double, to: Double, label: String = "", color: String = "#d62728") {
            self.from = from; self.to = to; self.label = label; self.color = color
        }
    }

    /// A dashed vertical line at `x`, labelled at the top of the plot, with a dot at `y` if given.
    public struct Marker: Sendable {
        public var x: Double
        public var y: Double?
        public var label: String
        public var color: String
        public init(x: Double, y: Double? = nil, label: String, color: String = "#d62728") {
            self.x = x; self.y = y; self.label = label; self.color = color
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xScale: Scale = .linear
    public var yScale: Scale = .linear
    /// Draw a linear y axis as log when every value is positive and they span more than four
    /// decades (a loss that blew up and came back).
    public var autoLogY = false
    public var series: [Series] = []
    public var markers: [Marker] = []
    public var bands: [Band] = []
    /// A fixed x range in data units (a search range), padded by a dot's radius for dots; nil (or a bound that is inf): the data's. Points outside are clipped.
    public var xRange: ClosedRange<Double>? = nil
    /// Names of the x positions 0, 1, 2…: a categorical axis, ticked at each whole number (every k-th when the names would overlap).
    public var xCategories: [String]? = nil
    /// End the y axis at the robust upper bound when a value lies above it.
    public var clipSpikes = true
    /// Ticks on whole numbers only on the x axis (epochs, steps).
    public var wholeX = false
    /// A fixed y range (a fraction: 0…1); nil: the data's.
    public var yRange: ClosedRange<Double>? = nil
    public var width = 560.0, height = 300.0
    /// Prefix of the ids in the SVG (its clip path): unique per chart within one HTML page.
    public var id = "chart"
    /// What an empty chart says.
    public var emptyText = "no data to plot"

    static let left = 64.0, right = 170.0, top = 34.0, bottom = 44.0
    /// The Tableau 10 colours, for series without their own.
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
    }

    /// The upper end of the y axis when it leaves out a spike; nil when nothing is left out.
    public static func robustUpperBound(_ values: [Double]) -> Double? {
        let v = values.filter(\.isFinite).sorted()
        guard v.count >= 4, let top = v.last else { return values.contains(.infinity) ? v.last : nil }
        let q1 = v[v.count / 4], q3 = v[(v.count * 3) / 4]
        let bound = q3 + 20 * max(q3 - q1, abs(q3) * 1e-3)
        if top > bound || values.contains(.infinity) { return min(bound, top) }
        return nil
    }

    /// Ticks between `lo` and `hi`: about five at 1, 2 or 5 × 10ⁿ (linear), or one per decade (log).
    public static func ticks(_ lo: Double, _ hi: Double, scale: Scale) -> [Double] {
        guard lo.isFinite, hi.isFinite, hi > lo else { return [] }
        if scale == .log {
            // Less than two decades in range: 1, 2 and 5 per decade, then every digit.
            // More than eight decades: every second, third… decade.
            let stride = max(1, ((hi - lo) / 8).rounded(.up))
            for steps in [[1.0], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]] {
                var out: [Double] = []
                var d = (lo / stride).rounded(.down) * stride
                while d <= hi + 1e-9 && out.count < 40 {
                    for k in steps where (lo - 1e-9)...(hi + 1e-9) ~= d + log10(k) { out.append(d + log10(k)) }
                    d += steps.count == 1 ? stride : 1
                }
                if out.count >= 2 { return out }
            }
            // Within one digit of a decade: round values, as on a linear axis.
            return ticks(pow(10, lo), pow(10, hi), scale: .linear).filter { $0 > 0 }.map { log10($0) }
        }
        let raw = (hi - lo).isFinite ? (hi - lo) / 5 : hi / 5 - lo / 5
        let mag = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        var out: [Double] = []
        // Each tick a multiple of step (not a running sum: 1…2 by 0.2 ends at 2, not 1.9999999999999998).
        let first = (lo / step).rounded(.up)
        var t = first * step
        while t <= hi + step * 1e-9 && out.count < 20 { out.append(abs(t) < step * 1e-9 ? 0 : t); t = (first + Double(out.count)) * step }
        return out
    }

    /// The SVG element; `standalone` adds the XML declaration (a file of its own).
    public func svg(standalone: Bool = true) -> String {
        var out = standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : ""
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += body()
        out += "</svg>\n"
        return out
    }

    /// Charts stacked vertically in one SVG document.
    public static func stacked(_ charts: [SVGChart]) -> String {
        let w = charts.map(\.width).max() ?? 0, h = charts.reduce(0) { $0 + $1.height }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        var y = 0.0
        for c in charts {
            out += "<svg x=\"0\" y=\"\(num(y))\" width=\"\(Int(c.width))\" height=\"\(Int(c.height))\">\n" + c.body() + "</svg>\n"
            y += c.height
        }
        return out + "</svg>\n"
    }

    /// `yScale`, or log where `autoLogY` applies.
    var resolvedYScale: Scale {
        guard autoLogY, yScale == .linear else { return yScale }
        let ys = series.flatMap { $0.points.map(\.y) }.filter(\.isFinite)
        guard let lo = ys.min(), let hi = ys.max(), lo > 0, hi / lo > 1e4 else { return .linear }
        return .log
    }

    func transform(_ v: Double, _ s: Scale) -> Double? {
        guard v.isFinite || v == .infinity else { return nil }
        if s == .log { return v > 0 ? log10(v) : nil }
        return v
    }

    func body() -> String {
        let l = Self.left, t = Self.top
        let pw = width - l - Self.right, ph = height - t - Self.bottom
        var out = "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(num(l))\" y=\"20\" font-size=\"13\" font-weight=\"bold\">\(xmlEscape(title))</text>\n"
        out += "<rect x=\"\(num(l))\" y=\"\(num(t))\" width=\"\(num(pw))\" height=\"\(num(ph))\" fill=\"none\" stroke=\"#888\"/>\n"
        let xs = series.flatMap { $0.points.compactMap { transform($0.x, xScale) } }.filter(\.isFinite)
        let yScale = resolvedYScale
        let ysAll = series.flatMap { $0.points.compactMap { transform($0.y, yScale) } }
        // A bound of xRange that is not a finite number on the axis (inf) is the data's.
        func bound(_ v: Double?) -> Double? { v.flatMap { transform($0, xScale) }.flatMap { $0.isFinite ? $0 : nil } }
        guard var x0 = bound(xRange?.lowerBound) ?? xs.min(),
              var x1 = bound(xRange?.upperBound) ?? xs.max(), var y0 = ysAll.filter(\.isFinite).min(), var y1 = ysAll.filter(\.isFinite).max() else {
            out += "<text x=\"\(num(l + pw / 2))\" y=\"\(num(t + ph / 2))\" text-anchor=\"middle\" fill=\"#666\">\(xmlEscape(emptyText))</text>\n"
            return out
        }
        var clipAt = clipSpikes ? Self.robustUpperBound(ysAll) : nil
        if let c = clipAt { y1 = c }
        if let r = yRange { y0 = r.lowerBound; y1 = r.upperBound; clipAt = ysAll.contains { $0 > r.upperBound } ? y1 : nil }
        if let c = xCategories { x0 = -0.5; x1 = Double(max(1, c.count)) - 0.5 }
        // Widths are taken at half scale and ends kept finite (`pad`, `fraction`): values near
        // ±1.7e308 still give finite coordinates.
        if x1 <= x0 { (x0, x1) = Self.pad(x0, x1, max(0.5, abs(x0) * 0.01)) }
        // Dots at the data's ends (or at a fixed range's) would be cut in half by the frame.
        let dot = series.filter(\.dots).map { $0.width + 2.5 }.max()
        if let dot, xCategories == nil { (x0, x1) = Self.pad(x0, x1, (x1 / 2 - x0 / 2) * (xRange == nil ? 0.1 : 2 * dot / pw)) }
        if y1 <= y0 { (y0, y1) = Self.pad(y0, y1, max(abs(y0) * 0.1, 0.5)) }
        if (yScale == .linear || dot != nil) && yRange == nil {
            let p = (y1 / 2 - y0 / 2) * 0.1
            y0 = Self.pad(y0, y1, p).0; if clipAt == nil { y1 = Self.pad(y0, y1, p).1 }
        }
        func px(_ v: Double) -> Double { l + Self.fraction(v, x0, x1) * pw }
        func py(_ v: Double) -> Double { t + (1 - Self.fraction(v, y0, y1)) * ph }
        func label(_ v: Double, _ s: Scale, _ ticks: [Double]) -> String {
            guard s == .log else {
                // Enough decimals to tell neighbouring ticks apart.
                let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
                return abs(v) < 1e6 && step >= 1e-9 ? fmt(v, max(0, -(Int(checking: log10(step).rounded(.down)) ?? 0))) : significant(v, 4)
            }
            return abs(v - v.rounded()) < 1e-9 ? "1e\(Int(checking: v.rounded()) ?? 0)" : significant(pow(10, v), 4)
        }
        // Categories: a tick at every k-th, so that their names (about 6.5 px a character) do not overlap.
        let xTicks = xCategories.map { c -> [Double] in
            let room = Double(c.map { min(16, $0.count) }.max() ?? 1) * 6.5 + 8
            return Swift.stride(from: 0, to: c.count, by: max(1, Int((Double(c.count) * room / pw).rounded(.up)))).map(Double.init)
        }
            ?? Self.ticks(x0, x1, scale: xScale).filter { !wholeX || xScale == .log || $0 == $0.rounded() }
        let yTicks = Self.ticks(y0, y1, scale: yScale)
        for v in xTicks {
            out += "<line x1=\"\(num(px(v)))\" y1=\"\(num(t))\" x2=\"\(num(px(v)))\" y2=\"\(num(t + ph))\" stroke=\"#eee\"/>\n"
            let text = xCategories.map { c in xmlEscape(String(c[Int(v)].prefix(16))) } ?? label(v, xScale, xTicks)
            out += "<text x=\"\(num(px(v)))\" y=\"\(num(t + ph + 14))\" text-anchor=\"middle\">\(text)</text>\n"
        }
        for v in yTicks {
            out += "<line x1=\"\(num(l))\" y1=\"\(num(py(v)))\" x2=\"\(num(l + pw))\" y2=\"\(num(py(v)))\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(num(l - 5))\" y=\"\(num(py(v) + 4))\" text-anchor=\"end\">\(label(v, yScale, yTicks))</text>\n"
        }
        out += "<text x=\"\(num(l + pw / 2))\" y=\"\(num(height - 8))\" text-anchor=\"middle\">\(xmlEscape(xLabel))\(xScale == .log ? " (log scale)" : "")</text>\n"
        out += "<text x=\"14\" y=\"\(num(t + ph / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(num(t + ph / 2)))\">\(xmlEscape(yLabel))\(yScale == .log ? " (log)" : "")</text>\n"
        let clip = xmlEscape(id) + "-clip"
        out += "<clipPath id=\"\(clip)\"><rect x=\"\(num(l))\" y=\"\(num(t))\" width=\"\(num(pw))\" height=\"\(num(ph))\"/></clipPath>\n"
        out += "<g clip-path=\"url(#\(clip))\">\n"
        for b in bands {
            guard let a = transform(b.from, xScale), let z = transform(b.to, xScale), a.isFinite, z.isFinite else { continue }
            let lo = px(min(a, z)), hi = px(max(a, z))
            out += "<rect class=\"band\" x=\"\(num(lo))\" y=\"\(num(t))\" width=\"\(num(hi - lo))\" height=\"\(num(ph))\" fill=\"\(b.color)\" fill-opacity=\"0.12\"/>\n"
        }
        var clipped: [(Double, String)] = []
        for (i, s) in series.enumerated() {
            let color = s.color ?? Self.palette[i % Self.palette.count]
            var d = "", pen = false, single: [(Double, Double)] = []
            for p in s.points {
                guard let xv = transform(p.x, xScale), xv.isFinite, let yv = transform(p.y, yScale) else { pen = false; continue }
                var y = yv
                if let c = clipAt, y > c { y = c; clipped.append((px(xv), color)) }
                guard y.isFinite else { pen = false; continue }
                d += (pen ? " L" : (d.isEmpty ? "M" : " M")) + "\(num(px(xv))),\(num(py(y)))"
                single.append((px(xv), py(y)))
                pen = true
            }
            if s.dots {
                for (x, y) in single { out += "<circle cx=\"\(num(x))\" cy=\"\(num(y))\" r=\"\(num(s.width + 1.5))\" fill=\"\(color)\" fill-opacity=\"0.8\"/>\n" }
                continue
            }
            if !d.isEmpty {
                out += "<path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(num(s.width))\"\(s.dashed ? " stroke-dasharray=\"5 3\"" : "")/>\n"
            }
            if single.count == 1 { out += "<circle cx=\"\(num(single[0].0))\" cy=\"\(num(single[0].1))\" r=\"3\" fill=\"\(color)\"/>\n" }
        }
        for m in markers {
            guard let xv = transform(m.x, xScale), xv.isFinite else { continue }
            out += "<line x1=\"\(num(px(xv)))\" y1=\"\(num(t))\" x2=\"\(num(px(xv)))\" y2=\"\(num(t + ph))\" stroke=\"\(m.color)\" stroke-dasharray=\"4 3\"/>\n"
            if let y = m.y.flatMap({ transform($0, yScale) }), y.isFinite {
                out += "<circle cx=\"\(num(px(xv)))\" cy=\"\(num(py(min(y, y1))))\" r=\"5\" fill=\"\(m.color)\"/>\n"
            }
        }
        out += "</g>\n"
        for (k, m) in markers.enumerated() {
            guard let xv = transform(m.x, xScale), xv.isFinite else { continue }
            let x = px(xv), end = x > l + pw * 0.6
            out += "<text x=\"\(num(x + (end ? -4 : 4)))\" y=\"\(num(t + 12 + Double(k % 4) * 12))\" text-anchor=\"\(end ? "end" : "start")\" fill=\"\(m.color)\">\(xmlEscape(m.label))</text>\n"
        }
        for b in bands where !b.label.isEmpty {
            guard let a = transform(b.from, xScale), let z = transform(b.to, xScale), a.isFinite, z.isFinite else { continue }
            let mid = px((min(a, z) + max(a, z)) / 2)
            out += "<text x=\"\(num(mid))\" y=\"\(num(t + ph - 4))\" text-anchor=\"middle\" fill=\"\(b.color)\">\(xmlEscape(b.label))</text>\n"
        }
        for (x, color) in clipped {
            out += "<path class=\"clipped\" d=\"M\(num(x - 4)),\(num(t + 7)) L\(num(x + 4)),\(num(t + 7)) L\(num(x)),\(num(t + 1)) Z\" fill=\"\(color)\"/>\n"
        }
        if let c = clipAt {
            out += "<text x=\"\(num(l + pw))\" y=\"\(num(t - 4))\" text-anchor=\"end\" fill=\"#666\">▲ above \(significant(yScale == .log ? pow(10, c) : c, 3)): clipped</text>\n"
        }
        // The legend, right of the plot.
        let room = max(1, Int(checking: (ph / 16).rounded(.down)) ?? 1)
        for (i, s) in series.enumerated() {
            let y = t + 8 + Double(i) * 16
            if i == room - 1 && series.count > room {
                out += "<text x=\"\(num(l + pw + 10))\" y=\"\(num(y + 4))\" fill=\"#666\">+\(series.count - i) more</text>\n"
                break
            }
            let color = s.color ?? Self.palette[i % Self.palette.count]
            let name = s.name.count > 24 ? String(s.name.prefix(23)) + "…" : s.name
            if s.dots {
                out += "<circle cx=\"\(num(l + pw + 20))\" cy=\"\(num(y))\" r=\"\(num(s.width + 1.5))\" fill=\"\(color)\"/>\n"
            } else {
                out += "<line x1=\"\(num(l + pw + 10))\" y1=\"\(num(y))\" x2=\"\(num(l + pw + 30))\" y2=\"\(num(y))\" stroke=\"\(color)\" stroke-width=\"2\"\(s.dashed ? " stroke-dasharray=\"5 3\"" : "")/>\n"
            }
            out += "<text x=\"\(num(l + pw + 35))\" y=\"\(num(y + 4))\">\(xmlEscape(name))</text>\n"
        }
        return out
    }

    /// `lo − p`…`hi + p`, each end kept a finite number.
    static func pad(_ lo: Double, _ hi: Double, _ p: Double) -> (Double, Double) {
        (max(lo - p, -Double.greatestFiniteMagnitude), min(hi + p, Double.greatestFiniteMagnitude))
    }

    /// Where `v` lies from `lo` (0) to `hi` (1), at half scale so that a width past the largest
    /// double stays finite; a point far outside (clipped anyway) is kept within ±1000 widths.
    static func fraction(_ v: Double, _ lo: Double, _ hi: Double) -> Double {
        let f = (v / 2 - lo / 2) / (hi / 2 - lo / 2)
        return f.isNaN ? 0.5 : min(max(f, -1000), 1000)
    }

    func num(_ v: Double) -> String { fmt(v, 1) }
    static func num(_ v: Double) -> String { fmt(v, 1) }
}

/// Text safe inside an XML or HTML element or a quoted attribute.
public func xmlEscape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}
