import NNCore
@testable import NNTrain
import Testing

/// 400 correlated 3-D points (a long axis, a short one and a tiny one), rotated.
func correlatedData(seed: UInt64) -> Dataset {
    var rng = Xoshiro256(seed: seed, streamID: 11)
    var values: [Float] = []
    for _ in 0..<400 {
        let a = Float(rng.normal()) * 3, b = Float(rng.normal()) * 1, c = Float(rng.normal()) * 0.1
        values += [a + b, a - b + c, 0.5 * a + 2 + c]
    }
    return Dataset(storage: .floats(values), storedScale: 1, count: 400, sampleShape: [3],
                   targets: [Float](repeating: 0, count: 400), classCount: 1, origin: "mem")
}

/// The covariance of the preprocessed training data.
func covariance(_ p: Preprocessor, _ split: DataSplit) -> [[Double]] {
    let k = p.outputCount, n = split.count
    let x = Tensor(zeros: [n, k])
    let scratch = TensorStorage(capacity: n * split.dataset.featureCount)
    var t = [Float](repeating: 0, count: n)
    p.fill(x, targets: &t, from: split, start: 0, batch: n, scratch: scratch)
    let v = x.scalars.map(Double.init)
    let mean = (0..<k).map { j in (0..<n).reduce(0.0) { $0 + v[$1 * k + j] } / Double(n) }
    return (0..<k).map { i in (0..<k).map { j in (0..<n).reduce(0.0) { $0 + (v[$1 * k + i] - mean[i]) * (v[$1 * k + j] - mean[j]) } / Double(n) } }
}

@Test func zcaWhitensTheTrainingData() {
    let split = DataSplit(all: correlatedData(seed: 1))
    var step = PreprocessStep(kind: .zca, per: .feature, range: (0, 1))
    step.eps = 1e-6
    let p = Preprocessor.fit([step], on: split)
    let c = covariance(p, split)
    for i in 0..<3 { for j in 0..<3 { #expect(abs(c[i][j] - (i == j ? 1 : 0)) < 2e-3, "cov[\(i)][\(j)] = \(c[i][j])") } }
    let w = p.projection!
    for i in 0..<3 { for j in 0..<3 { #expect(abs(w[i * 3 + j] - w[j * 3 + i]) < 1e-4) } }  // ZCA is symmetric
}

@Test func pcaKeepsTheLargestComponents() {
    let split = DataSplit(all: correlatedData(seed: 2))
    var step = PreprocessStep(kind: .pca, per: .feature, range: (0, 1))
    step.varianceFraction = 0.9
    let p = Preprocessor.fit([step], on: split)
    #expect(p.outputCount == 1)  // the long axis carries more than 90 % of the variance
    step.varianceFraction = nil
    step.components = 2
    step.whiten = true
    let w = Preprocessor.fit([step], on: split)
    let c = covariance(w, split)
    #expect(abs(c[0][0] - 1) < 2e-3 && abs(c[1][1] - 1) < 2e-3 && abs(c[0][1]) < 2e-3)
    step.whiten = false
    let plain = Preprocessor.fit([step], on: split)
    let cp = covariance(plain, split)
    #expect(cp[0][0] > cp[1][1] && abs(cp[0][1]) < 1e-2)  // decreasing variance, decorrelated
}

@Test func whiteningIsFittedOnTheTrainingSplitOnly() {
    let ds = correlatedData(seed: 3)
    var step = PreprocessStep(kind: .zca, per: .feature, range: (0, 1))
    step.eps = 1e-5
    let train = DataSplit(dataset: ds, indices: (0..<300).map { Int32($0) })
    let a = Preprocessor.fit([step], on: train)
    var other = (0..<1200).map { i in ds.value(i / 3, i % 3) }
    for i in 900..<1200 { other[i] *= 50 }  // wildly different rows 300..<400
    let ds2 = Dataset(storage: .floats(other), storedScale: 1, count: 400, sampleShape: [3], targets: ds.targets, classCount: 1, origin: "mem")
    let b = Preprocessor.fit([step], on: DataSplit(dataset: ds2, indices: train.indices))
    #expect(a == b)
}

@Test func pcaMustComeLastAndMatchTheInput() throws {
    let text = subsetConfig().replacing(#""preprocess": [{"type": "standardize"}]"#, with: #""preprocess": [{"type": "pca", "components": 50}, {"type": "center"}]"#)
    let problems = configProblems(text)
    #expect(problems.contains("$.data.preprocess.0: pca must be the last preprocessing step"), "\(problems)")
    let last = subsetConfig().replacing(#""preprocess": [{"type": "standardize"}]"#, with: #""preprocess": [{"type": "pca", "components": 50}]"#)
    #expect(configProblems(last) == ["$.model.input: expected [50]: the pca step keeps 50 components, got [1, 28, 28]"])
}

@Test func aModelTrainsOnPCAFeatures() throws {
    var json = try JSONValue.parse(subsetConfig(epochs: 2))
    json = try applyOverride("data.preprocess=[{\"type\": \"standardize\"}, {\"type\": \"pca\", \"components\": 40, \"whiten\": true}]", to: json)
    json = try applyOverride("model={\"input\": [40], \"layers\": [{\"type\": \"dense\", \"units\": 32, \"activation\": \"relu\"}, {\"type\": \"dense\", \"units\": 10}]}", to: json)
    let (result, dir) = try runExperiment(json.serialized(), name: "pca-run")
    #expect((result.outcome.testAccuracy ?? 0) > 0.6)
    let pre = try Safetensors.decode(try FileIO.read(dir + "/preprocess.safetensors")).entries
    #expect(pre.first { $0.name == "projection" }?.shape == [40, 784])
}
