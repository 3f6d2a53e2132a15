import Foundation
import NNCore
import Testing

/// Every file nntrain writes, nntrain reads back: each shipped config and a generated set of
/// valid configs (every key and every data format) trains one epoch; its `config.json` must
/// validate and resolve to itself (a fixed point), `eval` must accept the run and reproduce its
/// test loss, and `--resume` must continue it.
enum RoundTrip {
    /// Tiny data in every format, written once per test process.
    static let data: String = {
        let d = tempDir("roundtrip-data")
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        var rng = SplitMix64(seed: 5)
        func uniform() -> Double { Double(rng.next() >> 11) / Double(1 << 53) }
        // IDX: 64 training and 24 test images of 8×8, 4 classes (raw, not gzip).
        func idx(_ name: String, count: Int) {
            var images: [UInt8] = [0, 0, 8, 3] + be(count) + be(8) + be(8)
            var labels: [UInt8] = [0, 0, 8, 1] + be(count)
            for i in 0..<count {
                let c = i % 4
                labels.append(UInt8(c))
                for p in 0..<64 { images.append(UInt8(min(255, Double(p % 8 == c * 2 ? 200 : 20) + 50 * uniform()))) }
            }
            write(images, d + "/\(name)-images.idx")
            write(labels, d + "/\(name)-labels.idx")
        }
        idx("train", count: 64)
        idx("test", count: 24)
        // CSV: 6 features, 3 classes; with a header, without, and ';'-separated with the label last.
        var withHeader = "label,a,b,c,d,e,f\n", plain = "", semicolon = "", regression = "y,a,b,c\n"
        for i in 0..<60 {
            let c = i % 3
            let f = (0..<6).map { j in String(format: "%.3f", (j == c ? 2.0 : 0.0) + uniform()) }
            withHeader += "\(c)," + f.joined(separator: ",") + "\n"
            plain += "\(c)," + f.joined(separator: ",") + "\n"
            semicolon += f.joined(separator: ";") + ";\(c)\n"
            let x = (0..<3).map { _ in uniform() }
            regression += String(format: "%.4f,%.4f,%.4f,%.4f\n", 2 * x[0] - x[1] + 0.5 * x[2], x[0], x[1], x[2])
        }
        write(Array(withHeader.utf8), d + "/header.csv")
        write(Array(plain.utf8), d + "/plain.csv")
        write(Array(semicolon.utf8), d + "/semicolon.csv")
        write(Array(regression.utf8), d + "/regression.csv")
        // CIFAR-10 binary: 40 records.
        var cifar: [UInt8] = []
        for i in 0..<40 {
            cifar.append(UInt8(i % 10))
            for _ in 0..<3072 { cifar.append(UInt8(255 * uniform())) }
        }
        write(cifar, d + "/cifar.bin")
        // Text: 60 short texts of 3 classes, some of two sentences, with words the WordNet
        // fixture (Tests/NNTrainTests/Fixtures/wordnet) has synonyms for.
        let topics = ["the big car and the auto", "a large dog can talk", "speak quickly . the feline sat"]
        var text = "label,text\n"
        for i in 0..<60 { text += "\(i % 3),\"\(topics[i % 3]) \(i % 7 == 0 ? "! rapidly" : "near") \(i)\"\n" }
        write(Array(text.utf8), d + "/text.csv")
        return d
    }()

    static func be(_ n: Int) -> [UInt8] { [UInt8(n >> 24 & 255), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)] }
    static func write(_ bytes: [UInt8], _ path: String) { _ = FileManager.default.createFile(atPath: path, contents: Data(bytes)) }

    /// The committed WordNet fixture (a few synsets in the wndb format).
    static let wordnet = root + "Tests/NNTrainTests/Fixtures/wordnet"

    static var idxTrain: String { #"{"format": "idx", "images": "\#(data)/train-images.idx", "labels": "\#(data)/train-labels.idx"}"# }
    static var idxTest: String { #"{"format": "idx", "images": "\#(data)/test-images.idx", "labels": "\#(data)/test-labels.idx"}"# }

    /// The base config of the generated set: the tiny IDX images, a small MLP, one epoch.
    static var base: String {
        #"""
        {"name": "roundtrip", "seed": 3,
         "data": {"train": \#(idxTrain), "test": \#(idxTest), "validation_split": 0.25},
         "model": {"input": [1, 8, 8], "layers": [{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 4}]},
         "training": {"epochs": 1, "batch_size": 16}}
        """#
    }

    /// A data + architecture that fit together (the first of each variant's overrides).
    static var architectures: [[String]] {
        let csv = { (file: String, extra: String) in #"data.train={"format": "csv", "path": "\#(data)/\#(file)"\#(extra)}"# }
        let flat6 = #"model.layers=[{"type": "dense", "units": 8, "activation": "tanh"}, {"type": "dense", "units": 3}]"#
        return [
            [],
            [csv("header.csv", ""), "data.test=null", "model.input=[6]", flat6],
            [csv("plain.csv", #", "header": false, "label_column": 0"#), "data.test=null", "model.input=[6]", flat6],
            [csv("header.csv", #", "header": true"#), "data.train.delimiter=,", "data.test=null", "model.input=[6]", flat6,
             #"data.validation={"format": "csv", "path": "\#(data)/header.csv", "header": "auto", "label_column": 0, "delimiter": ","}"#, "data.validation_split=0"],
            [csv("semicolon.csv", #", "label_column": -1, "delimiter": ";""#), "data.test=null", "model.input=[6]", flat6,
             "data.split_seed=7", "data.balance=oversample"],
            [csv("regression.csv", ""), "data.test=null", "data.task=regression", "loss={\"type\": \"mse\"}", "model.input=[3]",
             #"model.layers=[{"type": "dense", "units": 4, "activation": {"type": "softplus", "beta": 2, "threshold": 10}}, {"type": "dense", "units": 1}]"#],
            [#"data.train={"format": "cifar10", "files": ["\#(data)/cifar.bin"]}"#, "data.test=null", "model.input=[3, 32, 32]",
             #"model.layers=[{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1, "activation": "relu", "bias": true, "weight_norm": true, "init": "he_uniform", "bias_init": 0.1, "freeze": false, "lr_mult": 1}, {"type": "max_pool2d", "kernel_size": 2, "stride": 2}, {"type": "global_avg_pool"}, {"type": "dense", "units": 10}]"#,
             #"data.augment=[{"type": "horizontal_flip", "p": 0.5}, {"type": "vertical_flip", "p": 0.1}, {"type": "random_crop", "padding": 2}, {"type": "rotation", "degrees": 10}, {"type": "scale", "range": [0.9, 1.1]}, {"type": "translate", "fraction": 0.1}, {"type": "gaussian_noise", "std": 0.05}, {"type": "cutout", "size": 4}, {"type": "fancy_pca", "std": 0.1}]"#],
            [#"model.layers=[{"type": "conv2d", "out_channels": 8, "padding": "same"}, {"type": "batch_norm", "momentum": 0.2, "eps": 1e-4, "affine": true, "freeze": false, "lr_mult": 1}, {"type": "relu"}, {"type": "avg_pool2d", "kernel_size": 2}, {"type": "local_response_norm", "size": 3, "alpha": 1e-4, "beta": 0.75, "k": 1}, {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": [3, 3], "stride": 1, "padding": [1, 1], "dilation": 1, "activation": "relu", "bias": true, "bias_init": 0, "weight_norm": false, "init": {"type": "he_normal", "mode": "fan_out", "negative_slope": 0}, "freeze": false, "lr_mult": 1}]}, {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 4, "kernel_size": 1, "stride": 2, "padding": "valid"}]}, {"type": "flatten"}, {"type": "layer_norm", "eps": 1e-5, "affine": true}, {"type": "dense", "units": 4}]"#,
             "data.augment=[{\"type\": \"cutout\", \"size\": 2}]", "data.preprocess=[{\"type\": \"center\", \"per\": \"channel\"}]"],
            [#"model.layers=[{"type": "flatten"}, {"type": "maxout", "units": 6, "pieces": 3}, {"type": "prelu", "slopes": "per_channel", "init_slope": 0.1, "freeze": false, "lr_mult": 2}, {"type": "rrelu", "lower": 0.1, "upper": 0.3}, {"type": "dense", "units": 6, "activation": {"type": "leaky_relu", "alpha": 0.2}, "bias": false, "weight_norm": true}, {"type": "dropout", "rate": 0.3}, {"type": "residual", "layers": [{"type": "dense", "units": 5, "activation": "gelu"}]}, {"type": "activation", "activation": {"type": "elu", "alpha": 0.5}}, {"type": "dense", "units": 4}]"#,
             #"data.preprocess=[{"type": "standardize", "per": "global", "min_std": 0.05}, {"type": "minmax", "per": "feature", "range": [-1, 1]}]"#],
            [#"model.layers=[{"type": "dense", "units": 6, "activation": "sigmoid"}, {"type": "silu"}, {"type": "swish"}, {"type": "gelu", "approximate": "tanh"}, {"type": "softplus", "beta": 1, "threshold": 20}, {"type": "dense", "units": 4}]"#,
             "model.input=[5]", #"data.preprocess=[{"type": "standardize"}, {"type": "pca", "components": 5, "whiten": true, "eps": 1e-4}]"#],
            [#"model.layers=[{"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 4}]"#,
             #"data.preprocess=[{"type": "zca", "eps": 0.1}]"#, "data.balance=undersample", "data.split_seed=123"],
            // Row-sequential images: 8 steps of 8 pixels through every recurrent key.
            ["model.input=[8, 8]",
             #"model.layers=[{"type": "lstm", "hidden_size": 4, "num_layers": 2, "bidirectional": true, "return_sequences": true, "bias": true, "dropout": 0.1, "recurrent_dropout": 0.1, "input_dropout": 0.1, "init": null, "bias_init": 0, "freeze": false, "lr_mult": 1}, {"type": "layer_norm", "normalized_shape": [8]}, {"type": "rnn", "hidden_size": 3, "nonlinearity": "relu", "return_sequences": true}, {"type": "global_max_pool1d"}, {"type": "dense", "units": 4}]"#],
            ["model.input=[8, 8]",
             #"model.layers=[{"type": "gru", "hidden_size": 4, "return_sequences": true}, {"type": "global_average_pool1d"}, {"type": "dense", "units": 4}]"#],
            [#"data.train={"format": "text", "path": "\#(data)/text.csv", "label_column": 0, "text_column": 1, "header": "auto", "delimiter": ","}"#,
             "data.test=null", "model.input=[40]", flat6,
             #"data.text={"tokenize": "words", "lowercase": true, "min_count": 1, "max_size": 40, "representation": "bag_of_words", "binary": false, "max_length": 16}"#,
             #"data.augment=[{"type": "sentence_shuffle", "p": 0.5}, {"type": "synonym_replacement", "p": 0.2, "wordnet": "\#(wordnet)"}, {"type": "random_insertion", "p": 0.1, "wordnet": "\#(wordnet)"}, {"type": "random_swap", "p": 0.1}, {"type": "random_deletion", "p": 0.1}]"#],
            [csv("header.csv", ""), "data.test=null", "model.input=[6]", #"data.preprocess=[{"type": "pca", "variance": 1.0}]"#,
             #"model.layers=[{"type": "dense", "units": 3, "init": {"type": "he_normal", "mode": "fan_in", "negative_slope": 0.01}}]"#],
        ]
    }

    /// Keys independent of the architecture, one group per variant (cycled).
    static let inits: [String] = [
        "model.init=zeros", "model.init={\"type\": \"constant\", \"value\": 0.01}", "model.init={\"type\": \"normal\", \"mean\": 0, \"std\": 0.05}",
        "model.init={\"type\": \"uniform\", \"a\": -0.1, \"b\": 0.1}", "model.init={\"type\": \"uniform\", \"bound\": \"fan_in\"}",
        "model.init={\"type\": \"xavier_uniform\", \"gain\": 1}", "model.init={\"type\": \"xavier_normal\", \"gain\": \"auto\"}",
        "model.init={\"type\": \"he_uniform\", \"mode\": \"fan_out\", \"negative_slope\": 0.1}",
        "model.init={\"type\": \"he_normal\", \"mode\": \"fan_in\", \"negative_slope\": 0}", "model.init=lecun_normal",
        "model.init={\"type\": \"orthogonal\", \"gain\": 1.0}",
    ]
    static let optimizers: [String] = [
        #"optimizer={"type": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0, "nesterov": true, "weight_decay": 1e-4}"#,
        #"optimizer={"type": "adam", "lr": 0.002, "betas": [0.8, 0.99], "eps": 1e-7, "amsgrad": true, "weight_decay": 0.001}"#,
        #"optimizer={"type": "adamw", "lr": 0.001}"#,
        #"optimizer={"type": "nadam", "lr": 0.002, "betas": [0.9, 0.999], "eps": 1e-8, "momentum_decay": 0.004, "weight_decay": 0}"#,
        #"optimizer={"type": "adagrad", "lr": 0.01, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-10, "weight_decay": 0}"#,
        #"optimizer={"type": "rmsprop", "lr": 0.001, "alpha": 0.9, "eps": 1e-8, "momentum": 0.5, "centered": true, "weight_decay": 0}"#,
        #"optimizer={"type": "adadelta", "lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0}"#,
        #"optimizer={"type": "sgd", "lr": 0.01, "momentum": 0.5, "dampening": 0.1}"#,
    ]
    static let schedules: [String] = [
        #"schedule={"type": "constant", "warmup_epochs": 1, "warmup_start_factor": 0.1}"#,
        #"schedule={"type": "step", "step_size": 2, "gamma": 0.5}"#,
        #"schedule={"type": "multistep", "milestones": [1, 3], "gamma": 0.1}"#,
        #"schedule={"type": "exponential", "gamma": 0.9}"#,
        #"schedule={"type": "linear", "start_factor": 1, "end_factor": 0.1, "total_iters": 3}"#,
        #"schedule={"type": "inverse_time", "decay_rate": 0.5}"#,
        #"schedule={"type": "natural_exp", "decay_rate": 0.1}"#,
        #"schedule={"type": "cosine", "T_max": 4, "eta_min": 1e-5}"#,
        #"schedule={"type": "cosine_restarts", "T_0": 2, "T_mult": 2, "eta_min": 0}"#,
        #"schedule={"type": "cyclic", "max_lr": 0.01, "step_size_up": 3, "mode": "exp_range", "gamma": 0.99}"#,
        #"schedule={"type": "one_cycle", "pct_start": 0.3, "div_factor": 25, "final_div_factor": 1e4, "anneal_strategy": "linear", "three_phase": true}"#,
        #"schedule={"type": "reduce_on_plateau", "monitor": "val_loss", "factor": 0.5, "patience": 1, "threshold": 1e-4, "cooldown": 1, "min_lr": 1e-6}"#,
    ]
    static let rest: [[String]] = [
        [#"regularization={"l2": 1e-4, "l1": 1e-5, "max_norm": 3, "clip": {"norm": 1.0, "value": 0.5}, "penalize_biases": true}"#],
        [#"training={"epochs": 1, "batch_size": 8, "eval_batch_size": 10, "shuffle": false, "log_every": 2, "checkpoint_every_steps": 3, "prefetch": false, "on_nan": "skip_batch", "early_stopping": {"monitor": "val_loss", "patience": 2, "min_delta": 0.001, "mode": "min", "restore_best": true}, "snapshots": {"every": 1, "best": 2}}"#],
        ["threads=1", "diagnostics=true", "name=renamed", "output.tensorboard=true"],
        [#"training.early_stopping={"monitor": "loss", "patience": 1, "mode": "auto", "restore_best": false}"#],
    ]
    static let classificationOnly: [String] = [
        #"loss={"type": "cross_entropy", "label_smoothing": 0.1, "class_weights": "balanced"}"#,
        #"loss={"type": "mse"}"#,
        #"training.early_stopping={"monitor": "val_accuracy", "patience": 3, "mode": "max"}"#,
    ]

    /// The generated set: variant i is architecture i plus the i-th of every independent group.
    static var variants: [[String]] {
        let n = max(architectures.count, inits.count, optimizers.count, schedules.count)
        return (0..<n).map { i in
            let arch = architectures[i % architectures.count]
            var sets = arch + [inits[i % inits.count], optimizers[i % optimizers.count], schedules[i % schedules.count]]
            sets += rest[i % rest.count]
            if !arch.contains("data.task=regression") { sets.append(classificationOnly[i % classificationOnly.count]) }
            return sets
        }
    }
}

/// The JSON block `validate` prints after "effective config:".
func effectiveConfig(_ validateOutput: String) throws -> JSONValue {
    let lines = validateOutput.split(separator: "\n", omittingEmptySubsequences: false)
    guard let start = lines.firstIndex(where: { $0.hasPrefix("effective config:") }),
          let end = lines[start...].firstIndex(where: { $0 == "}" }) else {
        throw RoundTripError(message: "no effective config in: \(validateOutput)")
    }
    return try JSONValue.parse(Array(lines[(start + 1)...end].joined(separator: "\n").utf8))
}

struct RoundTripError: Error, CustomStringConvertible { var message: String; var description: String { message } }

/// Trains `args` one epoch into `dir`, then checks the round trip of what it wrote.
func checkRoundTrip(_ args: [String], dir: String, label: String) throws {
    let run = try nntrain(args + ["--out", dir, "--force", "--quiet", "--set", "training.epochs=1"], timeout: 120)
    try #require(run.status == 0, "\(label): run exited \(run.status): \(run.stderr)")
    // config.json validates and resolves to itself.
    let written = try JSONValue.parse(try FileIO.read(dir + "/config.json"))
    let validate = try nntrain(["validate", dir + "/config.json"])
    try #require(validate.status == 0, "\(label): validate of the written config exited \(validate.status): \(validate.stderr)")
    let again = try effectiveConfig(validate.stdout)
    #expect(again == written, "\(label): config.json is not a fixed point:\n\(written.serialized())\n→\n\(again.serialized())")
    // eval accepts the run and reproduces its test loss.
    let summary = try JSONValue.parse(try FileIO.read(dir + "/summary.json"))
    let eval = try nntrain(["eval", dir, "--json"] + (summary["test_loss"] == .null ? ["--data", written["data"]?["train"]?.serialized(indent: 0) ?? ""] : []))
    #expect(eval.status == 0, "\(label): eval exited \(eval.status): \(eval.stderr)")
    if case .number(let t)? = summary["test_loss"], eval.status == 0 {
        let e = try JSONValue.parse(Array(eval.stdout.utf8))
        #expect(e["loss"] == .number(t), "\(label): eval loss \(e["loss"]?.serialized() ?? "nil") ≠ test_loss \(t)")
    }
    // --resume continues the finished run for one more epoch.
    let resume = try nntrain(["run", "--resume", dir, "--set", "training.epochs=2", "--quiet"], timeout: 120)
    #expect(resume.status == 0, "\(label): --resume exited \(resume.status): \(resume.stderr)")
    let rows = try read(dir + "/curves.csv").split(separator: "\n")
    if resume.status == 0 { #expect(rows.count == 3, "\(label): curves after resume: \(rows)") }
}

/// Every shipped experiment config, on the shipped subset (the full Fashion-MNIST may be absent).
@Test(arguments: ((try? FileManager.default.subpathsOfDirectory(atPath: root + "configs")) ?? [])
    .filter { $0.hasSuffix(".json") && !$0.hasPrefix("sweep/") }.sorted())
func shippedConfigRoundTrips(config: String) throws {
    let subset = root + "data/fashion-mnist-subset/"
    var args = ["run", root + "configs/" + config]
    let text = try read(root + "configs/" + config)
    if text.contains("/usr/share/datasets/fashion-mnist") {
        args += ["--set", #"data.train={"format": "idx", "images": "\#(subset)train-images-idx3-ubyte.gz", "labels": "\#(subset)train-labels-idx1-ubyte.gz"}"#,
                 "--set", #"data.test={"format": "idx", "images": "\#(subset)t10k-images-idx3-ubyte.gz", "labels": "\#(subset)t10k-labels-idx1-ubyte.gz"}"#]
    }
    // A config that starts from another shipped run's weights (`runs/NAME/model.safetensors`,
    // configs/NAME.json): that run first, one epoch, into a directory of its own.
    if let from = try JSONValue.parse(Array(text.utf8))["model"]?["from"]?.stringValue, from.hasSuffix("/model.safetensors") {
        let name = from.split(separator: "/").dropLast().last.map(String.init) ?? ""
        let first = tempDir("roundtrip-from-" + name)
        let r = try nntrain(["run", root + "configs/" + name + ".json", "--out", first, "--force", "--quiet", "--set", "training.epochs=1"], timeout: 120)
        try #require(r.status == 0, "\(config): its model.from run configs/\(name).json exited \(r.status): \(r.stderr)")
        args += ["--set", "model.from=\(first)/model.safetensors"]
    }
    try checkRoundTrip(args, dir: tempDir("roundtrip-" + config.replacingOccurrences(of: "/", with: "-")), label: config)
}

@Test(arguments: RoundTrip.variants.indices)
func generatedConfigRoundTrips(index: Int) throws {
    let dir = tempDir("roundtrip-variant-\(index)")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let config = dir + "-config.json"
    RoundTrip.write(Array(RoundTrip.base.utf8), config)
    let sets = RoundTrip.variants[index]
    try checkRoundTrip(["run", config] + sets.flatMap { ["--set", $0] }, dir: dir, label: "variant \(index): \(sets)")
}

/// The generated set covers every key: each key path (list indices dropped) that appears in
/// any variant's resolved config was set explicitly by some variant.
@Test func generatedConfigsCoverEveryKey() throws {
    func keys(_ v: JSONValue, _ prefix: String) -> Set<String> {
        switch v {
        case .object(let pairs):
            return pairs.reduce(into: Set<String>()) { s, p in
                let k = prefix.isEmpty ? p.0 : prefix + "." + p.0
                s.insert(k)
                s.formUnion(keys(p.1, k))
            }
        case .array(let items): return items.reduce(into: Set<String>()) { $0.formUnion(keys($1, prefix)) }
        default: return []
        }
    }
    var resolved = Set<String>(), given = try keys(JSONValue.parse(Array(RoundTrip.base.utf8)), "")
    for (i, sets) in RoundTrip.variants.enumerated() {
        let config = tempDir("roundtrip-keys-\(i)") + ".json"
        RoundTrip.write(Array(RoundTrip.base.utf8), config)
        let v = try nntrain(["validate", config] + sets.flatMap { ["--set", $0] })
        try #require(v.status == 0, "variant \(i) does not validate: \(v.stderr)")
        resolved.formUnion(keys(try effectiveConfig(v.stdout), ""))
        for s in sets {
            let eq = s.firstIndex(of: "=")!
            let path = s[..<eq].split(separator: ".").filter { Int($0) == nil }.joined(separator: ".")
            given.insert(path)
            if let value = try? JSONValue.parse(Array(s[s.index(after: eq)...].utf8)) { given.formUnion(keys(value, path)) }
        }
    }
    // The `from` keys load another run's weights: PretrainedTests and PretrainedCLITests cover them.
    let fromKeys: Set<String> = ["model.from", "model.from_layers", "model.from_prefix", "model.from_map"]
    let missing = resolved.subtracting(given).subtracting(fromKeys).subtracting(["output", "output.dir"])
    #expect(missing.isEmpty, "keys no generated config sets: \(missing.sorted())")
}

/// Not a check: with NNTRAIN_IDENTITY_DIR set (bench/identity.sh sets it), trains every generated
/// config 3 epochs at 1 and at 2 threads into that directory, so that a refactor can be shown to
/// leave every curve and weight bit-identical. Without the variable it does nothing.
@Test func identityRuns() throws {
    guard let out = ProcessInfo.processInfo.environment["NNTRAIN_IDENTITY_DIR"] else { return }
    try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
    for (i, sets) in RoundTrip.variants.enumerated() {
        let config = out + "/variant-\(i).json"
        RoundTrip.write(Array(RoundTrip.base.utf8), config)
        for threads in [1, 2] {
            let dir = out + "/variant-\(i)-t\(threads)"
            let run = try nntrain(["run", config] + sets.flatMap { ["--set", $0] }
                + ["--set", "training.epochs=3", "--set", "threads=\(threads)", "--out", dir, "--force", "--quiet"], timeout: 300)
            if run.status != 0 { RoundTrip.write(Array("exit \(run.status)".utf8), dir + "/exit") }
        }
    }
}
