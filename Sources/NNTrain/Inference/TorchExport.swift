import NNCore

/// `nntrain export RUN_DIR --format torch`: a finished run as `model.py`, plain PyTorch source
/// (imports `torch` alone; `load` imports `safetensors.torch` when called).
///
/// - `class Model(torch.nn.Module)`, specialised to the run: `self.layers`, a `ModuleList` with
///   one module per config layer (`Layer.exportTorch`, in the layer's own file), whose
///   `state_dict()` names are exactly `model.safetensors`' (`layers.N.weight`, batch norm's
///   `running_mean`…, a residual block's `layers.N.layers.M.weight`, weight norm's
///   `weight_v`/`weight_g`), so `load_state_dict(load_file("model.safetensors"), strict=True)`
///   fills it.
/// - The preprocessing of `preprocess.safetensors` as buffers `scale`, `shift` (and
///   `projection` after PCA/ZCA) registered with `persistent=False` — outside `state_dict()`,
///   filled by `set_preprocessing` (which `load` calls).
/// - `forward(x)`: x the values as the data files store them (as the ONNX export's input),
///   cast to float32, flattened to `[N, F]`, x·scale + shift (scale holds 1/255 for pixels),
///   x @ projectionᵀ, reshaped to `[N] + model.input`, then each layer in evaluation mode,
///   fused activations included; returns the logits `[N, K]`.
/// - `load(run_dir)`: the model with both files loaded, in eval mode.
public enum TorchExport {
    /// What `source` wrote, for the CLI's line.
    public struct Summary: Sendable {
        public var inputShape: String
        public var inputType: String
        public var outputCount: Int
        /// The `state_dict()` names: those of `model.safetensors`.
        public var stateNames: [String]
    }

    /// The `model.py` of `trained`: `.config` (exit 2) for a layer without a PyTorch form (the
    /// message names it).
    public static func source(_ trained: TrainedModel) throws(RunError) -> (text: String, summary: Summary) {
        let pre = trained.preprocessor
        let features = pre.scale.count
        let isCSV = trained.takesFeatures
        let stored = isCSV ? [features] : ONNXExport.storedImageShape(trained)
        let storedShape = "[N, " + stored.map(String.init).joined(separator: ", ") + "]"
        let k = trained.outputCount

        var modules: [String] = [], forward: [String] = [], helpers: Set<TorchHelper> = []
        do {
            for (i, layer) in trained.model.layers.enumerated() {
                let code = try layer.exportTorch("self.layers[\(i)]")
                modules.append(TorchCode.indent(code.module, "            ") + ",  # \(layer.name)")
                forward += code.forward
                helpers.formUnion(code.helpers)
            }
        } catch {
            throw .config(["\(trained.directory): \(error.message)"])
        }

        var pyPre = ["x = x.to(torch.float32).reshape(x.shape[0], \(features))", "x = x * self.scale + self.shift"]
        if pre.projection != nil { pyPre.append("x = x @ self.projection.T") }
        if trained.inputShape != [pre.outputCount] {
            pyPre.append("x = x.reshape(x.shape[0], " + trained.inputShape.map(String.init).joined(separator: ", ") + ")")
        }
        if trained.model.outputShape.count != 1 { forward.append("x = x.flatten(1)") }

        let input = isCSV
            ? "float tensor \(storedShape): the CSV's feature columns as stored (any float dtype)"
            : "uint8 (or float) tensor \(storedShape) holding 0–255: the pixels as the \(trained.config.data.train.map(sourceName) ?? "data") stores them"
        let output = trained.hasSoftmax
            ? "float32 logits [N, \(k)]; torch.softmax(logits, -1) are the probabilities of `nntrain predict --probabilities`"
            : "float32 outputs [N, \(k)], as `nntrain predict` writes them"
        var text = header(trained, input: input, output: output, projection: pre.projection != nil)
        text += "import torch\nimport torch.nn.functional as F\n\n"
        for h in helpers.sorted() { text += "\n" + helperSource(h) + "\n" }
        text += """

        class Model(torch.nn.Module):
            \"\"\"The run's network; `forward` maps the stored values to the \(trained.hasSoftmax ? "logits" : "outputs") in evaluation mode.\"\"\"

            def __init__(self):
                super().__init__()
                self.layers = torch.nn.ModuleList([

        """
        text += modules.map { "            " + $0 + "\n" }.joined()
        text += "        ])\n"
        text += "        # The preprocessing (preprocess.safetensors), outside state_dict(): set_preprocessing fills it.\n"
        text += "        self.register_buffer(\"scale\", torch.ones(\(features)), persistent=False)\n"
        text += "        self.register_buffer(\"shift\", torch.zeros(\(features)), persistent=False)\n"
        if pre.projection != nil {
            text += "        self.register_buffer(\"projection\", torch.zeros(\(pre.outputCount), \(features)), persistent=False)\n"
        }
        let preNames = pre.projection != nil ? "(\"scale\", \"shift\", \"projection\")" : "(\"scale\", \"shift\")"
        text += """

            def set_preprocessing(self, tensors):
                \"\"\"Copies \(pre.projection != nil ? "scale, shift and projection" : "scale and shift") from the tensors of preprocess.safetensors.\"\"\"
                with torch.no_grad():
                    for name in \(preNames):
                        getattr(self, name).copy_(tensors[name])
                return self

            def forward(self, x):

        """
        text += (pyPre + forward + ["return x"]).map { "        " + $0 + "\n" }.joined()
        text += """


        def load(run_dir):
            \"\"\"The model of the run in `run_dir`: model.safetensors loaded strictly, preprocess.safetensors, eval mode.\"\"\"
            from safetensors.torch import load_file

            model = Model()
            model.load_state_dict(load_file(run_dir + "/model.safetensors"), strict=True)
            model.set_preprocessing(load_file(run_dir + "/preprocess.safetensors"))
            return model.eval()

        """
        let names = trained.model.parameters.map(\.name) + trained.model.buffers.map(\.0)
        return (text, Summary(inputShape: storedShape, inputType: isCSV ? "float32" : "uint8", outputCount: k, stateNames: names))
    }

    /// The docstring that opens `model.py`: input, output, usage, what is and is not in state_dict().
    static func header(_ trained: TrainedModel, input: String, output: String, projection: Bool) -> String {
        let pre = projection ? "x·scale + shift per feature, then x @ projection.T (PCA/ZCA)" : "x·scale + shift per feature"
        return """
        \"\"\"The nntrain run "\(trained.config.name)" as a PyTorch module (nntrain export --format torch, nntrain \(Experiment.version)).

        Input: \(input).
          Model.forward does the preprocessing fitted on the training split: \(pre)
          (scale includes the stored-value scale, 1/255 for pixels), reshaped to [N, \(trained.inputShape.map(String.init).joined(separator: ", "))].
        Output: \(output).

            from model import load
            m = load("\(trained.directory)")   # the run directory: model.safetensors, preprocess.safetensors
            logits = m(x)

        state_dict() names and shapes are model.safetensors' exactly (load_state_dict(..., strict=True)).
        The preprocessing tensors (\(projection ? "scale, shift, projection" : "scale, shift")) are buffers registered with persistent=False,
        outside state_dict(): load() fills them from preprocess.safetensors (by hand:
        Model().set_preprocessing(safetensors.torch.load_file(run_dir + "/preprocess.safetensors"))).
        forward computes evaluation mode whatever model.training says: dropout is the identity,
        batch norm uses the running statistics.
        \"\"\"


        """
    }

    static func sourceName(_ source: DataSource) -> String {
        switch source {
        case .idx: return "IDX file"
        case .cifar10: return "CIFAR-10 batch"
        default: return "data file"
        }
    }

    /// The Python text of `helper`.
    static func helperSource(_ helper: TorchHelper) -> String {
        switch helper {
        case .tensors:
            return """
            class Tensors(torch.nn.Module):
                \"\"\"A layer's parameters under nntrain's names and shapes (load_state_dict fills them).\"\"\"

                def __init__(self, **shapes):
                    super().__init__()
                    for name, shape in shapes.items():
                        self.register_parameter(name, torch.nn.Parameter(torch.zeros(shape)))

            """
        case .weightNorm:
            return """
            def weight_norm(v, g):
                \"\"\"W = g·v/‖v‖ per output unit (row of v), ‖v‖ at least 1e-12, as nntrain composes it.\"\"\"
                norm = v.flatten(1).norm(dim=1).clamp_min(1e-12)
                return (g.flatten() / norm).reshape(-1, *[1] * (v.dim() - 1)) * v

            """
        case .residual:
            return """
            class Residual(torch.nn.Module):
                \"\"\"A residual block's modules: the inner layers and the skip path's projection (if any).\"\"\"

                def __init__(self, layers, projection=None):
                    super().__init__()
                    self.layers = torch.nn.ModuleList(layers)
                    if projection is not None:
                        self.projection = projection

            """
        }
    }
}
