import NNCore


/// The learning rate as a pure function of (epoch, step): printable and testable.
///
/// lr below is `optimizer.lr`. With `warmup_epochs` W > 0 and S steps per epoch, global step
/// s < W·S uses `lr · (f + (1 − f)·(s + 1)/(W·S))` (f = `warmup_start_factor`); afterwards the
/// schedule runs on t = epoch − W (and s' = s − W·S), so it starts from its peak:
/// - constant: `lr`
/// - step: `lr · γ^⌊t/step_size⌋` (StepLR); multistep: `lr · γ^#{milestones ≤ t}` (MultiStepLR)
/// - linear: `lr · (a + (b − a)·min(t, τ)/τ)`, a = start_factor, b = end_factor, τ = total_iters
///   (default: the epochs after warmup) (LinearLR)
/// - exponential: `lr · γᵗ` (ExponentialLR); inverse_time: `lr / (1 + β·t)`;
///   natural_exp: `lr · e^(−β·t)` (β = decay_rate)
/// - cosine: `η + (lr − η)(1 + cos(π·t/T))/2`, T = T_max (CosineAnnealingLR)
/// - cosine_restarts: the same within each period; periods T₀, T₀·T_mult, … (SGDR,
///   CosineAnnealingWarmRestarts, stepped per epoch)
/// - cyclic: per step, `lr + (max_lr − lr)·max(0, 1 − x)·scale`, x = |s'/u − 2c + 1|,
///   c = ⌊1 + s'/(2u)⌋, u = step_size_up (default 2 epochs); scale 1 (triangular),
///   1/2^(c−1) (triangular2) or γ^s' (exp_range) (CyclicLR)
/// - one_cycle: per step over the whole run, from max_lr/div_factor up to max_lr (= `lr`) for
///   pct_start of the steps, then down to max_lr/(div_factor·final_div_factor), cosine or
///   linear (OneCycleLR)
/// - reduce_on_plateau: `lr` times the scale of `ReduceLROnPlateau`, which the trainer keeps
public struct LearningRateSchedule: Sendable, Equatable {
    public var config: ScheduleConfig
    public var baseLR: Float
    public var epochs: Int
    public var stepsPerEpoch: Int

    public init(config: ScheduleConfig, baseLR: Float, epochs: Int, stepsPerEpoch: Int) {
        self.config = config
        self.baseLR = baseLR
        self.epochs = epochs
        self.stepsPerEpoch = max(1, stepsPerEpoch)
    }

    /// Learning rate for the step `step` (0-based, counted over the whole run) of `epoch` (0-based).
    public func learningRate(epoch: Int, step: Int) -> Float {
        let c = config
        let warmupSteps = c.warmupEpochs * stepsPerEpoch
        if step < warmupSteps {
            let f = Double(c.warmupStartFactor)
            return Float(Double(baseLR) * (f + (1 - f) * Double(step + 1) / Double(warmupSteps)))
        }
        let t = max(0, epoch - c.warmupEpochs)
        let s = step - warmupSteps
        let base = Double(baseLR)
        let mainEpochs = max(1, epochs - c.warmupEpochs)
        switch c.rule {
        case .constant, .reduceOnPlateau:
            return baseLR
        case .step(let stepSize, let gamma):
            return Float(base * pow(Double(gamma), Double(t / stepSize)))
        case .multistep(let milestones, let gamma):
            return Float(base * pow(Double(gamma), Double(milestones.filter { $0 <= t }.count)))
        case .linear(let startFactor, let endFactor, let totalIters):
            let tau = Double(totalIters ?? mainEpochs)
            let a = Double(startFactor), b = Double(endFactor)
            return Float(base * (a + (b - a) * min(Double(t), tau) / tau))
        case .exponential(let gamma):
            return Float(base * pow(Double(gamma), Double(t)))
        case .inverseTime(let decayRate):
            return Float(base / (1 + Double(decayRate) * Double(t)))
        case .naturalExp(let decayRate):
            return Float(base * exp(-Double(decayRate) * Double(t)))
        case .cosine(let tMax, let etaMin):
            let T = Double(tMax ?? mainEpochs)
            let floor = Double(etaMin)
            return Float(floor + (base - floor) * (1 + cos(Double.pi * Double(t) / T)) / 2)
        case .cosineRestarts(let t0, let tMult, let etaMin):
            var tCur = t, tI = t0
            while tCur >= tI { tCur -= tI; tI *= tMult }
            let floor = Double(etaMin)
            return Float(floor + (base - floor) * (1 + cos(Double.pi * Double(tCur) / Double(tI))) / 2)
        case .cyclic(let maxLR, let stepSizeUp, let mode, let gamma):
            let u = Double(stepSizeUp ?? 2 * stepsPerEpoch)
            let it = Double(s)
            let cycle = (1 + it / (2 * u)).rounded(.down)
            let x = abs(it / u - 2 * cycle + 1)
            let scale: Double
            switch mode {
            case .triangular: scale = 1
            case .triangular2: scale = 1 / pow(2, cycle - 1)
            case .expRange: scale = pow(Double(gamma), it)
            }
            return Float(base + (Double(maxLR) - base) * max(0, 1 - x) * scale)
        case .oneCycle(let c):
            return oneCycle(c, step: s, total: mainEpochs * stepsPerEpoch)
        }
    }

    /// torch.optim.lr_scheduler.OneCycleLR with max_lr = `lr`.
    func oneCycle(_ c: OneCycle, step: Int, total: Int) -> Float {
        let maxLR = Double(baseLR)
        let initial = maxLR / Double(c.divFactor)
        let minLR = initial / Double(c.finalDivFactor)
        let pct = Double(c.pctStart), n = Double(total)
        // The phases (last step, rate from, rate to), without an array: a step allocates nothing.
        let phases = c.threePhase ? 3 : 2
        func phase(_ i: Int) -> (end: Double, from: Double, to: Double) {
            switch i {
            case 0: return (pct * n - 1, initial, maxLR)
            case 1 where phases == 3: return (2 * pct * n - 2, maxLR, initial)
            case 1: return (n - 1, maxLR, minLR)
            default: return (n - 1, initial, minLR)
            }
        }
        var start = 0.0
        let x = Double(min(step, total - 1))
        for i in 0..<phases {
            let p = phase(i)
            if x <= p.end || i == phases - 1 {
                let f = p.end > start ? (x - start) / (p.end - start) : 1
                if c.linearAnneal { return Float((p.to - p.from) * f + p.from) }
                return Float(p.to + (p.from - p.to) / 2 * (cos(Double.pi * f) + 1))
            }
            start = p.end
        }
        return Float(minLR)
    }

    /// The rate at the first step of an epoch (what `validate` previews).
    public func learningRate(atEpochStart epoch: Int) -> Float {
        learningRate(epoch: epoch, step: epoch * stepsPerEpoch)
    }
}
