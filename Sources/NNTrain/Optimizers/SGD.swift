import NNCore

/// Stochastic gradient descent with momentum, dampening and Nesterov (torch.optim.SGD):
/// buf ← g on the first step, else buf ← μ·buf + (1 − τ)·g; d = g + μ·buf (Nesterov) or buf;
/// w ← w − lr·d. Decoupled weight decay first: w ← w − lr·wd·w. The fused pass adds the coupled
/// L2 term to g (g + l2·w, decaying parameters only).
public final class SGD: Optimizer {
    /// `optimizer` keys of sgd besides lr and weight_decay.
    public struct Hyperparameters: Sendable, Equatable {
        /// μ
        public var momentum: Float = 0
        /// τ
        public var dampening: Float = 0
        public var nesterov = false
        public init(momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false) {
            self.momentum = momentum; self.dampening = dampening; self.nesterov = nesterov
        }
    }

    public let hyperparameters: Hyperparameters
    public let weightDecay: Float
    public let velocity: TensorStorage
    public var stepCount = 0

    public init(count: Int, _ h: Hyperparameters = Hyperparameters(), weightDecay: Float = 0) {
        hyperparameters = h
        self.weightDecay = weightDecay
        velocity = TensorStorage(capacity: h.momentum > 0 ? count : 0)
    }

    public var stateBuffers: [(String, TensorStorage)] { hyperparameters.momentum > 0 ? [("momentum_buffer", velocity)] : [] }

    public func step(_ store: ParameterStore, lr: Float, l2 penalty: Float) {
        stepCount += 1
        let first = stepCount == 1
        let w = store.values.base, gr = store.grads.base, buf = velocity.base
        let mu = hyperparameters.momentum, damp = 1 - hyperparameters.dampening, nesterov = hyperparameters.nesterov
        for seg in store.segments where seg.lrScale > 0 {
            let lr = lr * seg.lrScale
            let decay: Float = seg.decays ? 1 - lr * weightDecay : 1
            let l2: Float = seg.decays ? penalty : 0
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
