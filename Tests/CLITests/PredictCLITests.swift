import Foundation
import NNCore
import Testing

// `nntrain predict` (one run, an ensemble, unlabeled data, top-k, probabilities, TTA) and
// `nntrain eval`'s per-class figures, on short quickstart runs.

/// Three short quickstart runs with seeds 1, 2, 3, trained once for every test here.
private let seedRuns: [String] = {
    (1...3).map { s in
        let dir = tempDir("predict-seed\(s)")
        _ = try? nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=2", "--set", "seed=\(s)"])
        return dir
    }
}()

/// Item `i` of a JSON array.
private func item(_ v: JSONValue?, _ i: Int) -> JSONValue? {
    if case .array(let a)? = v, a.indices.contains(i) { return a[i] }
    return nil
}

/// The rows of a CSV file as cells.
private func csvRows(_ path: String) throws -> [[String]] {
    try read(path).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
}

@Test func predictOneRunAgreesWithEval() throws {
    let run = seedRuns[0], out = tempDir("predict-one") + ".csv"
    let r = try nntrain(["predict", run, "--out", out, "--top-k", "3", "--probabilities", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let rows = try csvRows(out)
    #expect(rows[0] == ["index", "predicted", "probability", "top2", "top2_probability", "top3", "top3_probability"]
            + (0..<10).map { "p\($0)" } + ["label"])
    #expect(rows.count == 501)
    // Each row: the probabilities sum to 1, the predicted class has the largest, top-k in order.
    for row in rows.dropFirst().prefix(50) {
        let p = row[7..<17].map { Double($0)! }
        #expect(abs(p.reduce(0, +) - 1) < 1e-4)
        let best = p.indices.max { p[$0] < p[$1] }!
        #expect(Int(row[1]) == best && abs(Double(row[2])! - p[best]) < 1e-6)
        #expect(Double(row[2])! >= Double(row[4])! && Double(row[4])! >= Double(row[6])!)
    }
    // The accuracy of the predictions is eval's, to the example.
    let correct = rows.dropFirst().filter { $0[1] == $0.last! }.count
    let eval = try JSONValue.parse(try nntrain(["eval", run, "--json"]).stdout)
    #expect(eval["accuracy"] == .number(Double(correct) / 500), "\(eval)")
    let json = try JSONValue.parse(r.stdout)
    #expect(item(json["members"], 0)?["accuracy"] == eval["accuracy"] && json["ensemble"] == nil)
    if case .number(let l)? = item(json["members"], 0)?["loss"], case .number(let e)? = eval["loss"] { #expect(abs(l - e) < 1e-5) }
}

@Test func predictEnsembleAveragesTheMembers() throws {
    let out = tempDir("predict-ensemble") + ".csv", p = [0, 1, 2].map { tempDir("predict-member\($0)") + ".csv" }
    for (i, run) in seedRuns.enumerated() {
        #expect(try nntrain(["predict", run, "--out", p[i], "--probabilities", "--quiet"]).status == 0)
    }
    let r = try nntrain(["predict"] + seedRuns + ["--out", out, "--probabilities"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("ensemble of 3 (mean)") && r.stdout.contains("ensemble: accuracy "), "\(r.stdout)")
    let e = try csvRows(out), m = try p.map(csvRows)
    for i in 1...20 {
        for c in 0..<10 {
            let mean = m.map { Double($0[i][3 + c])! }.reduce(0, +) / 3
            #expect(abs(Double(e[i][3 + c])! - mean) < 1e-6)
        }
    }
    // Geometric: still a distribution per row, differs from the mean.
    let g = tempDir("predict-geo") + ".csv"
    #expect(try nntrain(["predict"] + seedRuns + ["--out", g, "--probabilities", "--combine", "geometric", "--quiet"]).status == 0)
    let geo = try csvRows(g)
    #expect(abs(geo[1][3...12].map { Double($0)! }.reduce(0, +) - 1) < 1e-4 && geo[1] != e[1])
}

@Test func predictWithoutLabelsAndPlainPaths() throws {
    let run = seedRuns[0]
    // IDX images without labels, from a plain path: the CSV goes to stdout, no label column.
    let r = try nntrain(["predict", run, "--data", "data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz"])
    #expect(r.status == 0, "\(r.stderr)")
    let lines = r.stdout.split(separator: "\n")
    #expect(lines.first == "index,predicted,probability" && lines.count == 501)
    #expect(r.stderr.contains("predicted 500 examples") && !r.stderr.contains("accuracy"))
    // The same as a JSON source without labels.
    let j = try nntrain(["predict", run, "--data", #"{"format": "idx", "images": "data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz"}"#])
    #expect(j.stdout == r.stdout)
    // eval refuses data without labels.
    let e = try nntrain(["eval", run, "--data", #"{"format": "idx", "images": "data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz"}"#])
    #expect(e.status == 2 && e.stderr.contains("no labels"), "\(e.stderr)")
    // A name that tells no format, a data file that does not fit the model.
    let u = try nntrain(["predict", run, "--data", "data/README.md"])
    #expect(u.status == 2 && u.stderr.contains("cannot tell the format"), "\(u.stderr)")
    let csv = tempDir("predict-narrow") + ".csv"
    try FileIO.writeAtomically(csv, text: "1,2,3\n4,5,6\n")
    let n = try nntrain(["predict", run, "--data", csv])
    #expect(n.status == 3 && n.stderr.contains("3 features"), "\(n.stderr)")
}

@Test func predictRefusesWhatCannotFormAnEnsemble() throws {
    let wide = tempDir("predict-wide")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", wide, "--quiet", "--set", "training.epochs=1",
                         "--set", "model.layers.3.units=12"]).status == 0)
    let r = try nntrain(["predict", seedRuns[0], wide, "--out", tempDir("predict-x") + ".csv"])
    #expect(r.status == 2 && r.stderr.contains("12 classes vs 10") && r.stderr.contains(wide), "\(r.stderr)")
    let noWeights = tempDir("predict-noweights")
    try FileManager.default.createDirectory(atPath: noWeights, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: seedRuns[0] + "/config.json", toPath: noWeights + "/config.json")
    let w = try nntrain(["predict", noWeights])
    #expect(w.status == 3 && w.stderr.contains("model.safetensors"), "\(w.stderr)")
    for bad in [["--top-k", "11"], ["--combine", "median"], ["--tta", "rotate"], ["--json"]] {
        #expect(try nntrain(["predict", seedRuns[0]] + bad).status == 2, "\(bad)")
    }
    #expect(try nntrain(["predict"]).status == 2)
}

@Test func predictTTAFlipAveragesTheMirror() throws {
    let run = seedRuns[0]
    let plain = tempDir("predict-plain") + ".csv", flip = tempDir("predict-flip") + ".csv"
    #expect(try nntrain(["predict", run, "--out", plain, "--probabilities", "--quiet"]).status == 0)
    #expect(try nntrain(["predict", run, "--out", flip, "--probabilities", "--quiet", "--tta", "flip"]).status == 0)
    // The mirror changes the probabilities; each row is still a distribution.
    let a = try csvRows(plain), b = try csvRows(flip)
    #expect(a.count == b.count && a[1] != b[1])
    for row in b.dropFirst().prefix(20) { #expect(abs(row[3...12].map { Double($0)! }.reduce(0, +) - 1) < 1e-4) }
    // CSV data is not images: exit 2.
    let csv = tempDir("predict-tta") + ".csv"
    try FileIO.writeAtomically(csv, text: String(repeating: "0.5,", count: 783) + "0.5\n")
    let r = try nntrain(["predict", run, "--data", csv, "--tta", "flip"])
    #expect(r.status == 2 && r.stderr.contains("mirrors images"), "\(r.stderr)")
}

@Test func evalPrintsPerClassFiguresAndWritesThem() throws {
    let out = tempDir("eval-out")
    let r = try nntrain(["eval", seedRuns[0], "--out", out, "--top-k", "3"])
    #expect(r.status == 0, "\(r.stderr)")
    for part in ["macro avg", "weighted avg", "top-3 accuracy", "confusion matrix (rows: true class, columns: predicted class)"] {
        #expect(r.stdout.contains(part), "\(part)")
    }
    let json = try JSONValue.parse(try read(out + "/metrics.json"))
    guard case .array(let matrix)? = json["confusion_matrix"] else { Issue.record("no confusion_matrix"); return }
    // Rows are the true classes: each sums to that class's support (50 per class here).
    let sums = matrix.map { row -> Double in if case .array(let c) = row { return c.compactMap(\.doubleValue).reduce(0, +) }; return -1 }
    #expect(sums == Array(repeating: 50, count: 10))
    let diagonal = matrix.enumerated().compactMap { i, row in item(row, i)?.doubleValue }.reduce(0, +)
    #expect(json["accuracy"] == .number(diagonal / 500))
    #expect(try read(out + "/confusion.csv").hasPrefix("true\\predicted,0,1,2"))
    #expect(try read(out + "/per_class.csv").hasPrefix("class,support,precision,recall,f1\n0,50,"))
    // Several runs: each, and the ensemble.
    let many = try JSONValue.parse(try nntrain(["eval"] + seedRuns + ["--json"]).stdout)
    guard case .array(let runs)? = many["runs"] else { Issue.record("no runs"); return }
    #expect(runs.count == 3 && many["ensemble"]?["confusion_matrix"] != nil && many["ensemble"]?["loss"] != nil)
}

@Test func seedEnsembleIsASweepAndOnePredict() throws {
    // The README's one-liner: a sweep over seed, then predict over its trials.
    let sweep = tempDir("predict-seed-sweep")
    let s = try nntrain(["sweep", "configs/quickstart.json", "--param", "seed=int:1:1000000", "--param", "training.epochs=1",
                         "--trials", "3", "--out", sweep, "--quiet"])
    #expect(s.status == 0, "\(s.stderr)")
    let trials = try FileManager.default.contentsOfDirectory(atPath: sweep + "/trials").sorted().map { sweep + "/trials/" + $0 }
    #expect(trials.count == 3)
    let seeds = try trials.map { try JSONValue.parse(try FileIO.read($0 + "/config.json"))["seed"] }
    #expect(Set(seeds.map { $0?.serialized(indent: 0) ?? "" }).count == 3, "three different seeds")
    let out = tempDir("predict-seed-ensemble") + ".csv"
    let r = try nntrain(["predict"] + trials + ["--out", out, "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let json = try JSONValue.parse(r.stdout)
    #expect(json["ensemble"]?["accuracy"]?.doubleValue != nil)
    #expect(try read(out).split(separator: "\n").count == 501)
}
