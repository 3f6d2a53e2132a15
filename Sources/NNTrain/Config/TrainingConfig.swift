import NNCore

/// `loss`: what the network minimises.
public struct LossConfig: Sendable, Equatable {
    public enum Kind: String, Sendable { case crossEntropy = "cross_entropy", mse }
    public var kind: Kind
    /// Cross-entropy target: 1 − ε on the label, ε/(K − 1) on each other class.
    public var labelSmoothing: Float
    public enum ClassWeights: Sendable, Equatable { case none, balanced, given([Float]) }
    /// Weights of each class's samples in the loss (torch `weight=`; "balanced": N/(K·n_c)).
    public var classWeights: ClassWeights = .none

    init(_ r: ObjectReader) {
        kind = Kind(rawValue: r.choice("type", ["cross_entropy", "mse"], default: "cross_entropy") ?? "") ?? .crossEntropy
        labelSmoothing = kind == .crossEntropy ? r.float("label_smoothing", default: 0, check: .halfOpen(0, 1)) : 0
        switch r.raw("class_weights") {
        case nil, .null?:
            r.record("class_weights", .null)
        case .string?:
            if r.choice("class_weights", ["balanced"], default: nil) != nil { classWeights = .balanced }
        default:
            if let w = r.doubles("class_weights", default: nil, check: .nonNegative) {
                if w.isEmpty || !w.contains(where: { $0 > 0 }) {
                    r.diagnostics.error(r.childPath("class_weights"), "expected at least one weight > 0")
                }
                classWeights = .given(w.map(Float.init))
            }
        }
        r.finish()
    }
}

/// `optimizer`: torch.optim's update rules; `weight_decay` is decoupled (AdamW-style).
public struct OptimizerConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case sgd, adam, adamw, nadam, adagrad, rmsprop, adadelta }
    public var kind: Kind
    public var lr: Float
    public var momentum: Float = 0
    public var dampening: Float = 0
    public var nesterov = false
    public var betas: (Float, Float) = (0.9, 0.999)
    public var eps: Float = 1e-8
    public var amsgrad = false
    public var weightDecay: Float = 0
    public var momentumDecay: Float = 0.004
    public var lrDecay: Float = 0
    public var initialAccumulator: Float = 0
    public var alpha: Float = 0.99
    public var centered = false
    public var rho: Float = 0.9

    public static func == (a: OptimizerConfig, b: OptimizerConfig) -> Bool {
        a.kind == b.kind && a.lr == b.lr && a.momentum == b.momentum && a.dampening == b.dampening
            && a.nesterov == b.nesterov && a.betas == b.betas && a.eps == b.eps && a.amsgrad == b.amsgrad
            && a.weightDecay == b.weightDecay && a.momentumDecay == b.momentumDecay && a.lrDecay == b.lrDecay
            && a.initialAccumulator == b.initialAccumulator && a.alpha == b.alpha && a.centered == b.centered && a.rho == b.rho
    }

    public init(kind: Kind, lr: Float) { self.kind = kind; self.lr = lr }

    init(_ r: ObjectReader) {
        kind = Kind(rawValue: r.choice("type", Kind.allCases.map(\.rawValue), default: "adam") ?? "") ?? .adam
        switch kind {
        case .sgd:
            lr = r.float("lr", default: 0.01, check: .positive)
            momentum = r.float("momentum", default: 0, check: .halfOpen(0, 1))
            dampening = r.float("dampening", default: 0, check: .halfOpen(0, 1))
            nesterov = r.bool("nesterov", default: false)
            if nesterov && (momentum <= 0 || dampening != 0) {
                r.diagnostics.error(r.childPath("nesterov"), "Nesterov momentum requires momentum > 0 and dampening 0 (as torch.optim.SGD)")
            }
        case .adam, .adamw, .nadam:
            lr = r.float("lr", default: kind == .nadam ? 0.002 : 0.001, check: .positive)
            if let b = r.doubles("betas", default: [0.9, 0.999], count: 2, check: .halfOpen(0, 1)) {
                betas = (Float(b[0]), Float(b[1]))
            }
            eps = r.float("eps", default: 1e-8, check: .positive)
            if kind == .nadam {
                momentumDecay = r.float("momentum_decay", default: 0.004, check: .nonNegative)
            } else {
                amsgrad = r.bool("amsgrad", default: false)
            }
        case .adagrad:
            lr = r.float("lr", default: 0.01, check: .positive)
            lrDecay = r.float("lr_decay", default: 0, check: .nonNegative)
            initialAccumulator = r.float("initial_accumulator_value", default: 0, check: .nonNegative)
            eps = r.float("eps", default: 1e-10, check: .positive)
        case .rmsprop:
            lr = r.float("lr", default: 0.01, check: .positive)
            alpha = r.float("alpha", default: 0.99, check: .halfOpen(0, 1))
            eps = r.float("eps", default: 1e-8, check: .positive)
            momentum = r.float("momentum", default: 0, check: .halfOpen(0, 1))
            centered = r.bool("centered", default: false)
        case .adadelta:
            lr = r.float("lr", default: 1.0, check: .positive)
            rho = r.float("rho", default: 0.9, check: .halfOpen(0, 1))
            eps = r.float("eps", default: 1e-6, check: .positive)
        }
        weightDecay = r.float("weight_decay", default: kind == .adamw ? 0.01 : 0, check: .closed(0, 1))
        r.finish()
    }
}

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

/// `training.early_stopping`: stop when the monitored metric stops improving.
public struct EarlyStoppingConfig: Sendable, Equatable {
    public var monitor: String
    public var patience: Int
    public var minDelta: Double
    public var restoreBest: Bool
    /// "auto" (accuracies are maximised, losses minimised), "min" or "max" (Keras `mode`).
    public var mode: String = "auto"
    /// True when larger is better.
    public var maximize: Bool { mode == "auto" ? monitor.hasSuffix("accuracy") : mode == "max" }
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
            let monitor = e.choice("monitor", ["val_loss", "val_accuracy", "loss", "accuracy"], default: "val_loss") ?? "val_loss"
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
        r.finish()
    }
}
