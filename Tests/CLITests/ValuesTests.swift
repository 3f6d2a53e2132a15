import Foundation
import NNCore
import Testing

/// Values that train silently wrong today and messages that point the wrong way (issue 17,
/// items 14 and 15): each case here exits 0, or blames the wrong thing, without the fix.

private let quickstart = "configs/quickstart.json"

private func json(_ path: String) throws -> JSONValue { try JSONValue.parse(try FileIO.read(path)) }

// MARK: - Item 14: values that trained silently wrong

/// A validation fraction that rounds to 0 examples leaves early stopping watching a metric that
/// never exists (it never stops, restore_best never acts): the same config error as a split of 0.
@Test func aValidationSplitOfZeroExamplesWithAValMonitorIsAConfigError() throws {
    for extra in [["--set", #"training.early_stopping={"monitor": "val_loss"}"#],
                  ["--set", #"schedule={"type": "reduce_on_plateau", "monitor": "val_accuracy"}"#]] {
        let dir = tempDir("tiny-val")
        let r = try nntrain(["run", quickstart, "--out", dir, "--quiet", "--set", "data.validation_split=0.0001",
                             "--set", "training.epochs=1"] + extra, timeout: 120)
        #expect(r.status == 2, "\(extra) \(r.stderr)")
        #expect(r.stderr.contains("$.data.validation_split: data.validation_split 0.0001 of "), "\(r.stderr)")
        #expect(r.stderr.contains("training examples is 0 examples, but "), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/curves.csv"))
    }
}

/// `--resume --set training.epochs=N` below the epochs done cannot go back: refused (exit 2),
/// and config.json keeps the epochs the run was trained for.
@Test func resumingWithFewerEpochsThanDoneIsRefused() throws {
    let dir = tempDir("resume-fewer")
    let r = try nntrain(["run", quickstart, "--out", dir, "--quiet", "--set", "training.epochs=2"], timeout: 180)
    try #require(r.status == 0, "\(r.stderr)")
    let before = try read(dir + "/config.json")
    let resumed = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=1"], timeout: 120)
    #expect(resumed.status == 2, "\(resumed.stderr)")
    #expect(resumed.stderr.contains("$.training.epochs: expected integer >= 2 (the epochs \(dir) has done), got 1"), "\(resumed.stderr)")
    #expect(try read(dir + "/config.json") == before)
}

/// NNTRAIN_THREADS beyond the pool's 64 threads is clamped, and the run says so (the summary
/// records the threads actually used).
@Test func threadsAboveThePoolCapAreClampedAndReported() throws {
    let dir = tempDir("threads-cap")
    let r = try nntrain(["run", quickstart, "--out", dir, "--set", "training.epochs=1", "--set", "data.validation_split=0",
                             "--set", "data.test=null"], environment: ["NNTRAIN_THREADS": "100000"], timeout: 180)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stderr.contains("warning: NNTRAIN_THREADS=100000 is above the 64 threads nntrain can use; clamped to 64"), "\(r.stderr)")
    #expect(try json(dir + "/summary.json")["threads"] == .number(64))
}

// MARK: - Item 15: messages that follow the evidence

/// Huge initial weights diverge at the first step, before the learning rate has done anything:
/// the advice names the initialisation, not the learning rate.
@Test func divergenceFromHugeInitialWeightsNamesTheInit() throws {
    let dir = tempDir("diverge-init")
    let r = try nntrain(["run", quickstart, "--out", dir, "--quiet", "--set", #"model.init={"type": "normal", "std": 1e30}"#])
    #expect(r.status == 4, "\(r.stderr)")
    #expect(r.stderr.contains("The initial weights are huge: layers.1.weight has |w| up to "), "\(r.stderr)")
    #expect(r.stderr.contains("check model.init (its std or gain)"), "\(r.stderr)")
    #expect(!r.stderr.contains("learning rate that is too high"), "\(r.stderr)")
    #expect(r.stderr.contains("No checkpoint was written before the divergence"), "\(r.stderr)")
}

/// NaN weights loaded with model.from are named as such, with the file.
@Test func divergenceFromNaNPretrainedWeightsNamesTheFile() throws {
    let source = tempDir("nan-source")
    let r = try nntrain(["run", quickstart, "--out", source, "--quiet", "--set", "training.epochs=1"])
    try #require(r.status == 0, "\(r.stderr)")
    // Poison the first value of the data section (the first tensor: layers.1.bias or weight).
    var bytes = try FileIO.read(source + "/model.safetensors")
    let headerLength = (0..<8).reduce(0) { $0 | Int(bytes[$1]) << (8 * $1) }
    for (i, b) in [0x00, 0x00, 0xC0, 0x7F].enumerated() { bytes[8 + headerLength + i] = UInt8(b) }
    FileManager.default.createFile(atPath: source + "/model.safetensors", contents: Data(bytes))
    let dir = tempDir("nan-from")
    let d = try nntrain(["run", quickstart, "--out", dir, "--quiet", "--set", "model.from=\(source)/model.safetensors"])
    #expect(d.status == 4 || d.status == 3, "\(d.stderr)")
    if d.status == 4 {
        #expect(d.stderr.contains("holds NaN values after loading model.from (\(source)/model.safetensors)"), "\(d.stderr)")
        #expect(!d.stderr.contains("learning rate that is too high"), "\(d.stderr)")
    } else {
        // Refused when loading (a corrupt file): the file is named.
        #expect(d.stderr.contains("\(source)/model.safetensors"), "\(d.stderr)")
    }
}

/// After updates, a too-high learning rate is the suspect, and the lower rate suggested is a
/// plain finite number.
@Test func divergenceAfterUpdatesSuggestsAFiniteLowerRate() throws {
    let dir = tempDir("diverge-lr")
    let r = try nntrain(["run", quickstart, "--out", dir, "--quiet", "--set", #"optimizer={"type": "sgd", "lr": 1e30}"#])
    #expect(r.status == 4, "\(r.stderr)")
    #expect(r.stderr.contains("try a lower optimizer.lr (e.g. 1e+29)"), "\(r.stderr)")
    #expect(!r.stderr.contains("(e.g. inf") && !r.stderr.contains("(e.g. nan"), "\(r.stderr)")
}

/// `--metric` on a column the run will not have fails before training (exit 2), not after it.
@Test func metricOnAMissingColumnFailsBeforeTraining() throws {
    let dir = tempDir("metric-missing")
    let r = try nntrain(["run", quickstart, "--out", dir, "--set", "data.validation_split=0", "--metric", "val_accuracy"])
    #expect(r.status == 2, "\(r.stderr)")
    #expect(r.stderr.contains("error: --metric val_accuracy: val_accuracy needs validation data"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/curves.csv"))
}

/// `--result-json` in a folder that does not exist is refused before training.
@Test func resultJSONIsCheckedBeforeTraining() throws {
    let dir = tempDir("result-missing-folder")
    let r = try nntrain(["run", quickstart, "--out", dir, "--result-json", dir + "-nowhere/result.json"])
    #expect(r.status == 2, "\(r.stderr)")
    #expect(r.stderr.contains("error: --result-json \(dir)-nowhere/result.json: its folder \(dir)-nowhere does not exist"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/curves.csv"))
    let d = try nntrain(["run", quickstart, "--out", dir, "--result-json", "/tmp"])
    #expect(d.status == 2 && d.stderr.contains("error: --result-json /tmp: is a directory"), "\(d.stderr)")
}

/// A config error still writes `--result-json` (status "failed", the message), so a script
/// reading it never finds a stale or missing file.
@Test func resultJSONIsWrittenOnConfigErrors() throws {
    let dir = tempDir("result-config-error")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let file = dir + "/result.json"
    let r = try nntrain(["run", quickstart, "--set", "optimizer.lr=-1", "--result-json", file])
    #expect(r.status == 2, "\(r.stderr)")
    let result = try json(file)
    #expect(result["status"] == .string("failed"))
    #expect(result["message"]?.stringValue?.contains("$.optimizer.lr: expected number > 0, got -1") == true, "\(result)")
}

/// A diverged run's result JSON carries the summary it wrote (stop_reason "diverged").
@Test func aDivergedRunsResultJSONCarriesItsSummary() throws {
    let dir = tempDir("result-diverged")
    let file = dir + "-result.json"
    let r = try nntrain(["run", quickstart, "--out", dir, "--quiet", "--result-json", file,
                         "--set", #"model.init={"type": "constant", "value": 1e30}"#])
    #expect(r.status == 4, "\(r.stderr)")
    let result = try json(file)
    #expect(result["status"] == .string("diverged"))
    #expect(result["summary"]?["stop_reason"] == .string("diverged"), "\(result)")
}

/// A PCA or ZCA step that the training data makes impossible (values near 3e38, or offsets of
/// 1e20, whose covariance overflows Float32) is a data error naming the file (exit 3), not a
/// divergence blamed on the learning rate, nor a whitening silently skipped.
@Test func preprocessingProblemsAreDataErrors() throws {
    let dir = tempDir("preprocess-data")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var huge = "", offset = ""
    for i in 0..<120 {
        huge += "\(i % 3),\(Double(i + 1) * 2e36),\(Double(i % 7) / 7),1\n"
        offset += "\(i % 3),\(1e20 + Double(i) * 1e15),\(Double(i % 7) / 7),\(Double(i % 5))\n"
    }
    try huge.write(toFile: dir + "/huge.csv", atomically: true, encoding: .utf8)
    try offset.write(toFile: dir + "/offset.csv", atomically: true, encoding: .utf8)
    for (file, preprocess, phrase) in [("huge.csv", #"[{"type": "pca", "components": 3}]"#, "the pca step of data.preprocess"),
                                       ("offset.csv", #"[{"type": "zca"}]"#, "the zca step of data.preprocess")] {
        let config = """
        {"name": "p", "seed": 1, "threads": 1,
         "data": {"train": {"format": "csv", "path": "\(file)"}, "validation_split": 0.1, "preprocess": \(preprocess)},
         "model": {"input": [3], "layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 3}]},
         "training": {"epochs": 1, "batch_size": 20}}
        """
        try config.write(toFile: dir + "/config.json", atomically: true, encoding: .utf8)
        let r = try nntrain(["run", dir + "/config.json", "--out", dir + "/run", "--force", "--quiet"])
        #expect(r.status == 3, "\(file) \(r.stderr)")
        #expect(r.stderr.contains("\(dir)/\(file): ") && r.stderr.contains(phrase), "\(r.stderr)")
        #expect(!r.stderr.contains("learning rate"), "\(r.stderr)")
    }
}
