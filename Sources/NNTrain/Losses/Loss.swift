import NNCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The result of a loss over one batch: summed (not averaged) so epochs average exactly.
public struct LossResult: Sendable {
    public var lossSum: Double
    /// Samples whose arg-max output equals the label (classification only).
    public var correct: Int
}

/// A loss on `[B, C]` outputs. Targets are class indices stored as floats (classification) or
/// real values (regression, `C` = number of targets per sample).
public protocol Loss: AnyObject {
    /// Loss of the batch and, when `gradient` is given, dLoss/dOutput of the batch *mean*.
    func evaluate(_ output: Tensor, targets: UnsafePointer<Float>, gradient: Tensor?) -> LossResult
}

/// Softmax + cross-entropy fused (torch.nn.CrossEntropyLoss with `label_smoothing` ε).
///
/// For logits z of one sample with label y and C classes, lse = log Σ exp(z_c) (computed after
/// subtracting max z), target t = (1 − ε)·onehot(y) + ε/C:
/// loss = lse − (1 − ε)·z_y − (ε/C)·Σ z_c;  dloss/dz = (softmax(z) − t) / B.
public final class SoftmaxCrossEntropy: Loss {
    public let labelSmoothing: Float
    public init(labelSmoothing: Float = 0) { self.labelSmoothing = labelSmoothing }

    public func evaluate(_ output: Tensor, targets: UnsafePointer<Float>, gradient: Tensor?) -> LossResult {
        let batch = output.shape[0], classes = output.count / batch
        let z = output.pointer
        let eps = labelSmoothing
        var lossSum: Double = 0
        var correct = 0
        let invB = 1 / Float(batch)
        for b in 0..<batch {
            let row = z + b * classes
            let y = Int(targets[b])
            var m = row[0]
            var arg = 0
            for c in 1..<max(classes, 1) where row[c] > m { m = row[c]; arg = c }
            if arg == y { correct += 1 }
            var s: Float = 0
            var zsum: Float = 0
            for c in 0..<classes { s += expf(row[c] - m); zsum += row[c] }
            let lse = m + logf(s)
            lossSum += Double(lse - (1 - eps) * row[y] - eps / Float(classes) * zsum)
            if let g = gradient?.pointer {
                let grow = g + b * classes
                let inv = 1 / s
                let off = eps / Float(classes)
                for c in 0..<classes { grow[c] = (expf(row[c] - m) * inv - off) * invB }
                grow[y] -= (1 - eps) * invB
            }
        }
        return LossResult(lossSum: lossSum, correct: correct)
    }
}

/// Mean squared error (torch.nn.MSELoss, mean over all B·C elements). For classification the
/// target is the one-hot vector of the label; for regression the target values themselves.
/// loss = Σ (y − t)² / (B·C);  dloss/dy = 2(y − t)/(B·C).
public final class MeanSquaredError: Loss {
    public let oneHot: Bool
    public init(oneHot: Bool) { self.oneHot = oneHot }

    public func evaluate(_ output: Tensor, targets: UnsafePointer<Float>, gradient: Tensor?) -> LossResult {
        let batch = output.shape[0], cols = output.count / batch
        let y = output.pointer
        var sum: Double = 0
        var correct = 0
        let scale = 2 / Float(batch * cols)
        for b in 0..<batch {
            let row = y + b * cols
            var arg = 0
            var rowSum: Float = 0
            for c in 0..<cols {
                if row[c] > row[arg] { arg = c }
                let t: Float = oneHot ? (c == Int(targets[b]) ? 1 : 0) : targets[b * cols + c]
                let d = row[c] - t
                rowSum += d * d
                if let g = gradient?.pointer { g[b * cols + c] = scale * d }
            }
            sum += Double(rowSum)
            if oneHot && arg == Int(targets[b]) { correct += 1 }
        }
        return LossResult(lossSum: sum / Double(cols), correct: correct)
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
