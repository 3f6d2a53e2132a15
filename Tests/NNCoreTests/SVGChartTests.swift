import Foundation
import NNCore
import Testing

// The SVG chart builder: ticks, log axes, the spike clip, escaping.

@Test func linearTicksAreRoundNumbers() {
    #expect(SVGChart.ticks(0, 1, scale: .linear) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
    #expect(SVGChart.ticks(1, 4, scale: .linear) == [1, 2, 3, 4])
    #expect(SVGChart.ticks(0, 170, scale: .linear) == [0, 50, 100, 150])
    #expect(SVGChart.ticks(1, 1, scale: .linear).isEmpty)
}

@Test func logTicksAreDecades() {
    // log10 of 1e-6 … 1e-1: one tick per decade.
    #expect(SVGChart.ticks(-6, -1, scale: .log) == [-6, -5, -4, -3, -2, -1])
    // Less than two decades: 1, 2 and 5 of each.
    let t = SVGChart.ticks(-0.5, 0.9, scale: .log)
    #expect(t.count >= 2 && t.contains(0))
}

@Test func chartDrawsAxesSeriesLegendAndMarkers() {
    var c = SVGChart(title: "loss <run>", xLabel: "epoch", yLabel: "loss")
    c.id = "t1"
    c.series = [SVGChart.Series("loss", [(1, 2.0), (2, 1.0), (3, 0.5)]), SVGChart.Series("val_loss", [(1, 2.1), (2, 1.5)], dashed: true)]
    c.markers = [SVGChart.Marker(x: 2, label: "overfitting (best epoch 2)")]
    let svg = c.svg()
    #expect(svg.hasPrefix("<?xml version=\"1.0\""))
    #expect(svg.contains("loss &lt;run&gt;"))
    #expect(!svg.contains("<run>"))
    #expect(svg.contains("<clipPath id=\"t1-clip\">"))
    #expect(svg.components(separatedBy: "<path d=\"M").count - 1 == 2)
    #expect(svg.contains("stroke-dasharray=\"5 3\""))
    #expect(svg.contains(">overfitting (best epoch 2)</text>"))
    #expect(svg.contains(">val_loss</text>"))
    #expect(!svg.contains("clipped"))
}

@Test func logAxisLabelsDecades() {
    var c = SVGChart(title: "lr", xLabel: "lr", yLabel: "loss")
    c.xScale = .log
    c.series = [SVGChart.Series("loss", [(1e-6, 2.3), (1e-4, 2.0), (1e-2, 1.0), (1, 5)])]
    let svg = c.svg()
    for d in ["1e-6", "1e-4", "1e-2", "1e0"] { #expect(svg.contains(">\(d)</text>"), "\(d)") }
    #expect(svg.contains("(log scale)"))
}

@Test func divergenceSpikeIsClippedAndMarked() {
    let values = [2.3, 1.2, 1.0, 0.9, 0.85, 0.8, 1e9]
    #expect(SVGChart.robustUpperBound([2.3, 1.0, 0.5, 0.4, 0.35, 0.33]) == nil)
    let bound = SVGChart.robustUpperBound(values)
    #expect(bound != nil && bound! < 1e9 && bound! >= 2.3)
    var c = SVGChart(title: "t", xLabel: "x", yLabel: "y")
    c.series = [SVGChart.Series("loss", values.enumerated().map { (Double($0.offset), $0.element) })]
    let svg = c.svg()
    #expect(svg.components(separatedBy: "class=\"clipped\"").count - 1 == 1)
    #expect(svg.contains(": clipped</text>"))
    // An infinite value is clipped too; a NaN breaks the line.
    c.series = [SVGChart.Series("loss", [(0, 1), (1, .nan), (2, 0.5), (3, 0.4), (4, .infinity)])]
    let s2 = c.svg()
    #expect(s2.contains(" M"), "the NaN starts a new subpath")
    #expect(s2.contains("class=\"clipped\""))
}

@Test func emptyChartSaysSo() {
    let svg = SVGChart(title: "t", xLabel: "x", yLabel: "y").svg(standalone: false)
    #expect(svg.hasPrefix("<svg "))
    #expect(svg.contains("no data to plot"))
}

@Test func stackedChartsShareOneDocument() {
    var a = SVGChart(title: "a", xLabel: "x", yLabel: "y"); a.id = "a"
    var b = SVGChart(title: "b", xLabel: "x", yLabel: "y"); b.id = "b"
    a.series = [SVGChart.Series("s", [(0, 1), (1, 2)])]; b.series = a.series
    let svg = SVGChart.stacked([a, b])
    #expect(svg.components(separatedBy: "<?xml").count == 2)
    #expect(svg.contains("height=\"600\""))
    #expect(xmlEscape("<a href='x'>&\"") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;")
}

@Test func logTicksThinOutAndFallBack() {
    // Fourteen decades: every second one.
    #expect(SVGChart.ticks(8, 22, scale: .log) == [8, 10, 12, 14, 16, 18, 20, 22])
    // Less than one digit of a decade (0.1263…0.1266): round values as on a linear axis.
    let t = SVGChart.ticks(log10(0.1263), log10(0.1266), scale: .log)
    #expect(t.count >= 2 && t.allSatisfy { (log10(0.1263) - 1e-9)...(log10(0.1266) + 1e-9) ~= $0 })
}

@Test func chartOptionsShapeTheAxes() {
    // A loss over fourteen decades turns log with autoLogY; whole-number x ticks only.
    var c = SVGChart(title: "t", xLabel: "epoch", yLabel: "loss")
    c.autoLogY = true; c.wholeX = true
    c.series = [SVGChart.Series("loss", [(1, 1e8), (2, 1e17), (3, 1e22)])]
    let svg = c.svg()
    #expect(svg.contains("loss (log)") && svg.contains(">1e20</text>"))
    #expect(!svg.contains(">1.5</text>") && svg.contains(">2</text>"))
    // A fixed range: 0…1 ticks even when every value is 0.
    var f = SVGChart(title: "t", xLabel: "epoch", yLabel: "fraction")
    f.yRange = 0...1
    f.series = [SVGChart.Series("dead", [(1, 0), (2, 0)])]
    #expect(f.svg().contains(">1.0</text>") && !f.svg().contains("clipped"))
    // More series than the legend has room for: "+N more".
    var m = SVGChart(title: "t", xLabel: "x", yLabel: "y")
    m.series = (0..<30).map { SVGChart.Series("s\($0)", [(0, Double($0)), (1, Double($0))]) }
    #expect(m.svg().contains(" more</text>"))
    // Tick labels carry the decimals that tell them apart.
    var n = SVGChart(title: "t", xLabel: "x", yLabel: "y")
    n.series = [SVGChart.Series("s", [(0, 2.30294), (1, 2.30302)])]
    #expect(n.svg().contains(">2.30300</text>") || n.svg().contains(">2.30298</text>"))
}

@Test func scatterBandsRangeAndCategories() {
    // Dots: a circle per point, no line; the legend shows a dot too.
    var c = SVGChart(title: "t", xLabel: "lr", yLabel: "val_loss")
    c.id = "s"; c.xScale = .log
    c.series = [SVGChart.Series("trials", [(1e-3, 0.5), (3e-3, 0.4), (1e-2, 0.7)], dots: true)]
    var svg = c.svg()
    #expect(svg.components(separatedBy: "fill-opacity=\"0.8\"").count - 1 == 3)
    #expect(!svg.contains("<path d=\"M"))
    // Dots at the data's ends are not cut by the frame: the x axis is padded past them.
    let circle = svg.range(of: "<circle cx=\"")!
    let cx = Double(svg[circle.upperBound...].prefix { $0 != "\"" })!
    #expect(cx > 64 + 4, "\(cx)")  // the plot starts at x = 64
    // A fixed x range (a search range) reaches past the data; bands shade x ranges, labelled.
    c.xRange = 1e-6...1
    c.bands = [SVGChart.Band(from: 1e-6, to: 1e-5, color: "#7f7f7f"), SVGChart.Band(from: 0.1, to: 1, label: "not searched")]
    svg = c.svg()
    #expect(svg.contains(">1e-6</text>") && svg.contains(">1e0</text>"))
    #expect(svg.components(separatedBy: "class=\"band\"").count - 1 == 2)
    #expect(svg.contains(">not searched</text>"))
    // A categorical axis: one tick per name, escaped, at 0, 1, 2.
    var k = SVGChart(title: "t", xLabel: "optimizer", yLabel: "val_loss")
    k.xCategories = ["sgd", "adam", "<b>"]
    k.series = [SVGChart.Series("trials", [(0, 1), (1, 0.5), (1, 0.6)], dots: true)]
    svg = k.svg()
    #expect(svg.contains(">sgd</text>") && svg.contains(">adam</text>") && svg.contains(">&lt;b&gt;</text>"))
}

@Test func extremeValuesGiveFiniteCoordinates() {
    // Values near ±1.7e308 (a hostile sweep file): x − x0 and the padding overflowed to inf,
    // and inf / inf is nan; the same huge value everywhere left a zero-width axis.
    func attributes(_ svg: String) -> [String] {
        svg.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }
    var c = SVGChart(title: "t", xLabel: "x", yLabel: "y")
    for points in [[(-1.7e308, -1.7e308), (1.7e308, 1.7e308), (0, 0)], [(1e20, 1.0), (1e20, 2.0)], [(1.7e308, 1.7e308), (1.7e308, 1.7e308)]] {
        for dots in [false, true] {
            c.series = [SVGChart.Series("s", points, dots: dots)]
            let svg = c.svg()
            #expect(!attributes(svg).contains { $0.contains("nan") || $0.contains("inf") }, "\(points) \(svg)")
        }
    }
    // A point far outside a fixed x range: clipped, its coordinate a finite number.
    c.xRange = 0...0.1
    c.series = [SVGChart.Series("s", [(1.7e308, 1), (-1.7e308, 2), (0.05, 3)], dots: true)]
    #expect(!attributes(c.svg()).contains { $0.contains("nan") || $0.contains("inf") })
    // A range bound that is inf: the data's instead, the points spread over the plot.
    c.xRange = 0...Double.infinity
    c.series = [SVGChart.Series("s", [(1, 1), (2, 2)], dots: true)]
    let svg = c.svg()
    #expect(svg.components(separatedBy: "<circle cx=\"64.0\"").count == 1 && !svg.contains("=\"inf\""), "\(svg)")
    #expect(SVGChart.ticks(-1.7e308, 1.7e308, scale: .linear).count >= 2)
}

@Test func dotsAtTheEndsOfAFixedRangeAreNotCut() {
    var c = SVGChart(title: "t", xLabel: "lr", yLabel: "val_loss")
    c.xScale = .log; c.xRange = 1e-5...1e-1
    c.series = [SVGChart.Series("trials", [(1e-5, 1), (1e-1, 2)], dots: true)]
    let svg = c.svg()
    let cx = svg.components(separatedBy: "<circle cx=\"").dropFirst().compactMap { Double($0.prefix { $0 != "\"" }) }
    // The plot runs from x = 64 to 390; a dot's radius is 3.5.
    #expect(cx.count == 3 && cx[0] >= 64 + 3.5 && cx[1] <= 390 - 3.5, "\(cx)")
    #expect(svg.contains(">1e-5</text>") && svg.contains(">1e-1</text>"))
}

@Test func manyCategoriesAreLabelledWhereThereIsRoom() {
    var c = SVGChart(title: "t", xLabel: "optimizer", yLabel: "val_loss")
    c.xCategories = (0..<3000).map { "category\($0)" }
    c.series = [SVGChart.Series("trials", [(0, 1), (2999, 2)], dots: true)]
    let svg = c.svg()
    let labels = svg.components(separatedBy: "text-anchor=\"middle\">category").count - 1
    #expect(labels >= 2 && labels <= 6, "\(labels)")
    #expect(svg.contains(">category0</text>"))
    // Few short names: every one.
    c.xCategories = ["sgd", "adam", "rmsprop"]
    #expect(["sgd", "adam", "rmsprop"].allSatisfy { c.svg().contains(">\($0)</text>") })
}

@Test func linearTicksReachTheirEnd() {
    // A running sum of 0.2 gave 1.9999999999999998: the whole-number tick 2 of epochs 1…2 was lost.
    #expect(SVGChart.ticks(1, 2, scale: .linear).last == 2)
    #expect(SVGChart.ticks(1, 11, scale: .linear) == [2, 4, 6, 8, 10])
}
