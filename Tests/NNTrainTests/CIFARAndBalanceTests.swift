import NNCore
@testable import NNTrain
import Testing

/// A synthetic CIFAR-10 batch: record i has label i % classes, and pixel (channel c, row y,
/// column x) = (i + 3c + 5y + 7x) mod 256.
func syntheticCIFAR(records: Int, classes: Int = 10) -> [UInt8] {
    var bytes: [UInt8] = []
    for i in 0..<records {
        bytes.append(UInt8(i % classes))
        for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { bytes.append(UInt8((i + 3 * c + 5 * y + 7 * x) % 256)) } } }
    }
    return bytes
}

@Test func cifarRecordsLoadAsNCHWImages() throws {
    let dir = scratchDirectory("cifar")
    try FileIO.makeDirectories(dir)
    try FileIO.writeAtomically(dir + "/data_batch_1.bin", syntheticCIFAR(records: 12))
    try FileIO.writeAtomically(dir + "/data_batch_2.bin", syntheticCIFAR(records: 8))
    let d = try Dataset.load(.cifar10(files: [dir + "/data_batch_1.bin", dir + "/data_batch_2.bin"]), task: .classification)
    #expect(d.count == 20 && d.sampleShape == [3, 32, 32] && d.classCount == 10)
    #expect(d.targets[13] == 1)  // record 1 of the second file
    // Green plane (c = 1), row 2, column 3 of record 5: (5 + 3 + 10 + 21) mod 256 = 39.
    #expect(d.value(5, 1 * 1024 + 2 * 32 + 3) == Float(39) / 255)
}

@Test func corruptCIFARIsADataError() throws {
    let dir = scratchDirectory("cifar-bad")
    try FileIO.makeDirectories(dir)
    var truncated = syntheticCIFAR(records: 3)
    truncated.removeLast(100)
    try FileIO.writeAtomically(dir + "/t.bin", truncated)
    var badLabel = syntheticCIFAR(records: 3)
    badLabel[CIFAR10.recordSize] = 42
    try FileIO.writeAtomically(dir + "/l.bin", badLabel)
    for (file, fragment) in [("t.bin", "not a whole number"), ("l.bin", "record 1 has label 42")] {
        do {
            _ = try Dataset.load(.cifar10(files: [dir + "/" + file]), task: .classification)
            Issue.record("accepted \(file)")
        } catch {
            #expect(error.file == dir + "/" + file && error.message.contains(fragment), "\(error)")
        }
    }
}

@Test func aSmallCNNTrainsOnCIFAR() throws {
    let dir = scratchDirectory("cifar-run")
    try FileIO.makeDirectories(dir)
    try FileIO.writeAtomically(dir + "/train.bin", syntheticCIFAR(records: 40))
    let text = """
    {"name": "cifar", "seed": 1, "threads": 1,
     "data": {"train": {"format": "cifar10", "files": ["\(dir)/train.bin"]}, "validation_split": 0.25,
              "preprocess": [{"type": "standardize", "per": "channel"}]},
     "model": {"input": [3, 32, 32], "layers": [
       {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "activation": "relu"},
       {"type": "batch_norm"}, {"type": "max_pool2d"}, {"type": "global_avg_pool"}, {"type": "dense", "units": 10}]},
     "training": {"epochs": 2, "batch_size": 10}}
    """
    let (result, _) = try runExperiment(text, name: "cifar-train")
    #expect(result.outcome.stopReason == .completed && result.outcome.lastCurve?.loss.isFinite == true)
}

@Test(arguments: [DataConfig.Balance.oversample, .undersample])
func balancingEqualisesTheClasses(mode: DataConfig.Balance) {
    // Classes 0, 1, 2 with 50, 10 and 5 examples.
    let labels: [Float] = [Float](repeating: 0, count: 50) + [Float](repeating: 1, count: 10) + [Float](repeating: 2, count: 5)
    let ds = Dataset(storage: .floats((0..<labels.count).map(Float.init)), storedScale: 1, count: labels.count, sampleShape: [1],
                     targets: labels, classCount: 3, origin: "mem")
    let split = DataSplit(all: ds).balanced(mode, seed: 4)
    let counts = (0..<3).map { c in split.indices.filter { ds.targets[Int($0)] == Float(c) }.count }
    #expect(counts == (mode == .oversample ? [50, 50, 50] : [5, 5, 5]))
    // Oversampling keeps every original example; undersampling draws without repetition.
    if mode == .oversample { #expect(Set(split.indices).count == labels.count) } else { #expect(Set(split.indices).count == 15) }
    #expect(split.indices == DataSplit(all: ds).balanced(mode, seed: 4).indices)
    #expect(split.indices != DataSplit(all: ds).balanced(mode, seed: 5).indices)
}
