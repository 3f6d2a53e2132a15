import NNCore
import NNTestSupport
@testable import NNTrain
import Testing

@Test(arguments: [Float(0), 0.1])
func crossEntropyMatchesFiniteDifferences(smoothing: Float) {
    let loss = SoftmaxCrossEntropy(labelSmoothing: smoothing)
    let report = checkGradients(of: loss, output: randomTensor([4, 5], seed: 3, low: -3, high: 3), targets: [0, 4, 2, 2])
    #expect(report.worstError < 1e-3, "\(report)")
}

@Test func mseMatchesFiniteDifferences() {
    let oneHot = checkGradients(of: MeanSquaredError(oneHot: true), output: randomTensor([3, 4], seed: 1), targets: [1, 0, 3])
    #expect(oneHot.worstError < 1e-3, "\(oneHot)")
    let regression = checkGradients(of: MeanSquaredError(oneHot: false), output: randomTensor([5, 1], seed: 2), targets: [0.5, -1, 2, 0, 3])
    #expect(regression.worstError < 1e-3, "\(regression)")
}

@Test(arguments: ["0.0", "0.1"])
func crossEntropyMatchesTorch(smoothing: String) throws {
    let ref = try loadTorchReference()["cross_entropy"]!
    let logits = Tensor(shape: [6, 5], scalars: floats(ref["logits"]))
    let labels = floats(ref["labels"])
    let grad = Tensor(zeros: [6, 5])
    let loss = SoftmaxCrossEntropy(labelSmoothing: Float(smoothing)!)
    let r = labels.withUnsafeBufferPointer { loss.evaluate(logits, targets: $0.baseAddress!, gradient: grad) }
    let expected = ref["cases"]![smoothing]!
    #expect(abs(r.lossSum / 6 - expected["loss"]!.doubleValue!) < 1e-5)
    for (a, b) in zip(grad.scalars, floats(expected["grad"])) { #expect(abs(a - b) < 1e-6) }
}

@Test func crossEntropyIsStableForHugeLogits() {
    let logits = Tensor(shape: [2, 3], scalars: [1000, 0, -1000, -1e4, 1e4, 0])
    let grad = Tensor(zeros: [2, 3])
    let r = [Float(0), 1].withUnsafeBufferPointer { SoftmaxCrossEntropy().evaluate(logits, targets: $0.baseAddress!, gradient: grad) }
    #expect(r.lossSum.isFinite && r.lossSum < 1e-6)
    #expect(grad.scalars.allSatisfy { $0.isFinite })
    #expect(r.correct == 2)
}
