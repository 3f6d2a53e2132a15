import NNCore

/// `nntrain predict`: the outputs of one trained model or an ensemble on a dataset.
///
/// A classifier trained with cross-entropy gives probabilities pᵢ = softmax(zᵢ) of its
/// logits; another model (regression, or a classifier trained with MSE) gives its outputs as
/// they are. An ensemble combines its members' per-example vectors:
/// - `mean`: p = (1/M) Σₘ pₘ (the usual average of probabilities);
/// - `geometric`: p = normalise(exp((1/M) Σₘ log max(pₘ, 1e-30))), the renormalised geometric
///   mean (the rule of the notes for averaging dropout networks); for a classifier only.
/// Test-time augmentation `flip` averages a model's vector over each image and its horizontal
/// mirror (the W axis of `[C, H, W]` reversed) before the members are combined.
public enum Prediction {
    public enum Combine: String, Sendable, CaseIterable { case mean, geometric }

    /// The members' outputs on one dataset and what they combine to.
    public struct Result {
        /// Examples × width, row-major, per member then combined.
        public var members: [[Float]]
        public var combined: [Float]
        public var width: Int
        public var count: Int
    }

    /// Checks that `models` can form an ensemble: one input shape, one task, one output width
    /// and the same kind of output (softmax or not). `.config` naming the first that differs.
    public static func checkEnsemble(_ models: [TrainedModel]) throws(RunError) {
        guard let first = models.first else { return }
        for m in models.dropFirst() {
            var why: [String] = []
            if m.inputShape != first.inputShape { why.append("input shape \(m.inputShape) vs \(first.inputShape)") }
            if m.isClassifier != first.isClassifier {
                why.append("\(m.isClassifier ? "classification" : "regression") vs \(first.isClassifier ? "classification" : "regression")")
            }
            if m.outputCount != first.outputCount {
                why.append(first.isClassifier ? "\(m.outputCount) classes vs \(first.outputCount)" : "\(m.outputCount) outputs vs \(first.outputCount)")
            }
            if m.hasSoftmax != first.hasSoftmax { why.append("loss \(m.config.loss.kind.rawValue) vs \(first.config.loss.kind.rawValue)") }
            if m.preprocessor.scale.count != first.preprocessor.scale.count {
                why.append("\(m.preprocessor.scale.count) input features vs \(first.preprocessor.scale.count)")
            }
            if !why.isEmpty {
                throw .config(["\(m.name) cannot join an ensemble with \(first.name): " + why.joined(separator: ", ")])
            }
        }
    }

    /// Every member's vectors on `dataset` and their combination.
    public static func run(_ models: [TrainedModel], on dataset: Dataset, combine: Combine, flip: Bool) throws(RunError) -> Result {
        try checkEnsemble(models)
        guard let first = models.first else { throw .config(["no run to predict with"]) }
        if combine == .geometric && !first.hasSoftmax {
            throw .config(["--combine geometric needs classifiers trained with cross_entropy (probabilities); \(first.directory) gives scores"])
        }
        let mirror: Dataset? = flip ? try mirrored(dataset) : nil
        var members: [[Float]] = []
        for m in models {
            let trainer = try m.trainer(for: dataset)
            var out = trainer.outputs(DataSplit(all: dataset))
            try checkFinite(out, of: m, on: dataset.origin)
            if m.hasSoftmax { softmaxRows(&out, width: m.outputCount) }
            if let mirror {
                var other = trainer.outputs(DataSplit(all: mirror))
                try checkFinite(other, of: m, on: mirror.origin)
                if m.hasSoftmax { softmaxRows(&other, width: m.outputCount) }
                for i in out.indices { out[i] = (out[i] + other[i]) / 2 }
            }
            members.append(out)
        }
        let width = first.outputCount
        return Result(members: members, combined: self.combine(members, width: width, combine), width: width, count: dataset.count)
    }

    /// `.diverged` (exit 4, as `nntrain eval`'s non-finite loss) when the raw `outputs` of
    /// `model` hold a NaN or an infinity: NaN or infinite weights or inputs, whose predictions
    /// mean nothing.
    static func checkFinite(_ outputs: [Float], of model: TrainedModel, on origin: String) throws(RunError) {
        guard let i = outputs.firstIndex(where: { !$0.isFinite }) else { return }
        throw .diverged("error: the outputs of \(model.directory) on \(origin) are not finite (\(outputs[i]) for example \(i / max(model.outputCount, 1))): NaN or infinite weights or inputs")
    }

    /// Each row of `values` (rows of `width`) replaced by its softmax, computed stably
    /// (the row's maximum subtracted first).
    public static func softmaxRows(_ values: inout [Float], width: Int) {
        guard width > 0 else { return }
        for r in 0..<(values.count / width) {
            let base = r * width
            var top = -Float.infinity
            for j in 0..<width { top = max(top, values[base + j]) }
            var sum = 0.0
            for j in 0..<width {
                let e = top.isFinite ? expf(values[base + j] - top) : .nan
                values[base + j] = e; sum += Double(e)
            }
            for j in 0..<width { values[base + j] = Float(Double(values[base + j]) / sum) }
        }
    }

    /// The combination of the members' vectors (see the type's doc comment).
    public static func combine(_ members: [[Float]], width: Int, _ how: Combine) -> [Float] {
        guard let first = members.first else { return [] }
        if members.count == 1 { return first }
        let m = Double(members.count)
        var out = [Float](repeating: 0, count: first.count)
        switch how {
        case .mean:
            for i in out.indices { out[i] = Float(members.reduce(0.0) { $0 + Double($1[i]) } / m) }
        case .geometric:
            for r in 0..<(first.count / max(width, 1)) {
                var sum = 0.0
                for j in 0..<width {
                    let i = r * width + j
                    let g = exp(members.reduce(0.0) { $0 + log(max(Double($1[i]), 1e-30)) } / m)
                    out[i] = Float(g); sum += g
                }
                for j in 0..<width { out[r * width + j] = Float(Double(out[r * width + j]) / sum) }
            }
        }
        return out
    }

    /// `dataset` with every image mirrored left to right (the last axis of `[C, H, W]`
    /// reversed); `.config` for data that is not images.
    public static func mirrored(_ dataset: Dataset) throws(RunError) -> Dataset {
        let shape = dataset.sampleShape
        guard shape.count == 3, let w = shape.last, w > 1 else {
            throw .config(["--tta flip mirrors images [C, H, W]; \(dataset.origin) gives examples of shape \(shape)"])
        }
        func flip<T>(_ values: [T]) -> [T] {
            var out = values
            for row in stride(from: 0, to: values.count, by: w) {
                for j in 0..<w { out[row + j] = values[row + w - 1 - j] }
            }
            return out
        }
        let storage: Dataset.Storage
        switch dataset.storage {
        case .bytes(let b): storage = .bytes(flip(b))
        case .floats(let f): storage = .floats(flip(f))
        }
        return Dataset(storage: storage, storedScale: dataset.storedScale, count: dataset.count, sampleShape: shape,
                       targets: dataset.targets, targetWidth: dataset.targetWidth, classCount: dataset.classCount,
                       origin: dataset.origin + " (mirrored)", hasLabels: dataset.hasLabels)
    }

    /// The k best classes of row `r` with their values, best first (ties: the lower class).
    public static func top(_ values: [Float], row r: Int, width: Int, k: Int) -> [(index: Int, value: Float)] {
        var best: [(index: Int, value: Float)] = []
        for j in 0..<width {
            let v = values[r * width + j]
            let at = best.firstIndex { v > $0.value || ($0.value.isNaN && !v.isNaN) } ?? best.count
            if at < k { best.insert((j, v), at: at); if best.count > k { best.removeLast() } }
        }
        return best
    }
}
