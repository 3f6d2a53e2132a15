import NNCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The learning rate as a pure function of (epoch, step): printable and testable.
///
/// With `warmup_epochs` W > 0 and S steps per epoch, global step s < W·S uses
/// `lr = base · (f + (1 − f)·(s + 1)/(W·S))` (f = `warmup_start_factor`); afterwards the main
/// schedule runs on t = epoch − W, so it starts from its peak when the warmup ends:
/// - constant: `base`
/// - step: `base · gamma^⌊t / step_size⌋` (torch StepLR)
/// - multistep: `base · gamma^(number of milestones ≤ t)` (torch MultiStepLR)
/// - exponential: `base · gamma^t` (torch ExponentialLR)
/// - cosine: `eta_min + (base − eta_min)·(1 + cos(π·t/T))/2`, T = `T_max` (default: epochs − W)
///   (torch CosineAnnealingLR stepped once per epoch; as there, past T the rate rises again)
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
        let warmupSteps = config.warmupEpochs * stepsPerEpoch
        if step < warmupSteps {
            let f = Double(config.warmupStartFactor)
            return Float(Double(baseLR) * (f + (1 - f) * Double(step + 1) / Double(warmupSteps)))
        }
        let t = max(0, epoch - config.warmupEpochs)
        let base = Double(baseLR), gamma = Double(config.gamma)
        switch config.kind {
        case .constant:
            return baseLR
        case .step:
            return Float(base * pow(gamma, Double(t / config.stepSize)))
        case .multistep:
            return Float(base * pow(gamma, Double(config.milestones.filter { $0 <= t }.count)))
        case .exponential:
            return Float(base * pow(gamma, Double(t)))
        case .cosine:
            let T = Double(config.tMax ?? max(1, epochs - config.warmupEpochs))
            let floor = Double(config.etaMin)
            return Float(floor + (base - floor) * (1 + cos(Double.pi * Double(t) / T)) / 2)
        }
    }

    /// The rate at the first step of an epoch (what `validate` previews).
    public func learningRate(atEpochStart epoch: Int) -> Float {
        learningRate(epoch: epoch, step: epoch * stepsPerEpoch)
    }
}
