import NNCore

/// What happens to the raw gradient before the update rule sees it, in this order:
/// scale (global-norm clipping), clamp to ±clipValue, then for decaying parameters
/// g += l2·w + l1·sign(w). Decoupled weight decay `w ← w − lr·wd·w` comes from the optimizer.
///
/// Scale, clamp and L1 run as one pass over the gradients (`prepare`, the trainer's clip and L1
/// steps), and only when one of them is set; the coupled L2 term is folded into each optimizer's
/// update loop (`Optimizer.step(_:lr:l2:)`), so the common case (nothing set) costs nothing.
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
    public func prepare(_ store: ParameterStore) {
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
    /// Applies one update with learning rate `lr` to the gradients as they are (clipped and with
    /// L1 already, `GradientTransform.prepare`). The fused pass adds the coupled L2 term itself:
    /// g + l2·w on decaying parameters. Steps are counted from 1.
    func step(_ store: ParameterStore, lr: Float, l2: Float)
    /// State buffers by name (for checkpoints and tests).
    var stateBuffers: [(String, TensorStorage)] { get }
    /// Steps taken (restored from a checkpoint on resume).
    var stepCount: Int { get set }
}

extension Optimizer {
    /// `transform`'s clip and L1 on the gradients, then the update with its L2 term.
    public func step(_ store: ParameterStore, lr: Float, transform: GradientTransform) {
        transform.prepare(store)
        step(store, lr: lr, l2: transform.l2)
    }
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
