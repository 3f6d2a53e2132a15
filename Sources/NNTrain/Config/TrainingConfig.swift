import NNCore

/// `loss`: what the network minimises.
public struct LossConfig: Sendable, Equatable {
    public enum Kind: String, Sendable { case crossEntropy = "cross_entropy", mse }
    public var kind: Kind
    /// Cross-entropy target = (1 − ε)·one_hot + ε/C (PyTorch `label_smoothing`).
    public var labelSmoothing: Float

    init(_ r: ObjectReader) {
        kind = Kind(rawValue: r.choice("type", ["cross_entropy", "mse"], default: "cross_entropy") ?? "") ?? .crossEntropy
        labelSmoothing = kind == .crossEntropy ? r.float("label_smoothing", default: 0, check: .halfOpen(0, 1)) : 0
        r.finish()
    }
}

/// `optimizer`: torch.optim's update rules; `weight_decay` is decoupled (AdamW-style).
public struct OptimizerConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case sgd, adam, adamw }
    public var kind: Kind
    public var lr: Float
    public var momentum: Float = 0
    public var dampening: Float = 0
    public var nesterov = false
    public var betas: (Float, Float) = (0.9, 0.999)
    public var eps: Float = 1e-8
    public var amsgrad = false
    public var weightDecay: Float = 0

    public static func == (a: OptimizerConfig, b: OptimizerConfig) -> Bool {
        a.kind == b.kind && a.lr == b.lr && a.momentum == b.momentum && a.dampening == b.dampening
            && a.nesterov == b.nesterov && a.betas == b.betas && a.eps == b.eps && a.amsgrad == b.amsgrad
            && a.weightDecay == b.weightDecay
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
        case .adam, .adamw:
            lr = r.float("lr", default: 0.001, check: .positive)
            if let b = r.doubles("betas", default: [0.9, 0.999], count: 2, check: .halfOpen(0, 1)) {
                betas = (Float(b[0]), Float(b[1]))
            }
            eps = r.float("eps", default: 1e-8, check: .positive)
            amsgrad = r.bool("amsgrad", default: false)
        }
        weightDecay = r.float("weight_decay", default: kind == .adamw ? 0.01 : 0, check: .closed(0, 1))
        r.finish()
    }
}

/// `schedule`: the learning rate as a function of the epoch, with optional linear warmup.
public struct ScheduleConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case constant, step, multistep, exponential, cosine }
    public var kind: Kind
    public var stepSize = 1
    public var gamma: Float = 0.1
    public var milestones: [Int] = []
    public var tMax: Int? = nil
    public var etaMin: Float = 0
    public var warmupEpochs = 0
    public var warmupStartFactor: Float = 0

    public init(kind: Kind) { self.kind = kind }

    init(_ r: ObjectReader) {
        kind = Kind(rawValue: r.choice("type", Kind.allCases.map(\.rawValue), default: "constant") ?? "") ?? .constant
        switch kind {
        case .constant: break
        case .step:
            stepSize = r.int("step_size", default: 10, check: .atLeast(1))
            gamma = r.float("gamma", default: 0.1, check: .positive)
        case .multistep:
            let ms = r.doubles("milestones", default: [], check: .atLeast(1)) ?? []
            milestones = ms.map { Int($0) }
            if zip(milestones, milestones.dropFirst()).contains(where: { $0 >= $1 }) || ms.contains(where: { $0 != $0.rounded() }) {
                r.diagnostics.error(r.childPath("milestones"), "expected increasing epoch numbers, got \(milestones)")
            }
            gamma = r.float("gamma", default: 0.1, check: .positive)
        case .exponential:
            gamma = r.float("gamma", default: 0.95, check: .positive)
        case .cosine:
            tMax = r.optionalInt("T_max", check: .atLeast(1))
            etaMin = r.float("eta_min", default: 0, check: .nonNegative)
        }
        warmupEpochs = r.int("warmup_epochs", default: 0, check: .closed(0, 1_000_000))
        if warmupEpochs > 0 {
            warmupStartFactor = r.float("warmup_start_factor", default: 0, check: .halfOpen(0, 1))
        } else { _ = r.raw("warmup_start_factor") }
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

    public init() { l2 = 0; l1 = 0 }

    init(_ r: ObjectReader) {
        l2 = r.float("l2", default: 0, check: .nonNegative)
        l1 = r.float("l1", default: 0, check: .nonNegative)
        maxNorm = r.optionalDouble("max_norm", check: .positive).map(Float.init)
        let clip = r.object("clip")
        clipNorm = clip.optionalDouble("norm", check: .positive).map(Float.init)
        clipValue = clip.optionalDouble("value", check: .positive).map(Float.init)
        clip.finish()
        r.finish()
    }
}

/// `training.early_stopping`: stop when the monitored metric stops improving.
public struct EarlyStoppingConfig: Sendable, Equatable {
    public var monitor: String
    public var patience: Int
    public var minDelta: Double
    public var restoreBest: Bool
    /// True when larger is better (accuracy).
    public var maximize: Bool { monitor.hasSuffix("accuracy") }
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

    public enum OnNaN: String, Sendable { case stop, skipBatch = "skip_batch" }

    init(_ r: ObjectReader) {
        epochs = r.int("epochs", default: 10, check: .closed(1, 1_000_000))
        batchSize = r.int("batch_size", default: 32, check: .closed(1, 1_048_576))
        evalBatchSize = r.int("eval_batch_size", default: max(batchSize, 1000), check: .closed(1, 1_048_576))
        shuffle = r.bool("shuffle", default: true)
        logEvery = r.int("log_every", default: 50, check: .closed(1, 1_073_741_824))
        checkpointEverySteps = r.optionalInt("checkpoint_every_steps", check: .closed(1, 1_073_741_824))
        onNaN = OnNaN(rawValue: r.choice("on_nan", ["stop", "skip_batch"], default: "stop") ?? "stop") ?? .stop
        if r.has("early_stopping") {
            let e = r.object("early_stopping")
            let monitor = e.choice("monitor", ["val_loss", "val_accuracy", "loss", "accuracy"], default: "val_loss") ?? "val_loss"
            earlyStopping = EarlyStoppingConfig(
                monitor: monitor,
                patience: e.int("patience", default: 3, check: .closed(0, 1_000_000)),
                minDelta: e.double("min_delta", default: 0, check: .nonNegative),
                restoreBest: e.bool("restore_best", default: true))
            e.finish()
        } else {
            r.record("early_stopping", .null)
            _ = r.raw("early_stopping")
        }
        r.finish()
    }
}
