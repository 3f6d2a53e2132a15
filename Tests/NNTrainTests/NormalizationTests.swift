import NNCore
import NNTestSupport
@testable import NNTrain
import Testing

@Test(arguments: [[6], [3, 2, 2]])
func batchNormInTrainingMatchesFiniteDifferences(shape: [Int]) {
    let layer = BatchNorm(name: "bn", inputShape: shape)
    let report = checkGradients(of: layer, input: randomTensor([5] + shape, seed: 3, low: -2, high: 2), h: 1e-2)
    #expect(report.worstError < 2e-3, "\(report)")
}

@Test(arguments: [[7], [2, 2, 3]])
func layerNormMatchesFiniteDifferences(shape: [Int]) {
    let layer = LayerNorm(name: "ln", inputShape: shape)
    _ = ParameterStore(layer.parameters)
    var rng = Xoshiro256(seed: 1, streamID: 3)
    for p in layer.parameters { for i in 0..<p.value.count { p.value.pointer[i] += rng.uniform(-0.5, 0.5) } }
    let report = checkGradients(of: layer, input: randomTensor([4] + shape, seed: 5, low: -2, high: 2))
    #expect(report.worstError < 2e-3, "\(report)")
}

@Test func localResponseNormMatchesFiniteDifferences() {
    let layer = LocalResponseNorm(name: "lrn", inputShape: [5, 2, 2], size: 3, alpha: 0.5, beta: 0.75, k: 1)
    let report = checkGradients(of: layer, input: randomTensor([2, 5, 2, 2], seed: 8, low: -2, high: 2))
    #expect(report.worstError < 1e-3, "\(report)")
}

@Test func weightNormDenseMatchesFiniteDifferences() {
    var rng = Xoshiro256(seed: 2, stream: .initialization)
    let layer = Dense(name: "wn", inFeatures: 5, outFeatures: 3, activation: .tanh, initialization: .xavierUniform(gain: 1),
                      weightNorm: true, rng: &rng)
    #expect(layer.parameters.map(\.name) == ["wn.weight_g", "wn.weight_v", "wn.bias"])
    let report = checkGradients(of: layer, input: randomTensor([4, 5], seed: 2))
    #expect(report.worstError < 1e-3, "\(report)")
}

@Test func residualBlockMatchesFiniteDifferences() {
    var rng = Xoshiro256(seed: 2, stream: .initialization)
    let same = Residual(name: "r", inputShape: [4], inner: [
        Dense(name: "r.layers.0", inFeatures: 4, outFeatures: 6, activation: .tanh, initialization: .xavierUniform(gain: 1), rng: &rng),
        Dense(name: "r.layers.1", inFeatures: 6, outFeatures: 4, initialization: .xavierUniform(gain: 1), rng: &rng),
    ], projection: nil)
    let r1 = checkGradients(of: same, input: randomTensor([3, 4], seed: 4))
    #expect(r1.worstError < 1e-3, "\(r1)")
    let projected = Residual(name: "p", inputShape: [4], inner: [
        Dense(name: "p.layers.0", inFeatures: 4, outFeatures: 3, activation: .sigmoid, initialization: .xavierUniform(gain: 1), rng: &rng),
    ], projection: Dense(name: "p.projection", inFeatures: 4, outFeatures: 3, useBias: false, initialization: .xavierUniform(gain: 1), rng: &rng))
    let r2 = checkGradients(of: projected, input: randomTensor([3, 4], seed: 6))
    #expect(r2.worstError < 1e-3, "\(r2)")
    #expect(projected.parameters.map(\.name) == ["p.layers.0.weight", "p.layers.0.bias", "p.projection.weight"])
}

/// Runs a layer through the steps of a PyTorch norm fixture and compares everything.
func checkAgainstTorch(_ layer: any Layer, _ ref: JSONValue, inputShape: [Int]? = nil, tolerance: Float = 2e-5) {
    let sample = inputShape ?? layer.outputShape.dims
    _ = ParameterStore(layer.parameters)
    /// A tensor's key in the fixture: its last name component, or the whole name with "." → "_".
    func key(_ name: String, in object: JSONValue?) -> String {
        let full = name.replacing(".", with: "_")
        return object?[full] != nil ? full : String(name.split(separator: ".").last!)
    }
    for p in layer.parameters {
        p.value.copy(from: Tensor(shape: p.value.shape.dims, scalars: floats(ref["params"]![key(p.name, in: ref["params"])])))
    }
    func close(_ a: [Float], _ b: [Float], _ what: String) {
        #expect(a.count == b.count, "\(what) count")
        for (x, y) in zip(a, b) where abs(x - y) > tolerance * max(1, abs(y)) {
            Issue.record("\(what): \(x) vs torch \(y)")
            return
        }
    }
    let stepsJSON = ref["steps"]?.arrayValue ?? []
    for (k, step) in stepsJSON.enumerated() {
        let xs = floats(step["x"])
        let batch = xs.count / sample.reduce(1, *)
        layer.allocate(maxBatch: batch)
        let y = layer.forward(Tensor(shape: [batch] + sample, scalars: xs), mode: .training)
        close(y.scalars, floats(step["y"]), "step \(k) y")
        let dx = layer.backward(Tensor(shape: y.shape.dims, scalars: floats(step["upstream"])), needsInputGradient: true)!
        close(dx.scalars, floats(step["dx"]), "step \(k) dx")
        for p in layer.parameters {
            close(p.grad.scalars, floats(step["grads"]![key(p.name, in: step["grads"])]), "step \(k) d\(p.name)")
        }
    }
    for (name, t) in layer.buffers {
        close(t.scalars, floats(ref["buffers"]![key(name, in: ref["buffers"])]), name)
    }
    if let e = ref["eval"] {
        let xs = floats(e["x"])
        let y = layer.forward(Tensor(shape: [xs.count / sample.reduce(1, *)] + sample, scalars: xs), mode: .evaluation)
        close(y.scalars, floats(e["y"]), "eval y")
    }
}

@Test func normalisationLayersMatchTorch() throws {
    let ref = try loadTorchReference()["norms"]!
    checkAgainstTorch(BatchNorm(name: "bn", inputShape: [4]), ref["batch_norm_1d"]!)
    checkAgainstTorch(BatchNorm(name: "bn", inputShape: [3, 2, 2], momentum: 0.2), ref["batch_norm_2d"]!)
    checkAgainstTorch(LayerNorm(name: "ln", inputShape: [5]), ref["layer_norm"]!)
    checkAgainstTorch(LocalResponseNorm(name: "lrn", inputShape: [6, 2, 2], size: 3, alpha: 0.1, beta: 0.75, k: 2), ref["lrn"]!)
}

@Test func weightNormMatchesTorch() throws {
    let ref = try loadTorchReference()["norms"]!["weight_norm"]!
    var rng = Xoshiro256(seed: 0, stream: .initialization)
    let layer = Dense(name: "wn", inFeatures: 4, outFeatures: 3, initialization: .zeros, weightNorm: true, rng: &rng)
    var r = ref
    // The fixture's single step, in the shape checkAgainstTorch reads.
    r = .object([("params", ref["params"]!), ("steps", .array([.object([
        ("x", ref["x"]!), ("upstream", ref["upstream"]!), ("y", ref["y"]!), ("dx", ref["dx"]!), ("grads", ref["grads"]!),
    ])]))])
    checkAgainstTorch(layer, r, inputShape: [4])
}

@Test func statisticsPassAveragesTheBatchesPlainly() {
    // Three batches of [4] features: the running statistics become the plain mean of the
    // batches' means and unbiased variances (torch's momentum=None), then momentum returns.
    let bn = BatchNorm(name: "bn", inputShape: [2], momentum: 0.1)
    bn.allocate(maxBatch: 4)
    bn.runningMean.fill(5); bn.runningVar.fill(7)
    let batches: [[Float]] = [[1, 2, 3, 4, 5, 6, 7, 8], [0, 0, 2, 2, 4, 4, 6, 6], [-1, 1, -3, 3, 5, 5, 9, 9]]
    #expect(bn.beginStatisticsPass())
    var means: [[Double]] = [[], []], vars: [[Double]] = [[], []]
    for b in batches {
        _ = bn.forward(Tensor(shape: [4, 2], scalars: b), mode: .training)
        for c in 0..<2 {
            let v = (0..<4).map { Double(b[$0 * 2 + c]) }
            let m = v.reduce(0, +) / 4
            means[c].append(m); vars[c].append(v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 3)
        }
    }
    bn.endStatisticsPass()
    for c in 0..<2 {
        #expect(abs(Double(bn.runningMean.scalars[c]) - means[c].reduce(0, +) / 3) < 1e-5)
        #expect(abs(Double(bn.runningVar.scalars[c]) - vars[c].reduce(0, +) / 3) < 1e-5)
    }
    #expect(bn.batchesTracked.scalars[0] == 3)
    // After the pass: the layer's momentum again (0.1 of the next batch's mean).
    let before = bn.runningMean.scalars[0]
    _ = bn.forward(Tensor(shape: [4, 2], scalars: batches[0]), mode: .training)
    #expect(abs(bn.runningMean.scalars[0] - (0.9 * before + 0.1 * 4)) < 1e-5)
    // Layers without running statistics take no part.
    #expect(!Dropout(name: "d", rate: 0.5, inputShape: [2], rng: Xoshiro256(seed: 1, streamID: 1)).beginStatisticsPass())
}
