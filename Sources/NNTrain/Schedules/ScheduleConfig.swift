import NNCore

/// `schedule`: the learning rate over the run, one schedule with its values and an optional
/// linear warmup (formulas in `LearningRateSchedule`; torch.optim.lr_scheduler names where
/// PyTorch has the schedule).
public struct ScheduleConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case constant, step, multistep, linear, exponential, inverseTime = "inverse_time", naturalExp = "natural_exp",
             cosine, cosineRestarts = "cosine_restarts", cyclic, oneCycle = "one_cycle", reduceOnPlateau = "reduce_on_plateau"
    }
    public enum CyclicMode: String, Sendable { case triangular, triangular2, expRange = "exp_range" }

    /// The schedule after warmup, with its values.
    public var rule: Schedule
    public var warmupEpochs = 0
    public var warmupStartFactor: Float = 0

    public var kind: Kind { rule.kind }

    /// reduce_on_plateau's rule, when that is the schedule.
    public var plateau: ReduceLROnPlateau? {
        if case .reduceOnPlateau(let p) = rule { return p }
        return nil
    }

    public init(_ rule: Schedule = .constant, warmupEpochs: Int = 0, warmupStartFactor: Float = 0) {
        self.rule = rule; self.warmupEpochs = warmupEpochs; self.warmupStartFactor = warmupStartFactor
    }

    init(_ r: ObjectReader) {
        let kind = Kind(rawValue: r.choice("type", Kind.allCases.map(\.rawValue), default: "constant") ?? "") ?? .constant
        switch kind {
        case .constant:
            rule = .constant
        case .step:
            let stepSize = r.int("step_size", default: 10, check: .atLeast(1))
            rule = .step(stepSize: stepSize, gamma: r.float("gamma", default: 0.1, check: .positive))
        case .multistep:
            let milestones = r.ints("milestones", default: [], check: .closed(1, 1_000_000)) ?? []
            if zip(milestones, milestones.dropFirst()).contains(where: { $0 >= $1 }) {
                r.diagnostics.error(r.childPath("milestones"), "expected increasing epoch numbers, got \(milestones)")
            }
            rule = .multistep(milestones: milestones, gamma: r.float("gamma", default: 0.1, check: .positive))
        case .linear:
            let start = r.float("start_factor", default: 1, check: .closed(0, 1000))
            let end = r.float("end_factor", default: 0.01, check: .closed(0, 1000))
            rule = .linear(startFactor: start, endFactor: end, totalIters: r.optionalInt("total_iters", check: .atLeast(1)))
        case .exponential:
            rule = .exponential(gamma: r.float("gamma", default: 0.95, check: .positive))
        case .inverseTime:
            rule = .inverseTime(decayRate: r.float("decay_rate", default: 0.5, check: .nonNegative))
        case .naturalExp:
            rule = .naturalExp(decayRate: r.float("decay_rate", default: 0.1, check: .nonNegative))
        case .cosine:
            let tMax = r.optionalInt("T_max", check: .atLeast(1))
            rule = .cosine(tMax: tMax, etaMin: r.float("eta_min", default: 0, check: .nonNegative))
        case .cosineRestarts:
            let t0 = r.int("T_0", default: 10, check: .atLeast(1))
            let tMult = r.int("T_mult", default: 1, check: .closed(1, 1000))
            rule = .cosineRestarts(t0: t0, tMult: tMult, etaMin: r.float("eta_min", default: 0, check: .nonNegative))
        case .cyclic:
            let maxLR = r.float("max_lr", default: 0.01, check: .positive)
            let stepSizeUp = r.optionalInt("step_size_up", check: .atLeast(1))
            let mode = CyclicMode(rawValue: r.choice("mode", ["triangular", "triangular2", "exp_range"], default: "triangular") ?? "") ?? .triangular
            let gamma = mode == .expRange ? r.float("gamma", default: 0.9999, check: .positive) : 1
            rule = .cyclic(maxLR: maxLR, stepSizeUp: stepSizeUp, mode: mode, gamma: gamma)
        case .oneCycle:
            var c = OneCycle()
            c.pctStart = r.float("pct_start", default: 0.3, check: .halfOpen(0, 1))
            c.divFactor = r.float("div_factor", default: 25, check: .positive)
            c.finalDivFactor = r.float("final_div_factor", default: 1e4, check: .positive)
            c.linearAnneal = r.choice("anneal_strategy", ["cos", "linear"], default: "cos") == "linear"
            c.threePhase = r.bool("three_phase", default: false)
            rule = .oneCycle(c)
        case .reduceOnPlateau:
            rule = .reduceOnPlateau(ReduceLROnPlateau(r))
        }
        warmupEpochs = r.int("warmup_epochs", default: 0, check: .closed(0, 1_000_000))
        if warmupEpochs > 0 {
            warmupStartFactor = r.float("warmup_start_factor", default: 0, check: .halfOpen(0, 1))
        } else { _ = r.raw("warmup_start_factor") }
        if kind == .oneCycle && warmupEpochs > 0 {
            r.diagnostics.error(r.childPath("warmup_epochs"), "expected 0: one_cycle has its own warm-up phase (pct_start)")
        }
        r.finish()
    }
}

/// One schedule and its values (the keys of `schedule` for its `type`); formulas in
/// `LearningRateSchedule`.
public enum Schedule: Sendable, Equatable {
    case constant
    case step(stepSize: Int, gamma: Float)
    case multistep(milestones: [Int], gamma: Float)
    /// `totalIters` nil: the epochs after warmup.
    case linear(startFactor: Float, endFactor: Float, totalIters: Int?)
    case exponential(gamma: Float)
    case inverseTime(decayRate: Float)
    case naturalExp(decayRate: Float)
    /// `tMax` nil: the epochs after warmup.
    case cosine(tMax: Int?, etaMin: Float)
    case cosineRestarts(t0: Int, tMult: Int, etaMin: Float)
    /// `stepSizeUp` nil: 2 epochs of steps; `gamma` is exp_range's (1 otherwise).
    case cyclic(maxLR: Float, stepSizeUp: Int?, mode: ScheduleConfig.CyclicMode, gamma: Float)
    case oneCycle(OneCycle)
    case reduceOnPlateau(ReduceLROnPlateau)

    public var kind: ScheduleConfig.Kind {
        switch self {
        case .constant: return .constant
        case .step: return .step
        case .multistep: return .multistep
        case .linear: return .linear
        case .exponential: return .exponential
        case .inverseTime: return .inverseTime
        case .naturalExp: return .naturalExp
        case .cosine: return .cosine
        case .cosineRestarts: return .cosineRestarts
        case .cyclic: return .cyclic
        case .oneCycle: return .oneCycle
        case .reduceOnPlateau: return .reduceOnPlateau
        }
    }
}

/// one_cycle's values (torch.optim.lr_scheduler.OneCycleLR, max_lr = `optimizer.lr`).
public struct OneCycle: Sendable, Equatable {
    public var pctStart: Float = 0.3
    public var divFactor: Float = 25
    public var finalDivFactor: Float = 1e4
    /// anneal_strategy "linear" (else "cos").
    public var linearAnneal = false
    public var threePhase = false
    public init() {}
}
