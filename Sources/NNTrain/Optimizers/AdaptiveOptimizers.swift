import NNCore


// The adaptive optimizers of torch.optim besides Adam, with its update rules. In each, g is the
// gradient after clipping and `regularization` (the fused pass adds the coupled L2 term l2·w),
// lr the scheduled rate times the layer's `lr_mult`; decoupled `weight_decay` first applies
// w ← w − lr·wd·w to weights.

/// Adagrad (Duchi et al. 2011; torch.optim.Adagrad): clr = lr / (1 + (t − 1)·lr_decay);
/// s ← s + g²; w ← w − clr · g / (√s + eps). The sum starts at `initial_accumulator_value`.
public final class Adagrad: Optimizer {
    /// `optimizer` keys of adagrad besides lr and weight_decay.
    public struct Hyperparameters: Sendable, Equatable {
        public var lrDecay: Float = 0
        public var initialAccumulator: Float = 0
        public var eps: Float = 1e-10
        public init(lrDecay: Float = 0, initialAccumulator: Float = 0, eps: Float = 1e-10) {
            self.lrDecay = lrDecay; self.initialAccumulator = initialAccumulator; self.eps = eps
        }
    }

    public let hyperparameters: Hyperparameters
    public let weightDecay: Float
    public let sum: TensorStorage
    public var stepCount = 0

    public init(count: Int, _ h: Hyperparameters = Hyperparameters(), weightDecay: Float = 0) {
        hyperparameters = h
        self.weightDecay = weightDecay
        sum = TensorStorage(capacity: count)
        sum.base.update(repeating: h.initialAccumulator, count: count)
    }

    public var stateBuffers: [(String, TensorStorage)] { [("sum", sum)] }

    public func step(_ store: ParameterStore, lr: Float, l2 penalty: Float) {
        stepCount += 1
        let lrDecay = hyperparameters.lrDecay, eps = hyperparameters.eps
        let w = store.values.base, gr = store.grads.base, s = sum.base
        for seg in store.segments where seg.lrScale > 0 {
            let lr = lr * seg.lrScale
            let clr = lr / (1 + Float(stepCount - 1) * lrDecay)
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            let l2: Float = seg.decays ? penalty : 0
            for i in seg.offset..<(seg.offset + seg.count) {
                let g = gr[i] + l2 * w[i]
                s[i] += g * g
                w[i] = w[i] * decay - clr * g / (s[i].squareRoot() + eps)
            }
        }
    }
}

/// RMSprop (Hinton's lecture 6e; torch.optim.RMSprop): v ← αv + (1 − α)g²; with `centered`,
/// ḡ ← αḡ + (1 − α)g and a = √(v − ḡ²) + eps, else a = √v + eps; with momentum μ,
/// b ← μb + g/a and w ← w − lr·b, else w ← w − lr·g/a.
public final class RMSprop: Optimizer {
    /// `optimizer` keys of rmsprop besides lr and weight_decay.
    public struct Hyperparameters: Sendable, Equatable {
        /// α
        public var alpha: Float = 0.99
        public var eps: Float = 1e-8
        /// μ
        public var momentum: Float = 0
        public var centered = false
        public init(alpha: Float = 0.99, eps: Float = 1e-8, momentum: Float = 0, centered: Bool = false) {
            self.alpha = alpha; self.eps = eps; self.momentum = momentum; self.centered = centered
        }
    }

    public let hyperparameters: Hyperparameters
    public let weightDecay: Float
    public let squareAvg: TensorStorage, gradAvg: TensorStorage, buffer: TensorStorage
    public var stepCount = 0

    public init(count: Int, _ h: Hyperparameters = Hyperparameters(), weightDecay: Float = 0) {
        hyperparameters = h
        self.weightDecay = weightDecay
        squareAvg = TensorStorage(capacity: count)
        gradAvg = TensorStorage(capacity: h.centered ? count : 0)
        buffer = TensorStorage(capacity: h.momentum > 0 ? count : 0)
    }

    public var stateBuffers: [(String, TensorStorage)] {
        let h = hyperparameters
        return [("square_avg", squareAvg)] + (h.centered ? [("grad_avg", gradAvg)] : []) + (h.momentum > 0 ? [("momentum_buffer", buffer)] : [])
    }

    public func step(_ store: ParameterStore, lr: Float, l2 penalty: Float) {
        stepCount += 1
        let eps = hyperparameters.eps, momentum = hyperparameters.momentum, centered = hyperparameters.centered
        let w = store.values.base, gr = store.grads.base, v = squareAvg.base, m = gradAvg.base, b = buffer.base
        let a = hyperparameters.alpha, c = 1 - hyperparameters.alpha
        for seg in store.segments where seg.lrScale > 0 {
            let lr = lr * seg.lrScale
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            let l2: Float = seg.decays ? penalty : 0
            for i in seg.offset..<(seg.offset + seg.count) {
                let g = gr[i] + l2 * w[i]
                v[i] = a * v[i] + c * g * g
                var avg: Float
                if centered {
                    m[i] = m[i] + c * (g - m[i])  // torch: lerp_(g, 1 − α)
                    avg = (v[i] - m[i] * m[i]).squareRoot() + eps
                } else {
                    avg = v[i].squareRoot() + eps
                }
                if momentum > 0 {
                    b[i] = momentum * b[i] + g / avg
                    w[i] = w[i] * decay - lr * b[i]
                } else {
                    w[i] = w[i] * decay - lr * g / avg
                }
            }
        }
    }
}

/// Adadelta (Zeiler 2012; torch.optim.Adadelta): v ← ρv + (1 − ρ)g²;
/// Δ = √(u + eps)/√(v + eps) · g; u ← ρu + (1 − ρ)Δ²; w ← w − lr·Δ (lr defaults to 1).
public final class Adadelta: Optimizer {
    /// `optimizer` keys of adadelta besides lr and weight_decay.
    public struct Hyperparameters: Sendable, Equatable {
        /// ρ
        public var rho: Float = 0.9
        public var eps: Float = 1e-6
        public init(rho: Float = 0.9, eps: Float = 1e-6) { self.rho = rho; self.eps = eps }
    }

    public let hyperparameters: Hyperparameters
    public let weightDecay: Float
    public let squareAvg: TensorStorage, accDelta: TensorStorage
    public var stepCount = 0

    public init(count: Int, _ h: Hyperparameters = Hyperparameters(), weightDecay: Float = 0) {
        hyperparameters = h
        self.weightDecay = weightDecay
        squareAvg = TensorStorage(capacity: count)
        accDelta = TensorStorage(capacity: count)
    }

    public var stateBuffers: [(String, TensorStorage)] { [("square_avg", squareAvg), ("acc_delta", accDelta)] }

    public func step(_ store: ParameterStore, lr: Float, l2 penalty: Float) {
        stepCount += 1
        let eps = hyperparameters.eps
        let w = store.values.base, gr = store.grads.base, v = squareAvg.base, u = accDelta.base
        let r = hyperparameters.rho, c = 1 - hyperparameters.rho
        for seg in store.segments where seg.lrScale > 0 {
            let lr = lr * seg.lrScale
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            let l2: Float = seg.decays ? penalty : 0
            for i in seg.offset..<(seg.offset + seg.count) {
                let g = gr[i] + l2 * w[i]
                v[i] = r * v[i] + c * g * g
                let delta = (u[i] + eps).squareRoot() / (v[i] + eps).squareRoot() * g
                u[i] = r * u[i] + c * delta * delta
                w[i] = w[i] * decay - lr * delta
            }
        }
    }
}

/// NAdam (Dozat 2016; torch.optim.NAdam): μₜ = β₁(1 − ½·0.96^(t·ψ)), ψ = `momentum_decay`;
/// m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; d = √(v/(1 − β₂ᵗ)) + eps;
/// w ← w − lr(1 − μₜ)/(1 − Πμ₁..ₜ)·g/d − lr·μₜ₊₁/(1 − Πμ₁..ₜ₊₁)·m/d.
public final class NAdam: Optimizer {
    /// `optimizer` keys of nadam besides lr and weight_decay.
    public struct Hyperparameters: Sendable, Equatable {
        public var beta1: Float = 0.9, beta2: Float = 0.999
        public var eps: Float = 1e-8
        /// ψ
        public var momentumDecay: Float = 0.004
        public init(beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, momentumDecay: Float = 0.004) {
            self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.momentumDecay = momentumDecay
        }
    }

    public let hyperparameters: Hyperparameters
    public let weightDecay: Float
    public let m: TensorStorage, v: TensorStorage
    public var stepCount = 0 {
        didSet {
            // Π μ is a function of the step count; recomputed (in the same Float order) on restore.
            if stepCount != oldValue + 1 { muProduct = (0..<stepCount).reduce(Float(1)) { $0 * mu($1 + 1) } }
        }
    }
    private var muProduct: Float = 1

    public init(count: Int, _ h: Hyperparameters = Hyperparameters(), weightDecay: Float = 0) {
        hyperparameters = h
        self.weightDecay = weightDecay
        m = TensorStorage(capacity: count)
        v = TensorStorage(capacity: count)
    }

    public var stateBuffers: [(String, TensorStorage)] { [("exp_avg", m), ("exp_avg_sq", v)] }

    func mu(_ t: Int) -> Float { hyperparameters.beta1 * (1 - 0.5 * powf(0.96, Float(t) * hyperparameters.momentumDecay)) }

    public func step(_ store: ParameterStore, lr: Float, l2 penalty: Float) {
        stepCount += 1
        let beta1 = hyperparameters.beta1, beta2 = hyperparameters.beta2, eps = hyperparameters.eps
        let t = stepCount
        let bc2 = 1 - powf(beta2, Float(t))
        let muT = mu(t), muNext = mu(t + 1)
        muProduct *= muT
        let muProductNext = muProduct * muNext
        let w = store.values.base, gr = store.grads.base, mp = m.base, vp = v.base
        for seg in store.segments where seg.lrScale > 0 {
            let lr = lr * seg.lrScale
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            let l2: Float = seg.decays ? penalty : 0
            let c1 = lr * (1 - muT) / (1 - muProduct), c2 = lr * muNext / (1 - muProductNext)
            for i in seg.offset..<(seg.offset + seg.count) {
                let g = gr[i] + l2 * w[i]
                mp[i] = mp[i] + (1 - beta1) * (g - mp[i])  // torch: lerp_(g, 1 − β₁)
                vp[i] = beta2 * vp[i] + (1 - beta2) * g * g
                let d = (vp[i] / bc2).squareRoot() + eps
                w[i] = w[i] * decay - c1 * g / d - c2 * mp[i] / d
            }
        }
    }
}
