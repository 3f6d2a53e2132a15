import Foundation
import NNCore
import Testing

// `model.from` end to end: the dropout-insertion reproduction of issue 16, batch-norm files.

@Test func fineTuningAfterInsertingADropoutNamesTheLayerOrLoadsByMappedName() throws {
    let pre = tempDir("from-pre")
    let p = try nntrain(["run", "configs/quickstart.json", "--out", pre, "--quiet", "--set", "training.epochs=1"])
    #expect(p.status == 0, "\(p.stderr)")
    let layers = #"model.layers=[{"type": "flatten"}, {"type": "dense", "units": 128, "activation": "relu"}, {"type": "dropout", "rate": 0.1}, {"type": "dropout", "rate": 0.1}, {"type": "dense", "units": 10}]"#
    let tune = tempDir("from-tune")
    let args = ["run", "configs/quickstart.json", "--out", tune, "--set", "training.epochs=1", "--set", layers,
                "--set", "model.from=\(pre)/model.safetensors"]
    // Today's loader matched layers.1 and left the new layers.4 random ("loaded 2 tensors", exit 0).
    let shifted = try nntrain(args)
    #expect(shifted.status == 2, "\(shifted.stderr)")
    #expect(shifted.stderr.contains("$.model.from: layers.4 (dense) gets nothing from \(pre)/model.safetensors, which has no layers.4.weight, layers.4.bias; nearest names in the file: layers.3.weight, layers.3.bias"), "\(shifted.stderr)")
    #expect(!FileManager.default.fileExists(atPath: tune + "/summary.json"))
    let mapped = try nntrain(args + ["--set", #"model.from_map={"layers.3": "layers.4"}"#, "--force"])
    #expect(mapped.status == 0, "\(mapped.stderr)")
    #expect(mapped.stderr.contains("""
        loaded 4 tensors from \(pre)/model.safetensors:
          layers.1 (dense): weight, bias from layers.1
          layers.4 (dense): weight, bias from layers.3
        """), "\(mapped.stderr)")
    // The written config (with from_map) reads back: eval reproduces the run's test figures.
    let summary = try JSONValue.parse(try FileIO.read(tune + "/summary.json"))
    let e = try nntrain(["eval", tune, "--json"])
    #expect(e.status == 0, "\(e.stderr)")
    let ev = try JSONValue.parse(e.stdout)
    #expect(ev["accuracy"] == summary["test_accuracy"], "\(e.stdout)")
}

@Test func aBatchNormRunWritesTorchsCounterAndEvalReproducesIt() throws {
    let dir = tempDir("from-bn")
    let layers = #"model.layers=[{"type": "flatten"}, {"type": "dense", "units": 32}, {"type": "batch_norm"}, {"type": "relu"}, {"type": "dense", "units": 10}]"#
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir, "--quiet", "--set", "training.epochs=1", "--set", layers])
    #expect(r.status == 0, "\(r.stderr)")
    let (entries, metadata) = try Safetensors.decode(try FileIO.read(dir + "/model.safetensors"))
    let counter = entries.first { $0.name == "layers.2.num_batches_tracked" }
    #expect(counter?.dtype == .i64 && counter?.shape == [] && counter?.integers == [43], "\(String(describing: counter))")
    #expect(metadata["nntrain_model"]?.contains(#""type":"batch_norm""#) == true, "\(metadata)")
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    let e = try nntrain(["eval", dir, "--json"])
    #expect(e.status == 0, "\(e.stderr)")
    let ev = try JSONValue.parse(e.stdout)
    #expect(ev["accuracy"] == summary["test_accuracy"])
    #expect(abs((ev["loss"]?.doubleValue ?? 0) - (summary["test_loss"]?.doubleValue ?? 1)) < 1e-9)
    // A fine-tune from it loads the running statistics too.
    let tune = tempDir("from-bn-tune")
    let t = try nntrain(["run", "configs/quickstart.json", "--out", tune, "--set", "training.epochs=1", "--set", layers,
                         "--set", "model.from=\(dir)/model.safetensors"])
    #expect(t.status == 0 && t.stderr.contains("layers.2 (batch_norm): weight, bias, running_mean, running_var, num_batches_tracked from layers.2"), "\(t.stderr)")
}

@Test func aFromFileThatIsNotSafetensorsIsADataError() throws {
    let dir = tempDir("from-text")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try "not tensors".write(toFile: dir + "/w.safetensors", atomically: true, encoding: .utf8)
    let r = try nntrain(["run", "configs/quickstart.json", "--out", dir + "/run", "--set", "model.from=\(dir)/w.safetensors"])
    #expect(r.status == 3 && r.stderr.contains("\(dir)/w.safetensors: is not a safetensors file ("), "\(r.stderr)")
}
