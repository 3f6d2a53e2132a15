import NNCore
@testable import NNTrain
import Testing

/// A store with w [3, 4] (decaying) and b [3] (not decaying), as in make_fixtures.py.
func fixtureStore(_ initial: [Float]) -> ParameterStore {
    let w = Parameter(name: "w", value: Tensor(shape: [3, 4], scalars: Array(initial[0..<12])), decays: true, rows: 3)
    let b = Parameter(name: "b", value: Tensor(shape: [3], scalars: Array(initial[12..<15])), decays: false)
    return ParameterStore([w, b])
}

/// Builds our optimizer and gradient transform from a fixture's "ours" object.
func makeOptimizer(_ ours: JSONValue) throws -> (any Optimizer, Float, GradientTransform) {
    var pairs = ours.objectValue ?? []
    let l2 = pairs.first { $0.0 == "l2" }?.1.doubleValue ?? 0
    pairs.removeAll { $0.0 == "l2" }
    let d = Diagnostics()
    let r = ObjectReader(path: "$.optimizer", value: .object(pairs), diagnostics: d)
    let config = OptimizerConfig(r)
    #expect(d.errors.isEmpty, "\(d.errors)")
    return (config.makeOptimizer(parameterCount: 15), config.lr, GradientTransform(l2: Float(l2)))
}

@Test(arguments: ["sgd", "sgd_momentum", "sgd_dampening", "sgd_nesterov", "sgd_momentum_l2",
                  "adam", "adam_betas", "adam_amsgrad", "adam_l2", "adamw", "nadam", "nadam_decay",
                  "adagrad", "adagrad_decay", "rmsprop", "rmsprop_centered_momentum", "adadelta", "adadelta_lr"])
func optimizerFollowsTorchTrajectory(name: String) throws {
    let ref = try loadTorchReference()
    let c = try #require(ref["optimizers"]?.arrayValue?.first { $0["name"]?.stringValue == name })
    let store = fixtureStore(floats(c["initial"]))
    let (opt, lr, transform) = try makeOptimizer(c["ours"]!)
    let grads = c["grads"]!.arrayValue!.map(floats)
    let expected = c["trajectory"]!.arrayValue!.map(floats)
    #expect(grads.count >= 20)
    for (step, g) in grads.enumerated() {
        for i in 0..<15 { store.grads.base[i] = g[i] }
        opt.step(store, lr: lr, transform: transform)
        let got = store.snapshot()
        for i in 0..<15 {
            #expect(abs(got[i] - expected[step][i]) <= 1e-5 * max(1, abs(expected[step][i])),
                    "\(name) step \(step + 1) element \(i): \(got[i]) vs torch \(expected[step][i])")
        }
    }
}

@Test func adamFirstStepIsLearningRateTimesSign() {
    let store = fixtureStore((0..<15).map { Float($0) / 10 })
    let before = store.snapshot()
    let g: [Float] = (0..<15).map { $0 % 3 == 0 ? -0.3 : 2.5 }
    for i in 0..<15 { store.grads.base[i] = g[i] }
    Adam(count: 15).step(store, lr: 0.01, transform: GradientTransform())
    let after = store.snapshot()
    for i in 0..<15 { #expect(abs((before[i] - after[i]) - 0.01 * (g[i] > 0 ? 1 : -1)) < 1e-6) }
}

@Test(arguments: [OptimizerConfig.Kind.sgd, .adamw])
func withZeroGradientsOnlyDecayingParametersMove(kind: OptimizerConfig.Kind) {
    let store = fixtureStore([Float](repeating: 1, count: 15))
    var c = OptimizerConfig(kind: kind, lr: 0.1)
    c.weightDecay = 0.5
    c.makeOptimizer(parameterCount: 15).step(store, lr: 0.1, transform: GradientTransform())
    let v = store.snapshot()
    // w ← w − lr·wd·w = 1 − 0.05 for the weight; the bias does not decay.
    for i in 0..<12 { #expect(abs(v[i] - 0.95) < 1e-6) }
    for i in 12..<15 { #expect(v[i] == 1) }
}

@Test func l1AndClippingTransformTheGradient() {
    let t = GradientTransform(scale: 0.5, clipValue: 1, l2: 0.1, l1: 0.01)
    // 4·0.5 = 2 → clamp 1 → + 0.1·(−2) + 0.01·sign(−2)
    #expect(abs(t.apply(4, -2, decays: true) - (1 - 0.2 - 0.01)) < 1e-7)
    #expect(t.apply(4, -2, decays: false) == 1)
}

@Test func maxNormCapsEachUnitsFanIn() {
    let store = fixtureStore([3, 4, 0, 0, 0.3, 0.4, 0, 0, 6, 8, 0, 0, 10, 10, 10])
    applyMaxNorm(store, 2)
    let v = store.snapshot()
    #expect(abs(v[0] - 1.2) < 1e-6 && abs(v[1] - 1.6) < 1e-6)      // norm 5 → 2
    #expect(abs(v[4] - 0.3) < 1e-7 && abs(v[5] - 0.4) < 1e-7)      // norm 0.5 stays
    #expect(abs(v[8] - 1.2) < 1e-6 && abs(v[9] - 1.6) < 1e-6)      // norm 10 → 2
    #expect(Array(v[12...]) == [10, 10, 10])                       // biases untouched
}

@Test func gradientNormOfTheWholeStore() {
    let store = fixtureStore([Float](repeating: 0, count: 15))
    for i in 0..<15 { store.grads.base[i] = i == 0 ? 3 : (i == 14 ? 4 : 0) }
    #expect(abs(store.gradientNorm() - 5) < 1e-9)
    #expect(store.gradientsAreFinite())
    store.grads.base[3] = .nan
    #expect(!store.gradientsAreFinite())
}

@Test func frozenParametersStayBitIdenticalAndLrMultScales() {
    let store = fixtureStore((0..<15).map { Float($0) / 7 })
    store.parameters[0].lrScale = 0  // frozen weight
    let frozen = ParameterStore([store.parameters[0]])
    _ = frozen
    let before = store.snapshot()
    let w = Parameter(name: "w", value: Tensor(shape: [3, 4], scalars: Array(before[0..<12])), decays: true, rows: 3)
    w.lrScale = 0
    let b = Parameter(name: "b", value: Tensor(shape: [3], scalars: Array(before[12..<15])), decays: false)
    b.lrScale = 0.5
    let s2 = ParameterStore([w, b])
    for i in 0..<15 { s2.grads.base[i] = 1 }
    var c = OptimizerConfig(kind: .adamw, lr: 0.1)
    c.weightDecay = 0.3
    let opt = c.makeOptimizer(parameterCount: 15)
    for _ in 0..<5 { opt.step(s2, lr: 0.1, transform: GradientTransform(clipValue: 0.5, l2: 0.1, l1: 0.1)) }
    applyMaxNorm(s2, 0.01)
    let after = s2.snapshot()
    for i in 0..<12 { #expect(after[i].bitPattern == before[i].bitPattern) }
    // Adam moves by about lr·lr_mult per step with a constant gradient: 5 · 0.05.
    for i in 12..<15 { #expect(abs((before[i] - after[i]) - 0.25) < 1e-3) }
}

@Test func penalizeBiasesDecaysEveryParameter() throws {
    let d = Diagnostics()
    let m = ModelConfig(ObjectReader(path: "$.model", value: try JSONValue.parse(#"{"input": [3], "layers": [{"type": "dense", "units": 2}, {"type": "batch_norm"}]}"#), diagnostics: d), baseDirectory: "/")
    #expect(Model(config: m, seed: 1).parameters.map(\.decays) == [true, false, false, false])
    let all = Model(config: m, seed: 1, penalizeAll: true).parameters.map(\.decays)
    #expect(all == [true, true, true, true])
}
