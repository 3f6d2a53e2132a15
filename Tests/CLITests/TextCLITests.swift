import Foundation
import NNCore
import Testing

// A text run end to end: configs/wordnet-bow.json on the shipped WordNet subset, its
// vocabulary.json, eval and predict on text files, a damaged vocabulary.

@Test func wordnetBagOfWordsTrainsEvaluatesAndPredicts() throws {
    let dir = tempDir("text-bow")
    let r = try nntrain(["run", "configs/wordnet-bow.json", "--out", dir, "--quiet", "--json"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    // 8 balanced classes: the majority class is 12.5 %.
    let accuracy = summary["test_accuracy"]?.doubleValue ?? 0
    #expect(accuracy > 0.6, "test accuracy \(accuracy)")
    let vocab = try JSONValue.parse(try FileIO.read(dir + "/vocabulary.json"))
    guard case .array(let tokens)? = vocab["tokens"] else { Issue.record("no tokens"); return }
    #expect(tokens.prefix(2) == [.string("<pad>"), .string("<unk>")] && tokens.count <= 2000)
    // eval reproduces the test figures with the saved vocabulary; predict reads a text file.
    let e = try JSONValue.parse(try nntrain(["eval", dir, "--json"]).stdout)
    #expect(e["accuracy"] == summary["test_accuracy"] && e["loss"] == summary["test_loss"])
    let out = tempDir("text-pred") + ".csv"
    let p = try nntrain(["predict", dir, "--data", "data/wordnet-subset/test.csv", "--out", out, "--json"])
    #expect(p.status == 0, "\(p.stderr)")
    #expect(item0(try JSONValue.parse(p.stdout)["members"])?["accuracy"] == summary["test_accuracy"])
    // Texts alone (one column): predictions without labels.
    let texts = tempDir("text-only") + ".csv"
    try FileIO.writeAtomically(texts, text: "text\n\"a large wild cat, with a mane\"\ntravel across the sea\n")
    let u = try nntrain(["predict", dir, "--data", texts])
    #expect(u.status == 0 && u.stdout.split(separator: "\n").count == 3 && u.stdout.hasPrefix("index,predicted,probability\n"), "\(u.stdout)\(u.stderr)")
    // A resumed run refits the same vocabulary: the same files as an uninterrupted run.
    let a = tempDir("text-whole"), b = tempDir("text-parts")
    let sets = ["--set", "schedule.type=constant", "--set", "training.early_stopping=null", "--threads", "1", "--quiet"]
    #expect(try nntrain(["run", "configs/wordnet-bow.json", "--out", a, "--set", "training.epochs=3"] + sets).status == 0)
    #expect(try nntrain(["run", "configs/wordnet-bow.json", "--out", b, "--set", "training.epochs=2"] + sets).status == 0)
    #expect(try nntrain(["run", "--resume", b, "--set", "training.epochs=3", "--threads", "1", "--quiet"]).status == 0)
    #expect(try FileIO.read(a + "/model.safetensors") == FileIO.read(b + "/model.safetensors"))
    #expect(try FileIO.read(a + "/vocabulary.json") == FileIO.read(b + "/vocabulary.json"))
    // A damaged or missing vocabulary: exit 3 naming it.
    try FileIO.writeAtomically(dir + "/vocabulary.json", text: #"{"tokens": ["a", "a"]}"#)
    let d = try nntrain(["eval", dir])
    #expect(d.status == 3 && d.stderr.contains("vocabulary.json"), "\(d.stderr)")
    FileIO.remove(dir + "/vocabulary.json")
    #expect(try nntrain(["predict", dir, "--data", texts]).status == 3)
}

private func item0(_ v: JSONValue?) -> JSONValue? {
    if case .array(let a)? = v { return a.first }
    return nil
}
