import Foundation
import NNCore
import Testing

/// The repository root (this file is Tests/CLITests/CLITests.swift).
let root = String(#filePath.dropLast("Tests/CLITests/CLITests.swift".count))

/// The binary under test: $NNTRAIN_BIN (set by `make test` to the release build), else the
/// debug build `swift test` made.
let binary: String = {
    if let b = ProcessInfo.processInfo.environment["NNTRAIN_BIN"], !b.isEmpty { return b }
    for c in [".build/release/nntrain", ".build/debug/nntrain"] where FileManager.default.isExecutableFile(atPath: root + c) {
        return root + c
    }
    return root + ".build/debug/nntrain"
}()

struct RunOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs nntrain with `args` in the repository root; optionally sends `signal` after `delay` s.
/// Runs nntrain; with `signal`, sends it `delay` seconds after start — or, with `once`, after
/// that file appears (training has begun), however slow the machine.
/// `environment` is added to the inherited one; with `stdoutTo`, standard output goes to that
/// file (e.g. /dev/full) instead of a pipe, and `stdout` comes back empty.
func nntrain(_ args: [String], signal: Int32? = nil, after delay: Double = 0, once file: String? = nil,
             memoryLimitKB: Int? = nil, environment: [String: String] = [:], timeout: Double? = nil,
             stdoutTo stdoutPath: String? = nil) throws -> RunOutput {
    let p = Process()
    if let kb = memoryLimitKB {
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -v \(kb); exec \"$0\" \"$@\"", binary] + args
    } else {
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
    }
    p.currentDirectoryURL = URL(fileURLWithPath: root)
    var env = ProcessInfo.processInfo.environment
    env["NNTRAIN_THREADS"] = "1"
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe(), err = Pipe()
    if let stdoutPath {
        guard let handle = FileHandle(forWritingAtPath: stdoutPath) else { throw CLIError(message: "cannot open \(stdoutPath)") }
        p.standardOutput = handle
    } else {
        p.standardOutput = out
    }
    p.standardError = err
    try p.run()
    if let signal {
        if let file {
            let deadline = Date().addingTimeInterval(60)
            while !FileManager.default.fileExists(atPath: file) && p.isRunning && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        Thread.sleep(forTimeInterval: delay)
        kill(p.processIdentifier, signal)
    }
    if let timeout {
        let pid = p.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { kill(pid, SIGKILL) }
    }
    let o = stdoutPath == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    return RunOutput(status: status, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

func tempDir(_ name: String) -> String {
    let d = NSTemporaryDirectory() + "nntrain-cli-\(name)-\(getpid())"
    try? FileManager.default.removeItem(atPath: d)
    return d
}

func read(_ path: String) throws -> String { String(decoding: try FileIO.read(path), as: UTF8.self) }

@Test func versionAndHelp() throws {
    let v = try nntrain(["--version"])
    #expect(v.status == 0 && v.stdout.hasPrefix("nntrain "))
    let h = try nntrain(["--help"])
    #expect(h.status == 0 && h.stdout.contains("nntrain run CONFIG") && h.stdout.contains("EXIT CODES"))
    let rh = try nntrain(["run", "--help"])
    #expect(rh.status == 0 && rh.stdout.contains("--set key.path=value"))
    let vh = try nntrain(["help", "validate"])
    #expect(vh.status == 0 && vh.stdout.contains("without loading data"))
    let bad = try nntrain(["runn"])
    #expect(bad.status == 2 && bad.stderr.contains("Did you mean \"run\"?"))
    let opt = try nntrain(["run", "configs/quickstart.json", "--thread", "2"])
    #expect(opt.status == 2 && opt.stderr.contains("Did you mean --threads?"))
}

@Test func quickstartTrainsAndWritesEveryFile() throws {
    let dir = tempDir("quickstart")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("test_accuracy"))
    // curves.csv: the fixed header, one row per epoch, loss falls.
    let lines = try read(dir + "/curves.csv").split(separator: "\n")
    #expect(lines[0] == "epoch,step,lr,loss,accuracy,val_loss,val_accuracy,seconds")
    let rows = lines.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
    #expect(rows.count == 8 && rows.allSatisfy { $0.count == 8 })
    #expect(Double(rows.last![3])! < Double(rows.first![3])! * 0.5)
    // summary.json parses and is far above chance (10%).
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    #expect((summary["test_accuracy"]?.doubleValue ?? 0) > 0.7)
    #expect(summary["stop_reason"] == .string("completed") && summary["epochs_run"] == .number(8))
    for key in ["test_loss", "best_val_loss", "best_val_accuracy", "best_epoch", "seconds", "samples_per_second"] {
        #expect(summary[key]?.doubleValue != nil, "\(key)")
    }
    // model.safetensors: PyTorch state-dict names and shapes.
    let (entries, _) = try Safetensors.decode(try FileIO.read(dir + "/model.safetensors"))
    #expect(entries.map(\.name) == ["layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias"])
    #expect(entries.map(\.shape) == [[128, 784], [128], [10, 128], [10]])
    #expect(entries.allSatisfy { $0.values.allSatisfy(\.isFinite) })
    let config = try JSONValue.parse(try FileIO.read(dir + "/config.json"))
    #expect(config["optimizer"]?["betas"] != nil)  // defaults filled in
    #expect(try read(dir + "/steps.csv").hasPrefix("step,epoch,lr,loss,grad_norm\n10,1,"))
    // `eval` rebuilds the model and its preprocessing from the files and gets the same figures.
    let e = try nntrain(["eval", dir, "--json"])
    #expect(e.status == 0, "\(e.stderr)")
    let ev = try JSONValue.parse(e.stdout)
    #expect(ev["accuracy"] == summary["test_accuracy"] && ev["examples"] == .number(500))
    #expect(abs((ev["loss"]?.doubleValue ?? 0) - (summary["test_loss"]?.doubleValue ?? 1)) < 1e-9)
    let missing = try nntrain(["eval", dir, "--data", #"{"format": "csv"}"#])
    #expect(missing.status == 2 && missing.stderr.contains("--data: $.path: missing required key"), "\(missing.stderr)")
}

@Test func twoRunsWithTheSameSeedWriteTheSameCurves() throws {
    func curves(_ name: String, _ extra: [String]) throws -> [String] {
        let dir = tempDir(name)
        let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=2"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        return try read(dir + "/curves.csv").split(separator: "\n").map { String($0[..<$0.lastIndex(of: ",")!]) }
    }
    let a = try curves("det-a", []), b = try curves("det-b", []), c = try curves("det-c", ["--set", "seed=7"])
    #expect(a == b)
    #expect(a != c)
}

@Test func validateReportsEveryProblemAtOnce() throws {
    let good = try nntrain(["validate", "configs/fashion-mlp.json"])
    #expect(good.status == 0)
    #expect(good.stdout.contains("parameters: 535818"))
    #expect(good.stdout.contains("layers.1") && good.stdout.contains("[512]"))
    #expect(good.stdout.contains("learning rate (cosine)") && good.stdout.contains("epoch 10:"))
    let bad = try nntrain(["validate", "configs/quickstart.json", "--set", "optimizer.lr=-1",
                           "--set", "training.epochs=0", "--set", "optimiser={}"])
    #expect(bad.status == 2)
    #expect(bad.stderr.contains("configs/quickstart.json: $.optimizer.lr: expected number > 0, got -1"))
    #expect(bad.stderr.contains("$.training.epochs: expected integer in 1...1000000, got 0"))
    #expect(bad.stderr.contains(#"$.optimiser: unknown key. Did you mean "optimizer"?"#))
    #expect(bad.stderr.contains("3 problems found"))
}

@Test func exitCodesFollowTheContract() throws {
    let dir = tempDir("codes")
    // 2: config and usage errors
    #expect(try nntrain(["run"]).status == 2)
    #expect(try nntrain(["run", "no/such/config.json"]).status == 2)
    let syntax = dir + "-syntax.json"
    try FileIO.writeAtomically(syntax, text: "{\"name\": \"x\",\n \"seed\": }")
    let s = try nntrain(["run", syntax])
    #expect(s.status == 2 && s.stderr.contains("$.seed: invalid JSON at line 2, column 10"), "\(s.stderr)")
    let shapes = try nntrain(["run", "configs/quickstart.json", "--set", "model.layers.0.type=dropout", "--out", dir])
    #expect(shapes.status == 2 && shapes.stderr.contains("$.model.layers.1: dense expects a flat input [features]"))
    let units = try nntrain(["run", "configs/quickstart.json", "--set", "model.layers.3.units=7", "--out", dir])
    #expect(units.status == 3 && units.stderr.contains("train-labels-idx1-ubyte.gz: label ") && units.stderr.contains("the data has 10 classes"), "\(units.stderr)")
    // 3: data errors
    let missing = try nntrain(["run", "configs/quickstart.json", "--set", "data.train.images=/nonexistent.gz", "--out", dir])
    #expect(missing.status == 3 && missing.stderr.contains("/nonexistent.gz"), "\(missing.stderr)")
    let gz = try FileIO.read(root + "data/fashion-mnist-subset/train-images-idx3-ubyte.gz")
    let truncated = dir + "-truncated.gz"
    try FileIO.writeAtomically(truncated, Array(gz.prefix(gz.count / 3)))
    let corrupt = try nntrain(["run", "configs/quickstart.json", "--set", "data.train.images=\(truncated)", "--out", dir])
    #expect(corrupt.status == 3 && corrupt.stderr.contains("\(truncated): gzip data is truncated"), "\(corrupt.stderr)")
    // 4: divergence, with the summary saying so
    let div = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--force", "--quiet",
                           "--set", "optimizer={\"type\": \"sgd\", \"lr\": 1e30}"])
    #expect(div.status == 4 && div.stderr.contains("learning rate"), "\(div.stderr)")
    #expect(try JSONValue.parse(try FileIO.read(dir + "/summary.json"))["stop_reason"] == .string("diverged"))
    // 2: an existing run is not overwritten without --force
    let again = try nntrain(["run", "configs/quickstart.json", "--out", dir])
    #expect(again.status == 2 && again.stderr.contains("--force"))
}

@Test func sigintStopsCleanlyWithExitCode130() throws {
    let dir = tempDir("sigint")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--set", "training.epochs=100000"],
                        signal: SIGINT, after: 0.5, once: dir + "/curves.csv")
    #expect(r.status == 130, "\(r.stderr)")
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    #expect(summary["stop_reason"] == .string("interrupted"))
    let rows = try read(dir + "/curves.csv").split(separator: "\n")
    #expect(rows.count >= 2)
}

/// `nntrain bench` on a small CNN at 2 threads: the convolution's sample blocks run their
/// products on pool workers while the trace records them (this once crashed), one per block.
@Test func benchTracesAConvolutionSplitOverTwoThreads() throws {
    let dir = tempDir("bench-conv")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let config = dir + "/cnn.json"
    try FileIO.writeAtomically(config, text: """
    {"name": "cnn", "seed": 1,
     "data": {"train": {"format": "idx", "images": "data/fashion-mnist-subset/train-images-idx3-ubyte.gz",
                        "labels": "data/fashion-mnist-subset/train-labels-idx1-ubyte.gz"}},
     "model": {"input": [1, 28, 28], "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "activation": "relu"},
               {"type": "max_pool2d", "kernel_size": 2}, {"type": "flatten"}, {"type": "dense", "units": 10}]},
     "optimizer": {"type": "adam", "lr": 0.001}, "training": {"epochs": 1, "batch_size": 256}}
    """)
    // 256 samples in chunks of 2¹⁷ / ((9 + 8)·784) = 9 (cols and z of a chunk near 512 KB):
    // conv forward and dW per chunk (no dx for the first layer), dense forward, dW and dx.
    for threads in [1, 2] {
        let chunks = threads * (((256 + threads - 1) / threads + 8) / 9)
        let products = 2 * chunks + 3
        let r = try nntrain(["bench", config, "--threads", "\(threads)", "--steps", "3", "--json"], timeout: 120)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONValue.parse(r.stdout)
        #expect(json["gemm_calls"]?.doubleValue == Double(products))
    }
}
