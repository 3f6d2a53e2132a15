import NNCore


/// The result of a loss over one batch: summed (not averaged) so epochs average exactly.
public struct LossResult: Sendable {
    /// Σᵢ wᵢ·lossᵢ (wᵢ = the class weight of sample i's label, 1 without class weights).
    public var lossSum: Double
    /// Samples whose arg-max output equals the label (classification only).
    public var correct: Int
    /// Σᵢ wᵢ: the batch loss is lossSum / weightSum.
    public var weightSum: Double
}

/// A loss on `[B, C]` outputs. Targets are class indices stored as floats (classification) or
/// real values (regression, `C` = number of targets per sample).
public protocol Loss: AnyObject {
    /// Loss of the batch and, when `gradient` is given, the gradient of the batch's weighted
    /// mean loss Σwᵢlᵢ / Σwᵢ with respect to the outputs.
    func evaluate(_ output: Tensor, targets: UnsafePointer<Float>, gradient: Tensor?) -> LossResult
    /// Per-class weights (torch `weight=`); nil for none.
    var classWeights: [Float]? { get set }
}

/// Softmax + cross-entropy fused (torch.nn.CrossEntropyLoss) with label smoothing ε and
/// optional class weights w.
///
/// For logits z of one sample with label y and K classes, lse = log Σ exp(z_c) (computed after
/// subtracting max z); the target puts 1 − ε on y and ε/(K − 1) on each other class (the
/// notes' convention; PyTorch's `label_smoothing` = ε·K/(K − 1) gives the same target), so
/// loss = lse − (1 − ε)·z_y − (ε/(K − 1))·Σ_{c≠y} z_c; dloss/dz = w_y(softmax(z) − t)/Σw.
public final class SoftmaxCrossEntropy: Loss {
    public let labelSmoothing: Float
    public var classWeights: [Float]?
    public init(labelSmoothing: Float = 0, classWeights: [Float]? = nil) {
        self.labelSmoothing = labelSmoothing
        self.classWeights = classWeights
    }

    public func evaluate(_ output: Tensor, targets: UnsafePointer<Float>, gradient: Tensor?) -> LossResult {
        let batch = output.shape[0], classes = output.count / batch
        let z = output.pointer
        let eps = classes > 1 ? labelSmoothing : 0
        let other = classes > 1 ? eps / Float(classes - 1) : 0
        var lossSum: Double = 0, weightSum: Double = 0
        var correct = 0
        var weights = [Float]()
        if let cw = classWeights { weights = cw }
        for b in 0..<batch {
            let y = Int(targets[b])
            let w: Float = weights.isEmpty ? 1 : weights[y]
            weightSum += Double(w)
        }
        let invW = Float(1 / max(weightSum, 1e-30))
        for b in 0..<batch {
            let row = z + b * classes
            let y = Int(targets[b])
            let w: Float = weights.isEmpty ? 1 : weights[y]
            var m = row[0]
            var arg = 0
            for c in 1..<max(classes, 1) where row[c] > m { m = row[c]; arg = c }
            if arg == y { correct += 1 }
            var s: Float = 0
            var zsum: Float = 0
            for c in 0..<classes { s += expf(row[c] - m); zsum += row[c] }
            let lse = m + logf(s)
            lossSum += Double(w) * Double(lse - (1 - eps) * row[y] - other * (zsum - row[y]))
            if let g = gradient?.pointer {
                let grow = g + b * classes
                let inv = 1 / s
                let k = w * invW
                for c in 0..<classes { grow[c] = (expf(row[c] - m) * inv - other) * k }
                grow[y] -= (1 - eps - other) * k
            }
        }
        return LossResult(lossSum: lossSum, correct: correct, weightSum: weightSum)
    }
}

/// Mean squared error (torch.nn.MSELoss, mean over all B·C elements). For classification the
/// target is the one-hot vector of the label; for regression the target values themselves.
/// loss = Σ (y − t)² / (B·C);  dloss/dy = 2(y − t)/(B·C). Class weights weight each sample.
public final class MeanSquaredError: Loss {
    public let oneHot: Bool
    public var classWeights: [Float]?
    public init(oneHot: Bool) { self.oneHot = oneHot }

    public func evaluate(_ output: Tensor, targets: UnsafePointer<Float>, gradient: Tensor?) -> LossResult {
        let batch = output.shape[0], cols = output.count / batch
        let y = output.pointer
        var sum: Double = 0, weightSum: Double = 0
        var correct = 0
        let weights = oneHot ? (classWeights ?? []) : []
        for b in 0..<batch { weightSum += Double(weights.isEmpty ? 1 : weights[Int(targets[b])]) }
        let scale = Float(2 / (weightSum * Double(cols)))
        for b in 0..<batch {
            let row = y + b * cols
            let w: Float = weights.isEmpty ? 1 : weights[Int(targets[b])]
            var arg = 0
            var rowSum: Float = 0
            for c in 0..<cols {
                if row[c] > row[arg] { arg = c }
                let t: Float = oneHot ? (c == Int(targets[b]) ? 1 : 0) : targets[b * cols + c]
                let d = row[c] - t
                rowSum += d * d
                if let g = gradient?.pointer { g[b * cols + c] = scale * w * d }
            }
            sum += Double(w) * Double(rowSum)
            if oneHot && arg == Int(targets[b]) { correct += 1 }
        }
        return LossResult(lossSum: sum / Double(cols), correct: correct, weightSum: weightSum)
    }
}

extension LossConfig {
    public func makeLoss(task: Task) -> any Loss {
        switch kind {
        case .crossEntropy: return SoftmaxCrossEntropy(labelSmoothing: labelSmoothing)
        case .mse: return MeanSquaredError(oneHot: task == .classification)
        }
    }
}
