import Foundation
import NNCore
import Testing

// `nntrain export --format onnx`: the file parses as an ONNX model with the documented input,
// output, opset and ops; bad input exits with its code. (ONNX Runtime runs the exports in
// `make test-interop`, Tests/Interop/check_onnx.py.)

/// A short quickstart run, trained once for the tests here.
private let exportRun: String = {
    let dir = tempDir("export-run")
    _ = try? nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=1"])
    return dir
}()

/// The fields of the embedded message of `field` in `m` (the first), as (fields, bytes).
private func message(_ m: [UInt8], _ field: Int) -> [UInt8]? {
    guard let f = Protobuf.fields(m)?.first(where: { $0.number == field && $0.wireType == 2 }) else { return nil }
    return Array(m[f.bytes])
}

private func strings(_ m: [UInt8], _ field: Int) -> [String] {
    (Protobuf.fields(m) ?? []).filter { $0.number == field && $0.wireType == 2 }.map { String(decoding: m[$0.bytes], as: UTF8.self) }
}

private func messages(_ m: [UInt8], _ field: Int) -> [[UInt8]] {
    (Protobuf.fields(m) ?? []).filter { $0.number == field && $0.wireType == 2 }.map { Array(m[$0.bytes]) }
}

@Test func exportWritesAnONNXModelOfTheQuickstartRun() throws {
    let r = try nntrain(["export", exportRun, "--format", "onnx"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("input \"input\" uint8 [N, 1, 28, 28] → \"logits\" float32 [N, 10]"), "\(r.stdout)")
    let model = try FileIO.read(exportRun + "/model.onnx")
    let top = try #require(Protobuf.fields(model))
    #expect(top.first { $0.number == 1 }?.value == 8)  // ir_version
    let opset = try #require(message(model, 8))
    #expect(Protobuf.fields(opset)?.first { $0.number == 2 }?.value == 17)
    let graph = try #require(message(model, 7))
    let nodes = messages(graph, 1)
    let ops = nodes.flatMap { strings($0, 4) }
    #expect(ops == ["Cast", "Reshape", "Mul", "Add", "Reshape", "Flatten", "Gemm", "Relu", "Gemm"], "\(ops)")
    // The last node writes the graph output; the first reads the graph input.
    #expect(strings(nodes.last!, 2) == ["logits"] && strings(nodes[0], 1) == ["input"])
    let initializers = messages(graph, 5).flatMap { strings($0, 8) }
    #expect(initializers.contains("layers.1.weight") && initializers.contains("layers.3.bias") && initializers.contains("preprocess.scale"))
    // input: uint8 [N, 1, 28, 28]; output: float [N, 10].
    let input = try #require(messages(graph, 11).first)
    #expect(strings(input, 1) == ["input"])
    let typeProto = try #require(message(input, 2))
    let tensorType = try #require(message(typeProto, 1))
    #expect(Protobuf.fields(tensorType)?.first { $0.number == 1 }?.value == 2)
    let shape = try #require(message(tensorType, 2))
    let dims = messages(shape, 1)
    #expect(dims.count == 4 && strings(dims[0], 2) == ["N"] && Protobuf.fields(dims[3])?.first?.value == 28)
    let output = try #require(messages(graph, 12).first)
    #expect(strings(output, 1) == ["logits"])

    // --probabilities ends with Softmax; --out elsewhere.
    let out = tempDir("export-probabilities") + ".onnx"
    #expect(try nntrain(["export", exportRun, "--format", "onnx", "--probabilities", "--out", out, "--quiet"]).status == 0)
    let pModel = try FileIO.read(out)
    let pGraph = try #require(message(pModel, 7))
    #expect(messages(pGraph, 1).last.map { strings($0, 4) } == ["Softmax"])
    let pOutput = try #require(messages(pGraph, 12).first)
    #expect(strings(pOutput, 1) == ["probabilities"])
}

@Test func exportRejectsBadInputWithItsExitCode() throws {
    // No --format, an unknown one: usage, exit 2 (torch: TorchExportCLITests).
    let none = try nntrain(["export", exportRun])
    #expect(none.status == 2 && none.stderr.contains("--format is required"), "\(none.stderr)")
    let bogus = try nntrain(["export", exportRun, "--format", "tflite"])
    #expect(bogus.status == 2 && bogus.stderr.contains("--format tflite: expected onnx or torch"), "\(bogus.stderr)")
    #expect(try nntrain(["export", "--format", "onnx"]).status == 2)
    #expect(try nntrain(["export", exportRun, "--format", "onnx", "--bogus"]).status == 2)
    // A run directory without its weights: a data error naming the file, exit 3.
    let partial = tempDir("export-no-weights")
    try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: true)
    for f in ["config.json", "preprocess.safetensors"] {
        try FileManager.default.copyItem(atPath: exportRun + "/" + f, toPath: partial + "/" + f)
    }
    let missing = try nntrain(["export", partial, "--format", "onnx"])
    #expect(missing.status == 3 && missing.stderr.contains(partial + "/model.safetensors"), "\(missing.stderr)")
    #expect(!FileManager.default.fileExists(atPath: partial + "/model.onnx"))
    // An output path in a folder that does not exist: exit 1 naming it.
    let unwritable = try nntrain(["export", exportRun, "--format", "onnx", "--out", "/nonexistent-dir/m.onnx"])
    #expect(unwritable.status == 1 && unwritable.stderr.contains("/nonexistent-dir/m.onnx"), "\(unwritable.stderr)")
}

/// A text run of token ids (`representation: "sequence"`; TorchExportCLITests trains the same).
func trainTextSequenceRun(_ name: String) throws -> String {
    let dir = tempDir(name)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let data = root + "data/wordnet-subset/"
    let config = """
        {"name": "\(name)", "seed": 5,
         "data": {"train": {"format": "text", "path": "\(data)train.csv"}, "test": {"format": "text", "path": "\(data)test.csv"},
                  "text": {"min_count": 2, "max_size": 500, "representation": "sequence", "max_length": 16}},
         "model": {"input": [16], "layers": [
           {"type": "embedding", "num_embeddings": 500, "embedding_dim": 8, "padding_idx": 0},
           {"type": "gru", "hidden_size": 6, "bidirectional": true, "return_sequences": true},
           {"type": "global_average_pool1d"},
           {"type": "dense", "units": 8}]},
         "loss": {"type": "cross_entropy"}, "optimizer": {"type": "adam", "lr": 0.001},
         "training": {"epochs": 1, "batch_size": 64}}
        """
    return try trainConfig(config, in: dir)
}

/// Writes `config` as `dir`/config.json, trains it into `dir`/run (expecting exit 0) and returns
/// the run directory.
func trainConfig(_ config: String, in dir: String) throws -> String {
    try FileIO.writeAtomically(dir + "/config.json", text: config)
    let r = try nntrain(["run", dir + "/config.json", "--out", dir + "/run", "--quiet"])
    #expect(r.status == 0, "\(r.stderr)")
    return dir + "/run"
}

/// The sequence layers: float ids in, Gather on the embedding, the lengths computed from the ids
/// and fed to the GRU op (`sequence_lens`) and to the pooling's mask.
@Test func exportWritesTheSequenceLayersOfATextRun() throws {
    let run = try trainTextSequenceRun("export-text")
    let r = try nntrain(["export", run, "--format", "onnx"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("input \"input\" float32 [N, 16] → \"logits\" float32 [N, 8]"), "\(r.stdout)")
    let graph = try #require(message(try FileIO.read(run + "/model.onnx"), 7))
    let nodes = messages(graph, 1)
    let ops = nodes.flatMap { strings($0, 4) }
    for op in ["Gather", "GRU", "ReduceMax", "ReduceSum", "Less", "Gemm"] { #expect(ops.contains(op), "no \(op) in \(ops)") }
    let gru = try #require(nodes.first { strings($0, 4) == ["GRU"] })
    let inputs = strings(gru, 1)
    #expect(inputs.count == 5 && inputs[1] == "layers.1.W_l0" && inputs[3] == "layers.1.B_l0", "\(inputs)")
    #expect(nodes.contains { strings($0, 2) == ["sequence_lengths"] && strings($0, 4) == ["ReduceMax"] })
    let initializers = messages(graph, 5).flatMap { strings($0, 8) }
    #expect(initializers.contains("layers.0.weight") && initializers.contains("layers.1.R_l0"), "\(initializers)")
}
