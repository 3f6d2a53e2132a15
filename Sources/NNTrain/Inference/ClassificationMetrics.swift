import NNCore

/// Classification metrics of a set of predictions: the confusion matrix, accuracy and top-k
/// accuracy, and per-class precision, recall and F1 with their macro and support-weighted means,
/// as scikit-learn defines them (`confusion_matrix`, `precision_recall_fscore_support` with
/// `labels = 0..<K` and `zero_division = 0`, `top_k_accuracy_score`). Pure: it reads no file and
/// prints nothing; `nntrain eval` and `nntrain predict` write its `json`, CSVs and `table`.
///
/// Notation: N examples, K classes, C the confusion matrix, TP_c = C[c][c],
/// support_c = Σ_p C[c][p] (row sum: examples of true class c),
/// predicted_c = Σ_t C[t][c] (column sum: examples predicted as c).
public struct ClassificationMetrics: Sendable, Equatable {
    /// A precision, recall and F1 triple (an average over the classes).
    public struct Averages: Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var f1: Double
        public init(precision: Double, recall: Double, f1: Double) {
            self.precision = precision; self.recall = recall; self.f1 = f1
        }
    }

    /// Top-k accuracy: `hits` examples of `examples` had their true class among the k highest scores.
    public struct TopK: Sendable, Equatable {
        public var k: Int
        /// Examples whose true class ranks below k (rank as in `init`).
        public var hits: Int
        /// hits / N (0 when N = 0).
        public var accuracy: Double
    }

    /// Inputs that cannot be scored: labels and scores come from files, so a bad one is an error
    /// that names the example (0-based, in input order), never a trap.
    public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
        /// The example at fault, when there is one.
        public var example: Int?
        public var message: String
        public var description: String { example.map { "example \($0): \(message)" } ?? message }
    }

    /// K, the number of classes (class indices 0..<K).
    public var classes: Int
    /// N, the number of examples scored.
    public var examples: Int
    /// confusion[t][p]: examples of true class t predicted as p (rows the true class, columns the
    /// predicted). Σ_t Σ_p confusion[t][p] = N.
    public var confusion: [[Int]]
    /// Top-k accuracy for each k asked for (k in 1...K, first occurrence order; others dropped).
    public var topK: [TopK]

    /// Scores `labels` against `probabilities`, row-major N×K (any scores: logits,
    /// probabilities; only their order within a row matters).
    ///
    /// Prediction: argmax_c score[i][c]; a tie goes to the lower class index (torch.argmax,
    /// numpy.argmax: the first maximum). Rank of the true class y_i:
    /// rank_i = #{c : s[i][c] > s[i][y_i]} + #{c < y_i : s[i][c] = s[i][y_i]}, the same tie rule,
    /// so rank_i = 0 exactly when the prediction is right and top-1 accuracy = accuracy.
    /// A top-k hit is rank_i < k. (scikit-learn's `top_k_accuracy_score` breaks ties toward the
    /// higher index instead; without ties the two agree.) ±infinity orders as usual.
    ///
    /// Throws `InputError` when K < 1, when `probabilities.count` ≠ N·K, when a label is outside
    /// 0..<K, or when a score is NaN. `ks`: values outside 1...K are dropped, repeats kept once.
    /// N = 0 is allowed: every count is 0 and every rate 0.
    public init(labels: [Int], probabilities: [Float], classes: Int, topK ks: [Int] = [1, 5]) throws(InputError) {
        guard classes >= 1 else { throw InputError(message: "\(classes) classes: need at least 1") }
        let n = labels.count
        guard probabilities.count == n * classes else {
            throw InputError(message: "\(probabilities.count) scores for \(n) labels and \(classes) classes (need \(n) × \(classes) = \(n * classes))")
        }
        var kept: [Int] = []
        for k in ks where k >= 1 && k <= classes && !kept.contains(k) { kept.append(k) }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var hits = [Int](repeating: 0, count: kept.count)
        for i in 0..<n {
            let y = labels[i]
            guard y >= 0 && y < classes else {
                throw InputError(example: i, message: "label \(y) is outside the classes 0..<\(classes)")
            }
            let row = i * classes
            let target = probabilities[row + y]
            var best = 0, rank = 0
            for c in 0..<classes {
                let s = probabilities[row + c]
                guard !s.isNaN else { throw InputError(example: i, message: "the score of class \(c) is NaN") }
                if s > probabilities[row + best] { best = c }
                if s > target || (s == target && c < y) { rank += 1 }
            }
            confusion[y][best] += 1
            for (j, k) in kept.enumerated() where rank < k { hits[j] += 1 }
        }
        self.classes = classes
        self.examples = n
        self.confusion = confusion
        self.topK = zip(kept, hits).map { TopK(k: $0, hits: $1, accuracy: n > 0 ? Double($1) / Double(n) : 0) }
    }

    /// Accuracy = Σ_c TP_c / N (0 when N = 0).
    public var accuracy: Double {
        examples > 0 ? Double((0..<classes).reduce(0) { $0 + confusion[$1][$1] }) / Double(examples) : 0
    }

    /// support_c = Σ_p C[c][p]: examples whose true class is c.
    public var support: [Int] { confusion.map { $0.reduce(0, +) } }

    /// predicted_c = Σ_t C[t][c]: examples predicted as class c.
    public var predicted: [Int] { (0..<classes).map { c in confusion.reduce(0) { $0 + $1[c] } } }

    /// precision_c = TP_c / predicted_c; a class never predicted (predicted_c = 0) has precision 0
    /// (scikit-learn's zero_division=0; its default "warn" also gives 0).
    public var precision: [Double] {
        let p = predicted
        return (0..<classes).map { c in p[c] > 0 ? Double(confusion[c][c]) / Double(p[c]) : 0 }
    }

    /// recall_c = TP_c / support_c; a class with no examples (support_c = 0) has recall 0
    /// (zero_division=0).
    public var recall: [Double] {
        let s = support
        return (0..<classes).map { c in s[c] > 0 ? Double(confusion[c][c]) / Double(s[c]) : 0 }
    }

    /// f1_c = 2·P_c·R_c / (P_c + R_c), 0 when P_c + R_c = 0 (equal to scikit-learn's
    /// 2·TP / (2·TP + FP + FN) up to rounding, and 0 exactly when TP_c = 0).
    public var f1: [Double] {
        zip(precision, recall).map { p, r in p + r > 0 ? 2 * p * r / (p + r) : 0 }
    }

    /// Macro averages: (1/K) Σ_c m_c over all K classes, those with support 0 included
    /// (scikit-learn average='macro' with labels = 0..<K). Macro F1 is the mean of the f1_c,
    /// not the F1 of the macro precision and recall.
    public var macro: Averages {
        let k = Double(classes)
        return Averages(precision: precision.reduce(0, +) / k, recall: recall.reduce(0, +) / k,
                        f1: f1.reduce(0, +) / k)
    }

    /// Support-weighted averages: Σ_c support_c · m_c / N (scikit-learn average='weighted'; 0 when
    /// N = 0). The weighted recall equals the accuracy.
    public var weighted: Averages {
        let s = support.map(Double.init), total = Double(examples)
        func mean(_ m: [Double]) -> Double { total > 0 ? zip(s, m).reduce(0) { $0 + $1.0 * $1.1 } / total : 0 }
        return Averages(precision: mean(precision), recall: mean(recall), f1: mean(f1))
    }

    /// Everything as one JSON object: `classes`, `examples`, `accuracy`, `top_k` {"top_1": …},
    /// `macro` and `weighted` {precision, recall, f1}, `per_class` [{class, support, precision,
    /// recall, f1}], `confusion_matrix` (rows true, columns predicted).
    public var json: JSONValue {
        func averages(_ a: Averages) -> JSONValue {
            .object([("precision", .number(a.precision)), ("recall", .number(a.recall)), ("f1", .number(a.f1))])
        }
        let s = support, p = precision, r = recall, f = f1
        let perClass: [JSONValue] = (0..<classes).map { c in
            .object([("class", .number(Double(c))), ("support", .number(Double(s[c]))),
                     ("precision", .number(p[c])), ("recall", .number(r[c])), ("f1", .number(f[c]))])
        }
        return .object([
            ("classes", .number(Double(classes))),
            ("examples", .number(Double(examples))),
            ("accuracy", .number(accuracy)),
            ("top_k", .object(topK.map { ("top_\($0.k)", .number($0.accuracy)) })),
            ("macro", averages(macro)),
            ("weighted", averages(weighted)),
            ("per_class", .array(perClass)),
            ("confusion_matrix", .array(confusion.map { .array($0.map { .number(Double($0)) }) })),
        ])
    }

    /// The confusion matrix as CSV: a header `true\predicted,0,1,…,K-1`, then one line per true
    /// class t: `t,C[t][0],…,C[t][K-1]`. Every line ends with a newline.
    public var confusionCSV: String {
        var out = "true\\predicted," + (0..<classes).map(String.init).joined(separator: ",") + "\n"
        for t in 0..<classes { out += "\(t)," + confusion[t].map(String.init).joined(separator: ",") + "\n" }
        return out
    }

    /// Per-class figures as CSV: a header `class,support,precision,recall,f1`, then one line per
    /// class; rates in the shortest text that reads back as the same Double.
    public var perClassCSV: String {
        let s = support, p = precision, r = recall, f = f1
        var out = "class,support,precision,recall,f1\n"
        for c in 0..<classes {
            out += "\(c),\(s[c]),\(JSONValue.format(p[c])),\(JSONValue.format(r[c])),\(JSONValue.format(f[c]))\n"
        }
        return out
    }

    /// Text for the terminal: the per-class table (support, precision, recall, F1 with 4
    /// decimals), the macro and weighted averages, accuracy and top-k, then the confusion matrix
    /// (rows the true class, columns the predicted). `classNames` (one per class; otherwise
    /// ignored) label the rows, cut to 20 characters; the matrix's columns are class indices.
    public func table(classNames: [String]? = nil) -> String {
        let names: [String] = (0..<classes).map { c in
            guard let n = classNames, n.count == classes else { return "\(c)" }
            let name = n[c].count > 20 ? String(n[c].prefix(19)) + "…" : n[c]
            return name == "\(c)" ? name : "\(c) \(name)"
        }
        func left(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        func right(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }

        let nameWidth = max("weighted avg".count, names.map(\.count).max() ?? 0)
        let supportWidth = max("support".count, String(examples).count)
        func line(_ name: String, _ support: String, _ p: String, _ r: String, _ f: String) -> String {
            left(name, nameWidth) + "  " + right(support, supportWidth) + "  " + right(p, 9) + "  "
                + right(r, 6) + "  " + right(f, 6)
        }
        var out = [line("class", "support", "precision", "recall", "f1")]
        let s = support, p = precision, r = recall, f = f1
        for c in 0..<classes { out.append(line(names[c], "\(s[c])", fmt(p[c], 4), fmt(r[c], 4), fmt(f[c], 4))) }
        out.append("")
        for (label, a) in [("macro avg", macro), ("weighted avg", weighted)] {
            out.append(line(label, "\(examples)", fmt(a.precision, 4), fmt(a.recall, 4), fmt(a.f1, 4)))
        }
        out.append("")
        let correct = (0..<classes).reduce(0) { $0 + confusion[$1][$1] }
        out.append("accuracy \(fmt(accuracy, 4)) (\(correct)/\(examples))")
        for t in topK { out.append("top-\(t.k) accuracy \(fmt(t.accuracy, 4)) (\(t.hits)/\(examples))") }
        out.append("")

        out.append("confusion matrix (rows: true class, columns: predicted class)")
        let rowWidth = max("true\\pred".count, names.map(\.count).max() ?? 0)
        let cellWidth = max(String(classes - 1).count, confusion.joined().map { String($0).count }.max() ?? 1)
        out.append(left("true\\pred", rowWidth) + (0..<classes).map { " " + right("\($0)", cellWidth) }.joined())
        for t in 0..<classes {
            out.append(left(names[t], rowWidth) + confusion[t].map { " " + right("\($0)", cellWidth) }.joined())
        }
        return out.joined(separator: "\n") + "\n"
    }
}
