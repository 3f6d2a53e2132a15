import NNCore
import NNTestSupport
@testable import NNTrain
import Testing

// Softsign is the example of adding a layer: Sources/NNTrain/Layers/Softsign.swift and one line
// in `LayerSpec.kinds`.

@Test func softsignMatchesFiniteDifferences() {
    let layer = Softsign(name: "s", inputShape: [2, 3])
    let report = checkGradients(of: layer, input: randomTensor([3, 2, 3], seed: 5, low: -3, high: 3))
    #expect(report.worstError < 1e-3, "\(report)")
    #expect(report.checked == 18)
}

@Test func softsignFollowsItsFormula() {
    let layer = Softsign(name: "s", inputShape: [4])
    layer.allocate(maxBatch: 1)
    let x: [Float] = [0, 1, -3, 9]
    let y = layer.forward(Tensor(shape: [1, 4], scalars: x), mode: .training)
    #expect(y.scalars == [0, 0.5, -0.75, 0.9])  // x / (1 + |x|)
    let dx = layer.backward(Tensor(shape: [1, 4], scalars: [1, 1, 2, 1]), needsInputGradient: true)!
    #expect(dx.scalars == [1, 0.25, 0.125, 0.01])  // dy / (1 + |x|)²
}

@Test func aConfigWithSoftsignValidatesAndTrains() throws {
    let text = subsetConfig(epochs: 3).replacing(#"{"type": "dense", "units": 32, "activation": "relu"}"#,
                                                 with: #"{"type": "dense", "units": 32}, {"type": "softsign"}"#)
    let config = try readConfig(text)
    #expect(config.warnings.isEmpty, "\(config.warnings)")
    #expect(config.model.layers[2].typeName == "softsign")
    #expect(config.resolved["model"]?["layers"]?.arrayValue?[2] == .object([("type", .string("softsign"))]))
    let plan = ModelPlan(config: config)
    #expect(plan.errors.isEmpty && plan.rows[2].description == "softsign" && plan.rows[2].outputShape == [32])
    let (result, dir) = try runExperiment(text, name: "softsign")
    let losses = try curvesWithoutSeconds(dir).dropFirst().map { Double($0.split(separator: ",")[3])! }
    #expect(losses.last! < losses.first! * 0.9, "\(losses)")
    #expect((result.outcome.testAccuracy ?? 0) > 0.6)
}

@Test func aFinalSoftsignBeforeCrossEntropyIsWarnedAbout() throws {
    let text = subsetConfig().replacing(#"{"type": "dense", "units": 10}"#, with: #"{"type": "dense", "units": 10}, {"type": "softsign"}"#)
    let warnings = try readConfig(text).warnings.map(\.description)
    #expect(warnings == ["$.model.layers.4: cross_entropy applies softmax to the raw scores itself; a final softsign distorts them. Remove this layer"])
}

@Test func softsignTakesNoKeys() {
    let text = subsetConfig().replacing(#"{"type": "dropout", "rate": 0.1}"#, with: #"{"type": "softsign", "rate": 0.1}"#)
    #expect(configProblems(text) == [#"$.model.layers.2.rate: unknown key; known keys here: type"#])
}
