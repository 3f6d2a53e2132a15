import NNCore

/// `nntrain export RUN_DIR --format onnx`: a finished run's whole inference path as one ONNX
/// model (IR version 8, opset 17), from the stored values to the scores.
///
/// - Input `input`: the values as the data files store them, batch dimension `N` symbolic —
///   uint8 `[N, C, H, W]` for IDX and CIFAR-10 runs, float32 `[N, F]` for CSV runs.
/// - The fitted preprocessing of `preprocess.safetensors`, the stored-value scale (1/255 for
///   pixels) included: Cast to float, Reshape to `[N, F]`, Mul by `scale`, Add `shift` (one
///   value per feature), MatMul by the transposed `projection` after PCA/ZCA, Reshape to
///   `[N] + model.input`.
/// - Each layer's nodes in evaluation mode (`Layer.exportONNX`, in the layer's own file).
/// - Output `logits`, float32 `[N, K]`; with `probabilities`, `probabilities`: Softmax over
///   the last axis (a cross-entropy classifier only).
public enum ONNXExport {
    /// What `model` wrote, for the CLI's line.
    public struct Summary: Sendable {
        public var inputShape: String
        public var inputType: String
        public var output: String
        public var outputCount: Int
        public var nodes: Int
        public var initializers: Int
        public var bytes: Int
    }

    /// The ONNX model of `trained`: `.config` (exit 2) for a layer without an ONNX form (the
    /// message names it) or `probabilities` on a model without softmax.
    public static func model(_ trained: TrainedModel, probabilities: Bool) throws(RunError) -> (bytes: [UInt8], summary: Summary) {
        if probabilities && !trained.hasSoftmax {
            throw .config(["--probabilities: \(trained.directory) is not a cross_entropy classifier; its outputs are not logits of a softmax"])
        }
        let g = ONNXGraph()
        let input = g.unique("input")
        let pre = trained.preprocessor
        let features = pre.scale.count
        let isCSV = trained.takesFeatures
        let stored = isCSV ? [features] : storedImageShape(trained)

        // The preprocessing: stored value · scale + shift per feature, then the projection.
        var x = input
        if !isCSV { x = g.add("Cast", [x], name: "preprocess", attributes: [("to", .int(ONNX.DataType.float.rawValue))]) }
        if stored.count != 1 { x = g.add("Reshape", [x, g.constant("preprocess.flat_shape", int64s: [-1, features])], name: "preprocess") }
        x = g.add("Mul", [x, g.constant("preprocess.scale", dims: [features], pre.scale)], name: "preprocess")
        x = g.add("Add", [x, g.constant("preprocess.shift", dims: [features], pre.shift)], name: "preprocess")
        if let p = pre.projection {
            let k = pre.outputCount
            var transposed = [Float](repeating: 0, count: p.count)
            for r in 0..<k { for j in 0..<features { transposed[j * k + r] = p[r * features + j] } }
            x = g.add("MatMul", [x, g.constant("preprocess.projection_t", dims: [features, k], transposed)], name: "preprocess")
        }
        if trained.inputShape != [pre.outputCount] {
            x = g.add("Reshape", [x, g.constant("preprocess.model_shape", int64s: [-1] + trained.inputShape)], name: "preprocess")
        }

        // The layers.
        do {
            for layer in trained.model.layers { x = try layer.exportONNX(x, to: g) }
        } catch {
            throw .config(["\(trained.directory): \(error.message)"])
        }
        if trained.model.outputShape.count != 1 { x = g.add("Flatten", [x], name: "output", attributes: [("axis", .int(1))]) }
        let outputName = probabilities ? "probabilities" : "logits"
        if probabilities { x = g.add("Softmax", [x], name: "output", attributes: [("axis", .int(-1))]) }
        if !g.rename(x, to: outputName) {
            // The output is the input or a constant (a model of dropout alone): copy it.
            _ = g.rename(g.add("Identity", [x], name: "output"), to: outputName)
        }

        let inputType: ONNX.DataType = isCSV ? .float : .uint8
        let k = trained.outputCount
        let bytes = g.model(name: trained.config.name,
                            input: (input, inputType, [.symbol("N")] + stored.map { .size($0) }),
                            output: (outputName, .float, [.symbol("N"), .size(k)]),
                            producer: "nntrain", producerVersion: Experiment.version)
        let summary = Summary(inputShape: "[N, " + stored.map(String.init).joined(separator: ", ") + "]",
                              inputType: isCSV ? "float32" : "uint8", output: outputName, outputCount: k,
                              nodes: g.nodes.count, initializers: g.initializers.count, bytes: bytes.count)
        return (bytes, summary)
    }

    /// `[C, H, W]` of the stored images: `model.input` when it holds the preprocessing's
    /// features (a convolutional model's input), CIFAR-10's `[3, 32, 32]`, else the shape the
    /// run's IDX training (or test) file gives (`[1, H, W]` for rank-3 files), else `[1, 1, F]`.
    static func storedImageShape(_ trained: TrainedModel) -> [Int] {
        let features = trained.preprocessor.scale.count
        let input = trained.inputShape
        if input.count == 3 && input.reduce(1, *) == features { return input }
        if case .cifar10? = trained.config.data.train, features == 3 * 32 * 32 { return [3, 32, 32] }
        for source in [trained.config.data.train, trained.config.data.test] {
            guard case .idx(let images, _)? = source, let file = try? IDX.read(images) else { continue }
            var shape = Array(file.dims.dropFirst())
            if shape.count == 2 { shape = [1] + shape }
            if shape.count == 3 && shape.reduce(1, *) == features { return shape }
        }
        return [1, 1, features]
    }
}
