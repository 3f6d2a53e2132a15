import NNCore
@testable import NNTrain
import Testing

/// A 1-channel 3×3 image with v[y][x] = 3y + x (asymmetric in every direction).
func pattern() -> [Float] { (0..<9).map(Float.init) }

func run(_ values: [Float], _ body: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> [Float] {
    var v = values
    var tmp = [Float](repeating: 0, count: values.count)
    v.withUnsafeMutableBufferPointer { x in tmp.withUnsafeMutableBufferPointer { t in body(x.baseAddress!, t.baseAddress!) } }
    return v
}

@Test func flipsMirrorThePattern() {
    #expect(run(pattern()) { x, _ in Augmenter.flipHorizontal(x, 1, 3, 3) } == [2, 1, 0, 5, 4, 3, 8, 7, 6])
    #expect(run(pattern()) { x, _ in Augmenter.flipVertical(x, 1, 3, 3) } == [6, 7, 8, 3, 4, 5, 0, 1, 2])
}

@Test func cropOffsetsShiftWithZeroFill() {
    // Padding 1, offset (0, 2): out[y][x] = in[y − 1][x + 1].
    #expect(run(pattern()) { x, t in Augmenter.crop(x, t, 1, 3, 3, padding: 1, dy: 0, dx: 2) } == [0, 0, 0, 1, 2, 0, 4, 5, 0])
    // Offset (1, 1) with padding 1 is the identity.
    #expect(run(pattern()) { x, t in Augmenter.crop(x, t, 1, 3, 3, padding: 1, dy: 1, dx: 1) } == pattern())
}

@Test func ninetyDegreeRotationIsExact() {
    // Counter-clockwise: the right column becomes the top row.
    let r = run(pattern()) { x, t in Augmenter.warp(x, t, 1, 3, 3, degrees: 90, scale: 1, shiftX: 0, shiftY: 0) }
    for (a, b) in zip(r, [2, 5, 8, 1, 4, 7, 0, 3, 6] as [Float]) { #expect(abs(a - b) < 1e-4, "\(r)") }
    let back = run(r) { x, t in Augmenter.warp(x, t, 1, 3, 3, degrees: -90, scale: 1, shiftX: 0, shiftY: 0) }
    for (a, b) in zip(back, pattern()) { #expect(abs(a - b) < 1e-4) }
}

@Test func translationAndScaleResample() {
    // A shift of one pixel to the right: out[y][x] = in[y][x − 1].
    let t = run(pattern()) { x, t in Augmenter.warp(x, t, 1, 3, 3, degrees: 0, scale: 1, shiftX: 1, shiftY: 0) }
    for (a, b) in zip(t, [0, 0, 1, 0, 3, 4, 0, 6, 7] as [Float]) { #expect(abs(a - b) < 1e-5, "\(t)") }
    // Zooming by 2 about the centre samples halfway towards it: corner (0, 0) reads (0.5, 0.5).
    let z = run(pattern()) { x, t in Augmenter.warp(x, t, 1, 3, 3, degrees: 0, scale: 2, shiftX: 0, shiftY: 0) }
    #expect(abs(z[0] - 2) < 1e-5 && abs(z[4] - 4) < 1e-5)  // bilinear mean of 0, 1, 3, 4; the centre stays
}

@Test func cutoutZeroesAClippedSquare() {
    var img = [Float](repeating: 1, count: 16)
    img = run(img) { x, _ in Augmenter.cutout(x, 1, 4, 4, centerY: 0, centerX: 3, size: 2) }
    // Rows −1…0 and columns 2…3: only row 0 is inside.
    #expect(img == [1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1].map(Float.init))
}

@Test func augmentationIsSeededAndOnlyForTraining() throws {
    let ops: [Augmentation] = [.horizontalFlip(p: 0.5), .randomCrop(padding: 2), .rotation(low: -10, high: 10),
                               .gaussianNoise(std: 0.1), .cutout(size: 3)]
    let a = Augmenter(operations: ops, sampleShape: [1, 8, 8])
    let x1 = randomTensorForAugment(seed: 1), x2 = randomTensorForAugment(seed: 1)
    var r1 = Xoshiro256(seed: 9, stream: .augmentation), r2 = Xoshiro256(seed: 9, stream: .augmentation)
    a.apply(x1, batch: 4, rng: &r1)
    a.apply(x2, batch: 4, rng: &r2)
    #expect(x1.scalars == x2.scalars)
    #expect(x1.scalars != randomTensorForAugment(seed: 1).scalars)
    // In a run, the augmentation stream is checkpointed like the others: resume equality covers it.
    var json = try JSONValue.parse(subsetConfig(epochs: 1))
    json = try applyOverride("data.augment=[{\"type\": \"horizontal_flip\"}, {\"type\": \"random_crop\", \"padding\": 2}, {\"type\": \"fancy_pca\"}]", to: json)
    let config = try ExperimentConfig.read(json, baseDirectory: repositoryRoot)
    #expect(config.warnings.contains { $0.message.contains("fancy_pca") })
    let (result, _) = try runExperiment(json.serialized(), name: "augment")
    #expect(result.outcome.stopReason == .completed)
}

@Test func fancyPCAShiftsColoursAlongThePrincipalComponents() {
    var a = Augmenter(operations: [.fancyPCA(std: 1)], sampleShape: [3, 2, 2])
    // One dominant component along (1, 1, 1)/√3 with λ = 3; the others 0.
    let u: Float = 1 / Float(3).squareRoot()
    a.colorComponents = (values: [0, 0, 3], vectors: [0, 0, 0, 0, 0, 0, u, u, u])
    let x = Tensor(zeros: [1, 3, 2, 2])
    var rng = Xoshiro256(seed: 2, stream: .augmentation)
    a.apply(x, batch: 1, rng: &rng)
    let s = x.scalars
    #expect(s.allSatisfy { abs($0 - s[0]) < 1e-6 } && s[0] != 0)  // the same shift on every channel and pixel
}

func randomTensorForAugment(seed: UInt64) -> Tensor {
    var rng = Xoshiro256(seed: seed, streamID: 3)
    return Tensor(shape: [4, 1, 8, 8], scalars: (0..<256).map { _ in rng.uniform(-1, 1) })
}

@Test func prefetchingOnAWorkerGivesTheSameRunAsPreparingInline() throws {
    func curves(_ prefetch: Bool, _ name: String) throws -> [String] {
        var json = try JSONValue.parse(subsetConfig(epochs: 2))
        json = try applyOverride("data.augment=[{\"type\": \"horizontal_flip\"}, {\"type\": \"rotation\", \"degrees\": 10}, {\"type\": \"gaussian_noise\", \"std\": 0.05}]", to: json)
        json = try applyOverride("training.prefetch=\(prefetch)", to: json)
        let (_, dir) = try runExperiment(json.serialized(), name: name)
        return try curvesWithoutSeconds(dir)
    }
    #expect(try curves(true, "prefetch-on") == (try curves(false, "prefetch-off")))
}

@Test func gaussianNoiseHasTheRequestedSpread() {
    let a = Augmenter(operations: [.gaussianNoise(std: 0.3)], sampleShape: [1, 50, 50])
    let x = Tensor(zeros: [4, 1, 50, 50])
    var rng = Xoshiro256(seed: 8, stream: .augmentation)
    a.apply(x, batch: 4, rng: &rng)
    #expect(abs(standardDeviation(x) - 0.3) < 0.01)
    #expect(abs(x.scalars.reduce(0, +) / 10_000) < 0.01)
}
