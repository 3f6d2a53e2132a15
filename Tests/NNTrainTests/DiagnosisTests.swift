import NNCore
@testable import NNTrain
import Testing

// Each rule of `Diagnosis` on synthetic figures: it fires on its pattern and not on a healthy
// run. The rules on real runs are in Tests/CLITests/DiagnoseCLITests.swift.

/// Epochs with these training losses (and validation losses, accuracies when given).
func epochs(_ loss: [Double], val: [Double]? = nil, accuracy: [Double]? = nil) -> [RunFigures.Epoch] {
    loss.indices.map { i in
        RunFigures.Epoch(epoch: i + 1, loss: loss[i], accuracy: accuracy?[i], valLoss: val?[i], lr: 1e-3)
    }
}

/// A healthy run: a fast drop that flattens, validation close behind, accuracy well above chance.
let healthyEpochs = epochs([1.2, 0.7, 0.55, 0.5, 0.48, 0.47], val: [0.8, 0.65, 0.58, 0.56, 0.55, 0.55],
                           accuracy: [0.6, 0.75, 0.8, 0.82, 0.83, 0.83])

/// Steps every 10th step around a falling trend, with a relative wobble of ±`amplitude`.
func steps(count: Int, amplitude: Double) -> [RunFigures.Step] {
    (0..<count).map { i in
        let trend = 2.0 / (1 + Double(i) / 20)
        return RunFigures.Step(step: 10 * (i + 1), loss: trend * (1 + (i % 2 == 0 ? amplitude : -amplitude)))
    }
}

func codes(_ f: RunFigures) -> [String] { Diagnosis.findings(f).map(\.code) }

@Test func aHealthyRunIsHealthy() {
    let f = RunFigures(epochs: healthyEpochs, steps: steps(count: 60, amplitude: 0.05), classes: 10)
    #expect(codes(f) == ["healthy"])
    #expect(codes(RunFigures()) == ["healthy"])
}

@Test func lossRisingAboveTheFirstEpochIsLRTooHigh() {
    let f = RunFigures(epochs: epochs([2.3, 1.9, 2.8, 5.16]), classes: 10)
    let finding = Diagnosis.findings(f)[0]
    #expect(finding.code == "lr_too_high")
    #expect(finding.evidence["epoch"] == .number(3) && finding.evidence["loss"] == .number(2.8))
    // A loss that only wobbles within 5 % of the first epoch's is not a rise.
    #expect(!codes(RunFigures(epochs: epochs([2.0, 1.5, 2.08, 1.2]))).contains("lr_too_high"))
}

@Test func largeOscillationWithoutARiseIsLRTooHigh() {
    // Never above the first epoch, but up by 18 % and 48 % and 30 %: oscillation.
    let f = Diagnosis.findings(RunFigures(epochs: epochs([1.8, 0.95, 0.63, 0.42, 0.49, 0.72, 0.55, 0.715, 0.43]), classes: 10))
    #expect(f.map(\.code) == ["lr_too_high"], "\(f)")
    guard case .array(let rises)? = f[0].evidence["rises"] else { Issue.record("no rises"); return }
    #expect(rises.count == 3 && rises[0]["epoch"] == .number(5) && f[0].evidence["epoch"] == .number(6))
    // One bump is not an oscillation; nor are rises under 10 %.
    #expect(!codes(RunFigures(epochs: epochs([1.8, 0.95, 0.63, 0.42, 0.6, 0.4, 0.38]))).contains("lr_too_high"))
    #expect(!codes(RunFigures(epochs: epochs([1.8, 0.95, 0.63, 0.42, 0.45, 0.41, 0.44, 0.40]))).contains("lr_too_high"))
    // A rise where the lr rose too (warm restarts, warmup) is not counted.
    var restarts = epochs([1.8, 0.9, 0.6, 0.8, 0.5, 0.4, 0.6, 0.35])
    for i in restarts.indices { restarts[i].lr = [3, 6].contains(i) ? 0.1 : 0.01 }
    #expect(!codes(RunFigures(epochs: restarts)).contains("lr_too_high"))
    restarts[6].lr = 0.01
    #expect(!codes(RunFigures(epochs: restarts)).contains("lr_too_high"), "one rise left")
    restarts[3].lr = 0.01
    #expect(codes(RunFigures(epochs: restarts)).contains("lr_too_high"))
}

@Test func divergenceIsLRTooHighAndSaysWhetherTheLossRoseFirst() {
    let rose = RunFigures(steps: [.init(step: 10, loss: 2.3), .init(step: 20, loss: 9.5), .init(step: 30, loss: .nan)], diverged: true)
    let f = Diagnosis.findings(rose)
    #expect(f.map(\.code) == ["lr_too_high"])
    #expect(f[0].evidence["loss_rose_before"] == .bool(true) && f[0].evidence["diverged"] == .bool(true))
    let sudden = Diagnosis.findings(RunFigures(steps: [.init(step: 10, loss: 2.3), .init(step: 20, loss: 2.2)], diverged: true))
    #expect(sudden.map(\.code) == ["lr_too_high"] && sudden[0].evidence["loss_rose_before"] == .bool(false))
}

@Test func slowLinearDecreaseIsLRTooLow() {
    let f = RunFigures(epochs: epochs([2.86, 2.84, 2.82, 2.80, 2.78]), classes: 10)
    #expect(codes(f) == ["lr_too_low"])  // not also underfitting
    // Too few epochs, or a loss that hardly moves at all (flat: underfitting), or one that has
    // dropped far: not lr_too_low.
    #expect(!codes(RunFigures(epochs: epochs([2.86, 2.84]), classes: 10)).contains("lr_too_low"))
    #expect(codes(RunFigures(epochs: epochs([2.3026, 2.3025, 2.3025, 2.3024]), classes: 10)) == ["underfitting"])
    #expect(!codes(RunFigures(epochs: epochs([2.3, 1.5, 1.2, 1.1]), classes: 10)).contains("lr_too_low"))
    // A loss that goes up and down on the way is not the steady fall of a tiny lr.
    #expect(!codes(RunFigures(epochs: epochs([2.86, 2.80, 2.81, 2.78]))).contains("lr_too_low"))
}

@Test func highFlatLossOrChanceAccuracyIsUnderfitting() {
    let flat = RunFigures(epochs: epochs([2.0, 1.95, 1.95, 1.96], accuracy: [0.2, 0.25, 0.25, 0.25]), classes: 10)
    #expect(codes(flat) == ["underfitting"])
    let chance = RunFigures(epochs: epochs([1.5, 1.4, 1.2, 1.1], accuracy: [0.1, 0.1, 0.12, 0.14]), classes: 10)
    #expect(codes(chance) == ["underfitting"])
    // Regression (no classes) and short runs are never underfitting.
    #expect(codes(RunFigures(epochs: epochs([2.0, 1.95, 1.95, 1.96]))) == ["healthy"])
    #expect(codes(RunFigures(epochs: epochs([2.2, 2.1]), classes: 10)) == ["healthy"])
}

@Test func risingValidationLossWhileTrainingFallsIsOverfitting() {
    let f = RunFigures(epochs: epochs([2.3, 0.69, 0.35, 0.24, 0.15, 0.09], val: [1.29, 1.17, 1.15, 1.25, 1.36, 1.42]), classes: 10)
    let finding = Diagnosis.findings(f)
    #expect(finding.map(\.code) == ["overfitting"])
    #expect(finding[0].evidence["best_epoch"] == .number(3) && finding[0].evidence["last_epoch"] == .number(6))
    // Risen less than 10 % above the minimum: not yet.
    #expect(codes(RunFigures(epochs: epochs([2.3, 0.7, 0.35, 0.24], val: [1.3, 1.15, 1.2, 1.25]))) == ["healthy"])
    // Both rising: not overfitting (the training loss did not fall after the best epoch).
    #expect(!codes(RunFigures(epochs: epochs([1.0, 0.8, 0.9, 0.95], val: [1.0, 0.8, 0.95, 1.1]))).contains("overfitting"))
}

@Test func wideScatterAroundTheTrendIsANoisyBatch() {
    let noisy = RunFigures(epochs: healthyEpochs, steps: steps(count: 60, amplitude: 0.4), classes: 10)
    #expect(codes(noisy) == ["noisy_batch_too_small"])
    // 0.4 / row at 10 steps a row is a batch noise of 0.4·√10 ≈ 1.3; at 1 step a row, 0.4.
    let perStep = (0..<60).map { i in RunFigures.Step(step: i + 1, loss: 1 + (i % 2 == 0 ? 0.4 : -0.4)) }
    #expect(codes(RunFigures(epochs: healthyEpochs, steps: perStep, classes: 10)) == ["healthy"])
    // Fewer than 20 rows: no verdict.
    #expect(Diagnosis.batchNoise(Array(steps(count: 19, amplitude: 0.4))) == nil)
}

func layer(_ i: Int, _ type: String, std: Double, dead: Double? = nil, saturated: Double? = nil, epoch: Int = 3) -> RunFigures.Layer {
    RunFigures.Layer(epoch: epoch, layer: "layers.\(i)", type: type, actMean: 0, actStd: std, deadFraction: dead, saturatedFraction: saturated)
}

@Test func layerRulesReadTheLastEpoch() {
    let healthy = [layer(0, "flatten", std: 1), layer(1, "dense", std: 0.8, dead: 0.1), layer(2, "dense", std: 0.7, dead: 0.2),
                   layer(3, "dense", std: 3)]
    #expect(codes(RunFigures(epochs: healthyEpochs, layers: healthy, classes: 10)) == ["healthy"])

    let dead = [layer(1, "dense", std: 0.8, dead: 0.7, epoch: 2)] + [layer(1, "dense", std: 0.8, dead: 0.1), layer(2, "dense", std: 0.7, dead: 0.6),
                                                                     layer(3, "dense", std: 3)]
    let d = Diagnosis.findings(RunFigures(epochs: healthyEpochs, layers: dead, classes: 10))
    #expect(d.map(\.code) == ["dead_relu"])
    #expect(d[0].evidence["layers"] == .array([.object([("layer", .string("layers.2")), ("type", .string("dense")), ("dead_fraction", .number(0.6))])]))

    let saturated = [layer(1, "dense", std: 0.95, saturated: 0.8), layer(2, "dense", std: 0.9, saturated: 0.3), layer(3, "dense", std: 3)]
    #expect(codes(RunFigures(epochs: healthyEpochs, layers: saturated, classes: 10)) == ["saturation"])

    // The notes' tanh net with N(0, 0.01²): the std is gone by the fourth layer.
    let stds = [0.26, 0.041, 0.0065, 0.0011, 1.7e-4, 2.7e-5, 4.5e-6, 5.5e-6, 3.3e-5, 2.1e-4]
    let vanishing = [layer(0, "flatten", std: 1)] + stds.enumerated().map { layer($0 + 1, "dense", std: $1) } + [layer(11, "dense", std: 1e-4)]
    let v = Diagnosis.findings(RunFigures(epochs: healthyEpochs, layers: vanishing, classes: 10))
    #expect(v.map(\.code) == ["vanishing_activations"])
    #expect(v[0].evidence["layer"] == .string("layers.7") && v[0].evidence["first_layer"] == .string("layers.1"))

    let exploding = [layer(1, "dense", std: 1), layer(2, "dense", std: 4), layer(3, "dense", std: 15), layer(4, "dense", std: 1)]
    #expect(codes(RunFigures(epochs: healthyEpochs, layers: exploding, classes: 10)) == ["exploding_activations"])
    // The output layer's scale is not a hidden layer's: a large logit std alone is fine.
    let bigOutput = [layer(1, "dense", std: 1), layer(2, "dense", std: 1.2), layer(3, "dense", std: 5e3)]
    #expect(codes(RunFigures(epochs: healthyEpochs, layers: bigOutput, classes: 10)) == ["healthy"])
}

@Test func findingsSerializeAsCodeMessageEvidence() {
    let f = Diagnosis.findings(RunFigures(epochs: epochs([2.3, 1.9, 2.8])))[0]
    guard case .object(let pairs) = f.json else { Issue.record("not an object"); return }
    #expect(pairs.map(\.0) == ["code", "message", "evidence"])
    #expect(!f.message.isEmpty && !f.message.contains("\n"))
}

@Test func runFiguresReadDefensively() throws {
    let dir = scratchDirectory("figures")
    try FileIO.makeDirectories(dir)
    func write(_ name: String, _ text: String) throws { try FileIO.writeAtomically(dir + "/" + name, text: text) }
    try write("curves.csv", CurveRow.header + "\n1,10,0.001,2.5,0.3,2.4,0.35,0.1\n2,20,0.001,nan,,,,0.1\n3,30,0.001,1.")
    try write("steps.csv", RunFiles.stepsHeader + "\n10,1,0.001,2.6,1.5\n20,1,0.001,inf,\n")
    let f = try RunFigures.read(directory: dir, classes: 10, diverged: false)
    #expect(f.epochs.count == 2 && f.epochs[0] == RunFigures.Epoch(epoch: 1, loss: 2.5, accuracy: 0.3, valLoss: 2.4, valAccuracy: 0.35, lr: 0.001))
    #expect(f.epochs[1].loss.isNaN && f.epochs[1].valLoss == nil)  // the torn third line is left out
    #expect(f.steps.count == 2 && f.steps[1].loss == .infinity && f.steps[1].gradNorm == nil)
    #expect(f.layers.isEmpty)
    for garbage in ["", "a,b\n1,2\n", CurveRow.header + "\n1,10,0.001,x,,,,0\n", CurveRow.header + "\n1,10\n",
                    CurveRow.header + "\n-1,10,0.001,2,,,,0\n", CurveRow.header + "\n1.5,10,0.001,2,,,,0\n", "\u{0}\u{1}\n\u{ff}"] {
        try write("curves.csv", garbage)
        #expect(throws: DataError.self) { try RunFigures.read(directory: dir, classes: nil, diverged: false) }
    }
}

@Test func saturatedTanhUnitsAreCounted() throws {
    let rows = try diagnosticsRows(model: deepTanh(#"{"type": "normal", "std": 1.0}"#), name: "diag-saturated")
    // Column 6: saturated_fraction, for the tanh layers only.
    #expect(rows[0][6].isEmpty && rows[7][6].isEmpty)
    let fractions = rows[1...6].map { Double($0[6])! }
    #expect(fractions.allSatisfy { $0 > 0.5 }, "\(fractions)")
}
