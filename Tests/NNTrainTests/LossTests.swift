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

/// nntrain's ε (ε/(K−1) on each wrong class) against PyTorch's label_smoothing = ε·K/(K−1).
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

@Test func weightedCrossEntropyMatchesTorch() throws {
    let ref = try loadTorchReference()["cross_entropy"]!
    let logits = Tensor(shape: [6, 5], scalars: floats(ref["logits"]))
    let labels = floats(ref["labels"])
    let expected = ref["cases"]!["weighted"]!
    let loss = SoftmaxCrossEntropy(classWeights: floats(expected["weights"]))
    let grad = Tensor(zeros: [6, 5])
    let r = labels.withUnsafeBufferPointer { loss.evaluate(logits, targets: $0.baseAddress!, gradient: grad) }
    #expect(abs(r.lossSum / r.weightSum - expected["loss"]!.doubleValue!) < 1e-5)
    for (a, b) in zip(grad.scalars, floats(expected["grad"])) { #expect(abs(a - b) < 1e-6) }
    let fd = checkGradients(of: SoftmaxCrossEntropy(labelSmoothing: 0.2, classWeights: [1, 2, 3, 0.5]),
                            output: randomTensor([5, 4], seed: 9, low: -2, high: 2), targets: [0, 1, 2, 3, 1])
    #expect(fd.worstError < 1e-3, "\(fd)")
}

@Test func smoothedTargetPutsEpsilonOverKMinusOneOnWrongClasses() {
    // With all logits equal, softmax is uniform 1/K, so the gradient is (1/K − t)/B.
    let logits = Tensor(zeros: [1, 5])
    let grad = Tensor(zeros: [1, 5])
    _ = [Float(2)].withUnsafeBufferPointer { SoftmaxCrossEntropy(labelSmoothing: 0.2).evaluate(logits, targets: $0.baseAddress!, gradient: grad) }
    #expect(abs(grad.scalars[2] - (0.2 - 0.8)) < 1e-6)
    for c in [0, 1, 3, 4] { #expect(abs(grad.scalars[c] - (0.2 - 0.05)) < 1e-6) }
}
