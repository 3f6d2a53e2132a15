import NNCore

/// `{"type": "rrelu", "lower": 0.125, "upper": 0.333}`: a randomised leaky ReLU with slopes in
/// [lower, upper] ⊆ [0, 1] (`RReLU`), any input shape. No parameters.
public struct RReLUSpec: LayerKind {
    public var lower: Float, upper: Float

    public init(lower: Float, upper: Float) {
        self.lower = lower
        self.upper = upper
    }

    public static let typeNames = ["rrelu"]
    public static let isActivationFunction = true

    public static func read(_ r: ObjectReader, type: String) -> RReLUSpec {
        let lower = r.float("lower", default: 1.0 / 8, check: .closed(0, 1))
        let upper = r.float("upper", default: 1.0 / 3, check: .closed(0, 1))
        if upper < lower { r.diagnostics.error(r.childPath("upper"), "expected number >= lower (\(lower)), got \(upper)") }
        return RReLUSpec(lower: lower, upper: upper)
    }

    public var outputActivation: OutputActivation { .layer(typeName) }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        LayerPlan(output: shape, description: "rrelu [\(lower), \(upper)]")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        RReLU(name: site.name, inputShape: shape, lower: lower, upper: upper, rng: site.ownStream)
    }
}

/// Randomised leaky ReLU (torch.nn.RReLU, Xu et al. 2015): in training each negative element
/// gets its own slope a ~ U(lower, upper), drawn from the layer's seeded stream; in evaluation
/// a = (lower + upper)/2. y = x for x ≥ 0, a·x otherwise.
public final class RReLU: SeededLayer {
    public let name: String
    public let lower: Float, upper: Float
    public let outputShape: Shape
    public var rng: Xoshiro256
    private var output: BatchBuffer!
    private var slopes: BatchBuffer!
    private var lastWasTraining = false

    public init(name: String, inputShape: [Int], lower: Float, upper: Float, rng: Xoshiro256) {
        self.name = name
        self.lower = lower
        self.upper = upper
        self.rng = rng
        outputShape = Shape(inputShape)
    }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        slopes = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let batch = input.shape[0]
        let y = output.view(batch: batch).reshaped(input.shape)
        let a = slopes.view(batch: batch).pointer
        let x = input.pointer, out = y.pointer
        lastWasTraining = mode == .training
        if lastWasTraining {
            for i in 0..<y.count {
                let s: Float = x[i] >= 0 ? 1 : rng.uniform(lower, upper)
                a[i] = s
                out[i] = s * x[i]
            }
        } else {
            let mid = (lower + upper) / 2
            for i in 0..<y.count { out[i] = x[i] >= 0 ? x[i] : mid * x[i] }
        }
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        precondition(lastWasTraining, "\(name): backward after an evaluation forward")
        let g = outputGrad.pointer, a = slopes.storage.base
        for i in 0..<outputGrad.count { g[i] *= a[i] }
        return outputGrad
    }
}

extension RReLU {
    /// Evaluation mode: LeakyRelu with the mean slope (lower + upper)/2.
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        graph.add("LeakyRelu", [input], name: name, attributes: [("alpha", .float((lower + upper) / 2))])
    }

    /// Evaluation mode: leaky ReLU with the mean slope (lower + upper)/2, as float32.
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        let l = TorchCode.literal
        return TorchCode(module: "torch.nn.RReLU(\(l(lower)), \(l(upper)))", forward: ["x = F.leaky_relu(x, \(l((lower + upper) / 2)))"])
    }
}
