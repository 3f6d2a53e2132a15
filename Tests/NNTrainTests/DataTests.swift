import NNCore
@testable import NNTrain
import Testing

func idxBytes(dims: [Int], payload: [UInt8]) -> [UInt8] {
    var b: [UInt8] = [0, 0, 8, UInt8(dims.count)]
    for d in dims { b += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
    return b + payload
}

@Test func idxParsesHeaderAndData() throws {
    let f = try IDX.parse(idxBytes(dims: [2, 2, 3], payload: Array(0..<12)), file: "x")
    #expect(f.dims == [2, 2, 3] && f.bytes == Array(0..<12))
}

@Test(arguments: [
    ([UInt8]([1, 0, 8, 1, 0, 0, 0, 1, 5]), "magic number"),
    ([0, 0, 0x0D, 1, 0, 0, 0, 1, 5], "element type"),
    ([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3], "truncated"),
    ([0, 0, 8], "too short"),
    ([0, 0, 8, 1, 0, 0, 0, 1, 5, 6], "after the"),
    ([0, 0, 8, 9], "rank"),
])
func corruptIDXIsADataError(bytes: [UInt8], fragment: String) {
    do {
        _ = try IDX.parse(bytes, file: "bad.idx")
        Issue.record("accepted corrupt IDX")
    } catch {
        #expect(error.description.contains(fragment) && error.description.hasPrefix("bad.idx: "), "\(error)")
    }
}

@Test func readsTheShippedGzipSubset() throws {
    let d = try Dataset.load(.idx(images: repositoryRoot + "data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz",
                                  labels: repositoryRoot + "data/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz"), task: .classification)
    #expect(d.count == 500 && d.sampleShape == [1, 28, 28] && d.classCount == 10)
    // Stratified: 50 of each class.
    for c in 0..<10 { #expect(d.targets.filter { Int($0) == c }.count == 50) }
    #expect(d.value(0, 0) >= 0 && (0..<784).map { d.value(0, $0) }.max()! <= 1)
}

@Test func truncatedGzipIsADataError() throws {
    let path = repositoryRoot + "data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz"
    let bytes = try FileIO.read(path)
    #expect(throws: DataError.self) { _ = try Gzip.decompress(Array(bytes.prefix(bytes.count / 2)), file: "t.gz") }
    var corrupt = bytes
    for i in 100..<200 { corrupt[i] ^= 0x5A }
    #expect(throws: DataError.self) { _ = try Gzip.decompress(corrupt, file: "t.gz") }
}

@Test func missingFashionMNISTNamesThePackage() {
    do {
        _ = try IDX.read("/usr/share/datasets/fashion-mnist/no-such-file.gz")
        Issue.record("read a missing file")
    } catch {
        #expect(error.description.contains("dataset-fashion-mnist"))
    }
}

/// Writes `text` to a fresh file (tests run in parallel: every call gets its own name).
func writeTemp(_ name: String, _ text: String) throws -> String {
    let dir = scratchPath("files")
    try FileIO.makeDirectories(dir)
    let path = dir + "/\(UInt64.random(in: 0...UInt64.max))-" + name
    try FileIO.writeAtomically(path, text: text)
    return path
}

@Test func csvWithHeaderAndLabelColumn() throws {
    let path = try writeTemp("a.csv", "x1,x2,label\n0.5,1,2\n-1,2e-1,0\n\n3,4,1\n")
    let d = try Dataset.load(.csv(path: path, labelColumn: -1, header: nil, delimiter: 44), task: .classification)
    #expect(d.count == 3 && d.featureCount == 2 && d.classCount == 3)
    #expect(d.targets == [2, 0, 1])
    #expect(d.value(1, 1) == 0.2)
}

@Test(arguments: [
    ("1,2\n3\n", "expected 2 columns"),
    ("1,a\n", "expected a number"),
    ("1.5,2\n", "not a class index"),
    ("", "no rows"),
])
func badCSVIsADataError(text: String, fragment: String) throws {
    let path = try writeTemp("bad.csv", text)
    do {
        _ = try Dataset.load(.csv(path: path, labelColumn: 0, header: false, delimiter: 44), task: .classification)
        Issue.record("accepted bad CSV")
    } catch {
        #expect(error.description.contains(fragment), "\(error)")
    }
}

/// A float dataset with `n` rows of `f` features.
func floatDataset(_ values: [Float], features f: Int, shape: [Int]? = nil) -> Dataset {
    Dataset(storage: .floats(values), storedScale: 1, count: values.count / f, sampleShape: shape ?? [f],
            targets: [Float](repeating: 0, count: values.count / f), classCount: 1, origin: "mem")
}

@Test func standardizeFitsOnTheTrainingSplitOnly() {
    // Rows 0–3 train, rows 4–5 validation with wild values.
    let values: [Float] = [1, 10, 2, 20, 3, 30, 4, 40, 1000, -5, 2000, 7]
    let ds = floatDataset(values, features: 2)
    let train = DataSplit(dataset: ds, indices: [0, 1, 2, 3])
    let p = Preprocessor.fit([PreprocessStep(kind: .standardize, per: .feature, range: (0, 1))], on: train)
    // Changing the validation rows changes nothing.
    var other = values
    other[8] = -3; other[11] = 99
    let p2 = Preprocessor.fit([PreprocessStep(kind: .standardize, per: .feature, range: (0, 1))],
                              on: DataSplit(dataset: floatDataset(other, features: 2), indices: [0, 1, 2, 3]))
    #expect(p == p2)
    // Mean 2.5, population std √1.25 for feature 0.
    let std = Float(1.25).squareRoot()
    #expect(abs(p.shift[0] + 2.5 / std) < 1e-5 && abs(p.scale[0] - 1 / std) < 1e-5)
    let x = Tensor(zeros: [4, 2])
    var t = [Float](repeating: 0, count: 4)
    p.fill(x, targets: &t, from: train, start: 0, batch: 4)
    let col0 = stride(from: 0, to: 8, by: 2).map { x.scalars[$0] }
    #expect(abs(col0.reduce(0, +)) < 1e-5)
    #expect(abs(col0.map { $0 * $0 }.reduce(0, +) / 4 - 1) < 1e-5)
}

@Test func minmaxAndCenterChain() {
    let ds = floatDataset([0, 5, 10, 5], features: 1)
    let all = DataSplit(all: ds)
    let p = Preprocessor.fit([PreprocessStep(kind: .center, per: .global, range: (0, 1)),
                              PreprocessStep(kind: .minmax, per: .global, range: (-1, 1))], on: all)
    let x = Tensor(zeros: [4, 1])
    var t = [Float](repeating: 0, count: 4)
    p.fill(x, targets: &t, from: all, start: 0, batch: 4)
    #expect(x.scalars == [-1, 0, 1, 0])
}

@Test func perChannelStatisticsPoolEachChannel() {
    // Two channels of 2 pixels: channel 0 values {0, 2, 4, 6}, channel 1 values {10, 10, 10, 10}.
    let ds = floatDataset([0, 2, 10, 10, 4, 6, 10, 10], features: 4, shape: [2, 1, 2])
    let p = Preprocessor.fit([PreprocessStep(kind: .center, per: .channel, range: (0, 1))], on: DataSplit(all: ds))
    #expect(p.shift == [-3, -3, -10, -10])
}

@Test func validationSplitIsSeededAndDisjoint() {
    let ds = floatDataset((0..<100).map(Float.init), features: 1)
    let (t1, v1) = DataSplit.split(ds, validationFraction: 0.2, seed: 1)
    let (_, v2) = DataSplit.split(ds, validationFraction: 0.2, seed: 1)
    let (_, v3) = DataSplit.split(ds, validationFraction: 0.2, seed: 2)
    #expect(v1.count == 20 && t1.count == 80)
    #expect(Set(v1.indices).isDisjoint(with: Set(t1.indices)))
    #expect(v1.indices == v2.indices && v1.indices != v3.indices)
}

/// A feature that is almost always 0 in training (a border pixel) has a tiny std; dividing by it
/// turns a rare nonzero value in validation data into a huge input. `min_std` ("auto": a tenth of
/// the mean std) bounds the divisor; 0 restores plain (x − mean)/std.
@Test func standardizeFloorsTheStdOfNearConstantFeatures() {
    // Feature 0 varies (std 1.5 over the 100 rows), feature 1 is 0 except one row of 0.01.
    var values: [Float] = []
    for i in 0..<100 { values += [Float(i % 4), i == 7 ? 0.01 : 0] }
    let train = DataSplit(all: floatDataset(values, features: 2))
    var step = PreprocessStep(kind: .standardize, per: .feature, range: (0, 1))
    let auto = Preprocessor.fit([step], on: train)
    let std0 = Double(1.25).squareRoot(), std1 = (0.0001 / 100 - 0.0001 * 0.0001).squareRoot()
    let floor = 0.1 * (std0 + std1) / 2
    #expect(abs(Double(auto.scale[0]) - 1 / std0) < 1e-5, "feature 0 keeps its own std")
    #expect(abs(Double(auto.scale[1]) - 1 / floor) / (1 / floor) < 1e-4, "feature 1 is divided by the floor: \(auto.scale[1])")
    // A validation value of 1 in feature 1 stays moderate (≈ 1/0.056 ≈ 18, not ≈ 1000).
    #expect(auto.scale[1] * 1 + auto.shift[1] < 20)
    step.minStd = 0
    let plain = Preprocessor.fit([step], on: train)
    #expect(abs(Double(plain.scale[1]) - 1 / std1) / (1 / std1) < 1e-3)
    step.minStd = 3
    let fixed = Preprocessor.fit([step], on: train)
    #expect(abs(Double(fixed.scale[0]) - 1.0 / 3) < 1e-6 && abs(Double(fixed.scale[1]) - 1.0 / 3) < 1e-6)
}

@Test func classesAndPerClassLimitFilterASource() throws {
    let images = repositoryRoot + "data/fashion-mnist-subset/train-images-idx3-ubyte.gz"
    let labels = repositoryRoot + "data/fashion-mnist-subset/train-labels-idx1-ubyte.gz"
    let all = try Dataset.load(.idx(images: images, labels: labels), task: .classification)
    func label(_ d: Dataset, _ i: Int) -> Int { Int(d.targets[i]) }
    // classes: only those labels, every one of their examples, in file order, pixels kept.
    let some = try Dataset.load(.filtered(.idx(images: images, labels: labels), classes: [1, 8], perClassLimit: nil, seed: 0), task: .classification)
    let expected = (0..<all.count).filter { [1, 8].contains(label(all, $0)) }
    #expect(some.count == expected.count && (0..<some.count).allSatisfy { [1, 8].contains(label(some, $0)) })
    #expect(some.classCount == 9)
    for (k, i) in expected.enumerated().prefix(5) {
        #expect((0..<784).allSatisfy { some.value(k, $0) == all.value(i, $0) })
    }
    // per_class_limit: at most N of each class, a seeded choice; another seed, another choice.
    let capped = try all.filtered(classes: nil, perClassLimit: 7, seed: 3)
    var counts: [Int: Int] = [:]
    for i in 0..<capped.count { counts[label(capped, i), default: 0] += 1 }
    #expect(counts.values.allSatisfy { $0 == 7 } && counts.count == 10)
    #expect(try all.filtered(classes: nil, perClassLimit: 7, seed: 3).targets == capped.targets)
    let other = try all.filtered(classes: nil, perClassLimit: 7, seed: 4)
    #expect(other.count == capped.count)
    var differ = false
    for i in 0..<capped.count where (0..<784).contains(where: { capped.value(i, $0) != other.value(i, $0) }) { differ = true; break }
    #expect(differ)
    // Nothing kept: a data error naming the labels present.
    #expect(throws: DataError.self) { try all.filtered(classes: [42], perClassLimit: nil, seed: 0) }
}
