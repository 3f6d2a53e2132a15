import NNCore
import NNTestSupport
@testable import NNTrain
import Testing

func makeDense(_ act: Activation, bias: Bool = true, seed: UInt64 = 1) -> Dense {
    var rng = Xoshiro256(seed: seed, stream: .initialization)
    return Dense(name: "fc", inFeatures: 5, outFeatures: 3, activation: act, useBias: bias,
                 initialization: .xavierUniform(gain: 1), rng: &rng)
}

@Test(arguments: [Activation.linear, .relu, .sigmoid, .tanh])
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

@Test(arguments: [Activation.relu, .sigmoid, .tanh])
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
    func std(_ t: Tensor) -> Double {
        let s = t.scalars.map(Double.init)
        let m = s.reduce(0, +) / Double(s.count)
        return (s.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(s.count)).squareRoot()
    }
    InitSpec.heNormal(fanOut: false).fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(abs(std(w) - (2.0 / 300).squareRoot()) < 0.002)
    InitSpec.xavierUniform(gain: 1).fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    let a = Float((6.0 / 700).squareRoot())
    #expect(w.scalars.allSatisfy { abs($0) <= a })
    #expect(abs(std(w) - Double(a) / 3.0.squareRoot()) < 0.002)
    InitSpec.lecunNormal.fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(abs(std(w) - (1.0 / 300).squareRoot()) < 0.002)
    InitSpec.constant(0.5).fill(w, fanIn: 300, fanOut: 400, rng: &rng)
    #expect(w.scalars.allSatisfy { $0 == 0.5 })
}
