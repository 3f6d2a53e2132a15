import NNCore

/// `{"type": "flatten"}`: a per-sample shape `[C, H, W]` becomes `[C·H·W]` (`Flatten`). No
/// parameters.
public struct FlattenSpec: LayerKind {
    public init() {}

    public static let typeNames = ["flatten"]
    public static func read(_ r: ObjectReader, type: String) -> FlattenSpec { FlattenSpec() }

    public var linearity: Linearity { .linear }
    public var outputActivation: OutputActivation { .transparent }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        LayerPlan(output: [shape.reduce(1, *)], description: typeName)
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        Flatten(name: site.name, inputShape: shape)
    }
}

/// `{"type": "flatten"}`: `[B, C, H, W]` → `[B, C·H·W]`, a view (no copy).
public final class Flatten: Layer {
    public let name: String
    public let outputShape: Shape
    private var lastInputShape: Shape?

    public init(name: String, inputShape: [Int]) {
        self.name = name
        outputShape = Shape([inputShape.reduce(1, *)])
    }

    public func allocate(maxBatch: Int) {}

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        lastInputShape = input.shape
        return input.reshaped(Shape(input.shape[0], outputShape[0]))
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient, let s = lastInputShape else { return nil }
        return outputGrad.reshaped(s)
    }
}

extension Flatten {
    /// Flatten (axis 1): [N, …] → [N, features].
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        graph.add("Flatten", [input], name: name, attributes: [("axis", .int(1))])
    }

    /// `torch.nn.Flatten()`: [N, …] → [N, features].
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        TorchCode(module: "torch.nn.Flatten()", forward: ["x = x.flatten(1)"])
    }
}
