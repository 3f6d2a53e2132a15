import NNCore
@testable import NNTrain
import Testing

// ClassificationMetrics on a case worked by hand (3 classes: one never predicted, one with no
// examples, ties), its text outputs to the character, bad inputs, and scikit-learn's figures on
// a 200-example 10-class case (Fixtures/make_metrics_fixture.py writes metrics_fixture.json).

/// Six examples, 3 classes. Class 1 is never predicted, class 2 has no examples; example 1 ties
/// classes 0 and 1 (prediction 0), example 3 ties them with true class 1 (prediction 0, rank 1).
///
///     label  scores           prediction  rank of the label
///     0      0.7 0.2 0.1      0           0
///     0      0.5 0.5 0.0      0 (tie)     0
///     0      0.3 0.2 0.5      2           1
///     1      0.4 0.4 0.2      0 (tie)     1
///     1      0.3 0.1 0.6      2           2
///     0      0.6 0.1 0.3      0           0
///
/// Confusion [[3, 0, 1], [1, 0, 1], [0, 0, 0]]; support [4, 2, 0]; predicted [4, 0, 2].
/// precision [3/4, 0 (never predicted), 0/2]; recall [3/4, 0/2, 0 (no examples)]; f1 [3/4, 0, 0].
/// Accuracy 3/6; top-2 5/6; top-3 6/6. Macro (1/4, 1/4, 1/4); weighted 4·(3/4)/6 = 1/2 for each.
let handLabels = [0, 0, 0, 1, 1, 0]
let handScores: [Float] = [0.7, 0.2, 0.1, 0.5, 0.5, 0.0, 0.3, 0.2, 0.5, 0.4, 0.4, 0.2, 0.3, 0.1, 0.6, 0.6, 0.1, 0.3]

func handMetrics(topK ks: [Int] = [1, 2, 5, 3, 2, 0]) throws -> ClassificationMetrics {
    try ClassificationMetrics(labels: handLabels, probabilities: handScores, classes: 3, topK: ks)
}

@Test func handComputedCase() throws {
    let m = try handMetrics()
    #expect(m.classes == 3 && m.examples == 6)
    #expect(m.confusion == [[3, 0, 1], [1, 0, 1], [0, 0, 0]])
    #expect(m.support == [4, 2, 0] && m.predicted == [4, 0, 2])
    #expect(m.accuracy == 0.5)
    #expect(m.precision == [0.75, 0, 0], "class 1 never predicted, class 2 predicted twice wrongly")
    #expect(m.recall == [0.75, 0, 0], "class 1 never found, class 2 has no examples")
    #expect(m.f1 == [0.75, 0, 0])
    #expect(m.macro == .init(precision: 0.25, recall: 0.25, f1: 0.25))
    #expect(m.weighted == .init(precision: 0.5, recall: 0.5, f1: 0.5))
}

@Test func topKDropsKsOutsideTheClassesAndRepeats() throws {
    let m = try handMetrics()
    #expect(m.topK.map(\.k) == [1, 2, 3], "5 > 3 classes, 0 and the second 2 dropped")
    #expect(m.topK.map(\.hits) == [3, 5, 6])
    #expect(m.topK.map(\.accuracy) == [0.5, 5.0 / 6, 1])
    #expect(m.topK[0].accuracy == m.accuracy)
    // The default [1, 5] with 3 classes: top-1 only.
    #expect(try handMetrics(topK: [1, 5]).topK == [.init(k: 1, hits: 3, accuracy: 0.5)])
    #expect(try handMetrics(topK: []).topK.isEmpty)
}

@Test func tiesGoToTheLowerClassIndex() throws {
    // All three equal: prediction 0; the label 2 ranks behind both lower classes.
    let flat = try ClassificationMetrics(labels: [2, 0], probabilities: [1, 1, 1, 1, 1, 1], classes: 3, topK: [1, 2, 3])
    #expect(flat.confusion == [[1, 0, 0], [0, 0, 0], [1, 0, 0]])
    #expect(flat.topK.map(\.hits) == [1, 1, 2])
    // A tie between 1 and 2 below a larger 0; the higher max wins regardless of position.
    let m = try ClassificationMetrics(labels: [2, 1], probabilities: [0.2, 0.4, 0.4, 0.1, 0.3, 0.6], classes: 3, topK: [1, 2])
    #expect(m.confusion == [[0, 0, 0], [0, 0, 1], [0, 1, 0]])
    #expect(m.topK.map(\.hits) == [0, 2])
    // Infinities order as numbers.
    let inf = try ClassificationMetrics(labels: [1, 0], probabilities: [-.infinity, .infinity, 0, -.infinity, 5, .infinity], classes: 3)
    #expect(inf.confusion[1][1] == 1 && inf.confusion[0][2] == 1)
}

@Test func badInputsThrowNamingTheExample() {
    func error(_ labels: [Int], _ scores: [Float], _ k: Int) -> ClassificationMetrics.InputError? {
        do { _ = try ClassificationMetrics(labels: labels, probabilities: scores, classes: k); return nil } catch { return error }
    }
    let high = error([0, 3], [1, 0, 0, 0, 1, 0], 3)
    #expect(high?.example == 1 && high?.description == "example 1: label 3 is outside the classes 0..<3")
    #expect(error([-1], [1, 0], 2)?.example == 0)
    let nan = error([0, 1, 0], [1, 0, 0, 1, .nan, 0], 2)
    #expect(nan?.example == 2 && nan?.description == "example 2: the score of class 0 is NaN")
    let shape = error([0, 1], [1, 0, 0], 2)
    #expect(shape?.example == nil && shape?.description == "3 scores for 2 labels and 2 classes (need 2 × 2 = 4)")
    #expect(error([], [], 0)?.description == "0 classes: need at least 1")
}

@Test func noExamplesGivesZeros() throws {
    let m = try ClassificationMetrics(labels: [], probabilities: [], classes: 2)
    #expect(m.examples == 0 && m.accuracy == 0 && m.topK == [.init(k: 1, hits: 0, accuracy: 0)])
    #expect(m.precision == [0, 0] && m.recall == [0, 0] && m.macro.f1 == 0 && m.weighted == .init(precision: 0, recall: 0, f1: 0))
    #expect(m.json["accuracy"] == .number(0))
}

@Test func equatableComparesTheCounts() throws {
    #expect(try handMetrics() == handMetrics())
    #expect(try handMetrics() != handMetrics(topK: [1]))
    var labels = handLabels
    labels[0] = 1
    #expect(try handMetrics() != ClassificationMetrics(labels: labels, probabilities: handScores, classes: 3, topK: [1, 2, 5, 3, 2, 0]))
}

@Test func jsonHasEveryFigure() throws {
    let j = try handMetrics(topK: [1, 2]).json
    #expect(j.objectValue?.map(\.0) == ["classes", "examples", "accuracy", "top_k", "macro", "weighted", "per_class", "confusion_matrix"])
    #expect(j["accuracy"] == .number(0.5) && j["classes"] == .number(3) && j["examples"] == .number(6))
    #expect(j["top_k"] == .object([("top_1", .number(0.5)), ("top_2", .number(5.0 / 6))]))
    #expect(j["macro"] == .object([("precision", .number(0.25)), ("recall", .number(0.25)), ("f1", .number(0.25))]))
    #expect(j["weighted"]?["f1"] == .number(0.5))
    let perClass = try #require(j["per_class"]?.arrayValue)
    #expect(perClass.count == 3)
    #expect(perClass[0] == .object([("class", .number(0)), ("support", .number(4)), ("precision", .number(0.75)),
                                    ("recall", .number(0.75)), ("f1", .number(0.75))]))
    #expect(perClass[2]["support"] == .number(0) && perClass[1]["precision"] == .number(0))
    #expect(j["confusion_matrix"] == .array([[3, 0, 1], [1, 0, 1], [0, 0, 0]].map { .array($0.map { .number($0) }) }))
    // It reads back as written.
    #expect(try JSONValue.parse(j.serialized()) == j)
}

@Test func csvTextIsExact() throws {
    let m = try handMetrics()
    #expect(m.confusionCSV == "true\\predicted,0,1,2\n0,3,0,1\n1,1,0,1\n2,0,0,0\n")
    #expect(m.perClassCSV == "class,support,precision,recall,f1\n0,4,0.75,0.75,0.75\n1,2,0,0,0\n2,0,0,0,0\n")
    let third = try ClassificationMetrics(labels: [0, 0, 0], probabilities: [1, 0, 1, 0, 0, 1], classes: 2)
    #expect(third.perClassCSV.split(separator: "\n")[1] == "0,3,1,0.6666666666666666,0.8")
}

@Test func tableText() throws {
    let expected = """
        class         support  precision  recall      f1
        0                   4     0.7500  0.7500  0.7500
        1                   2     0.0000  0.0000  0.0000
        2                   0     0.0000  0.0000  0.0000

        macro avg           6     0.2500  0.2500  0.2500
        weighted avg        6     0.5000  0.5000  0.5000

        accuracy 0.5000 (3/6)
        top-1 accuracy 0.5000 (3/6)
        top-2 accuracy 0.8333 (5/6)

        confusion matrix (rows: true class, columns: predicted class)
        true\\pred 0 1 2
        0         3 0 1
        1         1 0 1
        2         0 0 0

        """
    #expect(try handMetrics(topK: [1, 2]).table() == expected)
    // Names label the rows (a wrong count of names is ignored).
    let named = try handMetrics().table(classNames: ["cat", "dog", "a very long class name indeed"])
    #expect(named.contains("\n0 cat                         4     0.7500  0.7500  0.7500\n"))
    #expect(named.contains("\ntrue\\pred              0 1 2\n0 cat                  3 0 1\n"))
    #expect(named.hasSuffix("\n2 a very long class n… 0 0 0\n"))
    #expect(try handMetrics().table(classNames: ["cat"]) == handMetrics().table())
}

// MARK: - scikit-learn

func loadMetricsFixture() throws -> JSONValue {
    try JSONValue.parse(try FileIO.read(fixturesDirectory + "/metrics_fixture.json"))
}

func doubles(_ v: JSONValue?) -> [Double] { (v?.arrayValue ?? []).compactMap(\.doubleValue) }

@Test func matchesScikitLearn() throws {
    let f = try loadMetricsFixture()
    let labels = doubles(f["labels"]).map { Int($0) }
    let k = try #require(f["classes"]?.doubleValue.map { Int($0) })
    try #require(labels.count == 200 && k == 10)
    let m = try ClassificationMetrics(labels: labels, probabilities: floats(f["probabilities"]), classes: k, topK: [1, 3, 5, 10, 11])
    func close(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-12 } }

    #expect(m.confusion == (f["confusion_matrix"]?.arrayValue ?? []).map { doubles($0).map { Int($0) } })
    #expect(m.support == doubles(f["support"]).map { Int($0) })
    #expect(m.support[9] == 0 && m.predicted[8] == 0, "the case has a class with no examples and one never predicted")
    #expect(m.accuracy == f["accuracy"]?.doubleValue)
    #expect(close(m.precision, doubles(f["precision"])), "\(m.precision)")
    #expect(close(m.recall, doubles(f["recall"])), "\(m.recall)")
    #expect(close(m.f1, doubles(f["f1"])), "\(m.f1)")
    for (mine, name) in [(m.macro, "macro"), (m.weighted, "weighted")] {
        let a = try #require(f[name])
        #expect(close([mine.precision, mine.recall, mine.f1], [a["precision"], a["recall"], a["f1"]].compactMap { $0?.doubleValue }), "\(name): \(mine)")
    }
    #expect(m.topK.map(\.k) == [1, 3, 5, 10])
    for t in m.topK { #expect(t.accuracy == f["top_k"]?["top_\(t.k)"]?.doubleValue, "top-\(t.k)") }
}

@Test func tenClassTableFitsTheTerminal() throws {
    let f = try loadMetricsFixture()
    let m = try ClassificationMetrics(labels: doubles(f["labels"]).map { Int($0) }, probabilities: floats(f["probabilities"]), classes: 10)
    let names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    for text in [m.table(), m.table(classNames: names)] {
        let lines = text.split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 100 }, "\(text)")
        #expect(lines.filter { $0.hasPrefix("confusion matrix") }.count == 1)
    }
    #expect(m.table(classNames: names).contains("\n1 automobile"))
}
