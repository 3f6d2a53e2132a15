import Foundation
import NNCore
import Testing

// training.snapshots: which epochs are kept, their metadata, summary.json, resume, and
// `predict --snapshots`.

/// val_loss per epoch (1-based) from a run's curves.csv.
private func valLosses(_ dir: String) throws -> [Int: Double] {
    var out: [Int: Double] = [:]
    for line in try read(dir + "/curves.csv").split(separator: "\n").dropFirst() {
        let c = line.split(separator: ",", omittingEmptySubsequences: false)
        out[Int(c[0])!] = Double(c[5])!
    }
    return out
}

private let snapshotSets = ["--set", #"training.snapshots={"every": 3, "best": 2}"#, "--set", "training.epochs=8"]

@Test func snapshotsKeepEveryNthAndTheBestK() throws {
    let dir = tempDir("snapshots")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet"] + snapshotSets)
    #expect(r.status == 0, "\(r.stderr)")
    // Expected from the curves alone: epochs 3 and 6, and the two lowest val_loss.
    let v = try valLosses(dir)
    let best = v.keys.sorted { v[$0]! != v[$1]! ? v[$0]! < v[$1]! : $0 < $1 }.prefix(2)
    let expected = Set([3, 6]).union(best).sorted()
    let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/snapshots").sorted()
    #expect(files == expected.map { String(format: "epoch-%03d.safetensors", $0) }, "\(files) vs \(expected)")
    // Each file: the model's tensors, and its epoch and value in the metadata.
    for e in expected {
        let f = try Safetensors.read(dir + "/snapshots/" + String(format: "epoch-%03d.safetensors", e), limit: 1 << 30)
        #expect(f.metadata["epoch"] == String(e) && f.metadata["monitor"] == "val_loss" && f.metadata["goal"] == "minimize")
        #expect(Double(f.metadata["value"] ?? "") == v[e] && f.checksumMatches == true)
        #expect(f.entries.map(\.name).contains("layers.1.weight"))
    }
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    guard case .array(let listed)? = summary["snapshots"] else { Issue.record("no snapshots in summary.json"); return }
    #expect(listed.compactMap { $0["epoch"]?.doubleValue }.map { Int($0) } == expected)
    #expect(listed.first?["file"] == .string(String(format: "snapshots/epoch-%03d.safetensors", expected[0])))
}

@Test func resumedRunKeepsTheSameSnapshots() throws {
    // A constant lr, so that 5 epochs then 3 more train as 8 do (a cosine schedule spans the epochs).
    let whole = tempDir("snapshots-whole"), parts = tempDir("snapshots-parts")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", whole, "--quiet", "--threads", "1", "--set", "schedule.type=constant"]
                        + snapshotSets).status == 0)
    let first = try nntrain(["run", "configs/quickstart.json", "--out", parts, "--quiet", "--threads", "1", "--set", "schedule.type=constant",
                             "--set", #"training.snapshots={"every": 3, "best": 2}"#, "--set", "training.epochs=5"])
    #expect(first.status == 0, "\(first.stderr)")
    let resumed = try nntrain(["run", "--resume", parts, "--set", "training.epochs=8", "--quiet", "--threads", "1"])
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let a = try FileManager.default.contentsOfDirectory(atPath: whole + "/snapshots").sorted()
    let b = try FileManager.default.contentsOfDirectory(atPath: parts + "/snapshots").sorted()
    #expect(a == b)
    for f in a { #expect(try FileIO.read(whole + "/snapshots/" + f) == FileIO.read(parts + "/snapshots/" + f), "\(f)") }
    // A fresh run over the directory (--force) starts without the old snapshots.
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", parts, "--force", "--quiet", "--set", "training.epochs=1"]).status == 0)
    #expect(!FileIO.exists(parts + "/snapshots/" + a[0]))
}

@Test func predictEnsemblesSnapshots() throws {
    let dir = tempDir("snapshots-predict")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet"] + snapshotSets).status == 0)
    let kept = try FileManager.default.contentsOfDirectory(atPath: dir + "/snapshots").count
    for (spec, members) in [("all", kept), ("last:1", 1), ("best:2", 2), ("best:50", kept)] {
        let out = tempDir("snapshots-pred") + ".csv"
        let r = try nntrain(["predict", dir, "--snapshots", spec, "--out", out, "--json"])
        #expect(r.status == 0, "\(spec): \(r.stderr)")
        let json = try JSONValue.parse(r.stdout)
        guard case .array(let m)? = json["members"] else { Issue.record("\(spec): no members"); continue }
        #expect(m.count == members, "\(spec)")
        #expect(m.first?["run"]?.stringValue?.contains("(epoch ") == true)
    }
    // best:2 is the two lowest val_loss.
    let v = try valLosses(dir)
    let best = v.keys.sorted { v[$0]! < v[$1]! }.prefix(2).sorted()
    let r = try JSONValue.parse(try nntrain(["predict", dir, "--snapshots", "best:2", "--out", tempDir("snapshots-b") + ".csv", "--json"]).stdout)
    guard case .array(let m)? = r["members"] else { return }
    #expect(m.compactMap { $0["run"]?.stringValue } == best.map { "\(dir) (epoch \($0))" })
    // Bad specs and a run without snapshots: exit 2.
    for bad in ["best:0", "first:2", "last", "best:x"] { #expect(try nntrain(["predict", dir, "--snapshots", bad]).status == 2, "\(bad)") }
    let plain = tempDir("snapshots-none")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", plain, "--quiet", "--set", "training.epochs=1"]).status == 0)
    let none = try nntrain(["predict", plain, "--snapshots", "all"])
    #expect(none.status == 2 && none.stderr.contains("no snapshots"), "\(none.stderr)")
    // A config asking for no rule at all is refused.
    let v2 = try nntrain(["validate", "configs/quickstart.json", "--set", "training.snapshots={}"])
    #expect(v2.status == 2 && v2.stderr.contains("training.snapshots"), "\(v2.stderr)")
}

@Test func averageWritesTheMeanOfTheSnapshotsAsARun() throws {
    let dir = tempDir("average")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", #"training.snapshots={"every": 1}"#,
                         "--set", "training.epochs=4"]).status == 0)
    let out = tempDir("average-out")
    let r = try nntrain(["average", dir, "--snapshots", "last:3", "--out", out, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try JSONValue.parse(r.stdout)
    #expect(summary["epochs"] == .array([.number(2), .number(3), .number(4)]) && summary["batch_norm_recomputed"] == .bool(false))
    // Every tensor is the mean of the three snapshots' (float32 of a double mean).
    let snaps = try (2...4).map { try Safetensors.read(dir + String(format: "/snapshots/epoch-%03d.safetensors", $0), limit: 1 << 30) }
    let avg = try Safetensors.read(out + "/model.safetensors", limit: 1 << 30)
    #expect(avg.checksumMatches == true)
    for e in avg.entries where e.name == "layers.1.weight" || e.name == "layers.3.bias" {
        let parts = snaps.map { s in s.entries.first { $0.name == e.name }!.values }
        for i in stride(from: 0, to: e.values.count, by: 97) {
            let mean = Float(parts.map { Double($0[i]) }.reduce(0, +) / 3)
            #expect(e.values[i] == mean, "\(e.name)[\(i)]")
        }
    }
    // A run directory: eval reproduces the summary's test figures exactly.
    let eval = try JSONValue.parse(try nntrain(["eval", out, "--json"]).stdout)
    #expect(eval["loss"] == summary["test_loss"] && eval["accuracy"] == summary["test_accuracy"], "\(eval)")
    // Refusals: an output that holds a run, the run itself, a run without snapshots.
    #expect(try nntrain(["average", dir, "--out", out]).status == 2)
    #expect(try nntrain(["average", dir, "--out", out, "--force", "--quiet"]).status == 0)
    #expect(try nntrain(["average", dir, "--out", dir, "--force"]).status == 2)
    // The run under another name (a symbolic link to it) is the run too: its weights stay.
    let link = tempDir("average-link")
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: dir)
    let before = try FileIO.read(dir + "/model.safetensors")
    #expect(try nntrain(["average", dir, "--out", link, "--force"]).status == 2)
    #expect(try FileIO.read(dir + "/model.safetensors") == before)
    let plain = tempDir("average-plain")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", plain, "--quiet", "--set", "training.epochs=1"]).status == 0)
    let none = try nntrain(["average", plain])
    #expect(none.status == 2 && none.stderr.contains("no snapshots"), "\(none.stderr)")
}

@Test func averageRecomputesBatchNormStatistics() throws {
    let dir = tempDir("average-bn")
    let layers = #"[{"type":"flatten"},{"type":"dense","units":64},{"type":"batch_norm"},{"type":"activation","activation":"relu"},{"type":"dense","units":10}]"#
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", #"training.snapshots={"every": 1}"#,
                         "--set", "training.epochs=3", "--set", "model.layers=" + layers]).status == 0)
    let out = tempDir("average-bn-out")
    let r = try nntrain(["average", dir, "--out", out, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(try JSONValue.parse(r.stdout)["batch_norm_recomputed"] == .bool(true))
    // The running mean is no longer the snapshots' mean; the batches counted are one pass.
    let avg = try Safetensors.read(out + "/model.safetensors", limit: 1 << 30)
    let snaps = try (1...3).map { try Safetensors.read(dir + String(format: "/snapshots/epoch-%03d.safetensors", $0), limit: 1 << 30) }
    let mean = avg.entries.first { $0.name == "layers.2.running_mean" }!.values
    let naive = (0..<mean.count).map { i in Float(snaps.map { Double($0.entries.first { $0.name == "layers.2.running_mean" }!.values[i]) }.reduce(0, +) / 3) }
    #expect(mean != naive)
    // One pass over the training split in training batches: as many as an epoch's steps.
    let stepsPerEpoch = try read(dir + "/curves.csv").split(separator: "\n")[1].split(separator: ",")[1]
    let tracked = avg.entries.first { $0.name == "layers.2.num_batches_tracked" }
    #expect(tracked?.values == [Float(stepsPerEpoch)!], "\(String(describing: tracked?.values))")
    #expect(try nntrain(["eval", out]).status == 0)
}

@Test func stagedFineTuningChainRunsFromTheShippedConfigs() throws {
    // configs/finetune-stage1.json learns classes 0–7 (all their examples); stage 2 continues
    // from its weights on all ten classes, 30 examples each.
    let one = tempDir("finetune-1"), two = tempDir("finetune-2")
    let a = try nntrain(["run", "configs/finetune-stage1.json", "--out", one])
    #expect(a.status == 0, "\(a.stderr)")
    #expect(a.stderr.contains("2160 train, 240 validation, 400 test examples, 8 classes"), "\(a.stderr)")
    let b = try nntrain(["run", "configs/finetune-stage2.json", "--out", two, "--set", "training.epochs=4",
                         "--set", "model.from=\(one)/model.safetensors"])
    #expect(b.status == 0, "\(b.stderr)")
    #expect(b.stderr.contains("270 train, 30 validation, 500 test examples, 10 classes"), "\(b.stderr)")
    #expect(b.stderr.contains("layers.1 (dense): weight, bias from layers.1"), "\(b.stderr)")
    // Stage 1 never predicts the classes it did not see; stage 2 does.
    let all = #"{"format": "idx", "images": "data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz", "labels": "data/fashion-mnist-subset/t10k-labels-idx1-ubyte.gz"}"#
    func recall(_ dir: String, _ c: Int) throws -> Double {
        let j = try JSONValue.parse(try nntrain(["eval", dir, "--data", all, "--json"]).stdout)
        guard case .array(let per)? = j["per_class"], per.indices.contains(c) else { return -1 }
        return per[c]["recall"]?.doubleValue ?? -1
    }
    #expect(try recall(one, 8) == 0 && recall(one, 9) == 0)
    #expect(try recall(two, 8) > 0 && recall(two, 9) > 0)
}

@Test func damagedSnapshotsAreNamedNotTrusted() throws {
    let dir = tempDir("snapshots-damaged")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", #"training.snapshots={"every": 1}"#,
                         "--set", "training.epochs=3"]).status == 0)
    // A truncated snapshot: listed without a value (never "best"), and predict names it (exit 3).
    let two = dir + "/snapshots/epoch-002.safetensors"
    let bytes = try FileIO.read(two)
    try FileIO.writeAtomically(two, Array(bytes.prefix(100)))
    let r = try nntrain(["predict", dir, "--snapshots", "all", "--out", tempDir("snapshots-damaged-p") + ".csv"])
    #expect(r.status == 3 && r.stderr.contains("epoch-002.safetensors"), "\(r.stderr)")
    let best = try JSONValue.parse(try nntrain(["predict", dir, "--snapshots", "best:3", "--out", tempDir("snapshots-damaged-b") + ".csv", "--json"]).stdout)
    guard case .array(let m)? = best["members"] else { Issue.record("no members"); return }
    #expect(m.count == 2 && !m.contains { $0["run"]?.stringValue?.contains("epoch 2") == true })
    // A snapshot whose metadata names another epoch has no value either; a stray name is ignored.
    try FileIO.writeAtomically(dir + "/snapshots/epoch-007.safetensors", try FileIO.read(dir + "/snapshots/epoch-001.safetensors"))
    try FileIO.writeAtomically(dir + "/snapshots/notes.txt", text: "mine")
    let best2 = try JSONValue.parse(try nntrain(["predict", dir, "--snapshots", "best:5", "--out", tempDir("snapshots-damaged-c") + ".csv", "--json"]).stdout)
    guard case .array(let m2)? = best2["members"] else { Issue.record("no members"); return }
    #expect(m2.count == 2, "\(m2)")
}
