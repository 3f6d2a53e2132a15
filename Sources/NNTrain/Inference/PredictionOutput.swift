import NNCore

/// What `nntrain predict` writes: the predictions CSV and the figures of each member and of
/// the ensemble when the data has labels.
public struct PredictionOutput {
    public var result: Prediction.Result
    public var models: [TrainedModel]
    public var dataset: Dataset
    /// Classes listed per example (1 … width).
    public var topK: Int
    /// Write every class's probability (`p0…p{K-1}`).
    public var probabilities: Bool

    public init(result: Prediction.Result, models: [TrainedModel], dataset: Dataset, topK: Int, probabilities: Bool) {
        self.result = result; self.models = models; self.dataset = dataset; self.topK = topK; self.probabilities = probabilities
    }

    var classifier: Bool { models.first?.isClassifier ?? true }

    /// One row per example. A classifier: `index,predicted,probability`, then for k = 2…K
    /// `top{k},top{k}_probability`, then (with `probabilities`) `p0…p{K-1}`, then `label` when
    /// the data has labels. Another model: `index,output0…` and `target0…` with labels. A
    /// classifier trained without softmax writes its scores in the probability columns.
    public var csv: String {
        let w = result.width, v = result.combined
        var header = ["index"]
        if classifier {
            header += ["predicted", "probability"]
            if topK > 1 { for k in 2...topK { header += ["top\(k)", "top\(k)_probability"] } }
            if probabilities { header += (0..<w).map { "p\($0)" } }
            if dataset.hasLabels { header.append("label") }
        } else {
            header += (0..<w).map { "output\($0)" }
            if dataset.hasLabels { header += (0..<dataset.targetWidth).map { "target\($0)" } }
        }
        var out = header.joined(separator: ",") + "\n"
        out.reserveCapacity(result.count * (24 + 12 * (topK * 2 + (probabilities ? w : 0))))
        for r in 0..<result.count {
            var cells = [String(r)]
            if classifier {
                for t in Prediction.top(v, row: r, width: w, k: topK) { cells.append(String(t.index)); cells.append(number(t.value)) }
                if probabilities { for j in 0..<w { cells.append(number(v[r * w + j])) } }
                if dataset.hasLabels { cells.append(String(Int(dataset.targets[r * dataset.targetWidth]))) }
            } else {
                for j in 0..<w { cells.append(number(v[r * w + j])) }
                if dataset.hasLabels { for j in 0..<dataset.targetWidth { cells.append(number(dataset.targets[r * dataset.targetWidth + j])) } }
            }
            out += cells.joined(separator: ",") + "\n"
        }
        return out
    }

    /// The shortest text that reads back as the same Float; NaN and infinities as `nan`, `inf`, `-inf`.
    func number(_ x: Float) -> String {
        x.isNaN ? "nan" : x.isInfinite ? (x < 0 ? "-inf" : "inf") : String(describing: x)
    }

    /// The labels as class indices (a classifier's data with labels), else nil.
    public var labels: [Int]? {
        guard classifier, dataset.hasLabels else { return nil }
        return (0..<dataset.count).map { Int(dataset.targets[$0 * dataset.targetWidth]) }
    }

    /// Figures of one vector set against the labels: a classifier's `accuracy` and (softmax)
    /// `loss` = −(1/N) Σ log max(p[label], 1e-30), unweighted, with `top_k_accuracy` for
    /// k = `topK` > 1; a regression's `mse` = (1/(N·T)) Σ (output − target)².
    func figures(_ v: [Float]) -> [(String, JSONValue)] {
        let w = result.width, n = result.count
        guard dataset.hasLabels, n > 0 else { return [] }
        func num(_ d: Double) -> JSONValue { d.isFinite ? .number(d) : .null }
        if let labels {
            var correct = 0, inTop = 0, nll = 0.0
            for r in 0..<n {
                let best = Prediction.top(v, row: r, width: w, k: max(1, topK))
                if best.first?.index == labels[r] { correct += 1 }
                if best.contains(where: { $0.index == labels[r] }) { inTop += 1 }
                if labels[r] < w { nll -= log(max(Double(v[r * w + labels[r]]), 1e-30)) }
            }
            var out: [(String, JSONValue)] = [("accuracy", num(Double(correct) / Double(n)))]
            if models.first?.hasSoftmax == true { out.append(("loss", num(nll / Double(n)))) }
            if topK > 1 { out.append(("top_\(topK)_accuracy", num(Double(inTop) / Double(n)))) }
            return out
        }
        let t = dataset.targetWidth
        guard t == w else { return [] }
        var sum = 0.0
        for i in 0..<(n * w) { let d = Double(v[i]) - Double(dataset.targets[i]); sum += d * d }
        return [("mse", num(sum / Double(n * w)))]
    }

    /// `{"examples", "data", "members": [{"run", <figures>}…], "ensemble": {<figures>}}`
    /// (figures only with labels; `ensemble` only with several members).
    public var summary: JSONValue {
        var o: [(String, JSONValue)] = [("examples", .number(Double(result.count))), ("data", .string(dataset.origin)),
                                        ("labels", .bool(dataset.hasLabels))]
        if classifier { o.append(("classes", .number(Double(result.width)))) }
        o.append(("members", .array(zip(models, result.members).map { m, v in .object([("run", .string(m.name))] + figures(v)) })))
        if models.count > 1 { o.append(("ensemble", .object(figures(result.combined)))) }
        return .object(o)
    }

    /// The figures of `summary` as lines for a person: one per member, then the ensemble.
    public static func describe(_ summary: JSONValue) -> [String] {
        func figures(_ o: JSONValue?) -> String {
            guard case .object(let pairs)? = o else { return "" }
            return pairs.filter { $0.0 != "run" }.map { "\($0.0) \($0.1.doubleValue.map { fmt($0, 4) } ?? "n/a")" }.joined(separator: "  ")
        }
        var out: [String] = []
        if case .array(let members)? = summary["members"] {
            for m in members where !figures(m).isEmpty { out.append("\(m["run"]?.stringValue ?? ""): \(figures(m))") }
        }
        if let e = summary["ensemble"], !figures(e).isEmpty { out.append("ensemble: \(figures(e))") }
        return out
    }
}
