import NNCore

/// `{"type": "softsign"}`: y = x / (1 + |x|) element by element (`Softsign`), any input shape.
/// No parameters, no keys.
public struct SoftsignSpec: LayerKind {
    public init() {}

    public static let typeNames = ["softsign"]
    public static let isActivationFunction = true
    public static func read(_ r: ObjectReader, type: String) -> SoftsignSpec { SoftsignSpec() }

    public var outputActivation: OutputActivation { .layer(typeName) }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        LayerPlan(output: shape, description: typeName)
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        Softsign(name: site.name, inputShape: shape)
    }
}

/// Softsign (torch.nn.Softsign): y = x / (1 + |x|), a tanh-like squashing into (−1, 1) with
/// polynomial rather than exponential tails.
/// Backward: dy/dx = 1 / (1 + |x|)², so dx = dy / (1 + |x|)².
public final class Softsign: Layer {
    public let name: String
    public let outputShape: Shape
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var lastInput: Tensor?

    public init(name: String, inputShape: [Int]) {
        self.name = name
        outputShape = Shape(inputShape)
    }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let y = output.view(batch: input.shape[0]).reshaped(input.shape)
        let x = input.pointer, out = y.pointer
        for i in 0..<y.count { out[i] = x[i] / (1 + abs(x[i])) }
        lastInput = input
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard let input = lastInput else { preconditionFailure("\(name): backward before forward") }
        let dx = inputGrad.view(batch: input.shape[0]).reshaped(input.shape)
        let x = input.pointer, dy = outputGrad.pointer, d = dx.pointer
        for i in 0..<dx.count {
            let s = 1 + abs(x[i])
            d[i] = dy[i] / (s * s)
        }
        return dx
    }
}

extension Softsign {
    /// Softsign: x / (1 + |x|).
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        graph.add("Softsign", [input], name: name)
    }

    /// `torch.nn.Softsign()`: x / (1 + |x|).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        TorchCode(module: "torch.nn.Softsign()", forward: ["x = F.softsign(x)"])
    }
}
