import Foundation
import NNCore
@testable import NNTrain
import Testing

// The range test's rules on synthetic curves: the lr of each step, the suggestion (steepest
// descent of the smoothed loss against log lr), the CSV and the SVG. The test on real data,
// through the binary, is in Tests/CLITests/LRFindCLITests.swift.

/// Points at the rates of a range test from `min` to `max` with these smoothed losses.
func rangePoints(_ smoothed: [Double], min: Double = 1e-6, max: Double = 1) -> [LRFinder.Point] {
    smoothed.indices.map { i in
        LRFinder.Point(step: i + 1, lr: LRFinder.learningRate(step: i, steps: smoothed.count, min: min, max: max),
                       loss: smoothed[i], smoothedLoss: smoothed[i])
    }
}

@Test func rangeTestRatesRiseExponentiallyFromMinToMax() {
    let n = 100
    let lrs = (0..<n).map { LRFinder.learningRate(step: $0, steps: n, min: 1e-7, max: 10) }
    #expect(lrs.first == 1e-7)
    #expect(abs(lrs[n - 1] - 10) < 1e-12)
    // Equal ratios between neighbours: (max/min)^(1/(n−1)) = 1e8^(1/99).
    let ratio = pow(1e8, 1.0 / 99)
    for i in 1..<n { #expect(abs(lrs[i] / lrs[i - 1] - ratio) < 1e-9) }
    // The middle step of an odd count is the geometric mean.
    #expect(abs(LRFinder.learningRate(step: 5, steps: 11, min: 1e-4, max: 1) - 1e-2) < 1e-15)
    #expect(LRFinder.learningRate(step: 0, steps: 1, min: 0.5, max: 2) == 0.5)
}

@Test func suggestionIsTheSteepestDescentOfTheSmoothedLoss() {
    // Flat, then a drop steepest at index 30 (a logistic in the index, i.e. in log lr), a
    // valley and a blow-up. The first 10 and the last point are skipped.
    let smoothed = (0..<60).map { i -> Double in
        let drop = 2.0 / (1 + exp(-Double(i - 30) / 3))
        return 3 - drop + (i > 45 ? 0.2 * Double(i - 45) * Double(i - 45) : 0)
    }
    let points = rangePoints(smoothed)
    #expect(LRFinder.suggestion(points) == 30)
    // A steeper fall among the first 10 points does not count; nor does the last point.
    var early = smoothed
    early[3] = -100
    #expect(LRFinder.suggestion(rangePoints(early)) == 30)
    var last = smoothed
    last[59] = -100
    #expect(LRFinder.suggestion(rangePoints(last)) == 30)
    // Non-finite points are left out; too few points give no suggestion.
    var nan = smoothed
    nan[30] = .nan
    let s = LRFinder.suggestion(rangePoints(nan))
    #expect(s == 29 || s == 31)
    #expect(LRFinder.suggestion(rangePoints(Array(smoothed.prefix(12)))) == nil)
    #expect(LRFinder.suggestion(rangePoints(Array(smoothed.prefix(13)))) != nil)
}

@Test func suggestionUsesTheSlopeAgainstLogLR() {
    // Uneven steps in lr: the same loss change over a smaller step in log lr is steeper.
    let lrs = [1e-6, 1e-5, 1e-4, 1e-3, 1.1e-3, 1e-2, 1e-1]
    let losses = [3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 2.4]
    let points = lrs.indices.map { LRFinder.Point(step: $0 + 1, lr: lrs[$0], loss: losses[$0], smoothedLoss: losses[$0]) }
    let s = LRFinder.suggestion(points, skipBegin: 0, skipEnd: 0)
    #expect(s == 3 || s == 4)
}

@Test func rangeTestResultAndFiles() {
    let points = rangePoints([2.5, 2.4, 2.0, 1.5, 1.2, 1.3, 6.0], min: 1e-4, max: 1)
    let r = LRFinder.Result(points: points, steps: 10, suggestionIndex: LRFinder.suggestion(points, skipBegin: 0),
                            divergedAtStep: 7, directory: "d")
    #expect(r.minLossLR == points[4].lr)
    #expect(r.suggestedLR == points[r.suggestionIndex ?? 0].lr)
    #expect(r.csv == "d/lr_find.csv" && r.svg == "d/lr_find.svg")
    let csv = LRFinder.csv(points).split(separator: "\n")
    #expect(csv.first == "step,lr,loss,smoothed_loss")
    #expect(csv.count == points.count + 1)
    #expect(csv[1] == "1,0.0001,2.5,2.5")
    let json = LRFinder.json(r)
    #expect(json["diverged_at_step"] == .number(7))
    #expect(json["steps"] == .number(7))
    let svg = LRFindPlot.svg(points, suggestion: r.suggestionIndex, title: "a<b & c")
    #expect(svg.hasPrefix("<?xml") && svg.hasSuffix("</svg>\n"))
    #expect(svg.contains("<path d=\"M") && svg.contains("<circle"))
    #expect(svg.contains("a&lt;b &amp; c") && !svg.contains("<script") && !svg.contains("href"))
    // The loss blew up (6.0 > 1.5 × 2.5): a zoomed chart below, its y axis ending at 1.2 × 2.5
    // = 3, the blow-up drawn as a triangle on its top edge. Without a blow-up: one chart.
    #expect(svg.contains("<clipPath id=\"lr-find-clip\">") && svg.contains("<clipPath id=\"lr-find-zoom-clip\">"))
    #expect(svg.contains("zoomed: the loss up to 1.2× its start") && svg.contains("▲ above 3: clipped"))
    let calm = LRFindPlot.svg(rangePoints([2.5, 2.4, 2.0, 1.5, 1.2, 1.3, 3.0], min: 1e-4, max: 1), suggestion: 3, title: "t")
    #expect(!calm.contains("lr-find-zoom") && calm.contains("<clipPath id=\"lr-find-clip\">"))
    // No finite point: a plot that says so.
    #expect(LRFindPlot.svg([], suggestion: nil, title: "x").contains("no finite loss"))
}
