import NNCore

/// What happens to the raw gradient before the update rule sees it, in this order:
/// scale (global-norm clipping), clamp to ±clipValue, then for decaying parameters
/// g += l2·w + l1·sign(w). Decoupled weight decay `w ← w − lr·wd·w` comes from the optimizer.
///
/// Scale, clamp and L1 run as one pass over the gradients, and only when one of them is set;
/// the coupled L2 term is folded into each optimizer's update loop, so the common case
/// (nothing set) costs nothing.
public struct GradientTransform: Sendable, Equatable {
    public var scale: Float = 1
    public var clipValue: Float? = nil
    public var l2: Float = 0
    public var l1: Float = 0
    public init(scale: Float = 1, clipValue: Float? = nil, l2: Float = 0, l1: Float = 0) {
        self.scale = scale; self.clipValue = clipValue; self.l2 = l2; self.l1 = l1
    }

    /// The gradient seen by the update rule for element value w, raw gradient g (reference
    /// formula; the optimizers compute the same thing in two passes).
    func apply(_ g: Float, _ w: Float, decays: Bool) -> Float {
        var x = g * scale
        if let v = clipValue { x = min(max(x, -v), v) }
        if decays { x += l2 * w + (w > 0 ? l1 : (w < 0 ? -l1 : 0)) }
        return x
    }

    var needsPrepass: Bool { scale != 1 || clipValue != nil || l1 != 0 }

    /// Applies scale, clamp and L1 to the gradients in place.
    func prepare(_ store: ParameterStore) {
        guard needsPrepass else { return }
        let w = store.values.base, g = store.grads.base
        let k = scale, v = clipValue ?? .infinity
        for seg in store.segments where seg.lrScale > 0 {
            let l1 = seg.decays ? self.l1 : 0
            for i in seg.offset..<(seg.offset + seg.count) {
                let x = min(max(g[i] * k, -v), v)
                let wi = w[i]
                g[i] = x + (wi > 0 ? l1 : (wi < 0 ? -l1 : 0))
            }
        }
    }
}

/// An update rule over a whole `ParameterStore` in one fused pass per parameter segment.
public protocol Optimizer: AnyObject {
    /// Applies one update with learning rate `lr`. Steps are counted from 1.
    func step(_ store: ParameterStore, lr: Float, transform: GradientTransform)
    /// State buffers by name (for checkpoints and tests).
    var stateBuffers: [(String, TensorStorage)] { get }
    /// Steps taken (restored from a checkpoint on resume).
    var stepCount: Int { get set }
}

extension OptimizerConfig {
    public func makeOptimizer(parameterCount: Int) -> any Optimizer {
        switch kind {
        case .sgd:
            return SGD(count: parameterCount, momentum: momentum, dampening: dampening, nesterov: nesterov, weightDecay: weightDecay)
        case .adam, .adamw:
            return Adam(count: parameterCount, beta1: betas.0, beta2: betas.1, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad)
        case .nadam:
            return NAdam(count: parameterCount, beta1: betas.0, beta2: betas.1, eps: eps, momentumDecay: momentumDecay, weightDecay: weightDecay)
        case .adagrad:
            return Adagrad(count: parameterCount, lrDecay: lrDecay, initialAccumulator: initialAccumulator, eps: eps, weightDecay: weightDecay)
        case .rmsprop:
            return RMSprop(count: parameterCount, alpha: alpha, eps: eps, momentum: momentum, centered: centered, weightDecay: weightDecay)
        case .adadelta:
            return Adadelta(count: parameterCount, rho: rho, eps: eps, weightDecay: weightDecay)
        }
    }
}

/// Stochastic gradient descent with momentum, dampening and Nesterov (torch.optim.SGD):
/// buf ← g on the first step, else buf ← μ·buf + (1 − τ)·g; d = g + μ·buf (Nesterov) or buf;
/// w ← w − lr·d. Decoupled weight decay first: w ← w − lr·wd·w.
public final class SGD: Optimizer {
    public let momentum: Float, dampening: Float, nesterov: Bool, weightDecay: Float
    public let velocity: TensorStorage
    public var stepCount = 0

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
        transform.prepare(store)
        for seg in store.segments where seg.lrScale > 0 {
            let lr = lr * seg.lrScale
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            let l2: Float = seg.decays ? transform.l2 : 0
            let range = seg.offset..<(seg.offset + seg.count)
            if mu == 0 {
                for i in range { w[i] = w[i] * decay - lr * (gr[i] + l2 * w[i]) }
            } else if first {
                for i in range {
                    let g = gr[i] + l2 * w[i]
                    buf[i] = g
                    w[i] = w[i] * decay - lr * (nesterov ? g + mu * g : g)
                }
            } else if nesterov {
                for i in range {
                    let g = gr[i] + l2 * w[i]
                    let b = mu * buf[i] + damp * g
                    buf[i] = b
                    w[i] = w[i] * decay - lr * (g + mu * b)
                }
            } else {
                for i in range {
                    let g = gr[i] + l2 * w[i]
                    let b = mu * buf[i] + damp * g
                    buf[i] = b
                    w[i] = w[i] * decay - lr * b
                }
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
    public var stepCount = 0

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
        let invSqrtBC2 = Float(1 / bc2.squareRoot())
        let w = store.values.base, gr = store.grads.base, mp = m.base, vp = v.base, vm = vMax.base
        transform.prepare(store)
        for seg in store.segments where seg.lrScale > 0 {
            let lr = lr * seg.lrScale
            let stepSize = Float(Double(lr) / bc1)
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            let l2: Float = seg.decays ? transform.l2 : 0
            // Large segments split over the worker pool (element-wise: the same result).
            let (parts, per) = Parallel.split(seg.count)
            var job = AdamJob(w: w, g: gr, m: mp, v: vp, vMax: amsgrad ? vm : nil, offset: seg.offset, count: seg.count, per: per,
                              beta1: beta1, beta2: beta2, l2: l2, decay: decay, stepSize: stepSize, invSqrtBC2: invSqrtBC2, eps: eps)
            withUnsafeMutablePointer(to: &job) { p in
                Parallel.run(parts, context: UnsafeMutableRawPointer(p)) { raw, part in
                    let j = raw!.assumingMemoryBound(to: AdamJob.self).pointee
                    let lo = part * j.per, o = j.offset + lo
                    Kernels.adam(w: j.w + o, g: j.g + o, m: j.m + o, v: j.v + o, vMax: j.vMax.map { $0 + o },
                                 count: min(j.count, lo + j.per) - lo, beta1: j.beta1, beta2: j.beta2, l2: j.l2, decay: j.decay,
                                 stepSize: j.stepSize, invSqrtBC2: j.invSqrtBC2, eps: j.eps)
                }
            }
        }
    }
}

/// One Adam segment split over the pool.
struct AdamJob {
    var w: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>
    var v: UnsafeMutablePointer<Float>, vMax: UnsafeMutablePointer<Float>?
    var offset: Int, count: Int, per: Int
    var beta1: Float, beta2: Float, l2: Float, decay: Float, stepSize: Float, invSqrtBC2: Float, eps: Float
}

/// Rescales each row (one unit's incoming weights) of every decaying parameter to norm ≤ c
/// (Keras MaxNorm on a Dense kernel; Srivastava et al. 2014 with dropout).
public func applyMaxNorm(_ store: ParameterStore, _ c: Float) {
    let w = store.values.base
    for seg in store.segments where seg.decays && seg.rows > 0 && seg.lrScale > 0 {
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
