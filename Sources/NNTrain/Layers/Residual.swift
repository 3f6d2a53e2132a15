import NNCore

/// `{"type": "residual", "layers": [...]}`: y = F(x) + P(x) (`Residual`), F the inner layers
/// (planned and built like the model's own, names `layers.N.layers.M`). P is the identity when
/// F keeps the shape, else a projection: dense `[out, in]` when both shapes are flat, a 1×1
/// convolution with stride s = H/H' when both are images shrunk by a whole stride (the same
/// in both directions). Parameters: the inner layers' plus in·out for a projection.
public struct ResidualSpec: LayerKind {
    public var layers: [LayerSpec]

    public init(layers: [LayerSpec]) { self.layers = layers }

    public static let typeNames = ["residual"]

    public static func read(_ r: ObjectReader, type: String) -> ResidualSpec {
        ResidualSpec(layers: LayerSpec.readList(r, "layers"))
    }

    public var linearity: Linearity { .block(layers) }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        let i = site.index, path = site.path
        let rowIndex = model.rows.count
        model.rows.append(ModelPlan.Row(index: i, name: site.name, description: "residual", outputShape: shape, parameterCount: 0, depth: site.depth))
        guard let out = model.plan(layers, input: shape, prefix: site.name + ".layers", path: path + ".layers",
                                   defaultInit: site.defaultInit, depth: site.depth + 1) else { return nil }
        var params = 0
        if out != shape {
            if shape.count == 1 && out.count == 1 {
                params = shape[0] * out[0]
                model.rows[rowIndex].description = "residual, projection \(shape[0])→\(out[0])"
            } else if shape.count == 3 && out.count == 3 && out[1] > 0 && shape[1] % out[1] == 0 && shape[2] % out[2] == 0
                        && shape[1] / out[1] == shape[2] / out[2] {
                params = shape[0] * out[0]
                model.rows[rowIndex].description = "residual, 1×1 projection \(shape[0])→\(out[0])" + (shape[1] != out[1] ? " /\(shape[1] / out[1])" : "")
            } else {
                model.errors.append(ConfigError(path: path, message: "the block maps shape \(shape) to \(out); a projection needs both flat, or both images whose size shrinks by a whole stride"))
                return nil
            }
        }
        model.rows[rowIndex].outputShape = out
        model.rows[rowIndex].parameterCount = params
        return LayerPlan(output: out, parameters: params, description: model.rows[rowIndex].description, ownRows: true)
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        let sub = Model.build(layers, input: shape, prefix: site.name + ".layers", defaultInit: site.defaultInit, seed: site.seed,
                              depth: site.depth + 1, rng: &rng)
        let out = sub.last?.outputShape.dims ?? shape
        var projection: (any Layer)? = nil
        if out != shape && shape.count == 3 {
            let s = shape[1] / out[1]
            projection = Conv2D(name: site.name + ".projection", inputShape: shape, outChannels: out[0], kernel: (1, 1), stride: (s, s),
                                useBias: false, initialization: site.defaultInit, rng: &rng)
        } else if out != shape {
            projection = Dense(name: site.name + ".projection", inFeatures: shape.reduce(1, *), outFeatures: out.reduce(1, *),
                               useBias: false, initialization: site.defaultInit, rng: &rng)
        }
        return Residual(name: site.name, inputShape: shape, inner: sub, projection: projection)
    }
}

/// A residual block (He et al. 2016): y = F(x) + P(x), F the block's layers in order, P the
/// identity when F keeps the shape, else a learned bias-free projection `projection.weight`:
/// dense `[out, in]` for flat shapes, a 1×1 convolution (stride = the size ratio) for images.
/// Names nest: `layers.N.layers.M.weight`.
public final class Residual: Layer {
    public let name: String
    public let inner: [any Layer]
    public let projection: (any Layer)?
    public let outputShape: Shape
    private let inputShape: Shape
    private var output: BatchBuffer!
    private var gradCopy: BatchBuffer!
    private var inputGrad: BatchBuffer!

    public init(name: String, inputShape: [Int], inner: [any Layer], projection: (any Layer)?) {
        self.name = name
        self.inner = inner
        self.projection = projection
        self.inputShape = Shape(inputShape)
        outputShape = inner.last?.outputShape ?? Shape(inputShape)
    }

    public var parameters: [Parameter] { inner.flatMap(\.parameters) + (projection?.parameters ?? []) }
    public var buffers: [(String, Tensor)] { inner.flatMap(\.buffers) }

    public var sublayers: [any Layer] { inner + (projection.map { [$0] } ?? []) }

    public func allocate(maxBatch: Int) {
        for l in inner { l.allocate(maxBatch: maxBatch) }
        projection?.allocate(maxBatch: maxBatch)
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        gradCopy = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(inputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        var h = input
        for l in inner { h = l.forward(h, mode: mode) }
        let y = output.view(batch: batch)
        let skip = projection?.forward(input, mode: mode) ?? input
        let a = h.pointer, b = skip.pointer, out = y.pointer
        for i in 0..<y.count { out[i] = a[i] + b[i] }
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        let batch = outputGrad.shape[0]
        // The inner layers may overwrite the gradient they get, and the skip path needs it too.
        let g = gradCopy.view(batch: batch)
        g.copy(from: outputGrad)
        var d: Tensor? = outputGrad
        for l in inner.reversed() {
            guard let cur = d else { break }
            d = l.backward(cur, needsInputGradient: true)
        }
        let dx = inputGrad.view(batch: batch)
        let skipGrad = projection?.backward(g, needsInputGradient: needsInputGradient) ?? (needsInputGradient ? g : nil)
        guard needsInputGradient else { return nil }
        let out = dx.pointer
        if let d {
            let a = d.pointer, b = skipGrad!.pointer
            for i in 0..<dx.count { out[i] = a[i] + b[i] }
        } else {
            dx.copy(from: skipGrad!)
        }
        return dx.reshaped(Shape([batch] + inputShape.dims))
    }
}

extension Residual {
    /// The inner layers in order, the projection (a 1×1 Conv or a Gemm, no bias) on the skip
    /// path when the shape changes, and Add.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        var h = input
        for l in inner { h = try l.exportONNX(h, to: graph) }
        let skip = try projection?.exportONNX(input, to: graph) ?? input
        return graph.add("Add", [h, skip], name: name)
    }

    /// `Residual([inner modules], projection)`; forward keeps the input as the skip, runs the
    /// inner lines, the projection's on the skip when there is one, and adds.
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let skip = "skip_" + name.split(separator: ".").filter { $0 != "layers" }.joined(separator: "_")
        var modules: [String] = [], lines = ["\(skip) = x"]
        var helpers: Set<TorchHelper> = [.residual]
        for (i, l) in inner.enumerated() {
            let code = try l.exportTorch("\(module).layers[\(i)]")
            modules.append("        " + TorchCode.indent(code.module, "        ") + ",  # \(l.name)\n")
            lines += code.forward
            helpers.formUnion(code.helpers)
        }
        var m = "Residual(\n    [\n" + modules.joined() + "    ],\n"
        if let projection {
            let code = try projection.exportTorch("\(module).projection")
            m += "    " + TorchCode.indent(code.module, "    ") + ",  # \(projection.name)\n"
            lines += ["\(skip), x = x, \(skip)"] + code.forward
            helpers.formUnion(code.helpers)
        }
        return TorchCode(module: m + ")", forward: lines + ["x = x + \(skip)"], helpers: helpers)
    }
}
