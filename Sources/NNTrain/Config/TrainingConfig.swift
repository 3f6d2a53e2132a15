import NNCore

/// `regularization`: penalties and constraints on weights (biases are never penalised).
public struct RegularizationConfig: Sendable, Equatable {
    /// Coupled L2: adds l2·w to the gradient of every weight.
    public var l2: Float
    /// L1: adds l1·sign(w) to the gradient of every weight.
    public var l1: Float
    /// Max-norm: after each step, each unit's incoming weight vector is scaled to norm ≤ c.
    public var maxNorm: Float?
    /// Clip the global gradient norm to this value (torch `clip_grad_norm_`).
    public var clipNorm: Float?
    /// Clamp every gradient element to [−v, v] (torch `clip_grad_value_`).
    public var clipValue: Float?
    /// Penalise (and weight-decay) biases and normalisation gains/shifts too.
    public var penalizeBiases = false

    public init() { l2 = 0; l1 = 0 }

    init(_ r: ObjectReader) {
        l2 = r.float("l2", default: 0, check: .nonNegative)
        l1 = r.float("l1", default: 0, check: .nonNegative)
        maxNorm = r.optionalDouble("max_norm", check: .positive).map(Float.init)
        let clip = r.object("clip")
        clipNorm = clip.optionalDouble("norm", check: .positive).map(Float.init)
        clipValue = clip.optionalDouble("value", check: .positive).map(Float.init)
        clip.finish()
        penalizeBiases = r.bool("penalize_biases", default: false)
        r.finish()
    }
}

/// `training.early_stopping`: stop when the monitored metric stops improving (`EarlyStopping`).
public struct EarlyStoppingConfig: Sendable, Equatable {
    public var monitor: Metric
    public var patience: Int
    public var minDelta: Double
    public var restoreBest: Bool
    /// "auto" (accuracies are maximised, losses minimised), "min" or "max" (Keras `mode`).
    public var mode: String = "auto"
    /// True when larger is better.
    public var maximize: Bool { mode == "auto" ? monitor.maximize : mode == "max" }
}

/// `training.snapshots`: the weights to keep during training, as Keras `ModelCheckpoint` and
/// Lightning's `save_top_k` do: those of every `every`-th epoch, and/or those of the `best`
/// epochs by the monitored metric (early stopping's `monitor`, else val_loss, else loss).
public struct SnapshotConfig: Sendable, Equatable {
    public var every: Int?
    public var best: Int?
    public init(every: Int?, best: Int?) { self.every = every; self.best = best }
}

/// `training`: the loop's settings.
public struct TrainingConfig: Sendable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var evalBatchSize: Int
    public var shuffle: Bool
    public var logEvery: Int
    public var earlyStopping: EarlyStoppingConfig?
    /// Also write a checkpoint every this many steps (one is always written after each epoch).
    public var checkpointEverySteps: Int?
    /// What a NaN/Inf loss or gradient does: stop the run (exit 4) or skip that batch.
    public var onNaN: OnNaN
    /// With augmentation, prepare the next batch on a worker thread while this one trains.
    public var prefetch = true
    /// Weights kept during training (`snapshots/epoch-NNN.safetensors`); nil: none.
    public var snapshots: SnapshotConfig?

    public enum OnNaN: String, Sendable { case stop, skipBatch = "skip_batch" }

    init(_ r: ObjectReader) {
        epochs = r.int("epochs", default: 10, check: .closed(1, 1_000_000))
        batchSize = r.int("batch_size", default: 32, check: .closed(1, 1_048_576))
        evalBatchSize = r.int("eval_batch_size", default: max(batchSize, 1000), check: .closed(1, 1_048_576))
        shuffle = r.bool("shuffle", default: true)
        logEvery = r.int("log_every", default: 50, check: .closed(1, 1_073_741_824))
        checkpointEverySteps = r.optionalInt("checkpoint_every_steps", check: .closed(1, 1_073_741_824))
        prefetch = r.bool("prefetch", default: true)
        onNaN = OnNaN(rawValue: r.choice("on_nan", ["stop", "skip_batch"], default: "stop") ?? "stop") ?? .stop
        if r.has("early_stopping") {
            let e = r.object("early_stopping")
            let monitor = Metric(rawValue: e.choice("monitor", Metric.names, default: "val_loss") ?? "") ?? .valLoss
            earlyStopping = EarlyStoppingConfig(
                monitor: monitor,
                patience: e.int("patience", default: 3, check: .closed(0, 1_000_000)),
                minDelta: e.double("min_delta", default: 0, check: .nonNegative),
                restoreBest: e.bool("restore_best", default: true),
                mode: e.choice("mode", ["auto", "min", "max"], default: "auto") ?? "auto")
            e.finish()
        } else {
            r.record("early_stopping", .null)
            _ = r.raw("early_stopping")
        }
        if r.has("snapshots"), r.raw("snapshots") != .null {
            let s = r.object("snapshots")
            let every = s.optionalInt("every", check: .closed(1, 1_000_000)), best = s.optionalInt("best", check: .closed(1, 1_000_000))
            if every == nil && best == nil && s.isValid {
                r.diagnostics.error(r.childPath("snapshots"), "expected \"every\" (keep every N epochs) and/or \"best\" (keep the best K epochs)")
            }
            snapshots = SnapshotConfig(every: every, best: best)
            s.finish()
        } else {
            r.record("snapshots", .null)
            _ = r.raw("snapshots")
        }
        r.finish()
    }
}
