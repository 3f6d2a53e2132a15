import NNCore
import NNTestSupport
@testable import NNTrain
import Testing

func makeDense(_ act: Activation, bias: Bool = true, seed: UInt64 = 1) -> Dense {
    var rng = Xoshiro256(seed: seed, stream: .initialization)
    return Dense(name: "fc", inFeatures: 5, outFeatures: 3, activation: act, useBias: bias,
                 initialization: .xavierUniform(gain: 1), rng: &rng)
}

let allActivations: [Activation] = [.linear, .relu, .sigmoid, .tanh, .leakyReLU(alpha: 0.1), .elu(alpha: 1.3),
                                    .softplus(beta: 1, threshold: 20), .softplus(beta: 2, threshold: 3),
                                    .gelu(tanhApproximation: false), .gelu(tanhApproximation: true), .silu]

@Test(arguments: allActivations)
func denseMatchesFiniteDifferences(activation: Activation) {
    let layer = makeDense(activation)
    let report = checkGradients(of: layer, input: randomTensor([4, 5], seed: 2))
    #expect(report.worstError < 1e-3, "\(report)")
    #expect(report.skipped <= report.checked / 10, "\(report)")
}

@Test func denseWithoutBiasMatchesFiniteDifferences() {
    let layer = makeDense(.tanh, bias: false)
    #expect(layer.parameters.count == 1)
    let report = checkGradients(of: layer, input: randomTensor([3, 5], seed: 4))
    #expect(report.worstError < 1e-3, "\(report)")
}

@Test(arguments: allActivations)
func activationLayerMatchesFiniteDifferences(activation: Activation) {
    let layer = ActivationLayer(name: "act", activation: activation, inputShape: [6])
    let report = checkGradients(of: layer, input: randomTensor([3, 6], seed: 5, low: -3, high: 3))
    #expect(report.worstError < 1e-3, "\(report)")
}

/// A layer whose backward is wrong by 10%: the checker must notice.
final class WrongDense: Layer {
    let inner: Dense
    init(_ d: Dense) { inner = d }
    var name: String { "wrong" }
    var parameters: [Parameter] { inner.parameters }
    var outputShape: Shape { inner.outputShape }
    func allocate(maxBatch: Int) { inner.allocate(maxBatch: maxBatch) }
    func forward(_ input: Tensor, mode: Mode) -> Tensor { inner.forward(input, mode: mode) }
    func backward(_ g: Tensor, needsInputGradient: Bool) -> Tensor? {
        let dx = inner.backward(g, needsInputGradient: needsInputGradient)
        if let dx { for i in 0..<dx.count { dx.pointer[i] *= 1.1 } }
        return dx
    }
}

@Test func gradientCheckerCatchesAWrongBackward() {
    let report = checkGradients(of: WrongDense(makeDense(.tanh)), input: randomTensor([4, 5], seed: 2))
    #expect(report.worstError > 0.01, "\(report)")
}

/// An evaluation pass on the packed kernel (AVX-512 CPUs; sgemm elsewhere) gives the outputs of
/// the plain forward up to rounding, with ReLU, no activation and weight norm (tanh stays on
/// sgemm), in two row blocks on the pool and in one; after `endEvaluation` a forward sees weights changed since, and the next pass
/// packs them again.
@Test(arguments: [(Activation.relu, false), (.linear, false), (.relu, true), (.tanh, false)])
func denseEvaluationPassMatchesThePlainForward(activation: Activation, weightNorm: Bool) {
    var rng = Xoshiro256(seed: 4, stream: .initialization)
    let layer = Dense(name: "fc", inFeatures: 300, outFeatures: 70, activation: activation, initialization: .heNormal(),
                      weightNorm: weightNorm, rng: &rng)
    let store = ParameterStore(layer.parameters)
    for i in 0..<70 { layer.bias!.value.pointer[i] = Float(i % 7) * 0.1 - 0.3 }
    layer.allocate(maxBatch: 200)
    let x = randomTensor([200, 300], seed: 6)
    func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) } }
    Parallel.setThreads(max(2, Parallel.threads))
    for rows in [200, 5] {  // two row blocks on the pool, and one
        let xs = Tensor(shape: [rows, 300], scalars: Array(x.scalars[0..<rows * 300]))
        let plain = layer.forward(xs, mode: .evaluation).scalars
        layer.beginEvaluation()
        let packed = layer.forward(xs, mode: .evaluation).scalars
        layer.endEvaluation()
        #expect(close(packed, plain), "\(rows) rows")
    }
    let before = layer.forward(x, mode: .evaluation).scalars
    layer.beginEvaluation()
    layer.endEvaluation()
    for i in 0..<store.count { store.values.base[i] *= 0.5 }
    let changed = layer.forward(x, mode: .evaluation).scalars
    #expect(!close(changed, before))
    layer.beginEvaluation()
    let repacked = layer.forward(x, mode: .evaluation).scalars
    layer.endEvaluation()
    #expect(close(repacked, changed))
}

@Test func denseMatchesTorchLinearReLU() throws {
    let ref = try loadTorchReference()["dense_relu"]!
    var rng = Xoshiro256(seed: 0, stream: .initialization)
    let layer = Dense(name: "fc", inFeatures: 7, outFeatures: 4, activation: .relu, initialization: .zeros, rng: &rng)
    _ = ParameterStore(layer.parameters)
    layer.weight.value.copy(from: Tensor(shape: [4, 7], scalars: floats(ref["weight"])))
    layer.bias!.value.copy(from: Tensor(shape: [4], scalars: floats(ref["bias"])))
    layer.allocate(maxBatch: 5)
    let y = layer.forward(Tensor(shape: [5, 7], scalars: floats(ref["x"])), mode: .training)
    let dx = layer.backward(Tensor(shape: [5, 4], scalars: floats(ref["upstream"])), needsInputGradient: true)!
    func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 } }
    #expect(close(y.scalars, floats(ref["y"])))
    #expect(close(dx.scalars, floats(ref["dx"])))
    #expect(close(layer.weight.grad.scalars, floats(ref["dweight"])))
    #expect(close(layer.bias!.grad.scalars, floats(ref["dbias"])))
}

@Test func dropoutIsInvertedInTrainingAndIdentityInEvaluation() {
    let layer = Dropout(name: "d", rate: 0.25, inputShape: [1000], rng: Xoshiro256(seed: 1, stream: .dropout))
    layer.allocate(maxBatch: 4)
    let x = Tensor(shape: [4, 1000], scalars: [Float](repeating: 2, count: 4000))
    #expect(layer.forward(x, mode: .evaluation).scalars == x.scalars)
    let y = layer.forward(x, mode: .training).scalars
    let kept = y.filter { $0 != 0 }
    #expect(kept.allSatisfy { abs($0 - 2 / 0.75) < 1e-6 })
    #expect(abs(Double(kept.count) / 4000 - 0.75) < 0.03)
    // Backward passes gradient through exactly the kept elements, with the same scale.
    let g = Tensor(shape: [4, 1000], scalars: [Float](repeating: 1, count: 4000))
    let dx = layer.backward(g, needsInputGradient: true)!.scalars
    for i in 0..<4000 { #expect(dx[i] == y[i] / 2) }
}

@Test func flattenIsAView() {
    let f = Flatten(name: "f", inputShape: [2, 3, 4])
    let x = randomTensor([5, 2, 3, 4], seed: 1)
    let y = f.forward(x, mode: .training)
    #expect(y.shape == Shape(5, 24) && y.pointer == x.pointer)
    #expect(f.backward(y, needsInputGradient: true)!.shape == x.shape)
}

@Test func initialisersHaveTheirDocumentedSpread() {
    var rng = Xoshiro256(seed: 9, stream: .initialization)
    let w = Tensor(zeros: [400, 300])
    InitSpec.heNormal().fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(abs(standardDeviation(w) - (2.0 / 300).squareRoot()) < 0.002)
    InitSpec.xavierUniform(gain: 1).fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    let a = Float((6.0 / 700).squareRoot())
    #expect(w.scalars.allSatisfy { abs($0) <= a })
    #expect(abs(standardDeviation(w) - Double(a) / 3.0.squareRoot()) < 0.002)
    InitSpec.lecunNormal.fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(abs(standardDeviation(w) - (1.0 / 300).squareRoot()) < 0.002)
    InitSpec.constant(0.5).fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(w.scalars.allSatisfy { $0 == 0.5 })
}

@Test(arguments: [false, true])
func preluMatchesFiniteDifferencesIncludingItsSlope(perChannel: Bool) {
    let layer = PReLU(name: "p", inputShape: [3, 2, 2], perChannel: perChannel, initial: 0.25)
    #expect(layer.slope.value.count == (perChannel ? 3 : 1))
    let report = checkGradients(of: layer, input: randomTensor([2, 3, 2, 2], seed: 11))
    #expect(report.worstError < 1e-3, "\(report)")
    #expect(report.checked >= 24 + (perChannel ? 3 : 1) - 2)
}

@Test func rreluUsesRandomSlopesInTrainingAndTheMeanInEvaluation() {
    let layer = RReLU(name: "r", inputShape: [1000], lower: 0.1, upper: 0.3, rng: Xoshiro256(seed: 1, stream: .dropout))
    layer.allocate(maxBatch: 1)
    let x = Tensor(shape: [1, 1000], scalars: [Float](repeating: -1, count: 1000))
    let eval = layer.forward(x, mode: .evaluation).scalars
    #expect(eval.allSatisfy { abs($0 + 0.2) < 1e-6 })
    let train = layer.forward(x, mode: .training).scalars
    #expect(train.allSatisfy { $0 <= -0.1 && $0 >= -0.3 })
    #expect(Set(train).count > 900)
    // Backward uses the same slopes: d(a·x)/dx = a = −y for x = −1.
    let dx = layer.backward(Tensor(shape: [1, 1000], scalars: [Float](repeating: 1, count: 1000)), needsInputGradient: true)!.scalars
    for i in 0..<1000 { #expect(dx[i] == -train[i]) }
    let pos = Tensor(shape: [1, 1000], scalars: [Float](repeating: 2, count: 1000))
    #expect(layer.forward(pos, mode: .training).scalars.allSatisfy { $0 == 2 })
}

@Test func maxoutMatchesFiniteDifferences() {
    var rng = Xoshiro256(seed: 4, stream: .initialization)
    let layer = Maxout(name: "m", inFeatures: 5, units: 3, pieces: 3, initialization: .xavierUniform(gain: 1), rng: &rng)
    let report = checkGradients(of: layer, input: randomTensor([4, 5], seed: 6))
    #expect(report.worstError < 1e-3, "\(report)")
    #expect(report.skipped <= report.checked / 5, "\(report)")
}

@Test func maxoutTakesTheLargestPiece() {
    var rng = Xoshiro256(seed: 4, stream: .initialization)
    let layer = Maxout(name: "m", inFeatures: 1, units: 2, pieces: 2, initialization: .zeros, rng: &rng)
    _ = ParameterStore(layer.parameters)
    layer.weight.value.copy(from: Tensor(shape: [4, 1], scalars: [1, -1, 2, 0.5]))
    layer.allocate(maxBatch: 2)
    let y = layer.forward(Tensor(shape: [2, 1], scalars: [3, -2]), mode: .training)
    #expect(y.scalars == [3, 6, 2, -1])  // max(3, −3), max(6, 1.5); max(−2, 2), max(−4, −1)
}

@Test func activationsMatchTorchValuesAndGradients() throws {
    let ref = try loadTorchReference()["activations"]!
    let x = floats(ref["x"])
    let cases: [(String, Activation)] = [
        ("relu", .relu), ("sigmoid", .sigmoid), ("tanh", .tanh), ("leaky_relu_0.1", .leakyReLU(alpha: 0.1)),
        ("elu_1.3", .elu(alpha: 1.3)), ("softplus", .softplus(beta: 1, threshold: 20)),
        ("softplus_2_3", .softplus(beta: 2, threshold: 3)), ("gelu", .gelu(tanhApproximation: false)),
        ("gelu_tanh", .gelu(tanhApproximation: true)), ("silu", .silu),
    ]
    for (name, f) in cases {
        let expected = ref["functions"]![name]!
        let layer = ActivationLayer(name: name, activation: f, inputShape: [x.count])
        layer.allocate(maxBatch: 1)
        let y = layer.forward(Tensor(shape: [1, x.count], scalars: x), mode: .training)
        let dx = layer.backward(Tensor(shape: [1, x.count], scalars: [Float](repeating: 1, count: x.count)), needsInputGradient: true)!
        for i in 0..<x.count {
            #expect(abs(y.scalars[i] - floats(expected["y"])[i]) <= 1e-5 * max(1, abs(floats(expected["y"])[i])), "\(name)(\(x[i]))")
            #expect(abs(dx.scalars[i] - floats(expected["dy"])[i]) <= 1e-5, "\(name)'(\(x[i])): \(dx.scalars[i]) vs \(floats(expected["dy"])[i])")
        }
    }
}

@Test func orthogonalInitGivesOrthonormalRowsOrColumns() {
    for (rows, cols) in [(64, 32), (32, 64), (50, 50)] {
        var rng = Xoshiro256(seed: 3, stream: .initialization)
        let w = Tensor(zeros: [rows, cols])
        InitSpec.orthogonal(gain: 1).fill(w, fanIn: cols, fanOut: rows, rng: &rng)
        // WᵀW = I (rows ≥ cols) or WWᵀ = I (rows < cols).
        let g = rows >= cols ? matmul(w, w, transposeA: true) : matmul(w, w, transposeB: true)
        let n = min(rows, cols)
        for i in 0..<n { for j in 0..<n { #expect(abs(g.scalars[i * n + j] - (i == j ? 1 : 0)) < 1e-4) } }
    }
}

@Test func heAndUniformRecipesFollowTheirFormulas() {
    var rng = Xoshiro256(seed: 9, stream: .initialization)
    let w = Tensor(zeros: [400, 300])
    InitSpec.heNormal(fanOut: true, negativeSlope: 0.2).fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(abs(standardDeviation(w) - (2.0 / (1.04 * 400)).squareRoot()) < 0.002)
    InitSpec.heUniform(fanOut: false, negativeSlope: 0).fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(w.scalars.allSatisfy { abs($0) <= Float((6.0 / 300).squareRoot()) })
    InitSpec.uniformFanIn.fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(w.scalars.allSatisfy { abs($0) <= 1 / Float(300).squareRoot() })
    InitSpec.xavierUniform(gain: nil).fill(w, fanIn: 300, fanOut: 400, activation: .sigmoid, rng: &rng)
    #expect(abs(standardDeviation(w) - 4 * (2.0 / 700).squareRoot()) < 0.005)
    InitSpec.normal(mean: 0, std: 0.01).fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(abs(standardDeviation(w) - 0.01) < 0.0002)
}

@Test func layersWithTheirOwnStreamExposeItForCheckpoints() {
    let layers: [any Layer] = [
        Dropout(name: "d", rate: 0.5, inputShape: [4], rng: Xoshiro256(seed: 1, stream: .dropout)),
        RReLU(name: "r", inputShape: [4], lower: 0.1, upper: 0.3, rng: Xoshiro256(seed: 2, stream: .dropout)),
    ]
    for l in layers {
        let state = l.randomState
        #expect(state?.count == 4, "\(l.name)")
        l.randomState = [1, 2, 3, 4]
        #expect(l.randomState == [1, 2, 3, 4])
    }
    #expect(Flatten(name: "f", inputShape: [4]).randomState == nil)
}

/// A layer without an ONNX form makes the export throw, naming it, also inside a residual block.
@Test func exportOfALayerWithoutAnONNXFormNamesIt() {
    let wrong = WrongDense(makeDense(.relu))
    #expect(throws: ONNXExportError.self) { _ = try wrong.exportONNX("x", to: ONNXGraph()) }
    do {
        let block = Residual(name: "layers.2", inputShape: [5], inner: [wrong], projection: nil)
        _ = try block.exportONNX("x", to: ONNXGraph())
        Issue.record("no error")
    } catch {
        #expect(error.message.contains("layer wrong (WrongDense) has no ONNX form"), "\(error.message)")
    }
    // A dense layer with weight norm exports W = g·v/‖v‖, not v.
    var rng = Xoshiro256(seed: 3, stream: .initialization)
    let d = Dense(name: "fc", inFeatures: 5, outFeatures: 3, activation: .relu, initialization: .xavierUniform(gain: 1), weightNorm: true, rng: &rng)
    d.parameters[0].value.fill(2)  // g
    let g = ONNXGraph()
    #expect((try? d.exportONNX("x", to: g)) == "fc/Relu:0")
    #expect(g.nodes.map { $0.op } == ["Gemm", "Relu"])
    let v = d.weight.value.scalars
    let tensor = Protobuf.fields(g.initializers[0]) ?? []
    let raw = tensor.first { $0.number == 9 }.map { Array(g.initializers[0][$0.bytes]) } ?? []
    let w = stride(from: 0, to: raw.count, by: 4).map { i in
        Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
    }
    #expect(w.count == 15)
    for r in 0..<3 {
        let norm = (0..<5).reduce(Float(0)) { $0 + v[r * 5 + $1] * v[r * 5 + $1] }.squareRoot()
        for j in 0..<5 where w.count == 15 { #expect(abs(w[r * 5 + j] - 2 * v[r * 5 + j] / norm) < 1e-6) }
    }
}
