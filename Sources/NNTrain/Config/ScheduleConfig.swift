import NNCore

/// `schedule`: the learning rate over the run, with optional linear warmup (formulas in
/// `LearningRateSchedule`; torch.optim.lr_scheduler names where PyTorch has the schedule).
public struct ScheduleConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case constant, step, multistep, linear, exponential, inverseTime = "inverse_time", naturalExp = "natural_exp",
             cosine, cosineRestarts = "cosine_restarts", cyclic, oneCycle = "one_cycle", reduceOnPlateau = "reduce_on_plateau"
    }
    public enum CyclicMode: String, Sendable { case triangular, triangular2, expRange = "exp_range" }

    public var kind: Kind
    public var stepSize = 1
    public var gamma: Float = 0.1
    public var milestones: [Int] = []
    public var tMax: Int? = nil
    public var etaMin: Float = 0
    public var warmupEpochs = 0
    public var warmupStartFactor: Float = 0
    // linear
    public var startFactor: Float = 1
    public var endFactor: Float = 0.01
    public var totalIters: Int? = nil
    // inverse_time, natural_exp
    public var decayRate: Float = 0.5
    // cosine_restarts
    public var t0 = 10
    public var tMult = 1
    // cyclic
    public var maxLR: Float = 0.01
    public var stepSizeUp: Int? = nil
    public var cyclicMode = CyclicMode.triangular
    // one_cycle
    public var pctStart: Float = 0.3
    public var divFactor: Float = 25
    public var finalDivFactor: Float = 1e4
    public var linearAnneal = false
    public var threePhase = false
    // reduce_on_plateau
    public var monitor = "val_loss"
    public var factor: Float = 0.5
    public var patience = 2
    public var threshold: Double = 1e-4
    public var cooldown = 0
    public var minLR: Float = 0

    public init(kind: Kind) { self.kind = kind }

    init(_ r: ObjectReader) {
        kind = Kind(rawValue: r.choice("type", Kind.allCases.map(\.rawValue), default: "constant") ?? "") ?? .constant
        switch kind {
        case .constant: break
        case .step:
            stepSize = r.int("step_size", default: 10, check: .atLeast(1))
            gamma = r.float("gamma", default: 0.1, check: .positive)
        case .multistep:
            milestones = r.ints("milestones", default: [], check: .closed(1, 1_000_000)) ?? []
            if zip(milestones, milestones.dropFirst()).contains(where: { $0 >= $1 }) {
                r.diagnostics.error(r.childPath("milestones"), "expected increasing epoch numbers, got \(milestones)")
            }
            gamma = r.float("gamma", default: 0.1, check: .positive)
        case .linear:
            startFactor = r.float("start_factor", default: 1, check: .closed(0, 1000))
            endFactor = r.float("end_factor", default: 0.01, check: .closed(0, 1000))
            totalIters = r.optionalInt("total_iters", check: .atLeast(1))
        case .exponential:
            gamma = r.float("gamma", default: 0.95, check: .positive)
        case .inverseTime, .naturalExp:
            decayRate = r.float("decay_rate", default: kind == .inverseTime ? 0.5 : 0.1, check: .nonNegative)
        case .cosine:
            tMax = r.optionalInt("T_max", check: .atLeast(1))
            etaMin = r.float("eta_min", default: 0, check: .nonNegative)
        case .cosineRestarts:
            t0 = r.int("T_0", default: 10, check: .atLeast(1))
            tMult = r.int("T_mult", default: 1, check: .closed(1, 1000))
            etaMin = r.float("eta_min", default: 0, check: .nonNegative)
        case .cyclic:
            maxLR = r.float("max_lr", default: 0.01, check: .positive)
            stepSizeUp = r.optionalInt("step_size_up", check: .atLeast(1))
            cyclicMode = CyclicMode(rawValue: r.choice("mode", ["triangular", "triangular2", "exp_range"], default: "triangular") ?? "") ?? .triangular
            gamma = cyclicMode == .expRange ? r.float("gamma", default: 0.9999, check: .positive) : 1
        case .oneCycle:
            pctStart = r.float("pct_start", default: 0.3, check: .halfOpen(0, 1))
            divFactor = r.float("div_factor", default: 25, check: .positive)
            finalDivFactor = r.float("final_div_factor", default: 1e4, check: .positive)
            linearAnneal = r.choice("anneal_strategy", ["cos", "linear"], default: "cos") == "linear"
            threePhase = r.bool("three_phase", default: false)
        case .reduceOnPlateau:
            monitor = r.choice("monitor", ["val_loss", "val_accuracy", "loss", "accuracy"], default: "val_loss") ?? "val_loss"
            factor = r.float("factor", default: 0.5, check: .halfOpen(0, 1))
            patience = r.int("patience", default: 2, check: .closed(0, 1_000_000))
            threshold = r.double("threshold", default: 1e-4, check: .nonNegative)
            cooldown = r.int("cooldown", default: 0, check: .closed(0, 1_000_000))
            minLR = r.float("min_lr", default: 0, check: .nonNegative)
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
