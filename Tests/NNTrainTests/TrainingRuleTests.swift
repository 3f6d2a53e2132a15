import NNCore
@testable import NNTrain
import Testing

// The training rules as values (issue 18): Metric, EarlyStopping, ReduceLROnPlateau, the
// optimizer and schedule enums, the balanced class weights.

private func reader(_ json: String, _ path: String) throws -> (ObjectReader, Diagnostics) {
    let d = Diagnostics()
    return (ObjectReader(path: path, value: try JSONValue.parse(json), diagnostics: d), d)
}

@Test func metricNamesAndDirections() {
    #expect(Metric.names == ["val_loss", "val_accuracy", "loss", "accuracy"])
    #expect(Metric.allCases.filter(\.maximize) == [.valAccuracy, .accuracy])
    #expect(Metric.allCases.filter(\.needsValidation) == [.valLoss, .valAccuracy])
    #expect("\(Metric.valAccuracy)" == "val_accuracy")
    let row = CurveRow(epoch: 1, step: 5, lr: 0.1, loss: 2, accuracy: 0.5, valLoss: 3, valAccuracy: 0.25, seconds: 0)
    #expect(Metric.allCases.map { row.metric($0) } == [3, 0.25, 2, 0.5])
}

@Test func earlyStoppingFollowsKeras() {
    let config = EarlyStoppingConfig(monitor: .valLoss, patience: 2, minDelta: 0.1, restoreBest: true)
    let rule = EarlyStopping(config, hasValidation: true)
    var state = TrainerState()
    // 1.0 (best), 0.95 (not better by more than 0.1: wait 1), 0.85 (better: wait 0), NaN (ignored),
    // 0.8 (wait 1), 0.9 (wait 2: stop).
    let values: [Double] = [1.0, 0.95, 0.85, .nan, 0.8, 0.9]
    let improved = values.enumerated().map { rule.update(&state, value: $1, epoch: $0 + 1) }
    #expect(improved == [true, false, true, false, false, false])
    #expect(state.best == 0.85 && state.bestEpoch == 3 && state.wait == 2)
    #expect(rule.shouldStop(state))
    // Accuracies are maximised; mode "min" turns that round.
    let acc = EarlyStopping(EarlyStoppingConfig(monitor: .accuracy, patience: 0, minDelta: 0, restoreBest: false), hasValidation: false)
    var s2 = TrainerState()
    #expect(acc.update(&s2, value: 0.5, epoch: 1) && acc.update(&s2, value: 0.6, epoch: 2) && !acc.update(&s2, value: 0.55, epoch: 3))
    #expect(acc.shouldStop(s2))  // patience 0: the first epoch without improvement stops
    let min = EarlyStopping(EarlyStoppingConfig(monitor: .accuracy, patience: 1, minDelta: 0, restoreBest: false, mode: "min"), hasValidation: false)
    var s3 = TrainerState()
    #expect(min.update(&s3, value: 0.5, epoch: 1) && min.update(&s3, value: 0.4, epoch: 2))
}

@Test func withoutEarlyStoppingTheBestEpochIsKeptButTheRunNeverStops() {
    let rule = EarlyStopping(nil, hasValidation: true)
    #expect(rule.monitor == .valLoss && !rule.maximize && rule.patience == nil && !rule.restoreBest)
    #expect(EarlyStopping(nil, hasValidation: false).monitor == .loss)
    var state = TrainerState()
    for (i, v) in [1.0, 2, 3, 4, 5].enumerated() { _ = rule.update(&state, value: v, epoch: i + 1) }
    #expect(state.bestEpoch == 1 && state.wait == 4 && !rule.shouldStop(state))
}

@Test func reduceOnPlateauLowersTheRateAfterPatienceAndCoolsDown() {
    var rule = ReduceLROnPlateau()
    rule.monitor = .valAccuracy; rule.factor = 0.5; rule.patience = 1; rule.cooldown = 1; rule.minLR = 0.02
    var s = ReduceLROnPlateau.State()
    // An accuracy must rise above best·(1 + 1e-4).
    for v in [0.5, 0.5, 0.5] { rule.update(&s, value: v, baseLR: 0.1) }
    #expect(s.scale == 0.5 && s.cooldownLeft == 1 && s.badEpochs == 0)
    rule.update(&s, value: 0.5, baseLR: 0.1)   // cooldown: not counted
    #expect(s.scale == 0.5 && s.cooldownLeft == 0 && s.badEpochs == 0)
    for v in [0.5, 0.5] { rule.update(&s, value: v, baseLR: 0.1) }
    #expect(abs(s.scale - 0.25) < 1e-12)     // 0.05·0.5 = 0.025
    for v in [0.5, 0.5, 0.5] { rule.update(&s, value: v, baseLR: 0.1) }
    let floor = Double(rule.minLR) / Double(Float(0.1))
    #expect(s.scale == floor)                // max(0.025·0.5, min_lr 0.02) / 0.1: the floor
    for v in [0.5, 0.5, 0.5] { rule.update(&s, value: v, baseLR: 0.1) }
    #expect(s.scale == floor)                // at min_lr: no change
}

@Test func optimizerConfigReadsOneRuleWithItsValues() throws {
    func rule(_ json: String) throws -> OptimizerConfig {
        let (r, d) = try reader(json, "$.optimizer")
        let c = OptimizerConfig(r)
        #expect(d.errors.isEmpty, "\(d.errors)")
        return c
    }
    #expect(try rule(#"{"type": "sgd", "momentum": 0.9, "nesterov": true}"#).rule == .sgd(SGD.Hyperparameters(momentum: 0.9, nesterov: true)))
    let adamw = try rule(#"{"type": "adamw", "betas": [0.8, 0.99], "amsgrad": true}"#)
    #expect(adamw.rule == .adamw(Adam.Hyperparameters(beta1: 0.8, beta2: 0.99, amsgrad: true)))
    #expect(adamw.lr == 0.001 && adamw.weightDecay == 0.01 && adamw.kind == .adamw)
    #expect(try rule(#"{"type": "nadam"}"#).rule == .nadam(NAdam.Hyperparameters()))
    #expect(try rule(#"{"type": "nadam"}"#).lr == 0.002)
    #expect(try rule(#"{"type": "adagrad", "lr_decay": 0.1}"#).rule == .adagrad(Adagrad.Hyperparameters(lrDecay: 0.1)))
    #expect(try rule(#"{"type": "rmsprop", "centered": true}"#).rule == .rmsprop(RMSprop.Hyperparameters(centered: true)))
    let adadelta = try rule(#"{"type": "adadelta", "rho": 0.8}"#)
    #expect(adadelta.rule == .adadelta(Adadelta.Hyperparameters(rho: 0.8)) && adadelta.lr == 1)
    // The optimizer built from it carries the same values.
    let opt = try #require(adamw.makeOptimizer(parameterCount: 3) as? Adam)
    #expect(opt.hyperparameters.beta1 == 0.8 && opt.weightDecay == 0.01 && opt.stateBuffers.map { $0.0 } == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"])
}

@Test func scheduleConfigReadsOneScheduleWithItsValues() throws {
    func config(_ json: String) throws -> ScheduleConfig {
        let (r, d) = try reader(json, "$.schedule")
        let c = ScheduleConfig(r)
        #expect(d.errors.isEmpty, "\(d.errors)")
        return c
    }
    #expect(try config("{}") == ScheduleConfig(.constant))
    #expect(try config(#"{"type": "step", "step_size": 3}"#).rule == .step(stepSize: 3, gamma: 0.1))
    #expect(try config(#"{"type": "natural_exp"}"#).rule == .naturalExp(decayRate: 0.1))
    #expect(try config(#"{"type": "inverse_time"}"#).rule == .inverseTime(decayRate: 0.5))
    #expect(try config(#"{"type": "cyclic", "mode": "exp_range"}"#).rule == .cyclic(maxLR: 0.01, stepSizeUp: nil, mode: .expRange, gamma: 0.9999))
    #expect(try config(#"{"type": "cyclic"}"#).rule == .cyclic(maxLR: 0.01, stepSizeUp: nil, mode: .triangular, gamma: 1))
    let warm = try config(#"{"type": "cosine", "T_max": 5, "warmup_epochs": 2, "warmup_start_factor": 0.1}"#)
    #expect(warm == ScheduleConfig(.cosine(tMax: 5, etaMin: 0), warmupEpochs: 2, warmupStartFactor: 0.1))
    let plateau = try config(#"{"type": "reduce_on_plateau", "monitor": "accuracy", "patience": 4}"#)
    #expect(plateau.kind == .reduceOnPlateau && plateau.plateau?.monitor == .accuracy && plateau.plateau?.patience == 4)
    #expect(warm.plateau == nil)
}

@Test func balancedClassWeightsAreNOverKTimesTheClassCount() {
    // 6 examples of 3 classes: 3, 2, 1 (and a label past the last class counts as the last).
    #expect(balancedClassWeights(labels: [0, 0, 0, 1, 1, 2], classes: 3) == [Float(6.0 / 9), 1, 2])
    #expect(balancedClassWeights(labels: [0, 0, 7, 2], classes: 4) == [0.5, 0, 1, 1])
}
