import NNCore
@testable import NNTrain
import Testing

func schedule(_ json: String, epochs: Int, steps: Int = 1, lr: Float = 0.1) throws -> LearningRateSchedule {
    let d = Diagnostics()
    let c = ScheduleConfig(ObjectReader(path: "$.schedule", value: try JSONValue.parse(json), diagnostics: d))
    #expect(d.errors.isEmpty, "\(d.errors)")
    return LearningRateSchedule(config: c, baseLR: lr, epochs: epochs, stepsPerEpoch: steps)
}

@Test(arguments: ["step", "multistep", "exponential", "cosine", "cosine_tmax", "linear", "inverse_time",
                  "natural_exp", "cosine_restarts"])
func scheduleMatchesTorchScheduler(name: String) throws {
    let ref = try loadTorchReference()
    let c = try #require(ref["schedules"]?.arrayValue?.first { $0["name"]?.stringValue == name })
    let epochs = Int(c["epochs"]!.doubleValue!)
    let s = try schedule(c["ours"]!.serialized(), epochs: epochs, steps: 7, lr: Float(c["lr"]!.doubleValue!))
    for (e, v) in floats(c["values"]).enumerated() {
        #expect(abs(s.learningRate(atEpochStart: e) - v) < 1e-7 * max(1, v * 10), "\(name) epoch \(e): \(s.learningRate(atEpochStart: e)) vs torch \(v)")
        // constant within the epoch
        #expect(s.learningRate(epoch: e, step: e * 7 + 6) == s.learningRate(atEpochStart: e))
    }
}

@Test(arguments: [(0, 0.01), (9, 0.1), (10, 0.1), (29, 0.1)])
func warmupRampsLinearlyPerStep(step: Int, expected: Double) throws {
    // 2 warmup epochs × 5 steps = 10 warmup steps; then the constant rate.
    let s = try schedule(#"{"type": "constant", "warmup_epochs": 2}"#, epochs: 6, steps: 5)
    #expect(abs(Double(s.learningRate(epoch: step / 5, step: step)) - expected) < 1e-7)
}

@Test func cosineStartsAfterWarmupAndEndsAtTheFloor() throws {
    let s = try schedule(#"{"type": "cosine", "warmup_epochs": 2, "eta_min": 0.001}"#, epochs: 12, steps: 4)
    #expect(s.learningRate(epoch: 0, step: 0) == 0.1 / 8)
    #expect(abs(s.learningRate(atEpochStart: 2) - 0.1) < 1e-7)      // peak right after warmup
    #expect(abs(s.learningRate(atEpochStart: 7) - 0.0505) < 1e-6)   // half way: (0.1 + 0.001)/2
    #expect(abs(s.learningRate(atEpochStart: 12) - 0.001) < 1e-7)   // t = T: the floor
}

@Test func warmupStartFactorSetsTheFirstRate() throws {
    let s = try schedule(#"{"type": "constant", "warmup_epochs": 1, "warmup_start_factor": 0.5}"#, epochs: 3, steps: 10)
    #expect(abs(s.learningRate(epoch: 0, step: 0) - 0.1 * (0.5 + 0.5 / 10)) < 1e-7)
    #expect(abs(s.learningRate(epoch: 0, step: 9) - 0.1) < 1e-7)
}

@Test(arguments: ["cyclic", "cyclic_triangular2", "cyclic_exp_range", "one_cycle", "one_cycle_linear_three_phase"])
func perStepScheduleMatchesTorch(name: String) throws {
    let ref = try loadTorchReference()
    let c = try #require(ref["schedules"]?.arrayValue?.first { $0["name"]?.stringValue == name })
    let steps = Int(c["steps_per_epoch"]!.doubleValue!)
    let s = try schedule(c["ours"]!.serialized(), epochs: Int(c["epochs"]!.doubleValue!), steps: steps,
                         lr: Float(c["lr"]!.doubleValue!))
    for (i, v) in floats(c["per_step"]).enumerated() {
        let got = s.learningRate(epoch: i / steps, step: i)
        #expect(abs(got - v) <= 1e-6 * max(v, 1e-3) * 10, "\(name) step \(i): \(got) vs torch \(v)")
    }
}

@Test func reduceOnPlateauMatchesTorch() throws {
    let c = try loadTorchReference()["plateau"]!
    let d = Diagnostics()
    let config = ScheduleConfig(ObjectReader(path: "$.schedule", value: c["ours"]!, diagnostics: d))
    #expect(d.errors.isEmpty)
    let plateau = try #require(config.plateau)
    var state = ReduceLROnPlateau.State()
    let lr = Float(c["lr"]!.doubleValue!)
    for (v, expected) in zip(floats(c["values"]), floats(c["lr_after"])) {
        plateau.update(&state, value: Double(v), baseLR: lr)
        #expect(abs(Float(Double(lr) * state.scale) - expected) < 1e-7, "after \(v)")
    }
}
