import NNCore

/// `loss`: what the network minimises.
public struct LossConfig: Sendable, Equatable {
    public enum Kind: String, Sendable { case crossEntropy = "cross_entropy", mse }
    public var kind: Kind
    /// Cross-entropy target: 1 − ε on the label, ε/(K − 1) on each other class.
    public var labelSmoothing: Float
    public enum ClassWeights: Sendable, Equatable { case none, balanced, given([Float]) }
    /// Weights of each class's samples in the loss (torch `weight=`; "balanced": N/(K·n_c)).
    public var classWeights: ClassWeights = .none

    init(_ r: ObjectReader) {
        kind = Kind(rawValue: r.choice("type", ["cross_entropy", "mse"], default: "cross_entropy") ?? "") ?? .crossEntropy
        labelSmoothing = kind == .crossEntropy ? r.float("label_smoothing", default: 0, check: .halfOpen(0, 1)) : 0
        switch r.raw("class_weights") {
        case nil, .null?:
            r.record("class_weights", .null)
        case .string?:
            if r.choice("class_weights", ["balanced"], default: nil) != nil { classWeights = .balanced }
        default:
            if let w = r.doubles("class_weights", default: nil, check: .nonNegative) {
                if w.isEmpty || !w.contains(where: { $0 > 0 }) {
                    r.diagnostics.error(r.childPath("class_weights"), "expected at least one weight > 0")
                }
                classWeights = .given(w.map(Float.init))
            }
        }
        r.finish()
    }
}

/// `class_weights: "balanced"`: w_c = N/(K·n_c) for N examples, K classes and n_c examples of
/// class c (sklearn's compute_class_weight), 0 for a class without examples; a label past the
/// last class counts as the last.
public func balancedClassWeights<Labels: Sequence<Int>>(labels: Labels, classes: Int) -> [Float] {
    var counts = [Int](repeating: 0, count: classes)
    var total = 0
    for y in labels {
        counts[min(classes - 1, y)] += 1
        total += 1
    }
    let n = Double(total)
    return counts.map { $0 > 0 ? Float(n / (Double(classes) * Double($0))) : 0 }
}
