import NNCore


/// Adam / AdamW (torch.optim.Adam/AdamW, with `amsgrad`): with t the step,
/// m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; v̂ = max(v̂, v) under amsgrad;
/// w ← w − (lr/(1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
/// Decoupled weight decay first (AdamW): w ← w − lr·wd·w, on decaying parameters only. The
/// fused pass adds the coupled L2 term to g (g + l2·w, decaying parameters only).
public final class Adam: Optimizer {
    /// `optimizer` keys of adam, adamw besides lr and weight_decay.
    public struct Hyperparameters: Sendable, Equatable {
        public var beta1: Float = 0.9, beta2: Float = 0.999
        public var eps: Float = 1e-8
        public var amsgrad = false
        public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, amsgrad: Bool = false) {
            self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.amsgrad = amsgrad
        }
    }

    public let hyperparameters: Hyperparameters
    public let weightDecay: Float
    public let m: TensorStorage, v: TensorStorage, vMax: TensorStorage
    public var stepCount = 0

    public init(count: Int, _ h: Hyperparameters = Hyperparameters(), weightDecay: Float = 0) {
        hyperparameters = h
        self.weightDecay = weightDecay
        m = TensorStorage(capacity: count)
        v = TensorStorage(capacity: count)
        vMax = TensorStorage(capacity: h.amsgrad ? count : 0)
    }

    public var stateBuffers: [(String, TensorStorage)] {
        [("exp_avg", m), ("exp_avg_sq", v)] + (hyperparameters.amsgrad ? [("max_exp_avg_sq", vMax)] : [])
    }

    public func step(_ store: ParameterStore, lr: Float, l2 penalty: Float) {
        stepCount += 1
        let h = hyperparameters
        let t = Double(stepCount)
        let bc1 = 1 - pow(Double(h.beta1), t), bc2 = 1 - pow(Double(h.beta2), t)
        let invSqrtBC2 = Float(1 / bc2.squareRoot())
        let w = store.values.base, gr = store.grads.base, mp = m.base, vp = v.base, vm = vMax.base
        for seg in store.segments where seg.lrScale > 0 {
            let lr = lr * seg.lrScale
            let stepSize = Float(Double(lr) / bc1)
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            let l2: Float = seg.decays ? penalty : 0
            // Large segments split over the worker pool (element-wise: the same result).
            let o = seg.offset
            Parallel.forEach(seg.count, AdamUpdate(w: w + o, g: gr + o, m: mp + o, v: vp + o, vMax: h.amsgrad ? vm + o : nil,
                                                   beta1: h.beta1, beta2: h.beta2, l2: l2, decay: decay, stepSize: stepSize,
                                                   invSqrtBC2: invSqrtBC2, eps: h.eps))
        }
    }
}

/// Adam's fused update of one block of a segment (`Kernels.adam`).
struct AdamUpdate: ParallelLoop {
    let w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?
    let beta1: Float, beta2: Float, l2: Float, decay: Float, stepSize: Float, invSqrtBC2: Float, eps: Float
    func run(_ range: Range<Int>) {
        let o = range.lowerBound
        Kernels.adam(w: w + o, g: g + o, m: m + o, v: v + o, vMax: vMax.map { $0 + o }, count: range.count,
                     beta1: beta1, beta2: beta2, l2: l2, decay: decay, stepSize: stepSize, invSqrtBC2: invSqrtBC2, eps: eps)
    }
}
