import Foundation
import NNCore
import Testing

/// A verdict a user acts on (exit code, `stop_reason`, the validation figures) is never wrong:
/// dead runs are not "completed", and runs that differ only in their training seed are compared
/// on the same validation examples.

private func summary(_ dir: String) throws -> JSONValue { try JSONValue.parse(try FileIO.read(dir + "/summary.json")) }

/// SGD at lr 50 with `on_nan: "skip_batch"` skips almost every batch.
private let deadRun = ["--quiet", "--set", #"optimizer={"type": "sgd", "lr": 50}"#, "--set", "training.on_nan=skip_batch",
                       "--set", "training.epochs=3"]

@Test func aNaNValidationLossEndsTheRunAsDiverged() throws {
    let dir = tempDir("nan-val")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir] + deadRun)
    #expect(r.status == 4, "\(r.stderr)")
    let s = try summary(dir)
    #expect(s["stop_reason"] == .string("diverged"))
    #expect(r.stderr.contains("the validation loss is NaN after epoch 1"), "\(r.stderr)")
    // It says what is on disk, and that is what is on disk.
    #expect(r.stderr.contains("No checkpoint was written before the divergence and no weights are saved."), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/checkpoint/checkpoint.safetensors"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/model.safetensors"))
}

@Test func anEpochWhoseEveryBatchWasSkippedIsDivergedNotAZeroLoss() throws {
    let dir = tempDir("all-skipped")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--set", "data.validation_split=0"] + deadRun)
    #expect(r.status == 4, "\(r.stderr)")
    #expect(try summary(dir)["stop_reason"] == .string("diverged"))
    #expect(r.stderr.contains("every batch of epoch 2 had a NaN or infinite loss or gradient and was skipped"), "\(r.stderr)")
    // Epoch 1 trained some batches and was checkpointed; epoch 2 wrote no row of zeros.
    #expect(r.stderr.contains("checkpoint/ holds the state after epoch 1 (step 47)"), "\(r.stderr)")
    let rows = try read(dir + "/curves.csv").split(separator: "\n").dropFirst()
    #expect(rows.count == 1, "\(rows)")
    for row in rows { #expect(!row.split(separator: ",")[3].hasPrefix("0.0"), "\(row)") }
}

@Test func divergenceAtTheFirstStepSaysNoCheckpointExists() throws {
    let dir = tempDir("diverge-first")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "model.init={\"type\": \"constant\", \"value\": 1e30}"])
    #expect(r.status == 4, "\(r.stderr)")
    #expect(!r.stderr.contains("checkpoint (end of epoch 0) is kept"), "\(r.stderr)")
    #expect(r.stderr.contains("No checkpoint was written before the divergence"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/checkpoint/checkpoint.safetensors"))
}

@Test func evalWithNaNWeightsExitsFour() throws {
    let dir = tempDir("eval-nan")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=1"])
    try #require(r.status == 0, "\(r.stderr)")
    // Poison the first weight of the file, re-signed: weights that are NaN as written (a file
    // changed after it was written fails its checksum instead, exit 3).
    let file = try Safetensors.decodeFile(try FileIO.read(dir + "/model.safetensors"))
    var entries = file.entries
    entries[0].values[0] = .nan
    let bytes = Safetensors.encode(entries, metadata: file.metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, checksum: true)
    FileManager.default.createFile(atPath: dir + "/model.safetensors", contents: Data(bytes))
    let e = try nntrain(["eval", dir, "--json"])
    #expect(e.status == 4, "\(e.stdout) \(e.stderr)")
    #expect(e.stderr.contains("is NaN: the model's outputs are not finite"), "\(e.stderr)")
    #expect(e.stdout.contains("\"loss\": null"), "\(e.stdout)")
}

/// Runs that differ only in their training seed, and whose training does not depend on it (a
/// constant init, no shuffling, no dropout), see the same validation examples: identical
/// validation losses. Before `data.split_seed` each drew its own split from its seed.
@Test func theValidationSplitComesFromTheSplitSeedNotTheTrainingSeed() throws {
    func valLosses(seed: Int, splitSeed: Int? = nil) throws -> [Substring] {
        let dir = tempDir("split-\(seed)-\(splitSeed ?? -1)")
        var args = ["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "seed=\(seed)", "--set", "training.epochs=2",
                    "--set", "training.shuffle=false", "--set", "model.layers.2.rate=0",
                    "--set", #"model.init={"type": "constant", "value": 0.001}"#]
        if let splitSeed { args += ["--set", "data.split_seed=\(splitSeed)"] }
        let r = try nntrain(args)
        try #require(r.status == 0, "\(r.stderr)")
        return try read(dir + "/curves.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",")[5] }
    }
    let a = try valLosses(seed: 1), b = try valLosses(seed: 2)
    #expect(a == b, "val_loss with seeds 1 and 2: \(a) vs \(b)")
    // The split seed does change the split.
    #expect(try valLosses(seed: 1, splitSeed: 9) != a)
}

/// Two processes on one run directory: the second exits 2 naming the first's pid, and the
/// first's files stay its own.
@Test func aSecondWriterOfARunDirectoryExitsTwoNamingTheHolder() throws {
    let dir = tempDir("locked")
    let first = Process()
    first.executableURL = URL(fileURLWithPath: binary)
    first.arguments = ["run", root + "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=40", "--set", "seed=1"]
    first.environment = ["NNTRAIN_THREADS": "1"]
    try first.run()
    let deadline = Date().addingTimeInterval(60)
    while !FileManager.default.fileExists(atPath: dir + "/curves.csv") && first.isRunning && Date() < deadline {
        Thread.sleep(forTimeInterval: 0.01)
    }
    for args in [["run", "configs/quickstart.json", "--out", dir, "--force", "--set", "seed=2"], ["run", "--resume", dir]] {
        let second = try nntrain(args)
        #expect(second.status == 2, "\(args): \(second.stderr)")
        #expect(second.stderr.contains("is being written by another nntrain process (pid \(first.processIdentifier))"), "\(second.stderr)")
    }
    first.waitUntilExit()
    #expect(first.terminationStatus == 0)
    let config = try JSONValue.parse(try FileIO.read(dir + "/config.json"))
    #expect(config["seed"] == .number(1))
    let rows = try read(dir + "/curves.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",")[0] }
    #expect(rows == (1...40).map { Substring(String($0)) })
    // Once the first is done the directory is free again.
    let after = try nntrain(["run", "--resume", dir, "--set", "training.epochs=41", "--quiet"])
    #expect(after.status == 0, "\(after.stderr)")
}

@Test func anEmptyOutputPathIsAUsageError() throws {
    let empty = try nntrain(["run", "configs/quickstart.json", "--out", "", "--quiet"])
    #expect(empty.status == 2, "\(empty.stderr)")
    #expect(empty.stderr.contains("the run directory is an empty path"), "\(empty.stderr)")
    let set = try nntrain(["run", "configs/quickstart.json", "--set", "output.dir=", "--quiet"])
    #expect(set.status == 2, "\(set.stderr)")
    #expect(set.stderr.contains("$.output.dir: expected a directory path or null, got an empty string"), "\(set.stderr)")
    #expect(!FileManager.default.fileExists(atPath: root + "configs/curves.csv"))
}

/// A config or data file given as a pipe (`run <(cat cfg)`, `/dev/stdin`) is read to its end,
/// not taken for empty by its `fstat` size.
@Test func aConfigThroughAPipeIsRead() throws {
    let dir = tempDir("pipe")
    let text = try read(root + "configs/quickstart.json").replacingOccurrences(of: "../data/", with: root + "data/")
    let config = dir + "-config.json"
    FileManager.default.createFile(atPath: config, contents: Data(text.utf8))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "cat \"$1\" | \"$0\" run /dev/stdin --out \"$2\" --quiet --set training.epochs=1", binary, config, dir]
    p.environment = ["NNTRAIN_THREADS": "1"]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    #expect(FileManager.default.fileExists(atPath: dir + "/summary.json"))
}

/// `nntrain run … 2>&1 | head -3`: the closed pipe does not kill the run, which writes its
/// results as usual; SIGHUP (a closed terminal) ends it like SIGTERM.
@Test func aClosedProgressPipeDoesNotKillTheRun() throws {
    let dir = tempDir("sigpipe")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", "\"$0\" run \"$1\" --out \"$2\" --set training.epochs=3 2>&1 | head -1; exit ${PIPESTATUS[0]}",
                   binary, root + "configs/quickstart.json", dir]
    p.environment = ["NNTRAIN_THREADS": "1"]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    #expect(try JSONValue.parse(try FileIO.read(dir + "/summary.json"))["stop_reason"] == .string("completed"))
    #expect(FileManager.default.fileExists(atPath: dir + "/model.safetensors"))
}

@Test func sigHupEndsARunLikeSigTerm() throws {
    let dir = tempDir("sighup")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--set", "training.epochs=500"], signal: SIGHUP,
                        after: 0.2, once: dir + "/curves.csv")
    #expect(r.status == 143, "\(r.stderr)")
    #expect(try JSONValue.parse(try FileIO.read(dir + "/summary.json"))["stop_reason"] == .string("interrupted"))
    #expect(FileManager.default.fileExists(atPath: dir + "/checkpoint/checkpoint.safetensors"))
}

/// A FIFO as data blocks until a writer comes; SIGTERM meanwhile is an interruption (143), not a
/// data error, and no hang.
@Test func aSignalWhileWaitingOnAFIFOIsAnInterruption() throws {
    let dir = tempDir("fifo")
    let fifo = dir + "-images"
    unlink(fifo)
    #expect(mkfifo(fifo, 0o600) == 0)
    defer { unlink(fifo) }
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--set", "data.train.images=" + fifo], signal: SIGTERM,
                        after: 0.5, timeout: 30)
    #expect(r.status == 143, "\(r.stderr)")
    #expect(r.stderr.contains("interrupted (SIGTERM) before training began; nothing was written"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: dir + "/summary.json"))
}
