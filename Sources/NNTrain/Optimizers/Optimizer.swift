import NNCore

/// What happens to the raw gradient before the update rule sees it, in this order:
/// scale (global-norm clipping), clamp to ±clipValue, then for decaying parameters
/// g += l2·w + l1·sign(w). Decoupled weight decay `w ← w − lr·wd·w` comes from the optimizer.
public struct GradientTransform: Sendable, Equatable {
    public var scale: Float = 1
    public var clipValue: Float? = nil
    public var l2: Float = 0
    public var l1: Float = 0
    public init(scale: Float = 1, clipValue: Float? = nil, l2: Float = 0, l1: Float = 0) {
        self.scale = scale; self.clipValue = clipValue; self.l2 = l2; self.l1 = l1
    }

    /// The gradient seen by the update rule for element value w, raw gradient g.
    @inline(__always)
    func apply(_ g: Float, _ w: Float, decays: Bool) -> Float {
        var x = g * scale
        if let v = clipValue { x = min(max(x, -v), v) }
        if decays { x += l2 * w + (w > 0 ? l1 : (w < 0 ? -l1 : 0)) }
        return x
    }
}

/// An update rule over a whole `ParameterStore` in one fused pass per parameter segment.
public protocol Optimizer: AnyObject {
    /// Applies one update with learning rate `lr`. Steps are counted from 1.
    func step(_ store: ParameterStore, lr: Float, transform: GradientTransform)
    /// State buffers by name (for checkpoints and tests).
    var stateBuffers: [(String, TensorStorage)] { get }
    var stepCount: Int { get }
}

extension OptimizerConfig {
    public func makeOptimizer(parameterCount: Int) -> any Optimizer {
        switch kind {
        case .sgd:
            return SGD(count: parameterCount, momentum: momentum, dampening: dampening, nesterov: nesterov, weightDecay: weightDecay)
        case .adam, .adamw:
            return Adam(count: parameterCount, beta1: betas.0, beta2: betas.1, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad)
        }
    }
}

/// Stochastic gradient descent with momentum, dampening and Nesterov (torch.optim.SGD):
/// buf ← g on the first step, else buf ← μ·buf + (1 − τ)·g; d = g + μ·buf (Nesterov) or buf;
/// w ← w − lr·d. Decoupled weight decay first: w ← w − lr·wd·w.
public final class SGD: Optimizer {
    public let momentum: Float, dampening: Float, nesterov: Bool, weightDecay: Float
    public let velocity: TensorStorage
    public private(set) var stepCount = 0

    public init(count: Int, momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        velocity = TensorStorage(capacity: momentum > 0 ? count : 0)
    }

    public var stateBuffers: [(String, TensorStorage)] { momentum > 0 ? [("momentum_buffer", velocity)] : [] }

    public func step(_ store: ParameterStore, lr: Float, transform: GradientTransform) {
        stepCount += 1
        let first = stepCount == 1
        let w = store.values.base, gr = store.grads.base, buf = velocity.base
        let mu = momentum, damp = 1 - dampening
        for seg in store.segments {
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            for i in seg.offset..<(seg.offset + seg.count) {
                let g = transform.apply(gr[i], w[i], decays: seg.decays)
                var d = g
                if mu > 0 {
                    let b = first ? g : mu * buf[i] + damp * g
                    buf[i] = b
                    d = nesterov ? g + mu * b : b
                }
                w[i] = w[i] * decay - lr * d
            }
        }
    }
}

/// Adam / AdamW (torch.optim.Adam/AdamW, with `amsgrad`): with t the step,
/// m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; v̂ = max(v̂, v) under amsgrad;
/// w ← w − (lr/(1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
/// Decoupled weight decay first (AdamW): w ← w − lr·wd·w, on decaying parameters only.
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, eps: Float, weightDecay: Float, amsgrad: Bool
    public let m: TensorStorage, v: TensorStorage, vMax: TensorStorage
    public private(set) var stepCount = 0

    public init(count: Int, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0, amsgrad: Bool = false) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps; self.weightDecay = weightDecay; self.amsgrad = amsgrad
        m = TensorStorage(capacity: count)
        v = TensorStorage(capacity: count)
        vMax = TensorStorage(capacity: amsgrad ? count : 0)
    }

    public var stateBuffers: [(String, TensorStorage)] {
        [("exp_avg", m), ("exp_avg_sq", v)] + (amsgrad ? [("max_exp_avg_sq", vMax)] : [])
    }

    public func step(_ store: ParameterStore, lr: Float, transform: GradientTransform) {
        stepCount += 1
        let t = Double(stepCount)
        let bc1 = 1 - pow(Double(beta1), t), bc2 = 1 - pow(Double(beta2), t)
        let stepSize = Float(Double(lr) / bc1)
        let invSqrtBC2 = Float(1 / bc2.squareRoot())
        let w = store.values.base, gr = store.grads.base, mp = m.base, vp = v.base, vm = vMax.base
        let b1 = beta1, b2 = beta2, c1 = 1 - beta1, c2 = 1 - beta2, e = eps
        for seg in store.segments {
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            let range = seg.offset..<(seg.offset + seg.count)
            if amsgrad {
                for i in range {
                    let g = transform.apply(gr[i], w[i], decays: seg.decays)
                    let mi = b1 * mp[i] + c1 * g
                    let vi = b2 * vp[i] + c2 * g * g
                    mp[i] = mi; vp[i] = vi
                    let vmax = max(vm[i], vi)
                    vm[i] = vmax
                    w[i] = w[i] * decay - stepSize * mi / (vmax.squareRoot() * invSqrtBC2 + e)
                }
            } else {
                for i in range {
                    let g = transform.apply(gr[i], w[i], decays: seg.decays)
                    let mi = b1 * mp[i] + c1 * g
                    let vi = b2 * vp[i] + c2 * g * g
                    mp[i] = mi; vp[i] = vi
                    w[i] = w[i] * decay - stepSize * mi / (vi.squareRoot() * invSqrtBC2 + e)
                }
            }
        }
    }
}

/// Rescales each row (one unit's incoming weights) of every decaying parameter to norm ≤ c
/// (Keras MaxNorm on a Dense kernel; Srivastava et al. 2014 with dropout).
public func applyMaxNorm(_ store: ParameterStore, _ c: Float) {
    let w = store.values.base
    for seg in store.segments where seg.decays && seg.rows > 0 {
        let cols = seg.count / seg.rows
        for r in 0..<seg.rows {
            let row = w + seg.offset + r * cols
            var s: Float = 0
            for j in 0..<cols { s += row[j] * row[j] }
            let norm = s.squareRoot()
            if norm > c {
                let k = c / norm
                for j in 0..<cols { row[j] *= k }
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
