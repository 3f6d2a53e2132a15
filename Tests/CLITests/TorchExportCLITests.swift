import Foundation
import NNCore
import Testing

// `nntrain export --format torch`: model.py holds the run's Model, its modules named as
// model.safetensors' tensors, the preprocessing and load(); bad input exits with its code.
// (PyTorch itself runs the exports in `make test-interop`, Tests/Interop/check_torch.py.)

private let subset = root + "data/fashion-mnist-subset/"
private let subsetData = """
    {"train": {"format": "idx", "images": "\(subset)train-images-idx3-ubyte.gz", "labels": "\(subset)train-labels-idx1-ubyte.gz"},
     "test": {"format": "idx", "images": "\(subset)t10k-images-idx3-ubyte.gz", "labels": "\(subset)t10k-labels-idx1-ubyte.gz"},
     "validation_split": 0.1, "preprocess": [{"type": "standardize", "per": "feature"}]}
    """

/// Small models that together hold every layer type (as Tests/Interop/interop_runs.py's),
/// with lines each model.py must contain.
private let layerConfigs: [(name: String, layers: String, expected: [String])] = [
    ("conv-pool", """
     {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "activation": {"type": "elu", "alpha": 0.5}, "bias": false},
     {"type": "max_pool2d", "kernel_size": 2},
     {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1, "weight_norm": true, "activation": "gelu"},
     {"type": "avg_pool2d", "kernel_size": 2, "stride": 1},
     {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "dilation": 2, "padding": [2, 1], "activation": {"type": "gelu", "approximate": "tanh"}},
     {"type": "global_avg_pool"}, {"type": "dense", "units": 10}
     """, [
        "torch.nn.Conv2d(1, 4, (3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), bias=False),  # layers.0",
        "x = F.elu(self.layers[0](x), 0.5)",
        "torch.nn.MaxPool2d((2, 2), (2, 2)),  # layers.1",
        "Tensors(weight_v=(6, 4, 3, 3), weight_g=(6, 1, 1, 1), bias=(6,)),  # layers.2",
        "x = F.gelu(F.conv2d(x, weight_norm(self.layers[2].weight_v, self.layers[2].weight_g), self.layers[2].bias, (2, 2), (1, 1), (1, 1)))",
        "def weight_norm(v, g):",
        "torch.nn.AvgPool2d((2, 2), (1, 1)),  # layers.3",
        "x = F.gelu(self.layers[4](x), approximate=\"tanh\")",
        "padding=(2, 1), dilation=(2, 2)",
        "x = x.mean(dim=(2, 3))",
    ]),
    ("norms", """
     {"type": "conv2d", "out_channels": 8, "kernel_size": 3}, {"type": "batch_norm"}, {"type": "relu"},
     {"type": "local_response_norm", "size": 4, "alpha": 0.02}, {"type": "layer_norm"}, {"type": "max_pool2d", "kernel_size": 2},
     {"type": "layer_norm", "affine": false}, {"type": "flatten"}, {"type": "dense", "units": 32},
     {"type": "batch_norm", "affine": false}, {"type": "prelu", "slopes": "per_channel"}, {"type": "dense", "units": 10}
     """, [
        "torch.nn.BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True),  # layers.1",
        "x = F.batch_norm(x, self.layers[1].running_mean, self.layers[1].running_var, self.layers[1].weight, self.layers[1].bias, False, 0.0, self.layers[1].eps)",
        "torch.nn.ReLU(),  # layers.2",
        "x = F.local_response_norm(x.reshape(x.shape[0], 8, -1), 4, 0.02, 0.75, 1.0).reshape(x.shape)",
        "torch.nn.LayerNorm([8, 28, 28], eps=1e-05, elementwise_affine=True),  # layers.4",
        "torch.nn.LayerNorm([8, 14, 14], eps=1e-05, elementwise_affine=False),  # layers.6",
        "torch.nn.BatchNorm1d(32, eps=1e-05, momentum=0.1, affine=False),  # layers.9",
        "torch.nn.PReLU(32),  # layers.10",
        "x = F.prelu(x, self.layers[10].weight)",
    ]),
    ("activations", """
     {"type": "flatten"}, {"type": "dense", "units": 16, "activation": {"type": "softplus", "beta": 2, "threshold": 5}},
     {"type": "leaky_relu", "alpha": 0.1}, {"type": "dense", "units": 16, "activation": "silu"}, {"type": "softsign"},
     {"type": "dense", "units": 16}, {"type": "rrelu"}, {"type": "swish"}, {"type": "sigmoid"}, {"type": "tanh"}, {"type": "elu"},
     {"type": "gelu"}, {"type": "softplus"}, {"type": "prelu"}, {"type": "activation", "activation": "relu"},
     {"type": "maxout", "units": 8, "pieces": 3}, {"type": "dropout", "rate": 0.2}, {"type": "dense", "units": 10, "weight_norm": true}
     """, [
        "x = F.softplus(self.layers[1](x), 2.0, 5.0)",
        "torch.nn.LeakyReLU(0.1),  # layers.2",
        "x = F.silu(self.layers[3](x))",
        "x = F.softsign(x)",
        "x = F.leaky_relu(x, 0.2",
        "torch.nn.SiLU(),  # layers.7",
        "torch.nn.Softplus(1.0, 20.0),  # layers.12",
        "torch.nn.PReLU(1),  # layers.13",
        "x = self.layers[15](x).reshape(-1, 8, 3).amax(dim=2)",
        "torch.nn.Dropout(0.2),  # layers.16",
        "# layers.16: dropout, the identity in evaluation",
        "Tensors(weight_v=(10, 8), weight_g=(10, 1), bias=(10,)),  # layers.17",
        "x = F.linear(x, weight_norm(self.layers[17].weight_v, self.layers[17].weight_g), self.layers[17].bias)",
    ]),
    ("residual", """
     {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "activation": "relu"},
     {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "stride": 2, "padding": 1, "activation": "relu"}]},
     {"type": "global_avg_pool"},
     {"type": "residual", "layers": [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 8}]},
     {"type": "residual", "layers": [{"type": "dense", "units": 6, "bias": false}]}, {"type": "dense", "units": 10}
     """, [
        "    torch.nn.Conv2d(4, 8, (1, 1), stride=(2, 2), padding=(0, 0), dilation=(1, 1), bias=False),  # layers.1.projection\n"
            + "            ),  # layers.1",
        "x = torch.relu(self.layers[1].layers[0](x))",
        "skip_1, x = x, skip_1",
        "x = self.layers[1].projection(x)",
        "            Residual(\n                [\n                    torch.nn.Linear(8, 8, bias=True),  # layers.3.layers.0",
        "x = x + skip_3",
        "                ],\n                torch.nn.Linear(8, 6, bias=False),  # layers.4.projection",
    ]),
]

/// Runs `layers` for one epoch on the shipped subset; returns the run directory.
private func trainLayers(_ name: String, _ layers: String) throws -> String {
    let dir = tempDir("torch-\(name)")
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let config = """
        {"name": "\(name)", "seed": 7, "data": \(subsetData),
         "model": {"input": [1, 28, 28], "init": "he_normal", "layers": [\(layers)]},
         "loss": {"type": "cross_entropy"}, "optimizer": {"type": "adam", "lr": 0.001},
         "training": {"epochs": 1, "batch_size": 64}}
        """
    return try trainConfig(config, in: dir)
}

/// Exports `run` into `out`; checks the summary line and that model.py names every tensor of
/// model.safetensors through a module at its path (`# layers.N.layers.M` comments). Returns model.py.
private func exportTorch(_ run: String, out: String? = nil) throws -> String {
    let r = try nntrain(["export", run, "--format", "torch"] + (out.map { ["--out", $0] } ?? []))
    #expect(r.status == 0, "\(r.stderr)")
    let names = try Safetensors.read(run + "/model.safetensors", limit: 1 << 30).entries.map(\.name)
    #expect(r.stdout.contains("\(names.count) state_dict tensors (model.safetensors' names)"), "\(r.stdout)")
    let text = try read((out ?? run) + "/model.py")
    for name in names {
        let module = name.split(separator: ".").dropLast().joined(separator: ".")
        #expect(text.contains("  # \(module)\n"), "model.py has no module for \(name)")
    }
    // torch alone at the top; safetensors only inside load().
    let imports = text.split(separator: "\n").filter { $0.hasPrefix("import ") || $0.hasPrefix("from ") }
    #expect(imports == ["import torch", "import torch.nn.functional as F"], "\(imports)")
    #expect(text.contains("\n    from safetensors.torch import load_file\n"))
    return text
}

@Test func torchExportOfTheQuickstartWritesModelPy() throws {
    let run = tempDir("torch-quickstart")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", run, "--quiet", "--set", "training.epochs=1"]).status == 0)
    let r = try nntrain(["export", run, "--format", "torch"])
    #expect(r.stdout.hasPrefix("wrote \(run)/model.py: PyTorch class Model, input uint8 [N, 1, 28, 28] → logits float32 [N, 10]; 4 state_dict tensors"),
            "\(r.stdout)")
    let text = try exportTorch(run)
    for line in [
        "class Model(torch.nn.Module):", "self.layers = torch.nn.ModuleList([",
        "torch.nn.Flatten(),  # layers.0", "torch.nn.Linear(784, 128, bias=True),  # layers.1",
        "torch.nn.Linear(128, 10, bias=True),  # layers.3",
        "self.register_buffer(\"scale\", torch.ones(784), persistent=False)",
        "self.register_buffer(\"shift\", torch.zeros(784), persistent=False)",
        "x = x.to(torch.float32).reshape(x.shape[0], 784)", "x = x * self.scale + self.shift",
        "x = torch.relu(self.layers[1](x))", "x = self.layers[3](x)",
        "def load(run_dir):", "model.load_state_dict(load_file(run_dir + \"/model.safetensors\"), strict=True)",
        "model.set_preprocessing(load_file(run_dir + \"/preprocess.safetensors\"))", "return model.eval()",
        "Input: uint8 (or float) tensor [N, 1, 28, 28] holding 0–255",
    ] {
        #expect(text.contains(line), "model.py lacks: \(line)")
    }
    #expect(text.hasPrefix("\"\"\"The nntrain run \"quickstart\" as a PyTorch module"))
    #expect(!text.contains("projection") && !text.contains("class Tensors") && !text.contains("class Residual"))

    // --out DIR: made when missing.
    let out = tempDir("torch-out") + "/a/b"
    _ = try exportTorch(run, out: out)
    #expect(!FileManager.default.fileExists(atPath: run + "/model.onnx"))
}

@Test(arguments: layerConfigs.indices)
func torchExportWritesEveryLayerType(index: Int) throws {
    let c = layerConfigs[index]
    let text = try exportTorch(try trainLayers(c.name, c.layers))
    for line in c.expected { #expect(text.contains(line), "\(c.name): model.py lacks: \(line)") }
}

@Test func torchExportRejectsUnsupportedCases() throws {
    let run = tempDir("torch-reject")
    #expect(try nntrain(["run", "configs/quickstart.json", "--out", run, "--quiet", "--set", "training.epochs=1"]).status == 0)
    // --probabilities is ONNX's: usage, exit 2, nothing written.
    let p = try nntrain(["export", run, "--format", "torch", "--probabilities"])
    #expect(p.status == 2 && p.stderr.contains("--probabilities: onnx only"), "\(p.stderr)")
    #expect(!FileManager.default.fileExists(atPath: run + "/model.py"))
    // An --out that is a file: exit 1 naming it.
    let file = run + "/config.json"
    let bad = try nntrain(["export", run, "--format", "torch", "--out", file])
    #expect(bad.status == 1 && bad.stderr.contains(file), "\(bad.stderr)")
    // A run without its weights: exit 3 naming the file.
    try FileManager.default.removeItem(atPath: run + "/model.safetensors")
    let missing = try nntrain(["export", run, "--format", "torch"])
    #expect(missing.status == 3 && missing.stderr.contains(run + "/model.safetensors"), "\(missing.stderr)")
}

/// The sequence layers of a text run: nn.Embedding on the ids as int64, the lengths computed in
/// forward, nn.GRU(batch_first) on the packed sequence, the pooling over the valid steps.
@Test func torchExportWritesTheSequenceLayersOfATextRun() throws {
    let text = try exportTorch(try trainTextSequenceRun("torch-text"))
    for line in [
        "torch.nn.Embedding(500, 8, padding_idx=0),  # layers.0",
        "torch.nn.GRU(8, 6, num_layers=1, bias=True, batch_first=True, bidirectional=True),  # layers.1",
        "torch.nn.Identity(),  # layers.2",
        "x = torch.where((x >= 0) & (x < 500) & (x == x.floor()), x, 1.0).long()",
        "lengths = ((x != 0) * torch.arange(1, 17, device=x.device)).amax(1)",
        "x = self.layers[0](x)",
        "x = torch.nn.utils.rnn.pack_padded_sequence(x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)",
        "x, state = self.layers[1](x)",
        "x = torch.nn.utils.rnn.pad_packed_sequence(x, batch_first=True, total_length=16)[0]",
        "x = (x * (torch.arange(16, device=x.device) < lengths[:, None])[:, :, None]).sum(dim=1) * (1 / lengths.clamp(min=1))[:, None]",
    ] {
        #expect(text.contains(line), "model.py lacks: \(line)")
    }
}
