/// Early stopping and the best epoch (Keras EarlyStopping semantics).
///
/// After each epoch with a finite value v of `monitor`, with b the best value so far: v improves
/// on b when v < b − min_delta (minimised: losses, or mode "min") or v > b + min_delta
/// (maximised: accuracies, or mode "max"); the first value always does. An improvement sets
/// b ← v, best_epoch ← the epoch and wait ← 0 (and, with `restore_best`, the trainer keeps a
/// copy of the weights); any other finite value sets wait ← wait + 1. The run stops once
/// wait ≥ `patience` and wait > 0: `patience` epochs in a row without an improvement.
///
/// Without `training.early_stopping` the rule still keeps the best epoch, by val_loss (loss
/// without validation data), and never stops. The record is `TrainerState`'s `best`,
/// `bestEpoch` and `wait`, saved in checkpoints.
public struct EarlyStopping: Sendable, Equatable {
    public var monitor: Metric
    /// True when larger is better.
    public var maximize: Bool
    public var minDelta: Double
    /// nil: never stop (no `training.early_stopping`).
    public var patience: Int?
    public var restoreBest: Bool

    public init(_ config: EarlyStoppingConfig?, hasValidation: Bool) {
        monitor = config?.monitor ?? (hasValidation ? .valLoss : .loss)
        maximize = config?.maximize ?? monitor.maximize
        minDelta = config?.minDelta ?? 0
        patience = config?.patience
        restoreBest = config?.restoreBest ?? false
    }

    /// Folds epoch `epoch`'s (1-based) value of `monitor` into `state`; true when it is the new
    /// best. A missing or non-finite value changes nothing.
    public func update(_ state: inout TrainerState, value: Double?, epoch: Int) -> Bool {
        guard let value, value.isFinite else { return false }
        let improved = state.best.map { maximize ? value > $0 + minDelta : value < $0 - minDelta } ?? true
        if improved {
            state.best = value
            state.bestEpoch = epoch
            state.wait = 0
        } else {
            state.wait += 1
        }
        return improved
    }

    /// Whether `patience` epochs in a row went without an improvement.
    public func shouldStop(_ state: TrainerState) -> Bool {
        guard let patience else { return false }
        return state.wait > 0 && state.wait >= patience
    }
}
