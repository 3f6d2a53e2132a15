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

/// Text augmentation end to end on the shipped WordNet subset: training batches change (the
/// loss curve differs from the same run without it), evaluation does not (eval reproduces the
/// test figures with no augmentation); a missing WordNet directory is a data error (exit 3).
@Test func wordnetBagOfWordsWithTextAugmentation() throws {
    let plain = tempDir("text-noaug"), augmented = tempDir("text-aug")
    let sets = ["--quiet", "--threads", "1", "--set", "training.epochs=2"]
    #expect(try nntrain(["run", "configs/wordnet-bow.json", "--out", plain] + sets).status == 0)
    let r = try nntrain(["run", "configs/wordnet-bow.json", "--out", augmented, "--set",
                         #"data.augment=[{"type": "random_deletion", "p": 0.2}, {"type": "random_swap", "p": 0.1}]"#] + sets)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(try read(plain + "/steps.csv") != read(augmented + "/steps.csv"))
    let summary = try JSONValue.parse(try FileIO.read(augmented + "/summary.json"))
    let accuracy = summary["test_accuracy"]?.doubleValue ?? 0
    #expect(accuracy > 0.4, "test accuracy \(accuracy) after 2 epochs")
    let e = try JSONValue.parse(try nntrain(["eval", augmented, "--json"]).stdout)
    #expect(e["accuracy"] == summary["test_accuracy"] && e["loss"] == summary["test_loss"])
    // The resolved config lists the augmentations with their defaults.
    let config = try JSONValue.parse(try FileIO.read(augmented + "/config.json"))
    #expect(config["data"]?["augment"]?.serialized(indent: 0) == #"[{"type":"random_deletion","p":0.2},{"type":"random_swap","p":0.1}]"#)
    // WordNet missing: exit 3 before training, naming the directory and how to install it.
    let missing = try nntrain(["run", "configs/wordnet-bow.json", "--out", tempDir("text-aug-nownet"), "--set",
                               #"data.augment=[{"type": "synonym_replacement", "wordnet": "/nonexistent/wordnet"}]"#] + sets)
    #expect(missing.status == 3 && missing.stderr.contains("/nonexistent/wordnet: WordNet not found")
            && missing.stderr.contains("apt-get install wordnet-base"), "\(missing.stderr)")
    // validate accepts the keys and rejects a bad probability (exit 2).
    #expect(try nntrain(["validate", "configs/wordnet-bow.json", "--set", #"data.augment=[{"type": "sentence_shuffle", "p": 0.3}]"#]).status == 0)
    let bad = try nntrain(["validate", "configs/wordnet-bow.json", "--set", #"data.augment=[{"type": "random_insertion", "p": -1}]"#])
    #expect(bad.status == 2 && bad.stderr.contains("$.data.augment.0.p: expected number in 0...1, got -1"), "\(bad.stderr)")
}

/// Synonym replacement with the installed WordNet 3.0 (skipped, visibly, without it).
@Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/wordnet/data.noun"), "WordNet 3.0 is not installed at /usr/share/wordnet (apt-get install wordnet-base)"))
func wordnetBagOfWordsWithInstalledSynonyms() throws {
    let dir = tempDir("text-aug-wordnet")
    let r = try nntrain(["run", "configs/wordnet-bow.json", "--out", dir, "--threads", "1", "--set", "training.epochs=2", "--set",
                         #"data.augment=[{"type": "synonym_replacement", "p": 0.1}, {"type": "random_insertion", "p": 0.1}]"#])
    #expect(r.status == 0, "\(r.stderr)")
    // How much of the vocabulary WordNet covers is reported.
    #expect(r.stderr.contains("WordNet /usr/share/wordnet: ") && r.stderr.contains(" of the 2000 vocabulary entries have synonyms"), "\(r.stderr)")
}
