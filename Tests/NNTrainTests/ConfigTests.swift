import NNCore
@testable import NNTrain
import Testing

/// Each row: an edit of a valid config (`--set`-style assignments) and the exact error line.
let badConfigs: [(String, String)] = [
    ("optimiser={}", #"$.optimiser: unknown key. Did you mean "optimizer"?"#),
    ("optimizer.lr=-0.1", "$.optimizer.lr: expected number > 0, got -0.1"),
    ("optimizer.lr=\"fast\"", #"$.optimizer.lr: expected number > 0, got string "fast""#),
    ("optimizer.weight_dcay=0.1", #"$.optimizer.weight_dcay: unknown key. Did you mean "weight_decay"?"#),
    ("optimizer.betas=[0.9, 1.5]", "$.optimizer.betas.1: expected number in 0..<1, got number 1.5"),
    ("optimizer.type=adma", #"$.optimizer.type: expected one of sgd, adam, adamw, nadam, adagrad, rmsprop, adadelta, got "adma". Did you mean "adam"?"#),
    ("optimizer.nesterov=true", "$.optimizer.nesterov: unknown key; known keys here: type, lr, betas, eps, amsgrad, weight_decay"),
    ("optimizer.type=sgd", ""),
    ("optimizer={\"type\": \"sgd\", \"nesterov\": true}", "$.optimizer.nesterov: Nesterov momentum requires momentum > 0 and dampening 0 (as torch.optim.SGD)"),
    ("training.epochs=0", "$.training.epochs: expected integer in 1...1000000, got 0"),
    ("training.batch_size=12.5", "$.training.batch_size: expected integer in 1...1048576, got number 12.5"),
    ("training.shuffle=\"yes\"", #"$.training.shuffle: expected boolean (true or false), got string "yes""#),
    ("model.layers=[]", "$.model.layers: expected at least one layer, got an empty list"),
    ("model.layers.1.units=-5", "$.model.layers.1.units: expected integer in 1...1048576, got -5"),
    ("model.layers.1.activation=relu6", #"$.model.layers.1.activation: expected one of linear, relu, sigmoid, tanh, leaky_relu, elu, softplus, gelu, silu, swish, got "relu6". Did you mean "relu"?"#),
    ("model.layers.0.type=dens", #"$.model.layers.0.type: expected one of flatten, dense, conv2d, max_pool2d, avg_pool2d, global_avg_pool, dropout, activation, prelu, rrelu, maxout, batch_norm, layer_norm, local_response_norm, residual, softsign, embedding, rnn, lstm, gru, global_average_pool1d, global_max_pool1d, relu, sigmoid, tanh, leaky_relu, elu, softplus, gelu, silu, swish, got "dens". Did you mean "dense"?"#),
    ("model.layers.2.rate=1", "$.model.layers.2.rate: expected number in 0..<1, got 1"),
    ("model.input=\"784\"", #"$.model.input: expected array of numbers in 1...16777216, got string "784""#),
    ("data.validation_split=1.5", "$.data.validation_split: expected number in 0..<1, got 1.5"),
    ("data.train.format=hdf5", #"$.data.train.format: expected one of idx, csv, cifar10, text, got "hdf5""#),
    ("data.preprocess.0.per=pixel", #"$.data.preprocess.0.per: expected one of feature, channel, global, got "pixel""#),
    ("loss.label_smoothing=1", "$.loss.label_smoothing: expected number in 0..<1, got 1"),
    ("schedule.type=cosin", #"$.schedule.type: expected one of constant, step, multistep, linear, exponential, inverse_time, natural_exp, cosine, cosine_restarts, cyclic, one_cycle, reduce_on_plateau, got "cosin". Did you mean "cosine"?"#),
    ("regularization.clip.norm=0", "$.regularization.clip.norm: expected number > 0 or null, got number 0"),
    ("seed=-1", "$.seed: expected integer in 0...9007199254740991, got -1"),
    ("model.layers.0.type=dropout", "$.model.layers.1: dense expects a flat input [features], got shape [1, 28, 28] from the layer before; insert {\"type\": \"flatten\"} before it"),
    ("training.early_stopping={\"monitor\": \"val_loss\"}", ""),  // valid: validation_split is 0.1
    // Near misses that edit distance alone does not catch (names from Keras and torch).
    ("model.init=xavier", #"$.model.init: expected one of zeros, constant, normal, uniform, xavier_uniform, xavier_normal, he_uniform, he_normal, lecun_normal, orthogonal, got "xavier". Did you mean "xavier_uniform"?"#),
    ("model.init=glorot_uniform", #"$.model.init: expected one of zeros, constant, normal, uniform, xavier_uniform, xavier_normal, he_uniform, he_normal, lecun_normal, orthogonal, got "glorot_uniform". Did you mean "xavier_uniform"?"#),
    ("model.init=kaiming", #"$.model.init: expected one of zeros, constant, normal, uniform, xavier_uniform, xavier_normal, he_uniform, he_normal, lecun_normal, orthogonal, got "kaiming". Did you mean "he_normal"?"#),
    ("model.layers.1.init=he", #"$.model.layers.1.init: expected one of zeros, constant, normal, uniform, xavier_uniform, xavier_normal, he_uniform, he_normal, lecun_normal, orthogonal, got "he". Did you mean "he_normal"?"#),
    ("model.layers.1.type=linear", #"$.model.layers.1.type: expected one of flatten, dense, conv2d, max_pool2d, avg_pool2d, global_avg_pool, dropout, activation, prelu, rrelu, maxout, batch_norm, layer_norm, local_response_norm, residual, softsign, embedding, rnn, lstm, gru, global_average_pool1d, global_max_pool1d, relu, sigmoid, tanh, leaky_relu, elu, softplus, gelu, silu, swish, got "linear". Did you mean "dense"?"#),
    ("model.layers.1.type=fc", #"$.model.layers.1.type: expected one of flatten, dense, conv2d, max_pool2d, avg_pool2d, global_avg_pool, dropout, activation, prelu, rrelu, maxout, batch_norm, layer_norm, local_response_norm, residual, softsign, embedding, rnn, lstm, gru, global_average_pool1d, global_max_pool1d, relu, sigmoid, tanh, leaky_relu, elu, softplus, gelu, silu, swish, got "fc". Did you mean "dense"?"#),
    ("model.layers.0.type=conv", #"$.model.layers.0.type: expected one of flatten, dense, conv2d, max_pool2d, avg_pool2d, global_avg_pool, dropout, activation, prelu, rrelu, maxout, batch_norm, layer_norm, local_response_norm, residual, softsign, embedding, rnn, lstm, gru, global_average_pool1d, global_max_pool1d, relu, sigmoid, tanh, leaky_relu, elu, softplus, gelu, silu, swish, got "conv". Did you mean "conv2d"?"#),
    ("model.layers.0.type=maxpool", #"$.model.layers.0.type: expected one of flatten, dense, conv2d, max_pool2d, avg_pool2d, global_avg_pool, dropout, activation, prelu, rrelu, maxout, batch_norm, layer_norm, local_response_norm, residual, softsign, embedding, rnn, lstm, gru, global_average_pool1d, global_max_pool1d, relu, sigmoid, tanh, leaky_relu, elu, softplus, gelu, silu, swish, got "maxpool". Did you mean "max_pool2d"?"#),
    ("model.layers.1.activation=linear", ""),  // an activation named linear is valid
    ("schedule.warmup=2", #"$.schedule.warmup: unknown key. Did you mean "warmup_epochs"?"#),
    ("training.early_stop={\"patience\": 3}", #"$.training.early_stop: unknown key. Did you mean "early_stopping"?"#),
    ("training.early_stopping={\"monitor\": \"val_acc\"}", #"$.training.early_stopping.monitor: expected one of val_loss, val_accuracy, loss, accuracy, got "val_acc". Did you mean "val_accuracy"?"#),
    ("training.early_stopping={\"monitor\": \"acc\"}", #"$.training.early_stopping.monitor: expected one of val_loss, val_accuracy, loss, accuracy, got "acc". Did you mean "accuracy"?"#),
    ("schedule={\"type\": \"reduce_on_plateau\", \"monitor\": \"val_acc\"}", #"$.schedule.monitor: expected one of val_loss, val_accuracy, loss, accuracy, got "val_acc". Did you mean "val_accuracy"?"#),
    ("optimizer.learning_rate=0.01", #"$.optimizer.learning_rate: unknown key. Did you mean "lr"?"#),
    ("model.input=[16777216, 16777216, 16777216]", "$.model.input: expected at most 2^32 values per sample, got [16777216, 16777216, 16777216]"),
    // Values that trapped (Int(1e300)) or were silently truncated or rounded to 0 or infinity.
    ("schedule={\"type\": \"multistep\", \"milestones\": [1e300]}", "$.schedule.milestones.0: expected integer in 1...1000000, got number 1e+300"),
    ("schedule={\"type\": \"multistep\", \"milestones\": [2, 2.5]}", "$.schedule.milestones.1: expected integer in 1...1000000, got number 2.5"),
    ("model.layers.0={\"type\": \"max_pool2d\", \"kernel_size\": [2.5, 2]}", "$.model.layers.0.kernel_size.0: expected integer in 1...4096, got number 2.5"),
    ("model.from_layers=[1.5]", "$.model.from_layers.0: expected a layer index (integer in 0...3), got 1.5"),
    ("model.from_layers=[1e300]", "$.model.from_layers.0: expected number in 0...1000000, got number 1e+300"),
    ("optimizer.lr=1e-46", "$.optimizer.lr: expected number > 0, got 1e-46 (0 in Float32, whose smallest normal number is 1.2e-38)"),
    ("optimizer.lr=1e39", "$.optimizer.lr: expected number > 0, got 1e+39 (beyond Float32's range of ±3.4e38)"),
    ("optimizer.weight_decay=1e-50", ""),  // 0 is in range: as good as 0
    ("regularization.clip.norm=1e300", "$.regularization.clip.norm: expected number > 0 or null, got 1e+300 (beyond Float32's range of ±3.4e38)"),
    ("loss.class_weights=[1, 1, 1, 1, 1, 1, 1, 1, 1, 1e300]", "$.loss.class_weights.9: expected number >= 0, got 1e+300 (beyond Float32's range of ±3.4e38)"),
    ("data.augment=[{\"type\": \"rotation\", \"degrees\": 1e300}]", "$.data.augment.0.degrees: expected a number m (for [-m, m]) or [low, high] with numbers in -360...360, got 1e+300"),
    // Label smoothing above (K − 1)/K inverts the targets; K = the model's 10 outputs.
    ("loss.label_smoothing=0.9999999", "$.loss.label_smoothing: expected number in 0...0.9 for the model's 10 classes (above (K − 1)/K the label gets less weight than each other class), got 0.9999999"),
    ("loss.label_smoothing=0.9", ""),
]

@Test(arguments: badConfigs)
func badConfigIsReportedWithItsPath(edit: String, expected: String) throws {
    let json = try applyOverride(edit, to: try JSONValue.parse(subsetConfig()))
    let problems = configProblems(json.serialized())
    if expected.isEmpty {
        #expect(problems.isEmpty, "\(problems)")
    } else {
        #expect(problems.contains(expected), "got: \(problems)")
    }
}

@Test func anInvalidTypeDoesNotBuryItWithUnknownKeys() throws {
    let json = try applyOverride("optimizer={\"type\": \"sgdd\", \"momentum\": 0.9}", to: try JSONValue.parse(subsetConfig()))
    #expect(configProblems(json.serialized()) == [#"$.optimizer.type: expected one of sgd, adam, adamw, nadam, adagrad, rmsprop, adadelta, got "sgdd". Did you mean "sgd"?"#])
}

@Test func everyProblemIsReportedAtOnce() throws {
    var json = try JSONValue.parse(subsetConfig())
    for edit in ["optimizer.lr=-1", "training.epochs=0", "optimiser={}", "model.layers.1.units=0"] {
        json = try applyOverride(edit, to: json)
    }
    let problems = configProblems(json.serialized())
    #expect(problems.count == 4, "\(problems)")
}

/// A shape error is listed with the other problems of the config, in the same pass.
@Test func shapeErrorsAreReportedWithTheOtherProblems() throws {
    var json = try JSONValue.parse(subsetConfig())
    for edit in ["optimiser={}", "optimizer.lr=-1", "model.layers.0.type=dropout"] { json = try applyOverride(edit, to: json) }
    #expect(configProblems(json.serialized()) == [
        "$.optimizer.lr: expected number > 0, got -1",
        #"$.optimiser: unknown key. Did you mean "optimizer"?"#,
        #"$.model.layers.1: dense expects a flat input [features], got shape [1, 28, 28] from the layer before; insert {"type": "flatten"} before it"#,
    ])
    // After a layer that did not read, shapes are unknown: only that layer's own problem.
    json = try applyOverride("model.layers.1.type=dens", to: try JSONValue.parse(subsetConfig()))
    json = try applyOverride("model.layers.0.type=dropout", to: json)
    let problems = configProblems(json.serialized())
    #expect(problems.count == 1 && problems[0].hasPrefix("$.model.layers.1.type: "), "\(problems)")
    // A shape error before the bad layer is still reported.
    json = try applyOverride("model.layers.0.type=dropout", to: try JSONValue.parse(subsetConfig()))
    json = try applyOverride("model.layers.3.units=0", to: json)
    #expect(configProblems(json.serialized()) == [
        "$.model.layers.3.units: expected integer in 1...1048576, got 0",
        #"$.model.layers.1: dense expects a flat input [features], got shape [1, 28, 28] from the layer before; insert {"type": "flatten"} before it"#,
    ])
}

/// A number beyond a double's range (read as infinity) is named as such, not as "null", and a
/// `--set` of one quotes the text as written.
@Test func numbersOutOfRangeAreNamed() throws {
    let text = subsetConfig().replacing(#""lr": 0.002"#, with: #""lr": 1e309"#)
    #expect(configProblems(text) == ["$.optimizer.lr: expected number > 0, got a number out of range (beyond ±1.8e308)"])
    #expect(throws: OverrideError.self) { _ = try applyOverride("optimizer.lr=-1e400", to: .object([])) }
    do { _ = try applyOverride("optimizer.lr=-1e400", to: .object([])) } catch {
        #expect(error.message == "the number -1e400 is out of range (beyond ±1.8e308)")
    }
}

/// Each row: edits, and the warning expected (empty: none about linear maps or final activations).
let warningConfigs: [([String], String)] = [
    (["model.layers.1.activation=linear"], #"$.model.layers.3: no nonlinearity between dense layers.1 and this dense, so the two compute one linear map; give layers.1 an activation (e.g. "activation": "relu")"#),
    (["model.layers.1.activation=linear", "model.layers.2={\"type\": \"batch_norm\"}"], #"$.model.layers.3: no nonlinearity between dense layers.1 and this dense, so the two compute one linear map; give layers.1 an activation (e.g. "activation": "relu")"#),
    (["model.layers.1.activation=linear", "model.layers.2={\"type\": \"relu\"}"], ""),
    (["model.layers.1.activation=linear", "model.layers.2={\"type\": \"layer_norm\"}"], ""),
    (["model.layers.3.activation=relu"], "$.model.layers.3.activation: cross_entropy applies softmax to the raw scores itself; the last dense layer's relu distorts them. Remove its activation"),
    (["model.layers.3.activation=sigmoid"], "$.model.layers.3.activation: cross_entropy applies softmax to the raw scores itself; the last dense layer's sigmoid distorts them. Remove its activation"),
    (["model.layers.2={\"type\": \"relu\"}", "model.layers.3={\"type\": \"dense\", \"units\": 10, \"activation\": \"relu\"}"], "$.model.layers.3.activation: cross_entropy applies softmax to the raw scores itself; the last dense layer's relu distorts them. Remove its activation"),
    (["model.layers.3={\"type\": \"tanh\"}", "model.layers.1.units=10"], "$.model.layers.3: cross_entropy applies softmax to the raw scores itself; a final tanh distorts them. Remove this layer"),
    (["model.layers.2={\"type\": \"softplus\"}", "model.layers.3={\"type\": \"dropout\"}", "model.layers.1.units=10"], "$.model.layers.2: cross_entropy applies softmax to the raw scores itself; a final softplus distorts them. Remove this layer"),
    (["model.layers.3.activation=relu", "loss.type=mse"], ""),
    ([], ""),
]

@Test(arguments: warningConfigs)
func modelWarnings(edits: [String], expected: String) throws {
    var json = try JSONValue.parse(subsetConfig())
    for e in edits { json = try applyOverride(e, to: json) }
    let warnings = try readConfig(json.serialized()).warnings.map(\.description)
        .filter { $0.contains("linear map") || $0.contains("softmax") }
    #expect(warnings == (expected.isEmpty ? [] : [expected]))
}

/// A linear stack inside a residual block is found too; the block itself is a nonlinearity.
@Test func linearStacksInsideResidualBlocks() {
    let dense = LayerSpec(DenseSpec(units: 4, activation: .linear, bias: true, weightNorm: false, options: LayerOptions()))
    let relu = LayerSpec(DenseSpec(units: 4, activation: .relu, bias: true, weightNorm: false, options: LayerOptions()))
    let block = LayerSpec(ResidualSpec(layers: [dense, LayerSpec(DropoutSpec(rate: 0.1)), dense]))
    let w = ModelPlan.linearStacks([relu, block, relu], path: "$.model.layers")
    #expect(w.map(\.path) == ["$.model.layers.1.layers.2"])
    let maxPool = LayerSpec(Pool2DSpec(max: true, kernel: [2, 2], stride: [2, 2]))
    let avgPool = LayerSpec(Pool2DSpec(max: false, kernel: [2, 2], stride: [2, 2]))
    #expect(ModelPlan.linearStacks([dense, maxPool, dense], path: "$").isEmpty)
    #expect(ModelPlan.linearStacks([dense, avgPool, dense], path: "$").count == 1)
}

@Test func defaultsAreFilledInTheResolvedConfig() throws {
    let c = try readConfig(subsetConfig())
    #expect(c.optimizer.rule == .adam(Adam.Hyperparameters(beta1: 0.9, beta2: 0.999, eps: 1e-8)))
    #expect(c.training.shuffle && c.training.evalBatchSize == 1000)
    #expect(c.resolved["optimizer"]?["betas"] == .array([.number(0.9), .number(0.999)]))
    #expect(c.resolved["schedule"]?["type"] == .string("constant"))
    #expect(c.resolved["loss"]?["label_smoothing"] == .number(0))
    #expect(c.resolved["regularization"]?["clip"]?["norm"] == JSONValue.null)
    // The resolved config reads back to the same experiment.
    let again = try ExperimentConfig.read(c.resolved, baseDirectory: "/")
    #expect(again.optimizer == c.optimizer && again.model == c.model && again.training == c.training)
}

@Test func overridesAddressObjectsAndListItems() throws {
    var json = try JSONValue.parse(subsetConfig())
    json = try applyOverride("model.layers.1.units=256", to: json)
    json = try applyOverride("optimizer.type=sgd", to: json)
    json = try applyOverride("optimizer.lr=0.1", to: json)
    json = try applyOverride("schedule.warmup_epochs=1", to: json)
    #expect(json["model"]?["layers"]?.arrayValue?[1]["units"] == .number(256))
    #expect(json["optimizer"]?["type"] == .string("sgd"))
    #expect(json["schedule"]?["warmup_epochs"] == .number(1))
    #expect(throws: OverrideError.self) { _ = try applyOverride("model.layers.9.units=1", to: json) }
    #expect(throws: OverrideError.self) { _ = try applyOverride("optimizer.lr.x=1", to: json) }
    #expect(throws: OverrideError.self) { _ = try applyOverride("nokey", to: json) }
}

@Test func symmetricInitialisationIsAWarning() throws {
    let json = try applyOverride("model.init=zeros", to: try JSONValue.parse(subsetConfig()))
    let c = try ExperimentConfig.read(json, baseDirectory: repositoryRoot)
    #expect(c.warnings.contains { $0.message.contains("symmetry") })
}

@Test func shippedConfigsAreValid() throws {
    for name in ["quickstart", "fashion-mlp"] {
        let c = try ConfigLoader.load(path: repositoryRoot + "configs/\(name).json")
        #expect(c.name == name)
        #expect(ModelPlan(config: c).outputShape == [10])
    }
}

@Test func modelPlanCountsParameters() throws {
    let c = try ConfigLoader.load(path: repositoryRoot + "configs/fashion-mlp.json")
    let plan = ModelPlan(config: c)
    #expect(plan.parameterCount == 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10)
    #expect(plan.rows.map(\.outputShape) == [[784], [512], [512], [256], [10]])
}

@Test func editDistanceSuggestions() {
    #expect(editDistance("optimiser", "optimizer") == 1)
    #expect(closest(to: "lr_rate", in: ["lr", "momentum"]) == nil || closest(to: "lr_rate", in: ["lr", "momentum"]) == "lr")
    #expect(closest(to: "zzzzzz", in: ["lr", "momentum"]) == nil)
}

/// A thread count beyond the pool's cap is clamped to it, and the clamp is reported.
@Test func threadsAboveThePoolCapAreClamped() throws {
    let json = try applyOverride("threads=1000", to: try JSONValue.parse(subsetConfig()))
    let config = try readConfig(json.serialized())
    #expect(Experiment.threadCount(config: config, option: nil) == Parallel.maxThreads)
    #expect(Experiment.threadCount(config: config, option: 3) == 3)
    #expect(Experiment.threadWarning(config: config, option: nil) == "warning: threads 1000 in the config is above the 64 threads nntrain can use; clamped to 64")
    #expect(Experiment.threadWarning(config: config, option: 2) == nil)
}

@Test func sourceFilterKeysAreChecked() throws {
    func errors(_ train: String) -> [String] {
        configProblems(#"{"data": {"train": "# + train + #"}, "model": {"input": [2], "layers": [{"type": "dense", "units": 2}]}}"#)
    }
    let base = #""format": "csv", "path": "x.csv""#
    #expect(errors("{" + base + #", "classes": [0, 2], "per_class_limit": 5, "seed": 3}"#).isEmpty)
    #expect(errors("{" + base + #", "classes": []}"#).contains { $0.contains("data.train.classes") && $0.contains("at least one") })
    #expect(errors("{" + base + #", "classes": [-1, 1.5]}"#).count == 2)
    #expect(errors("{" + base + #", "per_class_limit": 0}"#).contains { $0.contains("per_class_limit") })
    #expect(errors("{" + base + #", "seed": -1}"#).contains { $0.contains("data.train.seed") })
}
