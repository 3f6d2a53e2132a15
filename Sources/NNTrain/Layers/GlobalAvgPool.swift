import NNCore

/// `{"type": "global_avg_pool"}`: `[C, H, W]` → `[C]`, the mean of each channel's plane
/// (`GlobalAvgPool`). No parameters.
public struct GlobalAvgPoolSpec: LayerKind {
    public init() {}

    public static let typeNames = ["global_avg_pool"]
    public static func read(_ r: ObjectReader, type: String) -> GlobalAvgPoolSpec { GlobalAvgPoolSpec() }

    public var linearity: Linearity { .linear }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        guard model.needImage(shape, "global_avg_pool", at: site) else { return nil }
        return LayerPlan(output: [shape[0]], description: typeName)
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        GlobalAvgPool(name: site.name, inputShape: shape)
    }
}

/// Global average pooling: `[B, C, H, W]` → `[B, C]`, the mean of each channel's plane.
public final class GlobalAvgPool: Layer {
    public let name: String
    public let outputShape: Shape
    let channels: Int, spatial: Int
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var inputShape: [Int]

    public init(name: String, inputShape: [Int]) {
        self.name = name
        self.inputShape = inputShape
        channels = inputShape[0]
        spatial = inputShape.dropFirst().reduce(1, *)
        outputShape = Shape([channels])
    }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample([channels]), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(inputShape), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        let y = output.view(batch: batch)
        let x = input.pointer, out = y.pointer
        let inv = 1 / Float(spatial)
        for p in 0..<(batch * channels) {
            var s: Float = 0
            for k in 0..<spatial { s += x[p * spatial + k] }
            out[p] = s * inv
        }
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        let batch = outputGrad.shape[0]
        let dx = inputGrad.view(batch: batch)
        let d = dx.pointer, g = outputGrad.pointer
        let inv = 1 / Float(spatial)
        for p in 0..<(batch * channels) {
            let v = g[p] * inv
            for k in 0..<spatial { d[p * spatial + k] = v }
        }
        return dx
    }
}

extension GlobalAvgPool {
    /// GlobalAveragePool ([N, C, 1, 1]), then Flatten to [N, C].
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        graph.add("Flatten", [graph.add("GlobalAveragePool", [input], name: name)], name: name, attributes: [("axis", .int(1))])
    }

    /// The mean over H and W: [N, C, H, W] → [N, C].
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        TorchCode(module: "torch.nn.AdaptiveAvgPool2d(1)", forward: ["x = x.mean(dim=(2, 3))"])
    }
}
