import NNCore

/// `{"type": "prelu", "slopes": "shared" | "per_channel", "init_slope": 0.25}`: a learnable
/// leaky slope (`PReLU`), any input shape. Parameters: 1 slope, or one per channel (the C of
/// `[C, H, W]`, each feature of `[F]`).
public struct PReLUSpec: LayerKind {
    public var perChannel: Bool
    public var initial: Float
    public var layerOptions: LayerOptions

    public init(perChannel: Bool, initial: Float = 0.25, options: LayerOptions = LayerOptions()) {
        self.perChannel = perChannel
        self.initial = initial
        layerOptions = options
    }

    public static let typeNames = ["prelu"]
    public static let isActivationFunction = true

    public static func read(_ r: ObjectReader, type: String) -> PReLUSpec {
        let per = r.choice("slopes", ["shared", "per_channel"], default: "shared") == "per_channel"
        let initial = r.float("init_slope", default: 0.25, check: .closed(-10, 10))
        return PReLUSpec(perChannel: per, initial: initial, options: LayerOptions.read(r, hasInit: false, hasBias: false))
    }

    public var options: LayerOptions? { layerOptions }
    public var outputActivation: OutputActivation { .layer(typeName) }

    public func plan(input shape: [Int], at site: LayerSite, in model: inout ModelPlan) -> LayerPlan? {
        LayerPlan(output: shape, parameters: perChannel ? shape[0] : 1, description: perChannel ? "prelu (\(shape[0]) slopes)" : "prelu")
    }

    public func make(input shape: [Int], at site: LayerSite, rng: inout Xoshiro256) -> any Layer {
        PReLU(name: site.name, inputShape: shape, perChannel: perChannel, initial: initial)
    }
}

/// Parametric ReLU (torch.nn.PReLU, He et al. 2015): y = x for x > 0, a·x otherwise, with a
/// learnable slope `a` — one for the layer, or one per channel (the feature of a `[B, F]`
/// input, the C of `[B, C, H, W]`). Slopes start at 0.25 and are not weight-decayed.
/// da = Σ over x ≤ 0 of dy·x; dx = dy for x > 0, a·dy otherwise.
public final class PReLU: Layer {
    public let name: String
    public let slope: Parameter
    public let outputShape: Shape
    /// Elements that share one slope in each sample (C·H·W / C, or all of them).
    private let channels: Int
    private let spatial: Int
    private var output: BatchBuffer!
    private var inputGrad: BatchBuffer!
    private var lastInput: Tensor?

    public init(name: String, inputShape: [Int], perChannel: Bool, initial: Float) {
        self.name = name
        outputShape = Shape(inputShape)
        let features = inputShape.reduce(1, *)
        channels = perChannel ? inputShape[0] : 1
        spatial = perChannel ? features / inputShape[0] : features
        let a = Tensor(zeros: [channels])
        a.fill(initial)
        slope = Parameter(name: name + ".weight", value: a, decays: false)
    }

    public var parameters: [Parameter] { [slope] }

    public func allocate(maxBatch: Int) {
        output = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
        inputGrad = BatchBuffer(sampleShape: .sample(outputShape.dims), maxBatch: maxBatch)
    }

    public func forward(_ input: Tensor, mode: Mode) -> Tensor {
        let y = output.view(batch: input.shape[0])
        let x = input.pointer, out = y.pointer, a = slope.value.pointer
        let samples = input.shape[0]
        for s in 0..<samples {
            for c in 0..<channels {
                let base = (s * channels + c) * spatial
                let ac = a[c]
                for j in base..<(base + spatial) { out[j] = x[j] > 0 ? x[j] : ac * x[j] }
            }
        }
        lastInput = input
        return y
    }

    public func backward(_ outputGrad: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input = lastInput else { preconditionFailure("\(name): backward before forward") }
        let x = input.pointer, dy = outputGrad.pointer, a = slope.value.pointer, da = slope.grad.pointer
        let samples = input.shape[0]
        da.update(repeating: 0, count: channels)
        let dx = needsInputGradient ? inputGrad.view(batch: samples).pointer : nil
        for s in 0..<samples {
            for c in 0..<channels {
                let base = (s * channels + c) * spatial
                let ac = a[c]
                var g: Float = 0
                for j in base..<(base + spatial) {
                    let neg = x[j] <= 0
                    if neg { g += dy[j] * x[j] }
                    dx?[j] = neg ? ac * dy[j] : dy[j]
                }
                da[c] += g
            }
        }
        return needsInputGradient ? inputGrad.view(batch: samples).reshaped(input.shape) : nil
    }
}

extension PReLU {
    /// PRelu; per-channel slopes shaped [C, 1, …] to broadcast over the channel axis, a shared
    /// slope as [1].
    public func exportONNX(_ input: String, to graph: ONNXGraph) throws(ONNXExportError) -> String {
        let dims = channels == 1 ? [1] : [channels] + [Int](repeating: 1, count: outputShape.rank - 1)
        return graph.add("PRelu", [input, graph.constant(slope.name, dims: dims, slope.value.scalars)], name: name)
    }

    /// `torch.nn.PReLU(C)`: slopes `weight` `[C]` over axis 1 (or one shared slope `[1]`).
    public func exportTorch(_ module: String) throws(TorchExportError) -> TorchCode {
        TorchCode(module: "torch.nn.PReLU(\(channels))", forward: ["x = F.prelu(x, \(module).weight)"])
    }
}
