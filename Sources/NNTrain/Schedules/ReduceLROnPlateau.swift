import NNCore

/// reduce_on_plateau (torch.optim.lr_scheduler.ReduceLROnPlateau, threshold_mode "rel", mode by
/// the metric's direction: losses min, accuracies max).
///
/// After each epoch with a finite value v of `monitor`, with b the best value so far and
/// lr = base·scale the current rate:
/// - v is better when v < b·(1 − threshold) (a loss) or v > b·(1 + threshold) (an accuracy);
///   the first value always is. Better: b ← v, bad ← 0; else bad ← bad + 1.
/// - in cooldown (cooldown_left > 0): cooldown_left ← cooldown_left − 1 and bad ← 0.
/// - bad > `patience`: scale ← max(lr·factor, min_lr)/base (unless that lowers lr by at most
///   1e-8), cooldown_left ← `cooldown`, bad ← 0.
///
/// Every step trains at the schedule's rate times `scale`. The state is saved in checkpoints
/// (`state.plateau`).
public struct ReduceLROnPlateau: Sendable, Equatable {
    public var monitor = Metric.valLoss
    public var factor: Float = 0.5
    public var patience = 2
    public var threshold: Double = 1e-4
    public var cooldown = 0
    public var minLR: Float = 0

    /// The rule's record: the scale of the learning rate, the best value, the counters.
    public struct State: Sendable, Equatable {
        public var scale: Double = 1
        public var best: Double? = nil
        public var badEpochs = 0
        public var cooldownLeft = 0
        public init(scale: Double = 1, best: Double? = nil, badEpochs: Int = 0, cooldownLeft: Int = 0) {
            self.scale = scale; self.best = best; self.badEpochs = badEpochs; self.cooldownLeft = cooldownLeft
        }
    }

    public init() {}

    /// Reads the keys of `schedule` that follow `"type": "reduce_on_plateau"`.
    init(_ r: ObjectReader) {
        monitor = Metric(rawValue: r.choice("monitor", Metric.names, default: "val_loss") ?? "") ?? .valLoss
        factor = r.float("factor", default: 0.5, check: .halfOpen(0, 1))
        patience = r.int("patience", default: 2, check: .closed(0, 1_000_000))
        threshold = r.double("threshold", default: 1e-4, check: .nonNegative)
        cooldown = r.int("cooldown", default: 0, check: .closed(0, 1_000_000))
        minLR = r.float("min_lr", default: 0, check: .nonNegative)
    }

    /// Folds one epoch's finite `value` of `monitor` into `state` (`baseLR`: `optimizer.lr`).
    public func update(_ state: inout State, value: Double, baseLR: Float) {
        let maximize = monitor.maximize
        let better = state.best.map { maximize ? value > $0 * (1 + threshold) : value < $0 * (1 - threshold) } ?? true
        if better { state.best = value; state.badEpochs = 0 } else { state.badEpochs += 1 }
        if state.cooldownLeft > 0 { state.cooldownLeft -= 1; state.badEpochs = 0 }
        if state.badEpochs > patience {
            let lr = Double(baseLR) * state.scale
            let newLR = max(lr * Double(factor), Double(minLR))
            if lr - newLR > 1e-8 { state.scale = newLR / Double(baseLR) }
            state.cooldownLeft = cooldown
            state.badEpochs = 0
        }
    }
}
