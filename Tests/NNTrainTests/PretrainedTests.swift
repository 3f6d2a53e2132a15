import NNCore
import Testing
@testable import NNTrain

// model.from: weights matched by name, batch-norm statistics, torch names, architecture checks.

/// The shipped-subset config with `layers` (a JSON list) and more `--set` assignments.
private func config(layers: String? = nil, _ overrides: [String] = []) throws -> ExperimentConfig {
    var json = try JSONValue.parse(subsetConfig())
    if let layers { json = try applyOverride("model.layers=\(layers)", to: json) }
    for o in overrides { json = try applyOverride(o, to: json) }
    return try ExperimentConfig.read(json, baseDirectory: repositoryRoot)
}

/// Builds the model of `config` (weights from `seed`), lets `edit` change it, and writes its
/// model.safetensors as a run does. Returns the model and the file's path.
private func pretrained(_ config: ExperimentConfig, seed: UInt64 = 1, name: String,
                        edit: (Model) -> Void = { _ in }) throws -> (Model, String) {
    let model = Model(config: config.model, seed: seed)
    edit(model)
    let dir = scratchDirectory("pretrained-" + name)
    let files = try RunFiles(directory: dir, resolvedConfig: config.resolved)
    try files.writeModel(model, preprocessor: Preprocessor(scale: [1], shift: [0]), metadata: [("format", "pt")])
    return (model, dir + "/model.safetensors")
}

/// A fresh model of `config` (other initial weights) with `model.from` loaded into it.
private func load(_ config: ExperimentConfig) throws -> (Model, Pretrained.Report) {
    let model = Model(config: config.model, seed: 99)
    return (model, try Pretrained.load(into: model, config: config))
}

/// The message of the config error (exit 2) that loading `config` fails with.
private func loadError(_ config: ExperimentConfig) -> String {
    do {
        _ = try load(config)
        return "loaded"
    } catch let e as RunError {
        return e.exitCode == 2 ? e.description : "exit \(e.exitCode): \(e)"
    } catch {
        return "\(error)"
    }
}

private func values(_ model: Model, _ name: String) -> [UInt32] {
    let tensors = model.parameters.map { ($0.name, $0.value) } + model.buffers
    return tensors.first { $0.0 == name }?.1.scalars.map(\.bitPattern) ?? []
}

private let withExtraDropout = #"[{"type": "flatten"}, {"type": "dense", "units": 32, "activation": "relu"}, {"type": "dropout", "rate": 0.1}, {"type": "dropout", "rate": 0.1}, {"type": "dense", "units": 10}]"#

@Test func aShiftedLayerGetsNothingAndIsAnErrorNamingTheNearestNames() throws {
    // Pretrained: flatten, dense, dropout, dense (layers.1, layers.3). Inserting a dropout moves
    // the head to layers.4: today it silently stayed random ("loaded 2 tensors").
    let (source, file) = try pretrained(try config(), name: "shift")
    let shifted = try config(layers: withExtraDropout, ["model.from=\(file)"])
    #expect(loadError(shifted) == """
        $.model.from: layers.4 (dense) gets nothing from \(file), which has no layers.4.weight, layers.4.bias; \
        nearest names in the file: layers.3.weight, layers.3.bias (to load layers.3 into layers.4: model.from_map \
        {"layers.3": "layers.4"}; to leave layers.4 as initialised: model.from_layers)
        """)
    // Renamed with from_map, every layer loads and the report says where each came from.
    let (model, report) = try load(try config(layers: withExtraDropout, ["model.from=\(file)", #"model.from_map={"layers.3": "layers.4"}"#]))
    #expect(report.lines == ["layers.1 (dense): weight, bias from layers.1", "layers.4 (dense): weight, bias from layers.3"])
    #expect(report.tensors == 4 && report.warnings.isEmpty)
    #expect(report.messages.first == "loaded 4 tensors from \(file):")
    #expect(values(model, "layers.4.weight") == values(source, "layers.3.weight"))
    #expect(values(model, "layers.4.bias") == values(source, "layers.3.bias"))
    #expect(values(model, "layers.1.weight") == values(source, "layers.1.weight"))
    // from_layers leaves the head as initialised, and says nothing about the file's extra tensors.
    let onlyFirst = try config(layers: withExtraDropout, ["model.from=\(file)", "model.from_layers=[1]"])
    let (partial, partialReport) = try load(onlyFirst)
    #expect(partialReport.lines == ["layers.1 (dense): weight, bias from layers.1"] && partialReport.warnings.isEmpty)
    #expect(values(partial, "layers.4.weight") == values(Model(config: onlyFirst.model, seed: 99), "layers.4.weight"))
    #expect(values(partial, "layers.1.weight") == values(source, "layers.1.weight"))
    // A layer without weights cannot be requested.
    #expect(loadError(try config(layers: withExtraDropout, ["model.from=\(file)", "model.from_layers=[2]"]))
        == "$.model.from_layers.0: layers.2 (dropout) has no weights to load")
}

@Test func batchNormRunningStatisticsAreLoaded() throws {
    let bn = try config(layers: #"[{"type": "flatten"}, {"type": "dense", "units": 16}, {"type": "batch_norm"}, {"type": "relu"}, {"type": "dense", "units": 10}]"#)
    let (source, file) = try pretrained(bn, name: "bn") { model in
        guard let norm = model.layers[2] as? BatchNorm else { return }
        for c in 0..<16 {
            norm.runningMean.pointer[c] = Float(c) * 0.3 - 2
            norm.runningVar.pointer[c] = 0.5 + Float(c) * 0.25
            norm.gamma?.value.pointer[c] = 1 + Float(c) * 0.01
        }
        norm.batchesTracked.pointer[0] = 37
    }
    let (model, report) = try load(try config(layers: #"[{"type": "flatten"}, {"type": "dense", "units": 16}, {"type": "batch_norm"}, {"type": "relu"}, {"type": "dense", "units": 10}]"#, ["model.from=\(file)"]))
    #expect(report.lines[1] == "layers.2 (batch_norm): weight, bias, running_mean, running_var, num_batches_tracked from layers.2")
    for name in ["layers.2.running_mean", "layers.2.running_var", "layers.2.num_batches_tracked", "layers.2.weight"] {
        #expect(values(model, name) == values(source, name), "\(name)")
    }
    // In evaluation mode (running statistics) the loaded model computes exactly what the source does.
    let x = Tensor(shape: [4, 1, 28, 28], scalars: (0..<(4 * 784)).map { Float(($0 * 37) % 101) / 50 - 1 })
    source.allocate(maxBatch: 4)
    model.allocate(maxBatch: 4)
    let expected = source.forward(x, mode: .evaluation).scalars
    #expect(model.forward(x, mode: .evaluation).scalars == expected)
}

@Test func modelFileCarriesTheResolvedModelAndTorchsCounter() throws {
    let bn = try config(layers: #"[{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"}, {"type": "batch_norm"}, {"type": "dense", "units": 10}]"#)
    let (_, file) = try pretrained(bn, name: "meta") { ($0.layers[2] as? BatchNorm)?.batchesTracked.pointer[0] = 12 }
    let (entries, metadata) = try Safetensors.decode(try FileIO.read(file))
    let counter = entries.first { $0.name == "layers.2.num_batches_tracked" }
    #expect(counter?.dtype == .i64 && counter?.shape == [] && counter?.integers == [12])
    #expect(entries.filter { $0.dtype != .f32 }.count == 1)
    let model = try JSONValue.parse(Array((metadata["nntrain_model"] ?? "").utf8))
    #expect(model == bn.resolved["model"])
    #expect(model["layers"]?.arrayValue?.dropFirst().first?["activation"] == .string("relu"))
}

@Test func torchStateDictNamesLoadThroughPrefixAndMap() throws {
    // A torch module `model` with `features = Sequential(Linear(784, 32), ReLU())` and
    // `classifier = Linear(32, 10)`, saved in BF16/F64/F32 under Lightning's "model." prefix.
    func entry(_ name: String, _ shape: [Int], _ dtype: Safetensors.Entry.DType) -> Safetensors.Entry {
        let n = shape.reduce(1, *)
        var e = Safetensors.Entry(name: name, shape: shape, values: (0..<n).map { Float($0 % 9) * 0.25 - 1 })
        e.dtype = dtype
        return e
    }
    let entries = [entry("model.features.0.weight", [32, 784], .bf16), entry("model.features.0.bias", [32], .f64),
                   entry("model.classifier.weight", [10, 32], .f32), entry("model.classifier.bias", [10], .f32),
                   Safetensors.Entry(name: "model.step", shape: [], int64s: [1000])]
    let dir = scratchDirectory("pretrained-torch")
    try FileIO.makeDirectories(dir)
    let file = dir + "/torch.safetensors"
    try FileIO.writeAtomically(file, Safetensors.encode(entries))
    let (model, report) = try load(try config(layers: nil, ["model.from=\(file)", "model.from_prefix=model.",
                                                    #"model.from_map={"features.0": "layers.1", "classifier": "layers.3"}"#]))
    #expect(report.lines == ["layers.1 (dense): weight, bias from model.features.0", "layers.3 (dense): weight, bias from model.classifier"])
    #expect(report.warnings == ["$.model.from: 1 tensor of \(file) matches no tensor of this model: model.step (rename them with model.from_map)"])
    for (name, e) in zip(["layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias"], entries) {
        #expect(values(model, name) == e.values.map(\.bitPattern), "\(name)")
    }
    // Without the map nothing matches, and the error points at the torch names.
    let message = loadError(try config(layers: nil, ["model.from=\(file)", "model.from_prefix=model."]))
    #expect(message.hasPrefix("$.model.from: layers.1 (dense) gets nothing from \(file), which has no layers.1.weight, layers.1.bias; nearest names in the file: model.features.0.weight, model.classifier.weight"), "\(message)")
    #expect(message.contains(#"model.from_map {"features.0": "layers.1"}"#), "\(message)")
}

@Test func shapesAndDtypesMustMatch() throws {
    let dir = scratchDirectory("pretrained-shapes")
    try FileIO.makeDirectories(dir)
    let file = dir + "/w.safetensors"
    let transposed = Safetensors.Entry(name: "layers.1.weight", shape: [784, 32], values: [Float](repeating: 0, count: 784 * 32))
    let integerBias = Safetensors.Entry(name: "layers.1.bias", shape: [32], int64s: [Int64](repeating: 1, count: 32))
    let head = [Safetensors.Entry(name: "layers.3.weight", shape: [10, 32], values: [Float](repeating: 0, count: 320)),
                Safetensors.Entry(name: "layers.3.bias", shape: [10], values: [Float](repeating: 0, count: 10))]
    try FileIO.writeAtomically(file, Safetensors.encode([transposed, integerBias] + head))
    #expect(loadError(try config(layers: nil, ["model.from=\(file)"])) == """
        $.model.from: layers.1.weight has shape [784, 32] in \(file), the model's is [32, 784] (transposed: a dense weight is [out, in], as in torch.nn.Linear)
        $.model.from: layers.1.bias is I64 in \(file); a weight must be floating point (F32, F64, F16 or BF16)
        """)
}

@Test func filesThatAreNotSafetensorsAreDataErrors() throws {
    let dir = scratchDirectory("pretrained-text")
    try FileIO.makeDirectories(dir)
    try FileIO.writeAtomically(dir + "/notes.txt", text: "these are not tensors")
    let c = try config(layers: nil, ["model.from=\(dir)/notes.txt"])
    do {
        _ = try load(c)
        Issue.record("loaded a text file")
    } catch let e as RunError {
        #expect(e.exitCode == 3 && e.description.hasPrefix("data error: \(dir)/notes.txt: is not a safetensors file ("), "\(e)")
    }
    // A real safetensors file with a dtype nntrain cannot read says exactly that.
    let f8 = Array(#"{"layers.1.weight": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}"#.utf8)
    try FileIO.writeAtomically(dir + "/f8.safetensors", [UInt8(f8.count), 0, 0, 0, 0, 0, 0, 0] + f8 + [0])
    do {
        _ = try load(try config(layers: nil, ["model.from=\(dir)/f8.safetensors"]))
        Issue.record("loaded F8")
    } catch let e as RunError {
        #expect(e.description == "data error: \(dir)/f8.safetensors: tensor layers.1.weight: unsupported dtype F8_E4M3 (nntrain reads F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, U64)", "\(e)")
    }
}

@Test func theFilesModelIsCheckedAgainstThisOne() throws {
    // A missing activation is a warning; a different layer type is an error.
    let (_, file) = try pretrained(try config(), name: "arch")
    let (_, noReLU) = try load(try config(layers: #"[{"type": "flatten"}, {"type": "dense", "units": 32}, {"type": "dropout", "rate": 0.1}, {"type": "dense", "units": 10}]"#, ["model.from=\(file)"]))
    #expect(noReLU.warnings == ["$.model.from: in \(file)'s model layers.1 (dense) is followed by relu, here layers.1 by no activation; check model.layers.1.activation"])
    let (_, standalone) = try load(try config(layers: #"[{"type": "flatten"}, {"type": "dense", "units": 32}, {"type": "relu"}, {"type": "dense", "units": 10}]"#, ["model.from=\(file)"]))
    #expect(standalone.warnings.isEmpty, "\(standalone.warnings)")
    let bnLayers = #"[{"type": "flatten"}, {"type": "dense", "units": 16}, {"type": "batch_norm"}, {"type": "dense", "units": 10}]"#
    let (_, bnFile) = try pretrained(try config(layers: bnLayers), name: "arch-bn")
    let ln = try config(layers: bnLayers.replacing("batch_norm", with: "layer_norm"), ["model.from=\(bnFile)"])
    #expect(loadError(ln) == "$.model.from: layers.2 is a layer_norm layer here, but layers.2 of the model in \(bnFile) (its nntrain_model metadata) was a batch_norm layer")
}

@Test func fromKeysAreChecked() {
    let from = #", "from": "runs/x/model.safetensors""#
    func problems(_ model: String) -> [String] {
        configProblems(subsetConfig().replacing(#""model": {"input": [1, 28, 28], "#, with: #""model": {"input": [1, 28, 28], \#(model), "#))
    }
    #expect(problems(#""from_map": {"features.0": 3}"# + from)
        == [#"$.model.from_map.features.0: expected a layer name of this model ("layers.N", e.g. "layers.1"), got number 3"#])
    #expect(problems(#""from_map": {"features.0": "layer.1"}"# + from)
        == [#"$.model.from_map.features.0: expected a layer name of this model ("layers.N", e.g. "layers.1"), got string "layer.1""#])
    #expect(problems(#""from_map": {"a": "layers.1"}"#) == ["$.model.from_map: needs model.from (the safetensors file to load from)"])
    #expect(problems(#""from_prefix": "model.""#) == ["$.model.from_prefix: needs model.from (the safetensors file to load from)"])
    #expect(problems(#""from_layers": [1.5]"# + from) == ["$.model.from_layers.0: expected a layer index (integer in 0...3), got 1.5"])
    #expect(problems(#""from_layers": [7]"# + from) == ["$.model.from_layers.0: expected a layer index (integer in 0...3), got 7"])
    #expect(problems(#""from_layers": [1e300]"# + from) == ["$.model.from_layers.0: expected number in 0...1000000, got number 1e+300"])
    #expect(problems(#""from_map": {"features.0": "layers.1"}, "from_prefix": "model.""# + from).isEmpty)
}

@Test func nestedLayersLoadThroughTheMapAndAnUnusedKeyIsAWarning() throws {
    // A residual block (dense 32 inside, a projection 784 → 32 around it) from torch-style names.
    let layers = #"[{"type": "flatten"}, {"type": "residual", "layers": [{"type": "dense", "units": 32, "activation": "relu"}]}, {"type": "dense", "units": 10}]"#
    func entry(_ name: String, _ shape: [Int]) -> Safetensors.Entry {
        Safetensors.Entry(name: name, shape: shape, values: (0..<shape.reduce(1, *)).map { Float($0 % 5) - 2 })
    }
    let entries = [entry("block.fc.weight", [32, 784]), entry("block.fc.bias", [32]), entry("block.shortcut.weight", [32, 784]),
                   entry("head.weight", [10, 32]), entry("head.bias", [10])]
    let dir = scratchDirectory("pretrained-nested")
    try FileIO.makeDirectories(dir)
    let file = dir + "/block.safetensors"
    try FileIO.writeAtomically(file, Safetensors.encode(entries))
    let map = #"model.from_map={"block.fc": "layers.1.layers.0", "block.shortcut": "layers.1.projection", "head": "layers.2", "stem": "layers.0"}"#
    let (model, report) = try load(try config(layers: layers, ["model.from=\(file)", map]))
    #expect(report.lines == ["layers.1 (residual): layers.0.weight, layers.0.bias, projection.weight from block.fc, block.shortcut",
                             "layers.2 (dense): weight, bias from head"])
    #expect(report.warnings == [#"$.model.from_map.stem: no tensor name in \#(file) is "stem" or starts with "stem.""#])
    #expect(values(model, "layers.1.projection.weight") == entries[2].values.map(\.bitPattern))
    #expect(values(model, "layers.1.layers.0.bias") == entries[1].values.map(\.bitPattern))
}
