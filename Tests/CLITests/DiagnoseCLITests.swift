import Foundation
import NNCore
import Testing

// The diagnosis on real runs of the quickstart config (shipped subset), each changed with --set
// to produce one finding on purpose, and `nntrain diagnose` on their directories.

/// Runs configs/quickstart.json with `sets` into a fresh directory; returns the output, the
/// directory and the codes of summary.json's diagnosis.
func diagnosedRun(_ name: String, _ sets: [String], extra: [String] = [], config: String = "configs/quickstart.json") throws
    -> (output: RunOutput, dir: String, codes: [String], summary: JSONValue) {
    let dir = tempDir("diagnosis-" + name)
    let r = try nntrain(["run", config, "--out", dir] + sets.flatMap { ["--set", $0] } + extra)
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    guard case .array(let items)? = summary["diagnosis"] else {
        Issue.record("\(name): summary.json has no diagnosis list")
        return (r, dir, [], summary)
    }
    let codes = items.compactMap { item -> String? in if case .string(let c)? = item["code"] { return c } else { return nil } }
    return (r, dir, codes, summary)
}

/// `nntrain diagnose DIR --json`'s findings equal summary.json's.
func expectDiagnoseReproduces(_ dir: String, _ summary: JSONValue) throws {
    let d = try nntrain(["diagnose", dir, "--json"])
    #expect(d.status == 0, "\(d.stderr)")
    let json = try JSONValue.parse(d.stdout)
    #expect(json["diagnosis"] == summary["diagnosis"], "\(d.stdout)")
}

@Test func quickstartIsHealthy() throws {
    let r = try diagnosedRun("healthy", [])
    #expect(r.output.status == 0)
    #expect(r.codes == ["healthy"])
    #expect(r.output.stdout.contains("\ndiagnosis: healthy\n"), "\(r.output.stdout)")
    try expectDiagnoseReproduces(r.dir, r.summary)
    let text = try nntrain(["diagnose", r.dir])
    #expect(text.status == 0 && text.stdout == "healthy\n")
}

@Test func tinyLearningRateIsTooLow() throws {
    let r = try diagnosedRun("low", ["optimizer.lr=1e-6", "training.epochs=4"])
    #expect(r.output.status == 0)
    #expect(r.codes == ["lr_too_low"], "\(r.summary)")
    #expect(r.output.stdout.contains("diagnosis: lr_too_low: "), "\(r.output.stdout)")
    try expectDiagnoseReproduces(r.dir, r.summary)
}

@Test func sgdAtLR2DivergesAndIsTooHigh() throws {
    let r = try diagnosedRun("high", ["optimizer.type=sgd", "optimizer.lr=2", "training.epochs=3"], extra: ["--json"])
    #expect(r.output.status == 4)
    #expect(r.codes.first == "lr_too_high", "\(r.summary)")
    // --json on a failed run carries the summary, diagnosis included.
    let printed = try JSONValue.parse(r.output.stdout)
    #expect(printed["summary"]?["diagnosis"] == r.summary["diagnosis"])
    try expectDiagnoseReproduces(r.dir, r.summary)
    // Without --json the findings follow the error on stderr.
    let plain = try nntrain(["run", "configs/quickstart.json", "--out", r.dir, "--force", "--set", "optimizer.type=sgd", "--set", "optimizer.lr=2"])
    #expect(plain.status == 4 && plain.stderr.contains("diagnosis: lr_too_high: "), "\(plain.stderr)")
}

@Test func adamAtLR001WithoutDecayOscillatesAndIsTooHigh() throws {
    // Constant lr 0.01: the training loss falls to ~0.42 by epoch 6, then swings (0.49, 0.72,
    // 0.55, 0.72, 0.43 at 2 threads), never back above the first epoch's 1.81.
    let r = try diagnosedRun("oscillating", ["optimizer.lr=0.01", "schedule.type=constant", "training.epochs=12"])
    #expect(r.output.status == 0)
    #expect(r.codes.first == "lr_too_high", "\(r.summary)")
    guard case .array(let findings)? = r.summary["diagnosis"], case .array(let rises)? = findings.first?["evidence"]?["rises"] else {
        Issue.record("no oscillation evidence: \(r.summary)"); return
    }
    #expect(rises.count >= 2)
    try expectDiagnoseReproduces(r.dir, r.summary)
}

@Test func wideNetOnFewExamplesOverfits() throws {
    // 270 training examples (validation_split 0.95), 512 hidden units, 12 epochs.
    let r = try diagnosedRun("overfit", ["data.validation_split=0.95", "model.layers.1.units=512", "training.epochs=12"])
    #expect(r.output.status == 0)
    #expect(r.codes.contains("overfitting"), "\(r.summary)")
    try expectDiagnoseReproduces(r.dir, r.summary)
}

@Test func batchOfFourIsNoisy() throws {
    let r = try diagnosedRun("noisy", ["training.batch_size=4", "training.epochs=2"])
    #expect(r.output.status == 0)
    #expect(r.codes.contains("noisy_batch_too_small"), "\(r.summary)")
    try expectDiagnoseReproduces(r.dir, r.summary)
}

@Test func notesTanhNetWithSmallInitVanishes() throws {
    // configs/tanh-init-small.json: ten tanh layers of 256 units, N(0, 0.01²), diagnostics on.
    let r = try diagnosedRun("vanishing", [], extra: ["--diagnose"], config: "configs/tanh-init-small.json")
    #expect(r.output.status == 0)
    #expect(r.codes.contains("vanishing_activations"), "\(r.summary)")
    try expectDiagnoseReproduces(r.dir, r.summary)
}

/// `--quiet` keeps the findings that need attention (on stderr) and drops `healthy`.
@Test func quietPrintsOnlyFindingsThatNeedAttention() throws {
    let r = try diagnosedRun("quiet", ["optimizer.lr=1e-6", "training.epochs=4"], extra: ["--quiet"])
    #expect(r.output.status == 0 && r.codes == ["lr_too_low"])
    #expect(r.output.stdout.isEmpty && r.output.stderr.contains("diagnosis: lr_too_low: "), "\(r.output.stderr)")
    let healthy = try diagnosedRun("quiet-healthy", [], extra: ["--quiet"])
    #expect(healthy.output.status == 0 && healthy.codes == ["healthy"])
    #expect(healthy.output.stdout.isEmpty && !healthy.output.stderr.contains("diagnosis"), "\(healthy.output.stderr)")
}

@Test func diagnoseRefusesWhatIsNoRunAndGarbage() throws {
    let r = try diagnosedRun("garbage", ["training.epochs=2"], extra: ["--quiet"])
    // A summary.json from before the diagnosis (no key) still reads.
    var summary = r.summary
    if case .object(let pairs) = summary { summary = .object(pairs.filter { $0.0 != "diagnosis" }) }
    try FileIO.writeAtomically(r.dir + "/summary.json", text: summary.serialized() + "\n")
    #expect(try nntrain(["diagnose", r.dir]).status == 0)

    for (file, text) in [("curves.csv", "epoch,loss\n1,\u{1}x\n"), ("curves.csv", "garbage"), ("steps.csv", "step,loss\n1,2,3\n"),
                         ("summary.json", "{\"stop_reason\": "), ("layers.csv", "epoch,layer\n1,a\n")] {
        let copy = tempDir("diagnosis-garbage-copy")
        try FileManager.default.copyItem(atPath: r.dir, toPath: copy)
        try FileIO.writeAtomically(copy + "/" + file, text: text)
        let d = try nntrain(["diagnose", copy])
        #expect(d.status == 3, "\(file): \(d.stderr)")
        #expect(d.stderr.contains(copy + "/" + file), "\(d.stderr)")
        try? FileManager.default.removeItem(atPath: copy)
    }
    let empty = tempDir("diagnosis-empty")
    try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
    #expect(try nntrain(["diagnose", empty]).status == 2)
    #expect(try nntrain(["diagnose", empty + "/missing"]).status == 2)
    #expect(try nntrain(["diagnose"]).status == 2)
    #expect(try nntrain(["diagnose", r.dir, "--bogus"]).status == 2)
}
