import Foundation
import NNCore
import Testing

// Sequence models end to end: configs/wordnet-gru.json (embedding + bidirectional GRU) on the
// shipped WordNet subset, row-sequential Fashion-MNIST with an LSTM, resume, and the checks
// that refuse a sequence layer on the wrong input.

@Test func wordnetGRUTrainsEvaluatesPredictsAndResumes() throws {
    let dir = tempDir("text-gru")
    let r = try nntrain(["run", "configs/wordnet-gru.json", "--out", dir, "--quiet", "--set", "training.epochs=6"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    // 8 balanced classes: the majority class is 12.5 %.
    let accuracy = summary["test_accuracy"]?.doubleValue ?? 0
    #expect(accuracy > 0.6, "test accuracy \(accuracy)")
    let e = try JSONValue.parse(try nntrain(["eval", dir, "--json"]).stdout)
    #expect(e["accuracy"] == summary["test_accuracy"] && e["loss"] == summary["test_loss"])
    let texts = tempDir("gru-text-only") + ".csv"
    try FileIO.writeAtomically(texts, text: "text\n\"a large wild cat, with a mane\"\n\"\"\nmove fast on foot\n")
    let u = try nntrain(["predict", dir, "--data", texts])
    #expect(u.status == 0 && u.stdout.split(separator: "\n").count == 4, "\(u.stdout)\(u.stderr)")
    // Variational dropout's masks come from the layer's stream, saved in checkpoints: a resumed
    // run ends with the same weights as an uninterrupted one.
    let a = tempDir("gru-whole"), b = tempDir("gru-parts")
    let sets = ["--set", "schedule.type=constant", "--set", "training.early_stopping=null", "--threads", "1", "--quiet"]
    #expect(try nntrain(["run", "configs/wordnet-gru.json", "--out", a, "--set", "training.epochs=3"] + sets).status == 0)
    #expect(try nntrain(["run", "configs/wordnet-gru.json", "--out", b, "--set", "training.epochs=2"] + sets).status == 0)
    #expect(try nntrain(["run", "--resume", b, "--set", "training.epochs=3", "--threads", "1", "--quiet"]).status == 0)
    #expect(try FileIO.read(a + "/model.safetensors") == FileIO.read(b + "/model.safetensors"))
}

@Test func rowSequentialFashionMNISTTrainsAnLSTM() throws {
    // Each 28×28 image read as 28 steps of 28 pixels (model.input [28, 28]).
    let dir = tempDir("row-lstm")
    let layers = #"[{"type": "lstm", "hidden_size": 32}, {"type": "dense", "units": 10}]"#
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "model.input=[28, 28]",
                         "--set", "model.layers=" + layers, "--set", "training.epochs=2", "--set", "optimizer.lr=0.005"])
    #expect(r.status == 0, "\(r.stderr)")
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    let accuracy = summary["test_accuracy"]?.doubleValue ?? 0
    #expect(accuracy > 0.5, "test accuracy \(accuracy)")
    let plan = try nntrain(["validate", dir + "/config.json"])
    #expect(plan.stdout.contains("lstm 28→32, final state"), "\(plan.stdout)")
}

@Test func sequenceLayersRefuseTheWrongInput() throws {
    func validate(_ sets: [String], _ config: String = "configs/quickstart.json") throws -> (Int32, String) {
        let r = try nntrain(["validate", config] + sets.flatMap { ["--set", $0] })
        return (r.status, r.stdout + r.stderr)
    }
    // A recurrent layer on a flat input, an embedding not first, a bad normalized_shape.
    let (s1, o1) = try validate(["model.layers=[{\"type\": \"flatten\"}, {\"type\": \"gru\", \"hidden_size\": 4}]"])
    #expect(s1 == 2 && o1.contains("gru expects a sequence [steps, features]"), "\(o1)")
    let (s2, o2) = try validate(["model.input=[784]", "data.preprocess=[]",
                                 "model.layers=[{\"type\": \"dense\", \"units\": 4}, {\"type\": \"embedding\", \"num_embeddings\": 9, \"embedding_dim\": 2}]"])
    #expect(s2 == 2 && o2.contains("it must be the first layer"), "\(o2)")
    let (s3, o3) = try validate(["model.input=[28, 28]", "model.layers=[{\"type\": \"layer_norm\", \"normalized_shape\": [5]}, {\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": 10}]"])
    #expect(s3 == 2 && o3.contains("expected trailing dimensions"), "\(o3)")
    let (s4, o4) = try validate(["model.layers=[{\"type\": \"lstm\"}]", "model.input=[28, 28]"])
    #expect(s4 == 2 && o4.contains("hidden_size: missing required key"), "\(o4)")
    // An embedding on pixels: the values are not token ids (exit 3, naming the data).
    let dir = tempDir("embed-pixels")
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "model.input=[784]", "--set", "data.preprocess=[]",
                         "--set", "model.layers=[{\"type\": \"embedding\", \"num_embeddings\": 256, \"embedding_dim\": 2}, {\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": 10}]"])
    #expect(r.status == 3 && r.stderr.contains("is not a token id in 0..<256"), "\(r.stderr)")
    // A vocabulary larger than the embedding.
    let t = try nntrain(["run", "configs/wordnet-gru.json", "--out", tempDir("embed-small"), "--quiet",
                         "--set", "model.layers.0.num_embeddings=100"])
    #expect(t.status == 3 && t.stderr.contains("set num_embeddings to data.text.max_size (4000)"), "\(t.stderr)")
}
