import Foundation
import NNCore
import Testing

/// The settings of every resume test: quickstart, 12 epochs (NNTRAIN_KILL_EPOCHS for
/// `make fuzz`), a checkpoint every 5 steps.
let resumeSettings = ["--quiet", "--set", "training.epochs=\(ProcessInfo.processInfo.environment["NNTRAIN_KILL_EPOCHS"] ?? "12")",
                      "--set", "training.checkpoint_every_steps=5"]

/// curves.csv without its `seconds` column, steps.csv and model.safetensors of a run.
struct RunFingerprint: Equatable {
    var curves: [String]
    var steps: String
    var model: [UInt8]

    init(_ dir: String) throws {
        curves = try read(dir + "/curves.csv").split(separator: "\n").map { String($0[..<$0.lastIndex(of: ",")!]) }
        steps = try read(dir + "/steps.csv")
        model = try FileIO.read(dir + "/model.safetensors")
    }
}

/// The same run left alone (computed once, shared by the tests).
let uninterrupted: Swift.Result<RunFingerprint, Error> = Swift.Result {
    let dir = tempDir("resume-reference")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir] + resumeSettings)
    guard r.status == 0 else { throw CLIError(message: r.stderr) }
    return try RunFingerprint(dir)
}

struct CLIError: Error { var message: String }

/// Every file of a run directory is whole: JSON parses, the checkpoint decodes, CSV rows are complete.
func expectIntact(_ dir: String, _ context: String) throws {
    let fm = FileManager.default
    if fm.fileExists(atPath: dir + "/config.json") {
        #expect((try? JSONValue.parse(try FileIO.read(dir + "/config.json"))) != nil, "config.json torn \(context)")
    }
    if fm.fileExists(atPath: dir + "/summary.json") {
        #expect((try? JSONValue.parse(try FileIO.read(dir + "/summary.json"))) != nil, "summary.json torn \(context)")
    }
    let ckpt = dir + "/checkpoint/checkpoint.safetensors"
    if fm.fileExists(atPath: ckpt) {
        #expect((try? Safetensors.decode(try FileIO.read(ckpt))) != nil, "checkpoint torn \(context)")
    }
    for (file, fields) in [("curves.csv", 8), ("steps.csv", 5)] where fm.fileExists(atPath: dir + "/" + file) {
        let text = try read(dir + "/" + file)
        #expect(text.isEmpty || text.hasSuffix("\n"), "\(file) ends mid-row \(context)")
        for line in text.split(separator: "\n") {
            #expect(line.split(separator: ",", omittingEmptySubsequences: false).count == fields, "\(file) row \(line) \(context)")
        }
    }
}

@Test func killNineLoopThenResumeMatchesTheUninterruptedRun() throws {
    let reference = try uninterrupted.get()
    let dir = tempDir("kill9")
    var rng = SplitMix64(seed: UInt64(ProcessInfo.processInfo.environment["NNTRAIN_KILL_SEED"] ?? "") ?? 2026)
    let kills = Int(ProcessInfo.processInfo.environment["NNTRAIN_KILL_LOOPS"] ?? "") ?? 10
    var finished = false
    var killed = 0
    defer { print("kill -9 loop: \(killed) kills, then a resume to the end; every file intact, result equal: see expectations") }
    for k in 0..<kills {
        let started = FileManager.default.fileExists(atPath: dir + "/config.json")
        let args = started ? ["run", "--resume", dir] + resumeSettings : ["run", "configs/quickstart.json", "--out", dir, "--force"] + resumeSettings
        let delay = 0.03 + Double(rng.next() % 1000) / 1000 * 0.3
        let r = try nntrain(args, signal: SIGKILL, after: delay)
        try expectIntact(dir, "after kill \(k) at \(delay) s")
        if r.status == 0 { finished = true; break }
        #expect(r.status == 128 + SIGKILL, "kill \(k): \(r.stderr)")
        killed += 1
    }
    if !finished {
        let r = try nntrain(["run", "--resume", dir] + resumeSettings)
        #expect(r.status == 0, "\(r.stderr)")
    }
    try expectIntact(dir, "at the end")
    #expect(try RunFingerprint(dir) == reference)
}

@Test func sigtermWritesACheckpointAndResumeMatches() throws {
    let reference = try uninterrupted.get()
    let dir = tempDir("sigterm")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir] + resumeSettings, signal: SIGTERM, after: 0.2,
                        once: dir + "/steps.csv")
    #expect(r.status == 143, "\(r.stderr)")
    #expect(r.stderr.contains("nntrain run --resume \(dir)"))
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    #expect(summary["stop_reason"] == .string("interrupted"))
    #expect(FileManager.default.fileExists(atPath: dir + "/checkpoint/checkpoint.safetensors"))
    let resumed = try nntrain(["run", "--resume", dir] + resumeSettings)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try RunFingerprint(dir) == reference)
}

@Test func secondSigintExitsAtOnceAndTheCheckpointSurvives() throws {
    let reference = try uninterrupted.get()
    let dir = tempDir("sigint2")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = ["run", "configs/quickstart.json", "--out", dir] + resumeSettings
    p.currentDirectoryURL = URL(fileURLWithPath: root)
    p.environment = ProcessInfo.processInfo.environment.merging(["NNTRAIN_THREADS": "1"]) { $1 }
    p.standardError = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(60)
    while !FileManager.default.fileExists(atPath: dir + "/steps.csv") && p.isRunning && Date() < deadline {
        Thread.sleep(forTimeInterval: 0.01)
    }
    Thread.sleep(forTimeInterval: 0.2)
    kill(p.processIdentifier, SIGINT)
    kill(p.processIdentifier, SIGINT)
    p.waitUntilExit()
    let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
    #expect(status == 130)
    try expectIntact(dir, "after a double SIGINT")
    let resumed = try nntrain(["run", "--resume", dir] + resumeSettings)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try RunFingerprint(dir) == reference)
}

@Test func resumeRefusesAChangedConfigButTakesMoreEpochs() throws {
    let dir = tempDir("changed")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=2"]).status == 0)
    let changed = try nntrain(["run", "--resume", dir, "--set", "optimizer.lr=0.01", "--set", "model.layers.2.rate=0.3"])
    #expect(changed.status == 2)
    #expect(changed.stderr.contains("$.optimizer.lr: 0.001 → 0.01"), "\(changed.stderr)")
    #expect(changed.stderr.contains("$.model.layers.2.rate: 0.1 → 0.3"))
    let more = try nntrain(["run", "--resume", dir, "--quiet", "--set", "training.epochs=4"])
    #expect(more.status == 0, "\(more.stderr)")
    #expect(try read(dir + "/curves.csv").split(separator: "\n").count == 5)
    let forced = try nntrain(["run", "--resume", dir, "--quiet", "--force", "--set", "training.epochs=5", "--set", "optimizer.lr=0.0005"])
    #expect(forced.status == 0, "\(forced.stderr)")
    #expect(try read(dir + "/curves.csv").split(separator: "\n").count == 6)
    let none = try nntrain(["run", "--resume", tempDir("nothing-here")])
    #expect(none.status == 2 && none.stderr.contains("no run to resume"))
}

/// A text run with every text augmentation (the committed WordNet fixture): stopped after epoch
/// 2 and resumed, or stopped by SIGTERM in the middle of an epoch (a batch prefetched) and
/// resumed, it ends with the same curves, steps and weights as the run left alone.
@Test func textAugmentedRunResumesIdentically() throws {
    let wordnet = root + "Tests/NNTrainTests/Fixtures/wordnet"
    let augment = #"data.augment=[{"type": "sentence_shuffle", "p": 0.5}, {"type": "synonym_replacement", "p": 0.2, "wordnet": "\#(wordnet)"}, {"type": "random_insertion", "p": 0.1, "wordnet": "\#(wordnet)"}, {"type": "random_swap", "p": 0.1}, {"type": "random_deletion", "p": 0.1}]"#
    // A constant rate: the cosine schedule would depend on training.epochs, which the resume changes.
    let sets = ["--quiet", "--threads", "1", "--set", augment, "--set", "training.early_stopping=null", "--set", "training.log_every=5", "--set", "schedule.type=constant",
                "--set", "training.checkpoint_every_steps=7"]
    let whole = tempDir("text-aug-whole"), parts = tempDir("text-aug-parts"), stopped = tempDir("text-aug-sigterm")
    let w = try nntrain(["run", "configs/wordnet-bow.json", "--out", whole, "--set", "training.epochs=6"] + sets)
    try #require(w.status == 0, "\(w.stderr)")
    let reference = try RunFingerprint(whole)
    #expect(try nntrain(["run", "configs/wordnet-bow.json", "--out", parts, "--set", "training.epochs=2"] + sets).status == 0)
    let resumed = try nntrain(["run", "--resume", parts, "--set", "training.epochs=6"] + sets)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try RunFingerprint(parts) == reference)
    let s = try nntrain(["run", "configs/wordnet-bow.json", "--out", stopped, "--set", "training.epochs=6"] + sets, signal: SIGTERM, after: 0.01,
                        once: stopped + "/steps.csv")
    #expect(s.status == 143 || s.status == 0, "\(s.stderr)")
    if s.status == 143 {
        let again = try nntrain(["run", "--resume", stopped] + sets)
        #expect(again.status == 0, "\(again.stderr)")
    } else {
        print("textAugmentedRunResumesIdentically: the run ended before SIGTERM; only the epoch-boundary resume was checked")
    }
    #expect(try RunFingerprint(stopped) == reference)
}
